//! The comments feed poller: a conditional GET (`If-None-Match` / `If-Modified-Since` from the
//! validators kept in the store), `304` means nothing is new, and every entry of a changed
//! feed is handed to intake, whose unique key (the entry's guid) makes the ones already taken
//! no-ops. The validators are kept only after the entries are committed.

use super::config::FeedSource;
use super::fetch::{self, PollError, body, status_error};
use super::poller::{Poll, Polled, submit_all};
use super::stored::StoredFormat;
use super::{ParseError, split_feed};
use crate::shared::Shared;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use serde::{Deserialize, Serialize};

/// What the feed's last changed answer said about its version.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Validators {
    etag: Option<String>,
    last_modified: Option<String>,
}

impl Validators {
    fn of(headers: &HeaderMap) -> Validators {
        let text = |name: reqwest::header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Validators {
            etag: text(ETAG),
            last_modified: text(LAST_MODIFIED),
        }
    }

    fn describe(&self) -> Option<String> {
        self.etag
            .as_ref()
            .map(|e| format!("etag {e}"))
            .or_else(|| self.last_modified.as_ref().map(|m| format!("modified {m}")))
    }
}

/// One feed source's poller.
#[derive(Debug, Clone)]
pub(crate) struct FeedPoller {
    source: FeedSource,
    client: reqwest::Client,
    deps: Shared,
}

impl FeedPoller {
    /// A poller for `source`.
    pub(crate) fn new(source: FeedSource, deps: Shared) -> Result<FeedPoller, reqwest::Error> {
        Ok(FeedPoller {
            client: fetch::client(source.timeout)?,
            source,
            deps,
        })
    }

    fn cursor_key(&self) -> String {
        format!("source:{}:feed", self.source.id)
    }
}

impl Poll for FeedPoller {
    fn source(&self) -> &str {
        &self.source.id
    }

    async fn poll(&mut self) -> Result<Polled, PollError> {
        let key = self.cursor_key();
        let cached: Validators = self
            .deps
            .store
            .get_cursor(&key)
            .await?
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let mut request = self.client.get(self.source.url.clone()).header(
            ACCEPT,
            "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5",
        );
        if let Some(etag) = &cached.etag {
            request = request.header(IF_NONE_MATCH, etag.as_str());
        }
        if let Some(modified) = &cached.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified.as_str());
        }
        let response = request.send().await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Polled {
                new_items: 0,
                cursor: cached.describe(),
            });
        }
        if !response.status().is_success() {
            return Err(status_error(response).await);
        }
        let fresh = Validators::of(response.headers());
        let items = split_feed(&body(response).await?)?;
        let new_items = submit_all(&self.deps, &self.source.id, StoredFormat::Feed, items).await?;
        if fresh != cached {
            let text = serde_json::to_string(&fresh).map_err(ParseError::Json)?;
            self.deps
                .store
                .set_cursor(&key, &text, self.deps.clock.now())
                .await?;
        }
        Ok(Polled {
            new_items,
            cursor: fresh.describe(),
        })
    }
}
