//! The WhatsApp channel's kind.

use super::parse_item;
use super::{OUTSIDE_WINDOW, SendError};
use crate::lead::{Channel, Lead, Parsed};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FileAccess, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::sources::replies::{NotSent, ReplyClients, no_longer_answers};
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// WhatsApp Business numbers, in the registry.
pub struct Kind;

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn file_signs(&self) -> FileSigns {
        // Media come as ids in any kind of message.
        FileSigns {
            always: true,
            ..FileSigns::NONE
        }
    }

    async fn parse(&self, row: &InboundRow, _settings: &SourceSettings) -> Parsed {
        parse_item(&row.payload)
    }

    /// From the media endpoint, with the number's access token.
    async fn file(
        &self,
        access: &FileAccess,
        row: &InboundRow,
        _n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let id = (entry.get("whatsapp_media_id").and_then(Value::as_str))
            .ok_or_else(|| no_access("no media id"))?;
        access.whatsapp.bytes(&row.source, id, max).await
    }

    fn reply_address(&self, lead: &Lead) -> Option<String> {
        lead.contact.whatsapp.clone()
    }

    /// `POST /{phone_number_id}/messages`.
    async fn send_reply(
        &self,
        clients: &ReplyClients,
        source: &str,
        address: &str,
        text: &str,
        _row: i64,
    ) -> Result<String, NotSent> {
        let api = (clients.whatsapp.get(source))
            .ok_or_else(|| no_longer_answers(self.channel().as_str(), source))?;
        api.send_text(address, text).await.map_err(|e| NotSent {
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
