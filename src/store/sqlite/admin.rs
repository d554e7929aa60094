//! What the admin API and `/readyz` read: the health check, lists of items and leads, a lead's
//! whole journey, and the queue counts.

use super::outbox::outbox_summaries;
use super::*;
use crate::store::sql::Read;
use crate::store::sql::admin::{
    JOURNEY_ASSIGNMENTS, JOURNEY_AUDIT, JOURNEY_INBOUND, JOURNEY_LEAD, RULES_TEXTS,
    assignment_summary, audit_entry, inbound_summary, journey_item, lead_summary, queue_counts,
};
use crate::store::sql::outbox::OUTBOX_COLUMNS;

#[async_trait]
impl AdminStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn list_inbound(&self, f: &ListFilter) -> StoreResult<Vec<InboundSummary>> {
        let rows = sqlx::query(
            "SELECT id, source, channel, dedupe_key, received_at, status, reason, detail, lead_id
         FROM inbound
         WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR source = ?2)
           AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR reason = ?4)
           AND (?5 IS NULL OR received_at >= ?5) AND (?6 IS NULL OR received_at < ?6)
         ORDER BY received_at DESC, id DESC LIMIT +?7",
        )
        .bind(&f.channel)
        .bind(&f.source)
        .bind(&f.status)
        .bind(&f.reason)
        .bind(f.since.map(ts))
        .bind(f.until.map(ts))
        .bind(i64::from(f.limit.clamp(1, 500)))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(inbound_summary).collect()
    }

    async fn list_leads(&self, f: &ListFilter) -> StoreResult<Vec<LeadSummary>> {
        let rows = sqlx::query(
            "SELECT id, source, channel, received_at, status, level, rule, manager_id FROM leads
         WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR source = ?2)
           AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR manager_id = ?4)
           AND (?5 IS NULL OR received_at >= ?5) AND (?6 IS NULL OR received_at < ?6)
         ORDER BY received_at DESC, id DESC LIMIT +?7",
        )
        .bind(&f.channel)
        .bind(&f.source)
        .bind(&f.status)
        .bind(&f.manager)
        .bind(f.since.map(ts))
        .bind(f.until.map(ts))
        .bind(i64::from(f.limit.clamp(1, 500)))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(lead_summary).collect()
    }

    async fn lead_journey(&self, lead_id: &str) -> StoreResult<Option<Journey>> {
        let Some(lead) = sqlx::query(JOURNEY_LEAD.sqlite())
            .bind(lead_id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let inbound = sqlx::query(JOURNEY_INBOUND.sqlite())
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(journey_item)
            .collect::<StoreResult<Vec<_>>>()?;
        let assignments = sqlx::query(JOURNEY_ASSIGNMENTS.sqlite())
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(assignment_summary)
            .collect::<StoreResult<Vec<_>>>()?;
        let outbox_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE lead_id = ?1 ORDER BY id"
        )))
        .bind(lead_id)
        .fetch_all(&self.read)
        .await?;
        let deliveries = outbox_summaries(&self.read, outbox_rows).await?;
        let audit = sqlx::query(JOURNEY_AUDIT.sqlite())
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(audit_entry)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Journey {
            lead: parse_json("leads.record", &lead.packed_text("leads.record", "record")?)?,
            status: lead.try_get("status")?,
            rules_version: lead.try_get("rules_version")?,
            trace: spelt_out(
                self,
                parse_json("leads.trace", &lead.packed_text("leads.trace", "trace")?)?,
            )
            .await?,
            inbound,
            assignments,
            deliveries,
            audit,
        }))
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM inbound WHERE status = 'pending') AS inbound_pending,
                (SELECT COUNT(*) FROM outbox WHERE status = 'pending') AS outbox_pending,
                (SELECT COUNT(*) FROM outbox WHERE status = 'dead') AS outbox_dead,
                (SELECT COALESCE(SUM(n), 0) FROM held_leads) AS leads_held",
        )
        .fetch_one(&self.read)
        .await?;
        queue_counts(&row)
    }
}

/// A lead's stored trace spelt out with its rules version's texts; a trace the texts do
/// not fit is shown as stored, with the reason, rather than hiding the whole journey.
async fn spelt_out(store: &SqliteStore, trace: Value) -> StoreResult<Value> {
    if !crate::routing::is_indexed(&trace) {
        return Ok(trace);
    }
    let version = trace["rules_version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let texts: Option<String> = sqlx::query_scalar(RULES_TEXTS.sqlite())
        .bind(&version)
        .fetch_optional(&store.read)
        .await?;
    let Some(texts) = texts else {
        return Ok(serde_json::json!({
            "unreadable": format!("the texts of rules version {version} are not in the store"),
            "stored": trace,
        }));
    };
    Ok(crate::routing::spell_out(trace.clone(), &texts)
        .unwrap_or_else(|e| serde_json::json!({"unreadable": e.to_string(), "stored": trace})))
}
