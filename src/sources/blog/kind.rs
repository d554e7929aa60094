//! The blog channel's kind: a stored comment read with its source's comment rules; a sample
//! may be a whole page or feed of comments.

use super::config::{RawFeed, RawWordpress};
use super::{
    CommentRules, FeedSource, WordpressSource, parse_feed_item, parse_stored,
    parse_wordpress_comment, split_feed, split_wordpress, start,
};
use crate::lead::{Channel, NotLead, NotLeadReason, Parsed};
use crate::shared::{Shared, StartError};
use crate::sources::SourceSettings;
use crate::sources::fetch::{FileAccess, Unavailable, no_access};
use crate::sources::registry::ChannelKind;
use crate::sources::replies::ReplyClients;
use crate::sources::table::{SourceTable, Sources, Table};
use crate::sources::webhook::Webhooks;
use crate::store::InboundRow;
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::Value;

/// Blog comments (WordPress sites and comment feeds), in the registry.
pub struct Kind;

/// Its tables under `[sources]`.
const TABLES: &[&dyn SourceTable] = &[&Table::<RawWordpress>::new(), &Table::<RawFeed>::new()];

#[async_trait]
impl ChannelKind for Kind {
    fn channel(&self) -> Channel {
        Channel::Blog
    }

    fn tables(&self) -> &'static [&'static dyn SourceTable] {
        TABLES
    }

    /// Each site's and feed's poller, under its lease.
    fn start(
        &self,
        sources: &Sources,
        shared: &Shared,
        _replies: &ReplyClients,
        _hooks: &mut Webhooks,
    ) -> Result<(), StartError> {
        let wordpress = sources.of::<WordpressSource>();
        start(wordpress, sources.of::<FeedSource>(), shared)
    }

    async fn parse(&self, row: &InboundRow, settings: &SourceSettings) -> Parsed {
        parse_stored(&row.payload, &row.meta, &rules_of(settings, &row.source))
    }

    /// Without the staff and spam rules; the blog's own "spam" status and what carries no
    /// message stay.
    async fn parse_as_lead(&self, row: &InboundRow, _settings: &SourceSettings) -> Parsed {
        let rules = CommentRules {
            staff_names: Vec::new(),
            staff_emails: Vec::new(),
            max_links: usize::MAX,
            spam_words: Vec::new(),
        };
        parse_stored(&row.payload, &row.meta, &rules)
    }

    /// A blog sample may hold several comments (a WordPress REST page or a feed, as the source
    /// fetches them): each is read, in order, with that source's comment rules.
    async fn parse_sample(
        &self,
        settings: &SourceSettings,
        source: Option<&str>,
        payload: &[u8],
    ) -> Vec<Parsed> {
        let rules = source.map(|s| rules_of(settings, s)).unwrap_or_default();
        blog_sample(payload, &rules)
    }

    async fn file(
        &self,
        _access: &FileAccess,
        _row: &InboundRow,
        _n: usize,
        _entry: &Value,
        _max: u64,
    ) -> Result<Bytes, Unavailable> {
        Err(no_access("blog comments carry no files"))
    }
}

/// The comment rules of the source `id`; the defaults for one no longer configured.
fn rules_of(settings: &SourceSettings, id: &str) -> CommentRules {
    let sources = &settings.sources;
    let wordpress = sources.find::<WordpressSource>(id).map(|w| &w.rules);
    (wordpress.or_else(|| sources.find::<FeedSource>(id).map(|f| &f.rules)))
        .cloned()
        .unwrap_or_default()
}

/// The comments of a blog sample: one WordPress comment (a JSON object), a page of them (a
/// JSON array), or an RSS/Atom comment feed.
fn blog_sample(payload: &[u8], rules: &CommentRules) -> Vec<Parsed> {
    let split = match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(_)) => {
            return vec![parse_wordpress_comment(payload, rules)];
        }
        Ok(_) => split_wordpress(payload).map(|items| (items, true)),
        Err(_) => split_feed(payload).map(|items| (items, false)),
    };
    match split {
        Ok((items, wordpress)) => items
            .iter()
            .map(|item| match wordpress {
                true => parse_wordpress_comment(&item.payload, rules),
                false => parse_feed_item(&item.payload, rules),
            })
            .collect(),
        Err(e) => vec![Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: format!("not a WordPress comment, a page of them, or a comment feed: {e}"),
            external_id: None,
        })],
    }
}
