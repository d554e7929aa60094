//! [`NotificationStore`] on SQLite: the `notifications` and `used_links` tables.

use super::bulk::{Cell, Rows};
use super::{SqliteStore, opt_ts, ts};
use crate::store::sql::Read;
use crate::store::sql::notifications::{
    CARD_REF, DEAD_PER_SINK, HELD_PER_LEVEL, LAST_INBOUND, OPEN_PER_MANAGER, RECORD, RELEASE_LINK,
    UNREACHABLE, USE_LINK, notification_row, unreachable,
};
use crate::store::{
    DeliveryOutcome, NewNotification, NotificationResult, NotificationRow, NotificationStore,
    StoreResult, Unreachable,
};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Notifications to insert in bulk; one whose dedupe key is queued already is left out.
pub(super) fn rows() -> Rows {
    Rows::new(
        "INSERT INTO notifications (dedupe_key, lead_id, recipient, channel, address, kind, message, created_at, next_attempt_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        " ON CONFLICT (dedupe_key) DO NOTHING",
    )
}

/// Adds a notification to [`rows`]: due as soon as it is queued.
pub(super) fn push(rows: &mut Rows, n: &NewNotification) {
    let at = ts(n.created_at);
    rows.push([
        Cell::from(n.dedupe_key.clone()),
        Cell::from(n.lead_id.clone()),
        Cell::from(n.recipient.clone()),
        Cell::from(n.channel.clone()),
        Cell::from(n.address.clone()),
        Cell::from(n.kind.clone()),
        Cell::from(n.message.clone()),
        Cell::from(at.clone()),
        Cell::from(at),
    ]);
}

#[async_trait]
impl NotificationStore for SqliteStore {
    async fn queue_notifications(&self, rows: &[NewNotification]) -> StoreResult<()> {
        let mut bulk = self::rows();
        for row in rows {
            push(&mut bulk, row);
        }
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        bulk.insert(&mut tx).await?;
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
            "UPDATE notifications SET lease_until = ?2 WHERE id IN (
                SELECT id FROM notifications
                WHERE status = 'pending' AND next_attempt_at <= ?1
                  AND (lease_until IS NULL OR lease_until <= ?1)
                ORDER BY next_attempt_at, id LIMIT +?3)
             RETURNING id, lead_id, channel, address, kind, message, attempts, created_at,
                       lease_until",
        )
        .bind(ts(now))
        .bind(ts(lease_until))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.writer().await?)
        .await?;
        let mut out = rows
            .iter()
            .map(notification_row)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    async fn record_notifications(&self, results: &[NotificationResult]) -> StoreResult<usize> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        let mut held = 0;
        for r in results {
            let (status, next, sent_at) = match r.outcome {
                DeliveryOutcome::Delivered => ("sent", None, Some(ts(r.at))),
                DeliveryOutcome::Retry(at) => ("pending", Some(ts(at)), None),
                DeliveryOutcome::Dead => ("dead", None, None),
            };
            let recorded = sqlx::query(RECORD.sqlite())
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
                 SELECT lead_id, ?2, ?3, json_object('recipient', recipient, 'channel', channel, 'kind', kind, 'error', ?4)
                 FROM notifications WHERE id = ?1 AND lead_id IS NOT NULL",
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
            "SELECT MIN(COALESCE(MAX(next_attempt_at, lease_until), next_attempt_at))
             FROM notifications WHERE status = 'pending'",
        )
        .fetch_one(&self.read)
        .await?;
        opt_ts("notifications.next_attempt_at", next)
    }

    async fn card_ref(
        &self,
        lead_id: &str,
        address: &str,
        before: i64,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(CARD_REF.sqlite())
            .bind(lead_id)
            .bind(address)
            .bind(before)
            .fetch_optional(&self.read)
            .await?)
    }

    async fn consume_link(&self, nonce: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let done = sqlx::query(USE_LINK.sqlite())
            .bind(nonce)
            .bind(ts(at))
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_link(&self, nonce: &str) -> StoreResult<()> {
        sqlx::query(RELEASE_LINK.sqlite())
            .bind(nonce)
            .execute(&mut *self.writer().await?)
            .await?;
        Ok(())
    }

    async fn last_inbound_per_source(&self) -> StoreResult<HashMap<String, DateTime<Utc>>> {
        let rows = sqlx::query(LAST_INBOUND.sqlite())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("source")?, r.time("inbound.received_at", "last")?)))
            .collect()
    }

    async fn dead_per_sink(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(DEAD_PER_SINK.sqlite())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("sink")?, r.count("n")?)))
            .collect()
    }

    async fn held_per_level(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(HELD_PER_LEVEL.sqlite())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("level")?, r.count("n")?)))
            .collect()
    }

    async fn open_per_manager(&self) -> StoreResult<HashMap<String, u64>> {
        let rows = sqlx::query(OPEN_PER_MANAGER.sqlite())
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.text("manager_id")?, r.count("n")?)))
            .collect()
    }

    async fn unreachable_managers(&self) -> StoreResult<Vec<Unreachable>> {
        let rows = sqlx::query(UNREACHABLE.sqlite())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(unreachable).collect()
    }
}
