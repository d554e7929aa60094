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
    /// The RSS `guid` or Atom `id`; for an entry without one, `derived:` and a digest of
    /// what the entry says ([`derived_id`]).
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
    // feed-rs would make an id for an entry without one from its link and title, which every
    // comment on one post may share ("Re: the post", the post's address), or a new random one
    // at every poll: entries without an id are left with none here, and given one from what
    // they say.
    let feed = feed_rs::parser::Builder::new()
        .id_generator(|_, _, _| String::new())
        .build()
        .parse(body)?;
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
    let mut comment = FeedComment {
        id: entry.id,
        link,
        title: entry.title.map(|t| t.content),
        author_name: author.as_ref().and_then(|a| a.name.clone()),
        author_email: author.as_ref().and_then(|a| a.email.clone()),
        author_url: author.and_then(|a| a.uri),
        html,
    };
    if comment.id.trim().is_empty() {
        comment.id = derived_id(&comment, entry.published.or(entry.updated));
    }
    comment
}

/// The id of an entry its feed gave none: a digest of its link, title, author, time and text,
/// the same at every poll while the entry is unchanged, and different for two comments on one
/// post.
fn derived_id(c: &FeedComment, at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    let at = at.map(|t| t.to_rfc3339());
    let mut said = Vec::new();
    for part in [
        &c.link,
        &c.title,
        &c.author_name,
        &c.author_email,
        &c.author_url,
        &at,
    ] {
        let part = part.as_deref().unwrap_or_default();
        said.extend_from_slice(&(part.len() as u64).to_le_bytes());
        said.extend_from_slice(part.as_bytes());
    }
    said.extend_from_slice(c.html.as_bytes());
    format!("derived:{}", crate::digest::sha256_hex(&said))
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
    fn comments_without_a_guid_on_one_post_are_told_apart_and_kept_alike_across_polls() {
        let rss = |third: &str| {
            format!(
                r#"<?xml version="1.0"?><rss version="2.0"><channel><title>c</title>
                <item><title>Re: Котлы</title><link>https://b.example/kotly/</link>
                <dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">Ivan</dc:creator>
                <pubDate>Thu, 19 Nov 2026 15:22:08 +0000</pubDate>
                <description>Сколько стоит монтаж? +7 916 123-45-67</description></item>
                <item><title>Re: Котлы</title><link>https://b.example/kotly/</link>
                <dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">Olga</dc:creator>
                <pubDate>Thu, 19 Nov 2026 16:01:00 +0000</pubDate>
                <description>А доставка в Подольск? olga@example.ru</description></item>
                {third}</channel></rss>"#
            )
        };
        let first = split_feed(rss("").as_bytes()).expect("a feed");
        assert_eq!(first.len(), 2);
        assert_ne!(
            first[0].dedupe_key, first[1].dedupe_key,
            "two people, two items"
        );
        assert!(
            first[0].dedupe_key.starts_with("derived:"),
            "{}",
            first[0].dedupe_key
        );
        // The next poll, with a new comment on top: the two known ones have the same keys.
        let newer = "<item><title>Re: Котлы</title><link>https://b.example/kotly/</link>            <description>Ещё вопрос</description></item>";
        let second = split_feed(rss(newer).as_bytes()).expect("a feed");
        let keys = |items: &[Item]| -> Vec<String> {
            items.iter().map(|i| i.dedupe_key.clone()).collect()
        };
        assert_eq!(keys(&second)[..2], keys(&first)[..]);
        assert!(!keys(&first).contains(&second[2].dedupe_key));
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
