//! The delivery side: outbox rows claimed with a lease, attempts recorded, a preset's steps
//! and the values captured from a CRM's answers, dead letters listed and replayed.

use super::*;
use crate::store::sql::Read;
use crate::store::sql::outbox::{
    ATTEMPTS, CRM_REFS, OUTBOX_COLUMNS, SET_CRM_REF, SET_STEP, attempt_summary, crm_ref,
    outbox_row, outbox_summary,
};

async fn attempts_of(pool: &SqlitePool, outbox_id: i64) -> StoreResult<Vec<AttemptSummary>> {
    let rows = sqlx::query(ATTEMPTS.sqlite())
        .bind(outbox_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(attempt_summary).collect()
}

pub(super) async fn outbox_summaries(
    pool: &SqlitePool,
    rows: Vec<SqliteRow>,
) -> StoreResult<Vec<OutboxSummary>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let history = attempts_of(pool, r.int("id")?).await?;
        out.push(outbox_summary(&r, history)?);
    }
    Ok(out)
}

/// Due no earlier than: when a row is to be tried again later, the rows its lead has pending
/// behind it for the same sink are moved to that time too, if they were due sooner. They
/// cannot go before it anyway; left due, every claim would read past them again, and with
/// the CRM down for an hour that is every event of every returning person (the claim holds
/// the write turn while it reads). New rows are queued the same way (`leads/deferred.rs`).
/// `?1` is the recorded results, as `record_deliveries` binds them (outbox id at 0, outcome
/// at 3, next attempt at 8, the claim's lease at 10), run while the rows are still leased.
const PUSH_BACK_FOLLOWERS: &str = "UPDATE outbox SET next_attempt_at = r.value->>8
     FROM json_each(?1) AS r JOIN outbox h ON h.id = r.value->>0
     WHERE r.value->>3 = 'retry' AND h.lease_until = r.value->>10
       AND outbox.sink = h.sink AND outbox.lead_id = h.lead_id
       AND outbox.status = 'pending' AND outbox.id > h.id
       AND outbox.next_attempt_at < r.value->>8";

/// The condition that outbox row `$row` (a table alias) is the first pending row of its lead
/// for its sink: a lead's events reach each sink in order, so only such a head is claimed or
/// counts as due. A macro so that the statements stay `&'static str` (`concat!`).
macro_rules! head_of_lead {
    ($row:literal) => {
        concat!(
            "NOT EXISTS (SELECT 1 FROM outbox e WHERE e.sink = ",
            $row,
            ".sink AND e.lead_id = ",
            $row,
            ".lead_id AND e.status = 'pending' AND e.id < ",
            $row,
            ".id)"
        )
    };
}

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_outbox(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        let rows = sqlx::query(concat!(
            "UPDATE outbox SET lease_until = ?3 WHERE id IN (
            SELECT o.id FROM outbox o
            WHERE o.sink = ?1 AND o.status = 'pending' AND o.next_attempt_at <= ?2
              AND (o.lease_until IS NULL OR o.lease_until <= ?2)
              AND ",
            head_of_lead!("o"),
            "
            ORDER BY o.next_attempt_at, o.id LIMIT +?4)
         RETURNING id, lead_id, sink, event_id, event_type, body, request, step, attempts, retry_since,
                   lease_until",
        ))
    .bind(sink)
    .bind(ts(now))
    .bind(ts(lease_until))
    .bind(i64::from(limit))
    .fetch_all(&mut *self.delivery_writer().await?)
    .await?;
        let mut out: Vec<OutboxRow> = rows.iter().map(outbox_row).collect::<StoreResult<_>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_deliveries(&self, results: &[DeliveryResult]) -> StoreResult<usize> {
        if results.is_empty() {
            return Ok(0);
        }
        // One statement per table for the whole batch: `[outbox_id, attempt, at, outcome,
        // status_code, error, duration_ms, status, next_attempt_at, delivered_at,
        // lease_until]` per result. Each counts only while its row is under that lease, so
        // the attempts and the followers pushed back are written before the rows' update
        // lifts it.
        let rows: Vec<Value> = results
            .iter()
            .map(|r| {
                let (outcome, status, next, delivered) = match r.outcome {
                    DeliveryOutcome::Delivered => ("delivered", "delivered", None, Some(ts(r.at))),
                    DeliveryOutcome::Retry(at) => ("retry", "pending", Some(ts(at)), None),
                    DeliveryOutcome::Dead => ("dead", "dead", None, None),
                };
                serde_json::json!([
                    r.outbox_id,
                    r.attempt,
                    ts(r.at),
                    outcome,
                    r.status_code,
                    r.error,
                    r.duration_ms,
                    status,
                    next,
                    delivered,
                    ts(r.lease_until)
                ])
            })
            .collect();
        let rows = Value::Array(rows).to_string();
        let mut writer = self.delivery_writer().await?;
        let mut tx = writer.begin().await?;
        sqlx::query(
        "INSERT OR REPLACE INTO delivery_attempts (outbox_id, attempt, at, outcome, status_code, error, duration_ms)
         SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5,
                j.value->>6
         FROM json_each(?1) AS j JOIN outbox o ON o.id = j.value->>0
         WHERE o.lease_until = j.value->>10 ORDER BY j.key",
    )
    .bind(&rows)
    .execute(&mut *tx)
    .await?;
        if (results.iter()).any(|r| matches!(r.outcome, DeliveryOutcome::Retry(_))) {
            sqlx::query(PUSH_BACK_FOLLOWERS)
                .bind(&rows)
                .execute(&mut *tx)
                .await?;
        }
        let recorded = sqlx::query(
            "UPDATE outbox SET status = j.value->>7, attempts = j.value->>1, lease_until = NULL,
                last_error = j.value->>5, next_attempt_at = COALESCE(j.value->>8, next_attempt_at),
                delivered_at = j.value->>9
         FROM json_each(?1) AS j WHERE outbox.id = j.value->>0 AND outbox.lease_until = j.value->>10",
        )
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(recorded.rows_affected() as usize)
    }

    async fn next_outbox_due(&self, sink: &str) -> StoreResult<Option<DateTime<Utc>>> {
        // The earliest of the heads (rows no earlier pending row of their lead holds back):
        // a head not leased is due at its next attempt, a leased one when its lease ends too.
        // Read in order of next attempt up to the first head not leased, `c`: a head further
        // on is due after `c` whether leased or not, and rows held back behind a head are
        // due no earlier than it (see [`PUSH_BACK_FOLLOWERS`]), so the read stays short
        // however long the backlog.
        let next: Option<String> = sqlx::query_scalar(concat!(
            "SELECT MIN(MAX(o.next_attempt_at, COALESCE(o.lease_until, ''))) FROM outbox o
         WHERE o.sink = ?1 AND o.status = 'pending'
           AND o.next_attempt_at <= COALESCE((
               SELECT h.next_attempt_at FROM outbox h
               WHERE h.sink = ?1 AND h.status = 'pending' AND h.lease_until IS NULL
                 AND ",
            head_of_lead!("h"),
            "
               ORDER BY h.next_attempt_at LIMIT 1), '9999')
           AND ",
            head_of_lead!("o"),
        ))
        .bind(sink)
        .fetch_one(&self.deliveries)
        .await?;
        opt_ts("outbox.next_attempt_at", next)
    }

    async fn crm_refs(&self, sink: &str, lead_id: &str) -> StoreResult<CrmRefs> {
        let rows = sqlx::query(CRM_REFS.sqlite())
            .bind(sink)
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(crm_ref).collect()
    }

    async fn record_step(
        &self,
        row: &OutboxRow,
        steps_done: u32,
        captured: &CrmRefs,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for (name, value) in captured {
            sqlx::query(SET_CRM_REF.sqlite())
                .bind(&row.sink)
                .bind(&row.lead_id)
                .bind(name)
                .bind(value.to_string())
                .bind(ts(at))
                .execute(&mut *tx)
                .await?;
        }
        let held = sqlx::query(SET_STEP.sqlite())
            .bind(row.id)
            .bind(i64::from(steps_done))
            .bind(ts(row.lease_until))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(held.rows_affected() == 1)
    }

    async fn replay_dead(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
        "UPDATE outbox SET status = 'pending', next_attempt_at = ?1, retry_since = ?1, lease_until = NULL
         WHERE status = 'dead' AND (?2 IS NULL OR lead_id = ?2) AND (?3 IS NULL OR sink = ?3)",
    )
    .bind(ts(now))
    .bind(&filter.lead_id)
    .bind(&filter.sink)
    .execute(&mut *self.writer().await?)
    .await?;
        Ok(done.rows_affected())
    }

    async fn list_dead(&self, f: &ReplayFilter, limit: u32) -> StoreResult<Vec<OutboxSummary>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox
         WHERE status = 'dead' AND (?1 IS NULL OR lead_id = ?1) AND (?2 IS NULL OR sink = ?2)
         ORDER BY id DESC LIMIT +?3"
        )))
        .bind(&f.lead_id)
        .bind(&f.sink)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.read)
        .await?;
        outbox_summaries(&self.read, rows).await
    }
}
