//! Blog comments channel: WordPress REST comment pages and RSS/Atom comment feeds into stored
//! items, and stored items into lead drafts under shared not-a-lead rules. The polling lives
//! elsewhere; this is the pure part.

mod comment;
mod feed_parse;
mod wordpress_parse;

pub use comment::{CommentRules, DEFAULT_SPAM_WORDS};
pub use feed_parse::{parse_feed_item, split_feed};
pub use wordpress_parse::{parse_wordpress_comment, split_wordpress};

/// Why a polled page or feed cannot be taken in (the poller backs off and retries; nothing is
/// stored).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The REST answer is not JSON.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// WordPress answered with its error object (wrong credentials, REST API disabled).
    #[error("WordPress refused: {code}: {message}")]
    WordPress {
        /// WordPress's error code (`rest_forbidden`, ...).
        code: String,
        /// WordPress's message.
        message: String,
    },
    /// JSON, but not a comments page.
    #[error("not a WordPress comments page: {0}")]
    Shape(&'static str),
    /// Not an RSS or Atom feed.
    #[error("not an RSS or Atom feed: {0}")]
    Feed(#[from] feed_rs::parser::ParseFeedError),
}
