//! The admin console: server-rendered pages under `/admin/` for the people who run leadgate.
//! Signed in with the admin token (a form, then a session cookie); every POST carries the
//! session's CSRF token; every answer carries a strict Content-Security-Policy. Off, like the
//! admin API, when no `[admin] token` is set (the router then never mounts it).

mod as_lead;
mod auth;
mod dead;
mod leads;
mod not_leads;
mod overview;
mod page;
pub mod reports;
mod reroute;
mod rules;
mod session;
mod words;

pub use as_lead::{Turned, turn_into_lead};
pub use auth::Signed;
pub use page::CSP;
pub use session::Sessions;

use crate::http::AppState;
use crate::settings::Secret;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::{Extension, Router};
use std::sync::Arc;

/// The largest form a console page posts (a sign-in, a confirmation).
const FORM_LIMIT: usize = 16 * 1024;

/// The largest sample the rules tester takes (an e-mail with its headers).
const SAMPLE_LIMIT: usize = 512 * 1024;

/// What the console keeps between requests: the token it signs in with and the open sessions.
#[derive(Debug)]
pub struct Console {
    token: Secret,
    sessions: Sessions,
    sign_ins: governor::DefaultKeyedRateLimiter<std::net::IpAddr>,
}

impl Console {
    /// A console signing in with `token`.
    pub fn new(token: Secret) -> Console {
        Console {
            token,
            sessions: Sessions::default(),
            // Twenty tries a minute from each client: enough for a person, far too few to
            // guess a token; one bucket for everyone let a script that kept posting wrong
            // tokens lock the admin out.
            sign_ins: governor::RateLimiter::keyed(governor::Quota::per_minute(
                std::num::NonZeroU32::new(20).expect("non-zero"),
            )),
        }
    }
}

/// The console's routes.
pub fn routes(token: Secret) -> Router<AppState> {
    let console = Arc::new(Console::new(token));
    Router::new()
        .route("/admin", get(leads::home))
        .route("/admin/", get(leads::home))
        .route(
            "/admin/sign-in",
            get(auth::sign_in_page).post(auth::sign_in),
        )
        .route("/admin/sign-out", post(auth::sign_out))
        .route("/admin/language", get(auth::language))
        .route("/admin/assets/console.css", get(page::css))
        .route("/admin/assets/console.js", get(page::js))
        .route("/admin/leads", get(leads::list))
        .route("/admin/leads.csv", get(leads::csv))
        .route("/admin/leads/{id}", get(leads::journey))
        .route(
            "/admin/leads/{id}/resend",
            get(leads::resend_confirm).post(leads::resend),
        )
        .route(
            "/admin/leads/{id}/reroute",
            get(reroute::confirm).post(reroute::reroute),
        )
        .route("/admin/not-leads", get(not_leads::list))
        .route("/admin/not-leads/{id}", get(as_lead::item))
        .route(
            "/admin/not-leads/{id}/lead",
            get(as_lead::confirm).post(as_lead::mark),
        )
        .route("/admin/dead-letters", get(dead::list))
        .route(
            "/admin/dead-letters/replay",
            get(dead::replay_confirm).post(dead::replay),
        )
        .route("/admin/overview", get(overview::page))
        .route("/admin/reports", get(reports::page))
        .route("/admin/reports/{table}", get(reports::csv))
        .route("/admin/rules", get(rules::show))
        .route(
            "/admin/rules/test",
            post(rules::test).layer(DefaultBodyLimit::max(SAMPLE_LIMIT)),
        )
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(Extension(console))
        .layer(axum::middleware::from_fn(page::headers))
}
