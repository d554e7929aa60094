//! The embedded default store: one SQLite file in WAL mode.
//!
//! All writes go through a single connection, so writers queue in-process instead of failing
//! with `SQLITE_BUSY`; reads that need no transaction use a small pool of read-only
//! connections. Lists of keys are passed as a JSON array and expanded with `json_each`, which
//! keeps every statement static; rows written in bulk are bound, a few dozen a statement
//! (`bulk.rs`). The processing transaction keeps new leads back until a statement could see
//! them (`pending.rs`) and reads its batch's returning contacts ahead (`identities.rs`).

mod bulk;
mod console;
mod deferred;
mod files;
mod identities;
mod notifications;
mod pending;
mod privacy;
#[cfg(test)]
mod tests;

use super::*;
use crate::lead::{Channel, Lead};
use chrono::SecondsFormat;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection, Transaction};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
}

/// Fixed-width RFC 3339 UTC, so stored times compare as strings.
fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(what: &'static str, s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: format!("{s:?}: {e}"),
        })
}

fn opt_ts(what: &'static str, s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(what, &s)).transpose()
}

fn parse_json(what: &'static str, s: &str) -> StoreResult<Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })
}

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn channel(s: &str) -> StoreResult<Channel> {
    Channel::parse(s).ok_or_else(|| StoreError::Corrupt {
        what: "channel",
        detail: s.to_string(),
    })
}

/// The page size of a new store, in bytes.
const PAGE_SIZE: u32 = 8192;

/// The write connection's page cache: `cache_size` in KiB (negative), 16 MiB.
const WRITE_CACHE_KIB: &str = "-16384";

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and runs the migrations.
    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before intake answers 2xx, even across power loss.
            .synchronous(SqliteSynchronous::Full)
            // A new store's pages hold several leads: a lead row is about 2 KiB (its record and
            // trace), and on 4 KiB pages only one fitted, leaving 45 % of the leads table
            // empty. An existing store keeps the page size it was made with.
            .page_size(PAGE_SIZE)
            .busy_timeout(Duration::from_secs(10))
            // Statement journals, RETURNING's buffers and sorts stay in memory: as files, a
            // batch's multi-row inserts created, wrote and unlinked a temporary file in
            // /var/tmp several times a second.
            .pragma("temp_store", "memory")
            .foreign_keys(true);
        // The writer's page cache holds a whole processing batch (the default 2 MiB makes
        // a batch of hundreds of leads spill to the WAL and re-read pages mid-transaction).
        let writer = base
            .clone()
            .create_if_missing(true)
            .pragma("cache_size", WRITE_CACHE_KIB);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(writer)
            .await?;
        sqlx::migrate!("src/store/migrations/sqlite")
            .run(&write)
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(base.read_only(true))
            .await?;
        Ok(SqliteStore { write, read })
    }

    /// A lead's stored trace spelt out with its rules version's texts; a trace the texts do
    /// not fit is shown as stored, with the reason, rather than hiding the whole journey.
    async fn spelt_out(&self, trace: Value) -> StoreResult<Value> {
        if !crate::routing::is_indexed(&trace) {
            return Ok(trace);
        }
        let version = trace["rules_version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let texts: Option<String> =
            sqlx::query_scalar("SELECT texts FROM rules_texts WHERE version = ?1")
                .bind(&version)
                .fetch_optional(&self.read)
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

    /// Closes both pools (graceful shutdown).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

fn stored_lead(row: &SqliteRow) -> StoreResult<StoredLead> {
    let record: String = row.try_get("record")?;
    let record: Lead = serde_json::from_str(&record).map_err(|e| StoreError::Corrupt {
        what: "leads.record",
        detail: e.to_string(),
    })?;
    let status: String = row.try_get("status")?;
    Ok(StoredLead {
        record,
        status: LeadStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            what: "leads.status",
            detail: status.clone(),
        })?,
        manager_id: row.try_get("manager_id")?,
        level: row.try_get("level")?,
        last_activity_at: parse_ts(
            "leads.last_activity_at",
            &row.try_get::<String, _>("last_activity_at")?,
        )?,
    })
}

fn inbound_row(row: &SqliteRow) -> StoreResult<InboundRow> {
    Ok(InboundRow {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        channel: channel(&row.try_get::<String, _>("channel")?)?,
        dedupe_key: row.try_get("dedupe_key")?,
        received_at: parse_ts(
            "inbound.received_at",
            &row.try_get::<String, _>("received_at")?,
        )?,
        content_type: row.try_get("content_type")?,
        payload: row.try_get("payload")?,
        meta: parse_json("inbound.meta", &row.try_get::<String, _>("meta")?)?,
    })
}

fn assignment_summary(r: &SqliteRow) -> StoreResult<AssignmentSummary> {
    Ok(AssignmentSummary {
        manager_id: r.try_get("manager_id")?,
        level: r.try_get("level")?,
        strategy: r.try_get("strategy")?,
        attempt: r.try_get::<i64, _>("attempt")? as u32,
        assigned_at: parse_ts(
            "assignments.assigned_at",
            &r.try_get::<String, _>("assigned_at")?,
        )?,
        ack_due_at: opt_ts("assignments.ack_due_at", r.try_get("ack_due_at")?)?,
        state: r.try_get("state")?,
    })
}

const LEAD_COLUMNS: &str = "l.record, l.status, l.manager_id, l.level, l.last_activity_at";

async fn attempts_of(pool: &SqlitePool, outbox_id: i64) -> StoreResult<Vec<AttemptSummary>> {
    let rows = sqlx::query(
        "SELECT attempt, at, outcome, status_code, error, duration_ms FROM delivery_attempts
         WHERE outbox_id = ?1 ORDER BY attempt",
    )
    .bind(outbox_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AttemptSummary {
                attempt: r.try_get::<i64, _>("attempt")? as u32,
                at: parse_ts("delivery_attempts.at", &r.try_get::<String, _>("at")?)?,
                outcome: r.try_get("outcome")?,
                status_code: r
                    .try_get::<Option<i64>, _>("status_code")?
                    .map(|c| c as u16),
                error: r.try_get("error")?,
                duration_ms: r.try_get::<i64, _>("duration_ms")? as u64,
            })
        })
        .collect()
}

async fn outbox_summaries(
    pool: &SqlitePool,
    rows: Vec<SqliteRow>,
) -> StoreResult<Vec<OutboxSummary>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: i64 = r.try_get("id")?;
        out.push(OutboxSummary {
            id,
            lead_id: r.try_get("lead_id")?,
            sink: r.try_get("sink")?,
            event_id: r.try_get("event_id")?,
            event_type: r.try_get("event_type")?,
            status: r.try_get("status")?,
            attempts: r.try_get::<i64, _>("attempts")? as u32,
            next_attempt_at: parse_ts(
                "outbox.next_attempt_at",
                &r.try_get::<String, _>("next_attempt_at")?,
            )?,
            last_error: r.try_get("last_error")?,
            history: attempts_of(pool, id).await?,
        });
    }
    Ok(out)
}

/// The most inbound items one statement inserts (8 values each, well under SQLite's limit).
const INBOUND_CHUNK: usize = 64;

const OUTBOX_COLUMNS: &str =
    "id, lead_id, sink, event_id, event_type, status, attempts, next_attempt_at, last_error";

/// Inserts inbound items with one statement; the ids of those that were new (a duplicate of
/// a stored item is left out).
async fn insert_inbound_rows<'c, E>(db: E, items: &[NewInbound]) -> StoreResult<HashSet<String>>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let sql = format!(
        "INSERT INTO inbound (id, source, channel, dedupe_key, received_at, content_type, payload, meta)
         VALUES {} ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; items.len()].join(", ")
    );
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for item in items {
        q = q
            .bind(&item.id)
            .bind(&item.source)
            .bind(item.channel.as_str())
            .bind(&item.dedupe_key)
            .bind(ts(item.received_at))
            .bind(&item.content_type)
            .bind(&item.payload)
            .bind(item.meta.to_string());
    }
    Ok(q.fetch_all(db).await?.into_iter().collect())
}

/// Each item's result in order: new, or a duplicate answered with the stored item's id.
async fn inserted(
    db: &mut SqliteConnection,
    items: &[NewInbound],
    fresh: &HashSet<String>,
) -> StoreResult<Vec<Inserted>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if fresh.contains(&item.id) {
            out.push(Inserted::New(item.id.clone()));
        } else {
            let id: String =
                sqlx::query_scalar("SELECT id FROM inbound WHERE source = ?1 AND dedupe_key = ?2")
                    .bind(&item.source)
                    .bind(&item.dedupe_key)
                    .fetch_one(&mut *db)
                    .await?;
            out.push(Inserted::Duplicate(id));
        }
    }
    Ok(out)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    async fn insert_inbound(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>> {
        // A busy web form's group is one statement, committed on its own: each statement is a
        // hop to SQLite's thread, and a form's answer waits for every one of them. Bigger
        // groups, and a polled source's position, go in one transaction.
        if items.len() <= INBOUND_CHUNK && cursors.is_empty() {
            let fresh = insert_inbound_rows(&self.write, items).await?;
            if fresh.len() == items.len() {
                return Ok(items.iter().map(|i| Inserted::New(i.id.clone())).collect());
            }
            // The statement committed: a reader sees which stored items the others repeat.
            let mut conn = self.read.acquire().await?;
            return inserted(&mut conn, items, &fresh).await;
        }
        let mut tx = self.write.begin().await?;
        let mut fresh = std::collections::HashSet::with_capacity(items.len());
        for chunk in items.chunks(INBOUND_CHUNK) {
            fresh.extend(insert_inbound_rows(&mut *tx, chunk).await?);
        }
        let out = inserted(&mut tx, items, &fresh).await?;
        for c in cursors {
            set_cursor(&mut *tx, &c.key, &c.value, c.at).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn pending_inbound(&self, limit: u32) -> StoreResult<Vec<InboundRow>> {
        let rows = sqlx::query(
            "SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta
             FROM inbound WHERE status = 'pending' ORDER BY received_at, rowid LIMIT ?1",
        )
        .bind(i64::from(limit))
        // A read connection: the payloads are read without holding up the writers.
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(inbound_row).collect()
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(SqliteTx {
            tx: self.write.begin().await?,
            pending: pending::Pending::default(),
            identities: identities::Identities::default(),
            deferred: deferred::Deferred::default(),
            conversations: HashMap::new(),
        }))
    }

    async fn claim_outbox(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        let rows = sqlx::query(
            "UPDATE outbox SET lease_until = ?3 WHERE id IN (
                SELECT o.id FROM outbox o
                WHERE o.sink = ?1 AND o.status = 'pending' AND o.next_attempt_at <= ?2
                  AND (o.lease_until IS NULL OR o.lease_until <= ?2)
                  AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.sink = o.sink
                      AND e.lead_id = o.lead_id AND e.status = 'pending' AND e.id < o.id)
                ORDER BY o.next_attempt_at, o.id LIMIT ?4)
             RETURNING id, lead_id, sink, event_id, event_type, body, request, step, attempts, retry_since",
        )
        .bind(sink)
        .bind(ts(now))
        .bind(ts(lease_until))
        .bind(i64::from(limit))
        .fetch_all(&self.write)
        .await?;
        let mut out: Vec<OutboxRow> = rows
            .iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get("id")?,
                    lead_id: r.try_get("lead_id")?,
                    sink: r.try_get("sink")?,
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("event_type")?,
                    body: r.try_get("body")?,
                    // An unreadable plan (a row queued by an older leadgate) dead-letters
                    // with the reason instead of stopping the sink's queue.
                    plan: r.try_get::<Option<String>, _>("request")?.map(|text| {
                        serde_json::from_str(&text).unwrap_or_else(|e| {
                            PresetPlan::Error(format!("unreadable outbox.request {text:?}: {e}"))
                        })
                    }),
                    step: r.try_get::<i64, _>("step")? as u32,
                    attempts: r.try_get::<i64, _>("attempts")? as u32,
                    retry_since: parse_ts(
                        "outbox.retry_since",
                        &r.try_get::<String, _>("retry_since")?,
                    )?,
                })
            })
            .collect::<StoreResult<_>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_deliveries(&self, results: &[DeliveryResult]) -> StoreResult<()> {
        if results.is_empty() {
            return Ok(());
        }
        // One statement per table for the whole batch: `[outbox_id, attempt, at, outcome,
        // status_code, error, duration_ms, status, next_attempt_at, delivered_at]` per result.
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
                    delivered
                ])
            })
            .collect();
        let rows = Value::Array(rows).to_string();
        let mut tx = self.write.begin().await?;
        sqlx::query(
            "INSERT OR REPLACE INTO delivery_attempts (outbox_id, attempt, at, outcome, status_code, error, duration_ms)
             SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6
             FROM json_each(?1) ORDER BY key",
        )
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE outbox SET status = j.value->>7, attempts = j.value->>1, lease_until = NULL,
                    last_error = j.value->>5, next_attempt_at = COALESCE(j.value->>8, next_attempt_at),
                    delivered_at = j.value->>9
             FROM json_each(?1) AS j WHERE outbox.id = j.value->>0",
        )
        .bind(&rows)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn next_outbox_due(&self, sink: &str) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(
            "SELECT MIN(MAX(o.next_attempt_at, COALESCE(o.lease_until, ''))) FROM outbox o
             WHERE o.sink = ?1 AND o.status = 'pending'
               AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.sink = o.sink
                   AND e.lead_id = o.lead_id AND e.status = 'pending' AND e.id < o.id)",
        )
        .bind(sink)
        .fetch_one(&self.write)
        .await?;
        opt_ts("outbox.next_attempt_at", next)
    }

    async fn crm_refs(&self, sink: &str, lead_id: &str) -> StoreResult<CrmRefs> {
        let rows = sqlx::query("SELECT name, value FROM crm_refs WHERE sink = ?1 AND lead_id = ?2")
            .bind(sink)
            .bind(lead_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let value: String = r.try_get("value")?;
                Ok((r.try_get("name")?, parse_json("crm_refs.value", &value)?))
            })
            .collect()
    }

    async fn record_step(
        &self,
        outbox_id: i64,
        steps_done: u32,
        sink: &str,
        lead_id: &str,
        captured: &CrmRefs,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write.begin().await?;
        for (name, value) in captured {
            sqlx::query(
                "INSERT INTO crm_refs (sink, lead_id, name, value, captured_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (sink, lead_id, name) DO UPDATE SET value = excluded.value, captured_at = excluded.captured_at",
            )
            .bind(sink)
            .bind(lead_id)
            .bind(name)
            .bind(value.to_string())
            .bind(ts(at))
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE outbox SET step = ?2 WHERE id = ?1")
            .bind(outbox_id)
            .bind(i64::from(steps_done))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn replay_dead(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = ?1, retry_since = ?1, lease_until = NULL
             WHERE status = 'dead' AND (?2 IS NULL OR lead_id = ?2) AND (?3 IS NULL OR sink = ?3)",
        )
        .bind(ts(now))
        .bind(&filter.lead_id)
        .bind(&filter.sink)
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected())
    }

    async fn list_inbound(&self, f: &ListFilter) -> StoreResult<Vec<InboundSummary>> {
        let rows = sqlx::query(
            "SELECT id, source, channel, dedupe_key, received_at, status, reason, detail, lead_id
             FROM inbound
             WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR source = ?2)
               AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR reason = ?4)
               AND (?5 IS NULL OR received_at >= ?5) AND (?6 IS NULL OR received_at < ?6)
             ORDER BY received_at DESC, id DESC LIMIT ?7",
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
        rows.iter()
            .map(|r| {
                Ok(InboundSummary {
                    id: r.try_get("id")?,
                    source: r.try_get("source")?,
                    channel: r.try_get("channel")?,
                    dedupe_key: r.try_get("dedupe_key")?,
                    received_at: parse_ts(
                        "inbound.received_at",
                        &r.try_get::<String, _>("received_at")?,
                    )?,
                    status: r.try_get("status")?,
                    reason: r.try_get("reason")?,
                    detail: r.try_get("detail")?,
                    lead_id: r.try_get("lead_id")?,
                })
            })
            .collect()
    }

    async fn list_leads(&self, f: &ListFilter) -> StoreResult<Vec<LeadSummary>> {
        let rows = sqlx::query(
            "SELECT id, source, channel, received_at, status, level, rule, manager_id FROM leads
             WHERE (?1 IS NULL OR channel = ?1) AND (?2 IS NULL OR source = ?2)
               AND (?3 IS NULL OR status = ?3) AND (?4 IS NULL OR manager_id = ?4)
               AND (?5 IS NULL OR received_at >= ?5) AND (?6 IS NULL OR received_at < ?6)
             ORDER BY received_at DESC, id DESC LIMIT ?7",
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
        rows.iter()
            .map(|r| {
                Ok(LeadSummary {
                    id: r.try_get("id")?,
                    source: r.try_get("source")?,
                    channel: r.try_get("channel")?,
                    received_at: parse_ts(
                        "leads.received_at",
                        &r.try_get::<String, _>("received_at")?,
                    )?,
                    status: r.try_get("status")?,
                    level: r.try_get("level")?,
                    rule: r.try_get("rule")?,
                    manager_id: r.try_get("manager_id")?,
                })
            })
            .collect()
    }

    async fn lead_journey(&self, lead_id: &str) -> StoreResult<Option<Journey>> {
        let Some(lead) =
            sqlx::query("SELECT record, status, rules_version, trace FROM leads WHERE id = ?1")
                .bind(lead_id)
                .fetch_optional(&self.read)
                .await?
        else {
            return Ok(None);
        };
        let inbound = sqlx::query(
            "SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta, status
             FROM inbound WHERE lead_id = ?1 ORDER BY received_at, id",
        )
        .bind(lead_id)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| {
            let row = inbound_row(r)?;
            let payload = match String::from_utf8(row.payload) {
                Ok(text) => serde_json::json!({"text": text}),
                Err(e) => serde_json::json!({"bytes": e.into_bytes().len()}),
            };
            Ok(serde_json::json!({
                "id": row.id, "source": row.source, "channel": row.channel,
                "dedupe_key": row.dedupe_key, "received_at": row.received_at,
                "content_type": row.content_type, "meta": row.meta,
                "status": r.try_get::<String, _>("status")?, "payload": payload,
            }))
        })
        .collect::<StoreResult<Vec<_>>>()?;
        let assignments = sqlx::query(
            "SELECT manager_id, level, strategy, attempt, assigned_at, ack_due_at, state
             FROM assignments WHERE lead_id = ?1 ORDER BY id",
        )
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
        let audit =
            sqlx::query("SELECT at, kind, detail FROM audit WHERE lead_id = ?1 ORDER BY id")
                .bind(lead_id)
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|r| {
                    Ok(AuditEntry {
                        at: parse_ts("audit.at", &r.try_get::<String, _>("at")?)?,
                        kind: r.try_get("kind")?,
                        detail: parse_json("audit.detail", &r.try_get::<String, _>("detail")?)?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(Journey {
            lead: parse_json("leads.record", &lead.try_get::<String, _>("record")?)?,
            status: lead.try_get("status")?,
            rules_version: lead.try_get("rules_version")?,
            trace: self
                .spelt_out(parse_json(
                    "leads.trace",
                    &lead.try_get::<String, _>("trace")?,
                )?)
                .await?,
            inbound,
            assignments,
            deliveries,
            audit,
        }))
    }

    async fn list_dead(&self, f: &ReplayFilter, limit: u32) -> StoreResult<Vec<OutboxSummary>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox
             WHERE status = 'dead' AND (?1 IS NULL OR lead_id = ?1) AND (?2 IS NULL OR sink = ?2)
             ORDER BY id DESC LIMIT ?3"
        )))
        .bind(&f.lead_id)
        .bind(&f.sink)
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(&self.read)
        .await?;
        outbox_summaries(&self.read, rows).await
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
        Ok(QueueStats {
            inbound_pending: row.try_get::<i64, _>("inbound_pending")? as u64,
            outbox_pending: row.try_get::<i64, _>("outbox_pending")? as u64,
            outbox_dead: row.try_get::<i64, _>("outbox_dead")? as u64,
            leads_held: row.try_get::<i64, _>("leads_held")? as u64,
        })
    }

    async fn get_cursor(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = ?1")
                .bind(key)
                .fetch_optional(&self.write)
                .await?,
        )
    }

    async fn set_cursor(&self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(&self.write, key, value, now).await
    }

    async fn next_ack_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(NEXT_DUE)
            .fetch_optional(&self.write)
            .await?;
        opt_ts("assignments.ack_due_at", next)
    }
}

/// The SLA timer's next deadline, read in deadline order from `assignments_due` (the first
/// row whose lead is still assigned is the answer): `CROSS JOIN` keeps the assignments as the
/// outer loop, whatever the planner would guess from the tables' sizes.
const NEXT_DUE: &str = "SELECT a.ack_due_at FROM assignments a INDEXED BY assignments_due
     CROSS JOIN leads l ON l.id = a.lead_id
     WHERE a.state = 'active' AND a.ack_due_at IS NOT NULL AND l.status = 'assigned'
     ORDER BY a.ack_due_at, a.id LIMIT 1";

const ACTIVE_COLUMNS: &str = "l.record, l.status, l.manager_id, l.level, l.last_activity_at,
     a.manager_id AS a_manager, a.level AS a_level, a.strategy, a.attempt, a.assigned_at, a.ack_due_at";

fn active_assignment(row: &SqliteRow) -> StoreResult<ActiveAssignment> {
    Ok(ActiveAssignment {
        lead: stored_lead(row)?,
        manager_id: row.try_get("a_manager")?,
        level: row.try_get("a_level")?,
        strategy: row.try_get("strategy")?,
        attempt: row.try_get::<i64, _>("attempt")? as u32,
        assigned_at: parse_ts(
            "assignments.assigned_at",
            &row.try_get::<String, _>("assigned_at")?,
        )?,
        ack_due_at: opt_ts("assignments.ack_due_at", row.try_get("ack_due_at")?)?,
    })
}

async fn set_cursor<'e, E: sqlx::Executor<'e, Database = Sqlite>>(
    exec: E,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO cursors (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(ts(now))
    .execute(exec)
    .await?;
    Ok(())
}

/// The processing stage's transaction on the single write connection.
struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    /// New leads kept back until a statement could see them.
    pending: pending::Pending,
    /// Identity keys read ahead, for returning contacts.
    identities: identities::Identities,
    /// The audit entries, outbox rows, notifications and finished items, written at commit.
    deferred: deferred::Deferred,
    /// Open conversations read ahead: `(source, key)` → the `since` asked and the lead found,
    /// until a lead of the conversation is written.
    conversations: HashMap<(String, String), (DateTime<Utc>, Option<StoredLead>)>,
}

impl SqliteTx {
    /// Writes the kept-back leads, before a statement that could see them.
    async fn settle(&mut self) -> StoreResult<()> {
        self.pending.flush(&mut self.tx).await
    }

    /// Writes the kept-back leads when `lead_id` is one of them.
    async fn settle_for(&mut self, lead_id: &str) -> StoreResult<()> {
        if self.pending.has_lead(lead_id) {
            self.settle().await?;
        }
        Ok(())
    }

    /// Drops a conversation read ahead with `lead_id`: it would show the lead as it was.
    fn forget_conversation_of(&mut self, lead_id: &str) {
        self.conversations
            .retain(|_, (_, found)| found.as_ref().is_none_or(|l| l.record.id != lead_id));
    }

    async fn one_lead(&mut self, sql: String, binds: &[String]) -> StoreResult<Option<StoredLead>> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_optional(&mut *self.tx)
            .await?
            .as_ref()
            .map(stored_lead)
            .transpose()
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn lead_by_external_id(
        &mut self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<StoredLead>> {
        if self.pending.has_external(source, external_id) {
            self.settle().await?;
        }
        self.one_lead(
            format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.source = ?1 AND l.external_id = ?2 ORDER BY l.received_at DESC LIMIT 1"),
            &[source.to_string(), external_id.to_string()],
        )
        .await
    }

    async fn lead_by_refs(&mut self, refs: &[String]) -> StoreResult<Option<StoredLead>> {
        if refs.is_empty() {
            return Ok(None);
        }
        if self.pending.has_any_ref(refs) {
            self.settle().await?;
        }
        self.one_lead(
            format!(
                "SELECT {LEAD_COLUMNS} FROM lead_refs r JOIN leads l ON l.id = r.lead_id
                 WHERE r.ref IN (SELECT value FROM json_each(?1))
                 ORDER BY l.received_at DESC LIMIT 1"
            ),
            &[json_list(refs)],
        )
        .await
    }

    async fn open_conversation(
        &mut self,
        source: &str,
        conversation_key: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<StoredLead>> {
        if self.pending.has_conversation(source, conversation_key) {
            self.settle().await?;
        } else if let Some((asked, found)) = self
            .conversations
            .get(&(source.to_string(), conversation_key.to_string()))
            && *asked == since
        {
            return Ok(found.clone());
        }
        self.one_lead(
            format!(
                "SELECT {LEAD_COLUMNS} FROM leads l
                 WHERE l.source = ?1 AND l.conversation_key = ?2 AND l.last_activity_at >= ?3
                   AND l.status NOT IN ('acknowledged', 'closed')
                 ORDER BY l.last_activity_at DESC LIMIT 1"
            ),
            &[source.to_string(), conversation_key.to_string(), ts(since)],
        )
        .await
    }

    async fn previous_lead(&mut self, keys: &[String]) -> StoreResult<Option<PreviousLead>> {
        if keys.is_empty() {
            return Ok(None);
        }
        if self.identities.knows(keys) {
            return Ok(self.identities.previous(keys));
        }
        self.settle().await?;
        let row = sqlx::query(
            "SELECT l.id, l.manager_id FROM lead_contacts c JOIN leads l ON l.id = c.lead_id
             WHERE c.key IN (SELECT value FROM json_each(?1))
             ORDER BY c.at DESC LIMIT 1",
        )
        .bind(json_list(keys))
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| {
            Ok(PreviousLead {
                id: r.try_get("id")?,
                manager_id: r.try_get("manager_id")?,
            })
        })
        .transpose()
    }

    async fn prefetch_identities(&mut self, keys: &[String]) -> StoreResult<()> {
        let asked = self.identities.unknown(keys);
        if asked.is_empty() {
            return Ok(());
        }
        // A kept-back lead may have one of these keys: the database must see it.
        self.settle().await?;
        let rows = sqlx::query(
            "SELECT k.value AS key, c.at, c.lead_id, l.manager_id
             FROM json_each(?1) k
             JOIN lead_contacts c ON c.key = k.value
             JOIN leads l ON l.id = c.lead_id
             WHERE c.at = (SELECT MAX(c2.at) FROM lead_contacts c2 JOIN leads l2 ON l2.id = c2.lead_id
                           WHERE c2.key = k.value)",
        )
        .bind(json_list(&asked))
        .fetch_all(&mut *self.tx)
        .await?;
        let found = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("key")?,
                    r.try_get("at")?,
                    r.try_get("lead_id")?,
                    r.try_get("manager_id")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.identities.learn(&asked, found);
        Ok(())
    }

    async fn prefetch_conversations(
        &mut self,
        asked: &[(String, String, DateTime<Utc>)],
    ) -> StoreResult<()> {
        if asked.is_empty() {
            return Ok(());
        }
        // Kept-back leads are not in the table yet; `open_conversation` checks them first.
        let list: Vec<(&str, &str, String)> = asked
            .iter()
            .map(|(source, key, since)| (source.as_str(), key.as_str(), ts(*since)))
            .collect();
        let list = serde_json::to_string(&list).map_err(|e| StoreError::Corrupt {
            what: "conversation keys",
            detail: e.to_string(),
        })?;
        // The same lead `open_conversation` picks, for every conversation at once.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS}, k.source AS asked_source, k.key AS asked_key
             FROM (SELECT value ->> '$[0]' AS source, value ->> '$[1]' AS key,
                          value ->> '$[2]' AS since FROM json_each(?1)) k
             JOIN leads l ON l.rowid = (
                 SELECT o.rowid FROM leads o
                 WHERE o.source = k.source AND o.conversation_key = k.key
                   AND o.last_activity_at >= k.since
                   AND o.status NOT IN ('acknowledged', 'closed')
                 ORDER BY o.last_activity_at DESC LIMIT 1)"
        )))
        .bind(list)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut found: HashMap<(String, String), StoredLead> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let asked = (row.try_get("asked_source")?, row.try_get("asked_key")?);
            found.insert(asked, stored_lead(row)?);
        }
        for (source, key, since) in asked {
            let pair = (source.clone(), key.clone());
            let lead = found.get(&pair).cloned();
            self.conversations.insert(pair, (*since, lead));
        }
        Ok(())
    }

    async fn open_leads_per_manager(&mut self) -> StoreResult<HashMap<String, u32>> {
        self.settle().await?;
        // Kept by triggers as leads change (migration 0007): a few rows, whatever the store holds.
        let rows = sqlx::query("SELECT manager_id, n FROM open_leads WHERE n > 0")
            .fetch_all(&mut *self.tx)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("manager_id")?, r.try_get::<i64, _>("n")? as u32)))
            .collect()
    }

    async fn held_leads(&mut self, limit: u32) -> StoreResult<Vec<StoredLead>> {
        self.settle().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS} FROM leads l WHERE l.status = 'held' ORDER BY l.received_at, l.rowid LIMIT ?1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(stored_lead).collect()
    }

    async fn held_levels(&mut self) -> StoreResult<Vec<String>> {
        self.settle().await?;
        Ok(sqlx::query_scalar(
            // Kept by triggers (migration 0011): a few rows, however many leads are held.
            "SELECT level FROM held_leads WHERE n > 0 AND level <> ''",
        )
        .fetch_all(&mut *self.tx)
        .await?)
    }

    async fn get_cursor(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = ?1")
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    async fn set_cursor(&mut self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(&mut *self.tx, key, value, now).await
    }

    async fn record_take(
        &mut self,
        day: &str,
        manager_id: &str,
        level: &str,
        bucket: usize,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE report_managers SET
                w0 = w0 + (?4 = 0), w1 = w1 + (?4 = 1), w2 = w2 + (?4 = 2), w3 = w3 + (?4 = 3),
                w4 = w4 + (?4 = 4), w5 = w5 + (?4 = 5), w6 = w6 + (?4 = 6), w7 = w7 + (?4 = 7),
                w8 = w8 + (?4 = 8), w9 = w9 + (?4 = 9)
             WHERE day = ?1 AND manager_id = ?2 AND level = ?3",
        )
        .bind(day)
        .bind(manager_id)
        .bind(level)
        .bind(bucket as i64)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn set_trace(
        &mut self,
        lead_id: &str,
        trace: &str,
        rules_version: &str,
    ) -> StoreResult<()> {
        self.settle_for(lead_id).await?;
        sqlx::query("UPDATE leads SET trace = ?2, rules_version = ?3 WHERE id = ?1")
            .bind(lead_id)
            .bind(trace)
            .bind(rules_version)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn keep_rules_texts(
        &mut self,
        version: &str,
        texts: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO rules_texts (version, texts, stored_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(texts)
        .bind(ts(now))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_lead(&mut self, lead: &NewLead) -> StoreResult<()> {
        self.pending.lead(lead)?;
        let r = &lead.record;
        if let Some(key) = &lead.conversation_key {
            self.conversations.remove(&(r.source.clone(), key.clone()));
        }
        self.identities.wrote(
            &r.id,
            &ts(r.received_at),
            r.assignment.as_ref().map(|a| a.manager.id.as_str()),
            &lead.identity_keys,
        );
        Ok(())
    }

    async fn follow_up_lead(&mut self, r: &Lead, at: DateTime<Utc>) -> StoreResult<()> {
        self.settle_for(&r.id).await?;
        self.forget_conversation_of(&r.id);
        let record = serde_json::to_string(r).map_err(|e| StoreError::Corrupt {
            what: "leads.record",
            detail: e.to_string(),
        })?;
        sqlx::query("UPDATE leads SET record = ?2, last_activity_at = ?3 WHERE id = ?1")
            .bind(&r.id)
            .bind(record)
            .bind(ts(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn update_lead(&mut self, u: &LeadUpdate) -> StoreResult<()> {
        let r = &u.record;
        self.settle_for(&r.id).await?;
        self.forget_conversation_of(&r.id);
        let record = serde_json::to_string(r).map_err(|e| StoreError::Corrupt {
            what: "leads.record",
            detail: e.to_string(),
        })?;
        sqlx::query(
            "UPDATE leads SET record = ?2, status = ?3, level = ?4, rule = ?5, manager_id = ?6,
                    last_activity_at = ?7, trace = COALESCE(?8, trace)
             WHERE id = ?1",
        )
        .bind(&r.id)
        .bind(record)
        .bind(u.status.as_str())
        .bind(r.classification.as_ref().map(|c| c.level.clone()))
        .bind(r.classification.as_ref().map(|c| c.rule.clone()))
        .bind(r.assignment.as_ref().map(|a| a.manager.id.clone()))
        .bind(ts(u.at))
        .bind(u.trace.as_deref())
        .execute(&mut *self.tx)
        .await?;
        self.identities
            .reassigned(&r.id, r.assignment.as_ref().map(|a| a.manager.id.as_str()));
        Ok(())
    }

    async fn add_refs(&mut self, lead_id: &str, refs: &[String]) -> StoreResult<()> {
        self.pending.refs(lead_id, refs);
        Ok(())
    }

    async fn add_identity_keys(
        &mut self,
        lead_id: &str,
        manager_id: Option<&str>,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let at = ts(at);
        self.pending.keys(lead_id, keys, &at);
        self.identities.wrote(lead_id, &at, manager_id, keys);
        Ok(())
    }

    async fn insert_assignment(&mut self, a: &NewAssignment) -> StoreResult<()> {
        // A new lead's first assignment ends none: it waits with the lead.
        if self.pending.first_assignment(a) {
            return Ok(());
        }
        self.settle_for(&a.lead_id).await?;
        sqlx::query("UPDATE assignments SET state = ?2, ended_at = ?3 WHERE lead_id = ?1 AND state = 'active'")
            .bind(&a.lead_id)
            .bind(a.previous_state)
            .bind(ts(a.assigned_at))
            .execute(&mut *self.tx)
            .await?;
        sqlx::query(
            "INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at, ack_due_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active')",
        )
        .bind(&a.lead_id)
        .bind(&a.manager_id)
        .bind(&a.level)
        .bind(&a.strategy)
        .bind(i64::from(a.attempt))
        .bind(ts(a.assigned_at))
        .bind(a.ack_due_at.map(ts))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_outbox(&mut self, rows: &[NewOutbox]) -> StoreResult<()> {
        for row in rows {
            self.deferred.outbox(row);
        }
        Ok(())
    }

    async fn insert_notifications(&mut self, rows: &[NewNotification]) -> StoreResult<()> {
        for row in rows {
            self.deferred.notification(row);
        }
        Ok(())
    }

    async fn audit(
        &mut self,
        lead_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        detail: &Value,
    ) -> StoreResult<()> {
        self.deferred.audit(lead_id, &ts(at), kind, detail);
        Ok(())
    }

    async fn finish_inbound(&mut self, d: &FinishedInbound) -> StoreResult<()> {
        self.deferred.finished(d);
        Ok(())
    }

    async fn lead(&mut self, lead_id: &str) -> StoreResult<Option<StoredLead>> {
        self.settle_for(lead_id).await?;
        self.one_lead(
            format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.id = ?1"),
            &[lead_id.to_string()],
        )
        .await
    }

    async fn lead_by_crm_ref(
        &mut self,
        sink: &str,
        name: &str,
        value: &str,
    ) -> StoreResult<Option<String>> {
        // Values are kept as JSON: an id captured as a number is `123`, as text `"123"`.
        let as_text = serde_json::Value::String(value.to_string()).to_string();
        let row = sqlx::query(
            "SELECT lead_id FROM crm_refs WHERE sink = ?1 AND name = ?2 AND value IN (?3, ?4)
             ORDER BY captured_at DESC LIMIT 1",
        )
        .bind(sink)
        .bind(name)
        .bind(value)
        .bind(as_text)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|r| r.try_get("lead_id"))
            .transpose()
            .map_err(StoreError::from)
    }

    async fn active_assignment(&mut self, lead_id: &str) -> StoreResult<Option<ActiveAssignment>> {
        self.settle_for(lead_id).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTIVE_COLUMNS} FROM assignments a JOIN leads l ON l.id = a.lead_id
             WHERE a.lead_id = ?1 AND a.state = 'active' ORDER BY a.id DESC LIMIT 1"
        )))
        .bind(lead_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(active_assignment).transpose()
    }

    async fn due_assignments(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ActiveAssignment>> {
        self.settle().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTIVE_COLUMNS} FROM assignments a INDEXED BY assignments_due
             CROSS JOIN leads l ON l.id = a.lead_id
             WHERE a.state = 'active' AND l.status = 'assigned' AND a.ack_due_at IS NOT NULL AND a.ack_due_at <= ?1
             ORDER BY a.ack_due_at, a.id LIMIT ?2"
        )))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(active_assignment).collect()
    }

    async fn assignment_history(&mut self, lead_id: &str) -> StoreResult<Vec<AssignmentSummary>> {
        self.settle_for(lead_id).await?;
        let rows = sqlx::query(
            "SELECT manager_id, level, strategy, attempt, assigned_at, ack_due_at, state
             FROM assignments WHERE lead_id = ?1 ORDER BY id",
        )
        .bind(lead_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(assignment_summary).collect()
    }

    async fn end_assignment(
        &mut self,
        lead_id: &str,
        state: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.settle_for(lead_id).await?;
        sqlx::query("UPDATE assignments SET state = ?2, ended_at = ?3 WHERE lead_id = ?1 AND state = 'active'")
            .bind(lead_id)
            .bind(state)
            .bind(ts(at))
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let SqliteTx {
            mut tx,
            mut pending,
            deferred,
            ..
        } = *self;
        pending.flush(&mut tx).await?;
        deferred.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}
