//! The delivery side on PostgreSQL: rows claimed with `FOR UPDATE SKIP LOCKED` under a
//! lease, attempts recorded, a preset's steps and captured values, dead letters.

use super::*;
use crate::store::sql::Read;
use crate::store::sql::outbox::{
    ATTEMPTS, CRM_REFS, OUTBOX_COLUMNS, SET_CRM_REF, SET_STEP, attempt_summary, crm_ref,
    outbox_row, outbox_summary,
};
use std::sync::LazyLock;

/// Every attempt of one outbox row, oldest first.
async fn attempts_of(pool: &PgPool, outbox_id: i64) -> StoreResult<Vec<AttemptSummary>> {
    let rows = sqlx::query(ATTEMPTS.postgres())
        .bind(outbox_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(attempt_summary).collect()
}

/// Outbox rows with their attempts.
pub(super) async fn outbox_summaries(
    pool: &PgPool,
    rows: Vec<PgRow>,
) -> StoreResult<Vec<OutboxSummary>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let history = attempts_of(pool, r.int("id")?).await?;
        out.push(outbox_summary(&r, history)?);
    }
    Ok(out)
}

/// Due no earlier than: a row to be tried again later moves the rows its lead has pending
/// behind it for the same sink to that time too, if they were due sooner (they cannot go
/// before it anyway; left due, every claim would read past them again). A `WITH` part of
/// the recording statement, after `r` (the results) and `done` (those recorded); the rows
/// it moves are never among the results, which are heads.
const PUSH_BACK_FOLLOWERS: &str = "UPDATE outbox f SET next_attempt_at = r.next
     FROM r JOIN done d ON d.id = r.outbox_id JOIN outbox h ON h.id = r.outbox_id
     WHERE r.outcome = 'retry' AND f.sink = h.sink AND f.lead_id = h.lead_id
       AND f.status = 'pending' AND f.id > h.id AND f.next_attempt_at < r.next";

/// A pending row may go when no earlier row of its lead for the same sink is pending: it is
/// the first of its lead's pending rows. Asked per row as a subquery (one index probe of
/// `outbox_lead_order` by sink and lead), never as an anti-join: on a table without
/// statistics (a fresh store, autovacuum behind or off) the planner joined by sink alone and
/// read the whole backlog for every row of the batch.
const HEAD_OF_LEAD: &str = "o.id = (SELECT e.id FROM outbox e WHERE e.sink = o.sink
      AND e.lead_id = o.lead_id AND e.status = 'pending' ORDER BY e.id LIMIT 1)";

/// A `WITH` part of [`OutboxStore::record_deliveries`]'s statement: each lead whose first delivery
/// anywhere is in `done` (the rows it just marked, `(id, lead_id, delivered_at)`) counted in
/// the arrival-to-CRM report (`report_crm`: per day of arrival, source and channel, in buckets
/// c0: within a second, c1: 2 s, c2: 5 s, c3: 10 s, c4: 30 s, c5: a minute, c6: 5 min, c7:
/// 15 min, c8: an hour, c9: 4 h, c10: a day, c11: longer). The statement sees the table as it
/// was before it, so "first" means no row of the lead was delivered before (asked per row, as
/// a subquery with a limit: as `NOT EXISTS` the planner made it a join that read the whole
/// outbox); a claim holds at
/// most one row per lead and sink. Two sinks' workers recording a lead's first deliveries in
/// the same instant may both count it: the report takes that rare double count rather than a
/// lock that could deadlock their batches.
const FIRST_DELIVERIES: &str = "INSERT INTO report_crm (day, source, channel,
         c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11)
     SELECT substr(l.received_at, 1, 10), l.source, l.channel,
            COUNT(*) FILTER (WHERE s <= 1), COUNT(*) FILTER (WHERE s > 1 AND s <= 2),
            COUNT(*) FILTER (WHERE s > 2 AND s <= 5), COUNT(*) FILTER (WHERE s > 5 AND s <= 10),
            COUNT(*) FILTER (WHERE s > 10 AND s <= 30), COUNT(*) FILTER (WHERE s > 30 AND s <= 60),
            COUNT(*) FILTER (WHERE s > 60 AND s <= 300),
            COUNT(*) FILTER (WHERE s > 300 AND s <= 900),
            COUNT(*) FILTER (WHERE s > 900 AND s <= 3600),
            COUNT(*) FILTER (WHERE s > 3600 AND s <= 14400),
            COUNT(*) FILTER (WHERE s > 14400 AND s <= 86400), COUNT(*) FILTER (WHERE s > 86400)
     FROM (SELECT DISTINCT ON (d.lead_id) d.lead_id, d.delivered_at FROM done d
           WHERE d.delivered_at IS NOT NULL
             AND (SELECT e.id FROM outbox e
                  WHERE e.lead_id = d.lead_id AND e.status = 'delivered' LIMIT 1) IS NULL
           ORDER BY d.lead_id, d.id) f
     JOIN leads l ON l.id = f.lead_id,
     LATERAL (SELECT EXTRACT(EPOCH FROM (f.delivered_at::timestamptz
                                         - l.received_at::timestamptz)) AS s) x
     GROUP BY 1, 2, 3
     ON CONFLICT (day, source, channel) DO UPDATE SET
         c0 = report_crm.c0 + excluded.c0, c1 = report_crm.c1 + excluded.c1,
         c2 = report_crm.c2 + excluded.c2, c3 = report_crm.c3 + excluded.c3,
         c4 = report_crm.c4 + excluded.c4, c5 = report_crm.c5 + excluded.c5,
         c6 = report_crm.c6 + excluded.c6, c7 = report_crm.c7 + excluded.c7,
         c8 = report_crm.c8 + excluded.c8, c9 = report_crm.c9 + excluded.c9,
         c10 = report_crm.c10 + excluded.c10, c11 = report_crm.c11 + excluded.c11";

/// The ids of up to `$4` rows of sink `$1` due at `$2` and not leased ([`HEAD_OF_LEAD`]),
/// oldest first. The
/// order is `outbox_due`'s own (`sink, next_attempt_at, id`), so the scan stops at the batch
/// however long the backlog is (a unit test reads the plan). SKIP LOCKED: a row another
/// worker is claiming right now is left to it.
fn due_heads() -> String {
    format!(
        "SELECT o.id FROM outbox o
         WHERE o.sink = $1 AND o.status = 'pending' AND o.next_attempt_at <= $2
           AND (o.lease_until IS NULL OR o.lease_until <= $2) AND {HEAD_OF_LEAD}
         ORDER BY o.next_attempt_at, o.id LIMIT $4 FOR UPDATE SKIP LOCKED"
    )
}

/// Leases [`due_heads`] until `$3` and returns them: the claim (its text made once, not at
/// every batch).
fn claim() -> &'static str {
    static CLAIM: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE outbox SET lease_until = $3 WHERE id IN ({})
             RETURNING id, lead_id, sink, event_id, event_type, body, request, step, attempts, retry_since,
                       lease_until",
            due_heads()
        )
    });
    &CLAIM
}

/// When sink `$1`'s next row falls due: the earliest head, read in order of next attempt up
/// to the first head not leased, as on SQLite (see `next_outbox_due` there), so the read
/// stays short however long the backlog. Its text made once.
fn next_due() -> &'static str {
    static NEXT_DUE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "SELECT MIN(GREATEST(o.next_attempt_at, COALESCE(o.lease_until, ''))) FROM outbox o
             WHERE o.sink = $1 AND o.status = 'pending'
               AND o.next_attempt_at <= COALESCE((
                   SELECT o.next_attempt_at FROM outbox o
                   WHERE o.sink = $1 AND o.status = 'pending' AND o.lease_until IS NULL
                     AND {HEAD_OF_LEAD}
                   ORDER BY o.next_attempt_at, o.id LIMIT 1), '9999')
               AND {HEAD_OF_LEAD}"
        )
    });
    &NEXT_DUE
}

#[async_trait]
impl OutboxStore for PgStore {
    async fn claim_outbox(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(claim()))
            .bind(sink)
            .bind(ts(now))
            .bind(ts(lease_until))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<OutboxRow> = rows.iter().map(outbox_row).collect::<StoreResult<_>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_deliveries(&self, results: &[DeliveryResult]) -> StoreResult<usize> {
        if results.is_empty() {
            return Ok(0);
        }
        // `(outcome, status, next attempt, delivered at)` of each result.
        let how: Vec<_> = (results.iter())
            .map(|r| match r.outcome {
                DeliveryOutcome::Delivered => ("delivered", "delivered", None, Some(ts(r.at))),
                DeliveryOutcome::Retry(at) => ("retry", "pending", Some(ts(at)), None),
                DeliveryOutcome::Dead => ("dead", "dead", None, None),
            })
            .collect();
        // One statement, its own transaction: the rows' new state, the attempts and the
        // arrival-to-CRM report together, each result only while its row is under the lease
        // it was made under (`done`: the update waits for a claim that holds the row and
        // then sees that claim's lease).
        let recorded: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "WITH r AS (
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::int8[],
                                      $6::text[], $7::int8[], $8::text[], $9::text[], $10::text[],
                                      $11::text[])
                      AS r(outbox_id, attempt, at, outcome, status_code, error, duration_ms,
                           status, next, delivered, lease_until)),
             done AS (
                 UPDATE outbox SET status = r.status, attempts = r.attempt, lease_until = NULL,
                     last_error = r.error,
                     next_attempt_at = COALESCE(r.next, outbox.next_attempt_at),
                     delivered_at = r.delivered
                 FROM r WHERE outbox.id = r.outbox_id AND outbox.lease_until = r.lease_until
                 RETURNING outbox.id, outbox.lead_id, outbox.delivered_at),
             tried AS (
                 INSERT INTO delivery_attempts (outbox_id, attempt, at, outcome, status_code,
                                                error, duration_ms)
                 SELECT r.outbox_id, r.attempt, r.at, r.outcome, r.status_code, r.error,
                        r.duration_ms
                 FROM r JOIN done ON done.id = r.outbox_id
                 ON CONFLICT (outbox_id, attempt) DO UPDATE SET at = excluded.at,
                     outcome = excluded.outcome, status_code = excluded.status_code,
                     error = excluded.error, duration_ms = excluded.duration_ms),
             pushed AS ({PUSH_BACK_FOLLOWERS}),
             reported AS ({FIRST_DELIVERIES})
             SELECT COUNT(*) FROM done"
        )))
        .bind(column(results, |r| r.outbox_id))
        .bind(column(results, |r| i64::from(r.attempt)))
        .bind(column(results, |r| ts(r.at)))
        .bind(column(&how, |h| h.0))
        .bind(column(results, |r| r.status_code.map(i64::from)))
        .bind(column(results, |r| r.error.as_deref()))
        .bind(column(results, |r| r.duration_ms as i64))
        .bind(column(&how, |h| h.1))
        .bind(column(&how, |h| h.2.as_deref()))
        .bind(column(&how, |h| h.3.as_deref()))
        .bind(column(results, |r| ts(r.lease_until)))
        .fetch_one(&self.pool)
        .await?;
        Ok(recorded as usize)
    }

    async fn next_outbox_due(&self, sink: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(next_due()))
            .bind(sink)
            .fetch_one(&self.pool)
            .await?;
        opt_ts("outbox.next_attempt_at", next)
    }

    async fn crm_refs(&self, sink: &str, lead_id: &str) -> StoreResult<CrmRefs> {
        let rows = sqlx::query(CRM_REFS.postgres())
            .bind(sink)
            .bind(lead_id)
            .fetch_all(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        for (name, value) in captured {
            sqlx::query(SET_CRM_REF.postgres())
                .bind(&row.sink)
                .bind(&row.lead_id)
                .bind(name)
                .bind(value.to_string())
                .bind(ts(at))
                .execute(&mut *tx)
                .await?;
        }
        let held = sqlx::query(SET_STEP.postgres())
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
        "UPDATE outbox SET status = 'pending', next_attempt_at = $1, retry_since = $1, lease_until = NULL
         WHERE status = 'dead' AND ($2::text IS NULL OR lead_id = $2) AND ($3::text IS NULL OR sink = $3)",
    )
    .bind(ts(now))
    .bind(&filter.lead_id)
    .bind(&filter.sink)
    .execute(&self.pool)
    .await?;
        Ok(done.rows_affected())
    }

    async fn list_dead(&self, f: &ReplayFilter, limit: u32) -> StoreResult<Vec<OutboxSummary>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox
         WHERE status = 'dead' AND ($1::text IS NULL OR lead_id = $1) AND ($2::text IS NULL OR sink = $2)
         ORDER BY id DESC LIMIT $3"
    )))
    .bind(&f.lead_id)
    .bind(&f.sink)
    .bind(i64::from(limit.clamp(1, 500)))
    .fetch_all(&self.pool)
    .await?;
        outbox_summaries(&self.pool, rows).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::testing::{drop_store, fresh_store, updated_in_place};

    /// The largest number of rows a plan node of `plan` (EXPLAIN's JSON) read, by node type.
    fn rows_read(plan: &serde_json::Value, node: &str) -> i64 {
        let own = (plan["Node Type"] == node)
            .then(|| plan["Actual Rows"].as_i64())
            .flatten()
            .unwrap_or(0);
        let children = plan["Plans"].as_array().into_iter().flatten();
        children.map(|p| rows_read(p, node)).fold(own, i64::max)
    }

    /// The plan in the row `EXPLAIN (ANALYZE, FORMAT JSON)` returns.
    fn plan_of(explained: &PgRow) -> serde_json::Value {
        // EXPLAIN's column is `json`, whose binary form is its text.
        let text: String = explained.try_get_unchecked(0).expect("the plan");
        let plan: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        plan[0]["Plan"].clone()
    }

    /// The most rows any node of `plan` went through in all its loops, kept or filtered out.
    fn rows_walked(plan: &serde_json::Value) -> i64 {
        let int = |key: &str| plan[key].as_i64().unwrap_or(0);
        let own = (int("Actual Rows") + int("Rows Removed by Filter")) * int("Actual Loops");
        let children = plan["Plans"].as_array().into_iter().flatten();
        children.map(rows_walked).fold(own, i64::max)
    }

    #[tokio::test]
    async fn the_next_due_time_is_read_from_the_first_heads_however_long_the_backlog() {
        let (store, name) = fresh_store().await;
        // 20,000 pending rows, two events per lead, with the CRM down: each lead's first
        // event waits for its retry, and its second is due no earlier than that.
        sqlx::query(
            "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at,
                                 retry_since, next_attempt_at)
             SELECT 'lead' || (g / 2), 'crm', 'ev' || g, 'lead.created', '{}',
                    '2026-12-03T10:00:00.000000Z', '2026-12-03T10:00:00.000000Z', t
             FROM generate_series(0, 19999) g,
                  LATERAL (SELECT '2026-12-03T11:00:00.' || lpad((g / 2)::text, 6, '0') || 'Z' AS t) x",
        )
        .execute(&store.pool)
        .await
        .expect("backlog");
        let next = store.next_outbox_due("crm").await.expect("next");
        assert_eq!(next.map(ts).as_deref(), Some("2026-12-03T11:00:00.000000Z"));
        let explained = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, FORMAT JSON) {}",
            next_due()
        )))
        .bind("crm")
        .fetch_one(&store.pool)
        .await
        .expect("explain");
        let plan = plan_of(&explained);
        let walked = rows_walked(&plan);
        assert!(
            walked <= 100,
            "{walked} rows read for the next due time in a backlog of 20,000: {plan}"
        );
        drop_store(store, name).await;
    }

    /// A claim changes only `lease_until`, which no index holds, and each page keeps room for
    /// its rows' new versions: every claimed row is updated in place (a HOT update), with no
    /// new entry in any of the outbox's indexes. Rows the size of a real event (1.4 KiB).
    #[tokio::test]
    async fn a_claim_leases_its_rows_in_place() {
        let (store, name) = fresh_store().await;
        sqlx::query(
            "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at,
                                 retry_since, next_attempt_at)
             SELECT 'lead' || g, 'crm', 'ev' || g, 'lead.updated', repeat(md5(g::text), 44),
                    '2026-12-05T10:00:00.000000Z', '2026-12-05T10:00:00.000000Z',
                    '2026-12-05T10:00:00.000000Z'
             FROM generate_series(1, 120) g",
        )
        .execute(&store.pool)
        .await
        .expect("rows");
        let mut tx = store.pool.begin().await.expect("begin");
        let claimed = sqlx::query(sqlx::AssertSqlSafe(claim()))
            .bind("crm")
            .bind("2026-12-05T10:00:01.000000Z")
            .bind("2026-12-05T10:01:01.000000Z")
            .bind(200_i64)
            .fetch_all(&mut *tx)
            .await
            .expect("claim");
        assert_eq!(claimed.len(), 120);
        assert_eq!(
            updated_in_place(&mut tx, "outbox").await,
            (120, 120),
            "every claim in place"
        );
        tx.rollback().await.expect("rollback");
        drop_store(store, name).await;
    }

    #[tokio::test]
    async fn a_claim_reads_about_its_batch_however_long_the_backlog() {
        let (store, name) = fresh_store().await;
        // 20,000 pending rows, two events per lead, all due: the backlog of a CRM that was
        // down, or of intake faster than delivery.
        sqlx::query(
            "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at,
                                 retry_since, next_attempt_at)
             SELECT 'lead' || (g / 2), 'crm', 'ev' || g, 'lead.created', '{}', t, t, t
             FROM generate_series(0, 19999) g,
                  LATERAL (SELECT '2026-12-03T10:00:00.' || lpad((g / 2)::text, 6, '0') || 'Z' AS t) x",
        )
        .execute(&store.pool)
        .await
        .expect("backlog");
        // No ANALYZE: the table as a daemon finds it when its outbox grew within a minute
        // (or autovacuum is off).
        let explained = sqlx::query(sqlx::AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, FORMAT JSON) {}",
            due_heads()
        )))
        .bind("crm")
        .bind("2026-12-04T00:00:00.000000Z")
        .bind("unused")
        .bind(200_i64)
        .fetch_one(&store.pool)
        .await
        .expect("explain");
        let plan = &plan_of(&explained);
        assert_eq!(rows_read(plan, "Limit"), 200, "a full batch: {plan}");
        assert_eq!(rows_read(plan, "Sort"), 0, "nothing sorted: {plan}");
        let scanned = rows_read(plan, "Index Scan");
        assert!(
            scanned <= 1_000,
            "{scanned} rows read for a batch of 200 in a backlog of 20,000: {plan}"
        );
        drop_store(store, name).await;
    }
}
