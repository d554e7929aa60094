//! Dead letters per sink with their last error, and their replay (one lead's or all), each
//! after a confirmation step.

use super::auth::Signed;
use super::leads::{store_failed, urlencode};
use super::page::confirm as confirm_page;
use super::page::render;
use super::words::say;
use crate::http::AppState;
use crate::store::ReplayFilter;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Deserialize;

/// Rows the page shows.
const PAGE: u32 = 200;

/// Which dead letters: one sink's, one lead's, or all.
#[derive(Debug, Default, Deserialize)]
pub struct DeadQuery {
    #[serde(default)]
    sink: String,
    #[serde(default)]
    lead: String,
}

impl DeadQuery {
    fn filter(&self) -> ReplayFilter {
        ReplayFilter {
            sink: (!self.sink.is_empty()).then(|| self.sink.clone()),
            lead_id: (!self.lead.is_empty()).then(|| self.lead.clone()),
        }
    }
}

/// The dead letters, newest first.
pub async fn list(
    signed: Signed,
    State(app): State<AppState>,
    Query(q): Query<DeadQuery>,
) -> Response {
    let rows = match app.store.list_dead(&q.filter(), PAGE).await {
        Ok(rows) => rows,
        Err(e) => return store_failed(&signed, &e),
    };
    let sinks: Vec<String> = app.config.sinks.iter().map(|s| s.id.clone()).collect();
    render(
        &signed.frame,
        "dead.html",
        context! { rows => Value::from(Serde(&rows)), sinks, sink => q.sink },
    )
}

/// The confirmation step before a replay.
pub async fn replay_confirm(signed: Signed, Query(q): Query<DeadQuery>) -> Response {
    let what = match (q.sink.as_str(), q.lead.as_str()) {
        ("", "") => say(signed.frame.lang, "all", ""),
        (sink, "") => sink.to_string(),
        ("", lead) => lead.to_string(),
        (sink, lead) => format!("{sink} · {lead}"),
    };
    let back = if q.sink.is_empty() {
        "/admin/dead-letters".to_string()
    } else {
        format!("/admin/dead-letters?sink={}", urlencode(&q.sink))
    };
    confirm_page(
        &signed.frame,
        say(signed.frame.lang, "confirm_replay", &what),
        "/admin/dead-letters/replay",
        &[("sink", q.sink.clone()), ("lead", q.lead.clone())],
        &back,
    )
}

/// The confirmed replay form.
#[derive(Debug, Deserialize)]
pub struct ReplayForm {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    which: DeadQuery,
}

/// Puts the chosen dead letters back in the queue and wakes the sinks.
pub async fn replay(
    signed: Signed,
    State(app): State<AppState>,
    Form(form): Form<ReplayForm>,
) -> Response {
    if let Some(refused) = signed.refuse_without_csrf(&form.csrf) {
        return refused;
    }
    let filter = form.which.filter();
    let now = app.clock.now();
    let n = match app.store.replay_dead(&filter, now).await {
        Ok(n) => n,
        Err(e) => return store_failed(&signed, &e),
    };
    if let (Some(lead), true) = (&filter.lead_id, n > 0) {
        let detail = serde_json::json!({"sink": filter.sink, "replayed": n, "by": "console"});
        if let Err(e) = app.console.audit(lead, now, "replayed", &detail).await {
            return store_failed(&signed, &e);
        }
    }
    tracing::info!(replayed = n, sink = ?filter.sink, lead = ?filter.lead_id, "Dead letters replayed from the console.");
    app.wake_sinks();
    render(
        &signed.frame,
        "message.html",
        context! {
            title => say(signed.frame.lang, "dead_letters", ""),
            text => say(signed.frame.lang, "done_replay", &n.to_string()),
            back => "/admin/dead-letters",
        },
    )
}
