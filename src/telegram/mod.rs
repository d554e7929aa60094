//! The Telegram Bot API client both bots share: the customer-facing bots of
//! `[[sources.telegram]]` (`sources/telegram`) and the managers' bot of `[notify.telegram]`
//! (`notify/telegram.rs`, `notify/taps.rs`).
//!
//! Every request is teloxide's (its `Bot`, typed requests and types) except the leads' bots'
//! `getUpdates`, which is made by hand so that each Update is stored exactly as Telegram sent
//! it (`raw.rs`). `client.rs` points a `Bot` at the configured Bot API and bounds each call;
//! `error.rs` turns teloxide's errors into leadgate's own, which never carry the token or a
//! proxy's markup; `shapes.rs` says what a token and a webhook secret look like.

mod client;
mod error;
mod raw;
mod shapes;

pub use client::{BotClient, CALL_TIMEOUT, DEFAULT_API_URL};
pub use error::ApiError;
pub use shapes::{token_shape_ok, webhook_secret_shape_ok};

/// The header Telegram sends a webhook's secret in (the `secret_token` of `setWebhook`).
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
