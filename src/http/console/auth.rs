//! Signing in and out, the session every page requires ([`Signed`]), the CSRF check every POST
//! makes, and the language switch.

use super::Console;
use super::page::{Frame, render, render_status};
use super::session::language as chosen_language;
use super::words::say;
use crate::http::AppState;
use crate::settings::tokens_match;
use axum::Extension;
use axum::extract::{ConnectInfo, Form, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;

/// How many clients' sign-in buckets are kept before the full ones are forgotten.
const SIGN_IN_CLIENTS_KEPT: usize = 10_000;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lg_session";
/// The language cookie's name.
pub const LANGUAGE_COOKIE: &str = "lg_lang";

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the browser reached us over TLS (a proxy in front says so).
fn behind_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// A cookie for the console's paths only, never readable by scripts nor sent cross-site.
fn set_cookie(headers: &HeaderMap, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/admin; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if behind_tls(headers) {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).expect("cookie values are base64 or fixed words")
}

/// Only a path inside the console is a place to go back to (never another site).
fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with("/admin") && !b.starts_with("//") && !b.contains('\\') => {
            b.to_string()
        }
        _ => "/admin/leads".to_string(),
    }
}

fn frame_of(app: &AppState, parts_headers: &HeaderMap, here: String, csrf: String) -> Frame {
    Frame {
        lang: chosen_language(cookie(parts_headers, LANGUAGE_COOKIE), app.config.language),
        csrf,
        here,
    }
}

/// A request from a signed-in browser: its session and the frame its page is drawn in.
/// Extracting it from a request without a live session answers with the sign-in page.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The page's language, CSRF token and path.
    pub frame: Frame,
    /// Who acts, for the audit trail: the session, named by a digest of its id (the id itself
    /// would let a reader of the audit sign in).
    pub who: String,
}

impl Signed {
    /// The refusal of a POST whose form did not carry this session's CSRF token; `None` when
    /// it did.
    pub fn refuse_without_csrf(&self, presented: &str) -> Option<Response> {
        if !presented.is_empty()
            && tokens_match(
                presented.as_bytes(),
                &crate::settings::Secret::new(self.frame.csrf.clone()),
            )
        {
            return None;
        }
        tracing::warn!("A console form came without this session's CSRF token; refused.");
        Some(render_status(
            &self.frame,
            StatusCode::FORBIDDEN,
            "message.html",
            context! {
                title => "403",
                kind => "problem",
                text => say(self.frame.lang, "csrf", ""),
                back => "/admin/leads",
            },
        ))
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Signed, Response> {
        let console = parts
            .extensions
            .get::<Arc<Console>>()
            .cloned()
            .expect("the console layer is mounted");
        // After a POST the page to come back to is the list, not the action.
        let here = parts
            .uri
            .path_and_query()
            .filter(|_| parts.method == axum::http::Method::GET)
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/admin/leads".into());
        let id = cookie(&parts.headers, SESSION_COOKIE);
        let session = id.and_then(|id| console.sessions.touch(id, app.clock.now()));
        match session {
            Some(s) => Ok(Signed {
                frame: frame_of(app, &parts.headers, here, s.csrf),
                who: session_name(id.unwrap_or_default()),
            }),
            None => {
                let to = format!(
                    "/admin/sign-in?back={}",
                    percent_encoding::utf8_percent_encode(
                        &here,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                );
                Err(Redirect::to(&to).into_response())
            }
        }
    }
}

/// `console session 1a2b3c4d`: the first bytes of the SHA-256 of the session id.
fn session_name(id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(id.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("console session {short}")
}

/// Where to go after signing in.
#[derive(Debug, Default, Deserialize)]
pub struct BackQuery {
    back: Option<String>,
}

/// The sign-in form.
pub async fn sign_in_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<BackQuery>,
) -> Response {
    let frame = frame_of(&app, &headers, "/admin/sign-in".into(), String::new());
    render(
        &frame,
        "sign_in.html",
        context! { back => safe_back(q.back.as_deref()) },
    )
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    token: String,
    back: Option<String>,
}

/// Checks the token; on success opens a session and sets its cookie.
pub async fn sign_in(
    State(app): State<AppState>,
    Extension(console): Extension<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let frame = frame_of(&app, &headers, "/admin/sign-in".into(), String::new());
    let back = safe_back(form.back.as_deref());
    let client = app.config.server.forwarded.limit_key(&headers, peer.ip());
    if console.sign_ins.len() > SIGN_IN_CLIENTS_KEPT {
        console.sign_ins.retain_recent();
    }
    if console.sign_ins.check_key(&client).is_err() {
        return render_status(
            &frame,
            StatusCode::TOO_MANY_REQUESTS,
            "sign_in.html",
            context! { back, problem => say(frame.lang, "too_many", "") },
        );
    }
    if !tokens_match(form.token.as_bytes(), &console.token) {
        tracing::warn!("A console sign-in with a wrong token; refused.");
        return render_status(
            &frame,
            StatusCode::UNAUTHORIZED,
            "sign_in.html",
            context! { back, problem => say(frame.lang, "wrong_token", "") },
        );
    }
    let id = console.sessions.open(app.clock.now());
    tracing::info!("Signed in to the console.");
    let mut res = Redirect::to(&back).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, &id, None),
    );
    res
}

/// A POST form that carries nothing but the CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// Ends the session and clears its cookie.
pub async fn sign_out(
    signed: Signed,
    Extension(console): Extension<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = signed.refuse_without_csrf(&form.csrf) {
        return refused;
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        console.sessions.close(id);
    }
    let mut res = Redirect::to("/admin/sign-in").into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(&headers, SESSION_COOKIE, "", Some(0)),
    );
    res
}

/// The language switch's query.
#[derive(Debug, Deserialize)]
pub struct LanguageQuery {
    to: String,
    back: Option<String>,
}

/// Remembers the reader's language in a cookie and goes back to the page.
pub async fn language(headers: HeaderMap, Query(q): Query<LanguageQuery>) -> Response {
    let Some(lang) = crate::language::Language::parse(&q.to) else {
        return (StatusCode::BAD_REQUEST, "to= must be ru or en").into_response();
    };
    let mut res = Redirect::to(&safe_back(q.back.as_deref())).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(
            &headers,
            LANGUAGE_COOKIE,
            lang.code(),
            Some(365 * 24 * 3600),
        ),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_console_paths_are_places_to_go_back_to() {
        assert_eq!(safe_back(Some("/admin/leads?q=1")), "/admin/leads?q=1");
        assert_eq!(safe_back(Some("https://evil.example/")), "/admin/leads");
        assert_eq!(safe_back(Some("//evil.example/admin")), "/admin/leads");
        assert_eq!(safe_back(None), "/admin/leads");
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lg_session=xyz; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
