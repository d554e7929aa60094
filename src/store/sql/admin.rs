//! The admin API's statements and rows as both backends have them.

use super::inbound::inbound_row;
use super::{Read, Statement};
use crate::store::values::parse_json;
use crate::store::{
    AssignmentSummary, AuditEntry, InboundSummary, LeadSummary, QueueStats, StoreResult,
};
use base64::Engine;
use serde_json::{Value, json};

/// An item of the admin list read back.
pub(crate) fn inbound_summary(r: &impl Read) -> StoreResult<InboundSummary> {
    Ok(InboundSummary {
        id: r.text("id")?,
        source: r.text("source")?,
        channel: r.text("channel")?,
        dedupe_key: r.text("dedupe_key")?,
        received_at: r.time("inbound.received_at", "received_at")?,
        status: r.text("status")?,
        reason: r.opt_text("reason")?,
        detail: r.opt_text("detail")?,
        lead_id: r.opt_text("lead_id")?,
    })
}

/// A lead of the admin list read back.
pub(crate) fn lead_summary(r: &impl Read) -> StoreResult<LeadSummary> {
    Ok(LeadSummary {
        id: r.text("id")?,
        source: r.text("source")?,
        channel: r.text("channel")?,
        received_at: r.time("leads.received_at", "received_at")?,
        status: r.text("status")?,
        level: r.opt_text("level")?,
        rule: r.opt_text("rule")?,
        manager_id: r.opt_text("manager_id")?,
    })
}

/// An assignment of a lead's journey read back.
pub(crate) fn assignment_summary(r: &impl Read) -> StoreResult<AssignmentSummary> {
    Ok(AssignmentSummary {
        manager_id: r.text("manager_id")?,
        level: r.text("level")?,
        strategy: r.text("strategy")?,
        attempt: r.int("attempt")? as u32,
        assigned_at: r.time("assignments.assigned_at", "assigned_at")?,
        ack_due_at: r.opt_time("assignments.ack_due_at", "ack_due_at")?,
        state: r.text("state")?,
    })
}

/// An audit entry of a lead's journey read back.
pub(crate) fn audit_entry(r: &impl Read) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        at: r.time("audit.at", "at")?,
        kind: r.text("kind")?,
        detail: parse_json("audit.detail", &r.text("detail")?)?,
    })
}

/// A stored payload as the journey and `leadgate export` show it: `{"text"}` when it is
/// UTF-8, else `{"bytes", "base64"}` (a mail in KOI8-R or windows-1251 sent 8-bit, a form's
/// files), so a person's export holds what they sent, not only its size.
pub(crate) fn payload_json(payload: Vec<u8>) -> Value {
    match String::from_utf8(payload) {
        Ok(text) => json!({"text": text}),
        Err(e) => {
            let bytes = e.into_bytes();
            let base64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            json!({"bytes": bytes.len(), "base64": base64})
        }
    }
}

/// An item of a lead's journey read back ([`JOURNEY_INBOUND`]'s row).
pub(crate) fn journey_item(r: &impl Read) -> StoreResult<Value> {
    let row = inbound_row(r)?;
    Ok(json!({
        "id": row.id, "source": row.source, "channel": row.channel,
        "dedupe_key": row.dedupe_key, "received_at": row.received_at,
        "content_type": row.content_type, "meta": row.meta,
        "status": r.text("status")?, "payload": payload_json(row.payload),
    }))
}

/// The items that made or joined a lead, oldest first, as [`journey_item`] reads them: lead id.
pub(crate) static JOURNEY_INBOUND: Statement = Statement::new(
    "SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta, status
     FROM inbound WHERE lead_id = ?1 ORDER BY received_at, id",
);

/// The queue counts read back.
pub(crate) fn queue_counts(r: &impl Read) -> StoreResult<QueueStats> {
    Ok(QueueStats {
        inbound_pending: r.count("inbound_pending")?,
        outbox_pending: r.count("outbox_pending")?,
        outbox_dead: r.count("outbox_dead")?,
        leads_held: r.count("leads_held")?,
    })
}

/// A lead's record, status, rules version and trace: lead id.
pub(crate) static JOURNEY_LEAD: Statement =
    Statement::new("SELECT record, status, rules_version, trace FROM leads WHERE id = ?1");

/// A lead's assignments, oldest first, as [`assignment_summary`] reads them: lead id.
pub(crate) static JOURNEY_ASSIGNMENTS: Statement = Statement::new(
    "SELECT manager_id, level, strategy, attempt, assigned_at, ack_due_at, state
     FROM assignments WHERE lead_id = ?1 ORDER BY id",
);

/// A lead's audit trail, oldest first: lead id.
pub(crate) static JOURNEY_AUDIT: Statement =
    Statement::new("SELECT at, kind, detail FROM audit WHERE lead_id = ?1 ORDER BY id");

/// A rules version's texts: version.
pub(crate) static RULES_TEXTS: Statement =
    Statement::new("SELECT texts FROM rules_texts WHERE version = ?1");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_that_is_not_utf8_is_exported_whole() {
        assert_eq!(payload_json(b"hi".to_vec()), json!({"text": "hi"}));
        // "Привет" in windows-1251, as a mail sent 8-bit carries it.
        let cp1251 = vec![0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2];
        let shown = payload_json(cp1251.clone());
        assert_eq!(shown["bytes"], 6);
        let back = base64::engine::general_purpose::STANDARD
            .decode(shown["base64"].as_str().expect("base64"))
            .expect("decodes");
        assert_eq!(back, cp1251);
    }
}
