//! The HTTP side both pollers share: a polite client (it names leadgate, gives up after the
//! source's timeout), answers read with a size cap, and the error a failed poll reports.
//! No error here carries a credential: logins go in a header, and URLs are checked at
//! validation not to hold any.

use super::ParseError;
use crate::intake::IntakeError;
use crate::store::StoreError;
use std::time::Duration;

/// The `User-Agent` of every poll, so a site's admin can see who is asking.
pub(crate) const USER_AGENT: &str = concat!("leadgate/", env!("CARGO_PKG_VERSION"));

/// The largest answer read (a page of 100 comments is well under 1 MiB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Why a poll failed; the poller backs off and tries again, nothing is acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// The site could not be reached, or did not answer within the timeout.
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The site answered with an error status.
    #[error("{url} answered {status}{detail}")]
    Status {
        /// The address asked (never with credentials).
        url: String,
        /// The HTTP status.
        status: u16,
        /// WordPress's error code and message when it sent one, else empty.
        detail: String,
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

/// The client one source polls with.
pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
}

/// Reads an answer's body, refusing one over the cap.
pub(crate) async fn body(mut response: reqwest::Response) -> Result<Vec<u8>, PollError> {
    let url = response.url().to_string();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY as u64)
    {
        return Err(PollError::TooLarge { url });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_BODY {
            return Err(PollError::TooLarge { url });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The error for a non-success answer, with WordPress's `{"code", "message"}` when the body
/// is one (`rest_forbidden_context` says the application password is wrong).
pub(crate) async fn status_error(response: reqwest::Response) -> PollError {
    let url = response.url().to_string();
    let status = response.status().as_u16();
    let detail = match body(response).await {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| {
                let code = v.get("code")?.as_str()?.to_string();
                let message = v.get("message").and_then(|m| m.as_str()).unwrap_or("");
                Some(format!(": {code}: {message}"))
            })
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    PollError::Status {
        url,
        status,
        detail,
    }
}
