//! Turning a lead's change into outbox rows: one per sink that takes the event, each with the
//! manager's CRM user id for that sink and a `webhook-id` of its own.

use crate::clock::Clock;
use crate::deliver::{EventType, envelope};
use crate::lead::Lead;
use crate::routing::CompiledRules;
use crate::store::NewOutbox;
use chrono::{DateTime, Utc};

/// A sink as the processing stage sees it: which events it takes.
#[derive(Debug, Clone)]
pub struct SinkRoute {
    /// The sink id.
    pub id: String,
    /// The events it receives.
    pub events: Vec<EventType>,
}

/// The outbox rows for `event` on `lead`, rendered now so every retry sends the same bytes.
pub fn outbox_rows(
    sinks: &[SinkRoute],
    rules: &CompiledRules,
    clock: &dyn Clock,
    event: EventType,
    lead: &Lead,
    at: DateTime<Utc>,
) -> Vec<NewOutbox> {
    sinks
        .iter()
        .filter(|s| s.events.contains(&event))
        .map(|sink| {
            let mut for_sink = lead.clone();
            if let Some(a) = for_sink.assignment.as_mut() {
                a.manager.crm_user_id = rules
                    .manager(&a.manager.id)
                    .and_then(|m| m.crm_user_id.get(&sink.id).cloned());
            }
            NewOutbox {
                lead_id: lead.id.clone(),
                sink: sink.id.clone(),
                event_id: format!("msg_{}", clock.new_id().simple()),
                event_type: event.as_str().to_string(),
                body: envelope(event, at, &for_sink),
                created_at: at,
            }
        })
        .collect()
}
