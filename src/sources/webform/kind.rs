//! The web form channel's kind: its stored submissions read back with the connector they were
//! accepted with.

use super::{
    Limits, LinkedFiles, META_CONNECTOR, RawWebform, UPLOAD_URL, WebformSource, body_kind,
    parse_stored, read_body, stored_connector,
};
use crate::lead::{Channel, NotLead, NotLeadReason, Parsed};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FetcherError, FileAccess, FileSetup, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::sources::table::{SourceTable, Sources, Table};
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// Web forms, in the registry.
pub struct Kind;

/// Its tables under `[sources]`.
const TABLES: &[&dyn SourceTable] = &[&Table::<RawWebform>::new()];

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Webform
    }

    fn tables(&self) -> &'static [&'static dyn SourceTable] {
        TABLES
    }

    /// The files forms link, on each form's allowed hosts.
    fn file_access(
        &self,
        sources: &Sources,
        setup: &FileSetup<'_>,
        access: &mut FileAccess,
    ) -> Result<(), FetcherError> {
        let forms = sources.of::<WebformSource>();
        access.insert(LinkedFiles::of(forms, setup.hosted.clone()));
        Ok(())
    }

    fn file_signs(&self) -> FileSigns {
        // Uploads come in a multipart body; links to files a form builder hosts, noted by
        // intake in the item's meta.
        FileSigns {
            content_type_prefix: Some("multipart/"),
            in_meta: &["\"linked_files\""],
            ..FileSigns::NONE
        }
    }

    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        let form = settings.sources.find::<WebformSource>(&row.source);
        let honeypot = form.and_then(|f| f.honeypot.clone());
        match stored_connector(row, &settings.connectors) {
            Some(connector) => parse_stored(row, honeypot.as_deref(), &connector).await,
            None => Parsed::NotLead(NotLead {
                reason: NotLeadReason::Malformed,
                detail: format!(
                    "the connector {:?} it was accepted with is no longer available",
                    row.meta.get(META_CONNECTOR)
                ),
                external_id: None,
            }),
        }
    }

    /// Without the honeypot.
    async fn parse_as_lead(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        match stored_connector(row, &settings.connectors) {
            Some(connector) => parse_stored(row, None, &connector).await,
            None => self.parse(row, settings).await,
        }
    }

    /// A form sample may be the JSON a script posts or the urlencoded body a browser posts
    /// (`name=...&phone=...`).
    fn sample_content_type(&self, payload: &[u8]) -> &'static str {
        let json = payload
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{' || b == b'[');
        if json {
            "application/json"
        } else {
            "application/x-www-form-urlencoded"
        }
    }

    /// From the stored multipart body, or, for a file the form's provider keeps, from its
    /// address on the form's allowed hosts.
    async fn file(
        &self,
        access: &FileAccess,
        row: &InboundRow,
        n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        if let Some(url) = entry.get(UPLOAD_URL).and_then(Value::as_str) {
            return access
                .get::<LinkedFiles>()?
                .bytes(&row.source, url, max)
                .await;
        }
        let kind = body_kind(row.content_type.as_deref())
            .map_err(|_| no_access("the form's body holds no files"))?;
        let body = Bytes::from(row.payload.clone());
        let form = read_body(&kind, body, Limits::UNLIMITED)
            .await
            .map_err(|_| no_access("the form's body no longer reads"))?;
        form.files
            .into_iter()
            .nth(n)
            .map(|f| f.data)
            .ok_or_else(|| no_access("the form's body no longer holds this file"))
    }
}
