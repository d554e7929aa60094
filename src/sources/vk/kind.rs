//! The VK channel's kind: a stored callback read with its community's id.

use super::parse_event;
use crate::lead::{Channel, Lead, Parsed};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FileAccess, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::sources::replies::{NotSent, ReplyClients, no_longer_answers};
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// VK communities, in the registry.
pub struct Kind;

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Vk
    }

    fn file_signs(&self) -> FileSigns {
        FileSigns {
            in_payload: &["\"attachments\""],
            ..FileSigns::NONE
        }
    }

    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        match settings.vk_groups.get(&row.source) {
            Some(group) => parse_event(&row.payload, *group),
            None => crate::sources::unknown_source(row),
        }
    }

    /// No community id: nothing is read as the community's own reply.
    async fn parse_as_lead(&self, row: &InboundRow, _settings: &SourceSettings) -> Parsed {
        parse_event(&row.payload, 0)
    }

    /// From its address, on the allowed hosts only.
    async fn file(
        &self,
        access: &FileAccess,
        _row: &InboundRow,
        _n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let url = (entry.get("vk_url").and_then(Value::as_str))
            .ok_or_else(|| no_access("no file address"))?;
        access.vk.bytes(url, max).await
    }

    /// A private message, not a wall comment (which has the post as its page).
    fn reply_address(&self, lead: &Lead) -> Option<String> {
        match lead.page_url {
            None => Some(lead.contact.vk_id?.to_string()),
            Some(_) => None,
        }
    }

    /// `messages.send`, with the notification's id as `random_id`: a resend is one message.
    async fn send_reply(
        &self,
        clients: &ReplyClients,
        source: &str,
        address: &str,
        text: &str,
        row: i64,
    ) -> Result<String, NotSent> {
        let api = (clients.vk.get(source))
            .ok_or_else(|| no_longer_answers(self.channel().as_str(), source))?;
        let peer = address.parse::<i64>().map_err(|_| NotSent {
            error: format!("{address:?} is not a VK user id"),
            transient: false,
        })?;
        match api.send_message(peer, row, text).await {
            Ok(id) => Ok(id.to_string()),
            Err(e) => Err(NotSent {
                error: e.to_string(),
                transient: e.is_transient(),
            }),
        }
    }
}
