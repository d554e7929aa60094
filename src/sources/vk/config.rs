//! `[[sources.vk]]`: a VK community's Callback API server.

use super::DEFAULT_VK_API_URL;
use crate::lead::Channel;
use crate::settings::{Scope, Secret, check_source_secret};
use crate::sources::table::{RawSource, Source, TableContext};
use crate::sources::telegram::DEFAULT_REPLY_TEXT;
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

impl RawVkSource {
    /// Checks the community's table and applies the defaults.
    pub fn validate(self, p: &mut Scope<'_>) -> VkSource {
        let s = self;
        if s.group_id <= 0 {
            p.add(
                "group_id",
                "must be the community's positive id",
                Some("the number in the community's address, e.g. 218765432"),
            );
        }
        if s.confirmation.trim().is_empty() {
            p.add(
                "confirmation",
                "is empty",
                Some("copy the string VK shows in the Callback API settings"),
            );
        }
        let allow_unsigned = s.allow_unsigned.unwrap_or(false);
        check_source_secret(p, s.secret.as_ref(), Some("VK"), allow_unsigned);
        let reply = s.reply(p);
        let conversation_window = crate::sources::conversation_window(
            p,
            s.conversation_window.as_deref(),
            crate::sources::DEFAULT_CONVERSATION_WINDOW,
        );
        VkSource {
            reply,
            id: s.id,
            group_id: s.group_id,
            confirmation: s.confirmation,
            secret: s.secret,
            allow_unsigned,
            conversation_window,
        }
    }

    /// How the community answers the person: with its access token.
    fn reply(&self, p: &mut Scope<'_>) -> Option<VkReply> {
        let s = self;
        let token = s.access_token.clone()?;
        if token.expose().is_empty() {
            p.add("access_token", "is empty", None);
            return None;
        }
        let api_url = (s.api_url.clone()).unwrap_or_else(|| DEFAULT_VK_API_URL.into());
        if !reqwest::Url::parse(&api_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            p.add(
                "api_url",
                format!("{api_url:?} is not an http(s) URL"),
                Some("\"https://api.vk.com/method\""),
            );
        }
        let text = (s.reply_text.clone()).unwrap_or_else(|| DEFAULT_REPLY_TEXT.to_string());
        (!text.trim().is_empty()).then_some(VkReply {
            access_token: token,
            text,
            api_url,
        })
    }
}

impl RawSource for RawVkSource {
    const KEY: &'static str = "vk";
    type Source = VkSource;
    type Seen = ();

    fn id(&self) -> &str {
        &self.id
    }

    fn validate(self, p: &mut Scope<'_>, _: &TableContext<'_>, _: &mut ()) -> Option<VkSource> {
        Some(RawVkSource::validate(self, p))
    }
}

impl Source for VkSource {
    const CHANNEL: Channel = Channel::Vk;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> std::time::Duration {
        self.conversation_window
    }

    fn warn_if_unsigned(&self) {
        if self.allow_unsigned {
            tracing::warn!(source = %self.id, "allow_unsigned = true: VK callbacks are accepted without the secret key; anyone who knows the address can post events.");
        }
    }

    fn reply_text(&self) -> Option<&str> {
        Some(&self.reply.as_ref()?.text)
    }
}
