//! The leases' statements, the same on both backends: a lease is taken when it is free, has
//! run out, or is already the holder's (which renews it).

use super::Statement;
use crate::store::SourceState;

/// Takes or renews a lease: name, holder, now, until. Answers a row only when `holder` has
/// it afterwards.
pub(crate) static HOLD: Statement = Statement::new(
    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?4)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3
     RETURNING name",
);

/// Keeps a source's state as the replica running it sees it: name, replica, state, last
/// success, last error, at.
pub(crate) static PUBLISH_SOURCE: Statement = Statement::new(
    "INSERT INTO source_states (name, replica, state, last_success, last_error, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
     ON CONFLICT (name) DO UPDATE SET replica = excluded.replica, state = excluded.state,
         last_success = excluded.last_success, last_error = excluded.last_error, at = excluded.at",
);

/// The sources' states other replicas than `?1` published at or after `?2`.
pub(crate) static PUBLISHED_SOURCES: Statement = Statement::new(
    "SELECT name, state, last_success, last_error FROM source_states
     WHERE replica <> ?1 AND at >= ?2 ORDER BY name",
);

/// A published source state read back.
pub(crate) fn source_state(r: &impl super::Read) -> crate::store::StoreResult<SourceState> {
    Ok(SourceState {
        name: r.text("name")?,
        state: r.text("state")?,
        last_success: r.opt_time("source_states.last_success", "last_success")?,
        last_error: r.opt_text("last_error")?,
    })
}

/// Gives a lease up: name, holder.
pub(crate) static RELEASE: Statement =
    Statement::new("DELETE FROM leases WHERE name = ?1 AND holder = ?2");
