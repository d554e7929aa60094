//! Which parser reads a stored item: the channel's own, chosen by the item's channel and source.

use crate::lead::{NotLead, NotLeadReason, Parsed};
use crate::sources::{telegram, webform};
use crate::store::InboundRow;
use std::collections::HashMap;

/// What the parsers need to know about the configured sources.
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Each web form's honeypot field, by source id.
    pub honeypots: HashMap<String, Option<String>>,
    /// Each Telegram bot's options (whether group messages count), by source id; a source no
    /// longer configured is read with the defaults.
    pub telegram: HashMap<String, telegram::TelegramOptions>,
}

/// Parses one stored item with its channel's parser.
pub async fn parse_item(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    match row.channel {
        crate::lead::Channel::Webform => {
            let honeypot = settings.honeypots.get(&row.source).cloned().flatten();
            webform::parse_stored(row, honeypot.as_deref()).await
        }
        crate::lead::Channel::Telegram => {
            let options = settings
                .telegram
                .get(&row.source)
                .cloned()
                .unwrap_or_default();
            telegram::parse_update(&row.payload, &options)
        }
        other => Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: format!("no parser for the {other} channel in this build"),
            external_id: None,
        }),
    }
}
