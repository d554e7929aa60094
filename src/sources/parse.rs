//! Which parser reads a stored item: the channel's own, asked of its kind in the registry,
//! and what the parsers need to know about the configured sources.

use super::blog::CommentRules;
use super::registry::kind;
use super::{email, telegram};
use crate::connectors::Catalogue;
use crate::lead::{Channel, NotLead, NotLeadReason, Parsed};
use crate::store::InboundRow;
use std::collections::HashMap;
use std::sync::Arc;

/// What the parsers need to know about the configured sources.
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Each web form's honeypot field, by source id.
    pub honeypots: HashMap<String, Option<String>>,
    /// Each VK source's community id (its own replies are staff), by source id.
    pub vk_groups: HashMap<String, i64>,
    /// How e-mail is read (the loop-protection header leadgate puts on its own mail, the
    /// business's own addresses).
    pub email: email::EmailContext,
    /// The inbound connectors web form submissions were read with.
    pub connectors: Arc<Catalogue>,
    /// Each blog source's comment rules (staff, spam), by source id.
    pub blog_rules: HashMap<String, CommentRules>,
    /// Each Telegram bot's options (whether group messages count), by source id; a source no
    /// longer configured is read with the defaults.
    pub telegram: HashMap<String, telegram::TelegramOptions>,
}

/// Parses a raw sample as the source `source` of `channel` would read it (for `leadgate
/// route` and the console's tester): the channel's kind reads it
/// ([`crate::sources::registry::ChannelKind::parse_sample`]).
pub async fn parse_sample(
    settings: &SourceSettings,
    channel: Channel,
    source: Option<&str>,
    payload: &[u8],
) -> Vec<Parsed> {
    kind(channel).parse_sample(settings, source, payload).await
}

/// Parses one stored item with its channel's parser
/// ([`crate::sources::registry::ChannelKind::parse`]).
pub async fn parse_item(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    kind(row.channel).parse(row, settings).await
}

/// An item of a source that is no longer configured: kept, with the reason, for the admin.
pub(super) fn unknown_source(row: &InboundRow) -> Parsed {
    Parsed::NotLead(NotLead {
        reason: NotLeadReason::Malformed,
        detail: format!("source {:?} is no longer configured", row.source),
        external_id: None,
    })
}
