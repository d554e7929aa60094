//! The processing transaction's rows that none of its reads sees (outbox rows, notifications,
//! audit entries, finished items), kept back and written at the commit, one statement per table with the
//! rows as arrays unnested in order: a batch of 200 leads costs three statements here instead
//! of six hundred.

use super::*;
use crate::store::sql::inbound::FinishedItems;

/// What the transaction keeps back until its commit.
#[derive(Debug, Default)]
pub(super) struct KeptBack {
    /// Outbox rows, in the order they were queued (their ids keep it, so a lead's events go
    /// out in order).
    pub(super) outbox: Vec<NewOutbox>,
    /// Notifications, in the order they were queued (nothing in the transaction reads them).
    pub(super) notifications: Vec<NewNotification>,
    /// Audit entries: lead, at, kind, detail.
    pub(super) audit: Vec<[String; 4]>,
    /// Finished items, each once: an item finished again in the same transaction keeps its
    /// last outcome.
    pub(super) finished: FinishedItems,
}

impl KeptBack {
    /// Keeps `d` back, in place of an earlier outcome of the same item.
    pub(super) fn finished(&mut self, d: &FinishedInbound) {
        self.finished.keep(d);
    }
}

impl KeptBack {
    /// Writes everything kept back on `db`, the transaction about to commit. An item another
    /// processor finished first fails the whole batch ([`StoreError::AlreadyProcessed`]).
    pub(super) async fn write(self, db: &mut PgConnection) -> StoreResult<()> {
        if !self.outbox.is_empty() {
            insert_outbox(db, &self.outbox).await?;
        }
        super::notifications::insert(db, &self.notifications).await?;
        if !self.audit.is_empty() {
            insert_audit(db, &self.audit).await?;
        }
        if !self.finished.items().is_empty() {
            finish(db, self.finished.items()).await?;
        }
        Ok(())
    }
}

async fn insert_outbox(db: &mut PgConnection, rows: &[NewOutbox]) -> StoreResult<()> {
    // Queued now: its retry horizon starts now, and it is due now, or when the last row its
    // lead has pending for the sink is due if that is later (see `outbox.rs`,
    // `PUSH_BACK_FOLLOWERS`).
    sqlx::query(
        "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at, retry_since,
                             next_attempt_at, request)
         SELECT lead_id, sink, event_id, event_type, body, created_at, created_at,
                GREATEST(created_at, (SELECT e.next_attempt_at FROM outbox e
                    WHERE e.sink = u.sink AND e.lead_id = u.lead_id AND e.status = 'pending'
                    ORDER BY e.id DESC LIMIT 1)),
                request
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[])
              WITH ORDINALITY AS u(lead_id, sink, event_id, event_type, body, created_at,
                                   request, n)
         ORDER BY n
         ON CONFLICT (sink, event_id) DO NOTHING",
    )
    .bind(column(rows, |r| r.lead_id.as_str()))
    .bind(column(rows, |r| r.sink.as_str()))
    .bind(column(rows, |r| r.event_id.as_str()))
    .bind(column(rows, |r| r.event_type.as_str()))
    .bind(column(rows, |r| r.body.as_str()))
    .bind(column(rows, |r| ts(r.created_at)))
    .bind(column(rows, |r| {
        (r.plan.as_ref()).map(|p| serde_json::to_string(p).unwrap_or_default())
    }))
    .execute(db)
    .await?;
    Ok(())
}

async fn insert_audit(db: &mut PgConnection, rows: &[[String; 4]]) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit (lead_id, at, kind, detail)
         SELECT lead_id, at, kind, detail
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
              WITH ORDINALITY AS u(lead_id, at, kind, detail, n)
         ORDER BY n",
    )
    .bind(column(rows, |r| r[0].as_str()))
    .bind(column(rows, |r| r[1].as_str()))
    .bind(column(rows, |r| r[2].as_str()))
    .bind(column(rows, |r| r[3].as_str()))
    .execute(db)
    .await?;
    Ok(())
}

/// Finishes the items that are still pending. A second processor (a replica whose lease ran
/// out mid-batch) waits on the rows' locks, finds some finished and rolls its batch back.
async fn finish(db: &mut PgConnection, items: &[FinishedInbound]) -> StoreResult<()> {
    let done: Vec<String> = sqlx::query_scalar(
        "UPDATE inbound SET status = u.status, reason = u.reason, detail = u.detail,
                            lead_id = u.lead_id, processed_at = u.at
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
              AS u(id, status, reason, detail, lead_id, at)
         WHERE inbound.id = u.id AND inbound.status = 'pending'
         RETURNING inbound.id",
    )
    .bind(column(items, |d| d.inbound_id.as_str()))
    .bind(column(items, |d| d.status.to_string()))
    .bind(column(items, |d| d.reason.as_deref()))
    .bind(column(items, |d| d.detail.as_deref()))
    .bind(column(items, |d| d.lead_id.as_deref()))
    .bind(column(items, |d| ts(d.at)))
    .fetch_all(db)
    .await?;
    if done.len() < items.len() {
        let done: std::collections::HashSet<String> = done.into_iter().collect();
        let first = (items.iter()).find(|d| !done.contains(&d.inbound_id));
        let id = first.map_or_else(String::new, |d| d.inbound_id.clone());
        return Err(StoreError::AlreadyProcessed(id));
    }
    Ok(())
}
