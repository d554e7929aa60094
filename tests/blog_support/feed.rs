//! A comments feed on 127.0.0.1:0 with an `ETag` and `Last-Modified` per version, answering a
//! matching `If-None-Match` with `304`; and the two broken sites a poller must survive (one
//! answering 500, one accepting connections and never answering).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

struct Inner {
    body: String,
    version: u32,
    /// (If-None-Match sent, status answered) per request.
    asked: Vec<(Option<String>, u16)>,
}

/// The feed site.
#[derive(Clone)]
pub struct FeedSite {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let mut feed = inner.lock().expect("lock");
    let etag = format!("\"comments-v{}\"", feed.version);
    let sent = headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let response = if sent.as_deref() == Some(etag.as_str()) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [
                (
                    "content-type",
                    "application/rss+xml; charset=UTF-8".to_string(),
                ),
                ("etag", etag),
                (
                    "last-modified",
                    format!("Thu, 19 Nov 2026 15:{:02}:08 GMT", feed.version % 60),
                ),
            ],
            feed.body.clone(),
        )
            .into_response()
    };
    feed.asked.push((sent, response.status().as_u16()));
    response
}

impl FeedSite {
    /// A site serving `body` at `/blog/comments/feed/`.
    pub async fn start(body: String) -> FeedSite {
        let inner = Arc::new(Mutex::new(Inner {
            body,
            version: 1,
            asked: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/blog/comments/feed/", axum::routing::get(handle))
            .with_state(inner.clone());
        let addr = crate::support::serve(app).await;
        FeedSite { addr, inner }
    }

    /// The feed's address.
    pub fn url(&self) -> String {
        format!("http://{}/blog/comments/feed/", self.addr)
    }

    /// A new comment on top of the feed (a new version, a new ETag).
    pub fn add_item(&self, item_xml: &str) {
        let mut feed = self.inner.lock().expect("lock");
        let at = feed.body.find("<item>").expect("the feed has items");
        feed.body.insert_str(at, item_xml);
        feed.version += 1;
    }

    /// (If-None-Match sent, status answered) for every request so far.
    pub fn asked(&self) -> Vec<(Option<String>, u16)> {
        self.inner.lock().expect("lock").asked.clone()
    }
}

/// A site that answers every request with 500.
pub async fn failing_site() -> String {
    let app = axum::Router::new().fallback(|| async { StatusCode::INTERNAL_SERVER_ERROR });
    let addr = crate::support::serve(app).await;
    format!("http://{addr}")
}

/// A site that accepts connections and never answers.
pub async fn hanging_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{addr}")
}
