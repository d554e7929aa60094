//! `POST /hooks/telegram/{source_id}`: a bot in webhook mode. Telegram posts one Update per
//! request with the `secret_token` given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`;
//! the answer is `200` only once the update is committed, so Telegram retries anything not
//! stored. `POST /hooks/telegram-managers`: the managers' bot in webhook mode, each tap handled
//! before the answer.

use super::AppState;
use super::error::ApiError;
use crate::settings::tokens_match;
use crate::sources::telegram::{inbound, update_item};
use crate::store::Inserted;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// The header Telegram sends the webhook's secret in.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// `POST /hooks/telegram/{id}`: 401 for a missing or wrong secret and 400 for a body that is
/// not an Update, both with nothing stored; 200 with an empty body once committed (a body
/// would be read by Telegram as a method to call).
pub async fn hook(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match accept(&app, &id, &headers, body).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            (app.metrics)
                .counter(
                    "leadgate_telegram_webhook_errors_total",
                    &[("code", e.code)],
                )
                .increment(1);
            e.into_response()
        }
    }
}

async fn accept(app: &AppState, id: &str, headers: &HeaderMap, body: Body) -> Result<(), ApiError> {
    let bot = app
        .telegram
        .get(id)
        .ok_or_else(|| ApiError::not_found("telegram webhook"))?;
    let presented = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !tokens_match(presented, &bot.secret) {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_secret",
            "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong",
        ));
    }
    let body = app
        .bodies
        .read(headers, body, super::HOOK_BODY_LIMIT)
        .await?;
    let item = update_item(&body.bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string()))?;
    let payload = item.payload.clone();
    let name = format!("source:{id}");
    let stored = app
        .intake
        .submit(inbound(id, item, app.clock.as_ref(), "webhook"))
        .await
        .map_err(|e| {
            app.health.failure(&name, app.clock.now(), e.to_string());
            ApiError::unavailable(e.to_string())
        })?;
    app.health.success(&name, app.clock.now(), None);
    if matches!(stored, Inserted::New(_)) {
        bot.answers.offer(payload);
    }
    Ok(())
}

/// `POST /hooks/telegram-managers`: a tap (or a message) to the managers' bot in webhook mode,
/// handled as a polled one would be; 404 when the bot polls, 401 for a wrong secret, 400 for a
/// body that is not JSON.
pub async fn managers_hook(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (Some(listener), Some(secret)) = (
        app.managers_hook.as_ref(),
        (app.config.notify.telegram.as_ref()).and_then(|t| t.webhook_secret.as_ref()),
    ) else {
        return ApiError::not_found("managers' bot webhook").into_response();
    };
    let presented = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !tokens_match(presented, secret) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_secret",
            "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong",
        )
        .into_response();
    }
    let body = match app
        .bodies
        .read(&headers, body, super::HOOK_BODY_LIMIT)
        .await
    {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Read from the bytes: teloxide's `Update` does not read from a `serde_json::Value`.
    match serde_json::from_slice::<teloxide::types::Update>(&body.bytes) {
        Ok(update) => listener.on_update(&update).await,
        Err(e) if e.is_syntax() || e.is_eof() => {
            return ApiError::new(StatusCode::BAD_REQUEST, "malformed", "not a JSON Update")
                .into_response();
        }
        // JSON that is no Update (no `update_id`) is answered 200, like any update the bot
        // has no use for.
        Err(e) => {
            tracing::warn!(error = %e, "A post to the managers' bot webhook is not an Update; ignored.");
        }
    }
    app.health.success("notify:telegram", app.clock.now(), None);
    StatusCode::OK.into_response()
}
