//! `[[sources.vk]]`: a VK community's Callback API server.

use crate::config::Secret;
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
    /// The callback secret; without one callbacks are not authenticated (warned at start).
    pub secret: Option<Secret>,
}
