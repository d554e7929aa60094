//! Telegram bot channel: Bot API updates (long polling or webhook) into stored items, stored
//! items into lead drafts, and the bot's acknowledgement to the person.
//!
//! `parse.rs` is the pure part (intake keys, lead drafts); `api.rs` the Bot API client;
//! `poll.rs` the long-polling loop (`recovery.rs`: its backoff and call bound); `answer.rs` the acknowledgement; `bot.rs` starts them.
//! The webhook endpoint is `http/telegram.rs`.

mod answer;
mod api;
mod bot;
mod config;
mod inbound;
mod parse;
mod poll;
mod recovery;

pub use answer::AnswerQueue;
pub use api::{ApiError, BotApi, CALL_TIMEOUT};
pub use bot::{WebhookBot, start_bots};
pub use config::{
    DEFAULT_API_URL, DEFAULT_CONTACT_BUTTON, DEFAULT_REPLY_TEXT, RawTelegram, ReplySettings,
    TelegramMode, TelegramSource, token_shape_ok, webhook_secret_shape_ok,
};
pub use inbound::inbound;
pub use parse::{ParseError, TelegramOptions, parse_update, split_updates, update_item};
