//! `[[sources.vk]]`: a VK community's Callback API server.

use crate::settings::Secret;
use serde::Deserialize;

/// The source as written in the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVkSource {
    /// The source id: `POST /hooks/vk/{id}`.
    pub id: String,
    /// The community's id (positive), which callbacks must name.
    pub group_id: i64,
    /// The string VK expects back from the confirmation handshake.
    pub confirmation: String,
    /// The secret key set in the community's Callback API settings.
    pub secret: Option<Secret>,
    /// Take callbacks without `secret` (warned at every start).
    pub allow_unsigned: Option<bool>,
    /// A message within this long of the person's last one joins its lead; default `30m`,
    /// `"off"` makes every message a lead.
    pub conversation_window: Option<String>,
    /// The community's access token (with the messages permission): with it, the person who
    /// writes to the community is answered with `reply_text`.
    pub access_token: Option<Secret>,
    /// The answer; default the Telegram bot's, `""` for none.
    pub reply_text: Option<String>,
    /// The VK API's base; default `https://api.vk.com/method`.
    pub api_url: Option<String>,
}

/// The validated source.
#[derive(Debug, Clone)]
pub struct VkSource {
    /// The source id.
    pub id: String,
    /// The community.
    pub group_id: i64,
    /// The handshake answer.
    pub confirmation: String,
    /// The callback secret; `None` only with `allow_unsigned`.
    pub secret: Option<Secret>,
    /// Callbacks are taken without the secret (warned at every start).
    pub allow_unsigned: bool,
    /// A message this soon after the person's last joins its lead; zero: never.
    pub conversation_window: std::time::Duration,
    /// How the person who writes is answered; `None`: nobody is.
    pub reply: Option<VkReply>,
}

/// Answering the person who wrote to the community.
#[derive(Debug, Clone)]
pub struct VkReply {
    /// The community's access token.
    pub access_token: Secret,
    /// The text sent.
    pub text: String,
    /// The VK API's base URL.
    pub api_url: String,
}
