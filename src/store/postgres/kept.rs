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
    let column = |f: fn(&NewOutbox) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    // Queued now: due now, and its retry horizon starts now.
    sqlx::query(
        "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at, retry_since,
                             next_attempt_at, request)
         SELECT lead_id, sink, event_id, event_type, body, created_at, created_at, created_at,
                request
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[])
              WITH ORDINALITY AS u(lead_id, sink, event_id, event_type, body, created_at,
                                   request, n)
         ORDER BY n
         ON CONFLICT (sink, event_id) DO NOTHING",
    )
    .bind(column(|r| Some(r.lead_id.clone())))
    .bind(column(|r| Some(r.sink.clone())))
    .bind(column(|r| Some(r.event_id.clone())))
    .bind(column(|r| Some(r.event_type.clone())))
    .bind(column(|r| Some(r.body.clone())))
    .bind(column(|r| Some(ts(r.created_at))))
    .bind(column(|r| {
        (r.plan.as_ref()).map(|p| serde_json::to_string(p).unwrap_or_default())
    }))
    .execute(db)
    .await?;
    Ok(())
}

async fn insert_audit(db: &mut PgConnection, rows: &[[String; 4]]) -> StoreResult<()> {
    let column = |i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
    sqlx::query(
        "INSERT INTO audit (lead_id, at, kind, detail)
         SELECT lead_id, at, kind, detail
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
              WITH ORDINALITY AS u(lead_id, at, kind, detail, n)
         ORDER BY n",
    )
    .bind(column(0))
    .bind(column(1))
    .bind(column(2))
    .bind(column(3))
    .execute(db)
    .await?;
    Ok(())
}

/// Finishes the items that are still pending. A second processor (a replica whose lease ran
/// out mid-batch) waits on the rows' locks, finds some finished and rolls its batch back.
async fn finish(db: &mut PgConnection, items: &[FinishedInbound]) -> StoreResult<()> {
    let column =
        |f: fn(&FinishedInbound) -> Option<String>| items.iter().map(f).collect::<Vec<_>>();
    let done: Vec<String> = sqlx::query_scalar(
        "UPDATE inbound SET status = u.status, reason = u.reason, detail = u.detail,
                            lead_id = u.lead_id, processed_at = u.at
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
              AS u(id, status, reason, detail, lead_id, at)
         WHERE inbound.id = u.id AND inbound.status = 'pending'
         RETURNING inbound.id",
    )
    .bind(column(|d| Some(d.inbound_id.clone())))
    .bind(column(|d| Some(d.status.to_string())))
    .bind(column(|d| d.reason.clone()))
    .bind(column(|d| d.detail.clone()))
    .bind(column(|d| d.lead_id.clone()))
    .bind(column(|d| Some(ts(d.at))))
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
