//! Which parser reads a stored blog item: the poller writes the item's format into its
//! `meta`, so a stored item says how to read itself even if its source is later removed
//! from the configuration.

use super::{CommentRules, parse_feed_item, parse_wordpress_comment};
use crate::lead::{NotLead, NotLeadReason, Parsed};
use serde_json::{Value, json};

/// How a stored blog item's payload is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredFormat {
    /// One WordPress REST comment, as the API sent it.
    Wordpress,
    /// One feed entry, as `split_feed` recorded it.
    Feed,
}

impl StoredFormat {
    fn as_str(self) -> &'static str {
        match self {
            StoredFormat::Wordpress => "wordpress",
            StoredFormat::Feed => "feed",
        }
    }

    /// The item's `meta`.
    pub(crate) fn meta(self) -> Value {
        json!({ "format": self.as_str() })
    }
}

/// Parses a stored blog item with the parser its `meta` names, under the source's rules.
pub fn parse_stored(payload: &[u8], meta: &Value, rules: &CommentRules) -> Parsed {
    let format = meta.get("format").and_then(Value::as_str);
    if format == Some(StoredFormat::Wordpress.as_str()) {
        parse_wordpress_comment(payload, rules)
    } else if format == Some(StoredFormat::Feed.as_str()) {
        parse_feed_item(payload, rules)
    } else {
        Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: format!("a blog item of unknown format {format:?}"),
            external_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_names_the_parser() {
        let comment = br#"{"id":7,"content":{"rendered":"<p>Price?</p>"}}"#;
        let rules = CommentRules::default();
        assert!(matches!(
            parse_stored(comment, &StoredFormat::Wordpress.meta(), &rules),
            Parsed::Lead(d) if d.external_id.as_deref() == Some("7")
        ));
        assert!(matches!(
            parse_stored(comment, &StoredFormat::Feed.meta(), &rules),
            Parsed::NotLead(n) if n.reason == NotLeadReason::Malformed
        ));
        assert!(matches!(
            parse_stored(comment, &json!({}), &rules),
            Parsed::NotLead(n) if n.reason == NotLeadReason::Malformed
        ));
    }
}
