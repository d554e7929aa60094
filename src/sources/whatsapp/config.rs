//! `[[sources.whatsapp]]`: a WhatsApp Business number's Cloud API webhook.

use crate::config::Secret;
use serde::Deserialize;

/// The source as written in the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWhatsappSource {
    /// The source id: `GET|POST /hooks/whatsapp/{id}`.
    pub id: String,
    /// The token entered in the app's webhook settings, checked in the verification handshake.
    pub verify_token: Secret,
    /// The app secret every POST is signed with (`X-Hub-Signature-256`).
    pub app_secret: Secret,
    /// A message within this long of the person's last one joins its lead; default `30m`,
    /// `"off"` makes every message a lead.
    pub conversation_window: Option<String>,
}

/// The validated source.
#[derive(Debug, Clone)]
pub struct WhatsappSource {
    /// The source id.
    pub id: String,
    /// The handshake token.
    pub verify_token: Secret,
    /// The signing secret.
    pub app_secret: Secret,
    /// A message this soon after the person's last joins its lead; zero: never.
    pub conversation_window: std::time::Duration,
}
