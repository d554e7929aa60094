//! The leads pages: the filtered, searchable list (keyset paging, CSV of the same filter), a
//! lead's journey, and re-sending its event to a sink.

use super::auth::Signed;
use super::page::confirm as confirm_page;
use super::page::{render, render_status};
use super::words::say;
use crate::config::Config;
use crate::http::AppState;
use crate::store::{LeadQuery, LeadRow, PageKey, Search};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};

/// Rows on one page of the list.
const PAGE: u32 = 50;
/// Rows in one CSV export (the filter narrows it further).
const CSV_MAX: u32 = 100_000;
/// Rows the CSV export reads from the store at a time.
const CSV_CHUNK: u32 = 1000;

/// `/admin` opens the overview.
pub async fn home() -> Redirect {
    Redirect::to("/admin/overview")
}

/// The list's filters as the form sends them (empty means any).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    manager: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    /// The page starts after the row with this arrival ...
    #[serde(default)]
    after_at: String,
    /// ... and this id.
    #[serde(default)]
    after_id: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Midnight UTC of a `YYYY-MM-DD` date field.
fn day(field: &str, s: &str) -> Result<Option<DateTime<Utc>>, String> {
    match some(s) {
        None => Ok(None),
        Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .map(|d| Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc()))
            .map_err(|_| format!("{field}: {s:?} is not a date (YYYY-MM-DD)")),
    }
}

/// What the search box holds: an e-mail, a phone (in the business's region unless it has a
/// country code), or else the start of a name.
fn search(config: &Config, q: &str) -> Option<Search> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    if q.contains('@') {
        return Some(Search::Email(q.to_lowercase()));
    }
    let phone_like = q.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c));
    if phone_like && let Some(p) = config.phones.to_e164(q) {
        return Some(Search::Phone(p));
    }
    Some(Search::Name(q.to_string()))
}

impl Filters {
    fn query(&self, config: &Config, limit: u32) -> Result<LeadQuery, String> {
        let after = match (some(&self.after_at), some(&self.after_id)) {
            (Some(at), Some(id)) => Some(PageKey {
                received_at: DateTime::parse_from_rfc3339(&at)
                    .map_err(|_| format!("after_at: {at:?} is not a time"))?
                    .with_timezone(&Utc),
                id,
            }),
            _ => None,
        };
        Ok(LeadQuery {
            channel: some(&self.channel),
            source: some(&self.source),
            level: some(&self.level),
            manager: some(&self.manager),
            status: some(&self.status),
            since: day("since", &self.since)?,
            // The whole day named in "until" is in.
            until: day("until", &self.until)?.map(|t| t + chrono::Duration::days(1)),
            search: search(config, &self.q),
            after,
            limit,
        })
    }

    /// `?...` of these filters (paging left out), for links.
    fn to_query(&self, after: Option<&PageKey>) -> String {
        let mut f = self.clone();
        f.after_at = after
            .map(|k| k.received_at.to_rfc3339())
            .unwrap_or_default();
        f.after_id = after.map(|k| k.id.clone()).unwrap_or_default();
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &f.q),
            ("channel", &f.channel),
            ("source", &f.source),
            ("level", &f.level),
            ("manager", &f.manager),
            ("status", &f.status),
            ("since", &f.since),
            ("until", &f.until),
            ("after_at", &f.after_at),
            ("after_id", &f.after_id),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        let s = s.finish();
        if s.is_empty() { s } else { format!("?{s}") }
    }
}

pub(super) fn store_failed(signed: &Signed, e: &crate::store::StoreError) -> Response {
    tracing::error!(error = %e, "A console page could not read the store.");
    render_status(
        &signed.frame,
        StatusCode::SERVICE_UNAVAILABLE,
        "message.html",
        context! { title => "503", kind => "problem", text => e.to_string() },
    )
}

/// The leads list.
pub async fn list(
    signed: Signed,
    State(app): State<AppState>,
    Query(f): Query<Filters>,
) -> Response {
    let rules = app.rules.current();
    let base = context! {
        f => Value::from(Serde(&f)),
        channels => crate::lead::Channel::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        levels => rules.levels().to_vec(),
        managers => rules.managers().iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        statuses => ["assigned", "held", "acknowledged"],
        query => f.to_query(None),
    };
    let q = match f.query(&app.config, PAGE) {
        Ok(q) => q,
        Err(problem) => {
            return render_status(
                &signed.frame,
                StatusCode::BAD_REQUEST,
                "leads.html",
                context! { problem, ..base },
            );
        }
    };
    let page = match app.console.lead_page(&q).await {
        Ok(page) => page,
        Err(e) => return store_failed(&signed, &e),
    };
    let rows = page.rows;
    let next = page.next.as_ref().map(|k| f.to_query(Some(k)));
    render(
        &signed.frame,
        "leads.html",
        context! {
            rows => Value::from(Serde(&rows)), next, paged => q.after.is_some(), first => f.to_query(None), ..base
        },
    )
}

/// One CSV field, quoted when it must be; a leading `=`, `+`, `-`, `@`, tab or carriage
/// return is defused so a spreadsheet never runs a lead's text as a formula (a phone in
/// E.164, a sign and digits, stays as it is).
pub(super) fn csv_field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r'])
        && !(s.starts_with(['+', '-']) && s[1..].chars().all(|c| c.is_ascii_digit()));
    let s = if formula {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_line(r: &LeadRow) -> String {
    let fields = [
        r.id.as_str(),
        &r.received_at.to_rfc3339(),
        &r.channel,
        &r.source,
        &r.status,
        r.level.as_deref().unwrap_or(""),
        r.manager_id.as_deref().unwrap_or(""),
        r.name.as_deref().unwrap_or(""),
        r.phone.as_deref().unwrap_or(""),
        r.email.as_deref().unwrap_or(""),
        &r.text,
    ];
    let mut line = fields.map(csv_field).join(",");
    line.push_str("\r\n");
    line
}

/// The filtered list as CSV (up to [`CSV_MAX`] rows, newest first).
pub async fn csv(
    signed: Signed,
    State(app): State<AppState>,
    Query(f): Query<Filters>,
) -> Response {
    let mut q = match f.query(&app.config, CSV_CHUNK) {
        Ok(q) => q,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    let mut out = String::from(
        "id,received_at,channel,source,status,level,manager,name,phone,email,text\r\n",
    );
    let mut n = 0;
    loop {
        let page = match app.console.lead_page(&q).await {
            Ok(page) => page,
            Err(e) => return store_failed(&signed, &e),
        };
        n += page.rows.len() as u32;
        page.rows.iter().for_each(|r| out.push_str(&csv_line(r)));
        match page.next {
            Some(next) if n < CSV_MAX => q.after = Some(next),
            _ => break,
        }
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"leads.csv\""),
            ),
        ],
        out,
    )
        .into_response()
}

pub(super) fn not_found(signed: &Signed) -> Response {
    render_status(
        &signed.frame,
        StatusCode::NOT_FOUND,
        "message.html",
        context! { title => "404", kind => "problem", text => say(signed.frame.lang, "not_found", ""), back => "/admin/leads" },
    )
}

/// A lead's journey.
pub async fn journey(
    signed: Signed,
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let mut journey = match app.store.lead_journey(&id).await {
        Ok(Some(j)) => j,
        // A kept-out item has no lead: its own page tells what became of it.
        Ok(None) => {
            return match app.console.inbound_item(&id).await {
                Ok(Some(_)) => {
                    Redirect::to(&format!("/admin/not-leads/{}", urlencode(&id))).into_response()
                }
                Ok(None) => not_found(&signed),
                Err(e) => store_failed(&signed, &e),
            };
        }
        Err(e) => return store_failed(&signed, &e),
    };
    journey.inbound.iter_mut().for_each(readable_form);
    let bodies = match app.console.delivery_bodies(&id).await {
        Ok(b) => b,
        Err(e) => return store_failed(&signed, &e),
    };
    let notifications = match app.console.lead_notifications(&id).await {
        Ok(n) => n,
        Err(e) => return store_failed(&signed, &e),
    };
    let sinks: Vec<String> = app.config.sinks.iter().map(|s| s.id.clone()).collect();
    render(
        &signed.frame,
        "journey.html",
        context! {
            id, j => Value::from(Serde(&journey)), bodies, sinks,
            notifications => Value::from(Serde(&notifications)),
        },
    )
}

/// A form post arrived URL-encoded: shown as its fields, one `name: value` a line, so the
/// admin reads what the person typed.
pub(super) fn readable_form(item: &mut serde_json::Value) {
    let is_form = item["content_type"]
        .as_str()
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let Some(text) = item["payload"]["text"].as_str().filter(|_| is_form) else {
        return;
    };
    let lines: Vec<String> = form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    item["payload"]["text"] = serde_json::Value::from(lines.join("\n"));
}

/// Which sink to re-send to.
#[derive(Debug, Deserialize)]
pub struct SinkQuery {
    sink: String,
}

/// The confirmation step before re-sending.
pub async fn resend_confirm(
    signed: Signed,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SinkQuery>,
) -> Response {
    if !app.config.sinks.iter().any(|s| s.id == q.sink) {
        return not_found(&signed);
    }
    let page = format!("/admin/leads/{}", urlencode(&id));
    confirm_page(
        &signed.frame,
        say(signed.frame.lang, "confirm_resend", &q.sink),
        &format!("{page}/resend"),
        &[("sink", q.sink.clone())],
        &page,
    )
}

/// The confirmed re-send form.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    #[serde(default)]
    csrf: String,
    sink: String,
}

/// Queues the lead's last event for the sink again, as a new delivery: a copy of the stored
/// one, or, when retention has emptied it, the same event made again from the lead's record.
pub async fn resend(
    signed: Signed,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<ResendForm>,
) -> Response {
    if let Some(refused) = signed.refuse_without_csrf(&form.csrf) {
        return refused;
    }
    if !app.config.sinks.iter().any(|s| s.id == form.sink) {
        return not_found(&signed);
    }
    let event_id = app.clock.new_id().to_string();
    let copied = app
        .console
        .resend(&id, &form.sink, &event_id, app.clock.now())
        .await;
    let resent = match copied {
        Ok(false) => match app.actions.resend_from_record(&id, &form.sink).await {
            Ok(made) => Ok(made),
            Err(crate::sla::ActionError::Store(e)) => Err(e),
            Err(_) => Ok(false),
        },
        other => other,
    };
    match resent {
        Ok(true) => {
            tracing::info!(lead = %id, sink = %form.sink, "Re-sent from the console.");
            app.wake_sinks();
            render(
                &signed.frame,
                "message.html",
                context! {
                    title => say(signed.frame.lang, "resend", &form.sink),
                    text => say(signed.frame.lang, "done_resend", ""),
                    back => format!("/admin/leads/{}", urlencode(&id)),
                },
            )
        }
        Ok(false) => not_found(&signed),
        Err(e) => store_failed(&signed, &e),
    }
}

/// A path segment, percent-encoded.
pub fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("+79161234567"), "+79161234567");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("\t=cmd|' /C calc'!A0"), "'\t=cmd|' /C calc'!A0");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
