//! `GET|POST /act/{token}`: the take/decline links in managers' mail. `GET` only shows a page
//! with a button (mail scanners and link previews open links; they must not take leads);
//! `POST` checks the signature and expiry, consumes the link, and acts as the manager it was
//! sent to, on the assignment it was sent for (a link of an earlier assignment of a lead that
//! came back to the same manager is refused).

use super::AppState;
use super::body::BodyReadError;
use crate::notify::{LinkAction, LinkError, message_page};
use crate::sla::{Action, ActionError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A page that is never cached and never leaks its URL (the token) as a referrer.
fn page(status: StatusCode, html: String) -> Response {
    let mut r = (status, axum::response::Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn refused(app: &AppState, e: LinkError) -> Response {
    let l = app.notices.config().language.labels();
    let text = match e {
        LinkError::Invalid => l.link_invalid,
        LinkError::Expired => l.link_expired,
    };
    page(StatusCode::FORBIDDEN, message_page(text, None))
}

/// A body that could not be read: the link is not used up.
fn unread(e: BodyReadError) -> Response {
    let (status, text) = match e {
        BodyReadError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "The form is too large."),
        BodyReadError::TimedOut => (
            StatusCode::REQUEST_TIMEOUT,
            "The form took too long to arrive.",
        ),
        BodyReadError::Busy => (StatusCode::SERVICE_UNAVAILABLE, "⏳ Try again in a moment."),
        BodyReadError::Broken(_) => (StatusCode::BAD_REQUEST, "The form arrived broken."),
    };
    page(status, message_page(text, None))
}

/// The confirmation page.
pub async fn confirm(State(app): State<AppState>, Path(token): Path<String>) -> Response {
    let Some(signer) = app.notices.signer() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let claim = match signer.verify(&token, app.clock.now().timestamp()) {
        Ok(c) => c,
        Err(e) => return refused(&app, e),
    };
    let l = app.notices.config().language.labels();
    let (question, button, reason) = match claim.action {
        LinkAction::Take => (l.confirm_take, l.take, None),
        LinkAction::Decline => (l.confirm_decline, l.decline, Some(l.reason)),
    };
    page(
        StatusCode::OK,
        crate::notify::confirm_page(question, button, reason),
    )
}

/// The most a decline page's form may send (its one field, the reason, is cut at 500
/// characters).
const FORM_LIMIT: usize = 8 * 1024;

/// The action.
pub async fn perform(
    State(app): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(signer) = app.notices.signer() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let now = app.clock.now();
    // The link first: a body is read, within the bodies' memory budget, only for a real one.
    let claim = match signer.verify(&token, now.timestamp()) {
        Ok(c) => c,
        Err(e) => return refused(&app, e),
    };
    let form = match app.bodies.read(&headers, body, FORM_LIMIT).await {
        Ok(held) => held.bytes,
        Err(e) => return unread(e),
    };
    let l = app.notices.config().language.labels();
    match app.notes.consume_link(&claim.nonce, now).await {
        Ok(true) => {}
        Ok(false) => return page(StatusCode::CONFLICT, message_page(l.link_used, None)),
        Err(e) => {
            tracing::error!(error = %e, "A link could not be checked.");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                message_page("⏳ Try again in a moment.", None),
            );
        }
    }
    let action = match claim.action {
        LinkAction::Take => Action::Acknowledge,
        LinkAction::Decline => {
            // The decline page's one field; anything else in the body is ignored.
            let reason = form_urlencoded::parse(&form)
                .find(|(k, _)| k == "reason")
                .map(|(_, r)| r.trim().chars().take(500).collect::<String>())
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| "declined by e-mail link".into());
            Action::Decline(reason)
        }
    };
    let (status, text) = match app
        .actions
        .act_on_assignment(&claim.lead, &claim.manager, claim.attempt, action)
        .await
    {
        Ok(_) if claim.action == LinkAction::Take => (StatusCode::OK, l.taken_by_you.to_string()),
        Ok(_) => (StatusCode::OK, l.declined_by_you.to_string()),
        Err(ActionError::NotCurrent { current }) => (
            StatusCode::CONFLICT,
            format!("{} {current}", l.already_passed),
        ),
        Err(ActionError::AlreadyTaken { by }) => {
            (StatusCode::CONFLICT, format!("{} {by}", l.already_taken))
        }
        Err(ActionError::Stale { .. }) => (StatusCode::CONFLICT, l.stale.to_string()),
        Err(ActionError::NotFound) => (StatusCode::NOT_FOUND, l.link_invalid.to_string()),
        Err(ActionError::Store(e)) => {
            tracing::error!(error = %e, "A link's action could not be recorded; the link stays usable.");
            if let Err(e) = app.notes.release_link(&claim.nonce).await {
                tracing::error!(error = %e, "The link could not be released.");
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "⏳ Try again in a moment.".to_string(),
            )
        }
    };
    page(status, message_page(&text, Some(&claim.lead)))
}
