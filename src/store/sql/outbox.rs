//! The outbox's statements and rows as both backends have them.

use super::{Read, Statement};
use crate::store::values::parse_json;
use crate::store::{AttemptSummary, OutboxRow, OutboxSummary, PresetPlan, StoreResult};

/// A claimed outbox row read back.
pub(crate) fn outbox_row(r: &impl Read) -> StoreResult<OutboxRow> {
    Ok(OutboxRow {
        id: r.int("id")?,
        lead_id: r.text("lead_id")?,
        sink: r.text("sink")?,
        event_id: r.text("event_id")?,
        event_type: r.text("event_type")?,
        body: r.packed_text("outbox.body", "body")?,
        // An unreadable plan (a row queued by an older leadgate) dead-letters with the reason
        // instead of stopping the sink's queue.
        plan: r.opt_text("request")?.map(|text| {
            serde_json::from_str(&text).unwrap_or_else(|e| {
                PresetPlan::Error(format!("unreadable outbox.request {text:?}: {e}"))
            })
        }),
        step: r.int("step")? as u32,
        attempts: r.int("attempts")? as u32,
        retry_since: r.time("outbox.retry_since", "retry_since")?,
        lease_until: r.time("outbox.lease_until", "lease_until")?,
    })
}

/// The columns [`outbox_summary`] reads.
pub(crate) const OUTBOX_COLUMNS: &str =
    "id, lead_id, sink, event_id, event_type, status, attempts, next_attempt_at, last_error";

/// An outbox row as the admin lists show it, with its attempts (`history`).
pub(crate) fn outbox_summary(
    r: &impl Read,
    history: Vec<AttemptSummary>,
) -> StoreResult<OutboxSummary> {
    Ok(OutboxSummary {
        id: r.int("id")?,
        lead_id: r.text("lead_id")?,
        sink: r.text("sink")?,
        event_id: r.text("event_id")?,
        event_type: r.text("event_type")?,
        status: r.text("status")?,
        attempts: r.int("attempts")? as u32,
        next_attempt_at: r.time("outbox.next_attempt_at", "next_attempt_at")?,
        last_error: r.opt_text("last_error")?,
        history,
    })
}

/// Every attempt of one outbox row (its id), oldest first.
pub(crate) static ATTEMPTS: Statement = Statement::new(
    "SELECT attempt, at, outcome, status_code, error, duration_ms FROM delivery_attempts
     WHERE outbox_id = ?1 ORDER BY attempt",
);

/// An attempt read back.
pub(crate) fn attempt_summary(r: &impl Read) -> StoreResult<AttemptSummary> {
    Ok(AttemptSummary {
        attempt: r.int("attempt")? as u32,
        at: r.time("delivery_attempts.at", "at")?,
        outcome: r.text("outcome")?,
        status_code: r.opt_int("status_code")?.map(|c| c as u16),
        error: r.opt_text("error")?,
        duration_ms: r.count("duration_ms")?,
    })
}

/// The values captured from a CRM for a lead: sink, lead.
pub(crate) static CRM_REFS: Statement =
    Statement::new("SELECT name, value FROM crm_refs WHERE sink = ?1 AND lead_id = ?2");

/// A captured value read back: its name and the JSON value.
pub(crate) fn crm_ref(r: &impl Read) -> StoreResult<(String, serde_json::Value)> {
    Ok((
        r.text("name")?,
        parse_json("crm_refs.value", &r.text("value")?)?,
    ))
}

/// Keeps a captured value: sink, lead, name, value, time.
pub(crate) static SET_CRM_REF: Statement = Statement::new(
    "INSERT INTO crm_refs (sink, lead_id, name, value, captured_at) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (sink, lead_id, name) DO UPDATE SET value = excluded.value,
         captured_at = excluded.captured_at",
);

/// Whether a `lead.created` or `lead.reassigned` of lead `?2` is pending for sink `?1`: the
/// lead's order of rows per sink is indexed (`outbox_lead_order`).
pub(crate) static OWNER_PENDING: Statement = Statement::new(
    "SELECT EXISTS (SELECT 1 FROM outbox WHERE sink = ?1 AND lead_id = ?2 AND status = 'pending'
                      AND event_type IN ('lead.created', 'lead.reassigned'))",
);

/// Notes how many of a preset's steps are done: outbox id, steps, the claim's lease. Only
/// while the row is under that lease: a worker whose lease ran out does not move another
/// claim's progress.
pub(crate) static SET_STEP: Statement =
    Statement::new("UPDATE outbox SET step = ?2 WHERE id = ?1 AND lease_until = ?3");
