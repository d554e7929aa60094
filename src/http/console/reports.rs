//! Managers and reports: per manager and per level over a period (assigned, taken, declined
//! by reason, passed on, SLA breaches, median and 90th-percentile time to take in the
//! manager's working hours and on the wall clock), per source and channel (leads, the share
//! kept out, median and 90th-percentile time from arrival to the CRM) and per day, as tables,
//! a server-drawn SVG chart, CSV, and the same numbers on the JSON API
//! (`/admin/api/reports/{managers,levels,declines,sources,channels,days}`). Everything is
//! read from the daily totals the store keeps (`report_*` tables), never from every lead.

use super::auth::Signed;
use super::leads::store_failed;
use super::page::render_status;
use crate::http::{ApiError, AppState};
use crate::store::{CRM_BUCKETS, CrmTotals, DayTotals, DeclineTotals, ManagerTotals, TAKE_BUCKETS};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use minijinja::context;
use minijinja::value::{Serde, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The period asked for: `YYYY-MM-DD` days, both included; the last 7 days by default.
#[derive(Debug, Default, Deserialize)]
pub struct Period {
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
}

impl Period {
    fn days(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), String> {
        let day = |name: &str, s: &str, default: NaiveDate| {
            if s.trim().is_empty() {
                return Ok(default);
            }
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("{name}: {s:?} is not a date (YYYY-MM-DD)"))
        };
        let until = day("until", &self.until, today)?;
        let since = day("since", &self.since, until - Duration::days(6))?;
        if since > until {
            return Err("since is after until".into());
        }
        if until - since > Duration::days(366) {
            return Err("a report covers at most a year".into());
        }
        Ok((since, until))
    }
}

/// One line of the managers' or levels' table.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TakeRow {
    /// The manager or level.
    pub key: String,
    /// Assignments given.
    pub assigned: u64,
    /// Taken.
    pub taken: u64,
    /// Declined.
    pub declined: u64,
    /// Declined, by the reason given.
    pub declined_by_reason: BTreeMap<String, u64>,
    /// Passed on to someone else (declined, or the SLA ran out).
    pub passed_on: u64,
    /// The SLA ran out before it was taken.
    pub sla_breaches: u64,
    /// The median time to take, counted in the manager's working hours, is at most this many
    /// seconds (bucketed); `None` without takes or past a day.
    pub median_take_s: Option<u64>,
    /// The 90th percentile, likewise.
    pub p90_take_s: Option<u64>,
    /// The median time to take on the wall clock (nights and days off included).
    pub median_take_wall_s: Option<u64>,
    /// The 90th percentile on the wall clock.
    pub p90_take_wall_s: Option<u64>,
    #[serde(skip)]
    buckets: [u64; 10],
    #[serde(skip)]
    work: [u64; 10],
}

impl TakeRow {
    fn add(&mut self, t: &ManagerTotals) {
        self.assigned += t.assigned;
        self.taken += t.taken;
        self.declined += t.declined;
        self.passed_on += t.declined + t.expired;
        self.sla_breaches += t.expired;
        for (b, n) in self.buckets.iter_mut().zip(t.take_buckets) {
            *b += n;
        }
        for (b, n) in self.work.iter_mut().zip(t.work_buckets) {
            *b += n;
        }
    }

    fn finish(mut self) -> TakeRow {
        self.median_take_s = quantile(&self.work, &TAKE_BUCKETS, 0.5);
        self.p90_take_s = quantile(&self.work, &TAKE_BUCKETS, 0.9);
        self.median_take_wall_s = quantile(&self.buckets, &TAKE_BUCKETS, 0.5);
        self.p90_take_wall_s = quantile(&self.buckets, &TAKE_BUCKETS, 0.9);
        self
    }
}

/// The upper bound of the bucket holding quantile `q` of the counts (`bounds` are the
/// buckets' upper bounds, the last open).
fn quantile(buckets: &[u64], bounds: &[u64], q: f64) -> Option<u64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((total as f64) * q).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (n, &bound) in buckets.iter().zip(bounds) {
        seen += n;
        if seen >= rank {
            return (bound != u64::MAX).then_some(bound);
        }
    }
    None
}

/// The managers' or levels' rows: `key` picks the manager or the level of a total.
fn rows_by(
    totals: &[ManagerTotals],
    declines: &[DeclineTotals],
    key: impl Fn(&str, &str) -> String,
) -> Vec<TakeRow> {
    fn row(by: &mut BTreeMap<String, TakeRow>, k: String) -> &mut TakeRow {
        by.entry(k.clone()).or_insert_with(|| TakeRow {
            key: k,
            ..TakeRow::default()
        })
    }
    let mut by: BTreeMap<String, TakeRow> = BTreeMap::new();
    for t in totals {
        row(&mut by, key(&t.manager_id, &t.level)).add(t);
    }
    for d in declines {
        *row(&mut by, key(&d.manager_id, &d.level))
            .declined_by_reason
            .entry(d.reason.clone())
            .or_default() += d.n;
    }
    by.into_values().map(TakeRow::finish).collect()
}

/// One source's totals over the period.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SourceRow {
    /// The source.
    pub source: String,
    /// Its channel.
    pub channel: String,
    /// Leads.
    pub leads: u64,
    /// Items kept out.
    pub kept_out: u64,
    /// Kept out of everything that came in, in percent (one decimal).
    pub kept_out_pct: f64,
    /// Leads that reached the CRM (a sink took one of their events).
    pub delivered: u64,
    /// The median time from arrival to the CRM is at most this many seconds (bucketed).
    pub to_crm_median_s: Option<u64>,
    /// The 90th percentile, likewise.
    pub to_crm_p90_s: Option<u64>,
}

/// One channel's time from arrival to the CRM over the period.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChannelRow {
    /// The channel.
    pub channel: String,
    /// Leads that reached the CRM.
    pub delivered: u64,
    /// The median time from arrival to the CRM is at most this many seconds (bucketed).
    pub to_crm_median_s: Option<u64>,
    /// The 90th percentile, likewise.
    pub to_crm_p90_s: Option<u64>,
}

/// Arrival-to-CRM times summed per `key` (the source or the channel): (delivered, median, p90).
fn crm_times(
    crm: &[CrmTotals],
    key: impl Fn(&CrmTotals) -> &str,
) -> BTreeMap<String, (u64, Option<u64>, Option<u64>)> {
    let mut by: BTreeMap<String, [u64; 12]> = BTreeMap::new();
    for c in crm {
        let b = by.entry(key(c).to_string()).or_default();
        for (b, n) in b.iter_mut().zip(c.buckets) {
            *b += n;
        }
    }
    by.into_iter()
        .map(|(k, b)| {
            let n = b.iter().sum();
            let q = |q| quantile(&b, &CRM_BUCKETS, q);
            (k, (n, q(0.5), q(0.9)))
        })
        .collect()
}

fn channels(crm: &[CrmTotals]) -> Vec<ChannelRow> {
    crm_times(crm, |c| &c.channel)
        .into_iter()
        .map(|(channel, (delivered, median, p90))| ChannelRow {
            channel,
            delivered,
            to_crm_median_s: median,
            to_crm_p90_s: p90,
        })
        .collect()
}

fn sources(days: &[DayTotals], crm: &[CrmTotals]) -> Vec<SourceRow> {
    let mut by: BTreeMap<String, SourceRow> = BTreeMap::new();
    for d in days {
        let r = by.entry(d.source.clone()).or_insert_with(|| SourceRow {
            source: d.source.clone(),
            ..SourceRow::default()
        });
        if !d.channel.is_empty() {
            r.channel = d.channel.clone();
        }
        r.leads += d.leads;
        r.kept_out += d.kept_out;
    }
    for (source, (delivered, median, p90)) in crm_times(crm, |c| &c.source) {
        if let Some(r) = by.get_mut(&source) {
            (r.delivered, r.to_crm_median_s, r.to_crm_p90_s) = (delivered, median, p90);
        }
    }
    by.into_values()
        .map(|mut r| {
            let all = r.leads + r.kept_out;
            r.kept_out_pct = if all == 0 {
                0.0
            } else {
                (r.kept_out as f64 * 1000.0 / all as f64).round() / 10.0
            };
            r
        })
        .collect()
}

/// Leads and kept-out items per day, every day of the period (zeros included).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Leads.
    pub leads: u64,
    /// Items kept out.
    pub kept_out: u64,
}

fn per_day(days: &[DayTotals], since: NaiveDate, until: NaiveDate) -> Vec<DayRow> {
    let mut by: BTreeMap<String, DayRow> = since
        .iter_days()
        .take_while(|d| *d <= until)
        .map(|d| {
            let day = d.format("%Y-%m-%d").to_string();
            (
                day.clone(),
                DayRow {
                    day,
                    ..DayRow::default()
                },
            )
        })
        .collect();
    for d in days {
        if let Some(r) = by.get_mut(&d.day) {
            r.leads += d.leads;
            r.kept_out += d.kept_out;
        }
    }
    by.into_values().collect()
}

/// The chart of leads per day: bars with the day and the count as their title, drawn here so
/// the page needs no script and no inline style.
fn chart(days: &[DayRow]) -> String {
    let (w, h, pad) = (720.0_f64, 180.0_f64, 24.0_f64);
    let max = days.iter().map(|d| d.leads).max().unwrap_or(0).max(1) as f64;
    let step = (w - pad) / days.len().max(1) as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" class=\"chart\" role=\"img\" aria-label=\"leads per day\">"
    );
    svg.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{y}\" x2=\"{w}\" y2=\"{y}\" stroke=\"#8c8f94\"/>",
        y = h - pad
    ));
    for (i, d) in days.iter().enumerate() {
        let bh = (h - 2.0 * pad) * d.leads as f64 / max;
        let x = pad + i as f64 * step + step * 0.15;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"#2271b1\"><title>{day}: {n}</title></rect>",
            y = h - pad - bh,
            bw = step * 0.7,
            day = d.day,
            n = d.leads
        ));
        if days.len() <= 31 {
            svg.push_str(&format!(
                "<text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"9\" text-anchor=\"middle\" fill=\"#50575e\">{dd}</text>",
                tx = x + step * 0.35,
                ty = h - pad + 12.0,
                dd = &d.day[8..]
            ));
        }
    }
    svg.push_str(&format!(
        "<text x=\"2\" y=\"{}\" font-size=\"10\" fill=\"#50575e\">{}</text></svg>",
        pad - 6.0,
        max as u64
    ));
    svg
}

/// Everything a report holds.
struct Report {
    since: NaiveDate,
    until: NaiveDate,
    managers: Vec<TakeRow>,
    levels: Vec<TakeRow>,
    declines: Vec<DeclineTotals>,
    sources: Vec<SourceRow>,
    channels: Vec<ChannelRow>,
    days: Vec<DayRow>,
}

async fn report(
    app: &AppState,
    period: &Period,
) -> Result<Result<Report, String>, crate::store::StoreError> {
    let (since, until) = match period.days(app.clock.now().date_naive()) {
        Ok(p) => p,
        Err(e) => return Ok(Err(e)),
    };
    let (s, u) = (since.to_string(), until.to_string());
    let totals = app.console.manager_totals(&s, &u).await?;
    let day_totals = app.console.day_totals(&s, &u).await?;
    let declines = app.console.decline_totals(&s, &u).await?;
    let crm = app.console.crm_totals(&s, &u).await?;
    Ok(Ok(Report {
        since,
        until,
        managers: rows_by(&totals, &declines, |m, _| m.to_string()),
        levels: rows_by(&totals, &declines, |_, l| l.to_string()),
        declines,
        sources: sources(&day_totals, &crm),
        channels: channels(&crm),
        days: per_day(&day_totals, since, until),
    }))
}

/// `30 s`, `1 min`, `4 h`, ... for a bucket bound.
fn duration_label(s: Option<u64>) -> String {
    match s {
        None => "—".into(),
        Some(s) if s < 60 => format!("≤ {s} s"),
        Some(s) if s < 3600 => format!("≤ {} min", s / 60),
        Some(s) => format!("≤ {} h", s / 3600),
    }
}

/// The reports page.
pub async fn page(
    signed: Signed,
    State(app): State<AppState>,
    Query(p): Query<Period>,
) -> Response {
    let r = match report(&app, &p).await {
        Ok(Ok(r)) => r,
        Ok(Err(problem)) => {
            return render_status(
                &signed.frame,
                StatusCode::BAD_REQUEST,
                "message.html",
                context! { title => "400", kind => "problem", text => problem, back => "/admin/reports" },
            );
        }
        Err(e) => return store_failed(&signed, &e),
    };
    let labels = |rows: &[TakeRow]| -> Vec<[String; 4]> {
        rows.iter()
            .map(|r| {
                [
                    r.median_take_s,
                    r.p90_take_s,
                    r.median_take_wall_s,
                    r.p90_take_wall_s,
                ]
                .map(duration_label)
            })
            .collect()
    };
    let crm = |rows: Vec<(Option<u64>, Option<u64>)>| -> Vec<[String; 2]> {
        rows.into_iter()
            .map(|(m, p)| [duration_label(m), duration_label(p)])
            .collect()
    };
    let query = format!("?since={}&until={}", r.since, r.until);
    render_status(
        &signed.frame,
        StatusCode::OK,
        "reports.html",
        context! {
            since => r.since.to_string(), until => r.until.to_string(), query,
            managers => Value::from(Serde(&r.managers)), manager_times => labels(&r.managers),
            levels => Value::from(Serde(&r.levels)), level_times => labels(&r.levels),
            declines => Value::from(Serde(&r.declines)),
            sources => Value::from(Serde(&r.sources)),
            source_times => crm(r.sources.iter().map(|s| (s.to_crm_median_s, s.to_crm_p90_s)).collect()),
            channels => Value::from(Serde(&r.channels)),
            channel_times => crm(r.channels.iter().map(|c| (c.to_crm_median_s, c.to_crm_p90_s)).collect()),
            days => Value::from(Serde(&r.days)),
            chart => Value::from_safe_string(chart(&r.days)),
        },
    )
}

/// A bucket bound for CSV: empty when there is none.
fn opt(v: Option<u64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_of(r: &Report, table: &str) -> Option<String> {
    let take = |rows: &[TakeRow], key: &str| {
        let mut out = format!(
            "{key},assigned,taken,declined,passed_on,sla_breaches,median_take_s,p90_take_s,median_take_wall_s,p90_take_wall_s\r\n"
        );
        for t in rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{}\r\n",
                super::leads::csv_field(&t.key),
                t.assigned,
                t.taken,
                t.declined,
                t.passed_on,
                t.sla_breaches,
                opt(t.median_take_s),
                opt(t.p90_take_s),
                opt(t.median_take_wall_s),
                opt(t.p90_take_wall_s)
            ));
        }
        out
    };
    Some(match table {
        "managers" => take(&r.managers, "manager"),
        "levels" => take(&r.levels, "level"),
        "declines" => {
            let mut out = String::from("manager,level,reason,declined\r\n");
            for d in &r.declines {
                out.push_str(&format!(
                    "{},{},{},{}\r\n",
                    super::leads::csv_field(&d.manager_id),
                    super::leads::csv_field(&d.level),
                    super::leads::csv_field(&d.reason),
                    d.n
                ));
            }
            out
        }
        "sources" => {
            let mut out = String::from(
                "source,channel,leads,kept_out,kept_out_pct,delivered,to_crm_median_s,to_crm_p90_s\r\n",
            );
            for s in &r.sources {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\r\n",
                    s.source,
                    s.channel,
                    s.leads,
                    s.kept_out,
                    s.kept_out_pct,
                    s.delivered,
                    opt(s.to_crm_median_s),
                    opt(s.to_crm_p90_s)
                ));
            }
            out
        }
        "channels" => {
            let mut out = String::from("channel,delivered,to_crm_median_s,to_crm_p90_s\r\n");
            for c in &r.channels {
                out.push_str(&format!(
                    "{},{},{},{}\r\n",
                    c.channel,
                    c.delivered,
                    opt(c.to_crm_median_s),
                    opt(c.to_crm_p90_s)
                ));
            }
            out
        }
        "days" => {
            let mut out = String::from("day,leads,kept_out\r\n");
            for d in &r.days {
                out.push_str(&format!("{},{},{}\r\n", d.day, d.leads, d.kept_out));
            }
            out
        }
        _ => return None,
    })
}

/// A table of the report as CSV.
pub async fn csv(
    signed: Signed,
    State(app): State<AppState>,
    Path(table): Path<String>,
    Query(p): Query<Period>,
) -> Response {
    let r = match report(&app, &p).await {
        Ok(Ok(r)) => r,
        Ok(Err(problem)) => return (StatusCode::BAD_REQUEST, problem).into_response(),
        Err(e) => return store_failed(&signed, &e),
    };
    let table = table.trim_end_matches(".csv");
    match csv_of(&r, table) {
        Some(body) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!("attachment; filename=\"{table}.csv\""))
                        .expect("a table name is a plain word"),
                ),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such table").into_response(),
    }
}

/// `GET /admin/api/reports/{managers,levels,sources,days}?since=&until=` (bearer token).
pub async fn api(
    State(app): State<AppState>,
    Path(table): Path<String>,
    Query(p): Query<Period>,
) -> Result<Response, ApiError> {
    let r = report(&app, &p)
        .await
        .map_err(|e| ApiError::unavailable(e.to_string()))?
        .map_err(|problem| ApiError::new(StatusCode::BAD_REQUEST, "invalid_period", problem))?;
    let items = match table.as_str() {
        "managers" => serde_json::to_value(&r.managers),
        "levels" => serde_json::to_value(&r.levels),
        "declines" => serde_json::to_value(&r.declines),
        "sources" => serde_json::to_value(&r.sources),
        "channels" => serde_json::to_value(&r.channels),
        "days" => serde_json::to_value(&r.days),
        _ => return Err(ApiError::not_found("report")),
    }
    .map_err(|e| ApiError::unavailable(e.to_string()))?;
    Ok(Json(serde_json::json!({
        "since": r.since.to_string(), "until": r.until.to_string(), "items": items,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_the_bounds_of_their_buckets() {
        let mut b = [0u64; 10];
        assert_eq!(quantile(&b, &TAKE_BUCKETS, 0.5), None);
        b[0] = 5; // five within a minute
        b[3] = 4; // four within half an hour
        b[9] = 1; // one after more than a day
        assert_eq!(quantile(&b, &TAKE_BUCKETS, 0.5), Some(60));
        assert_eq!(quantile(&b, &TAKE_BUCKETS, 0.9), Some(1800));
        assert_eq!(quantile(&b, &TAKE_BUCKETS, 1.0), None, "open-ended");
    }

    #[test]
    fn a_period_is_checked() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap();
        let p = Period::default();
        assert_eq!(
            p.days(today).unwrap(),
            (NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(), today)
        );
        let bad = Period {
            since: "2026-12-04".into(),
            until: "2026-12-01".into(),
        };
        assert!(bad.days(today).is_err());
    }
}
