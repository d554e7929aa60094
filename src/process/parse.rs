//! Which parser reads a stored item: the channel's own, chosen by the item's channel and source.

use crate::lead::{NotLead, NotLeadReason, Parsed};
use crate::sources::blog::{self, CommentRules};
use crate::sources::webform;
use crate::store::InboundRow;
use std::collections::HashMap;

/// What the parsers need to know about the configured sources.
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Each web form's honeypot field, by source id.
    pub honeypots: HashMap<String, Option<String>>,
    /// Each blog source's comment rules (staff, spam), by source id.
    pub blog_rules: HashMap<String, CommentRules>,
}

/// Parses one stored item with its channel's parser.
pub async fn parse_item(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    match row.channel {
        crate::lead::Channel::Webform => {
            let honeypot = settings.honeypots.get(&row.source).cloned().flatten();
            webform::parse_stored(row, honeypot.as_deref()).await
        }
        crate::lead::Channel::Blog => {
            let rules = settings
                .blog_rules
                .get(&row.source)
                .cloned()
                .unwrap_or_default();
            blog::parse_stored(&row.payload, &row.meta, &rules)
        }
        other => Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: format!("no parser for the {other} channel in this build"),
            external_id: None,
        }),
    }
}
