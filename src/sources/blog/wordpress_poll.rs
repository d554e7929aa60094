//! The WordPress poller: asks the REST API for the comments written since the watermark,
//! oldest first, page by page as `X-WP-TotalPages` says, and keeps the watermark in the store
//! only after a page is committed. A poll reads at most [`MAX_PAGES`] pages a stream, and
//! stops at a page that repeats the one before (a site or cache that ignores `page`); both
//! end the poll as a failure the source reports, with what was read kept. With an application password it reads in the `edit`
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
            let mut query = vec![
                ("orderby", "date_gmt".to_string()),
                ("order", "asc".to_string()),
                ("per_page", self.source.per_page.to_string()),
                ("page", page.to_string()),
                ("after", after.clone()),
                ("_embed", "up".to_string()),
            ];
            if self.source.login.is_some() {
                query.push(("context", "edit".to_string()));
            }
            if let Stream::Held = stream {
                query.push(("status", "hold".to_string()));
            }
            let response = self.get(&query).await?;
            let total_pages = response
                .headers()
                .get("x-wp-totalpages")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u32>().ok());
            let items = split_wordpress(&body(response).await?)?;
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
            let more = match total_pages {
                Some(total) => page < total,
                None => count >= self.source.per_page as usize,
            };
            if count == 0 || !more {
                return Ok((new_items, mark));
            }
            if page >= MAX_PAGES {
                return Err(PollError::TooManyPages { pages: MAX_PAGES });
            }
            previous = ids;
            page += 1;
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
            polled.new_items += new_items;
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
