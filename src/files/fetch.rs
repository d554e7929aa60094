//! Getting a file's bytes: each channel's kind fetches its own (`ChannelKind::file`: a form's
//! from its stored multipart body, an e-mail's from its MIME part, Telegram's, WhatsApp's and
//! VK's from the messenger, with the clients of [`FileAccess`]); here, the clients for the
//! configured sources and the per-file limit checked on whatever a kind hands back.

use super::AttachmentsConfig;
use crate::sources::fetch::{FetcherError, FileAccess, Unavailable, too_large};
use crate::sources::registry::kind;
use crate::sources::telegram::TelegramSource;
use crate::sources::webform::WebformSource;
use crate::sources::whatsapp::WhatsappSource;
use crate::store::InboundRow;
use bytes::Bytes;
use serde_json::Value;

/// How to reach each source's files.
#[derive(Debug, Clone)]
pub struct Fetcher {
    access: FileAccess,
}

impl Fetcher {
    /// The fetcher for the configured Telegram bots, WhatsApp numbers and web forms, with the
    /// attachments' settings.
    pub fn of(
        telegram: &[TelegramSource],
        whatsapp: &[WhatsappSource],
        webforms: &[WebformSource],
        attachments: &AttachmentsConfig,
    ) -> Result<Fetcher, FetcherError> {
        Ok(Fetcher {
            access: FileAccess::of(telegram, whatsapp, webforms, &attachments.vk_hosts)?,
        })
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
