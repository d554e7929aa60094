//! The events sinks receive and their Standard Webhooks envelope.

use crate::lead::Lead;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

/// What happened to a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A new lead, classified and (unless held) assigned.
    Created,
    /// The same lead got more: a follow-up message, an edit.
    Updated,
    /// The lead has a new manager (SLA pass, decline, escalation, a held lead assigned).
    Reassigned,
    /// The manager took the lead.
    Acknowledged,
}

impl EventType {
    /// Every event type, the default set a sink receives.
    pub const ALL: [EventType; 4] = [
        EventType::Created,
        EventType::Updated,
        EventType::Reassigned,
        EventType::Acknowledged,
    ];

    /// The `type` field of the envelope.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "lead.created",
            EventType::Updated => "lead.updated",
            EventType::Reassigned => "lead.reassigned",
            EventType::Acknowledged => "lead.acknowledged",
        }
    }

    /// Reads the `type` name.
    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// The envelope: `{"type", "timestamp", "data"}`, made once when the event is queued and
/// kept with it, so every retry sends the same bytes (and a preset renders from the same
/// lead).
pub fn envelope(event: EventType, at: DateTime<Utc>, lead: &Lead) -> serde_json::Value {
    json!({
        "type": event.as_str(),
        "timestamp": at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "data": lead,
    })
}
