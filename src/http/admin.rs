//! The admin JSON API under `/admin/api`: what came in, what it became, where it went, and the
//! dead letters with their replay. Bearer token only; without a configured token the routes
//! are not mounted at all.

use super::AppState;
use super::error::ApiError;
use crate::settings::{Secret, tokens_match};
use crate::store::{ListFilter, ReplayFilter};
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

/// The admin routes, behind the token check.
pub fn routes(token: Secret) -> Router<AppState> {
    Router::new()
        .route("/admin/api/inbound", get(list_inbound))
        .route("/admin/api/inbound/{id}/lead", post(as_lead))
        .route("/admin/api/leads", get(list_leads))
        .route("/admin/api/leads/{id}", get(lead_journey))
        .route("/admin/api/dead-letters", get(list_dead))
        .route("/admin/api/dead-letters/replay", post(replay))
        .route(
            "/admin/api/reports/{table}",
            get(super::console::reports::api),
        )
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let token = token.clone();
                async move { require_token(&token, req, next).await }
            },
        ))
}

/// Checks `Authorization: Bearer <token>` in constant time.
pub async fn require_token(token: &Secret, req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !tokens_match(presented.as_bytes(), token) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required",
        )
        .into_response();
    }
    next.run(req).await
}

/// Query parameters of the lists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    channel: Option<String>,
    source: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    manager: Option<String>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    limit: Option<u32>,
}

impl From<ListQuery> for ListFilter {
    fn from(q: ListQuery) -> ListFilter {
        ListFilter {
            channel: q.channel,
            source: q.source,
            status: q.status,
            reason: q.reason,
            manager: q.manager,
            since: q.since,
            until: q.until,
            limit: q.limit.unwrap_or(100),
        }
    }
}

fn store_error(e: crate::store::StoreError) -> ApiError {
    ApiError::unavailable(e.to_string())
}

async fn list_inbound(
    State(app): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let items = app
        .store
        .list_inbound(&q.into())
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"items": items})).into_response())
}

async fn list_leads(
    State(app): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let items = app.store.list_leads(&q.into()).await.map_err(store_error)?;
    Ok(Json(json!({"items": items})).into_response())
}

async fn lead_journey(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match app.store.lead_journey(&id).await.map_err(store_error)? {
        Some(j) => Ok(Json(j).into_response()),
        None => Err(ApiError::not_found("lead")),
    }
}

/// Which dead letters: by sink, by lead, or all.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadQuery {
    sink: Option<String>,
    lead_id: Option<String>,
    limit: Option<u32>,
}

async fn list_dead(
    State(app): State<AppState>,
    Query(q): Query<DeadQuery>,
) -> Result<Response, ApiError> {
    let filter = ReplayFilter {
        sink: q.sink,
        lead_id: q.lead_id,
    };
    let items = app
        .store
        .list_dead(&filter, q.limit.unwrap_or(100))
        .await
        .map_err(store_error)?;
    Ok(Json(json!({"items": items})).into_response())
}

async fn replay(
    State(app): State<AppState>,
    body: Option<Json<DeadQuery>>,
) -> Result<Response, ApiError> {
    let q = body.map(|Json(q)| q).unwrap_or_default();
    let filter = ReplayFilter {
        sink: q.sink,
        lead_id: q.lead_id,
    };
    let n = app
        .store
        .replay_dead(&filter, app.clock.now())
        .await
        .map_err(store_error)?;
    app.wake_sinks();
    Ok(Json(json!({"replayed": n})).into_response())
}

/// `POST /admin/api/inbound/{id}/lead`: the kept-out item is a lead after all (the console's
/// "this is a lead"). 202 when queued; 409 when it is not kept out (a second call); 422 when
/// even without the filters it has nothing a lead can be made of.
async fn as_lead(State(app): State<AppState>, Path(id): Path<String>) -> Response {
    use super::console::Turned;
    match super::console::turn_into_lead(&app, &id, "admin API").await {
        Ok(Turned::Queued) => (
            StatusCode::ACCEPTED,
            Json(json!({"id": id, "status": "queued"})),
        )
            .into_response(),
        Ok(Turned::NotKeptOut { status, lead_id }) => ApiError::new(
            StatusCode::CONFLICT,
            "not_kept_out",
            format!("the item is not kept out: its status is {status}, lead {lead_id:?}"),
        )
        .into_response(),
        Ok(Turned::Unreadable(why)) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable",
            format!("nothing a lead can be made of: {why}"),
        )
        .into_response(),
        Ok(Turned::Missing) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such inbound item")
                .into_response()
        }
        Err(e) => store_error(e).into_response(),
    }
}
