//! `/healthz` (the process answers), `/readyz` (the store answers; every component's state)
//! and `/metrics` (Prometheus text). Without a token, `/readyz` says only ready or not, for a
//! load balancer; the components (source ids, mailbox users, raw errors) and `/metrics` need
//! the admin token or `[admin] metrics_token`, and `/metrics` is off when neither is set.

use super::AppState;
use super::error::ApiError;
use crate::settings::tokens_match;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Whether the request carries the admin token or the metrics token.
fn may_read_details(app: &AppState, headers: &HeaderMap) -> bool {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .as_bytes();
    [&app.config.admin_token, &app.config.metrics_token]
        .into_iter()
        .flatten()
        .any(|t| tokens_match(presented, t))
}

/// Alive: the process answers HTTP.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the store answers; lists every source, stage and sink with its last success, cursor
/// and last error, so a channel never dies silently. 503 when the store is unreachable.
pub async fn readyz(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let store = app.store.ping().await;
    let status = if store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let state = if store.is_ok() {
        "ready"
    } else {
        "unavailable"
    };
    if !may_read_details(&app, &headers) {
        return (status, axum::Json(json!({ "status": state }))).into_response();
    }
    let queues = app.store.queue_stats().await.ok();
    let body = json!({
        "status": state,
        "store": match &store { Ok(()) => json!({"state": "ok"}), Err(e) => json!({"state": "failing", "error": e.to_string()}) },
        "queues": queues,
        "rules_version": app.rules.current().version(),
        "rules": app.rules.status().borrow().describe(),
        "components": app.health.snapshot(),
        "replica": { "id": app.leases.holder(), "leases": app.leases.held() },
    });
    (status, axum::Json(body)).into_response()
}

/// Prometheus text exposition of every metric, with the queue depths read from the store.
pub async fn metrics(State(app): State<AppState>, headers: HeaderMap) -> Response {
    if app.config.admin_token.is_none() && app.config.metrics_token.is_none() {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "off",
            "/metrics is off: set [admin] token or [admin] metrics_token in leadgate.toml",
        )
        .into_response();
    }
    if !may_read_details(&app, &headers) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token (the admin or the metrics token) is required",
        )
        .into_response();
    }
    if let Ok(q) = app.store.queue_stats().await {
        let gauge = |name| app.metrics.gauge(name, &[]);
        gauge("leadgate_inbound_pending").set(q.inbound_pending as f64);
        gauge("leadgate_outbox_pending").set(q.outbox_pending as f64);
        gauge("leadgate_outbox_dead").set(q.outbox_dead as f64);
        gauge("leadgate_leads_held").set(q.leads_held as f64);
    }
    if let Ok(bytes) = app.files.kept_file_bytes().await {
        (app.metrics.gauge("leadgate_attachments_bytes", &[])).set(bytes as f64);
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}
