//! [`ConsoleStore`] on PostgreSQL: statements assembled from fixed fragments (only values are
//! bound), so each filter the page offers can use its own index.

use super::inbound::{INBOUND_COLUMNS, inbound_row};
use super::*;
use crate::store::sql::console::{
    AUDIT, DELIVERY_BODIES, LEAD_NOTIFICATIONS, LeadList, LeadListSql, NOT_LEAD_REASONS, Query,
    RESEND, crm_totals, day_totals, decline_totals, lead_notice, manager_totals, not_lead_row,
    not_leads_query, page_key,
};
use crate::store::sql::{Placeholders, Read};
use sqlx::postgres::PgArguments;

/// Totals per day in `since..=until` summed by `group`, as numbers.
fn sums(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|c| format!("SUM({c})::bigint AS {c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The lead list in PostgreSQL's SQL.
static LEAD_LIST: LeadListSql = LeadListSql {
    placeholders: Placeholders::Numbered,
    name_range: "contact_name COLLATE \"C\" >= ? AND contact_name COLLATE \"C\" < ?",
};

/// `query` with its values bound.
fn bound(query: Query) -> sqlx::query::Query<'static, Postgres, PgArguments> {
    query
        .values
        .into_iter()
        .fold(sqlx::query(sqlx::AssertSqlSafe(query.sql)), |q, v| {
            q.bind(v)
        })
}

#[async_trait]
impl ConsoleStore for PgStore {
    async fn lead_page(&self, q: &LeadQuery) -> StoreResult<LeadPage> {
        let mut list = LeadList::new(&LEAD_LIST, q);
        if let Some(window) = list.window()
            && let Some(r) = bound(window).fetch_optional(&self.pool).await?
        {
            list.window_ends(page_key(&r)?);
        }
        let found = bound(list.page()).fetch_all(&self.pool).await?;
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
            Placeholders::Numbered,
            "substr(payload, 1, 600)",
            reason,
            after,
            limit,
        );
        let rows = bound(query).fetch_all(&self.pool).await?;
        let more = rows.len() > limit as usize;
        let rows = rows
            .iter()
            .take(limit as usize)
            .map(|r| {
                let bytes: Vec<u8> = r.try_get("excerpt")?;
                not_lead_row(r, String::from_utf8_lossy(&bytes).into_owned())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((rows, more))
    }

    async fn delivery_bodies(
        &self,
        lead_id: &str,
    ) -> StoreResult<std::collections::BTreeMap<String, String>> {
        let rows = sqlx::query(DELIVERY_BODIES.postgres())
            .bind(lead_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.int("id")?.to_string(), r.text("body")?)))
            .collect()
    }

    async fn resend(
        &self,
        lead_id: &str,
        sink: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let now = ts(at);
        let copied = sqlx::query(RESEND.postgres())
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
        sqlx::query(AUDIT.postgres())
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
        sqlx::query(AUDIT.postgres())
            .bind(lead_id)
            .bind(ts(at))
            .bind(kind)
            .bind(detail.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn manager_totals(&self, since: &str, until: &str) -> StoreResult<Vec<ManagerTotals>> {
        let mut columns = vec!["assigned", "taken", "declined", "expired"];
        let buckets: Vec<String> = (0..10)
            .map(|i| format!("t{i}"))
            .chain((0..10).map(|i| format!("w{i}")))
            .collect();
        columns.extend(buckets.iter().map(String::as_str));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT manager_id, level, {} FROM report_managers WHERE day >= $1 AND day <= $2
             GROUP BY manager_id, level ORDER BY manager_id, level",
            sums(&columns)
        )))
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(manager_totals).collect()
    }

    async fn decline_totals(&self, since: &str, until: &str) -> StoreResult<Vec<DeclineTotals>> {
        let rows = sqlx::query(
            "SELECT manager_id, level, reason, SUM(n)::bigint AS n FROM report_declines
             WHERE day >= $1 AND day <= $2
             GROUP BY manager_id, level, reason ORDER BY manager_id, level, reason",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(decline_totals).collect()
    }

    async fn crm_totals(&self, since: &str, until: &str) -> StoreResult<Vec<CrmTotals>> {
        let columns: Vec<String> = (0..12).map(|i| format!("c{i}")).collect();
        let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT source, channel, {} FROM report_crm WHERE day >= $1 AND day <= $2
             GROUP BY source, channel ORDER BY source, channel",
            sums(&columns)
        )))
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(crm_totals).collect()
    }

    async fn day_totals(&self, since: &str, until: &str) -> StoreResult<Vec<DayTotals>> {
        let rows = sqlx::query(
            "SELECT day, source, MAX(channel) AS channel, SUM(leads)::bigint AS leads,
                    SUM(kept)::bigint AS kept
             FROM (SELECT day, source, channel, n AS leads, 0 AS kept FROM report_leads
                   WHERE day >= $1 AND day <= $2
                   UNION ALL
                   SELECT day, source, '' AS channel, 0 AS leads, n AS kept FROM report_kept
                   WHERE day >= $1 AND day <= $2) AS t
             GROUP BY day, source ORDER BY day, source",
        )
        .bind(since)
        .bind(until)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(day_totals).collect()
    }

    async fn lead_notifications(&self, lead_id: &str) -> StoreResult<Vec<LeadNotice>> {
        let rows = sqlx::query(LEAD_NOTIFICATIONS.postgres())
            .bind(lead_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(lead_notice).collect()
    }

    async fn inbound_item(&self, id: &str) -> StoreResult<Option<KeptItem>> {
        let Some(r) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOUND_COLUMNS}, status, reason, detail, lead_id FROM inbound WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        let before =
            sqlx::query("SELECT status, reason, detail FROM inbound WHERE id = $1 FOR UPDATE")
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
                    meta = jsonb_set(meta::jsonb, '{as_lead}', $2::jsonb)::text
             WHERE id = $1 AND status = 'not_lead'",
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
        sqlx::query(AUDIT.postgres())
            .bind(id)
            .bind(ts(at))
            .bind("marked_lead")
            .bind(detail.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MarkedAsLead::Queued)
    }

    async fn not_lead_reasons(&self, since: DateTime<Utc>) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(NOT_LEAD_REASONS.postgres())
            .bind(ts(since))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("reason")?, r.count("n")?)))
            .collect()
    }
}
