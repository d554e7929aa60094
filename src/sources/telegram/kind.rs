//! The Telegram channel's kind: a stored update read with its bot's options.

use super::reply::{TelegramReplies, private_chat};
use super::{RawTelegram, TelegramFiles, TelegramOptions, TelegramSource, parse_update, start};
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

/// Telegram bots, in the registry.
pub struct Kind;

/// Its tables under `[sources]`.
const TABLES: &[&dyn SourceTable] = &[&Table::<RawTelegram>::new()];

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn tables(&self) -> &'static [&'static dyn SourceTable] {
        TABLES
    }

    /// Each bot: polling under its lease, or its webhook.
    fn start(
        &self,
        sources: &Sources,
        shared: &Shared,
        _replies: &ReplyClients,
        hooks: &mut Webhooks,
    ) -> Result<(), StartError> {
        hooks.add(start(sources.of::<TelegramSource>(), shared)?);
        Ok(())
    }

    /// Each bot that answers the person who wrote.
    fn reply_clients(&self, sources: &Sources, clients: &mut ReplyClients) -> Result<(), String> {
        if let Some(bots) = TelegramReplies::of(sources.of::<TelegramSource>())? {
            clients.insert(bots);
        }
        Ok(())
    }

    /// A private chat; a group lead gets no answer.
    fn reply_address(&self, lead: &Lead) -> Option<String> {
        private_chat(lead)
    }

    /// `sendMessage`, with the share-contact button when asked for and the lead has no phone.
    async fn send_reply(
        &self,
        clients: &ReplyClients,
        reply: &Reply<'_>,
    ) -> Result<String, NotSent> {
        let bots = (clients.get::<TelegramReplies>())
            .ok_or_else(|| no_longer_answers(self.channel().as_str(), reply.source))?;
        bots.send(reply).await
    }

    /// `getFile` with each source's bot.
    fn file_access(
        &self,
        sources: &Sources,
        _setup: &FileSetup<'_>,
        access: &mut FileAccess,
    ) -> Result<(), FetcherError> {
        access.insert(TelegramFiles::of(sources.of::<TelegramSource>())?);
        Ok(())
    }

    fn file_signs(&self) -> FileSigns {
        FileSigns {
            in_payload: &["file_id"],
            ..FileSigns::NONE
        }
    }

    /// A source no longer configured is read with the defaults.
    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        let bot = settings.sources.find::<TelegramSource>(&row.source);
        let options = bot.map(|b| b.options.clone()).unwrap_or_default();
        parse_update(&row.payload, &options)
    }

    /// Group messages count.
    async fn parse_as_lead(&self, row: &InboundRow, _settings: &SourceSettings) -> Parsed {
        parse_update(
            &row.payload,
            &TelegramOptions {
                group_messages: true,
            },
        )
    }

    /// By `getFile` with the source's bot.
    async fn file(
        &self,
        access: &FileAccess,
        row: &InboundRow,
        _n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let id = (entry.get("telegram_file_id").and_then(Value::as_str))
            .ok_or_else(|| no_access("no file id"))?;
        access
            .get::<TelegramFiles>()?
            .bytes(&row.source, id, max)
            .await
    }
}
