//! RSS 2.0 and Atom comment feeds (WordPress's `/comments/feed/` and other engines), read with
//! feed-rs: split a feed into one stored item per entry at intake, turn a stored entry into a
//! lead draft at processing.
//!
//! The stored payload is a small JSON record of the entry (what the rules and the draft
//! need), not the XML: one entry of a feed is not a feed feed-rs could parse on its own.

use super::ParseError;
use super::comment::{Comment, CommentRules, judge};
use crate::lead::{NotLead, NotLeadReason, Parsed};
use crate::sources::item::Item;
use feed_rs::model::{Entry, Text};
use serde::{Deserialize, Serialize};
use serde_json::Map;

/// One feed entry as stored.
#[derive(Debug, Serialize, Deserialize)]
struct FeedComment {
    /// The RSS `guid` or Atom `id` (feed-rs derives a stable one when the feed has none).
    id: String,
    link: Option<String>,
    title: Option<String>,
    author_name: Option<String>,
    author_email: Option<String>,
    author_url: Option<String>,
    /// `content:encoded` / Atom `content`, else the `description` / `summary`, as HTML.
    html: String,
}

/// Splits an RSS or Atom feed into one item per entry, keyed by its guid / id.
pub fn split_feed(body: &[u8]) -> Result<Vec<Item>, ParseError> {
    let feed = feed_rs::parser::parse(body)?;
    feed.entries
        .into_iter()
        .map(|entry| {
            let stored = stored(entry);
            Ok(Item {
                dedupe_key: stored.id.clone(),
                payload: serde_json::to_vec(&stored)?,
            })
        })
        .collect()
}

fn stored(entry: Entry) -> FeedComment {
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.clone());
    let author = entry.authors.into_iter().next();
    let html = entry
        .content
        .and_then(|c| c.body)
        .or_else(|| entry.summary.map(as_html))
        .unwrap_or_default();
    FeedComment {
        id: entry.id,
        link,
        title: entry.title.map(|t| t.content),
        author_name: author.as_ref().and_then(|a| a.name.clone()),
        author_email: author.as_ref().and_then(|a| a.email.clone()),
        author_url: author.and_then(|a| a.uri),
        html,
    }
}

/// A summary as HTML: plain-text summaries are escaped so that `<` in a person's words stays
/// a character.
fn as_html(text: Text) -> String {
    if text.content_type.to_string().starts_with("text/plain") {
        text.content
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text.content
    }
}

/// Turns one stored feed entry into a lead draft, or says why it is not one.
pub fn parse_feed_item(payload: &[u8], rules: &CommentRules) -> Parsed {
    let entry: FeedComment = match serde_json::from_slice(payload) {
        Ok(entry) => entry,
        Err(e) => {
            return Parsed::NotLead(NotLead {
                reason: NotLeadReason::Malformed,
                detail: format!("not a stored feed entry: {e}"),
                external_id: None,
            });
        }
    };
    let comment = Comment {
        external_id: entry.id,
        author_name: entry.author_name,
        author_email: entry.author_email,
        author_url: entry.author_url,
        html: entry.html,
        link: entry.link,
        subject: entry.title,
        fields: Map::new(),
        ..Comment::default()
    };
    judge(comment, rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::item::test_support::byte_mutations;
    use proptest::prelude::*;

    const FEED: &[u8] = include_bytes!("../../../tests/fixtures/blog/comments-feed.xml");

    #[test]
    fn atom_entries_are_read() {
        let atom = br#"<?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom"><title>c</title><id>urn:f</id>
            <updated>2026-11-19T15:22:08Z</updated>
            <entry><id>urn:c:1</id><title>Re: boilers</title><updated>2026-11-19T15:22:08Z</updated>
            <author><name>Ivan</name><email>Ivan@Example.org</email></author>
            <link href="https://b.example/p/#comment-1"/>
            <content type="html">&lt;p&gt;Price &amp;amp; delivery?&lt;/p&gt;</content></entry></feed>"#;
        let items = split_feed(atom).expect("an Atom feed");
        assert_eq!(items[0].dedupe_key, "urn:c:1");
        match parse_feed_item(&items[0].payload, &CommentRules::default()) {
            Parsed::Lead(draft) => {
                assert_eq!(draft.text, "Price & delivery?");
                assert_eq!(draft.contact.emails, vec!["Ivan@Example.org".to_string()]);
                assert_eq!(draft.page_url.as_deref(), Some("https://b.example/p/"));
            }
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(matches!(
            split_feed(b"not a feed"),
            Err(ParseError::Feed(_))
        ));
    }

    proptest! {
        #[test]
        fn parsers_never_panic(bytes in byte_mutations(FEED)) {
            for item in split_feed(&bytes).unwrap_or_default() {
                let _ = parse_feed_item(&item.payload, &CommentRules::default());
            }
            let _ = parse_feed_item(&bytes, &CommentRules::default());
        }
    }
}
