//! Rows a transaction writes and never reads back (audit entries, outbox rows, notifications,
//! finished inbound items), kept in memory and written at commit, in bulk: inserts a few
//! dozen rows a statement ([`super::bulk`]), the outcomes with one statement. A processing
//! batch of hundreds of items then costs a few statements more, not a few per item; the rows
//! are still committed in the same transaction, in the order they were added.

use crate::store::packed::pack;
use crate::store::sql::inbound::FinishedItems;
use crate::store::sqlite::bulk::{Cell, Rows};
use crate::store::sqlite::{notifications, ts};
use crate::store::{FinishedInbound, NewNotification, NewOutbox, StoreError, StoreResult};
use serde_json::{Value, json};
use sqlx::SqliteConnection;

/// The rows waiting for the commit.
#[derive(Debug)]
pub(super) struct Deferred {
    audit: Rows,
    outbox: Rows,
    notifications: Rows,
    finished: FinishedItems,
}

impl Default for Deferred {
    fn default() -> Deferred {
        Deferred {
            audit: Rows::new(
                "INSERT INTO audit (lead_id, at, kind, detail)",
                "(?, ?, ?, ?)",
                "",
            ),
            // Queued now: its retry horizon starts now, and it is due now, or when the last
            // row its lead has pending for the sink is due if that is later (it cannot go
            // before that row anyway; see `outbox.rs`, "due no earlier than").
            outbox: Rows::new(
                "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at, retry_since, next_attempt_at, request)",
                "(?, ?, ?, ?, ?, ?, ?, MAX(?, COALESCE((SELECT e.next_attempt_at FROM outbox e
                    WHERE e.sink = ? AND e.lead_id = ? AND e.status = 'pending'
                    ORDER BY e.id DESC LIMIT 1), '')), ?)",
                " ON CONFLICT (sink, event_id) DO NOTHING",
            ),
            notifications: notifications::rows(),
            finished: FinishedItems::default(),
        }
    }
}

impl Deferred {
    /// An audit entry.
    pub(super) fn audit(&mut self, lead_id: &str, at: &str, kind: &str, detail: &Value) {
        self.audit.push([
            Cell::from(lead_id),
            Cell::from(at),
            Cell::from(kind),
            Cell::from(detail.to_string()),
        ]);
    }

    /// An outbox row (the preset's plan goes in the `request` column); one whose event is
    /// queued for the sink already is left out.
    pub(super) fn outbox(&mut self, row: &NewOutbox) {
        let request = row
            .plan
            .as_ref()
            .map(|r| serde_json::to_string(r).unwrap_or_default());
        let created = ts(row.created_at);
        self.outbox.push([
            Cell::from(row.lead_id.clone()),
            Cell::from(row.sink.clone()),
            Cell::from(row.event_id.clone()),
            Cell::from(row.event_type.clone()),
            Cell::Blob(pack(&row.body)),
            Cell::from(created.clone()),
            Cell::from(created.clone()),
            Cell::from(created),
            Cell::from(row.sink.clone()),
            Cell::from(row.lead_id.clone()),
            Cell::from(request),
        ]);
    }

    /// A notification; one whose dedupe key is queued already (before, or earlier in the
    /// transaction) is left out at the commit.
    pub(super) fn notification(&mut self, row: &NewNotification) {
        notifications::push(&mut self.notifications, row);
    }

    /// A finished item; finishing the same item again in the transaction replaces the
    /// earlier outcome.
    pub(super) fn finished(&mut self, d: &FinishedInbound) {
        self.finished.keep(d);
    }

    /// Writes every waiting row.
    pub(super) async fn flush(mut self, db: &mut SqliteConnection) -> StoreResult<()> {
        self.audit.insert(db).await?;
        self.outbox.insert(db).await?;
        self.notifications.insert(db).await?;
        let finished = self.finished.items();
        if !finished.is_empty() {
            // `[id, status, reason, detail, lead_id, processed_at]` each.
            let rows: Vec<Value> = (finished.iter())
                .map(|d| {
                    json!([
                        d.inbound_id,
                        d.status,
                        d.reason,
                        d.detail,
                        d.lead_id,
                        ts(d.at)
                    ])
                })
                .collect();
            // Only items still pending: one another transaction finished first fails the batch,
            // as on PostgreSQL, where replicas could race for it.
            let ids: Vec<String> = sqlx::query_scalar(FINISH_ITEMS)
                .bind(serde_json::to_string(&rows).unwrap_or_default())
                .fetch_all(&mut *db)
                .await?;
            if ids.len() < finished.len() {
                let first = (finished.iter())
                    .map(|d| d.inbound_id.as_str())
                    .find(|id| !ids.iter().any(|done| done == id));
                let id = first.unwrap_or_default().to_string();
                return Err(StoreError::AlreadyProcessed(id));
            }
        }
        Ok(())
    }
}

/// Finishes items (a JSON array of `[id, status, reason, detail, lead_id, processed_at]`)
/// that are still pending; returns the ids finished. The list is the outer loop and each item
/// is found by its id: with `inbound.status = 'pending'` left indexable, SQLite walked every
/// pending item and read the whole list again for each, so a backlog of 10,000 mails cost a
/// batch 10,000 passes over its 500 items. The `+` keeps the check but not the index.
const FINISH_ITEMS: &str =
    "UPDATE inbound SET status = j.value->>1, reason = j.value->>2, detail = j.value->>3,
            lead_id = j.value->>4, processed_at = j.value->>5
     FROM json_each(?1) AS j WHERE inbound.id = j.value->>0 AND +inbound.status = 'pending'
     RETURNING inbound.id";

#[cfg(test)]
mod tests {
    use super::FINISH_ITEMS;
    use crate::store::sqlite::tests::{new_store, plan_of};

    #[tokio::test]
    async fn finishing_items_looks_each_up_by_id_whatever_is_pending() {
        let (_dir, store) = new_store().await;
        let first = r#"[["i1", "lead", null, null, "i1", "t"]]"#;
        let steps = plan_of(&store, FINISH_ITEMS, Some(first)).await;
        assert!(steps[0].starts_with("SCAN j"), "{steps:?}");
        assert!(
            steps[1].starts_with("SEARCH inbound USING INDEX sqlite_autoindex_inbound_1 (id=?)"),
            "{steps:?}"
        );
    }
}
