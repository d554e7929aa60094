//! Answering the person who wrote, on the messenger they wrote from (WhatsApp and VK; Telegram
//! answers through its own queue, `telegram/answer.rs`): the answering sources' texts and
//! clients ([`ReplyClients`]) and why a send failed ([`NotSent`]). What the address is and how
//! a message is sent is each channel's kind's (`ChannelKind::reply_address`, `send_reply`); the
//! answers go through the notification outbox (`notify/people.rs`).

use super::vk::{VkApi, VkSendError, VkSource};
use super::whatsapp::{SendError, WhatsappApi, WhatsappSource};
use std::collections::HashMap;

/// The answer of every configured source that has one, by source id.
pub fn reply_texts(whatsapp: &[WhatsappSource], vk: &[VkSource]) -> HashMap<String, String> {
    (whatsapp.iter())
        .filter_map(|s| Some((s.id.clone(), s.reply.as_ref()?.text.clone())))
        .chain((vk.iter()).filter_map(|s| Some((s.id.clone(), s.reply.as_ref()?.text.clone()))))
        .collect()
}

/// The clients the answers are sent through, by source id.
#[derive(Debug, Clone, Default)]
pub struct ReplyClients {
    /// WhatsApp numbers with an access token and their number's id.
    pub whatsapp: HashMap<String, WhatsappApi>,
    /// VK communities with an access token.
    pub vk: HashMap<String, VkApi>,
}

impl ReplyClients {
    /// A client for every source that answers; `None` when none does.
    pub fn of(
        whatsapp_sources: &[WhatsappSource],
        vk_sources: &[VkSource],
    ) -> Result<Option<ReplyClients>, String> {
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
        Ok((!whatsapp.is_empty() || !vk.is_empty()).then_some(ReplyClients { whatsapp, vk }))
    }
}

/// Why an answer was not sent, and whether to try again.
#[derive(Debug)]
pub struct NotSent {
    /// What went wrong.
    pub error: String,
    /// Whether a later attempt can succeed.
    pub transient: bool,
}

/// The source `source` of `channel` has no client to answer with (any more): final.
pub fn no_longer_answers(channel: &str, source: &str) -> NotSent {
    NotSent {
        error: format!("the {channel} source {source:?} no longer answers people"),
        transient: false,
    }
}
