//! [`NotificationStore`] on PostgreSQL: the `notifications` and `used_links` tables.

use super::*;
use std::collections::HashMap;

/// Queues notifications on `db`, in order; a dedupe key queued already is left out.
pub(super) async fn insert(db: &mut PgConnection, rows: &[NewNotification]) -> StoreResult<()> {
    for n in rows {
        let at = ts(n.created_at);
        sqlx::query(
            "INSERT INTO notifications (dedupe_key, lead_id, recipient, channel, address, kind,
                                        message, created_at, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&n.dedupe_key)
        .bind(&n.lead_id)
        .bind(&n.recipient)
        .bind(&n.channel)
        .bind(&n.address)
        .bind(&n.kind)
        .bind(&n.message)
        .bind(at)
        .execute(&mut *db)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl NotificationStore for PgStore {
    async fn queue_notifications(&self, rows: &[NewNotification]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        insert(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRow>> {
        let rows = sqlx::query(
            "UPDATE notifications SET lease_until = $2 WHERE id IN (
                SELECT id FROM notifications
                WHERE status = 'pending' AND next_attempt_at <= $1
                  AND (lease_until IS NULL OR lease_until <= $1)
                ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, lead_id, channel, address, kind, message, attempts, created_at",
        )
        .bind(ts(now))
        .bind(ts(lease_until))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(NotificationRow {
                    id: r.try_get("id")?,
                    lead_id: r.try_get("lead_id")?,
                    channel: r.try_get("channel")?,
                    address: r.try_get("address")?,
                    kind: r.try_get("kind")?,
                    message: r.try_get("message")?,
                    attempts: r.try_get::<i64, _>("attempts")? as u32,
                    created_at: parse_ts(
                        "notifications.created_at",
                        &r.try_get::<String, _>("created_at")?,
                    )?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_notifications(&self, results: &[NotificationResult]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for r in results {
            let (status, next, sent_at) = match r.outcome {
                DeliveryOutcome::Delivered => ("sent", None, Some(ts(r.at))),
                DeliveryOutcome::Retry(at) => ("pending", Some(ts(at)), None),
                DeliveryOutcome::Dead => ("dead", None, None),
            };
            sqlx::query(
                "UPDATE notifications SET status = $2, attempts = $3, lease_until = NULL,
                        last_error = $4, next_attempt_at = COALESCE($5, next_attempt_at),
                        sent_at = $6, sent_ref = COALESCE($7, sent_ref)
                 WHERE id = $1",
            )
            .bind(r.id)
            .bind(status)
            .bind(i64::from(r.attempt))
            .bind(&r.error)
            .bind(next)
            .bind(sent_at)
            .bind(&r.sent_ref)
            .execute(&mut *tx)
            .await?;
            // The lead's audit trail shows who was told, and what could not be sent.
            let kind = match r.outcome {
                DeliveryOutcome::Delivered => "notified",
                DeliveryOutcome::Dead => "notification_failed",
                DeliveryOutcome::Retry(_) => continue,
            };
            sqlx::query(
                "INSERT INTO audit (lead_id, at, kind, detail)
                 SELECT lead_id, $2, $3, json_build_object('recipient', recipient, 'channel', channel,
                                                           'kind', kind, 'error', $4::text)::text
                 FROM notifications WHERE id = $1 AND lead_id IS NOT NULL",
            )
            .bind(r.id)
            .bind(ts(r.at))
            .bind(kind)
            .bind(&r.error)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn next_notification_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(
            "SELECT MIN(GREATEST(next_attempt_at, COALESCE(lease_until, next_attempt_at)))
             FROM notifications WHERE status = 'pending'",
        )
        .fetch_one(&self.pool)
        .await?;
        opt_ts("notifications.next_attempt_at", next)
    }

    async fn card_ref(&self, lead_id: &str, address: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT sent_ref FROM notifications
             WHERE lead_id = $1 AND address = $2 AND kind = 'assigned' AND channel = 'telegram'
               AND sent_ref IS NOT NULL
             ORDER BY id DESC LIMIT 1",
        )
        .bind(lead_id)
        .bind(address)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn consume_link(&self, nonce: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO used_links (nonce, used_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(ts(at))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_link(&self, nonce: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM used_links WHERE nonce = $1")
            .bind(nonce)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn last_inbound_per_source(&self) -> StoreResult<HashMap<String, DateTime<Utc>>> {
        let rows =
            sqlx::query("SELECT source, MAX(received_at) AS last FROM inbound GROUP BY source")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("source")?,
                    parse_ts("inbound.received_at", &r.try_get::<String, _>("last")?)?,
                ))
            })
            .collect()
    }

    async fn dead_per_sink(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(
            "SELECT sink, COUNT(*) AS n FROM outbox WHERE status = 'dead' GROUP BY sink",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("sink")?, count(r, "n")?)))
            .collect()
    }

    async fn held_per_level(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query("SELECT level, n FROM held_leads WHERE n > 0")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("level")?, count(r, "n")?)))
            .collect()
    }

    async fn unreachable_managers(&self) -> StoreResult<Vec<Unreachable>> {
        let rows = sqlx::query(
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
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Unreachable {
                    recipient: r.try_get("recipient")?,
                    channel: r.try_get("channel")?,
                    address: r.try_get("address")?,
                    dead: count(r, "dead")?,
                    last_error: r.try_get("last_error")?,
                })
            })
            .collect()
    }
}
