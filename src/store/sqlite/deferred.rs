//! Rows a transaction writes and never reads back (audit entries, outbox rows, finished inbound
//! items), kept in memory and written at commit with one statement per table. A processing
//! batch of hundreds of items then costs a few statements more, not a few per item; the rows
//! are still committed in the same transaction, in the order they were added.

use super::ts;
use crate::store::{FinishedInbound, NewOutbox, StoreResult};
use serde_json::{Value, json};
use sqlx::{Sqlite, Transaction};

/// The rows waiting for the commit.
#[derive(Debug, Default)]
pub(super) struct Deferred {
    audit: Vec<Value>,
    outbox: Vec<Value>,
    finished: Vec<Value>,
}

impl Deferred {
    /// An audit entry: `[lead_id, at, kind, detail]`.
    pub(super) fn audit(&mut self, lead_id: &str, at: &str, kind: &str, detail: &Value) {
        self.audit
            .push(json!([lead_id, at, kind, detail.to_string()]));
    }

    /// An outbox row: `[lead_id, sink, event_id, event_type, body, created_at, request]` (the
    /// preset's plan goes in the `request` column).
    pub(super) fn outbox(&mut self, row: &NewOutbox) {
        let request = row
            .plan
            .as_ref()
            .map(|r| serde_json::to_string(r).unwrap_or_default());
        self.outbox.push(json!([
            row.lead_id,
            row.sink,
            row.event_id,
            row.event_type,
            row.body,
            ts(row.created_at),
            request
        ]));
    }

    /// A finished item: `[id, status, reason, detail, lead_id, processed_at]`; finishing the
    /// same item again in the transaction replaces the earlier outcome.
    pub(super) fn finished(&mut self, d: &FinishedInbound) {
        self.finished
            .retain(|f| f[0].as_str() != Some(d.inbound_id.as_str()));
        self.finished.push(json!([
            d.inbound_id,
            d.status,
            d.reason,
            d.detail,
            d.lead_id,
            ts(d.at)
        ]));
    }

    /// Writes every waiting row into `tx`.
    pub(super) async fn flush(self, tx: &mut Transaction<'static, Sqlite>) -> StoreResult<()> {
        if !self.audit.is_empty() {
            sqlx::query(
                "INSERT INTO audit (lead_id, at, kind, detail)
                 SELECT value->>0, value->>1, value->>2, value->>3
                 FROM json_each(?1) ORDER BY key",
            )
            .bind(Value::Array(self.audit).to_string())
            .execute(&mut **tx)
            .await?;
        }
        if !self.outbox.is_empty() {
            sqlx::query(
                "INSERT INTO outbox (lead_id, sink, event_id, event_type, body, created_at, retry_since, next_attempt_at, request)
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>5, value->>5, value->>6
                 FROM json_each(?1) WHERE true ORDER BY key
                 ON CONFLICT (sink, event_id) DO NOTHING",
            )
            .bind(Value::Array(self.outbox).to_string())
            .execute(&mut **tx)
            .await?;
        }
        if !self.finished.is_empty() {
            sqlx::query(
                "UPDATE inbound SET status = j.value->>1, reason = j.value->>2, detail = j.value->>3,
                        lead_id = j.value->>4, processed_at = j.value->>5
                 FROM json_each(?1) AS j WHERE inbound.id = j.value->>0",
            )
            .bind(Value::Array(self.finished).to_string())
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_item_finished_twice_keeps_its_last_outcome() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 15, 2)
            .single()
            .expect("date");
        let mut d = Deferred::default();
        d.finished(&FinishedInbound::not_lead("a", "spam", "first".into(), at));
        d.finished(&FinishedInbound::not_lead("b", "spam", "other".into(), at));
        d.finished(&FinishedInbound::lead("a", "lead-a", None, at));
        let outcomes: Vec<(&str, &str)> = d
            .finished
            .iter()
            .filter_map(|f| Some((f[0].as_str()?, f[1].as_str()?)))
            .collect();
        assert_eq!(outcomes, [("b", "not_lead"), ("a", "lead")]);
    }
}
