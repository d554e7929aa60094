//! Sending to managers through their bot: the card with its inline keyboard, notices as
//! replies to the card (whose buttons come off), edits after a tap.

use super::message::TelegramMessage;
use crate::sources::telegram::{ApiError, BotApi, CALL_TIMEOUT};
use serde_json::{Value, json};

/// The managers' bot, for sending.
#[derive(Debug, Clone)]
pub struct TelegramNotifier {
    api: BotApi,
}

/// Whether a failed call is worth retrying, and when.
pub fn retry_after(e: &ApiError) -> Result<Option<std::time::Duration>, ()> {
    match e {
        ApiError::Http(_) | ApiError::Answer(_) => Ok(None),
        ApiError::Refused {
            status: 429,
            retry_after,
            ..
        } => Ok(retry_after.map(std::time::Duration::from_secs)),
        ApiError::Refused { status, .. } if *status >= 500 => Ok(None),
        // 400 chat not found, 403 the bot was blocked, 401 a wrong token: trying again
        // changes nothing.
        ApiError::Refused { .. } => Err(()),
    }
}

impl TelegramNotifier {
    /// A notifier over `api`.
    pub fn new(api: BotApi) -> TelegramNotifier {
        TelegramNotifier { api }
    }

    /// The client, for the tap listener.
    pub fn api(&self) -> &BotApi {
        &self.api
    }

    /// Sends `message` to `chat`, as a reply to the card `card` when given (whose buttons are
    /// taken off first, best effort); returns the sent message's id.
    pub async fn send(
        &self,
        chat: i64,
        message: &TelegramMessage,
        card: Option<i64>,
    ) -> Result<i64, ApiError> {
        let mut params = json!({
            "chat_id": chat,
            "text": message.text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": true},
        });
        if let Some(b) = &message.buttons {
            params["reply_markup"] = json!({"inline_keyboard": b.keyboard()});
        }
        if let Some(card) = card {
            self.strip_buttons(chat, card).await;
            params["reply_parameters"] =
                json!({"message_id": card, "allow_sending_without_reply": true});
        }
        let sent = self
            .api
            .call_method("sendMessage", &params, CALL_TIMEOUT)
            .await?;
        Ok(sent.get("message_id").and_then(Value::as_i64).unwrap_or(0))
    }

    /// Takes the inline keyboard off a card (the lead moved on); a card already without one
    /// is fine.
    pub async fn strip_buttons(&self, chat: i64, message_id: i64) {
        self.set_buttons(chat, message_id, json!([])).await;
    }

    /// Replaces a card's inline keyboard (best effort: the card may be gone).
    pub async fn set_buttons(&self, chat: i64, message_id: i64, keyboard: Value) {
        let params = json!({
            "chat_id": chat,
            "message_id": message_id,
            "reply_markup": {"inline_keyboard": keyboard},
        });
        if let Err(e) = self
            .api
            .call_method("editMessageReplyMarkup", &params, CALL_TIMEOUT)
            .await
        {
            tracing::debug!(error = %e, "The card's buttons could not be changed.");
        }
    }
}
