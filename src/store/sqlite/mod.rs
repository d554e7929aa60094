//! The embedded default store: one SQLite file in WAL mode.
//!
//! All writes go through a single connection, so writers queue in-process instead of failing
//! with `SQLITE_BUSY`; reads that need no transaction use a small pool of read-only
//! connections. Lists of keys are passed as a JSON array and expanded with `json_each`, which
//! keeps every statement static; rows written in bulk are bound, a few dozen a statement
//! (`bulk.rs`). The processing transaction keeps new leads back until a statement could see
//! them (`leads/pending.rs`, `leads/guard.rs`) and reads its batch's returning contacts ahead
//! (`leads/identities.rs`). A limit of a bound value is written `LIMIT +?N`: SQLite's planner
//! reads a bare `LIMIT ?N` and then prepares the statement again at every new value.
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
use crate::lead::Lead;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, Sqlite, SqliteConnection};
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// The SQLite implementation of [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    write: SqlitePool,
    read: SqlitePool,
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
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(writer)
            .await?;
        sqlx::migrate!("src/store/migrations/sqlite")
            .run(&write)
            .await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(base.read_only(true))
            .await?;
        Ok(SqliteStore { write, read })
    }

    /// Closes both pools (graceful shutdown).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
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
