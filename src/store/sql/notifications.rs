//! The notifications' statements and rows as both backends have them.

use super::{Read, Statement};
use crate::store::{NotificationRow, StoreResult, Unreachable};

/// A claimed notification read back.
pub(crate) fn notification_row(r: &impl Read) -> StoreResult<NotificationRow> {
    Ok(NotificationRow {
        id: r.int("id")?,
        lead_id: r.opt_text("lead_id")?,
        channel: r.text("channel")?,
        address: r.text("address")?,
        kind: r.text("kind")?,
        message: r.text("message")?,
        attempts: r.int("attempts")? as u32,
        created_at: r.time("notifications.created_at", "created_at")?,
        lease_until: r.time("notifications.lease_until", "lease_until")?,
    })
}

/// A manager no notification reaches, read back.
pub(crate) fn unreachable(r: &impl Read) -> StoreResult<Unreachable> {
    Ok(Unreachable {
        recipient: r.text("recipient")?,
        channel: r.text("channel")?,
        address: r.text("address")?,
        dead: r.count("dead")?,
        last_error: r.opt_text("last_error")?,
    })
}

/// Records a notification's attempt: id, status, attempts, error, next attempt, sent at, ref,
/// the claim's lease. Only while the row is under that lease: a worker whose lease ran out
/// (another replica claimed the row since) neither overwrites that claim's outcome nor lifts
/// its lease while it sends.
pub(crate) static RECORD: Statement = Statement::new(
    "UPDATE notifications SET status = ?2, attempts = ?3, lease_until = NULL, last_error = ?4,
            next_attempt_at = COALESCE(?5, next_attempt_at), sent_at = ?6,
            sent_ref = COALESCE(?7, sent_ref)
     WHERE id = ?1 AND lease_until = ?8",
);

/// The last card sent to a manager about a lead, queued before a notification: lead,
/// address, that notification's id.
pub(crate) static CARD_REF: Statement = Statement::new(
    "SELECT sent_ref FROM notifications
     WHERE lead_id = ?1 AND address = ?2 AND kind = 'assigned' AND channel = 'telegram'
       AND sent_ref IS NOT NULL AND id < ?3
     ORDER BY id DESC LIMIT 1",
);

/// Marks a link used: nonce, time; changes nothing when it was.
pub(crate) static USE_LINK: Statement = Statement::new(
    "INSERT INTO used_links (nonce, used_at) VALUES (?1, ?2) ON CONFLICT (nonce) DO NOTHING",
);

/// Forgets a used link: nonce.
pub(crate) static RELEASE_LINK: Statement =
    Statement::new("DELETE FROM used_links WHERE nonce = ?1");

/// The last arrival of each source: the sources found one after the other through the index
/// that leads with them (a skip scan), each one's last arrival read from its end, so the alerts
/// monitor's check costs a few index seeks a source, not a walk of every item ever taken in
/// (`GROUP BY source` walked them all, on both backends).
pub(crate) static LAST_INBOUND: Statement = Statement::new(
    "WITH RECURSIVE sources (source) AS (
         SELECT MIN(source) FROM inbound
         UNION ALL
         SELECT (SELECT MIN(i.source) FROM inbound i WHERE i.source > s.source)
         FROM sources s WHERE s.source IS NOT NULL)
     SELECT source,
            (SELECT MAX(i.received_at) FROM inbound i WHERE i.source = sources.source) AS last
     FROM sources WHERE source IS NOT NULL",
);

/// The dead deliveries of each sink.
pub(crate) static DEAD_PER_SINK: Statement =
    Statement::new("SELECT sink, COUNT(*) AS n FROM outbox WHERE status = 'dead' GROUP BY sink");

/// The held leads of each level.
pub(crate) static HELD_PER_LEVEL: Statement =
    Statement::new("SELECT level, n FROM held_leads WHERE n > 0");

/// Leads assigned and not yet taken, per manager: the kept counts `max_open` caps.
pub(crate) static OPEN_PER_MANAGER: Statement =
    Statement::new("SELECT manager_id, n FROM open_leads WHERE n > 0");

/// The managers whose last notifications all died, with the last error.
pub(crate) static UNREACHABLE: Statement = Statement::new(
    "SELECT d.recipient, d.channel, d.address, COUNT(*) AS dead,
            (SELECT e.last_error FROM notifications e
              WHERE e.channel = d.channel AND e.address = d.address AND e.status = 'dead'
              ORDER BY e.id DESC LIMIT 1) AS last_error
       FROM notifications d
      WHERE d.status = 'dead' AND d.recipient NOT IN ('admin', 'person')
        AND NOT EXISTS (SELECT 1 FROM notifications s
                         WHERE s.channel = d.channel AND s.address = d.address
                           AND s.status = 'sent' AND s.id > d.id)
      GROUP BY d.recipient, d.channel, d.address
      ORDER BY d.recipient, d.channel",
);
