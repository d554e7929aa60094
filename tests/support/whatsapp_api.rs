//! A WhatsApp Cloud API simulator on `127.0.0.1:0`, following the published shapes
//! (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages):
//! `POST /{version}/{phone_number_id}/messages` with `Authorization: Bearer <token>` and a JSON
//! body `{"messaging_product": "whatsapp", "to": WA_ID, "type": "text", "text": {"body"}}`.
//!
//! - Sent: `200 {"messaging_product": "whatsapp", "contacts": [{"input", "wa_id"}],
//!   "messages": [{"id": "wamid..."}]}`.
//! - A wrong token: `401` with the Graph API's error object, `code` 190 (`OAuthException`).
//! - A number the account does not have, or a body that is not a text message: `400`, code 100.
//! - A person who has not written within 24 hours (the customer-service window): `400`, code
//!   131047 ("Re-engagement message"). The window opens with [`WhatsappApiSim::customer_wrote`].
//! - Media (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media):
//!   `GET /{version}/{media_id}` with the token answers `{"messaging_product", "url",
//!   "mime_type", "sha256", "file_size", "id"}` for media added with
//!   [`WhatsappApiSim::add_media`] (400 code 100 for an unknown id, 401 code 190 for a wrong
//!   token); the `url` serves the bytes only with the same `Authorization: Bearer`, as
//!   Meta's `lookaside.fbsbx.com` does (401 without it).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One message the business sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The number it was sent from.
    pub phone_number_id: String,
    /// The person (`wa_id`).
    pub to: String,
    /// The text.
    pub text: String,
}

#[derive(Default)]
struct Inner {
    token: String,
    numbers: Vec<String>,
    /// People inside the 24-hour window.
    open: HashSet<String>,
    sent: Vec<Sent>,
    refused: Vec<(String, i64)>,
    /// Media by id: type and bytes.
    media: std::collections::HashMap<String, (String, Vec<u8>)>,
    addr: Option<SocketAddr>,
}

/// The simulator; clones share it.
#[derive(Clone)]
pub struct WhatsappApiSim {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

fn graph_error(status: StatusCode, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code,
        "fbtrace_id": "AbCdEfGhIjKlMnOpQrStUvW"});
    if let Some(details) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    (status, axum::Json(json!({"error": error}))).into_response()
}

impl WhatsappApiSim {
    /// Starts a simulated account with `token` and its `numbers` (phone number ids).
    pub async fn start(token: &str, numbers: &[&str]) -> WhatsappApiSim {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.into(),
            numbers: numbers.iter().map(|n| n.to_string()).collect(),
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route(
                "/{version}/{number}/messages",
                axum::routing::post(messages),
            )
            .route("/{version}/{media}", axum::routing::get(media_info))
            .route(
                "/whatsapp_business/attachments/",
                axum::routing::get(media_download),
            )
            .with_state(inner.clone());
        // Nothing asks before `start` returns, so the address is known before any answer.
        let addr = super::serve(app).await;
        inner.lock().unwrap_or_else(|e| e.into_inner()).addr = Some(addr);
        WhatsappApiSim { addr, inner }
    }

    /// The versioned base URL to configure as `api_url`.
    pub fn url(&self) -> String {
        format!("http://{}/v21.0", self.addr)
    }

    /// The person wrote just now: the 24-hour window to them is open.
    pub fn customer_wrote(&self, wa_id: &str) {
        self.lock().open.insert(wa_id.into());
    }

    /// Adds media a person sent; returns its media id.
    pub fn add_media(&self, mime_type: &str, bytes: Vec<u8>) -> String {
        let mut inner = self.lock();
        let id = format!("{}", 1_045_882_210_377_100u64 + inner.media.len() as u64);
        inner.media.insert(id.clone(), (mime_type.into(), bytes));
        id
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// The refusals so far: to whom, with which code.
    pub fn refused(&self) -> Vec<(String, i64)> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// `GET /{version}/{media_id}`: where to download the media.
async fn media_info(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_version, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    if bearer(&headers) != Some(inner.token.as_str()) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    }
    let Some((mime_type, bytes)) = inner.media.get(&id) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!(
                "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
            None,
        );
    };
    let addr = inner.addr.expect("listening");
    let url =
        format!("http://{addr}/whatsapp_business/attachments/?mid={id}&ext=1795087200&hash=ATsim");
    axum::Json(
        json!({"messaging_product": "whatsapp", "url": url, "mime_type": mime_type,
        "sha256": "simulated", "file_size": bytes.len(), "id": id}),
    )
    .into_response()
}

/// The media's bytes, to the account's token only.
async fn media_download(
    State(inner): State<Arc<Mutex<Inner>>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    if bearer(&headers) != Some(inner.token.as_str()) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match q.get("mid").and_then(|id| inner.media.get(id)) {
        Some((mime_type, bytes)) => (
            StatusCode::OK,
            [("content-type", mime_type.clone())],
            bytes.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_version, number)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let to_of = |b: &Value| b["to"].as_str().unwrap_or("").to_string();
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if bearer != Some(inner.token.as_str()) {
        inner.refused.push((to_of(&parsed), 190));
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    }
    if !inner.numbers.contains(&number) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            &format!(
                "Unsupported post request. Object with ID '{number}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
            None,
        );
    }
    let to = to_of(&parsed);
    let text = parsed.pointer("/text/body").and_then(Value::as_str);
    let well_formed = parsed["messaging_product"] == "whatsapp"
        && parsed["type"] == "text"
        && !to.is_empty()
        && text.is_some_and(|t| !t.is_empty() && t.chars().count() <= 4096);
    let Some(text) = text.filter(|_| well_formed) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter",
            None,
        );
    };
    if !inner.open.contains(&to) {
        inner.refused.push((to, 131_047));
        return graph_error(
            StatusCode::BAD_REQUEST,
            131_047,
            "(#131047) Re-engagement message",
            Some(
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            ),
        );
    }
    let id = format!("wamid.SIM{}", inner.sent.len() + 1);
    inner.sent.push(Sent {
        phone_number_id: number,
        to: to.clone(),
        text: text.to_string(),
    });
    (
        StatusCode::OK,
        axum::Json(json!({"messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": id}]})),
    )
        .into_response()
}

/// Posts a webhook body to `url` as Meta does: JSON, signed with the app secret in
/// `X-Hub-Signature-256`.
pub async fn post_signed_webhook(
    url: String,
    app_secret: &str,
    body: Vec<u8>,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            leadgate::sources::whatsapp::signature_header(app_secret.as_bytes(), &body),
        )
        .body(body)
        .send()
        .await
        .expect("post")
}
