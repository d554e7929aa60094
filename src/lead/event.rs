//! The events sinks receive and their Standard Webhooks envelope.

use crate::lead::Lead;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

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

/// The envelope: `{"type", "timestamp", "data"}`, and `update` for `lead.updated` (what the
/// follow-up added). Made once when the event is queued and kept with it, so every retry
/// sends the same bytes (and a preset renders from the same lead). It borrows the lead: the
/// text is written straight from it, with no `serde_json::Value` copy of a record that
/// carries every message of its conversation.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    #[serde(rename = "type")]
    event: &'static str,
    timestamp: String,
    data: &'a Lead,
    #[serde(skip_serializing_if = "Option::is_none")]
    update: Option<&'a serde_json::Value>,
}

impl<'a> Envelope<'a> {
    /// The envelope of `event` on `lead` at `at`, with what a follow-up added, if any.
    pub fn new(
        event: EventType,
        at: DateTime<Utc>,
        lead: &'a Lead,
        update: Option<&'a serde_json::Value>,
    ) -> Envelope<'a> {
        Envelope {
            event: event.as_str(),
            timestamp: at.to_rfc3339_opts(SecondsFormat::Secs, true),
            data: lead,
            update,
        }
    }

    /// The envelope's JSON text, as the outbox keeps it and the sink receives it.
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The envelope's JSON text with `data` written as `data_json`, the lead's own JSON text
    /// (its stored record, encoded once): the bytes [`Envelope::text`] writes, without
    /// encoding a lead that carries its whole conversation a second time.
    pub fn text_with_data(&self, data_json: &str) -> String {
        let update = self
            .update
            .map(|u| serde_json::to_string(u).unwrap_or_default());
        let mut text =
            String::with_capacity(data_json.len() + 80 + update.as_ref().map_or(0, String::len));
        text.push_str(r#"{"type":""#);
        text.push_str(self.event);
        text.push_str(r#"","timestamp":""#);
        text.push_str(&self.timestamp);
        text.push_str(r#"","data":"#);
        text.push_str(data_json);
        if let Some(update) = update {
            text.push_str(r#","update":"#);
            text.push_str(&update);
        }
        text.push('}');
        text
    }

    /// The envelope as a JSON value, for a preset to choose and render from.
    pub fn value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{Channel, Contact, NormalisedDraft, Thread};
    use chrono::TimeZone;

    #[test]
    fn the_envelope_is_written_in_one_shape_as_text_and_as_a_value() {
        let at = Utc
            .with_ymd_and_hms(2026, 12, 4, 10, 0, 0)
            .single()
            .expect("a time");
        let draft = NormalisedDraft {
            external_id: None,
            contact: Contact {
                emails: vec!["a@example.com".into()],
                ..Contact::default()
            },
            subject: None,
            text: "Сколько стоит?\n\nИ доставка".into(),
            fields: serde_json::Map::new(),
            utm: Default::default(),
            page_url: None,
            referrer: None,
            thread: Thread::default(),
        };
        let lead = Lead::unrouted("L1".into(), at, Channel::Webform, "site".into(), draft);
        let update = serde_json::json!({"text": "И доставка", "edit": false});
        let updated = Envelope::new(EventType::Updated, at, &lead, Some(&update));
        let text = updated.text();
        assert_eq!(serde_json::to_string(&updated.value()).expect("text"), text);
        assert!(
            text.starts_with(
                r#"{"type":"lead.updated","timestamp":"2026-12-04T10:00:00Z","data":{"#
            ),
            "{text}"
        );
        assert!(
            text.ends_with(r#""update":{"text":"И доставка","edit":false}}"#),
            "{text}"
        );
        let data = serde_json::to_string(&lead).expect("a lead encodes");
        assert_eq!(updated.text_with_data(&data), text, "the lead encoded once");
        let created = Envelope::new(EventType::Created, at, &lead, None);
        assert_eq!(created.text_with_data(&data), created.text());
        let created = created.value();
        assert_eq!(created["data"]["text"], "Сколько стоит?\n\nИ доставка");
        assert!(
            created.get("update").is_none(),
            "only an update says what it added"
        );
    }
}
