//! VK community channel: Callback API events (messages and wall comments) into stored items,
//! and stored items into lead drafts. The HTTP handler lives elsewhere; this is the pure part.

mod parse;

pub use parse::{VkCallback, VkError, parse_event, read_callback};
