//! A WordPress site on 127.0.0.1:0 answering the REST comments collection the way WordPress
//! does: `status`, `context`, `after` (exclusive), `orderby`/`order`, `per_page` (at most 100)
//! and `page`, `X-WP-Total` / `X-WP-TotalPages`, `_embed` with the post, HTTP Basic for the
//! `edit` context and held comments, and, with pretty permalinks off, only
//! `/?rest_route=/wp/v2/comments` (`/wp-json/` is a 404 page).
//!
//! Two broken sites beside it ([`Quirk`]): one that ignores `page` and sends no
//! `X-WP-TotalPages` (a caching plugin or a proxy in front of WordPress), and one whose pages
//! never end.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The application password login the site accepts.
pub const USER: &str = "leadgate";
/// The application password (WordPress shows them in groups of four).
pub const APP_PASSWORD: &str = "abcd EFGH 1234 ijkl MNOP 5678";

/// One request the site received.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The path.
    pub path: String,
    /// The query parameters.
    pub query: HashMap<String, String>,
    /// Whether it carried the right Basic credentials.
    pub authorised: bool,
    /// The `User-Agent`.
    pub user_agent: String,
    /// The status answered.
    pub answered: u16,
}

/// How the site departs from WordPress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quirk {
    /// None: it answers as WordPress does.
    None,
    /// Every page is the first one, and no `X-WP-Total` / `X-WP-TotalPages` is sent.
    IgnoresPage,
    /// Every page is full of comments never seen before, and no page count is sent.
    Endless,
}

struct Inner {
    comments: Vec<Value>,
    pretty: bool,
    quirk: Quirk,
    asked: Vec<Asked>,
}

/// The site.
#[derive(Clone)]
pub struct WpSite {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

/// The posts the corpus's comments belong to: id → (title as WordPress renders it, link).
fn post(id: u64) -> Option<(&'static str, &'static str)> {
    match id {
        2290 => Some((
            "Тёплый пол: водяной или электрический?",
            "https://teplodom.example/blog/teplyj-pol-vodyanoj-ili-elektricheskij/",
        )),
        2317 => Some((
            "Как выбрать газовый котёл для частного дома",
            "https://teplodom.example/blog/kak-vybrat-gazovyj-kotel/",
        )),
        _ => None,
    }
}

/// The title the site gives post `id`, as the lead's subject should carry it.
pub fn post_title(id: u64) -> &'static str {
    post(id).map_or("", |(title, _)| title)
}

fn date_gmt(comment: &Value) -> Option<DateTime<Utc>> {
    let text = comment["date_gmt"].as_str()?;
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

fn wp_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "data": {"status": status.as_u16()}});
    (status, axum::Json(body)).into_response()
}

/// The `view` context hides what only moderators see.
fn in_view_context(mut comment: Value) -> Value {
    if let Some(map) = comment.as_object_mut() {
        for key in ["author_email", "author_ip", "author_user_agent"] {
            map.remove(key);
        }
    }
    if let Some(content) = comment["content"].as_object_mut() {
        content.remove("raw");
    }
    comment
}

fn embedded(mut comment: Value) -> Value {
    let post_id = comment["post"].as_u64().unwrap_or(0);
    if let Some((title, link)) = post(post_id) {
        comment["_embedded"] =
            json!({"up": [{"id": post_id, "link": link, "title": {"rendered": title}}]});
    }
    comment
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap) -> Response {
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{APP_PASSWORD}"))
    );
    let authorised = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected);
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut site = inner.lock().expect("lock");
    let response = answer(&site, uri.path(), &query, authorised);
    site.asked.push(Asked {
        path: uri.path().to_string(),
        query,
        authorised,
        user_agent,
        answered: response.status().as_u16(),
    });
    response
}

fn answer(site: &Inner, path: &str, query: &HashMap<String, String>, authorised: bool) -> Response {
    let q = |k: &str| query.get(k).map(String::as_str);
    let api = (site.pretty && path == "/blog/wp-json/wp/v2/comments")
        || (path == "/blog/" && q("rest_route") == Some("/wp/v2/comments"));
    if !api {
        return (
            StatusCode::NOT_FOUND,
            "<html><body>Page not found</body></html>",
        )
            .into_response();
    }
    let context = q("context").unwrap_or("view");
    let status = q("status").unwrap_or("approve");
    if context == "edit" && !authorised {
        return wp_error(
            StatusCode::UNAUTHORIZED,
            "rest_forbidden_context",
            "Sorry, you are not allowed to edit comments.",
        );
    }
    if status != "approve" && !authorised {
        return wp_error(
            StatusCode::UNAUTHORIZED,
            "rest_forbidden_param",
            "Query parameter not permitted: status",
        );
    }
    let per_page: usize = q("per_page").and_then(|v| v.parse().ok()).unwrap_or(10);
    let page: usize = q("page").and_then(|v| v.parse().ok()).unwrap_or(1);
    if !(1..=100).contains(&per_page) || page == 0 {
        return wp_error(
            StatusCode::BAD_REQUEST,
            "rest_invalid_param",
            "Invalid parameter(s): per_page",
        );
    }
    match site.quirk {
        Quirk::None => {}
        Quirk::IgnoresPage => {
            let first: Vec<Value> = site.comments.iter().take(per_page).cloned().collect();
            return axum::Json(first).into_response();
        }
        Quirk::Endless => {
            let fresh: Vec<Value> = (0..per_page)
                .map(|i| {
                    let n = (page - 1) * per_page + i;
                    let at = chrono::NaiveDate::from_ymd_opt(2026, 11, 20)
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|t| t + chrono::Duration::seconds(n as i64))
                        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string());
                    json!({
                        "id": 90_000 + n, "post": 2290, "parent": 0, "author_name": "Bot",
                        "date_gmt": at, "content": {"rendered": "<p>Hello?</p>"},
                        "status": "approved", "type": "comment"
                    })
                })
                .collect();
            return axum::Json(fresh).into_response();
        }
    }
    let after = match q("after").map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(t)) => Some(t.with_timezone(&Utc)),
        Some(Err(_)) => {
            return wp_error(
                StatusCode::BAD_REQUEST,
                "rest_invalid_param",
                "Invalid parameter(s): after",
            );
        }
    };
    let wanted = if status == "hold" { "hold" } else { "approved" };
    let mut matching: Vec<&Value> = site
        .comments
        .iter()
        .filter(|c| c["status"] == wanted)
        .filter(|c| after.is_none_or(|after| date_gmt(c).is_some_and(|d| d > after)))
        .collect();
    // orderby defaults to date_gmt; order to desc.
    matching.sort_by_key(|c| (date_gmt(c), c["id"].as_u64()));
    if q("order") != Some("asc") {
        matching.reverse();
    }
    let total = matching.len();
    let pages = total.div_ceil(per_page);
    let body: Vec<Value> = matching
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .map(|c| {
            if context == "edit" {
                c
            } else {
                in_view_context(c)
            }
        })
        .map(|c| {
            if query.contains_key("_embed") {
                embedded(c)
            } else {
                c
            }
        })
        .collect();
    (
        [
            ("x-wp-total", total.to_string()),
            ("x-wp-totalpages", pages.to_string()),
        ],
        axum::Json(body),
    )
        .into_response()
}

impl WpSite {
    /// A site holding `comments`; `pretty` says whether `/wp-json/` is served.
    pub async fn start(comments: Vec<Value>, pretty: bool) -> WpSite {
        WpSite::start_with(comments, pretty, Quirk::None).await
    }

    /// A site holding `comments` with `/wp-json/`, answering with `quirk`.
    pub async fn start_with(comments: Vec<Value>, pretty: bool, quirk: Quirk) -> WpSite {
        let inner = Arc::new(Mutex::new(Inner {
            comments,
            pretty,
            quirk,
            asked: Vec::new(),
        }));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let addr = crate::support::serve(app).await;
        WpSite { addr, inner }
    }

    /// The `site_url` to configure.
    pub fn site_url(&self) -> String {
        format!("http://{}/blog", self.addr)
    }

    /// New comments appear on the site, all at once.
    pub fn add(&self, comments: Vec<Value>) {
        self.inner.lock().expect("lock").comments.extend(comments);
    }

    /// A moderator approves the comment `id`: it is published with the date it was written.
    pub fn approve(&self, id: u64) {
        let mut site = self.inner.lock().expect("lock");
        let comment = site
            .comments
            .iter_mut()
            .find(|c| c["id"] == id)
            .expect("the comment is on the site");
        comment["status"] = json!("approved");
    }

    /// Every request so far.
    pub fn asked(&self) -> Vec<Asked> {
        self.inner.lock().expect("lock").asked.clone()
    }
}

/// The corpus's comments as a site holds them: the REST page (published) and the held one.
pub fn corpus_comments(page: &[u8], held: &[u8]) -> Vec<Value> {
    let mut all: Vec<Value> = serde_json::from_slice(page).expect("the page is a JSON array");
    let held: Vec<Value> = serde_json::from_slice(held).expect("the held page is a JSON array");
    all.extend(held);
    all
}
