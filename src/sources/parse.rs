//! Which parser reads a stored item: the channel's own, chosen by the item's channel and source.

use super::blog::{self, CommentRules};
use super::{email, telegram, vk, webform, whatsapp};
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
/// route` and the console's tester): web form samples are JSON objects of fields or a
/// urlencoded body. A blog sample may hold several comments (a WordPress REST page or a feed,
/// as the source fetches them): each is read, in order, with that source's comment rules.
pub async fn parse_sample(
    settings: &SourceSettings,
    channel: Channel,
    source: Option<&str>,
    payload: &[u8],
) -> Vec<Parsed> {
    if channel == Channel::Blog {
        let rules = (source.and_then(|s| settings.blog_rules.get(s)))
            .cloned()
            .unwrap_or_default();
        return blog_sample(payload, &rules);
    }
    let row = InboundRow {
        id: "sample".into(),
        source: source.unwrap_or("sample").to_string(),
        channel,
        dedupe_key: "sample".into(),
        received_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
        content_type: Some(sample_content_type(channel, payload).into()),
        payload: payload.to_vec(),
        meta: serde_json::Value::Null,
    };
    vec![parse_item(&row, settings).await]
}

/// A form sample may be the JSON a script posts or the urlencoded body a browser posts
/// (`name=...&phone=...`); other channels' samples are JSON or a message.
fn sample_content_type(channel: Channel, payload: &[u8]) -> &'static str {
    let json = payload
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{' || b == b'[');
    if channel == Channel::Webform && !json {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    }
}

/// The comments of a blog sample: one WordPress comment (a JSON object), a page of them (a
/// JSON array), or an RSS/Atom comment feed.
fn blog_sample(payload: &[u8], rules: &CommentRules) -> Vec<Parsed> {
    let split = match serde_json::from_slice::<serde_json::Value>(payload) {
        Ok(serde_json::Value::Object(_)) => {
            return vec![blog::parse_wordpress_comment(payload, rules)];
        }
        Ok(_) => blog::split_wordpress(payload).map(|items| (items, true)),
        Err(_) => blog::split_feed(payload).map(|items| (items, false)),
    };
    match split {
        Ok((items, wordpress)) => items
            .iter()
            .map(|item| match wordpress {
                true => blog::parse_wordpress_comment(&item.payload, rules),
                false => blog::parse_feed_item(&item.payload, rules),
            })
            .collect(),
        Err(e) => vec![Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: format!("not a WordPress comment, a page of them, or a comment feed: {e}"),
            external_id: None,
        })],
    }
}

/// Parses one stored item with its channel's parser.
pub async fn parse_item(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    match row.channel {
        Channel::Webform => {
            let honeypot = settings.honeypots.get(&row.source).cloned().flatten();
            match webform::stored_connector(row, &settings.connectors) {
                Some(connector) => {
                    webform::parse_stored(row, honeypot.as_deref(), &connector).await
                }
                None => Parsed::NotLead(NotLead {
                    reason: NotLeadReason::Malformed,
                    detail: format!(
                        "the connector {:?} it was accepted with is no longer available",
                        row.meta.get(webform::META_CONNECTOR)
                    ),
                    external_id: None,
                }),
            }
        }
        Channel::Vk => match settings.vk_groups.get(&row.source) {
            Some(group) => vk::parse_event(&row.payload, *group),
            None => unknown_source(row),
        },
        Channel::Whatsapp => whatsapp::parse_item(&row.payload),
        Channel::Email => email::parse_stored_email(&row.payload, &row.meta, &settings.email),
        Channel::Blog => {
            let rules = settings
                .blog_rules
                .get(&row.source)
                .cloned()
                .unwrap_or_default();
            blog::parse_stored(&row.payload, &row.meta, &rules)
        }
        Channel::Telegram => {
            let options = settings
                .telegram
                .get(&row.source)
                .cloned()
                .unwrap_or_default();
            telegram::parse_update(&row.payload, &options)
        }
    }
}

/// An item of a source that is no longer configured: kept, with the reason, for the admin.
fn unknown_source(row: &InboundRow) -> Parsed {
    Parsed::NotLead(NotLead {
        reason: NotLeadReason::Malformed,
        detail: format!("source {:?} is no longer configured", row.source),
        external_id: None,
    })
}
