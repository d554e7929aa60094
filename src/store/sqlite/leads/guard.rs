//! The processing transaction's connection, handed out only through [`Guarded::conn`], which
//! first writes the kept-back rows ([`Pending`]) the statement could see. No read or write in
//! the transaction can skip that step: the connection is not reachable any other way, and
//! every caller has to say what its statement could see ([`Sees`]).

use super::deferred::Deferred;
use super::pending::Pending;
use crate::store::StoreResult;
pub(super) use crate::store::sql::sees::Sees;
use sqlx::{Sqlite, SqliteConnection, Transaction};

/// The transaction and the rows it keeps back, together.
#[derive(Debug)]
pub(super) struct Guarded {
    tx: Transaction<'static, Sqlite>,
    pending: Pending,
}

impl Guarded {
    /// Guards a transaction that keeps nothing back yet.
    pub(super) fn new(tx: Transaction<'static, Sqlite>) -> Guarded {
        Guarded {
            tx,
            pending: Pending::default(),
        }
    }

    /// The kept-back rows, to add to them or ask what they hold.
    pub(super) fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    /// The connection for one statement, after writing the kept-back rows when the
    /// statement could see any of them.
    pub(super) async fn conn(&mut self, sees: Sees<'_>) -> StoreResult<&mut SqliteConnection> {
        if self.pending.kept.seen_by(sees) {
            self.pending.flush(&mut self.tx).await?;
        }
        Ok(&mut *self.tx)
    }

    /// Writes what is kept back, then the rows deferred to the commit, and commits.
    pub(super) async fn commit(mut self, deferred: Deferred) -> StoreResult<()> {
        self.pending.flush(&mut self.tx).await?;
        deferred.flush(&mut self.tx).await?;
        self.tx.commit().await?;
        Ok(())
    }
}
