//! Every channel leadgate reads, one line each ([`CHANNELS`]), and what a channel does for the
//! rest of the daemon ([`ChannelKind`]): whatever is about one channel is asked of its kind,
//! in its own folder, so nothing outside `sources/<channel>/` matches on the channel to do it.
//!
//! A new channel is its folder (with a `kind.rs` implementing [`ChannelKind`]), its variant of
//! [`Channel`], and its line here: its kind names its config tables, builds its clients and
//! starts its sources.

use super::SourceSettings;
use super::fetch::{FetcherError, FileAccess, FileSetup, Unavailable};
use super::replies::{NotSent, Reply, ReplyClients, no_longer_answers};
use super::table::{SourceTable, Sources};
use super::webhook::Webhooks;
use super::{blog, email, telegram, vk, webform, whatsapp};
use crate::lead::{Channel, Lead, Parsed};
use crate::shared::{Shared, StartError};
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// What one channel does for the stages: read its stored items (and samples of them), get
/// the files they list, answer the person who wrote.
#[async_trait]
pub trait ChannelKind: Sync {
    /// The channel, as the lead record and the store name it.
    fn channel(&self) -> Channel;

    /// Its tables under `[sources]` (`webform`; a blog's `wordpress` and `feed`).
    fn tables(&self) -> &'static [&'static dyn SourceTable];

    /// Starts its configured `sources` on `shared`: pollers (each under its lease) and, for
    /// the sources their providers post to, their webhooks into `webhooks`; `replies` are the
    /// clients people are answered through. By default nothing runs: the source waits to be
    /// posted to.
    fn start(
        &self,
        _sources: &Sources,
        _shared: &Shared,
        _replies: &ReplyClients,
        _webhooks: &mut Webhooks,
    ) -> Result<(), StartError> {
        Ok(())
    }

    /// Puts into `access` the clients its sources' files are fetched with; by default none
    /// (the files are in the stored item, or there are none).
    fn file_access(
        &self,
        _sources: &Sources,
        _setup: &FileSetup<'_>,
        _access: &mut FileAccess,
    ) -> Result<(), FetcherError> {
        Ok(())
    }

    /// Puts into `clients` the clients its sources answer people through; by default none.
    fn reply_clients(&self, _sources: &Sources, _clients: &mut ReplyClients) -> Result<(), String> {
        Ok(())
    }

    /// Parses one stored item with the channel's own parser: a lead draft, or the reason it is
    /// not a lead.
    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed;

    /// Reads a stored item the admin says is a lead, with the filters that judged it turned off
    /// (honeypot, staff, group message, spam, auto-reply...); by default as [`Self::parse`].
    async fn parse_as_lead(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        self.parse(row, settings).await
    }

    /// Parses a raw sample as the source `source` would read it (`leadgate route`, the
    /// console's tester); by default one stored item of [`Self::sample_content_type`].
    async fn parse_sample(
        &self,
        settings: &SourceSettings,
        source: Option<&str>,
        payload: &[u8],
    ) -> Vec<Parsed> {
        let row = InboundRow {
            id: "sample".into(),
            source: source.unwrap_or("sample").to_string(),
            channel: self.channel(),
            dedupe_key: "sample".into(),
            received_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            content_type: Some(self.sample_content_type(payload).into()),
            payload: payload.to_vec(),
            meta: serde_json::Value::Null,
        };
        vec![self.parse(&row, settings).await]
    }

    /// The content type a sample is stored with; by default JSON (or a message).
    fn sample_content_type(&self, _payload: &[u8]) -> &'static str {
        "application/json"
    }

    /// How the store tells that one of the channel's items may list files
    /// (`fields.attachments`) without reading its bytes; by default none does.
    fn file_signs(&self) -> FileSigns {
        FileSigns::NONE
    }

    /// The bytes of the `n`th file `row` lists (`entry`, one of its `fields.attachments`),
    /// reached with `access`: at most `max` of them where the channel reads a body (the
    /// caller checks the length of what comes back).
    async fn file(
        &self,
        access: &FileAccess,
        row: &InboundRow,
        n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable>;

    /// Where the person who wrote `lead` is answered on this channel (a WhatsApp `wa_id`, a VK
    /// user id), when they can be; by default nowhere.
    fn reply_address(&self, _lead: &Lead) -> Option<String> {
        None
    }

    /// Sends `reply` with its source's client in `clients`; the provider's id of the
    /// message. By default the channel answers nobody.
    async fn send_reply(
        &self,
        _clients: &ReplyClients,
        reply: &Reply<'_>,
    ) -> Result<String, NotSent> {
        Err(no_longer_answers(self.channel().as_str(), reply.source))
    }
}

/// Every channel, one line each.
pub static CHANNELS: &[&dyn ChannelKind] = &[
    &webform::Kind,
    &email::Kind,
    &telegram::Kind,
    &vk::Kind,
    &whatsapp::Kind,
    &blog::Kind,
];

/// Every channel's signs of an item that may list files, for the store's
/// [`crate::store::FileStore::items_for_files`].
pub fn file_signs() -> Vec<(Channel, FileSigns)> {
    CHANNELS
        .iter()
        .map(|k| (k.channel(), k.file_signs()))
        .collect()
}

/// The kind of `channel`: its line in [`CHANNELS`] (a test checks every channel has one).
pub fn kind(channel: Channel) -> &'static dyn ChannelKind {
    CHANNELS
        .iter()
        .copied()
        .find(|k| k.channel() == channel)
        .expect("every channel has its line in CHANNELS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_exactly_one_line() {
        for channel in Channel::ALL {
            let lines = CHANNELS.iter().filter(|k| k.channel() == channel).count();
            assert_eq!(lines, 1, "{channel:?}");
            assert_eq!(kind(channel).channel(), channel);
        }
        assert_eq!(CHANNELS.len(), Channel::ALL.len());
    }

    #[test]
    fn each_table_is_named_once_and_holds_its_own_channels_sources() {
        let mut keys = std::collections::HashSet::new();
        for kind in CHANNELS {
            assert!(
                !kind.tables().is_empty(),
                "{:?} has no table",
                kind.channel()
            );
            for table in kind.tables() {
                assert!(keys.insert(table.key()), "{} is named twice", table.key());
                assert_eq!(table.channel(), kind.channel(), "{}", table.key());
            }
        }
    }
}
