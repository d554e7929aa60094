//! [`NotificationStore`] on PostgreSQL: the `notifications` and `used_links` tables.

use super::*;
use crate::store::sql::Read;
use crate::store::sql::notifications::{
    CARD_REF, DEAD_PER_SINK, HELD_PER_LEVEL, LAST_INBOUND, OPEN_PER_MANAGER, RECORD, RELEASE_LINK,
    UNREACHABLE, USE_LINK, notification_row, unreachable,
};
use std::collections::HashMap;

/// Queues notifications on `db` with one statement, in order; a dedupe key queued already
/// (before, or earlier in `rows`) is left out.
pub(super) async fn insert(db: &mut PgConnection, rows: &[NewNotification]) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO notifications (dedupe_key, lead_id, recipient, channel, address, kind,
                                    message, created_at, next_attempt_at)
         SELECT dedupe_key, lead_id, recipient, channel, address, kind, message, created_at,
                created_at
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[])
              WITH ORDINALITY AS u(dedupe_key, lead_id, recipient, channel, address, kind,
                                   message, created_at, n)
         ORDER BY n
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(column(rows, |n| n.dedupe_key.as_str()))
    .bind(column(rows, |n| n.lead_id.as_deref()))
    .bind(column(rows, |n| n.recipient.as_str()))
    .bind(column(rows, |n| n.channel.as_str()))
    .bind(column(rows, |n| n.address.as_str()))
    .bind(column(rows, |n| n.kind.as_str()))
    .bind(column(rows, |n| n.message.as_str()))
    .bind(column(rows, |n| ts(n.created_at)))
    .execute(db)
    .await?;
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
             RETURNING id, lead_id, channel, address, kind, message, attempts, created_at,
                       lease_until",
        )
        .bind(ts(now))
        .bind(ts(lease_until))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = rows
            .iter()
            .map(notification_row)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_notifications(&self, results: &[NotificationResult]) -> StoreResult<usize> {
        let mut tx = self.pool.begin().await?;
        let mut held = 0;
        for r in results {
            let (status, next, sent_at) = match r.outcome {
                DeliveryOutcome::Delivered => ("sent", None, Some(ts(r.at))),
                DeliveryOutcome::Retry(at) => ("pending", Some(ts(at)), None),
                DeliveryOutcome::Dead => ("dead", None, None),
            };
            let recorded = sqlx::query(RECORD.postgres())
                .bind(r.id)
                .bind(status)
                .bind(i64::from(r.attempt))
                .bind(&r.error)
                .bind(next)
                .bind(sent_at)
                .bind(&r.sent_ref)
                .bind(ts(r.lease_until))
                .execute(&mut *tx)
                .await?;
            if recorded.rows_affected() == 0 {
                continue;
            }
            held += 1;
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
        Ok(held)
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

    async fn card_ref(
        &self,
        lead_id: &str,
        address: &str,
        before: i64,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(CARD_REF.postgres())
            .bind(lead_id)
            .bind(address)
            .bind(before)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn consume_link(&self, nonce: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(USE_LINK.postgres())
            .bind(nonce)
            .bind(ts(at))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_link(&self, nonce: &str) -> StoreResult<()> {
        sqlx::query(RELEASE_LINK.postgres())
            .bind(nonce)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn last_inbound_per_source(&self) -> StoreResult<HashMap<String, DateTime<Utc>>> {
        let rows = sqlx::query(LAST_INBOUND.postgres())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("source")?, r.time("inbound.received_at", "last")?)))
            .collect()
    }

    async fn dead_per_sink(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(DEAD_PER_SINK.postgres())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("sink")?, r.count("n")?)))
            .collect()
    }

    async fn held_per_level(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(HELD_PER_LEVEL.postgres())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("level")?, r.count("n")?)))
            .collect()
    }

    async fn open_per_manager(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(OPEN_PER_MANAGER.postgres())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("manager_id")?, r.count("n")?)))
            .collect()
    }

    async fn unreachable_managers(&self) -> StoreResult<Vec<Unreachable>> {
        let rows = sqlx::query(UNREACHABLE.postgres())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(unreachable).collect()
    }
}
