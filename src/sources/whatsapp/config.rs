//! `[[sources.whatsapp]]`: a WhatsApp Business number's Cloud API webhook.

use super::DEFAULT_GRAPH_URL;
use crate::lead::Channel;
use crate::settings::{Scope, Secret};
use crate::sources::table::{RawSource, Source, TableContext};
use crate::sources::telegram::DEFAULT_REPLY_TEXT;
use serde::Deserialize;
use std::collections::HashSet;

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

impl RawWhatsappSource {
    /// Checks the number's table and applies the defaults (that two sources do not share a
    /// number is [`Numbers`]' check).
    pub fn validate(self, p: &mut Scope<'_>) -> WhatsappSource {
        let s = self;
        for (name, value) in [
            ("verify_token", &s.verify_token),
            ("app_secret", &s.app_secret),
        ] {
            if value.expose().is_empty() {
                p.add(
                    name,
                    "is empty",
                    Some("copy it from the app's WhatsApp settings"),
                );
            }
        }
        let reply = s.reply(p);
        let conversation_window = crate::sources::conversation_window(
            p,
            s.conversation_window.as_deref(),
            crate::sources::DEFAULT_CONVERSATION_WINDOW,
        );
        if let Some(n) = &s.phone_number_id
            && !phone_number_id_ok(n)
        {
            p.add(
                "phone_number_id",
                format!("{n:?} is not a phone number id"),
                Some("the digits shown as \"Phone number ID\" in WhatsApp → API Setup"),
            );
        }
        WhatsappSource {
            reply,
            phone_number_id: s.phone_number_id,
            id: s.id,
            verify_token: s.verify_token,
            app_secret: s.app_secret,
            conversation_window,
        }
    }

    /// How the source answers the person: with an access token and the number's id.
    fn reply(&self, p: &mut Scope<'_>) -> Option<WhatsappReply> {
        let s = self;
        let token = s.access_token.clone()?;
        if token.expose().is_empty() {
            p.add("access_token", "is empty", None);
            return None;
        }
        if s.phone_number_id.is_none() {
            p.add(
                "phone_number_id",
                "is needed to answer with access_token",
                Some("the digits shown as \"Phone number ID\" in WhatsApp → API Setup"),
            );
        }
        let api_url = s
            .api_url
            .clone()
            .unwrap_or_else(|| DEFAULT_GRAPH_URL.to_string());
        if !reqwest::Url::parse(&api_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            p.add(
                "api_url",
                format!("{api_url:?} is not an http(s) URL"),
                Some("\"https://graph.facebook.com/v21.0\""),
            );
        }
        let text = s
            .reply_text
            .clone()
            .unwrap_or_else(|| DEFAULT_REPLY_TEXT.to_string());
        (!text.trim().is_empty()).then_some(WhatsappReply {
            access_token: token,
            text,
            api_url,
        })
    }
}

/// The numbers the sources checked so far take: the app posts every number's webhooks to one
/// URL, so two sources cannot take one number.
#[derive(Debug, Default)]
pub struct Numbers(HashSet<String>);

impl Numbers {
    /// Checks the source's table ([`RawWhatsappSource::validate`]), and that no source before
    /// it takes its number.
    pub fn validate(&mut self, raw: RawWhatsappSource, p: &mut Scope<'_>) -> WhatsappSource {
        let source = raw.validate(p);
        if let Some(n) = &source.phone_number_id
            && phone_number_id_ok(n)
            && !self.0.insert(n.clone())
        {
            p.add(
                "phone_number_id",
                format!("{n:?} is given to two sources"),
                Some("each number feeds one source"),
            );
        }
        source
    }
}

/// Whether `id` looks like a number's "Phone number ID": digits only.
pub fn phone_number_id_ok(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())
}

impl RawSource for RawWhatsappSource {
    const KEY: &'static str = "whatsapp";
    type Source = WhatsappSource;
    type Seen = Numbers;

    fn id(&self) -> &str {
        &self.id
    }

    fn validate(
        self,
        p: &mut Scope<'_>,
        _: &TableContext<'_>,
        numbers: &mut Numbers,
    ) -> Option<WhatsappSource> {
        Some(numbers.validate(self, p))
    }
}

impl Source for WhatsappSource {
    const CHANNEL: Channel = Channel::Whatsapp;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> std::time::Duration {
        self.conversation_window
    }

    fn reply_text(&self) -> Option<&str> {
        Some(&self.reply.as_ref()?.text)
    }
}
