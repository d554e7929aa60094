//! Answering the person who wrote, on the messenger they wrote from (WhatsApp and VK; Telegram
//! answers through its own queue, `sources/telegram/answer.rs`). The answer goes through the
//! notification outbox, queued with the lead, so a failed send is retried like a card and
//! never blocks or loses the lead.

use super::message::{Message, PersonMessage};
use crate::lead::{Channel, Lead};
use crate::sources::vk::{VkApi, VkSendError, VkSource};
use crate::sources::whatsapp::{OUTSIDE_WINDOW, SendError, WhatsappApi, WhatsappSource};
use crate::store::NewNotification;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The `recipient` of answers to people: never a manager, so no "manager unreachable" alert.
pub const PERSON: &str = "person";

/// Which sources answer, with what (queued with a new lead).
#[derive(Debug, Clone, Default)]
pub struct Replies {
    texts: HashMap<String, String>,
}

impl Replies {
    /// The answers of every configured source that has one.
    pub fn of(whatsapp: &[WhatsappSource], vk: &[VkSource]) -> Replies {
        Replies {
            texts: (whatsapp.iter())
                .filter_map(|s| Some((s.id.clone(), s.reply.as_ref()?.text.clone())))
                .chain(
                    (vk.iter())
                        .filter_map(|s| Some((s.id.clone(), s.reply.as_ref()?.text.clone()))),
                )
                .collect(),
        }
    }

    /// The answer to queue for a new lead, when its source answers and the person can be
    /// written to there. Queued once per lead (`reply:<lead>`).
    pub fn for_lead(&self, lead: &Lead, now: DateTime<Utc>) -> Option<NewNotification> {
        let text = self.texts.get(&lead.source)?;
        let address = match lead.channel {
            Channel::Whatsapp => lead.contact.whatsapp.clone()?,
            // A private message, not a wall comment (which has the post as its page).
            Channel::Vk if lead.page_url.is_none() => lead.contact.vk_id?.to_string(),
            _ => return None,
        };
        let message = Message::Person(PersonMessage {
            source: lead.source.clone(),
            text: text.clone(),
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
    whatsapp: HashMap<String, WhatsappApi>,
    vk: HashMap<String, VkApi>,
}

/// Why an answer was not sent, and whether to try again.
#[derive(Debug)]
pub struct NotSent {
    /// What went wrong.
    pub error: String,
    /// Whether a later attempt can succeed.
    pub transient: bool,
}

impl People {
    /// A client for every source that answers; `None` when none does.
    pub fn of(
        whatsapp_sources: &[WhatsappSource],
        vk_sources: &[VkSource],
    ) -> Result<Option<People>, String> {
        let mut whatsapp = HashMap::new();
        for s in whatsapp_sources {
            if let (Some(reply), Some(number)) = (&s.reply, &s.phone_number_id) {
                let api = WhatsappApi::new(&reply.api_url, number, reply.access_token.clone())
                    .map_err(|e: SendError| e.to_string())?;
                whatsapp.insert(s.id.clone(), api);
            }
        }
        let mut vk = HashMap::new();
        for s in vk_sources {
            if let Some(reply) = &s.reply {
                let api = VkApi::new(&reply.api_url, reply.access_token.clone())
                    .map_err(|e: VkSendError| e.to_string())?;
                vk.insert(s.id.clone(), api);
            }
        }
        Ok((!whatsapp.is_empty() || !vk.is_empty()).then_some(People { whatsapp, vk }))
    }

    /// Sends `m` to `address` (a WhatsApp `wa_id`, a VK user id); the provider's id of the
    /// message. `row` (the notification's id) keeps a VK resend the same message.
    pub async fn send(
        &self,
        channel: &str,
        address: &str,
        m: &PersonMessage,
        row: i64,
    ) -> Result<String, NotSent> {
        let gone = || NotSent {
            error: format!(
                "the {channel} source {:?} no longer answers people",
                m.source
            ),
            transient: false,
        };
        if channel == "vk" {
            let api = self.vk.get(&m.source).ok_or_else(gone)?;
            let peer = address.parse::<i64>().map_err(|_| NotSent {
                error: format!("{address:?} is not a VK user id"),
                transient: false,
            })?;
            return match api.send_message(peer, row, &m.text).await {
                Ok(id) => Ok(id.to_string()),
                Err(e) => Err(NotSent {
                    error: e.to_string(),
                    transient: e.is_transient(),
                }),
            };
        }
        let api = (channel == "whatsapp")
            .then(|| self.whatsapp.get(&m.source))
            .flatten()
            .ok_or_else(gone)?;
        api.send_text(address, &m.text).await.map_err(|e| NotSent {
            error: match &e {
                SendError::Refused {
                    code: Some(OUTSIDE_WINDOW),
                    ..
                } => format!("outside WhatsApp's 24-hour customer-service window: {e}"),
                _ => e.to_string(),
            },
            transient: e.is_transient(),
        })
    }
}
