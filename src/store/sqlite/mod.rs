//! The embedded default store: one SQLite file in WAL mode.
//!
//! Writes take turns in-process ([`WriteTurn`]), so writers queue instead of failing with
//! `SQLITE_BUSY` or sleeping in SQLite's busy handler. Three connections write: intake's, which
//! only adds inbound items and sources' positions; delivery's, which claims outbox rows and
//! records attempts without syncing the file at each commit; and the write connection every
//! other writer shares (a writer holds it, and the turn, for as long as it writes; the
//! processing transaction holds it from its start but takes the turn only at its first write,
//! so a form is committed, and a sink claims, while a batch is routed). Reads that need no
//! transaction use a small pool of read-only connections. Lists of keys are passed as a JSON
//! array and expanded with `json_each`, which keeps every statement static; rows written in
//! bulk are bound, a few dozen a statement (`bulk.rs`). The processing transaction keeps new
//! leads back until a statement could see them (`leads/pending.rs`, `leads/guard.rs`) and reads
//! its batch's returning contacts ahead (`leads/identities.rs`). A limit of a bound value is
//! written `LIMIT +?N`: SQLite's planner reads a bare `LIMIT ?N` and then prepares the
//! statement again at every new value.
//!
//! One module per concern: `inbound` (intake), `leads` (the processing transaction and the
//! SLA's deadlines), `outbox` (delivery), `notifications`, `admin` (lists, journeys, counts),
//! `console`, `files`, `privacy`, `leases`, each implementing its concern's trait of the
//! store; this file opens the store.

mod admin;
mod bulk;
mod console;
mod files;
mod inbound;
mod leads;
mod leases;
mod notifications;
mod outbox;
mod privacy;
#[cfg(test)]
mod tests;

use super::values::{opt_ts, parse_json, ts};
use super::*;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row, Sqlite, SqliteConnection};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedMutexGuard;

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    deliveries: SqlitePool,
    intake: IntakeConnection,
    read: SqlitePool,
    turn: WriteTurn,
}

/// Intake's connection, its own and not pooled: a pooled connection is pinged on its way back
/// to the pool (one more hand-off to SQLite's thread), and intake's next group waited for that
/// ping. `None` once the store is closed.
type IntakeConnection = Arc<tokio::sync::Mutex<Option<SqliteConnection>>>;

/// The file's write turn: SQLite lets one connection write at a time, and a connection that
/// finds the file locked sleeps in the busy handler (1 ms, then 2, 5 ...). Every write holds
/// the turn for as long as it holds SQLite's write lock, so writers wait in order, in-process,
/// and are woken the moment the turn is free.
#[derive(Debug, Clone, Default)]
pub(super) struct WriteTurn(Arc<tokio::sync::Mutex<()>>);

impl WriteTurn {
    /// Waits for the turn (first come, first served) and holds it until the guard drops.
    pub(super) async fn take(&self) -> OwnedMutexGuard<()> {
        self.0.clone().lock_owned().await
    }
}

/// The write connection with the write turn held: what every writer but intake and the
/// processing transaction writes through.
struct Writer {
    conn: PoolConnection<Sqlite>,
    _turn: OwnedMutexGuard<()>,
}

impl Writer {
    /// Opens a transaction on the write connection; the turn is held to its end.
    async fn begin(&mut self) -> Result<sqlx::Transaction<'_, Sqlite>, sqlx::Error> {
        self.conn.begin().await
    }
}

impl std::ops::Deref for Writer {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

fn json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
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
        // No ping before each use: a connection to a local file does not go stale, and the
        // ping was one more hand-off to sqlx's worker thread for every statement the pool ran.
        let one_writer = || {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
        };
        let write = one_writer().connect_with(writer).await?;
        sqlx::migrate!("src/store/migrations/sqlite")
            .run(&write)
            .await?;
        // Delivery's claims and attempts are not synced at their commit: the outbox row they
        // act on was synced when processing wrote it, so a power loss can only forget a lease
        // or an attempt, and the event is sent again under the same webhook-id (at least
        // once, as the contract says). The next synced commit on the file (intake's, a
        // batch's) syncs them too; a crashed process loses nothing either way.
        let deliveries = one_writer()
            .connect_with(base.clone().synchronous(SqliteSynchronous::Normal))
            .await?;
        // Intake's inserts touch a few pages: the default cache does.
        let intake = Arc::new(tokio::sync::Mutex::new(Some(base.clone().connect().await?)));
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(base.read_only(true))
            .await?;
        Ok(SqliteStore {
            write,
            deliveries,
            intake,
            read,
            turn: WriteTurn::default(),
        })
    }

    /// Closes the pools (graceful shutdown).
    pub async fn close(&self) {
        if let Some(conn) = self.intake.lock().await.take() {
            let _ = conn.close().await;
        }
        self.write.close().await;
        self.deliveries.close().await;
        self.read.close().await;
    }

    /// The write connection, with the write turn: taken in that order by every writer (the
    /// processing transaction holds the connection before it takes the turn; taking them the
    /// other way round here could wait for each other).
    async fn writer(&self) -> StoreResult<Writer> {
        self.writer_on(&self.write).await
    }

    /// Delivery's connection, with the write turn: claims and attempts of the outbox, which
    /// neither wait for a processing batch that holds the write connection while it routes
    /// nor sync the file at their commit (see [`SqliteStore::open`]).
    async fn delivery_writer(&self) -> StoreResult<Writer> {
        self.writer_on(&self.deliveries).await
    }

    /// `pool`'s connection, then the write turn.
    async fn writer_on(&self, pool: &SqlitePool) -> StoreResult<Writer> {
        let conn = pool.acquire().await?;
        let turn = self.turn.take().await;
        Ok(Writer { conn, _turn: turn })
    }

    /// The read-only connections, for copying the whole store (`store::copy`).
    pub(in crate::store) fn read_pool(&self) -> &SqlitePool {
        &self.read
    }
}

/// Writes a named cursor on `exec` (the write pool, or a transaction it belongs to).
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
