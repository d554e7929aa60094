//! Telegram bot channel: Bot API updates (long polling or webhook) into stored items, and
//! stored items into lead drafts. The I/O lives elsewhere; this is the pure part.

mod parse;

pub use parse::{ParseError, TelegramOptions, parse_update, split_updates, update_item};
