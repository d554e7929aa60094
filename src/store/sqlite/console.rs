//! [`ConsoleStore`] on SQLite: statements assembled from fixed fragments (only values are
//! bound), so each filter the page offers can use its index (`0008_console.sql`) instead of a
//! catch-all `?1 IS NULL OR ...` that would scan.

use super::inbound::inbound_row;
use super::{SqliteStore, ts};
use crate::store::sql::console::{
    AUDIT, DELIVERY_BODIES, LEAD_NOTIFICATIONS, LeadList, LeadListSql, NOT_LEAD_REASONS, Query,
    RESEND, crm_totals, day_totals, decline_totals, lead_notice, manager_totals, not_lead_row,
    not_leads_query, page_key,
};
use crate::store::sql::{Placeholders, Read};
use crate::store::{
    ConsoleStore, CrmTotals, DayTotals, DeclineTotals, KeptItem, LeadNotice, LeadPage, LeadQuery,
    ManagerTotals, MarkedAsLead, NotLeadRow, PageKey, StoreResult,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::Sqlite;
use sqlx::sqlite::SqliteArguments;

/// The lead list in SQLite's SQL.
pub(super) static LEAD_LIST: LeadListSql = LeadListSql {
    placeholders: Placeholders::Question,
    name_range: "contact_name >= ? AND contact_name < ?",
};

/// `query` with its values bound.
pub(super) fn bound(query: Query) -> sqlx::query::Query<'static, Sqlite, SqliteArguments> {
    query
        .values
        .into_iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(query.sql)), |q, v| {
            q.bind(v)
        })
}

#[async_trait]
impl ConsoleStore for SqliteStore {
    async fn lead_page(&self, q: &LeadQuery) -> StoreResult<LeadPage> {
        let mut list = LeadList::new(&LEAD_LIST, q);
        if let Some(window) = list.window()
            && let Some(r) = bound(window).fetch_optional(&self.read).await?
        {
            list.window_ends(page_key(&r)?);
        }
        let found = bound(list.page()).fetch_all(&self.read).await?;
        list.finish(&found)
    }

    async fn not_leads(
        &self,
        reason: Option<&str>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> StoreResult<(Vec<NotLeadRow>, bool)> {
        let limit = limit.clamp(1, 1000);
        let query = not_leads_query(
            Placeholders::Question,
            "CAST(substr(payload, 1, 600) AS TEXT)",
            reason,
            after,
            limit,
        );
        let rows = bound(query).fetch_all(&self.read).await?;
        let more = rows.len() > limit as usize;
        let rows = rows
            .iter()
            .take(limit as usize)
            .map(|r| {
                let excerpt = r
                    .try_get::<Option<String>, _>("excerpt")
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                not_lead_row(r, excerpt)
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((rows, more))
    }

    async fn delivery_bodies(
        &self,
        lead_id: &str,
    ) -> StoreResult<std::collections::BTreeMap<String, String>> {
        let rows = sqlx::query(DELIVERY_BODIES.sqlite())
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.int("id")?.to_string(),
                    r.packed_text("outbox.body", "body")?,
                ))
            })
            .collect()
    }

    async fn resend(
        &self,
        lead_id: &str,
        sink: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let now = ts(at);
        let copied = sqlx::query(RESEND.sqlite())
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
        sqlx::query(AUDIT.sqlite())
            .bind(lead_id)
            .bind(&now)
            .bind("resent")
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
        sqlx::query(AUDIT.sqlite())
            .bind(lead_id)
            .bind(ts(at))
            .bind(kind)
            .bind(detail.to_string())
            .execute(&mut *self.writer().await?)
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
        rows.iter().map(manager_totals).collect()
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
        rows.iter().map(decline_totals).collect()
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
        rows.iter().map(crm_totals).collect()
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
        rows.iter().map(day_totals).collect()
    }

    async fn lead_notifications(&self, lead_id: &str) -> StoreResult<Vec<LeadNotice>> {
        let rows = sqlx::query(LEAD_NOTIFICATIONS.sqlite())
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(lead_notice).collect()
    }

    async fn not_lead_reasons(&self, since: DateTime<Utc>) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(NOT_LEAD_REASONS.sqlite())
            .bind(ts(since))
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("reason")?, r.count("n")?)))
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
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
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
        sqlx::query(AUDIT.sqlite())
            .bind(id)
            .bind(ts(at))
            .bind("marked_lead")
            .bind(detail.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MarkedAsLead::Queued)
    }
}
