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
//! One module per concern, as for SQLite, each implementing its concern's trait of the store:
//! `inbound`, `leads` (the processing transaction and the SLA's deadlines), `kept` (what that
//! transaction writes only at its commit), `outbox`, `notifications`, `admin`, `console`,
//! `files`, `privacy`, `leases` (with the wake-ups other replicas' commits send).

mod admin;
mod console;
mod files;
mod inbound;
mod kept;
mod leads;
mod leases;
mod notifications;
mod outbox;
mod pending;
mod privacy;
#[cfg(test)]
pub(crate) mod testing;

use super::values::{opt_ts, parse_json, ts};
use super::*;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, PgConnection, Postgres, Row};
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

/// How long a pooled connection may have been idle before it is pinged before its next use.
const PING_AFTER_IDLE: Duration = Duration::from_millis(100);

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
            // A connection that was idle for a while is pinged before use, so one the server
            // closed (a restart, a failover) is replaced instead of failing a statement; under
            // load, when connections are reused within milliseconds, no ping's round trip.
            .test_before_acquire(false)
            .before_acquire(|conn, used| {
                Box::pin(
                    async move { Ok(used.idle_for < PING_AFTER_IDLE || conn.ping().await.is_ok()) },
                )
            })
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

/// One column of `rows` for a statement that unnests arrays: `f` of each row, in order.
fn column<'a, T, U>(rows: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
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
