//! A VK API simulator on `127.0.0.1:0`, following the published shapes
//! (https://dev.vk.com/method/messages.send): `POST /method/messages.send` with a form body
//! (`access_token`, `v`, `peer_id`, `random_id`, `message`); answers `{"response": ID}` or
//! `{"error": {"error_code", "error_msg", "request_params"}}` with HTTP 200, as VK does.
//!
//! - A wrong token: error 5 ("User authorization failed: invalid access_token").
//! - A person who has not allowed the community to write (never wrote to it): error 901.
//! - A `random_id` already used with the same peer is not sent again: the first message's
//!   id is answered, as VK de-duplicates.
//! - `users.get` (https://dev.vk.com/method/users.get) with `user_ids`: `{"response":
//!   [{"id", "first_name", "last_name", "can_access_closed", "is_closed"}]}` for people added
//!   with [`VkApiSim::add_user`]; error 113 ("Invalid user id") for anyone else, error 5 for
//!   a wrong token.
//! - Files: photos and documents added with [`VkApiSim::add_file`] are served at `GET
//!   /impg/{name}` (as `sun9-*.userapi.com/impg/...` serves a photo size's `url`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One message the community sent.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The dialog.
    pub peer_id: i64,
    /// The text.
    pub text: String,
    /// The API version asked for.
    pub version: String,
}

#[derive(Default)]
struct Inner {
    token: String,
    allowed: HashSet<i64>,
    sent: Vec<Sent>,
    by_random: HashMap<(i64, i64), i64>,
    refused: Vec<(i64, i64)>,
    files: HashMap<String, Vec<u8>>,
    users: HashMap<i64, (String, String)>,
    users_get: u32,
}

/// The simulator; clones share it.
#[derive(Clone)]
pub struct VkApiSim {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl VkApiSim {
    /// Starts a community whose access token is `token`.
    pub async fn start(token: &str) -> VkApiSim {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.into(),
            ..Inner::default()
        }));
        let app = axum::Router::new()
            .route("/method/messages.send", axum::routing::post(send))
            .route("/impg/{name}", axum::routing::get(file))
            .route("/method/users.get", axum::routing::post(users_get))
            .with_state(inner.clone());
        let addr = super::serve(app).await;
        VkApiSim { addr, inner }
    }

    /// The base URL to configure as `api_url`.
    pub fn url(&self) -> String {
        format!("http://{}/method", self.addr)
    }

    /// The person wrote to the community, so it may write back.
    pub fn allow(&self, user_id: i64) {
        self.lock().allowed.insert(user_id);
    }

    /// Adds a person `users.get` knows.
    pub fn add_user(&self, id: i64, first_name: &str, last_name: &str) {
        self.lock()
            .users
            .insert(id, (first_name.into(), last_name.into()));
    }

    /// How many `users.get` calls came.
    pub fn users_get_calls(&self) -> u32 {
        self.lock().users_get
    }

    /// Adds a file VK serves; returns its address.
    pub fn add_file(&self, bytes: Vec<u8>) -> String {
        let mut inner = self.lock();
        let name = format!("c{}-AbCd.jpg", inner.files.len() + 1);
        inner.files.insert(name.clone(), bytes);
        format!(
            "http://{}/impg/{name}?size=1280x960&quality=95&type=album",
            self.addr
        )
    }

    /// Everything sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// The refusals so far: to whom, with which error code.
    pub fn refused(&self) -> Vec<(i64, i64)> {
        self.lock().refused.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn users_get(
    State(inner): State<Arc<Mutex<Inner>>>,
    axum::extract::Form(params): axum::extract::Form<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.users_get += 1;
    if params.get("access_token") != Some(&inner.token) {
        return vk_error(
            5,
            "User authorization failed: invalid access_token (4).",
            &params,
        );
    }
    if !params.contains_key("v") {
        return vk_error(8, "Invalid request: v (version) is required", &params);
    }
    let id = params.get("user_ids").and_then(|p| p.parse::<i64>().ok());
    match id.and_then(|id| inner.users.get(&id).map(|u| (id, u))) {
        Some((id, (first, last))) => axum::Json(json!({"response": [{"id": id,
            "first_name": first, "last_name": last,
            "can_access_closed": true, "is_closed": false}]}))
        .into_response(),
        None => vk_error(113, "Invalid user id", &params),
    }
}

async fn file(
    State(inner): State<Arc<Mutex<Inner>>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    let inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    match inner.files.get(&name) {
        Some(bytes) => ([("content-type", "image/jpeg")], bytes.clone()).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

fn vk_error(code: i64, msg: &str, params: &HashMap<String, String>) -> Response {
    let request_params: Vec<Value> = params
        .iter()
        .filter(|(k, _)| k.as_str() != "access_token")
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    axum::Json(json!({"error": {"error_code": code, "error_msg": msg,
        "request_params": request_params}}))
    .into_response()
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    axum::extract::Form(params): axum::extract::Form<HashMap<String, String>>,
) -> Response {
    let mut inner = inner.lock().unwrap_or_else(|e| e.into_inner());
    let peer = params.get("peer_id").and_then(|p| p.parse::<i64>().ok());
    if params.get("access_token") != Some(&inner.token) {
        inner.refused.push((peer.unwrap_or_default(), 5));
        return vk_error(
            5,
            "User authorization failed: invalid access_token (4).",
            &params,
        );
    }
    let random = params.get("random_id").and_then(|r| r.parse::<i64>().ok());
    let (Some(peer), Some(random), Some(text)) = (peer, random, params.get("message")) else {
        return vk_error(
            100,
            "One of the parameters specified was missing or invalid",
            &params,
        );
    };
    if !params.contains_key("v") {
        return vk_error(8, "Invalid request: v (version) is required", &params);
    }
    if !inner.allowed.contains(&peer) {
        inner.refused.push((peer, 901));
        return vk_error(
            901,
            "Can't send messages for users without permission",
            &params,
        );
    }
    if let Some(id) = inner.by_random.get(&(peer, random)) {
        return axum::Json(json!({"response": id})).into_response();
    }
    let id = 5000 + inner.sent.len() as i64;
    inner.by_random.insert((peer, random), id);
    inner.sent.push(Sent {
        peer_id: peer,
        text: text.clone(),
        version: params.get("v").cloned().unwrap_or_default(),
    });
    axum::Json(json!({"response": id})).into_response()
}
