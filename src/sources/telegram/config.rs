//! `[[sources.telegram]]`: the bot as the config file writes it, and as the daemon runs it once
//! `config/validate.rs` has checked every value.

use super::TelegramOptions;
use crate::settings::Secret;
use serde::Deserialize;
use std::time::Duration;

/// `[[sources.telegram]]` as written: a bot taking updates by long polling or by webhook.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTelegram {
    /// The source id: the lead's `source`, and the webhook path `/hooks/telegram/{id}`.
    pub id: String,
    /// The bot token from @BotFather (`123456:ABC...`); part of every Bot API URL, so it is a
    /// secret.
    pub token: Secret,
    /// The Bot API base URL; default `https://api.telegram.org` (a local Bot API server or a
    /// test simulator otherwise).
    pub api_url: Option<String>,
    /// `polling` (default) or `webhook`.
    pub mode: Option<String>,
    /// The `secret_token` given to `setWebhook`, checked in `X-Telegram-Bot-Api-Secret-Token`;
    /// required in webhook mode.
    pub webhook_secret: Option<Secret>,
    /// Whether messages in groups count as leads; default false.
    pub group_messages: Option<bool>,
    /// The acknowledgement sent to the person, in the business's language; `""` sends none.
    pub reply_text: Option<String>,
    /// Whether the acknowledgement asks for the phone with a share-contact button when none is
    /// known; default true.
    pub ask_contact: Option<bool>,
    /// The text on the share-contact button.
    pub contact_button: Option<String>,
    /// How long one `getUpdates` call waits for updates; default `25s`.
    pub poll_timeout: Option<String>,
    /// How long after its last message a chat's conversation stays one lead; default `30m`.
    pub conversation_window: Option<String>,
}

/// How the bot receives updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelegramMode {
    /// The daemon calls `getUpdates` (works behind NAT, no public URL needed).
    Polling,
    /// Telegram posts each update to `POST /hooks/telegram/{id}`.
    Webhook {
        /// The `secret_token` given to `setWebhook`, which Telegram sends back in
        /// `X-Telegram-Bot-Api-Secret-Token`.
        secret: Secret,
    },
}

/// What the bot answers a person who writes to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySettings {
    /// The acknowledgement text; `None` sends nothing.
    pub text: Option<String>,
    /// Whether to attach the share-contact button when the message carries no phone.
    pub ask_contact: bool,
    /// The button's text.
    pub contact_button: String,
}

/// A validated Telegram source.
#[derive(Debug, Clone)]
pub struct TelegramSource {
    /// The source id.
    pub id: String,
    /// The bot token.
    pub token: Secret,
    /// The Bot API base URL, without a trailing slash.
    pub api_url: reqwest::Url,
    /// Polling, or webhook with its secret.
    pub mode: TelegramMode,
    /// Which messages count, for the parser.
    pub options: TelegramOptions,
    /// The acknowledgement.
    pub reply: ReplySettings,
    /// The long-poll wait of one `getUpdates` call.
    pub poll_timeout: Duration,
    /// How long a chat's conversation stays open after its last message.
    pub conversation_window: Duration,
}

/// The default acknowledgement (the corpus business writes Russian).
pub const DEFAULT_REPLY_TEXT: &str =
    "Здравствуйте! Спасибо за сообщение, менеджер ответит вам в ближайшее время.";

/// The default share-contact button text.
pub const DEFAULT_CONTACT_BUTTON: &str = "Отправить номер телефона";
