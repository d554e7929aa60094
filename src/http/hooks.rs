//! Channel webhooks: `POST /hooks/vk/{id}` (VK Callback API), `GET|POST
//! /hooks/whatsapp/{id}` (WhatsApp Cloud API) and `POST /hooks/{connector}/{id}` (form
//! builders mapped by an inbound connector, such as Tilda). Each checks the provider's secret
//! or signature first, refuses malformed bodies, and answers success only after the items are
//! committed.

use super::AppState;
use super::error::ApiError;
use crate::lead::Channel;
use crate::settings::tokens_match;
use crate::sources::item::Item;
use crate::sources::{vk, whatsapp};
use crate::store::NewInbound;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// Commits items from a webhook; every item must be stored before the provider is answered.
async fn store_items(
    app: &AppState,
    source: &str,
    channel: Channel,
    items: Vec<Item>,
) -> Result<(), ApiError> {
    for item in items {
        let inbound = NewInbound {
            id: app.clock.new_id().to_string(),
            source: source.to_string(),
            channel,
            dedupe_key: item.dedupe_key,
            received_at: app.clock.now(),
            content_type: Some("application/json".into()),
            payload: item.payload,
            meta: json!({}),
        };
        app.intake
            .submit(inbound)
            .await
            .map_err(|e| ApiError::unavailable(e.to_string()))?;
    }
    app.health
        .success(&format!("source:{source}"), app.clock.now(), None);
    Ok(())
}

/// `POST /hooks/vk/{id}`: the confirmation handshake, then events answered `ok` once stored.
pub async fn vk_callback(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(source) = app.config.vk.iter().find(|s| s.id == id) else {
        return ApiError::not_found("VK source").into_response();
    };
    let body = match app
        .bodies
        .read(&headers, body, super::HOOK_BODY_LIMIT)
        .await
    {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let secret = source.secret.as_ref().map(|s| s.expose());
    match vk::read_callback(&body.bytes, source.group_id, secret) {
        Ok(vk::VkCallback::Confirmation) => source.confirmation.clone().into_response(),
        Ok(vk::VkCallback::Ignored(_)) => "ok".into_response(),
        Ok(vk::VkCallback::Event(mut item)) => {
            if let Some(api) = app.vk_names.get(&source.id) {
                item.payload = with_vk_name(api, &source.id, item.payload).await;
            }
            match store_items(&app, &source.id, Channel::Vk, vec![item]).await {
                Ok(()) => "ok".into_response(),
                Err(e) => e.into_response(),
            }
        }
        Err(e) => {
            let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            let code = if status == StatusCode::BAD_REQUEST {
                "malformed"
            } else {
                "forbidden"
            };
            ApiError::new(status, code, e.to_string()).into_response()
        }
    }
}

/// How long a VK callback waits for `users.get` before it is stored without the name (VK
/// retries a callback it does not see answered within seconds).
const VK_NAME_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The callback with its author's name from `users.get` kept in it, or as it was when VK
/// does not say (the lead goes on with the VK id alone).
async fn with_vk_name(api: &vk::VkApi, source: &str, payload: Vec<u8>) -> Vec<u8> {
    let Some(user) = vk::author(&payload) else {
        return payload;
    };
    match api.user_name(user, VK_NAME_WAIT).await {
        Ok(name) if !name.is_empty() => vk::with_name(&payload, &name),
        Ok(_) => payload,
        Err(e) => {
            tracing::warn!(source, error = %e, "VK did not give the person's name (users.get); the lead goes on without it.");
            payload
        }
    }
}

/// The WhatsApp verification handshake's query.
#[derive(Debug, Deserialize)]
pub struct Handshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// `GET /hooks/whatsapp/{id}`: answers the challenge when the verify token matches.
pub async fn whatsapp_verify(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<Handshake>,
) -> Response {
    let Some(source) = app.config.whatsapp.iter().find(|s| s.id == id) else {
        return ApiError::not_found("WhatsApp source").into_response();
    };
    let token_ok = q
        .verify_token
        .as_deref()
        .is_some_and(|t| tokens_match(t.as_bytes(), &source.verify_token));
    match (q.mode.as_deref(), token_ok, q.challenge) {
        (Some("subscribe"), true, Some(challenge)) => challenge.into_response(),
        _ => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the verify token does not match",
        )
        .into_response(),
    }
}

/// `POST /hooks/whatsapp/{id}`: the signature over the raw body first, then every message and
/// status stored.
pub async fn whatsapp_event(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(source) = app.config.whatsapp.iter().find(|s| s.id == id) else {
        return ApiError::not_found("WhatsApp source").into_response();
    };
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if signature.is_none() {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "X-Hub-Signature-256 is missing",
        )
        .into_response();
    }
    let held = match app
        .bodies
        .read(&headers, body, super::HOOK_BODY_LIMIT)
        .await
    {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let body = &held.bytes;
    if !whatsapp::verify_signature(source.app_secret.expose().as_bytes(), body, signature) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            "X-Hub-Signature-256 does not verify",
        )
        .into_response();
    }
    let items = match whatsapp::split_webhook(body) {
        Ok(items) => items,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string())
                .into_response();
        }
    };
    // One app posts every number's webhooks here: each item goes to its number's source.
    let mut per_source: Vec<(&str, Vec<Item>)> = Vec::new();
    for item in items {
        let number = whatsapp::phone_number_id_of(&item.payload);
        let Some(to) = whatsapp::source_for(&app.config.whatsapp, source, number.as_deref()) else {
            tracing::debug!(source = %source.id, "A WhatsApp webhook item for a number no source takes was left out.");
            continue;
        };
        match per_source.iter_mut().find(|(id, _)| *id == to.id) {
            Some((_, list)) => list.push(item),
            None => per_source.push((&to.id, vec![item])),
        }
    }
    for (id, items) in per_source {
        if let Err(e) = store_items(&app, id, Channel::Whatsapp, items).await {
            return e.into_response();
        }
    }
    StatusCode::OK.into_response()
}

/// `POST /hooks/{connector}/{id}`: a form builder's webhook, for a `[[sources.webform]]`
/// whose `connector` is the one in the path (so a Tilda URL cannot feed a Wix form).
pub async fn connector_hook(
    State(app): State<AppState>,
    Path((connector, id)): Path<(String, String)>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let matches = app
        .forms
        .get(&id)
        .is_some_and(|f| f.connector.name == connector);
    if !matches {
        return ApiError::not_found("connector source").into_response();
    }
    let door = super::forms::Door::Hook;
    match super::forms::accept(&app, &id, peer, &headers, query.as_deref(), body, door).await {
        Ok(r) => r,
        Err(e) => {
            super::forms::log_refusal(&app, &id, &e.error, Some(peer.ip()));
            e.error.into_response()
        }
    }
}
