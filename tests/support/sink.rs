//! A real HTTP server standing in for a CRM: records every request (headers and body) and
//! answers with a scripted sequence of statuses. It records the method and path as well, for
//! CRM presets that post to paths under the sink's URL, and a successful call to a method and
//! path given an answer gets that JSON body (a CRM's ids for the preset to capture).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The method.
    pub method: String,
    /// The path and query it was sent to (presets post to paths under the sink's URL).
    pub path: String,
    /// Headers, lower-cased names.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("the sink got JSON")
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<u16>,
    received: Vec<Received>,
    delay: std::time::Duration,
    /// `(method, path, body)` for 2xx answers.
    answers: Vec<(String, String, serde_json::Value)>,
}

/// The sink server.
#[derive(Clone)]
pub struct Sink {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let delay = inner.lock().expect("lock").delay;
    tokio::time::sleep(delay).await;
    let mut i = inner.lock().expect("lock");
    let status = i.script.pop_front().unwrap_or(200);
    let answer = i
        .answers
        .iter()
        .find(|(m, p, _)| *m == method.as_str() && *p == uri.path())
        .filter(|_| (200..300).contains(&status))
        .map(|(_, _, body)| body.clone());
    i.received.push(Received {
        method: method.to_string(),
        path: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_string(), ToString::to_string),
        headers,
        body,
        answered: status,
    });
    let status = StatusCode::from_u16(status).expect("valid status");
    match answer {
        Some(body) => (status, axum::Json(body)).into_response(),
        None => status.into_response(),
    }
}

impl Sink {
    /// Starts a sink that answers `script` in order, then 200.
    pub async fn start(script: &[u16]) -> Sink {
        let inner = Arc::new(Mutex::new(Inner {
            script: script.iter().copied().collect(),
            received: Vec::new(),
            delay: std::time::Duration::ZERO,
            answers: Vec::new(),
        }));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(handle))
            // Any other path too: a preset posts to paths under the sink's URL.
            .fallback(handle)
            .with_state(inner.clone());
        let addr = super::serve(app).await;
        Sink { addr, inner }
    }

    /// Makes every answer wait `delay` first (a CRM that hangs).
    pub fn set_delay(&self, delay: std::time::Duration) {
        self.inner.lock().expect("lock").delay = delay;
    }

    /// The URL to configure.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }

    /// How many requests arrived (cheap: for waits over thousands of events).
    pub fn count(&self) -> usize {
        self.inner.lock().expect("lock").received.len()
    }

    /// The first `n` JSON events received, waiting up to 10 s for them.
    pub async fn events(&self, n: usize) -> Vec<serde_json::Value> {
        super::daemon::eventually(std::time::Duration::from_secs(10), || async {
            let got: Vec<serde_json::Value> = self.received().iter().map(Received::json).collect();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| {
            let kinds: Vec<_> = self
                .received()
                .iter()
                .map(|r| r.json()["type"].clone())
                .collect();
            panic!("expected {n} events, got {kinds:?}")
        })
    }

    /// Answers a successful `method` call to `path` (without the query) with `body` as JSON.
    pub fn answer(&self, method: &str, path: &str, body: serde_json::Value) {
        self.inner
            .lock()
            .expect("lock")
            .answers
            .push((method.to_string(), path.to_string(), body));
    }

    /// Appends statuses to the script.
    pub fn script(&self, statuses: &[u16]) {
        self.inner
            .lock()
            .expect("lock")
            .script
            .extend(statuses.iter().copied());
    }
}

/// The id of the manager an event's lead is assigned to (empty when held).
pub fn manager_of(event: &serde_json::Value) -> String {
    event["data"]["assignment"]["manager"]["id"]
        .as_str()
        .unwrap_or("")
        .to_string()
}
