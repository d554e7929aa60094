//! `/healthz` (the process answers), `/readyz` (the store answers; every component's state)
//! and `/metrics` (Prometheus text).

use super::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Alive: the process answers HTTP.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the store answers; lists every source, stage and sink with its last success, cursor
/// and last error, so a channel never dies silently. 503 when the store is unreachable.
pub async fn readyz(State(app): State<AppState>) -> Response {
    let store = app.store.ping().await;
    let queues = app.store.queue_stats().await.ok();
    let body = json!({
        "status": if store.is_ok() { "ready" } else { "unavailable" },
        "store": match &store { Ok(()) => json!({"state": "ok"}), Err(e) => json!({"state": "failing", "error": e.to_string()}) },
        "queues": queues,
        "rules_version": app.rules.current().version(),
        "components": app.health.snapshot(),
    });
    let status = if store.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

/// Prometheus text exposition of every metric, with the queue depths read from the store.
pub async fn metrics(State(app): State<AppState>) -> Response {
    if let Ok(q) = app.store.queue_stats().await {
        metrics::gauge!("leadgate_inbound_pending").set(q.inbound_pending as f64);
        metrics::gauge!("leadgate_outbox_pending").set(q.outbox_pending as f64);
        metrics::gauge!("leadgate_outbox_dead").set(q.outbox_dead as f64);
        metrics::gauge!("leadgate_leads_held").set(q.leads_held as f64);
    }
    app.metrics.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
        .into_response()
}
