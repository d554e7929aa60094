//! Re-sending a lead whose stored event is gone (the console's "re-send"): retention empties
//! the body of a delivered event after `[retention] delivered`, so copying it would send
//! nothing. The lead's newest event for the sink is made again from its record as it stands,
//! signed and shaped as any new event, and noted in its audit trail.

use super::{ActionError, Actions};
use crate::deliver::outbox_rows;
use crate::lead::EventType;
use serde_json::json;

impl Actions {
    /// Queues the newest event `sink` had for `lead_id` again, made from the lead's record;
    /// `false` when the lead never had an event there (or the sink no longer takes it).
    pub async fn resend_from_record(&self, lead_id: &str, sink: &str) -> Result<bool, ActionError> {
        let journey = (self.store.lead_journey(lead_id).await?).ok_or(ActionError::NotFound)?;
        let newest = (journey.deliveries.iter().rev())
            .find(|d| d.sink == sink)
            .and_then(|d| EventType::parse(&d.event_type));
        let (Some(event), Some(route)) = (newest, self.sinks.iter().find(|s| s.id == sink)) else {
            return Ok(false);
        };
        let rules = self.rules.current();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        let stored = tx.lead(lead_id).await?.ok_or(ActionError::NotFound)?;
        let clock = self.clock.as_ref();
        let rows = outbox_rows(
            std::slice::from_ref(route),
            &rules,
            clock,
            event,
            &stored.record,
            now,
        );
        let Some(row) = rows.first() else {
            return Ok(false);
        };
        let detail =
            json!({"sink": sink, "event_id": row.event_id, "by": "console", "made_again": true});
        tx.insert_outbox(&rows).await?;
        tx.audit(lead_id, now, "resent", &detail).await?;
        tx.commit().await?;
        for w in &self.sink_wakers {
            w.notify_one();
        }
        Ok(true)
    }
}
