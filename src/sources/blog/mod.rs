//! Blog comments channel: WordPress REST comment pages and RSS/Atom comment feeds into stored
//! items, and stored items into lead drafts under shared not-a-lead rules.
//!
//! The pure part: `wordpress_parse.rs`, `feed_parse.rs`, `comment.rs` (the rules), `stored.rs`
//! (which parser reads a stored item). The polling: `config.rs` (the sources' settings),
//! `poller.rs` (one task per source: interval, backoff, health), `wordpress_poll.rs` and
//! `feed_poll.rs` (what one poll does), `watermark.rs` (a WordPress stream's position),
//! `fetch.rs` (the polite HTTP client and its errors).

mod comment;
pub mod config;
mod feed_parse;
mod feed_poll;
mod fetch;
mod kind;
mod poller;
mod stored;
mod watermark;
mod wordpress_parse;
mod wordpress_poll;

pub use comment::{CommentRules, DEFAULT_SPAM_WORDS};
pub use config::{FeedSource, WordpressSource};
pub use feed_parse::{parse_feed_item, split_feed};
pub use kind::Kind;
pub use stored::parse_stored;
pub use wordpress_parse::{parse_wordpress_comment, split_wordpress};

use crate::shared::{Shared, StartError};

/// Starts one polling task per WordPress site and per feed on the shared tasks; each runs
/// until they are told to stop. Fails when a source's HTTP client cannot be built.
pub fn start(
    wordpress: &[WordpressSource],
    feeds: &[FeedSource],
    shared: &Shared,
) -> Result<(), StartError> {
    let failed = |id: &str| {
        let id = id.to_string();
        move |error: reqwest::Error| {
            StartError::of(&id, format!("cannot set up its HTTP client: {error}"))
        }
    };
    for source in wordpress {
        let interval = source.poll_interval;
        let poller = wordpress_poll::WordpressPoller::new(source.clone(), shared.clone())
            .map_err(failed(&source.id))?;
        let span = tracing::info_span!("source", id = %source.id, kind = "wordpress");
        let on = shared.clone();
        shared.spawn_once(format!("blog:{}", source.id), span, move |stop| {
            poller::run(poller.clone(), interval, on.clone(), stop)
        });
    }
    for source in feeds {
        let interval = source.poll_interval;
        let poller = feed_poll::FeedPoller::new(source.clone(), shared.clone())
            .map_err(failed(&source.id))?;
        let span = tracing::info_span!("source", id = %source.id, kind = "feed");
        let on = shared.clone();
        shared.spawn_once(format!("blog:{}", source.id), span, move |stop| {
            poller::run(poller.clone(), interval, on.clone(), stop)
        });
    }
    Ok(())
}

/// Why a polled page or feed cannot be taken in (the poller backs off and retries; nothing is
/// stored). Its text reaches `/readyz`, so it is leadgate's own description, never text from
/// the answer (a parser's message may quote it).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The REST answer is not JSON.
    #[error("not JSON (line {}, column {})", .0.line(), .0.column())]
    Json(#[from] serde_json::Error),
    /// WordPress answered with its error object (wrong credentials, REST API disabled); its
    /// free-text `message` is not kept.
    #[error("WordPress refused{}", code.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    WordPress {
        /// WordPress's error code (`rest_forbidden`, ...) when it is an identifier.
        code: Option<String>,
    },
    /// JSON, but not a comments page.
    #[error("not a WordPress comments page: {0}")]
    Shape(&'static str),
    /// Not an RSS or Atom feed.
    #[error("not an RSS or Atom feed: {}", feed_problem(.0))]
    Feed(#[from] feed_rs::parser::ParseFeedError),
}

/// What is wrong with a feed, in fixed words: feed-rs's own messages quote the document
/// (tag names, content types, versions).
fn feed_problem(error: &feed_rs::parser::ParseFeedError) -> &'static str {
    use feed_rs::parser::{ParseErrorKind, ParseFeedError};
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => "no feed element",
        ParseFeedError::ParseError(_) => "an element leadgate cannot read",
        ParseFeedError::IoError(_) => "the answer could not be read",
        ParseFeedError::JsonSerde(_) | ParseFeedError::JsonUnsupportedVersion(_) => {
            "a JSON feed leadgate cannot read"
        }
        ParseFeedError::XmlReader(_) => "malformed XML",
    }
}
