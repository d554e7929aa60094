//! `POST /hooks/telegram-managers`: the managers' bot in webhook mode, each tap handled
//! before the answer. (The bots people write to post to `/hooks/telegram/{id}`, a channel
//! webhook: `sources/telegram/bot.rs`.)

use super::AppState;
use super::error::ApiError;
use crate::settings::tokens_match;
use crate::telegram::SECRET_HEADER;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

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
