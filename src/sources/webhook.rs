//! The protocol of a source its provider posts to, `/hooks/{channel}/{source_id}` (a VK
//! community, a WhatsApp number, a Telegram bot in webhook mode): each channel's folder says
//! how a request is checked and read ([`Webhook`]); the HTTP layer reads the body within its
//! limits, stores what the channel hands back, and answers only after the commit.

use super::item::Item;
use crate::lead::Channel;
use async_trait::async_trait;
use axum::http::HeaderMap;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a webhook request is refused, as the provider is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status (400 malformed, 401 a missing or wrong signature, 403 forbidden).
    pub status: u16,
    /// A short code, in the answer and the error counter.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
}

impl Refusal {
    /// A body the channel cannot read (`400 malformed`).
    pub fn malformed(message: impl Into<String>) -> Refusal {
        Refusal {
            status: 400,
            code: "malformed",
            message: message.into(),
        }
    }

    /// A request whose signature or secret is missing or wrong (`401 code`).
    pub fn unsigned(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status: 401,
            code,
            message: message.into(),
        }
    }

    /// A request the source does not take from this sender (`403 forbidden`).
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal {
            status: 403,
            code: "forbidden",
            message: message.into(),
        }
    }
}

/// What one posted body comes to: the items to store first, then the answer.
#[derive(Debug, Clone, Default)]
pub struct Posted {
    /// The items, each with the id of the source it belongs to (one WhatsApp app posts every
    /// number's messages to one address).
    pub items: Vec<(String, Item)>,
    /// Kept with every item (`{"via": "webhook"}`); `{}` when nothing is.
    pub meta: serde_json::Value,
    /// The answer's body once the items are stored (VK's `ok`, its confirmation string);
    /// empty for a plain `200`.
    pub answer: String,
}

impl Posted {
    /// An answer that stores nothing (a handshake, an event leadgate does not take).
    pub fn answer(text: impl Into<String>) -> Posted {
        Posted {
            answer: text.into(),
            meta: serde_json::json!({}),
            ..Posted::default()
        }
    }
}

/// A source its provider posts to.
#[async_trait]
pub trait Webhook: Send + Sync {
    /// The channel whose items it hands over.
    fn channel(&self) -> Channel;

    /// Checks the headers before the body is read, so an unsigned request costs no memory;
    /// by default anything may post.
    fn admit(&self, _headers: &HeaderMap) -> Result<(), Refusal> {
        Ok(())
    }

    /// The answer to a `GET` with `query` (a verification handshake); `None` where the
    /// channel has none.
    fn handshake(&self, _query: Option<&str>) -> Option<Result<String, Refusal>> {
        None
    }

    /// Checks and reads one posted body.
    async fn read(&self, headers: &HeaderMap, body: &[u8]) -> Result<Posted, Refusal>;
}

/// Every configured webhook, by channel name and source id.
#[derive(Clone, Default)]
pub struct Webhooks(HashMap<(String, String), Arc<dyn Webhook>>);

impl Webhooks {
    /// Adds the webhooks of one channel, by source id.
    pub fn add<W: Webhook + 'static>(&mut self, hooks: impl IntoIterator<Item = (String, W)>) {
        for (id, hook) in hooks {
            let key = (hook.channel().as_str().to_string(), id);
            self.0.insert(key, Arc::new(hook));
        }
    }

    /// The webhook at `/hooks/{channel}/{id}`.
    pub fn get(&self, channel: &str, id: &str) -> Option<&Arc<dyn Webhook>> {
        self.0.get(&(channel.to_string(), id.to_string()))
    }

    /// The ids of the sources posted to.
    pub fn sources(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(|(_, id)| id.as_str())
    }
}
