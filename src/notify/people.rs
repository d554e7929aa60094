//! Answering the person who wrote, on the messenger they wrote from (the sources with an
//! answer: `sources/replies.rs`). The answer goes through the
//! notification outbox, queued with the lead, so a failed send is retried like a card and
//! never blocks or loses the lead. Where a person is answered and how is their channel's kind's
//! (`sources/registry.rs`).

use super::message::{Message, PersonMessage};
use crate::lead::{Channel, Lead};
use crate::sources::registry::kind;
use crate::sources::replies::{Reply, ReplyClients, no_longer_answers};
use crate::store::NewNotification;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

pub use crate::sources::replies::NotSent;

/// The `recipient` of answers to people: never a manager, so no "manager unreachable" alert.
pub const PERSON: &str = "person";

/// Which sources answer, with what (queued with a new lead).
#[derive(Debug, Clone, Default)]
pub struct Replies {
    texts: HashMap<String, String>,
}

impl Replies {
    /// The answers of every configured source that has one (`texts`, by source id).
    pub fn new(texts: HashMap<String, String>) -> Replies {
        Replies { texts }
    }

    /// The answer to queue for a new lead, when its source answers and the person can be
    /// written to there. Queued once per lead (`reply:<lead>`).
    pub fn for_lead(&self, lead: &Lead, now: DateTime<Utc>) -> Option<NewNotification> {
        let text = self.texts.get(&lead.source)?;
        let address = kind(lead.channel).reply_address(lead)?;
        let message = Message::Person(PersonMessage {
            source: lead.source.clone(),
            text: text.clone(),
            without_phone: lead.contact.phones.is_empty(),
        });
        Some(NewNotification {
            dedupe_key: format!("reply:{}", lead.id),
            lead_id: Some(lead.id.clone()),
            recipient: PERSON.into(),
            channel: lead.channel.as_str().into(),
            address,
            kind: "reply".into(),
            message: serde_json::to_string(&message).ok()?,
            created_at: now,
        })
    }
}

/// The clients the answers are sent through, by source id.
#[derive(Debug, Clone, Default)]
pub struct People {
    clients: ReplyClients,
}

impl People {
    /// Answers people through `clients`.
    pub fn new(clients: ReplyClients) -> People {
        People { clients }
    }

    /// Sends `m` to `address` (a WhatsApp `wa_id`, a VK user id, a Telegram chat) through the
    /// kind of `channel`; the provider's id of the message. `row` (the notification's id)
    /// keeps a VK resend the same message.
    pub async fn send(
        &self,
        channel: &str,
        address: &str,
        m: &PersonMessage,
        row: i64,
    ) -> Result<String, NotSent> {
        match Channel::parse(channel) {
            Some(c) => {
                let reply = Reply {
                    source: &m.source,
                    address,
                    text: &m.text,
                    without_phone: m.without_phone,
                    row,
                };
                kind(c).send_reply(&self.clients, &reply).await
            }
            None => Err(no_longer_answers(channel, &m.source)),
        }
    }
}
