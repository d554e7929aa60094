//! A site that redirects, and the private server it points at (issue 15, item 2): a poller
//! must follow a redirect only within the site's own origin, never into another server (an
//! address on the private network), and must not publish what such a server answers.
//!
//! The site answers `/moved/feed` with a `301` to `/feed` on itself (same origin), serves the
//! corpus feed at `/feed`, redirects `/loop/feed` to itself for ever, and answers any other
//! path with a `302` to the private server. The private server counts its hits and answers a
//! WordPress-style error whose text is a secret.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The text the private server answers with: it must never reach `/readyz`.
pub const PRIVATE_TEXT: &str = "internal-billing-db password=Tr0ub4dor";

/// The private server: counts every request.
#[derive(Clone)]
pub struct PrivateServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn private(State(hits): State<Arc<AtomicUsize>>) -> Response {
    hits.fetch_add(1, Ordering::SeqCst);
    let body = serde_json::json!({"code": "internal_error", "message": PRIVATE_TEXT});
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
}

impl PrivateServer {
    /// Starts it on 127.0.0.1:0.
    pub async fn start() -> PrivateServer {
        let hits = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .fallback(private)
            .with_state(hits.clone());
        let addr = crate::support::serve(app).await;
        PrivateServer { addr, hits }
    }

    /// The address a redirect points at.
    pub fn url(&self) -> String {
        format!("http://{}/private/admin?token=abc", self.addr)
    }

    /// Requests it received.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

struct Site {
    feed: String,
    private: String,
    hits: AtomicUsize,
}

/// The redirecting site.
#[derive(Clone)]
pub struct RedirectSite {
    addr: SocketAddr,
    site: Arc<Site>,
}

async fn handle(State(site): State<Arc<Site>>, uri: axum::http::Uri) -> Response {
    site.hits.fetch_add(1, Ordering::SeqCst);
    match uri.path() {
        "/moved/feed" => (StatusCode::MOVED_PERMANENTLY, [("location", "/feed")]).into_response(),
        "/loop/feed" => {
            (StatusCode::TEMPORARY_REDIRECT, [("location", "/loop/feed")]).into_response()
        }
        "/feed" => (
            [("content-type", "application/rss+xml; charset=UTF-8")],
            site.feed.clone(),
        )
            .into_response(),
        _ => (StatusCode::FOUND, [("location", site.private.clone())]).into_response(),
    }
}

impl RedirectSite {
    /// Starts it on 127.0.0.1:0, serving `feed` and redirecting elsewhere to `private`.
    pub async fn start(feed: String, private: &PrivateServer) -> RedirectSite {
        let site = Arc::new(Site {
            feed,
            private: private.url(),
            hits: AtomicUsize::new(0),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(site.clone());
        let addr = crate::support::serve(app).await;
        RedirectSite { addr, site }
    }

    /// An address on the site.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests it received.
    pub fn hits(&self) -> usize {
        self.site.hits.load(Ordering::SeqCst)
    }
}
