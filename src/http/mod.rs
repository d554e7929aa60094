//! The one HTTP listener: forms, channel and connector webhooks, health, metrics, the admin
//! API.

mod act;
mod admin;
mod api;
mod body;
pub mod console;
mod crm;
mod demo;
mod error;
mod files;
mod form_page;
mod forms;
mod health;
mod hook_limit;
mod hooks;
mod serve;
mod telegram;

pub use body::BodyBudget;
pub use error::ApiError;
pub use forms::FormRuntime;
pub use hook_limit::HookLimiter;
pub use serve::serve;

use crate::clock::Clock;
use crate::config::Config;
use crate::health::Health;
use crate::intake::Intake;
use crate::routing::RulesHandle;
use crate::sources::webform::WebformSource;
use crate::store::Store;
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// What every handler can reach, behind one reference count: axum clones the state for every
/// request, and one count to move costs less than the two dozen its parts hold (their clone
/// and drop were about 0.8 % of the daemon's CPU under the peer load).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    /// The state the routes share, made of its parts.
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`].
pub struct AppParts {
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
    /// The Prometheus renderer.
    pub metrics: crate::telemetry::Metrics,
    /// Signals that wake the sink workers (after a replay).
    pub sink_wakers: Arc<Vec<Arc<Notify>>>,
    /// Acknowledge and decline.
    pub actions: crate::sla::Actions,
    /// The link signer and the words of the pages.
    pub notices: crate::notify::Notices,
    /// Used links.
    pub notes: Arc<dyn crate::store::NotificationStore>,
    /// The memory every request body in flight shares.
    pub bodies: BodyBudget,
    /// The managers' bot in webhook mode: what handles the taps Telegram posts.
    pub managers_hook: Option<crate::sla::TapListener>,
    /// What the admin console reads.
    pub console: Arc<dyn crate::store::ConsoleStore>,
    /// Wakes the processing stage (an item the admin turned into a lead is pending again).
    pub process_wake: Arc<Notify>,
    /// Checks the links to kept files.
    pub file_links: crate::files::FileLinks,
    /// The records of kept files.
    pub files: Arc<dyn crate::store::FileStore>,
    /// Where kept files are.
    pub shelf: crate::files::Shelf,
    /// The sources providers post to, by channel and source id.
    pub webhooks: Arc<crate::sources::webhook::Webhooks>,
    /// The leases this replica holds (for `/readyz`).
    pub leases: crate::leases::Leases,
    /// Requests per provider address at the `/hooks/...` doors.
    pub hook_limiter: HookLimiter,
}

/// The largest body a channel webhook (VK, WhatsApp, Telegram) is read up to.
const HOOK_BODY_LIMIT: usize = 1 << 20;

impl AppParts {
    /// Wakes every sink worker.
    pub fn wake_sinks(&self) {
        for w in self.sink_wakers.iter() {
            w.notify_one();
        }
    }
}

/// The router with every route the config turns on.
pub fn router(state: AppState) -> Router {
    let demo_form = (state.config.sources.of::<WebformSource>().iter())
        .find(|f| f.demo)
        .map(|f| f.id.clone());
    // Form bodies are limited per form inside the handler; this caps everything else.
    let mut app = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route(
            &format!("{}/{{id}}", crate::files::FILES_PATH),
            get(files::serve),
        )
        .route(
            "/forms/{source_id}",
            post(forms::submit)
                .options(forms::preflight)
                .layer(DefaultBodyLimit::disable()),
        )
        .merge(hook_routes(&state));
    for form in state.config.sources.of::<WebformSource>() {
        let Some(path) = &form.path else { continue };
        let (posted, asked) = (form.id.clone(), form.id.clone());
        app = app.route(
            path,
            post(
                move |State(app): State<AppState>,
                      ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
                      headers: axum::http::HeaderMap,
                      body: axum::body::Body| async move {
                    forms::submit_to(app, posted, peer, headers, body).await
                },
            )
            .options(
                move |State(app): State<AppState>, headers: axum::http::HeaderMap| async move {
                    forms::preflight_to(&app, &asked, &headers)
                },
            )
            .layer(DefaultBodyLimit::disable()),
        );
    }
    if let Some(form_id) = demo_form {
        app = app.route("/", get(move || async move { demo::page(&form_id) }));
    }
    if let Some(token) = state.config.admin_token.clone() {
        app = app.merge(admin::routes(token.clone()));
        app = app.merge(console::routes(token));
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
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// The providers' doors, each behind the hook rate limit ([`hook_limit::limit`]). Channel
/// webhooks and connectors read their bodies themselves (`BodyBudget`), after the source is
/// known. The router prefers a literal segment to a parameter, so `/hooks/crm/...` and
/// `/hooks/telegram-managers` never reach `/hooks/{name}/...`.
fn hook_routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/hooks/telegram-managers",
            post(telegram::managers_hook).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/hooks/crm/{sink_id}",
            post(crm::hook).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/hooks/{name}/{source_id}",
            get(hooks::handshake)
                .post(hooks::posted)
                .layer(DefaultBodyLimit::disable()),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hook_limit::limit,
        ))
}

/// The request's span: method and path, and the query with every value hidden, since
/// providers put secrets there (Tilda's `?key=`).
fn request_span(req: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let query = req.uri().query().map(redact_query).unwrap_or_default();
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(req.uri().path()),
        query = %query,
    )
}

/// The path as logs may show it: a manager's action link (`/act/<token>`) is a credential
/// for a day, so its token is left out.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix(crate::notify::LINK_PATH) {
        Some(rest) if rest.starts_with('/') => format!("{}/…", crate::notify::LINK_PATH).into(),
        _ => path.into(),
    }
}

/// `key=SECRET&a=b` → `key=…&a=…`: the names tell what was sent, the values stay out of logs.
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) => format!("{name}=…"),
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// No such route; for a surface that is off, what turns it on.
async fn not_found(
    axum::extract::State(app): axum::extract::State<AppState>,
    uri: axum::http::Uri,
) -> Response {
    let path = uri.path();
    let admin = path == "/admin" || path.starts_with("/admin/");
    let off = if admin && app.config.admin_token.is_none() {
        Some(
            "the console and the admin API are off: set [admin] token in leadgate.toml to turn them on",
        )
    } else if path.starts_with("/api/") && app.config.api_token.is_none() {
        Some("the API is off: set [api] token in leadgate.toml to turn it on")
    } else {
        None
    };
    match off {
        Some(hint) => ApiError::new(axum::http::StatusCode::NOT_FOUND, "off", hint).into_response(),
        None => ApiError::not_found("route").into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_never_reach_the_log() {
        assert_eq!(
            super::redact_query("key=s3cret&formid=12&flag"),
            "key=…&formid=…&flag"
        );
    }

    #[test]
    fn an_action_links_token_never_reaches_the_log() {
        assert_eq!(
            super::loggable_path("/act/eyJsZWFkIjo.c2lnbmF0dXJl"),
            "/act/…"
        );
        assert_eq!(super::loggable_path("/forms/site"), "/forms/site");
        assert_eq!(super::loggable_path("/actions"), "/actions");
    }
}
