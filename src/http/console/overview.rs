//! The overview: today and the last 7 days at a glance (leads per channel and source, items
//! kept out per reason), what waits now (held leads per level, dead letters per sink), the
//! open incidents, every source's state, and the team: who works now and who next, the leads
//! each has not taken yet against their `max_open`, whose cards do not reach them. The script re-reads the page's blocks every
//! 30 seconds; without it the page is read as it was drawn.

use super::auth::Signed;
use super::leads::store_failed;
use super::page::render;
use crate::http::AppState;
use crate::routing::Availability;
use crate::store::DayTotals;
use axum::extract::State;
use axum::response::Response;
use chrono::Duration;
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether a manager works now, and when they start next (in their own time zone); the leads
/// they have not taken yet against their `max_open`; and why their cards do not reach them.
#[derive(Debug, Serialize)]
struct Duty {
    id: String,
    name: String,
    level: String,
    now: &'static str,
    next: Option<String>,
    open: u64,
    max_open: Option<u32>,
    cards_fail: Option<String>,
}

/// A count per name, by name.
fn sorted(counts: std::collections::HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = counts.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort();
    v
}

/// Leads and kept-out items of one source today and over 7 days.
#[derive(Debug, Default, Serialize)]
struct SourceGlance {
    source: String,
    channel: String,
    today: u64,
    week: u64,
    kept_today: u64,
    kept_week: u64,
}

fn glance(days: &[DayTotals], today: &str) -> Vec<SourceGlance> {
    let mut by: BTreeMap<&str, SourceGlance> = BTreeMap::new();
    for d in days {
        let g = by.entry(&d.source).or_insert_with(|| SourceGlance {
            source: d.source.clone(),
            ..SourceGlance::default()
        });
        if !d.channel.is_empty() {
            g.channel = d.channel.clone();
        }
        g.week += d.leads;
        g.kept_week += d.kept_out;
        if d.day == today {
            g.today += d.leads;
            g.kept_today += d.kept_out;
        }
    }
    by.into_values().collect()
}

/// The overview page.
pub async fn page(signed: Signed, State(app): State<AppState>) -> Response {
    let now = app.clock.now();
    let today = now.date_naive();
    let (t, w) = (today.to_string(), (today - Duration::days(6)).to_string());
    let days = match app.console.day_totals(&w, &t).await {
        Ok(d) => d,
        Err(e) => return store_failed(&signed, &e),
    };
    let reasons = match app.console.not_lead_reasons(now - Duration::days(7)).await {
        Ok(r) => r,
        Err(e) => return store_failed(&signed, &e),
    };
    let (held, dead) = match (
        app.notes.held_per_level().await,
        app.notes.dead_per_sink().await,
    ) {
        (Ok(h), Ok(d)) => (sorted(h), sorted(d)),
        (Err(e), _) | (_, Err(e)) => return store_failed(&signed, &e),
    };
    let (open, unreachable) = match (
        app.notes.open_per_manager().await,
        app.notes.unreachable_managers().await,
    ) {
        (Ok(o), Ok(u)) => (o, u),
        (Err(e), _) | (_, Err(e)) => return store_failed(&signed, &e),
    };
    let rules = app.rules.current();
    let team: Vec<Duty> = rules
        .managers()
        .iter()
        .map(|m| Duty {
            id: m.id.clone(),
            name: m.name.clone(),
            level: m.level.clone(),
            open: open.get(&m.id).copied().unwrap_or(0),
            max_open: m.max_open,
            cards_fail: (unreachable.iter())
                .filter(|u| u.recipient == m.id)
                .map(|u| {
                    let why = u.last_error.as_deref().unwrap_or("");
                    format!("{} {}: {why} ({})", u.channel, u.address, u.dead)
                })
                .reduce(|a, b| format!("{a}; {b}")),
            now: match m.availability(now, rules.holidays()) {
                _ if !m.active => "inactive",
                Availability::Working => "working",
                Availability::OffHours => "off_hours",
                Availability::DayOff => "day_off",
                Availability::Holiday => "holiday",
            },
            next: m
                .next_opening(now, rules.holidays())
                .filter(|t| *t > now)
                .map(|t| {
                    t.with_timezone(&m.timezone())
                        .format("%Y-%m-%d %H:%M %a")
                        .to_string()
                }),
        })
        .collect();
    let incidents: Vec<(String, String)> =
        match app.store.get_cursor(crate::notify::INCIDENTS_KEY).await {
            Ok(v) => v
                .and_then(|s| serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&s).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, i)| {
                    let text = i["text"].as_str().unwrap_or(&k).to_string();
                    (i["opened"].as_str().unwrap_or("").to_string(), text)
                })
                .collect(),
            Err(e) => return store_failed(&signed, &e),
        };
    let components = app.health.snapshot();
    let sources: Vec<_> = components
        .iter()
        .filter(|(name, _)| name.starts_with("source:"))
        .map(|(name, c)| (name.trim_start_matches("source:").to_string(), c.clone()))
        .collect();
    render(
        &signed.frame,
        "overview.html",
        context! {
            glance => Value::from(Serde(glance(&days, &t))),
            reasons => Value::from(Serde(&reasons)),
            held => Value::from(Serde(&held)),
            dead => Value::from(Serde(&dead)),
            incidents,
            sources => Value::from(Serde(&sources)),
            team => Value::from(Serde(&team)),
        },
    )
}
