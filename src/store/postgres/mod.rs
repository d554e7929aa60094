//! The PostgreSQL store, for more than one daemon on one database (`[storage] url =
//! "postgres://..."`).
//!
//! One pool; every statement is static (lists go in as arrays). Its migrations
//! (`migrations/`) run at start under sqlx's migrator, which holds a PostgreSQL advisory lock
//! while it runs, so daemons starting together migrate once. The kept counts and the reports'
//! daily totals are kept by plpgsql triggers, as SQLite's are by its own. A commit is durable
//! before it returns (`synchronous_commit` as the server has it, `on` by default), so intake
//! answers `2xx` only for items on disk. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so
//! workers of several daemons never take the same row.
//!
//! One module per concern, as for SQLite: `inbound`, `leads` (the processing transaction and
//! the SLA's deadlines), `kept` (what that transaction writes only at its commit), `outbox`, `notifications`, `admin`, `console`, `files`, `privacy`.

mod admin;
mod console;
mod files;
mod inbound;
mod kept;
mod leads;
mod notifications;
mod outbox;
mod privacy;
#[cfg(test)]
pub(crate) mod testing;

use super::values::{opt_ts, parse_json, ts};
use super::*;
use crate::lead::Lead;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{PgConnection, Postgres, Row};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// A connection listening on [`INBOUND`] and [`DEADLINES`].
async fn listen(pool: &PgPool) -> StoreResult<sqlx::postgres::PgListener> {
    let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
    listener.listen_all([INBOUND, DEADLINES]).await?;
    Ok(listener)
}

/// The channel a commit of new inbound items is announced on, for the replica that processes.
const INBOUND: &str = "leadgate_inbound";

/// The channel a commit that set an SLA deadline is announced on, for the replica whose SLA
/// timer runs.
const DEADLINES: &str = "leadgate_deadlines";

/// Announces on `channel`, when the transaction commits, to every daemon listening
/// ([`Store::relay_wakes`]).
async fn notify(tx: &mut PgConnection, channel: &str) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(channel)
        .execute(tx)
        .await?;
    Ok(())
}

/// The PostgreSQL implementation of [`Store`] and the rest of the family.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host/db`) and runs the
    /// migrations.
    pub async fn open(url: &str) -> StoreResult<PgStore> {
        let options: PgConnectOptions = url.parse()?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        // sqlx's migrator takes `pg_advisory_lock` for the run: a second daemon waits, then
        // finds every migration applied.
        sqlx::migrate!("src/store/postgres/migrations")
            .run(&pool)
            .await?;
        Ok(PgStore { pool })
    }

    /// Closes the pool (graceful shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The connections, for copying a whole store into it (`store::copy`).
    pub(in crate::store) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        admin::ping(self).await
    }

    async fn insert_inbound(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>> {
        inbound::insert_inbound(self, items, cursors).await
    }

    async fn pending_inbound(&self, limit: u32) -> StoreResult<Vec<InboundRow>> {
        inbound::pending_inbound(self, limit).await
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        leads::begin(self).await
    }

    async fn claim_outbox(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>> {
        outbox::claim_outbox(self, sink, now, lease_until, limit).await
    }

    async fn record_deliveries(&self, results: &[DeliveryResult]) -> StoreResult<()> {
        outbox::record_deliveries(self, results).await
    }

    async fn next_outbox_due(&self, sink: &str) -> StoreResult<Option<DateTime<Utc>>> {
        outbox::next_outbox_due(self, sink).await
    }

    async fn crm_refs(&self, sink: &str, lead_id: &str) -> StoreResult<CrmRefs> {
        outbox::crm_refs(self, sink, lead_id).await
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
        outbox::record_step(self, outbox_id, steps_done, sink, lead_id, captured, at).await
    }

    async fn replay_dead(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64> {
        outbox::replay_dead(self, filter, now).await
    }

    async fn list_inbound(&self, filter: &ListFilter) -> StoreResult<Vec<InboundSummary>> {
        admin::list_inbound(self, filter).await
    }

    async fn list_leads(&self, filter: &ListFilter) -> StoreResult<Vec<LeadSummary>> {
        admin::list_leads(self, filter).await
    }

    async fn lead_journey(&self, lead_id: &str) -> StoreResult<Option<Journey>> {
        admin::lead_journey(self, lead_id).await
    }

    async fn list_dead(
        &self,
        filter: &ReplayFilter,
        limit: u32,
    ) -> StoreResult<Vec<OutboxSummary>> {
        outbox::list_dead(self, filter, limit).await
    }

    async fn queue_stats(&self) -> StoreResult<QueueStats> {
        admin::queue_stats(self).await
    }

    async fn get_cursor(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_cursor(&self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(&self.pool, key, value, now).await
    }

    async fn next_ack_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        leads::next_ack_due(self).await
    }

    async fn hold_leases(
        &self,
        holder: &str,
        names: &[String],
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.pool.begin().await?;
        let mut held = Vec::with_capacity(names.len());
        for name in names {
            let got: Option<String> = sqlx::query_scalar(sql::leases::HOLD.postgres())
                .bind(name)
                .bind(holder)
                .bind(ts(now))
                .bind(ts(until))
                .fetch_optional(&mut *tx)
                .await?;
            held.extend(got);
        }
        tx.commit().await?;
        Ok(held)
    }

    async fn release_lease(&self, holder: &str, name: &str) -> StoreResult<()> {
        sqlx::query(sql::leases::RELEASE.postgres())
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn relay_wakes(
        &self,
        inbound: Arc<Notify>,
        deadlines: Arc<Notify>,
        stop: CancellationToken,
    ) {
        let mut listener = loop {
            match listen(&self.pool).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, "Cannot listen for other replicas' commits; looking again in 2s (they are found by polling meanwhile).")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(2)) => {}
                () = stop.cancelled() => return,
            }
        };
        loop {
            let heard = tokio::select! {
                heard = listener.recv() => heard,
                () = stop.cancelled() => return,
            };
            match heard {
                Ok(n) if n.channel() == INBOUND => inbound.notify_one(),
                Ok(_) => deadlines.notify_one(),
                Err(e) => {
                    // recv reconnects on its next call; what was announced meanwhile is lost,
                    // so both stages look now.
                    tracing::warn!(error = %e, "Lost the connection that hears other replicas' commits; reconnecting.");
                    inbound.notify_one();
                    deadlines.notify_one();
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = stop.cancelled() => return,
                    }
                }
            }
        }
    }
}

/// Writes a named cursor on `exec` (the pool, or a transaction).
async fn set_cursor<'e, E: sqlx::Executor<'e, Database = Postgres>>(
    exec: E,
    key: &str,
    value: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO cursors (key, value, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(ts(now))
    .execute(exec)
    .await?;
    Ok(())
}
