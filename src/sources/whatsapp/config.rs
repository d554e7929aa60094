//! `[[sources.whatsapp]]`: a WhatsApp Business number's Cloud API webhook.

use crate::settings::Secret;
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
    /// The number's id (WhatsApp → API Setup): the app's webhooks for this number come here
    /// even when posted to another source's URL of the same app; without it, every number.
    pub phone_number_id: Option<String>,
    /// The number's access token (a system user's permanent token): with it, the person who
    /// writes is answered with `reply_text` (needs `phone_number_id`).
    pub access_token: Option<Secret>,
    /// The answer; default the Telegram bot's, `""` for none.
    pub reply_text: Option<String>,
    /// The Graph API's versioned base; default `https://graph.facebook.com/v21.0`.
    pub api_url: Option<String>,
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
    /// The number whose messages this source takes; `None`: every number of the app.
    pub phone_number_id: Option<String>,
    /// How the person who writes is answered; `None`: nobody is.
    pub reply: Option<WhatsappReply>,
}

/// Answering the person who wrote, inside WhatsApp's 24-hour customer-service window.
#[derive(Debug, Clone)]
pub struct WhatsappReply {
    /// The number's access token.
    pub access_token: Secret,
    /// The text sent.
    pub text: String,
    /// The Graph API's versioned base URL.
    pub api_url: String,
}
