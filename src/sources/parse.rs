//! Which parser reads a stored item: the channel's own, asked of its kind in the registry,
//! and what the parsers need to know about the configured sources.

use super::email;
use super::registry::kind;
use super::table::Sources;
use crate::connectors::Catalogue;
use crate::lead::{Channel, NotLead, NotLeadReason, Parsed};
use crate::store::InboundRow;
use std::sync::Arc;

/// What the parsers need to know about the configured sources.
#[derive(Debug, Clone, Default)]
pub struct SourceSettings {
    /// Every configured source: a channel's parser finds its own by id (a form's honeypot,
    /// a VK community's id, a blog's comment rules, a bot's options).
    pub sources: Sources,
    /// How e-mail is read (the loop-protection header leadgate puts on its own mail, the
    /// business's own addresses).
    pub email: email::EmailContext,
    /// The inbound connectors web form submissions were read with.
    pub connectors: Arc<Catalogue>,
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
