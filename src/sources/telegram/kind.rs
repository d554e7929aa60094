//! The Telegram channel's kind: a stored update read with its bot's options.

use super::{TelegramOptions, parse_update};
use crate::lead::{Channel, Parsed};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FileAccess, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::store::{FileSigns, InboundRow};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// Telegram bots, in the registry.
pub struct Kind;

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn file_signs(&self) -> FileSigns {
        FileSigns {
            in_payload: &["file_id"],
            ..FileSigns::NONE
        }
    }

    /// A source no longer configured is read with the defaults.
    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        let options = settings
            .telegram
            .get(&row.source)
            .cloned()
            .unwrap_or_default();
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
        access.telegram.bytes(&row.source, id, max).await
    }
}
