//! The HTTP side both pollers share: a polite client (it names leadgate, gives up after the
//! source's timeout, follows a redirect only within the site's own origin), answers read with
//! a size cap, and the error a failed poll reports.
//!
//! A failed poll's error goes to `/readyz`, so it says what happened in leadgate's own words:
//! the status, the address asked and, from WordPress, its error `code` (an identifier such as
//! `rest_forbidden_context`), never text the site answered (a site run by a third party could
//! otherwise publish through leadgate what a server it redirects to said). No error here
//! carries a credential: logins go in a header, and URLs are checked at validation not to
//! hold any.

use super::ParseError;
use super::wordpress_parse::wordpress_code;
use crate::intake::IntakeError;
use crate::store::StoreError;
use std::time::Duration;

/// The `User-Agent` of every poll, so a site's admin can see who is asking.
pub(crate) const USER_AGENT: &str = concat!("leadgate/", env!("CARGO_PKG_VERSION"));

/// The largest answer read (a page of 100 comments is well under 1 MiB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The largest error answer read for WordPress's `code`.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Redirects followed per request, all within the origin of the address asked.
pub(crate) const MAX_REDIRECTS: usize = 3;

/// Why a poll failed; the poller backs off and tries again, nothing is acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The site could not be reached, or did not answer within the timeout.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The site answered with an error status.
    #[error("{url} answered {status}{}", code.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Status {
        /// The address asked (never with credentials).
        url: String,
        /// The HTTP status.
        status: u16,
        /// WordPress's error code when it sent one that is an identifier.
        code: Option<String>,
    },
    /// The site redirected where leadgate does not follow: to another origin (another host,
    /// port or scheme: possibly a private address), or more than [`MAX_REDIRECTS`] times.
    #[error(
        "{url} answered {status}: a redirect {why}, not followed (set the source's address to where the site really is)"
    )]
    Redirect {
        /// The address asked.
        url: String,
        /// The HTTP status (301, 302, 307, ...).
        status: u16,
        /// `to another origin (https://host:port)`, or past the redirects followed.
        why: String,
    },
    /// A WordPress page was the same as the one before it: the site (or a cache in front of
    /// it) ignores `page`, so paging on would never end.
    #[error(
        "page {page} of the comments is the same as page {}: the site ignores `page` (a cache in front of WordPress?); stopped, the comments read so far are kept", page - 1
    )]
    RepeatedPage {
        /// The page that repeated the one before.
        page: u32,
    },
    /// A WordPress poll reached the page cap; what it read is kept, and the next poll goes on
    /// from there.
    #[error(
        "more than {pages} pages of comments in one poll; stopped, the rest is read at the next poll"
    )]
    TooManyPages {
        /// The cap.
        pages: u32,
    },
    /// The answer was larger than leadgate reads.
    #[error("{url}: the answer is over 16 MiB")]
    TooLarge {
        /// The address asked.
        url: String,
    },
    /// The answer is not what the source should send.
    #[error("{0}")]
    Parse(#[from] ParseError),
    /// The items could not be committed.
    #[error("{0}")]
    Intake(#[from] IntakeError),
    /// The source's position could not be read or kept.
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

/// The client one source polls with. It follows at most [`MAX_REDIRECTS`] redirects, each
/// within the origin of the address asked; any other redirect is handed back as the answer,
/// and [`status_error`] turns it into [`PollError::Redirect`].
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first();
        let within = first.is_some_and(|first| same_origin(first, attempt.url()));
        if within && attempt.previous().len() <= MAX_REDIRECTS {
            attempt.follow()
        } else {
            attempt.stop()
        }
    });
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(policy)
        .build()
}

/// Same scheme, host and port.
fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.origin() == b.origin()
}

/// Reads an answer's body, refusing one over the cap.
pub(crate) async fn body(response: reqwest::Response) -> Result<Vec<u8>, PollError> {
    capped(response, MAX_BODY).await
}

async fn capped(response: reqwest::Response, cap: usize) -> Result<Vec<u8>, PollError> {
    let url = response.url().to_string();
    crate::answer::body_within(response, cap)
        .await?
        .ok_or(PollError::TooLarge { url })
}

/// The error for a non-success answer: a redirect not followed, or the status with
/// WordPress's error `code` when the body is its error object (`rest_forbidden_context` says
/// the application password is wrong). The body's text itself is never kept.
pub(crate) async fn status_error(response: reqwest::Response) -> PollError {
    let url = response.url().to_string();
    let status = response.status();
    if status.is_redirection() {
        let why = redirect_reason(response.url(), response.headers());
        tracing::warn!(%url, status = status.as_u16(), why, "A blog source redirects where leadgate does not follow.");
        return PollError::Redirect {
            url,
            status: status.as_u16(),
            why,
        };
    }
    let code = match capped(response, MAX_ERROR_BODY).await {
        Ok(bytes) => wordpress_code(&bytes),
        Err(_) => None,
    };
    PollError::Status {
        url,
        status: status.as_u16(),
        code,
    }
}

/// Why a redirect answer was not followed: another origin (named by its scheme, host and
/// port only: a path or query could carry anything), or one redirect too many.
fn redirect_reason(from: &reqwest::Url, headers: &reqwest::header::HeaderMap) -> String {
    let target = headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| from.join(v).ok());
    match target {
        Some(to) if same_origin(from, &to) => {
            format!("past the {MAX_REDIRECTS} followed within a site")
        }
        Some(to) => format!("to another origin ({})", to.origin().ascii_serialization()),
        None => "without a usable Location".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_names_only_the_origin_it_points_to() {
        let from = reqwest::Url::parse("https://blog.example/wp-json/wp/v2/comments").expect("url");
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::LOCATION,
            "http://10.0.0.7:8080/admin?token=abc"
                .parse()
                .expect("header"),
        );
        assert_eq!(
            redirect_reason(&from, &headers),
            "to another origin (http://10.0.0.7:8080)"
        );
        headers.insert(
            reqwest::header::LOCATION,
            "/elsewhere".parse().expect("header"),
        );
        assert_eq!(
            redirect_reason(&from, &headers),
            "past the 3 followed within a site"
        );
        headers.remove(reqwest::header::LOCATION);
        assert_eq!(
            redirect_reason(&from, &headers),
            "without a usable Location"
        );
    }
}
