//! The processing transaction's connection, handed out only through [`Guarded::conn`], which
//! first writes the kept-back rows ([`Pending`]) the statement could see. No read or write in
//! the transaction can skip that step: the connection is not reachable any other way, and
//! every caller has to say what its statement could see ([`Sees`]).

use super::deferred::Deferred;
use super::pending::Pending;
use crate::store::StoreResult;
use sqlx::{Sqlite, SqliteConnection, Transaction};

/// What a statement could see of the kept-back rows (`leads`, `lead_contacts`, `lead_refs`,
/// a new lead's first assignment, and what their triggers keep).
#[derive(Debug, Clone, Copy)]
pub(super) enum Sees<'a> {
    /// Any of them: a statement over those tables at large (or over the totals their
    /// triggers keep).
    Any,
    /// The rows of one lead.
    Lead(&'a str),
    /// The lead with this source and external id.
    External(&'a str, &'a str),
    /// The leads of any of these refs.
    Refs(&'a [String]),
    /// The leads of any of these `(source, conversation key)` pairs.
    Conversations(&'a [(&'a str, &'a str)]),
    /// None: the statement touches only tables no kept-back row goes to (cursors,
    /// `rules_texts`, `crm_refs`).
    Nothing,
}

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
        let p = &self.pending;
        let settle = match sees {
            Sees::Any => true,
            Sees::Lead(id) => p.has_lead(id),
            Sees::External(source, id) => p.has_external(source, id),
            Sees::Refs(refs) => p.has_any_ref(refs),
            Sees::Conversations(asked) => asked.iter().any(|(s, k)| p.has_conversation(s, k)),
            Sees::Nothing => false,
        };
        if settle {
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
