//! The e-mail channel's kind: a stored message read back with the mail rules.

use super::{
    EmailSource, META_TOO_LARGE, META_UNREADABLE, RawEmailSource, attachment_bytes,
    parse_email_as_lead, parse_stored_email,
};
use crate::lead::{Channel, Parsed};
use crate::shared::{Shared, StartError};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FileAccess, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::sources::replies::ReplyClients;
use crate::sources::table::{SourceTable, Sources, Table};
use crate::sources::webhook::Webhooks;
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// Mailboxes read over IMAP, in the registry.
pub struct Kind;

/// Its tables under `[sources]`.
const TABLES: &[&dyn SourceTable] = &[&Table::<RawEmailSource>::new()];

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn tables(&self) -> &'static [&'static dyn SourceTable] {
        TABLES
    }

    /// Each mailbox's reader, under its lease.
    fn start(
        &self,
        sources: &Sources,
        shared: &Shared,
        _replies: &ReplyClients,
        _hooks: &mut Webhooks,
    ) -> Result<(), StartError> {
        super::imap::start(sources.of::<EmailSource>(), shared);
        Ok(())
    }

    fn file_signs(&self) -> FileSigns {
        // A mail names its parts' files with `name=`, `filename=` or RFC 2231's `name*`.
        FileSigns {
            in_payload: &["name=", "NAME=", "Name=", "name*"],
            ..FileSigns::NONE
        }
    }

    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        parse_stored_email(&row.payload, &row.meta, &settings.email)
    }

    /// Without the auto-reply, bounce, bulk and spam verdicts; a message too large to keep, or
    /// one the server would not give, still has nothing to read.
    async fn parse_as_lead(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        let kept_whole = [META_TOO_LARGE, META_UNREADABLE]
            .iter()
            .all(|key| row.meta.get(key).is_none());
        match kept_whole {
            true => parse_email_as_lead(&row.payload, &settings.email),
            false => self.parse(row, settings).await,
        }
    }

    /// From the stored message's MIME part.
    async fn file(
        &self,
        _access: &FileAccess,
        row: &InboundRow,
        n: usize,
        _entry: &Value,
        _max: u64,
    ) -> Result<Bytes, Unavailable> {
        attachment_bytes(&row.payload, n)
            .map(Bytes::from)
            .ok_or_else(|| no_access("the message no longer holds this file"))
    }
}
