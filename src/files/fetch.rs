//! Getting a file's bytes: each channel's kind fetches its own (`ChannelKind::file`: a form's
//! from its stored multipart body, an e-mail's from its MIME part, a messenger's from the
//! messenger, with the clients of [`FileAccess`], which the config assembles); here, the
//! per-file limit checked on whatever a kind hands back.

use crate::sources::fetch::{FileAccess, Unavailable, too_large};
use crate::sources::registry::kind;
use crate::store::InboundRow;
use bytes::Bytes;
use serde_json::Value;

/// How to reach each source's files.
#[derive(Debug, Clone)]
pub struct Fetcher {
    access: FileAccess,
}

impl Fetcher {
    /// The fetcher reaching files through `access` (the configured sources' clients).
    pub fn new(access: FileAccess) -> Fetcher {
        Fetcher { access }
    }

    /// The bytes of the file `entry` (one of the item's `fields.attachments`, the `n`th),
    /// at most `max` of them.
    pub async fn bytes(
        &self,
        row: &InboundRow,
        n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let bytes = kind(row.channel)
            .file(&self.access, row, n, entry, max)
            .await?;
        if bytes.len() as u64 > max {
            return Err(too_large(max));
        }
        Ok(bytes)
    }
}
