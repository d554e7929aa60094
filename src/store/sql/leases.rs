//! The leases' statements, the same on both backends: a lease is taken when it is free, has
//! run out, or is already the holder's (which renews it).

use super::Statement;

/// Takes or renews a lease: name, holder, now, until. Answers a row only when `holder` has
/// it afterwards.
pub(crate) static HOLD: Statement = Statement::new(
    "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?4)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?3
     RETURNING name",
);

/// Gives a lease up: name, holder.
pub(crate) static RELEASE: Statement =
    Statement::new("DELETE FROM leases WHERE name = ?1 AND holder = ?2");
