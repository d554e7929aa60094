//! [`ConsoleStore`] on SQLite: statements assembled from fixed fragments (only values are
//! bound), so each filter the page offers can use its index (`0008_console.sql`) instead of a
//! catch-all `?1 IS NULL OR ...` that would scan.

use super::inbound::inbound_row;
use super::{SqliteStore, opt_ts, parse_ts, ts};
use crate::store::console::{excerpt, name_prefix};
use crate::store::{
    ConsoleStore, CrmTotals, DayTotals, DeclineTotals, KeptItem, LeadNotice, LeadPage, LeadQuery,
    LeadRow, ManagerTotals, MarkedAsLead, NotLeadRow, PageKey, Search, StoreResult,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Arguments;
use sqlx::Row;
use sqlx::sqlite::SqliteArguments;

/// A WHERE clause and its values, built a condition at a time.
#[derive(Default, Clone)]
struct Where {
    sql: Vec<String>,
    args: SqliteArguments,
}

impl Where {
    fn add(&mut self, condition: &str, values: &[String]) {
        self.sql.push(condition.to_string());
        for v in values {
            self.args.add(v.clone()).expect("a text value binds");
        }
    }

    fn eq(&mut self, column: &str, value: Option<&String>) {
        if let Some(v) = value {
            self.add(&format!("{column} = ?"), std::slice::from_ref(v));
        }
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.sql.join(" AND "))
        }
    }
}

/// How many leads of one filter a page with several filters looks through at most.
const WINDOW: u32 = 5000;

#[async_trait]
impl ConsoleStore for SqliteStore {
    async fn lead_page(&self, q: &LeadQuery) -> StoreResult<LeadPage> {
        // The most selective filters first: the first one drives the index.
        let filters: Vec<(&str, &String)> = [
            ("manager_id", q.manager.as_ref()),
            ("source", q.source.as_ref()),
            ("channel", q.channel.as_ref()),
            ("level", q.level.as_ref()),
            ("status", q.status.as_ref()),
        ]
        .into_iter()
        .filter_map(|(c, v)| v.map(|v| (c, v)))
        .collect();
        let mut w = Where::default();
        if let Some(t) = q.since {
            w.add("received_at >= ?", &[ts(t)]);
        }
        if let Some(t) = q.until {
            w.add("received_at < ?", &[ts(t)]);
        }
        if let Some(k) = &q.after {
            w.add(
                "(received_at, id) < (?, ?)",
                &[ts(k.received_at), k.id.clone()],
            );
        }
        // Two filters or more and no search: look through at most WINDOW leads of the first
        // filter's index, so a combination nothing matches costs no more than one that many do.
        let mut bound: Option<PageKey> = None;
        if filters.len() >= 2 && q.search.is_none() {
            let mut ww = w.clone();
            ww.eq(filters[0].0, Some(filters[0].1));
            let sql = format!(
                "SELECT received_at, id FROM leads {} ORDER BY received_at DESC, id DESC
                 LIMIT 1 OFFSET {}",
                ww.clause(),
                WINDOW - 1
            );
            if let Some(r) = sqlx::query_with(sqlx::AssertSqlSafe(sql), ww.args)
                .fetch_optional(&self.read)
                .await?
            {
                let key = PageKey {
                    received_at: parse_ts(
                        "leads.received_at",
                        &r.try_get::<String, _>("received_at")?,
                    )?,
                    id: r.try_get("id")?,
                };
                w.add(
                    "(received_at, id) >= (?, ?)",
                    &[ts(key.received_at), key.id.clone()],
                );
                bound = Some(key);
            }
        }
        for (column, value) in &filters {
            w.eq(column, Some(value));
        }
        match &q.search {
            Some(Search::Phone(p)) => w.add(
                "id IN (SELECT lead_id FROM lead_contacts WHERE key = ?)",
                &[format!("phone:{p}")],
            ),
            Some(Search::Email(e)) => w.add(
                "id IN (SELECT lead_id FROM lead_contacts WHERE key = ?)",
                &[format!("email:{e}")],
            ),
            Some(Search::Name(n)) => {
                let start = name_prefix(n);
                let end = format!("{start}\u{10FFFF}");
                w.add(
                    "json_extract(record, '$.contact.name') >= ? \
                     AND json_extract(record, '$.contact.name') < ?",
                    &[start, end],
                );
            }
            None => {}
        }
        let limit = q.limit.clamp(1, 1000);
        let sql = format!(
            "SELECT id, received_at, channel, source, status, level, manager_id,
                    json_extract(record, '$.contact.name') AS name,
                    json_extract(record, '$.contact.phones[0]') AS phone,
                    json_extract(record, '$.contact.emails[0]') AS email,
                    substr(json_extract(record, '$.text'), 1, 200) AS text
             FROM leads {} ORDER BY received_at DESC, id DESC LIMIT {}",
            w.clause(),
            limit + 1
        );
        let found = sqlx::query_with(sqlx::AssertSqlSafe(sql), w.args)
            .fetch_all(&self.read)
            .await?;
        let more = found.len() > limit as usize;
        let rows = found
            .iter()
            .take(limit as usize)
            .map(|r| {
                Ok(LeadRow {
                    id: r.try_get("id")?,
                    received_at: parse_ts(
                        "leads.received_at",
                        &r.try_get::<String, _>("received_at")?,
                    )?,
                    channel: r.try_get("channel")?,
                    source: r.try_get("source")?,
                    status: r.try_get("status")?,
                    level: r.try_get("level")?,
                    manager_id: r.try_get("manager_id")?,
                    name: r.try_get("name")?,
                    phone: r.try_get("phone")?,
                    email: r.try_get("email")?,
                    text: excerpt(
                        &r.try_get::<Option<String>, _>("text")?.unwrap_or_default(),
                        120,
                    ),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let next = match rows.last() {
            Some(last) if more => Some(PageKey {
                received_at: last.received_at,
                id: last.id.clone(),
            }),
            // The stretch looked through ended before the page filled: go on after it.
            _ => bound,
        };
        Ok(LeadPage { rows, next })
    }

    async fn not_leads(
        &self,
        reason: Option<&str>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> StoreResult<(Vec<NotLeadRow>, bool)> {
        let mut w = Where::default();
        w.add("status = 'not_lead'", &[]);
        if let Some(r) = reason {
            w.add("reason = ?", &[r.to_string()]);
        }
        if let Some(k) = after {
            w.add(
                "(received_at, id) < (?, ?)",
                &[ts(k.received_at), k.id.clone()],
            );
        }
        let limit = limit.clamp(1, 1000);
        let sql = format!(
            "SELECT id, received_at, source, channel, reason, detail,
                    CAST(substr(payload, 1, 600) AS TEXT) AS excerpt
             FROM inbound {} ORDER BY received_at DESC, id DESC LIMIT {}",
            w.clause(),
            limit + 1
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), w.args)
            .fetch_all(&self.read)
            .await?;
        let more = rows.len() > limit as usize;
        let rows = rows
            .iter()
            .take(limit as usize)
            .map(|r| {
                Ok(NotLeadRow {
                    id: r.try_get("id")?,
                    received_at: parse_ts(
                        "inbound.received_at",
                        &r.try_get::<String, _>("received_at")?,
                    )?,
                    source: r.try_get("source")?,
                    channel: r.try_get("channel")?,
                    reason: r.try_get("reason")?,
                    detail: r.try_get("detail")?,
                    excerpt: r
                        .try_get::<Option<String>, _>("excerpt")
                        .ok()
                        .flatten()
                        .unwrap_or_default(),
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((rows, more))
    }

    async fn delivery_bodies(
        &self,
        lead_id: &str,
    ) -> StoreResult<std::collections::BTreeMap<String, String>> {
        let rows = sqlx::query("SELECT id, body FROM outbox WHERE lead_id = ?1")
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get::<i64, _>("id")?.to_string(), r.try_get("body")?)))
            .collect()
    }

    async fn resend(
        &self,
        lead_id: &str,
        sink: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write.begin().await?;
        let now = ts(at);
        let copied = sqlx::query(
            "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, request, created_at,
                                 retry_since, next_attempt_at)
             SELECT lead_id, sink, ?3, event_type, body, request, ?4, ?4, ?4 FROM outbox
             WHERE lead_id = ?1 AND sink = ?2 ORDER BY id DESC LIMIT 1",
        )
        .bind(lead_id)
        .bind(sink)
        .bind(event_id)
        .bind(&now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if copied == 0 {
            return Ok(false);
        }
        sqlx::query("INSERT INTO audit (lead_id, at, kind, detail) VALUES (?1, ?2, 'resent', ?3)")
            .bind(lead_id)
            .bind(&now)
            .bind(
                serde_json::json!({"sink": sink, "event_id": event_id, "by": "console"})
                    .to_string(),
            )
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn audit(
        &self,
        lead_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        detail: &serde_json::Value,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO audit (lead_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4)")
            .bind(lead_id)
            .bind(ts(at))
            .bind(kind)
            .bind(detail.to_string())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn manager_totals(&self, since: &str, until: &str) -> StoreResult<Vec<ManagerTotals>> {
        let rows = sqlx::query(
            "SELECT manager_id, level, SUM(assigned) AS assigned, SUM(taken) AS taken,
                    SUM(declined) AS declined, SUM(expired) AS expired,
                    SUM(t0) AS t0, SUM(t1) AS t1, SUM(t2) AS t2, SUM(t3) AS t3, SUM(t4) AS t4,
                    SUM(t5) AS t5, SUM(t6) AS t6, SUM(t7) AS t7, SUM(t8) AS t8, SUM(t9) AS t9,
                    SUM(w0) AS w0, SUM(w1) AS w1, SUM(w2) AS w2, SUM(w3) AS w3, SUM(w4) AS w4,
                    SUM(w5) AS w5, SUM(w6) AS w6, SUM(w7) AS w7, SUM(w8) AS w8, SUM(w9) AS w9
             FROM report_managers WHERE day >= ?1 AND day <= ?2
             GROUP BY manager_id, level ORDER BY manager_id, level",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        let n = |r: &sqlx::sqlite::SqliteRow, c: &str| -> StoreResult<u64> {
            Ok(r.try_get::<i64, _>(c)?.max(0) as u64)
        };
        rows.iter()
            .map(|r| {
                let mut take_buckets = [0u64; 10];
                let mut work_buckets = [0u64; 10];
                for i in 0..10 {
                    take_buckets[i] = n(r, &format!("t{i}"))?;
                    work_buckets[i] = n(r, &format!("w{i}"))?;
                }
                Ok(ManagerTotals {
                    manager_id: r.try_get("manager_id")?,
                    level: r.try_get("level")?,
                    assigned: n(r, "assigned")?,
                    taken: n(r, "taken")?,
                    declined: n(r, "declined")?,
                    expired: n(r, "expired")?,
                    take_buckets,
                    work_buckets,
                })
            })
            .collect()
    }

    async fn decline_totals(&self, since: &str, until: &str) -> StoreResult<Vec<DeclineTotals>> {
        let rows = sqlx::query(
            "SELECT manager_id, level, reason, SUM(n) AS n FROM report_declines
             WHERE day >= ?1 AND day <= ?2
             GROUP BY manager_id, level, reason ORDER BY manager_id, level, reason",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeclineTotals {
                    manager_id: r.try_get("manager_id")?,
                    level: r.try_get("level")?,
                    reason: r.try_get("reason")?,
                    n: r.try_get::<i64, _>("n")?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn crm_totals(&self, since: &str, until: &str) -> StoreResult<Vec<CrmTotals>> {
        let rows = sqlx::query(
            "SELECT source, channel, SUM(c0) AS c0, SUM(c1) AS c1, SUM(c2) AS c2, SUM(c3) AS c3,
                    SUM(c4) AS c4, SUM(c5) AS c5, SUM(c6) AS c6, SUM(c7) AS c7, SUM(c8) AS c8,
                    SUM(c9) AS c9, SUM(c10) AS c10, SUM(c11) AS c11
             FROM report_crm WHERE day >= ?1 AND day <= ?2
             GROUP BY source, channel ORDER BY source, channel",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let mut buckets = [0u64; 12];
                for (i, b) in buckets.iter_mut().enumerate() {
                    *b = r.try_get::<i64, _>(format!("c{i}").as_str())?.max(0) as u64;
                }
                Ok(CrmTotals {
                    source: r.try_get("source")?,
                    channel: r.try_get("channel")?,
                    buckets,
                })
            })
            .collect()
    }

    async fn day_totals(&self, since: &str, until: &str) -> StoreResult<Vec<DayTotals>> {
        let rows = sqlx::query(
            "SELECT day, source, MAX(channel) AS channel, SUM(leads) AS leads, SUM(kept) AS kept
             FROM (SELECT day, source, channel, n AS leads, 0 AS kept FROM report_leads
                   WHERE day >= ?1 AND day <= ?2
                   UNION ALL
                   SELECT day, source, '' AS channel, 0 AS leads, n AS kept FROM report_kept
                   WHERE day >= ?1 AND day <= ?2)
             GROUP BY day, source ORDER BY day, source",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DayTotals {
                    day: r.try_get("day")?,
                    source: r.try_get("source")?,
                    channel: r.try_get("channel")?,
                    leads: r.try_get::<i64, _>("leads")?.max(0) as u64,
                    kept_out: r.try_get::<i64, _>("kept")?.max(0) as u64,
                })
            })
            .collect()
    }

    async fn lead_notifications(&self, lead_id: &str) -> StoreResult<Vec<LeadNotice>> {
        let rows = sqlx::query(
            "SELECT created_at, recipient, channel, address, kind, status, attempts, last_error,
                    sent_at
             FROM notifications WHERE lead_id = ?1 ORDER BY id",
        )
        .bind(lead_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LeadNotice {
                    created_at: parse_ts(
                        "notifications.created_at",
                        &r.try_get::<String, _>("created_at")?,
                    )?,
                    recipient: r.try_get("recipient")?,
                    channel: r.try_get("channel")?,
                    address: r.try_get("address")?,
                    kind: r.try_get("kind")?,
                    status: r.try_get("status")?,
                    attempts: r.try_get::<i64, _>("attempts")?.max(0) as u32,
                    last_error: r.try_get("last_error")?,
                    sent_at: opt_ts("notifications.sent_at", r.try_get("sent_at")?)?,
                })
            })
            .collect()
    }

    async fn not_lead_reasons(&self, since: DateTime<Utc>) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT COALESCE(reason, '') AS reason, COUNT(*) AS n FROM inbound
             WHERE status = 'not_lead' AND received_at >= ?1
             GROUP BY reason ORDER BY n DESC",
        )
        .bind(ts(since))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("reason")?, r.try_get::<i64, _>("n")? as u64)))
            .collect()
    }

    async fn inbound_item(&self, id: &str) -> StoreResult<Option<KeptItem>> {
        let Some(r) = sqlx::query(
            "SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta,
                    status, reason, detail, lead_id
             FROM inbound WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(KeptItem {
            row: inbound_row(&r)?,
            status: r.try_get("status")?,
            reason: r.try_get("reason")?,
            detail: r.try_get("detail")?,
            lead_id: r.try_get("lead_id")?,
        }))
    }

    async fn mark_as_lead(
        &self,
        id: &str,
        mark: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> StoreResult<MarkedAsLead> {
        let mut tx = self.write.begin().await?;
        let before = sqlx::query("SELECT status, reason, detail FROM inbound WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(before) = before else {
            return Ok(MarkedAsLead::Missing);
        };
        let status: String = before.try_get("status")?;
        if status != "not_lead" {
            return Ok(MarkedAsLead::NotKeptOut { status });
        }
        sqlx::query(
            "UPDATE inbound SET status = 'pending', processed_at = NULL,
                    meta = json_set(meta, '$.as_lead', json(?2))
             WHERE id = ?1 AND status = 'not_lead'",
        )
        .bind(id)
        .bind(mark.to_string())
        .execute(&mut *tx)
        .await?;
        let mut detail = mark.clone();
        detail["was"] = serde_json::json!({
            "reason": before.try_get::<Option<String>, _>("reason")?,
            "detail": before.try_get::<Option<String>, _>("detail")?,
        });
        sqlx::query(
            "INSERT INTO audit (lead_id, at, kind, detail) VALUES (?1, ?2, 'marked_lead', ?3)",
        )
        .bind(id)
        .bind(ts(at))
        .bind(detail.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(MarkedAsLead::Queued)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lower_case_name_is_matched_as_the_normaliser_writes_it() {
        assert_eq!(super::name_prefix("вера пав"), "Вера Пав");
        assert_eq!(super::name_prefix("McD"), "McD");
    }
}
