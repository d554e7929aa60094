//! The admin API's statements and rows as both backends have them.

use super::{Read, Statement};
use crate::store::values::parse_json;
use crate::store::{
    AssignmentSummary, AuditEntry, InboundSummary, LeadSummary, QueueStats, StoreResult,
};

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
