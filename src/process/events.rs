//! Turning a lead's change into outbox rows: one per sink that takes the event, each with the
//! manager's CRM user id for that sink and a `webhook-id` of its own. A sink with a CRM preset
//! gets the preset's request, rendered here once so every retry sends the same request.

use crate::clock::Clock;
use crate::connectors::Preset;
use crate::deliver::{EventType, envelope};
use crate::lead::Lead;
use crate::routing::CompiledRules;
use crate::store::{NewOutbox, PresetRequest};
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A sink as the processing stage sees it: which events it takes, in which shape.
#[derive(Debug, Clone)]
pub struct SinkRoute {
    /// The sink id.
    pub id: String,
    /// The events it receives.
    pub events: Vec<EventType>,
    /// The CRM preset shaping its requests; `None` for the Standard Webhooks envelope.
    pub preset: Option<Arc<Preset>>,
}

/// The outbox rows for `event` on `lead`, rendered now so every retry sends the same bytes.
/// A preset that does not send this event queues nothing for its sink; a preset that fails to
/// render on this lead queues the envelope with an error request, which dead-letters visibly
/// (replayable once the preset is fixed).
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
        .filter_map(|sink| {
            let mut for_sink = lead.clone();
            if let Some(a) = for_sink.assignment.as_mut() {
                a.manager.crm_user_id = rules
                    .manager(&a.manager.id)
                    .and_then(|m| m.crm_user_id.get(&sink.id).cloned());
            }
            let (body, request) = match &sink.preset {
                None => (envelope(event, at, &for_sink), None),
                Some(preset) => match preset.render(event, at, &for_sink) {
                    Ok(Some(r)) => (r.body, Some(r.request)),
                    Ok(None) => return None,
                    Err(e) => {
                        tracing::error!(sink = %sink.id, lead = %lead.id, error = %e, "A preset could not render this lead; the delivery dead-letters.");
                        let request = PresetRequest {
                            method: "POST".into(),
                            path: String::new(),
                            headers: Vec::new(),
                            error: Some(e.to_string()),
                        };
                        (envelope(event, at, &for_sink), Some(request))
                    }
                },
            };
            Some(NewOutbox {
                lead_id: lead.id.clone(),
                sink: sink.id.clone(),
                event_id: format!("msg_{}", clock.new_id().simple()),
                event_type: event.as_str().to_string(),
                body,
                request,
                created_at: at,
            })
        })
        .collect()
}
