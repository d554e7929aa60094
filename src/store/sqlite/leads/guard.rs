//! The processing transaction's connection, handed out only through [`Guarded::read`] and
//! [`Guarded::write`], which first write the kept-back rows ([`Pending`]) the statement could
//! see. No read or write in the transaction can skip that step: the connection is not
//! reachable any other way, and every caller has to say what its statement could see
//! ([`Sees`]).
//!
//! The transaction holds the write connection from its start, so no other writer of leads,
//! assignments or the outbox runs until it ends; but it takes the file's write turn
//! ([`super::super::WriteTurn`]) and opens its SQLite transaction (`BEGIN IMMEDIATE`) only at
//! its first write. Until then its statements are plain reads, each seeing the last commit,
//! and intake, which writes only new inbound items and sources' positions on a connection of
//! its own, commits a form in the meantime instead of waiting for the whole batch to be routed.

use super::deferred::Deferred;
use super::pending::Pending;
pub(super) use crate::store::sql::sees::Sees;
use crate::store::sqlite::WriteTurn;
use crate::store::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::{SqlSafeStr, Sqlite, SqliteConnection, Transaction};

/// Where the transaction stands: reading on the write connection, or writing in an open
/// SQLite transaction with the write turn held.
#[derive(Debug)]
enum Stage {
    Reading(PoolConnection<Sqlite>),
    Writing {
        tx: Transaction<'static, Sqlite>,
        _turn: tokio::sync::OwnedMutexGuard<()>,
    },
    /// A failed switch to writing left no connection: every later statement fails.
    Broken,
}

/// The transaction and the rows it keeps back, together.
#[derive(Debug)]
pub(super) struct Guarded {
    stage: Stage,
    turn: WriteTurn,
    pending: Pending,
}

impl Guarded {
    /// Guards the write connection, keeping nothing back yet and writing nothing yet.
    pub(super) fn new(conn: PoolConnection<Sqlite>, turn: WriteTurn) -> Guarded {
        Guarded {
            stage: Stage::Reading(conn),
            turn,
            pending: Pending::default(),
        }
    }

    /// The kept-back rows, to add to them or ask what they hold.
    pub(super) fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    /// The connection for one read, after writing the kept-back rows when the read could see
    /// any of them.
    pub(super) async fn read(&mut self, sees: Sees<'_>) -> StoreResult<&mut SqliteConnection> {
        if self.pending.holds_rows() && self.pending.kept.seen_by(sees) {
            return self.write(sees).await;
        }
        match &mut self.stage {
            Stage::Reading(conn) => Ok(&mut **conn),
            Stage::Writing { tx, .. } => Ok(&mut **tx),
            Stage::Broken => Err(broken()),
        }
    }

    /// The connection for one write, in the open transaction, after writing the kept-back
    /// rows when the statement could see any of them.
    pub(super) async fn write(&mut self, sees: Sees<'_>) -> StoreResult<&mut SqliteConnection> {
        self.start_writing().await?;
        let Stage::Writing { tx, .. } = &mut self.stage else {
            return Err(broken());
        };
        if self.pending.kept.seen_by(sees) {
            self.pending.flush(tx).await?;
        }
        Ok(&mut **tx)
    }

    /// Takes the write turn and opens the SQLite transaction, once.
    async fn start_writing(&mut self) -> StoreResult<()> {
        match self.stage {
            Stage::Reading(_) => {}
            Stage::Writing { .. } => return Ok(()),
            Stage::Broken => return Err(broken()),
        }
        let turn = self.turn.take().await;
        let Stage::Reading(conn) = std::mem::replace(&mut self.stage, Stage::Broken) else {
            return Err(broken());
        };
        // IMMEDIATE: the write lock now, while the turn is held, so no other connection can
        // commit between this transaction's first read and its first write.
        let tx = Transaction::begin(conn, Some("BEGIN IMMEDIATE".into_sql_str())).await?;
        self.stage = Stage::Writing { tx, _turn: turn };
        Ok(())
    }

    /// Writes what is kept back, then the rows deferred to the commit, and commits.
    pub(super) async fn commit(mut self, deferred: Deferred) -> StoreResult<()> {
        self.pending.prepare_follow_ups();
        self.start_writing().await?;
        let Stage::Writing { mut tx, _turn } = self.stage else {
            return Err(broken());
        };
        self.pending.flush(&mut tx).await?;
        deferred.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The error of a statement after a failed switch to writing.
fn broken() -> StoreError {
    StoreError::Database(sqlx::Error::BeginFailed)
}
