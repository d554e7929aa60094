//! A kept-out item's own page, and "this is a lead": after a confirmation, the item goes back
//! to processing marked as a lead, which reads it without the filter that kept it out and
//! routes and delivers it like any lead. The admin API offers the same step.

use super::auth::{CsrfForm, Signed};
use super::leads::{not_found, readable_form, store_failed, urlencode};
use super::page::confirm as confirm_page;
use super::page::{render, render_status};
use super::words::say;
use crate::http::AppState;
use crate::lead::Parsed;
use crate::process::parse_as_lead;
use crate::store::{MarkedAsLead, StoreResult};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde_json::json;

/// What asking to turn an item into a lead came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turned {
    /// Queued for processing as a lead.
    Queued,
    /// The item is not kept out (any more): its status and the lead it made, if any.
    NotKeptOut {
        /// `pending`, `lead` or `joined`.
        status: String,
        /// The lead it made or joined.
        lead_id: Option<String>,
    },
    /// Even without the filters there is nothing a lead can be made of.
    Unreadable(String),
    /// No such item.
    Missing,
}

/// Turns the kept-out item `id` into a lead on behalf of `who`: read once here without the
/// filters (an item no parser can read is refused, not queued to fail again), then marked
/// and queued, and the processing stage woken.
pub async fn turn_into_lead(app: &AppState, id: &str, who: &str) -> StoreResult<Turned> {
    let Some(item) = app.console.inbound_item(id).await? else {
        return Ok(Turned::Missing);
    };
    if item.status != "not_lead" {
        return Ok(Turned::NotKeptOut {
            status: item.status,
            lead_id: item.lead_id,
        });
    }
    let settings = app.config.source_settings();
    if let Parsed::NotLead(n) = parse_as_lead(&item.row, &settings).await {
        return Ok(Turned::Unreadable(format!(
            "{}: {}",
            n.reason.as_str(),
            n.detail
        )));
    }
    let now = app.clock.now();
    let mark = json!({"by": who, "at": now});
    Ok(match app.console.mark_as_lead(id, &mark, now).await? {
        MarkedAsLead::Queued => {
            tracing::info!(item = %id, by = %who, "A kept-out item is to be processed as a lead.");
            app.process_wake.notify_one();
            Turned::Queued
        }
        MarkedAsLead::NotKeptOut { status } => Turned::NotKeptOut {
            status,
            lead_id: None,
        },
        MarkedAsLead::Missing => Turned::Missing,
    })
}

/// A kept-out (or once kept-out) item: what arrived, why it was kept out, and the button.
pub async fn item(signed: Signed, State(app): State<AppState>, Path(id): Path<String>) -> Response {
    let item = match app.console.inbound_item(&id).await {
        Ok(Some(item)) => item,
        Ok(None) => return not_found(&signed),
        Err(e) => return store_failed(&signed, &e),
    };
    let row = &item.row;
    let mut raw = json!({
        "content_type": row.content_type,
        "payload": {"text": String::from_utf8_lossy(&row.payload)},
    });
    readable_form(&mut raw);
    render(
        &signed.frame,
        "not_lead.html",
        context! {
            id,
            received_at => row.received_at.to_rfc3339(),
            channel => row.channel.as_str(),
            source => row.source.clone(),
            status => item.status,
            reason => item.reason,
            detail => item.detail,
            lead_id => item.lead_id,
            marked => row.meta.get(crate::process::META_AS_LEAD).map(|m| Value::from(Serde(m))),
            raw => raw["payload"]["text"].as_str().unwrap_or_default().to_string(),
            content_type => row.content_type.clone(),
        },
    )
}

/// The confirmation step before "this is a lead".
pub async fn confirm(signed: Signed, Path(id): Path<String>) -> Response {
    let page = format!("/admin/not-leads/{}", urlencode(&id));
    confirm_page(
        &signed.frame,
        say(signed.frame.lang, "confirm_as_lead", ""),
        &format!("{page}/lead"),
        &[],
        &page,
    )
}

/// The confirmed "this is a lead": back to the item's page, which follows it to its lead.
pub async fn mark(
    signed: Signed,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.refuse_without_csrf(&form.csrf) {
        return refused;
    }
    let back = format!("/admin/not-leads/{}", urlencode(&id));
    match turn_into_lead(&app, &id, &signed.who).await {
        Ok(Turned::Queued) => Redirect::to(&back).into_response(),
        Ok(Turned::NotKeptOut { .. }) => render_status(
            &signed.frame,
            StatusCode::CONFLICT,
            "message.html",
            context! { title => "409", kind => "problem", text => say(signed.frame.lang, "not_kept_out", ""), back },
        ),
        Ok(Turned::Unreadable(why)) => render_status(
            &signed.frame,
            StatusCode::UNPROCESSABLE_ENTITY,
            "message.html",
            context! { title => "422", kind => "problem", text => format!("{} {why}", say(signed.frame.lang, "unreadable", "")), back },
        ),
        Ok(Turned::Missing) => not_found(&signed),
        Err(e) => store_failed(&signed, &e),
    }
}
