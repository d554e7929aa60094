//! What was kept out, by reason, with the text that decided it: a false positive of a filter is
//! found here.

use super::auth::Signed;
use super::leads::store_failed;
use super::page::render;
use crate::http::AppState;
use crate::store::PageKey;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

/// Rows on one page.
const PAGE: u32 = 50;
/// The reasons' counts cover this many days.
const REASON_DAYS: i64 = 30;

/// One reason or all, and where the page starts.
#[derive(Debug, Default, Deserialize)]
pub struct NotLeadQuery {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    after_at: String,
    #[serde(default)]
    after_id: String,
}

/// The kept-out items, newest first.
pub async fn list(
    signed: Signed,
    State(app): State<AppState>,
    Query(q): Query<NotLeadQuery>,
) -> Response {
    let reason = (!q.reason.is_empty()).then_some(q.reason.as_str());
    let after = DateTime::parse_from_rfc3339(&q.after_at)
        .ok()
        .filter(|_| !q.after_id.is_empty())
        .map(|t| PageKey {
            received_at: t.with_timezone(&Utc),
            id: q.after_id.clone(),
        });
    let since = app.clock.now() - chrono::Duration::days(REASON_DAYS);
    let (rows, more) = match app.console.not_leads(reason, after.as_ref(), PAGE).await {
        Ok(page) => page,
        Err(e) => return store_failed(&signed, &e),
    };
    let reasons = match app.console.not_lead_reasons(since).await {
        Ok(r) => r,
        Err(e) => return store_failed(&signed, &e),
    };
    let next = more.then(|| {
        let last = rows.last().expect("a full page");
        let mut s = form_urlencoded::Serializer::new(String::new());
        if let Some(r) = reason {
            s.append_pair("reason", r);
        }
        s.append_pair("after_at", &last.received_at.to_rfc3339());
        s.append_pair("after_id", &last.id);
        format!("?{}", s.finish())
    });
    render(
        &signed.frame,
        "not_leads.html",
        context! { rows => Value::from(Serde(&rows)), reasons => Value::from(Serde(&reasons)), reason => q.reason, next },
    )
}
