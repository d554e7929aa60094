//! `POST /api/leads/{id}/ack` and `/decline`: a CRM or another tool reports what the manager
//! did. Bearer token (`[api] token`); without one the API is off.

use super::AppState;
use super::error::ApiError;
use crate::settings::Secret;
use crate::sla::{Action, ActionError, Passed};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// The API routes, behind the token check.
pub fn routes(token: Secret) -> Router<AppState> {
    Router::new()
        .route("/api/leads/{id}/ack", post(ack))
        .route("/api/leads/{id}/decline", post(decline))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let token = token.clone();
                async move { super::admin::require_token(&token, req, next).await }
            },
        ))
}

/// Who acted, and why (for a decline).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// The manager's id in `routing.toml`: when given, it must be the one who has the lead.
    manager: Option<String>,
    /// Why the lead was declined.
    reason: Option<String>,
}

fn answer(result: Result<Option<Passed>, ActionError>) -> Response {
    match result {
        Ok(None) => Json(json!({"status": "acknowledged"})).into_response(),
        Ok(Some(passed)) => {
            let (status, to) = match passed {
                Passed::To(m) => ("passed_on", Some(m)),
                Passed::EscalatedTo(m) => ("escalated", Some(m)),
                Passed::Held(_) => ("held", None),
                Passed::Supervisor(m) => ("supervisor", Some(m)),
                Passed::Stayed => ("nobody_left", None),
            };
            Json(json!({"status": status, "manager": to})).into_response()
        }
        Err(ActionError::NotFound) => ApiError::not_found("lead").into_response(),
        Err(
            e @ (ActionError::NotCurrent { .. }
            | ActionError::AlreadyTaken { .. }
            | ActionError::Stale { .. }),
        ) => ApiError::new(StatusCode::CONFLICT, "not_current", e.to_string()).into_response(),
        Err(ActionError::Store(e)) => ApiError::store_failed(&e).into_response(),
    }
}

async fn ack(
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: Option<Json<ActionBody>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    answer(
        app.actions
            .act(&id, body.manager.as_deref(), Action::Acknowledge)
            .await,
    )
}

async fn decline(
    State(app): State<AppState>,
    Path(id): Path<String>,
    body: Option<Json<ActionBody>>,
) -> Response {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let reason = body.reason.unwrap_or_else(|| "no reason given".into());
    answer(
        app.actions
            .act(&id, body.manager.as_deref(), Action::Decline(reason))
            .await,
    )
}
