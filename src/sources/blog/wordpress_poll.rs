//! The WordPress poller: asks the REST API for the comments written since the watermark,
//! oldest first, page by page as `X-WP-TotalPages` says, and keeps the watermark in the store
//! only after a page is committed. A poll reads at most [`MAX_PAGES`] pages a stream, and
//! stops at a page that repeats the one before (a site or cache that ignores `page`); both
//! end the poll as a failure the source reports, with what was read kept. After a forward
//! read, each stream is read again newest first over the `recheck` window behind its
//! watermark (at most [`RECHECK_PAGES`] pages): a comment held for moderation and approved
//! later keeps its old date, so the forward read has passed it. With an application password it reads in the `edit`
//! context (the authors' e-mails) and also polls the comments held for moderation.
//!
//! `GET {site}/wp-json/wp/v2/comments` is the address on a site with pretty permalinks; when
//! it answers 404 the poller tries `{site}/?rest_route=/wp/v2/comments` and remembers the one
//! that works. `_embed=up` brings the post, whose title becomes the lead's subject.

use super::config::WordpressSource;
use super::fetch::{self, PollError, body, status_error};
use super::poller::{Poll, Polled, submit_all};
use super::stored::StoredFormat;
use super::watermark::{Watermark, parse_date_gmt};
use super::{ParseError, split_wordpress};
use crate::shared::Shared;
use crate::sources::item::Item;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::ACCEPT;

/// The most pages one poll reads per stream (100 comments each by default): a site whose
/// pages never end cannot keep the poller busy, and a real backlog is read on at the next poll.
const MAX_PAGES: u32 = 20;

/// The most pages one poll reads again per stream, newest first, for comments approved late:
/// at 100 a page, the newest 500 comments of the `recheck` window.
const RECHECK_PAGES: u32 = 5;

/// Which end of a stream a read starts at.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// Oldest first: the forward read from the watermark.
    Oldest,
    /// Newest first: the recheck behind the watermark.
    Newest,
}

/// Which address form the site answers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// `/wp-json/wp/v2/comments` (pretty permalinks).
    Pretty,
    /// `/?rest_route=/wp/v2/comments` (plain permalinks).
    Plain,
}

/// A stream of comments with its own watermark.
#[derive(Debug, Clone, Copy)]
enum Stream {
    /// Published comments.
    Approved,
    /// Comments held for moderation (needs the application password).
    Held,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Approved => "approved",
            Stream::Held => "hold",
        }
    }
}

/// One WordPress source's poller.
#[derive(Debug, Clone)]
pub(crate) struct WordpressPoller {
    source: WordpressSource,
    client: reqwest::Client,
    deps: Shared,
    /// The route that answered last, once one has.
    route: Option<Route>,
}

impl WordpressPoller {
    /// A poller for `source`.
    pub(crate) fn new(
        source: WordpressSource,
        deps: Shared,
    ) -> Result<WordpressPoller, reqwest::Error> {
        Ok(WordpressPoller {
            client: fetch::client(source.timeout)?,
            source,
            deps,
            route: None,
        })
    }

    fn streams(&self) -> &'static [Stream] {
        if self.source.login.is_some() {
            &[Stream::Approved, Stream::Held]
        } else {
            &[Stream::Approved]
        }
    }

    fn cursor_key(&self, stream: Stream) -> String {
        format!("source:{}:{}", self.source.id, stream.name())
    }

    async fn send(
        &self,
        route: Route,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response, reqwest::Error> {
        let mut request = self
            .client
            .get(comments_url(&self.source.site_url, route))
            .query(query)
            .header(ACCEPT, "application/json");
        if let Some(login) = &self.source.login {
            request = request.basic_auth(&login.user, Some(login.app_password.expose()));
        }
        request.send().await
    }

    /// One successful answer, on the route that works.
    async fn get(&mut self, query: &[(&str, String)]) -> Result<reqwest::Response, PollError> {
        let mut route = self.route.unwrap_or(Route::Pretty);
        let mut response = self.send(route, query).await?;
        if response.status() == StatusCode::NOT_FOUND && self.route.is_none() {
            tracing::info!(
                source = self.source.id,
                "The REST API is not at /wp-json/ (plain permalinks?); trying ?rest_route=."
            );
            route = Route::Plain;
            response = self.send(route, query).await?;
        }
        if !response.status().is_success() {
            if response.status() == StatusCode::NOT_FOUND {
                self.route = None; // the site changed: look again next time
            }
            return Err(status_error(response).await);
        }
        self.route = Some(route);
        Ok(response)
    }

    /// Takes every comment of `stream` past its watermark; returns how many were new and
    /// where the stream stands.
    async fn poll_stream(&mut self, stream: Stream) -> Result<(usize, Watermark), PollError> {
        let key = self.cursor_key(stream);
        let mut mark = self.watermark(&key).await?;
        let after = mark.after_param();
        let mut new_items = 0;
        let mut page = 1u32;
        let mut previous: Vec<String> = Vec::new();
        loop {
            let query = self.query(stream, Order::Oldest, page, &after);
            let (items, total_pages) = self.page(&query).await?;
            let count = items.len();
            let ids: Vec<String> = items.iter().map(|i| i.dedupe_key.clone()).collect();
            if count > 0 && ids == previous {
                return Err(PollError::RepeatedPage { page });
            }
            let (fresh, dated): (Vec<Item>, Vec<_>) = items
                .into_iter()
                .filter_map(|item| {
                    let at = date_gmt(&item.payload);
                    if at.is_some_and(|at| mark.has(at, &item.dedupe_key)) {
                        return None;
                    }
                    let key = item.dedupe_key.clone();
                    Some((item, (at, key)))
                })
                .unzip();
            new_items +=
                submit_all(&self.deps, &self.source.id, StoredFormat::Wordpress, fresh).await?;
            let before = mark.clone();
            for (at, id) in dated {
                if let Some(at) = at {
                    mark.advance(at, &id);
                }
            }
            if mark != before {
                let text = serde_json::to_string(&mark).map_err(ParseError::Json)?;
                self.deps
                    .store
                    .set_cursor(&key, &text, self.deps.clock.now())
                    .await?;
            }
            if count == 0 || !self.more_after(page, count, total_pages) {
                return Ok((new_items, mark));
            }
            if page >= MAX_PAGES {
                return Err(PollError::TooManyPages { pages: MAX_PAGES });
            }
            previous = ids;
            page += 1;
        }
    }

    /// Reads `stream` again from `recheck` before its watermark, newest first, for comments
    /// published after later ones were taken: a comment held for moderation keeps its own
    /// date when it is approved, so the watermark may already be past it. Intake's dedupe
    /// drops the ones already taken. At most [`RECHECK_PAGES`] pages a poll; a page that
    /// repeats the one before ends it quietly (the forward read reports such a site).
    async fn recheck_stream(
        &mut self,
        stream: Stream,
        mark: &Watermark,
    ) -> Result<usize, PollError> {
        let Some(after) = mark.recheck_param(self.source.recheck) else {
            return Ok(0);
        };
        let mut found = 0;
        let mut previous: Vec<String> = Vec::new();
        for page in 1..=RECHECK_PAGES {
            let query = self.query(stream, Order::Newest, page, &after);
            let (items, total_pages) = self.page(&query).await?;
            let count = items.len();
            let ids: Vec<String> = items.iter().map(|i| i.dedupe_key.clone()).collect();
            if count == 0 || ids == previous {
                break;
            }
            found +=
                submit_all(&self.deps, &self.source.id, StoredFormat::Wordpress, items).await?;
            if !self.more_after(page, count, total_pages) {
                break;
            }
            previous = ids;
        }
        if found > 0 {
            tracing::info!(
                source = self.source.id,
                stream = stream.name(),
                found,
                "Comments published after later ones were taken (approved from moderation?) are taken now."
            );
        }
        Ok(found)
    }

    /// The query for one page of `stream` written after `after`.
    fn query(
        &self,
        stream: Stream,
        order: Order,
        page: u32,
        after: &str,
    ) -> Vec<(&'static str, String)> {
        let order = match order {
            Order::Oldest => "asc",
            Order::Newest => "desc",
        };
        let mut query = vec![
            ("orderby", "date_gmt".to_string()),
            ("order", order.to_string()),
            ("per_page", self.source.per_page.to_string()),
            ("page", page.to_string()),
            ("after", after.to_string()),
            ("_embed", "up".to_string()),
        ];
        if self.source.login.is_some() {
            query.push(("context", "edit".to_string()));
        }
        if let Stream::Held = stream {
            query.push(("status", "hold".to_string()));
        }
        query
    }

    /// One page's comments and the page count the site sent (`X-WP-TotalPages`).
    async fn page(
        &mut self,
        query: &[(&str, String)],
    ) -> Result<(Vec<Item>, Option<u32>), PollError> {
        let response = self.get(query).await?;
        let total_pages = response
            .headers()
            .get("x-wp-totalpages")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u32>().ok());
        let items = split_wordpress(&body(response).await?)?;
        Ok((items, total_pages))
    }

    /// Whether a page comes after `page` (of `count` comments): as `X-WP-TotalPages` says,
    /// or, without it, while pages are full.
    fn more_after(&self, page: u32, count: usize, total_pages: Option<u32>) -> bool {
        match total_pages {
            Some(total) => page < total,
            None => count >= self.source.per_page as usize,
        }
    }

    /// The stream's stored watermark, or the backfill start for a stream seen for the first
    /// time (or whose cursor cannot be read: intake's dedupe makes re-reading harmless).
    async fn watermark(&self, key: &str) -> Result<Watermark, PollError> {
        let start = || Watermark::start(self.deps.clock.now(), self.source.backfill);
        Ok(match self.deps.store.get_cursor(key).await? {
            Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
                tracing::warn!(source = self.source.id, cursor = key, error = %e, "Unreadable watermark; reading the backfill window again.");
                start()
            }),
            None => start(),
        })
    }
}

/// The comments collection's address on `site` by `route`.
fn comments_url(site: &reqwest::Url, route: Route) -> reqwest::Url {
    let mut url = site.clone();
    let base = url.path().trim_end_matches('/').to_string();
    match route {
        Route::Pretty => url.set_path(&format!("{base}/wp-json/wp/v2/comments")),
        Route::Plain => {
            url.set_path(&format!("{base}/"));
            url.query_pairs_mut()
                .append_pair("rest_route", "/wp/v2/comments");
        }
    }
    url
}

/// A stored comment's `date_gmt`.
fn date_gmt(payload: &[u8]) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Dated {
        date_gmt: Option<String>,
    }
    let dated: Dated = serde_json::from_slice(payload).ok()?;
    parse_date_gmt(dated.date_gmt.as_deref()?)
}

impl Poll for WordpressPoller {
    fn source(&self) -> &str {
        &self.source.id
    }

    async fn poll(&mut self) -> Result<Polled, PollError> {
        let mut polled = Polled::default();
        let mut positions = Vec::new();
        for &stream in self.streams() {
            let (new_items, mark) = self.poll_stream(stream).await?;
            polled.new_items += new_items + self.recheck_stream(stream, &mark).await?;
            positions.push(format!(
                "{} {}",
                stream.name(),
                mark.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        polled.cursor = Some(positions.join(", "));
        Ok(polled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(site: &str, route: Route) -> String {
        let site = reqwest::Url::parse(site).expect("a URL");
        comments_url(&site, route).to_string()
    }

    #[test]
    fn both_routes_keep_the_site_path() {
        assert_eq!(
            url("https://example.ru/blog/", Route::Pretty),
            "https://example.ru/blog/wp-json/wp/v2/comments"
        );
        assert_eq!(
            url("https://example.ru/blog", Route::Plain),
            "https://example.ru/blog/?rest_route=%2Fwp%2Fv2%2Fcomments"
        );
        assert_eq!(
            url("https://example.ru", Route::Pretty),
            "https://example.ru/wp-json/wp/v2/comments"
        );
    }

    #[test]
    fn reads_date_gmt() {
        let at = date_gmt(br#"{"id":1,"date_gmt":"2026-11-19T18:14:09"}"#);
        assert_eq!(at, parse_date_gmt("2026-11-19T18:14:09"));
        assert_eq!(date_gmt(br#"{"id":1}"#), None);
    }
}
