//! "Re-route now" on a lead's journey: after a confirmation, the lead is routed again with the
//! rules in force and the live store's state (`sla::Actions::reroute`).

use super::auth::{CsrfForm, Signed};
use super::leads::{not_found, store_failed, urlencode};
use super::page::confirm as confirm_page;
use super::page::{render, render_status};
use super::words::say;
use crate::http::AppState;
use crate::sla::{ActionError, Rerouted};
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::context;

/// The confirmation step.
pub async fn confirm(signed: Signed, Path(id): Path<String>) -> Response {
    let page = format!("/admin/leads/{}", urlencode(&id));
    confirm_page(
        &signed.frame,
        say(signed.frame.lang, "confirm_reroute", ""),
        &format!("{page}/reroute"),
        &[],
        &page,
    )
}

/// The confirmed re-route.
pub async fn reroute(
    signed: Signed,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.refuse_without_csrf(&form.csrf) {
        return refused;
    }
    let back = format!("/admin/leads/{}", urlencode(&id));
    match app.actions.reroute(&id, &signed.who).await {
        Ok(to) => {
            let to = match to {
                Rerouted::To(m) => m,
                Rerouted::Held(level) => format!("held ({level})"),
            };
            tracing::info!(lead = %id, to = %to, by = %signed.who, "Re-routed from the console.");
            render(
                &signed.frame,
                "message.html",
                context! {
                    title => say(signed.frame.lang, "reroute", ""),
                    text => say(signed.frame.lang, "done_reroute", &to),
                    back,
                },
            )
        }
        Err(ActionError::NotFound) => not_found(&signed),
        Err(ActionError::Store(e)) => store_failed(&signed, &e),
        Err(e) => render_status(
            &signed.frame,
            StatusCode::CONFLICT,
            "message.html",
            context! { title => "409", kind => "problem", text => e.to_string(), back },
        ),
    }
}
