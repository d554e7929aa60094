//! VK community channel: Callback API events (messages and wall comments) into stored items,
//! and stored items into lead drafts. The HTTP handler lives elsewhere; this is the pure part.

mod config;
mod parse;

pub use config::{RawVkSource, VkSource};

pub use parse::{VkCallback, VkError, parse_event, read_callback};
