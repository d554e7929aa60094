//! `[[sources.telegram]]`: the bot as the config file writes it, and as the daemon runs it once
//! every value is checked.

use super::TelegramOptions;
use crate::lead::Channel;
use crate::settings::{Scope, Secret};
use crate::sources::table::{RawSource, Source, TableContext};
use crate::telegram::{DEFAULT_API_URL, token_shape_ok, webhook_secret_shape_ok};
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

/// The longest message the Bot API sends.
const TELEGRAM_TEXT_LIMIT: usize = 4096;

impl RawTelegram {
    /// Checks the bot's table and applies the defaults; `None` when a problem leaves nothing to
    /// run.
    pub fn validate(self, p: &mut Scope<'_>) -> Option<TelegramSource> {
        let t = self;
        if !token_shape_ok(t.token.expose()) {
            p.add(
                "token",
                "is not a bot token",
                Some("the token @BotFather gave, like \"123456789:AAF...\", best as \"${TELEGRAM_BOT_TOKEN}\""),
            );
        }
        let api_text = t.api_url.as_deref().unwrap_or(DEFAULT_API_URL);
        let api_url = match reqwest::Url::parse(api_text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Some(u),
            _ => {
                p.add(
                    "api_url",
                    format!("{api_text:?} is not an http(s) URL"),
                    Some("the Bot API server's base URL, like \"https://api.telegram.org\""),
                );
                None
            }
        };
        let mode = match (t.mode.as_deref().unwrap_or("polling"), t.webhook_secret) {
            ("polling", _) => Some(TelegramMode::Polling),
            ("webhook", Some(secret)) if webhook_secret_shape_ok(secret.expose()) => {
                Some(TelegramMode::Webhook { secret })
            }
            ("webhook", Some(_)) => {
                p.add(
                    "webhook_secret",
                    "is not a valid secret token",
                    Some("1 to 256 characters: letters, digits, '_' and '-'"),
                );
                None
            }
            ("webhook", None) => {
                p.add(
                    "webhook_secret",
                    "webhook mode needs a secret, or anyone could post leads",
                    Some(
                        "set webhook_secret and pass the same value as secret_token to setWebhook",
                    ),
                );
                None
            }
            (other, _) => {
                p.add(
                    "mode",
                    format!("unknown mode {other:?}"),
                    Some("\"polling\" or \"webhook\""),
                );
                None
            }
        };
        let poll_timeout = p.duration(
            "poll_timeout",
            t.poll_timeout.as_deref(),
            Duration::from_secs(25),
        );
        if !(1..=60).contains(&poll_timeout.as_secs()) || poll_timeout.subsec_nanos() != 0 {
            p.add(
                "poll_timeout",
                "must be whole seconds from 1s to 60s",
                Some("\"25s\" is a good value"),
            );
        }
        let conversation_window = p.duration(
            "conversation_window",
            t.conversation_window.as_deref(),
            Duration::from_secs(30 * 60),
        );
        if conversation_window.is_zero() {
            p.add("conversation_window", "must be longer than 0", None);
        }
        let text = match t.reply_text {
            None => Some(DEFAULT_REPLY_TEXT.to_string()),
            Some(text) if text.trim().is_empty() => None,
            Some(text) => Some(text),
        };
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > TELEGRAM_TEXT_LIMIT)
        {
            p.add(
                "reply_text",
                format!("is longer than the {TELEGRAM_TEXT_LIMIT} characters Telegram sends"),
                None,
            );
        }
        let contact_button = t
            .contact_button
            .unwrap_or_else(|| DEFAULT_CONTACT_BUTTON.to_string());
        let ask_contact = t.ask_contact.unwrap_or(true);
        if ask_contact && contact_button.trim().is_empty() {
            p.add(
                "contact_button",
                "the share-contact button needs a text",
                Some("or set ask_contact = false"),
            );
        }
        Some(TelegramSource {
            id: t.id,
            token: t.token,
            api_url: api_url?,
            mode: mode?,
            options: TelegramOptions {
                group_messages: t.group_messages.unwrap_or(false),
            },
            reply: ReplySettings {
                text,
                ask_contact,
                contact_button,
            },
            poll_timeout,
            conversation_window,
        })
    }
}

impl RawSource for RawTelegram {
    const KEY: &'static str = "telegram";
    type Source = TelegramSource;
    type Seen = ();

    fn id(&self) -> &str {
        &self.id
    }

    fn validate(
        self,
        p: &mut Scope<'_>,
        _: &TableContext<'_>,
        _: &mut (),
    ) -> Option<TelegramSource> {
        RawTelegram::validate(self, p)
    }
}

impl Source for TelegramSource {
    const CHANNEL: Channel = Channel::Telegram;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> Duration {
        self.conversation_window
    }

    fn bot_token(&self) -> Option<&str> {
        Some(self.token.expose())
    }

    fn reply_text(&self) -> Option<&str> {
        self.reply.text.as_deref()
    }
}
