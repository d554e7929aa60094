//! Telegram bot channel: Bot API updates (long polling or webhook) into stored items, stored
//! items into lead drafts, and the bot's acknowledgement to the person.
//!
//! `parse.rs` is the pure part (intake keys, lead drafts); `poll.rs` the long-polling loop
//! (`recovery.rs`: its backoff and call bound); `bot.rs` starts them; `reply.rs` sends the
//! acknowledgement that processing queues with a new lead. The Bot API client is the crate's `telegram` module, shared with the
//! managers' bot.
//! The webhook endpoint is `http/telegram.rs`.

mod bot;
mod config;
mod files;
mod inbound;
mod kind;
mod parse;
mod poll;
mod recovery;
mod reply;

pub use bot::{WebhookBot, start};
pub use config::{
    DEFAULT_CONTACT_BUTTON, DEFAULT_REPLY_TEXT, RawTelegram, ReplySettings, TelegramMode,
    TelegramSource,
};
pub use files::TelegramFiles;
pub use kind::Kind;
pub use parse::{ParseError, TelegramOptions, parse_update, split_updates, update_item};
