//! Posted sources: `GET|POST /hooks/{channel}/{id}` for a channel's webhook (a VK community,
//! a WhatsApp number, a Telegram bot in webhook mode: each channel's [`Webhook`] checks and
//! reads its requests) and `POST /hooks/{connector}/{id}` for form builders mapped by an
//! inbound connector, such as Tilda. Each checks the provider's secret or signature first,
//! refuses malformed bodies, and answers success only after the items are committed.

use super::AppState;
use super::error::ApiError;
use crate::sources::webhook::{Posted, Refusal, Webhook};
use crate::store::NewInbound;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> ApiError {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, r.code, r.message)
    }
}

/// `GET /hooks/{channel}/{id}`: the channel's verification handshake (WhatsApp's).
pub async fn handshake(
    State(app): State<AppState>,
    Path((channel, id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = (app.webhooks.get(&channel, &id)).and_then(|h| h.handshake(query.as_deref()));
    match answer {
        Some(Ok(text)) => text.into_response(),
        Some(Err(refusal)) => refused(&app, &channel, refusal),
        None => ApiError::not_found("webhook").into_response(),
    }
}

/// `POST /hooks/{name}/{id}`: a channel's webhook when `name` is a channel with a source
/// `id`, otherwise a form builder's.
pub async fn posted(
    State(app): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match app.webhooks.get(&name, &id).cloned() {
        Some(hook) => match receive(&app, &*hook, &headers, body).await {
            Ok(answer) => answer.into_response(),
            Err(e) => refused(&app, &name, e),
        },
        None => connector_hook(&app, &name, &id, peer, query.as_deref(), &headers, body).await,
    }
}

/// Counts a refused webhook request by channel and code, and answers it.
fn refused(app: &AppState, channel: &str, e: impl Into<ApiError>) -> Response {
    let e = e.into();
    (app.metrics)
        .counter(
            "leadgate_webhook_errors_total",
            &[("channel", channel), ("code", e.code)],
        )
        .increment(1);
    e.into_response()
}

/// Checks, reads and stores one post to `hook`; the answer's body once every item is
/// committed.
async fn receive(
    app: &AppState,
    hook: &dyn Webhook,
    headers: &HeaderMap,
    body: Body,
) -> Result<String, ApiError> {
    hook.admit(headers)?;
    let held = app
        .bodies
        .read(headers, body, super::HOOK_BODY_LIMIT)
        .await?;
    let posted = hook.read(headers, &held.bytes).await?;
    store(app, hook, posted).await
}

/// Commits a post's items in one transaction, then tells the webhook which were new; the
/// answer's body.
async fn store(app: &AppState, hook: &dyn Webhook, posted: Posted) -> Result<String, ApiError> {
    if posted.items.is_empty() {
        return Ok(posted.answer);
    }
    let items: Vec<NewInbound> = (posted.items.iter())
        .map(|(source, item)| NewInbound {
            id: app.clock.new_id().to_string(),
            source: source.clone(),
            channel: hook.channel(),
            dedupe_key: item.dedupe_key.clone(),
            received_at: app.clock.now(),
            content_type: Some("application/json".into()),
            payload: item.payload.clone(),
            meta: posted.meta.clone(),
        })
        .collect();
    let mut sources: Vec<&str> = posted.items.iter().map(|(s, _)| s.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    if let Err(e) = app.intake.submit_batch(items, None).await {
        for source in &sources {
            (app.health).failure(&format!("source:{source}"), app.clock.now(), e.to_string());
        }
        return Err(ApiError::store_failed(&e));
    }
    for source in sources {
        (app.health).success(&format!("source:{source}"), app.clock.now(), None);
    }
    Ok(posted.answer)
}

/// `POST /hooks/{connector}/{id}`: a form builder's webhook, for a `[[sources.webform]]`
/// whose `connector` is the one in the path (so a Tilda URL cannot feed a Wix form).
async fn connector_hook(
    app: &AppState,
    connector: &str,
    id: &str,
    peer: std::net::SocketAddr,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let Some(form) = (app.forms.get(id)).filter(|f| f.connector.name == connector) else {
        return ApiError::not_found("connector source").into_response();
    };
    // The hook door skips a browser's checks (allowed origins, the visitor's rate limit)
    // because the provider proves itself: with the form's secret, or, for a provider that
    // cannot sign, by the admin's `allow_unsigned`. Without either, nothing says the post is
    // not a browser's, so it is taken as one: otherwise `/hooks/generic/ID` would be a way
    // around both.
    let door = match form.cfg.secret.is_some() || form.cfg.allow_unsigned {
        true => super::forms::Door::Hook,
        false => super::forms::Door::Form,
    };
    match super::forms::accept(app, id, peer, headers, query, body, door).await {
        Ok(r) => r,
        Err(e) => {
            let ip = app.config.server.forwarded.client_ip(headers, peer.ip());
            super::forms::log_refusal(app, id, &e.error, Some(ip));
            e.error.into_response()
        }
    }
}
