//! Channels: each only turns what arrives from the outside into stored inbound items and, at
//! processing time, parses them back into lead drafts.

pub mod blog;
pub mod clients;
pub mod email;
pub mod fetch;
pub mod item;
mod parse;
pub mod registry;
pub mod replies;
pub mod table;
pub mod telegram;
pub mod vk;
pub mod webform;
pub mod webhook;
pub mod whatsapp;

use parse::unknown_source;
pub use parse::{SourceSettings, parse_item, parse_sample};

use crate::settings::Scope;
use std::time::Duration;

/// Telegram's, VK's and WhatsApp's conversation window unless the source sets one: messages
/// this close to the last one join its lead.
pub const DEFAULT_CONVERSATION_WINDOW: Duration = Duration::from_secs(30 * 60);

/// A source's `conversation_window`: a duration, or `"off"` (zero: every item is a lead).
pub fn conversation_window(p: &mut Scope<'_>, text: Option<&str>, default: Duration) -> Duration {
    match text.map(str::trim) {
        Some("off") => Duration::ZERO,
        _ => p.duration("conversation_window", text, default),
    }
}
