//! A host that keeps files people uploaded through a form builder (as Tilda's upload widget
//! or Typeform's file API does): `GET /f/{name}` answers a file added with
//! [`FileHost::add_file`], `GET /r/{name}` redirects (302) where
//! [`FileHost::add_redirect`] says, and every request is recorded with its `Authorization`
//! header, so a test can show which addresses leadgate asked and with what.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One request the host answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The path asked.
    pub path: String,
    /// Its `Authorization` header, if any.
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    files: HashMap<String, Vec<u8>>,
    redirects: HashMap<String, String>,
    asked: Vec<Asked>,
}

/// The running host.
#[derive(Clone)]
pub struct FileHost {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FileHost {
    /// Starts the host on a random port of 127.0.0.1.
    pub async fn start() -> FileHost {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .route("/f/{name}", axum::routing::get(file))
            .route("/r/{name}", axum::routing::get(redirect))
            .with_state(inner.clone());
        let addr = super::serve(app).await;
        FileHost { addr, inner }
    }

    /// Keeps `bytes` as `name`; its address on 127.0.0.1.
    pub fn add_file(&self, name: &str, bytes: Vec<u8>) -> String {
        self.lock().files.insert(name.to_string(), bytes);
        format!("http://{}/f/{name}", self.addr)
    }

    /// An address on 127.0.0.1 that redirects to `to`.
    pub fn add_redirect(&self, name: &str, to: &str) -> String {
        self.lock()
            .redirects
            .insert(name.to_string(), to.to_string());
        format!("http://{}/r/{name}", self.addr)
    }

    /// The port it listens on (`localhost:{port}` reaches it under another host name).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request so far, in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.lock().asked.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn record<'a>(
    inner: &'a Mutex<Inner>,
    path: String,
    headers: &HeaderMap,
) -> std::sync::MutexGuard<'a, Inner> {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    let authorization = (headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    inner.asked.push(Asked {
        path,
        authorization,
    });
    inner
}

async fn file(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = record(&inner, format!("/f/{name}"), &headers);
    match inner.files.get(&name) {
        Some(bytes) => bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn redirect(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let inner = record(&inner, format!("/r/{name}"), &headers);
    match inner.redirects.get(&name) {
        Some(to) => (StatusCode::FOUND, [(header::LOCATION, to.clone())]).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
