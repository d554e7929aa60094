//! The one HTTP listener: forms, channel and connector webhooks, health, metrics, the admin
//! API.

mod act;
mod admin;
mod api;
mod crm;
mod demo;
mod error;
mod forms;
mod health;
mod hooks;
mod telegram;

pub use error::ApiError;
pub use forms::FormRuntime;

use crate::clock::Clock;
use crate::config::Config;
use crate::health::Health;
use crate::intake::Intake;
use crate::routing::RulesHandle;
use crate::sources::telegram::WebhookBot;
use crate::store::Store;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The validated config.
    pub config: Arc<Config>,
    /// Where sources hand items.
    pub intake: Intake,
    /// The store (reads for admin and health).
    pub store: Arc<dyn Store>,
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// Component states.
    pub health: Health,
    /// The rules in force.
    pub rules: RulesHandle,
    /// Web forms by id.
    pub forms: Arc<HashMap<String, FormRuntime>>,
    /// Telegram bots in webhook mode by source id.
    pub telegram: Arc<HashMap<String, WebhookBot>>,
    /// The Prometheus renderer.
    pub metrics: PrometheusHandle,
    /// Signals that wake the sink workers (after a replay).
    pub sink_wakers: Arc<Vec<Arc<Notify>>>,
    /// Acknowledge and decline.
    pub actions: crate::sla::Actions,
    /// The link signer and the words of the pages.
    pub notices: crate::notify::Notices,
    /// Used links.
    pub notes: Arc<dyn crate::store::NotificationStore>,
}

impl AppState {
    /// Wakes every sink worker.
    pub fn wake_sinks(&self) {
        for w in self.sink_wakers.iter() {
            w.notify_one();
        }
    }
}

/// The router with every route the config turns on.
pub fn router(state: AppState) -> Router {
    let demo_form = state
        .config
        .webforms
        .iter()
        .find(|f| f.demo)
        .map(|f| f.id.clone());
    // Form bodies are limited per form inside the handler; this caps everything else.
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            "/forms/{source_id}",
            post(forms::submit)
                .options(forms::preflight)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/hooks/vk/{source_id}", post(hooks::vk_callback))
        .route(
            "/hooks/whatsapp/{source_id}",
            get(hooks::whatsapp_verify).post(hooks::whatsapp_event),
        )
        // After the fixed kinds above: the router prefers a literal segment to a parameter,
        // so /hooks/vk/... and /hooks/whatsapp/... never reach a connector.
        .route("/hooks/telegram/{source_id}", post(telegram::hook))
        .route("/hooks/crm/{sink_id}", post(crm::hook))
        .route(
            "/hooks/{connector}/{source_id}",
            post(hooks::connector_hook).layer(DefaultBodyLimit::disable()),
        );
    if let Some(form_id) = demo_form {
        app = app.route("/", get(move || async move { demo::page(&form_id) }));
    }
    if let Some(token) = state.config.admin_token.clone() {
        app = app.merge(admin::routes(token));
    }
    if state.notices.signer().is_some() {
        app = app.route(
            &format!("{}/{{token}}", crate::notify::LINK_PATH),
            get(act::confirm).post(act::perform),
        );
    }
    if let Some(token) = state.config.api_token.clone() {
        app = app.merge(api::routes(token));
    }
    app.fallback(not_found)
        .layer(DefaultBodyLimit::max(1 << 20))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> Response {
    ApiError::not_found("route").into_response()
}
