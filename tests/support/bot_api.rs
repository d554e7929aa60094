//! A Telegram Bot API simulator on `127.0.0.1:0`, following the published shapes
//! (https://core.telegram.org/bots/api): `POST /bot<token>/<method>` with parameters in the
//! query string, a JSON body or a form body; answers `{"ok": true, "result": ...}` or
//! `{"ok": false, "error_code": ..., "description": ...}`.
//!
//! - `getUpdates` takes `offset`, `limit` (1–100, default 100) and `timeout` (seconds of long
//!   polling: the request is held until an update is queued or the time is up). An update is
//!   returned again and again until a call with a higher `offset` confirms it; a negative
//!   offset forgets all but the last `-offset` updates.
//! - `sendMessage` is recorded (`chat_id`, `text`, `reply_markup`) and answered with the sent
//!   Message.
//! - A wrong token gets `401 Unauthorized`; an unknown method `404 Not Found`.
//!
//! Update ids are the simulator's own, increasing one by one as Telegram's do, whatever id a
//! queued sample carried.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// The token the simulated bot has.
pub const TOKEN: &str = "7012345678:AAH_simulated-token_0123456789";

/// The bot's own user id (the corpus's `@teplodom_bot`).
const BOT_ID: i64 = 7012345678;

/// One `sendMessage` the bot made.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The chat written to.
    pub chat_id: i64,
    /// The text.
    pub text: String,
    /// The keyboard, as JSON, when one was attached.
    pub reply_markup: Option<Value>,
}

#[derive(Default)]
struct Inner {
    next_update_id: i64,
    next_message_id: i64,
    /// Unconfirmed updates, oldest first.
    queue: VecDeque<Value>,
    /// How many times each update id was returned by `getUpdates`.
    returned: HashMap<i64, u32>,
    sent: Vec<Sent>,
    /// While true, `getUpdates` answers 502 without looking at its offset (Telegram out of
    /// reach behind a proxy).
    down: bool,
    /// Go down right after the next `getUpdates` that returns updates.
    down_after_delivery: bool,
    /// The offsets of the `getUpdates` calls answered 502.
    refused_offsets: Vec<Option<i64>>,
}

/// The simulator; clones share it.
#[derive(Clone)]
pub struct BotApiSim {
    /// Where it listens.
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    queued: watch::Sender<i64>,
}

#[derive(Clone)]
struct Sim {
    inner: Arc<Mutex<Inner>>,
    queued: watch::Sender<i64>,
}

impl BotApiSim {
    /// Starts the simulator.
    pub async fn start() -> BotApiSim {
        let inner = Arc::new(Mutex::new(Inner {
            next_update_id: 815_000_001,
            next_message_id: 9_001,
            ..Inner::default()
        }));
        let (queued, _) = watch::channel(0);
        let sim = Sim {
            inner: inner.clone(),
            queued: queued.clone(),
        };
        let app = axum::Router::new()
            .route("/{bot}/{method}", axum::routing::post(method).get(method))
            .with_state(sim);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        BotApiSim {
            addr,
            inner,
            queued,
        }
    }

    /// The base URL to configure as `api_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an Update (its `update_id` replaced by the next one); returns the id.
    pub fn push(&self, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.lock();
            let id = inner.next_update_id;
            inner.next_update_id += 1;
            update["update_id"] = id.into();
            inner.queue.push_back(update);
            id
        };
        self.queued.send_replace(id);
        id
    }

    /// Queues a private text message from the person `chat_id` (a private chat's id is the
    /// user's id); returns the update id.
    pub fn push_text(&self, chat_id: i64, first_name: &str, text: &str) -> i64 {
        let message_id = {
            let mut inner = self.lock();
            inner.next_message_id += 1;
            inner.next_message_id
        };
        self.push(json!({
            "update_id": 0,
            "message": {
                "message_id": message_id,
                "from": {"id": chat_id, "is_bot": false, "first_name": first_name, "language_code": "ru"},
                "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
                "date": 1_795_000_000,
                "text": text,
            }
        }))
    }

    /// Every `sendMessage` so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// The `sendMessage` calls to one chat.
    pub fn sent_to(&self, chat_id: i64) -> Vec<Sent> {
        self.sent()
            .into_iter()
            .filter(|s| s.chat_id == chat_id)
            .collect()
    }

    /// How many times `getUpdates` returned the update.
    pub fn returned(&self, update_id: i64) -> u32 {
        self.lock().returned.get(&update_id).copied().unwrap_or(0)
    }

    /// How many updates are not confirmed yet.
    pub fn unconfirmed(&self) -> usize {
        self.lock().queue.len()
    }

    /// Makes `getUpdates` answer 502 (or work again).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Makes the simulator go down right after the next `getUpdates` that returns updates, so
    /// they stay unconfirmed.
    pub fn go_down_after_next_delivery(&self) {
        self.lock().down_after_delivery = true;
    }

    /// The offsets of the `getUpdates` calls refused while down.
    pub fn refused_offsets(&self) -> Vec<Option<i64>> {
        self.lock().refused_offsets.clone()
    }
}

fn error(status: StatusCode, description: &str) -> Response {
    let body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    (status, axum::Json(body)).into_response()
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

/// The call's parameters: the query string, then the JSON or form body.
fn params(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, String> {
    let mut params = Map::new();
    let form = |bytes: &[u8], params: &mut Map<String, Value>| {
        for (k, v) in form_urlencoded::parse(bytes) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(q.as_bytes(), &mut params);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => params.extend(map),
            _ => return Err("Bad Request: can't parse JSON object".into()),
        }
    } else if !body.is_empty() {
        form(body, &mut params);
    }
    Ok(params)
}

/// An integer parameter, given as a JSON number or as text.
fn int(params: &Map<String, Value>, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

async fn method(
    State(sim): State<Sim>,
    Path((bot, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if bot.strip_prefix("bot") != Some(TOKEN) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let params = match params(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    match method.to_ascii_lowercase().as_str() {
        "getupdates" => get_updates(&sim, &params).await,
        "sendmessage" => send_message(&sim, &params),
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn get_updates(sim: &Sim, params: &Map<String, Value>) -> Response {
    let offset = int(params, "offset");
    let limit = int(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = Duration::from_secs(int(params, "timeout").unwrap_or(0).clamp(0, 50) as u64);
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribed before looking at the queue, so an update queued in between wakes the wait.
    let mut queued = sim.queued.subscribe();
    loop {
        {
            let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
            if inner.down {
                inner.refused_offsets.push(offset);
                drop(inner);
                return (StatusCode::BAD_GATEWAY, "Bad Gateway").into_response();
            }
            match offset {
                Some(o) if o > 0 => inner
                    .queue
                    .retain(|u| u["update_id"].as_i64().is_some_and(|id| id >= o)),
                Some(o) if o < 0 => {
                    let keep = usize::try_from(o.unsigned_abs()).unwrap_or(usize::MAX);
                    let excess = inner.queue.len().saturating_sub(keep);
                    inner.queue.drain(..excess);
                }
                _ => {}
            }
            let batch: Vec<Value> = inner.queue.iter().take(limit).cloned().collect();
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                for u in &batch {
                    if let Some(id) = u["update_id"].as_i64() {
                        *inner.returned.entry(id).or_default() += 1;
                    }
                }
                if !batch.is_empty() && inner.down_after_delivery {
                    inner.down_after_delivery = false;
                    inner.down = true;
                }
                return ok(Value::Array(batch));
            }
        }
        tokio::select! {
            _ = queued.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}

fn send_message(sim: &Sim, params: &Map<String, Value>) -> Response {
    let Some(chat_id) = int(params, "chat_id") else {
        return error(StatusCode::BAD_REQUEST, "Bad Request: chat not found");
    };
    let text = params
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if text.trim().is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message text is empty",
        );
    }
    // A JSON-serialized object in form bodies, an object in JSON bodies.
    let reply_markup = match params.get("reply_markup") {
        None => None,
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(v) => Some(v),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: can't parse reply keyboard markup JSON object",
                );
            }
        },
        Some(v) => Some(v.clone()),
    };
    let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.next_message_id += 1;
    let message = json!({
        "message_id": inner.next_message_id,
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "ТеплоДом", "username": "teplodom_bot"},
        "chat": {"id": chat_id, "type": "private"},
        "date": 1_795_000_000,
        "text": text,
    });
    inner.sent.push(Sent {
        chat_id,
        text,
        reply_markup,
    });
    ok(message)
}
