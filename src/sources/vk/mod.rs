//! VK community channel: Callback API events (messages and wall comments) into stored items,
//! and stored items into lead drafts. The HTTP handler lives elsewhere; this is the pure part.

mod api;
mod config;
mod files;
mod hook;
mod kind;
mod parse;

pub use api::{DEFAULT_VK_API_URL, VK_API_VERSION, VkApi, VkClients, VkSendError};
pub use config::{RawVkSource, VkReply, VkSource};
pub use files::VkFiles;
pub use hook::webhooks;

pub use kind::Kind;
pub use parse::{
    NAME_KEY, VkCallback, VkError, author, community_of, parse_event, read_callback, with_name,
};
