//! Which parser reads a stored item: the channel's own, chosen by the item's channel and source.

use crate::lead::{NotLead, NotLeadReason, Parsed};
use crate::sources::webform;
use crate::store::InboundRow;
use std::collections::HashMap;

/// What the parsers need to know about the configured sources.
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Each web form's honeypot field, by source id.
    pub honeypots: HashMap<String, Option<String>>,
}

/// Parses one stored item with its channel's parser.
pub async fn parse_item(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    match row.channel {
        crate::lead::Channel::Webform => {
            let honeypot = settings.honeypots.get(&row.source).cloned().flatten();
            webform::parse_stored(row, honeypot.as_deref()).await
        }
        other => Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: format!("no parser for the {other} channel in this build"),
            external_id: None,
        }),
    }
}
