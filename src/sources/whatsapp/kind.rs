//! The WhatsApp channel's kind.

use super::{
    OUTSIDE_WINDOW, RawWhatsappSource, SendError, WhatsappApi, WhatsappClients, WhatsappMedia,
    WhatsappSource, parse_item, webhooks,
};
use crate::lead::{Channel, Lead, Parsed};
use crate::shared::{Shared, StartError};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FetcherError, FileAccess, FileSetup, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::sources::replies::{NotSent, Reply, ReplyClients, no_longer_answers};
use crate::sources::table::{SourceTable, Sources, Table};
use crate::sources::webhook::Webhooks;
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// WhatsApp Business numbers, in the registry.
pub struct Kind;

/// Its tables under `[sources]`.
const TABLES: &[&dyn SourceTable] = &[&Table::<RawWhatsappSource>::new()];

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Whatsapp
    }

    fn tables(&self) -> &'static [&'static dyn SourceTable] {
        TABLES
    }

    /// A webhook per number (the app posts all its numbers' events to each).
    fn start(
        &self,
        sources: &Sources,
        _shared: &Shared,
        _replies: &ReplyClients,
        hooks: &mut Webhooks,
    ) -> Result<(), StartError> {
        hooks.add(webhooks(sources.of::<WhatsappSource>()));
        Ok(())
    }

    /// The media endpoint, with each number's access token.
    fn file_access(
        &self,
        sources: &Sources,
        _setup: &FileSetup<'_>,
        access: &mut FileAccess,
    ) -> Result<(), FetcherError> {
        access.insert(WhatsappMedia::of(sources.of::<WhatsappSource>())?);
        Ok(())
    }

    /// A client per number with an access token and its number's id.
    fn reply_clients(&self, sources: &Sources, clients: &mut ReplyClients) -> Result<(), String> {
        let mut numbers = WhatsappClients::default();
        for s in sources.of::<WhatsappSource>() {
            if let (Some(reply), Some(number)) = (&s.reply, &s.phone_number_id) {
                let api = WhatsappApi::new(&reply.api_url, number, reply.access_token.clone())
                    .map_err(|e: SendError| e.to_string())?;
                numbers.0.insert(s.id.clone(), api);
            }
        }
        if !numbers.0.is_empty() {
            clients.insert(numbers);
        }
        Ok(())
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
        access
            .get::<WhatsappMedia>()?
            .bytes(&row.source, id, max)
            .await
    }

    fn reply_address(&self, lead: &Lead) -> Option<String> {
        lead.contact.whatsapp.clone()
    }

    /// `POST /{phone_number_id}/messages`.
    async fn send_reply(
        &self,
        clients: &ReplyClients,
        reply: &Reply<'_>,
    ) -> Result<String, NotSent> {
        let api = (clients
            .get::<WhatsappClients>()
            .and_then(|c| c.0.get(reply.source)))
        .ok_or_else(|| no_longer_answers(self.channel().as_str(), reply.source))?;
        (api.send_text(reply.address, reply.text).await).map_err(|e| NotSent {
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
