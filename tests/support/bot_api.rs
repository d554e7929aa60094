//! A Telegram Bot API simulator on `127.0.0.1:0`, following the published shapes
//! (https://core.telegram.org/bots/api): `POST /bot<token>/<method>` with parameters in the
//! query string, a JSON body or a form body; answers `{"ok": true, "result": ...}` or
//! `{"ok": false, "error_code": ..., "description": ...}`.
//!
//! - `getUpdates` takes `offset`, `limit` (1–100, default 100) and `timeout` (seconds of long
//!   polling: the request is held until an update is queued or the time is up). An update is
//!   returned again and again until a call with a higher `offset` confirms it; a negative
//!   offset forgets all but the last `-offset` updates.
//! - `sendMessage` is recorded (`chat_id`, `text`, `reply_markup`, every parameter) and
//!   answered with the sent Message. With `parse_mode = "HTML"` the text is parsed as Telegram
//!   does: only the documented tags, balanced, with `&lt;`-style entities; the Message carries
//!   the plain text and its `entities` (UTF-16 offsets; a link's `text_link` with its `url`),
//!   and bad markup is a `400 can't parse entities`. A text longer than 4,096 UTF-16 code
//!   units after entity parsing is a `400 message is too long`, as Telegram counts it. Inline
//!   keyboard buttons' `callback_data` must be 1–64 bytes.
//! - `editMessageText` and `editMessageReplyMarkup` change a sent message (`400 message is not
//!   modified` when nothing changes, `400 message to edit not found` for an unknown one);
//!   `answerCallbackQuery` is recorded. [`BotApiSim::push_callback`] queues the
//!   `callback_query` a tap on a sent message's button makes.
//! - `getFile` answers a File (`file_id`, `file_unique_id`, `file_size`, `file_path`) for a
//!   file added with [`BotApiSim::add_file`], `400 Bad Request: file is too big` for one over
//!   the Bot API's 20 MB, and `400 Bad Request: invalid file_id` otherwise; the file is then
//!   served at `GET /file/bot<token>/<file_path>`, as `https://api.telegram.org/file/...`.
//! - A wrong token gets `401 Unauthorized`; an unknown method `404 Not Found`.
//! - [`BotApiSim::fail_get_updates`] scripts an outage: the next `getUpdates` calls fail the
//!   ways Telegram and the proxies in front of it do ([`Outage`]), one each, in order.
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

/// The token of a second simulated bot: the managers' bot.
pub const MANAGERS_TOKEN: &str = "7098765432:AAM_managers-bot-token_0123456";

/// The bot's own user id (the corpus's `@teplodom_bot`).
const BOT_ID: i64 = 7012345678;

/// One `sendMessage` the bot made.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The chat written to.
    pub chat_id: i64,
    /// The text (without markup, as the recipient sees it).
    pub text: String,
    /// The keyboard, as JSON, when one was attached.
    pub reply_markup: Option<Value>,
    /// The sent message's id.
    pub message_id: i64,
    /// Every parameter of the call.
    pub params: Value,
}

/// A call to a method other than `getUpdates` and `sendMessage`.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method, as called.
    pub method: String,
    /// Its parameters.
    pub params: Value,
}

#[derive(Default)]
struct Inner {
    token: String,
    next_update_id: i64,
    next_message_id: i64,
    /// Unconfirmed updates, oldest first.
    queue: VecDeque<Value>,
    /// How many times each update id was returned by `getUpdates`.
    returned: HashMap<i64, u32>,
    sent: Vec<Sent>,
    /// Sent messages as they stand now (edits applied), by chat and message id.
    messages: HashMap<(i64, i64), Value>,
    calls: Vec<Call>,
    /// While true, `getUpdates` answers 502 without looking at its offset (Telegram out of
    /// reach behind a proxy).
    down: bool,
    /// Go down right after the next `getUpdates` that returns updates.
    down_after_delivery: bool,
    /// The offsets of the `getUpdates` calls answered 502.
    refused_offsets: Vec<Option<i64>>,
    /// Chats whose user blocked the bot: messages to them are refused with 403.
    blocked: Vec<i64>,
    /// The failures the next `getUpdates` calls get, in order.
    outage: VecDeque<Outage>,
    /// When the last scripted failure was answered (or, for a hang, began).
    outage_ended: Option<tokio::time::Instant>,
    /// How many `getUpdates` calls came.
    polls: u32,
    /// Files by `file_id`: their `file_path` and bytes.
    files: HashMap<String, (String, Vec<u8>)>,
    /// How many files were downloaded.
    downloads: u32,
}

/// One way a `getUpdates` call fails during an outage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outage {
    /// `429 Too Many Requests` with `parameters.retry_after` seconds.
    TooMany(u64),
    /// `500 Internal Server Error`, the Bot API's JSON.
    ServerError,
    /// nginx's HTML `502 Bad Gateway` page.
    HtmlBadGateway,
    /// The connection is dropped in the middle of the answer.
    Dropped,
    /// The call is held for this long, then answered with no updates.
    Hang(Duration),
    /// `409 Conflict`: another `getUpdates` (a second instance) took over.
    Conflict,
    /// `200` with a body that never ends (a server that is not the Bot API).
    Endless,
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
        BotApiSim::start_as(TOKEN).await
    }

    /// Starts a simulator of the bot with `token` (a second bot, such as the managers').
    pub async fn start_as(token: &str) -> BotApiSim {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.to_string(),
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
            .route("/file/{bot}/{*path}", axum::routing::get(download))
            .with_state(sim);
        let addr = super::serve(app).await;
        BotApiSim {
            addr,
            inner,
            queued,
        }
    }

    /// Makes the next `getUpdates` calls fail as `script` says, one call each.
    pub fn fail_get_updates(&self, script: &[Outage]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.outage = script.iter().copied().collect();
        inner.outage_ended = None;
        drop(inner);
        // A call waiting for updates fails now, as a proxy dropping it would.
        self.queued.send_modify(|_| ());
    }

    /// When the scripted outage's last failure was served, once it was.
    pub fn outage_ended(&self) -> Option<tokio::time::Instant> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .outage
            .is_empty()
            .then_some(inner.outage_ended)
            .flatten()
    }

    /// How many `getUpdates` calls came.
    pub fn polls(&self) -> u32 {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).polls
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

    /// Adds a file the bot can download; returns its `file_id`.
    pub fn add_file(&self, bytes: Vec<u8>, extension: &str) -> String {
        let mut inner = self.lock();
        let n = inner.files.len() + 1;
        let id = format!("AgACAgIAAxkBAAIBZ2{n:04}");
        let path = format!("documents/file_{n}.{extension}");
        inner.files.insert(id.clone(), (path, bytes));
        id
    }

    /// How many files were downloaded.
    pub fn downloads(&self) -> u32 {
        self.lock().downloads
    }

    /// Queues a private message from `chat_id` with a document (the file `file_id`, `size`
    /// bytes as Telegram states it) and a caption; returns the update id.
    pub fn push_document(
        &self,
        chat_id: i64,
        first_name: &str,
        (file_id, file_name, size): (&str, &str, usize),
        caption: &str,
    ) -> i64 {
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
                "document": {"file_name": file_name, "mime_type": "application/pdf",
                    "file_id": file_id, "file_unique_id": "AgADZ2", "file_size": size},
                "caption": caption,
            }
        }))
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

    /// Queues the `callback_query` that `from` tapping the button with `data` under the sent
    /// message `message_id` in `chat_id` makes; returns the update id.
    pub fn push_callback(&self, chat_id: i64, message_id: i64, from: i64, data: &str) -> i64 {
        let message = self
            .lock()
            .messages
            .get(&(chat_id, message_id))
            .cloned()
            .unwrap_or_else(|| panic!("no message {message_id} in chat {chat_id}"));
        let id = format!("cq-{chat_id}-{message_id}-{}", fastrand::u32(..));
        self.push(json!({
            "update_id": 0,
            "callback_query": {
                "id": id,
                "from": {"id": from, "is_bot": false, "first_name": "Manager"},
                "message": message,
                "chat_instance": format!("ci-{chat_id}"),
                "data": data,
            }
        }))
    }

    /// A sent message as it stands now (after edits).
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<Value> {
        self.lock().messages.get(&(chat_id, message_id)).cloned()
    }

    /// The calls of `method` (other than `getUpdates` and `sendMessage`) so far.
    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.lock()
            .calls
            .iter()
            .filter(|c| c.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
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

    /// The user of `chat_id` blocks the bot (or unblocks it): `sendMessage` to the chat is
    /// refused as Telegram refuses it.
    pub fn set_blocked(&self, chat_id: i64, blocked: bool) {
        let mut inner = self.lock();
        inner.blocked.retain(|&c| c != chat_id);
        if blocked {
            inner.blocked.push(chat_id);
        }
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
    let token = sim
        .inner
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .token
        .clone();
    if bot.strip_prefix("bot") != Some(token.as_str()) {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let params = match params(query.as_deref(), &headers, &body) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    match method.to_ascii_lowercase().as_str() {
        "getupdates" => get_updates(&sim, &params).await,
        "getfile" => get_file(&sim, &params),
        "sendmessage" => send_message(&sim, &params),
        "editmessagetext" | "editmessagereplymarkup" => edit_message(&sim, &method, &params),
        "answercallbackquery" => {
            if params
                .get("callback_query_id")
                .and_then(Value::as_str)
                .is_none()
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                );
            }
            record(&sim, &method, &params);
            ok(Value::Bool(true))
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// `getFile`: the File with the path to download it from.
fn get_file(sim: &Sim, params: &Map<String, Value>) -> Response {
    let inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
    let id = params.get("file_id").and_then(Value::as_str).unwrap_or("");
    match inner.files.get(id) {
        Some((_, bytes)) if bytes.len() > 20 * 1000 * 1000 => {
            error(StatusCode::BAD_REQUEST, "Bad Request: file is too big")
        }
        Some((path, bytes)) => ok(json!({"file_id": id, "file_unique_id": "AgADZ2",
            "file_size": bytes.len(), "file_path": path})),
        None => error(StatusCode::BAD_REQUEST, "Bad Request: invalid file_id"),
    }
}

/// `GET /file/bot<token>/<file_path>`: the file's bytes.
async fn download(State(sim): State<Sim>, Path((bot, path)): Path<(String, String)>) -> Response {
    let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
    if bot.strip_prefix("bot") != Some(inner.token.as_str()) {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    }
    let found = inner
        .files
        .values()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| b.clone());
    match found {
        Some(bytes) => {
            inner.downloads += 1;
            (StatusCode::OK, bytes).into_response()
        }
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// The answer a scripted failure gets.
async fn outage(failure: Outage) -> Response {
    match failure {
        Outage::TooMany(secs) => {
            let body = json!({"ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {secs}"),
                "parameters": {"retry_after": secs}});
            (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
        }
        Outage::ServerError => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        Outage::HtmlBadGateway => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
        )
            .into_response(),
        Outage::Dropped => {
            let cut = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::other("connection dropped"))
            });
            (StatusCode::OK, axum::body::Body::from_stream(cut)).into_response()
        }
        Outage::Hang(how_long) => {
            tokio::time::sleep(how_long).await;
            ok(Value::Array(Vec::new()))
        }
        Outage::Endless => {
            let chunk = Bytes::from(vec![b' '; 1 << 20]);
            let endless = futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(chunk.clone()));
            (StatusCode::OK, axum::body::Body::from_stream(endless)).into_response()
        }
        Outage::Conflict => error(
            StatusCode::CONFLICT,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        ),
    }
}

async fn get_updates(sim: &Sim, params: &Map<String, Value>) -> Response {
    sim.inner.lock().unwrap_or_else(|e| e.into_inner()).polls += 1;
    let offset = int(params, "offset");
    let limit = int(params, "limit").unwrap_or(100).clamp(1, 100) as usize;
    let timeout = Duration::from_secs(int(params, "timeout").unwrap_or(0).clamp(0, 50) as u64);
    let deadline = tokio::time::Instant::now() + timeout;
    // Subscribed before looking at the queue, so an update queued in between wakes the wait.
    let mut queued = sim.queued.subscribe();
    loop {
        // A scripted outage fails this call too when it began while the call was waiting.
        let scripted = {
            let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
            let failure = inner.outage.pop_front();
            if failure.is_some() {
                inner.outage_ended = Some(tokio::time::Instant::now());
            }
            failure
        };
        if let Some(failure) = scripted {
            return outage(failure).await;
        }
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

fn record(sim: &Sim, method: &str, params: &Map<String, Value>) {
    let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
    inner.calls.push(Call {
        method: method.to_string(),
        params: Value::Object(params.clone()),
    });
}

/// A JSON-serialized object in form bodies, an object in JSON bodies.
/// Errors are the `400`'s description.
fn object_param(params: &Map<String, Value>, key: &str) -> Result<Option<Value>, String> {
    match params.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| format!("Bad Request: can't parse {key} JSON object")),
        Some(v) => Ok(Some(v.clone())),
    }
}

/// Checks an inline keyboard as the Bot API does.
fn check_markup(markup: &Option<Value>) -> Result<(), String> {
    let Some(rows) = markup.as_ref().and_then(|m| m.get("inline_keyboard")) else {
        return Ok(());
    };
    for button in rows
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r.as_array().into_iter().flatten())
    {
        if let Some(data) = button.get("callback_data").and_then(Value::as_str)
            && !(1..=64).contains(&data.len())
        {
            return Err("Bad Request: BUTTON_DATA_INVALID".into());
        }
        if button
            .get("text")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err("Bad Request: text buttons are unallowed in the inline keyboard".into());
        }
    }
    Ok(())
}

/// Telegram's HTML parse mode: the plain text and its entities, or why it does not parse.
fn parse_html(html: &str) -> Result<(String, Vec<Value>), String> {
    let kinds = [
        ("b", "bold"),
        ("strong", "bold"),
        ("i", "italic"),
        ("em", "italic"),
        ("u", "underline"),
        ("s", "strikethrough"),
        ("code", "code"),
        ("pre", "pre"),
        ("blockquote", "blockquote"),
        ("a", "text_link"),
    ];
    let mut text = String::new();
    let mut utf16 = 0usize;
    // Open tags: the name, where the entity starts, and a link's URL.
    let mut open: Vec<(String, usize, Option<String>)> = Vec::new();
    let mut entities = Vec::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').ok_or("unclosed start tag")?;
            let tag = &rest[1..end];
            rest = &rest[end + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                let (top, start, url) = open.pop().ok_or("unmatched end tag")?;
                if top != name.trim() {
                    return Err(format!("unmatched end tag {name}, expected {top}"));
                }
                let kind = kinds
                    .iter()
                    .find(|(t, _)| *t == top)
                    .map(|(_, k)| *k)
                    .unwrap_or("bold");
                let mut entity = json!({"type": kind, "offset": start, "length": utf16 - start});
                if let Some(url) = url {
                    entity["url"] = url.into();
                }
                entities.push(entity);
            } else {
                let name = tag.split_whitespace().next().unwrap_or("");
                if !kinds.iter().any(|(t, _)| *t == name) {
                    return Err(format!("unsupported start tag \"{name}\""));
                }
                let url = if name == "a" {
                    Some(href(tag).ok_or("a link without href")?)
                } else {
                    None
                };
                open.push((name.to_string(), utf16, url));
            }
        } else if c == '&' {
            let end = rest.find(';').ok_or("unclosed entity")?;
            let decoded = match &rest[1..end] {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                other => return Err(format!("unsupported entity &{other};")),
            };
            text.push(decoded);
            utf16 += decoded.len_utf16();
            rest = &rest[end + 1..];
        } else if c == '>' {
            return Err("a bare '>'".into());
        } else {
            text.push(c);
            utf16 += c.len_utf16();
            rest = &rest[c.len_utf8()..];
        }
    }
    if let Some((name, _, _)) = open.pop() {
        return Err(format!(
            "can't find end tag corresponding to start tag \"{name}\""
        ));
    }
    entities.sort_by_key(|e| e["offset"].as_u64());
    Ok((text, entities))
}

/// The `href` of an `<a ...>` start tag, its character references decoded: a `text_link`
/// entity carries it as `url`.
fn href(tag: &str) -> Option<String> {
    let (_, rest) = tag.split_once("href=\"")?;
    let (value, _) = rest.split_once('"')?;
    Some(
        value
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// The text and entities a `sendMessage` or `editMessageText` produces.
fn rendered(params: &Map<String, Value>) -> Result<(String, Option<Value>), String> {
    let raw = params.get("text").and_then(Value::as_str).unwrap_or("");
    let (text, entities) = match params.get("parse_mode").and_then(Value::as_str) {
        Some("HTML") => match parse_html(raw) {
            Ok((t, e)) => (t, Some(Value::Array(e))),
            Err(why) => return Err(format!("Bad Request: can't parse entities: {why}")),
        },
        _ => (raw.to_string(), params.get("entities").cloned()),
    };
    if text.trim().is_empty() {
        return Err("Bad Request: message text is empty".into());
    }
    if text.encode_utf16().count() > 4096 {
        return Err("Bad Request: message is too long".into());
    }
    Ok((
        text,
        entities.filter(|e| e.as_array().is_some_and(|a| !a.is_empty())),
    ))
}

fn send_message(sim: &Sim, params: &Map<String, Value>) -> Response {
    let Some(chat_id) = int(params, "chat_id") else {
        return error(StatusCode::BAD_REQUEST, "Bad Request: chat not found");
    };
    let (text, entities) = match rendered(params) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let reply_markup = match object_param(params, "reply_markup") {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if let Err(e) = check_markup(&reply_markup) {
        return error(StatusCode::BAD_REQUEST, &e);
    }
    let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
    if inner.blocked.contains(&chat_id) {
        return error(
            StatusCode::FORBIDDEN,
            "Forbidden: bot was blocked by the user",
        );
    }
    inner.next_message_id += 1;
    let message_id = inner.next_message_id;
    let mut message = json!({
        "message_id": message_id,
        "from": {"id": BOT_ID, "is_bot": true, "first_name": "ТеплоДом", "username": "teplodom_bot"},
        "chat": {"id": chat_id, "type": "private"},
        "date": 1_795_000_000,
        "text": text,
    });
    if let Some(e) = entities {
        message["entities"] = e;
    }
    if let Some(m) = reply_markup
        .as_ref()
        .filter(|m| m.get("inline_keyboard").is_some())
    {
        message["reply_markup"] = m.clone();
    }
    inner
        .messages
        .insert((chat_id, message_id), message.clone());
    inner.sent.push(Sent {
        chat_id,
        text,
        reply_markup,
        message_id,
        params: Value::Object(params.clone()),
    });
    ok(message)
}

fn edit_message(sim: &Sim, method: &str, params: &Map<String, Value>) -> Response {
    let (Some(chat_id), Some(message_id)) = (int(params, "chat_id"), int(params, "message_id"))
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message identifier is not specified",
        );
    };
    let markup = match object_param(params, "reply_markup") {
        Ok(m) => m,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    if let Err(e) = check_markup(&markup) {
        return error(StatusCode::BAD_REQUEST, &e);
    }
    let new_text = if method.eq_ignore_ascii_case("editMessageText") {
        match rendered(params) {
            Ok(r) => Some(r),
            Err(e) => return error(StatusCode::BAD_REQUEST, &e),
        }
    } else {
        None
    };
    record(sim, method, params);
    let mut inner = sim.inner.lock().unwrap_or_else(|e| e.into_inner());
    let Some(message) = inner.messages.get_mut(&(chat_id, message_id)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message to edit not found",
        );
    };
    let before = message.clone();
    if let Some((text, entities)) = new_text {
        message["text"] = text.into();
        match entities {
            Some(e) => message["entities"] = e,
            None => {
                message.as_object_mut().map(|m| m.remove("entities"));
            }
        }
    }
    // An empty inline keyboard removes it.
    match markup.filter(|m| {
        m["inline_keyboard"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty())
    }) {
        Some(m) => message["reply_markup"] = m,
        None => {
            message.as_object_mut().map(|m| m.remove("reply_markup"));
        }
    }
    if *message == before {
        return error(
            StatusCode::BAD_REQUEST,
            "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
        );
    }
    ok(message.clone())
}
