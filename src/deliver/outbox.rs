//! Turning a lead's change into outbox rows: one per sink that takes the event, each with the
//! manager's CRM user id for that sink and a `webhook-id` of its own. The row keeps the
//! envelope as it is now; a sink with a CRM preset also gets the preset's choice of request,
//! whose calls are rendered from that envelope when they are sent.

use crate::clock::Clock;
use crate::connectors::Preset;
use crate::lead::Lead;
use crate::lead::{Envelope, EventType};
use crate::routing::{CompiledRules, Manager};
use crate::store::{EncodedLead, NewOutbox, PresetPlan};
use chrono::{DateTime, Utc};
use std::borrow::Cow;
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

/// The outbox rows for `event` on `lead`, with the envelope made now so every retry sends
/// (or renders from) the same lead. A preset that does not send this event queues nothing for
/// its sink; a preset that cannot choose on this lead queues an error plan, which
/// dead-letters visibly.
pub fn outbox_rows(
    sinks: &[SinkRoute],
    rules: &CompiledRules,
    clock: &dyn Clock,
    event: EventType,
    lead: &Lead,
    at: DateTime<Utc>,
) -> Vec<NewOutbox> {
    let event = Event {
        kind: event,
        lead,
        encoded: None,
        update: None,
    };
    rows(sinks, rules, clock, &event, at)
}

/// An event to queue: its type, the lead (and its JSON text when already encoded), and what a
/// follow-up added.
struct Event<'a> {
    kind: EventType,
    lead: &'a Lead,
    encoded: Option<&'a str>,
    update: Option<&'a serde_json::Value>,
}

impl<'a> Event<'a> {
    /// An event on a lead already encoded: its text is the envelope's `data`.
    fn encoded(
        kind: EventType,
        lead: &'a EncodedLead,
        update: Option<&'a serde_json::Value>,
    ) -> Event<'a> {
        Event {
            kind,
            lead: lead.record(),
            encoded: Some(lead.json()),
            update,
        }
    }
}

/// The outbox rows for `lead.created` on a new lead, encoded once: its record's text is the
/// envelope's `data` wherever the sink takes it as it is.
pub fn created_rows(
    sinks: &[SinkRoute],
    rules: &CompiledRules,
    clock: &dyn Clock,
    lead: &EncodedLead,
    at: DateTime<Utc>,
) -> Vec<NewOutbox> {
    let event = Event::encoded(EventType::Created, lead, None);
    rows(sinks, rules, clock, &event, at)
}

/// The outbox rows for `lead.updated`: the envelope also carries `update`, what this
/// follow-up added (`{"text", "edit", "phones", "emails", "fields"}`), since `lead.text`
/// holds every message so far and a CRM note wants only the new words. The lead comes
/// encoded: its record's text is the envelope's `data` wherever the sink takes it as it is.
pub fn update_rows(
    sinks: &[SinkRoute],
    rules: &CompiledRules,
    clock: &dyn Clock,
    lead: &EncodedLead,
    update: &serde_json::Value,
    at: DateTime<Utc>,
) -> Vec<NewOutbox> {
    let event = Event::encoded(EventType::Updated, lead, Some(update));
    rows(sinks, rules, clock, &event, at)
}

/// The manager's user id in `sink`'s CRM: keyed by the sink's id, or by its preset's name
/// (`crm_user_id = { amocrm = "..." }` for a sink `amo` with `preset = "amocrm"`).
pub fn crm_user_id<'a>(m: &'a Manager, sink: &str, preset: Option<&str>) -> Option<&'a String> {
    m.crm_user_id
        .get(sink)
        .or_else(|| preset.and_then(|p| m.crm_user_id.get(p)))
}

fn rows(
    sinks: &[SinkRoute],
    rules: &CompiledRules,
    clock: &dyn Clock,
    e: &Event<'_>,
    at: DateTime<Utc>,
) -> Vec<NewOutbox> {
    let (event, lead) = (e.kind, e.lead);
    sinks
        .iter()
        .filter(|s| s.events.contains(&event))
        .filter_map(|sink| {
            let preset = sink.preset.as_ref().map(|p| p.name.as_str());
            let for_sink = with_crm_user_id(lead, rules, &sink.id, preset);
            let envelope = Envelope::new(event, at, &for_sink, e.update);
            let (body, plan) = match (&sink.preset, &for_sink, e.encoded) {
                // The lead as it was encoded: its text is the `data`.
                (None, Cow::Borrowed(_), Some(json)) => (envelope.text_with_data(json), None),
                (None, _, _) => (envelope.text(), None),
                (Some(preset), _, _) => {
                    let body = envelope.value();
                    let plan = match preset.choose(event, &body) {
                        Ok(Some(request)) => PresetPlan::Request(request),
                        Ok(None) => return None,
                        Err(e) => {
                            tracing::error!(sink = %sink.id, lead = %lead.id, error = %e, "A preset could not choose a request for this lead; the delivery dead-letters.");
                            PresetPlan::Error(e.to_string())
                        }
                    };
                    // Serialised straight to bytes: `Display` goes through the formatter,
                    // which costs more than this whole function otherwise does.
                    (serde_json::to_string(&body).unwrap_or_default(), Some(plan))
                }
            };
            Some(NewOutbox {
                lead_id: lead.id.clone(),
                sink: sink.id.clone(),
                event_id: format!("msg_{}", clock.new_id().simple()),
                event_type: event.as_str().to_string(),
                body,
                plan,
                created_at: at,
            })
        })
        .collect()
}

/// The lead as `sink` gets it: the assigned manager's user id in that sink's CRM. Copied only
/// when that id differs from the one the lead holds.
fn with_crm_user_id<'a>(
    lead: &'a Lead,
    rules: &CompiledRules,
    sink: &str,
    preset: Option<&str>,
) -> Cow<'a, Lead> {
    let Some(a) = lead.assignment.as_ref() else {
        return Cow::Borrowed(lead);
    };
    let id = rules
        .manager(&a.manager.id)
        .and_then(|m| crm_user_id(m, sink, preset));
    if id == a.manager.crm_user_id.as_ref() {
        return Cow::Borrowed(lead);
    }
    let mut for_sink = lead.clone();
    if let Some(a) = for_sink.assignment.as_mut() {
        a.manager.crm_user_id = id.cloned();
    }
    Cow::Owned(for_sink)
}
