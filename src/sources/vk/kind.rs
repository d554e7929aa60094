//! The VK channel's kind: a stored callback read with its community's id.

use super::{
    RawVkSource, VkApi, VkClients, VkFiles, VkSendError, VkSource, community_of, parse_event,
    webhooks,
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

/// VK communities, in the registry.
pub struct Kind;

/// Its tables under `[sources]`.
const TABLES: &[&dyn SourceTable] = &[&Table::<RawVkSource>::new()];

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Vk
    }

    fn tables(&self) -> &'static [&'static dyn SourceTable] {
        TABLES
    }

    /// A callback address per community, reading the writers' names with its client.
    fn start(
        &self,
        sources: &Sources,
        _shared: &Shared,
        replies: &ReplyClients,
        hooks: &mut Webhooks,
    ) -> Result<(), StartError> {
        hooks.add(webhooks(
            sources.of::<VkSource>(),
            replies.get::<VkClients>(),
        ));
        Ok(())
    }

    /// VK's file addresses, on `[attachments] vk_hosts` only.
    fn file_access(
        &self,
        _sources: &Sources,
        setup: &FileSetup<'_>,
        access: &mut FileAccess,
    ) -> Result<(), FetcherError> {
        access.insert(VkFiles::of(setup.vk_hosts, setup.hosted.clone()));
        Ok(())
    }

    /// A client per community with an access token.
    fn reply_clients(&self, sources: &Sources, clients: &mut ReplyClients) -> Result<(), String> {
        let mut communities = VkClients::default();
        for s in sources.of::<VkSource>() {
            if let Some(reply) = &s.reply {
                let api = VkApi::new(&reply.api_url, reply.access_token.clone())
                    .map_err(|e: VkSendError| e.to_string())?;
                communities.0.insert(s.id.clone(), api);
            }
        }
        if !communities.0.is_empty() {
            clients.insert(communities);
        }
        Ok(())
    }

    fn file_signs(&self) -> FileSigns {
        FileSigns {
            in_payload: &["\"attachments\""],
            ..FileSigns::NONE
        }
    }

    /// By the source's community, or where this config does not name the source (renamed
    /// while its items waited, a replica not yet on the config that added it, `leadgate
    /// route` without `--source`) by the community the callback names, which intake checked
    /// against the source's.
    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        let community = (settings.sources.find::<VkSource>(&row.source))
            .map(|community| community.group_id)
            .or_else(|| community_of(&row.payload));
        match community {
            Some(group_id) => parse_event(&row.payload, group_id),
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
        access.get::<VkFiles>()?.bytes(url, max).await
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
        reply: &Reply<'_>,
    ) -> Result<String, NotSent> {
        let api = (clients
            .get::<VkClients>()
            .and_then(|c| c.0.get(reply.source)))
        .ok_or_else(|| no_longer_answers(self.channel().as_str(), reply.source))?;
        let peer = reply.address.parse::<i64>().map_err(|_| NotSent {
            error: format!("{:?} is not a VK user id", reply.address),
            transient: false,
        })?;
        match api.send_message(peer, reply.row, reply.text).await {
            Ok(id) => Ok(id.to_string()),
            Err(e) => Err(NotSent {
                error: e.to_string(),
                transient: e.is_transient(),
            }),
        }
    }
}
