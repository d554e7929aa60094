//! Rendering the console's pages: the minijinja templates compiled into the binary (names end
//! in `.html`, so every value is escaped: lead text is shown as text, never run), and the
//! headers every console answer carries.

use super::words::words;
use crate::language::Language;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};
use std::sync::OnceLock;

/// Nothing but the console's own files; no inline script or style, no frames, forms post
/// only back here.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("sign_in.html", include_str!("templates/sign_in.html")),
    ("leads.html", include_str!("templates/leads.html")),
    ("journey.html", include_str!("templates/journey.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    ("message.html", include_str!("templates/message.html")),
    ("not_leads.html", include_str!("templates/not_leads.html")),
    ("not_lead.html", include_str!("templates/not_lead.html")),
    ("dead.html", include_str!("templates/dead.html")),
    ("rules.html", include_str!("templates/rules.html")),
    ("overview.html", include_str!("templates/overview.html")),
    ("reports.html", include_str!("templates/reports.html")),
];

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("console template {name}: {e}"));
        }
        env.add_filter("pretty", |v: Value| {
            serde_json::to_string_pretty(&v).unwrap_or_default()
        });
        env.add_filter("urlencode", |v: String| super::leads::urlencode(&v));
        env.add_filter("when", |v: String| {
            // 2026-11-22T09:15:02.123456Z → 2026-11-22 09:15:02
            v.get(..19).map(|s| s.replace('T', " ")).unwrap_or(v)
        });
        env
    })
}

/// What every page knows: its language, the words, the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The reader's language.
    pub lang: Language,
    /// The session's CSRF token (empty on the sign-in page).
    pub csrf: String,
    /// The page's path and query, for the language switch.
    pub here: String,
}

/// Renders `name` with `ctx` plus the frame.
pub fn render(frame: &Frame, name: &str, ctx: Value) -> Response {
    render_status(frame, StatusCode::OK, name, ctx)
}

/// The confirmation step before an action: the question, where the confirmed form posts
/// (with `fields` as hidden inputs beside the CSRF token), and where "cancel" leads.
pub fn confirm(
    frame: &Frame,
    question: String,
    action: &str,
    fields: &[(&str, String)],
    back: &str,
) -> Response {
    render(
        frame,
        "confirm.html",
        context! { question, action, fields => fields.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>(), back },
    )
}

/// [`render`] with another status.
pub fn render_status(frame: &Frame, status: StatusCode, name: &str, ctx: Value) -> Response {
    let all = context! {
        lang => frame.lang.code(),
        t => words(frame.lang),
        csrf => frame.csrf.clone(),
        here => frame.here.clone(),
        ..ctx
    };
    match env().get_template(name).and_then(|t| t.render(all)) {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(template = name, error = %e, "A console page failed to render.");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    }
}

/// The headers every console answer carries: the CSP, no framing, no sniffing, no caching
/// (pages show personal data), no referrer leaving the console.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// The vendored stylesheet.
pub async fn css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    )
}

/// The vendored script (progressive enhancement only).
pub async fn js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}
