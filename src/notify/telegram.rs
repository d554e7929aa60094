//! Sending to managers through their bot: the card with its inline keyboard, notices as
//! replies to the card (whose buttons come off), edits after a tap.

use super::message::TelegramMessage;
use crate::telegram::{ApiError, BotClient};
use std::time::Duration;
use teloxide::payloads::{EditMessageReplyMarkupSetters, SendMessageSetters};
use teloxide::requests::Requester;
use teloxide::types::{
    ChatId, InlineKeyboardMarkup, LinkPreviewOptions, MessageId, ParseMode, ReplyParameters,
};

/// The managers' bot, for sending.
#[derive(Debug, Clone)]
pub struct TelegramNotifier {
    api: BotClient,
}

/// Whether a failed call is worth retrying, and when: `Err` when trying again changes nothing
/// (400 chat not found, 403 the bot was blocked, 401 a wrong token).
pub fn retry_after(e: &ApiError) -> Result<Option<Duration>, ()> {
    if e.is_final() {
        Err(())
    } else {
        Ok(e.retry_after())
    }
}

/// Cards and notices show no link preview: the links in them are the person's contacts.
pub fn no_link_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

impl TelegramNotifier {
    /// A notifier over `api`.
    pub fn new(api: BotClient) -> TelegramNotifier {
        TelegramNotifier { api }
    }

    /// The client, for the tap listener.
    pub fn api(&self) -> &BotClient {
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
        let mut request = self
            .api
            .bot()
            .send_message(ChatId(chat), &message.text)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_link_preview());
        if let Some(b) = &message.buttons {
            request = request.reply_markup(b.keyboard());
        }
        if let Some(card) = card {
            self.strip_buttons(chat, card).await;
            if let Ok(card) = i32::try_from(card) {
                let reply = ReplyParameters::new(MessageId(card)).allow_sending_without_reply();
                request = request.reply_parameters(reply);
            }
        }
        let sent = self.api.call(request).await?;
        Ok(i64::from(sent.id.0))
    }

    /// Takes the inline keyboard off a card (the lead moved on); a card already without one
    /// is fine.
    pub async fn strip_buttons(&self, chat: i64, message_id: i64) {
        self.set_buttons(chat, message_id, InlineKeyboardMarkup::default())
            .await;
    }

    /// Replaces a card's inline keyboard (best effort: the card may be gone).
    pub async fn set_buttons(&self, chat: i64, message_id: i64, keyboard: InlineKeyboardMarkup) {
        let Ok(message_id) = i32::try_from(message_id) else {
            return;
        };
        let request = self
            .api
            .bot()
            .edit_message_reply_markup(ChatId(chat), MessageId(message_id))
            .reply_markup(keyboard);
        if let Err(e) = self.api.call(request).await {
            tracing::debug!(error = %e, "The card's buttons could not be changed.");
        }
    }
}
