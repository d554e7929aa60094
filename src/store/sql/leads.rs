//! The processing transaction's lead rows as both backends read them, and the leads of a
//! person that `leadgate forget` and `export` find.

use super::{Read, Statement};
use crate::lead::Lead;
use crate::store::values::parse_json;
use crate::store::{ActiveAssignment, LeadStatus, StoreError, StoreResult, StoredLead};

/// The leads of the person with identity key `?1` (`leadgate forget` and `export`): those
/// that carry it, and those that carry a messenger account (Telegram, VK, WhatsApp) one of
/// them carries. A person who shared a phone in Telegram once and wrote later without it is
/// the same person: the later lead was told apart only by the account. Phones and e-mails do
/// not widen the search: a family's or an office's would reach other people.
pub(crate) static PERSONS_LEADS: Statement = Statement::new(
    "WITH named AS (SELECT lead_id FROM lead_contacts WHERE key = ?1)
    SELECT lead_id FROM named
    UNION
    SELECT other.lead_id FROM lead_contacts account
    JOIN lead_contacts other ON other.key = account.key
    WHERE account.lead_id IN (SELECT lead_id FROM named)
      AND (account.key LIKE 'telegram:%' OR account.key LIKE 'vk:%' OR account.key LIKE 'whatsapp:%')",
);

/// A lead's record as both backends store it: its JSON text.
pub(crate) fn record_text(r: &Lead) -> StoreResult<String> {
    serde_json::to_string(r).map_err(|e| StoreError::Corrupt {
        what: "leads.record",
        detail: e.to_string(),
    })
}

/// A stored lead read back: its record, status, manager, level and last activity.
pub(crate) fn stored_lead(row: &impl Read) -> StoreResult<StoredLead> {
    let record = row.packed_text("leads.record", "record")?;
    let record: Lead = parse_json("leads.record", &record)?;
    let status = row.text("status")?;
    Ok(StoredLead {
        record,
        status: LeadStatus::parse(&status).ok_or_else(|| StoreError::Corrupt {
            what: "leads.status",
            detail: status.clone(),
        })?,
        manager_id: row.opt_text("manager_id")?,
        level: row.opt_text("level")?,
        last_activity_at: row.time("leads.last_activity_at", "last_activity_at")?,
    })
}

/// A lead with its current assignment read back (the assignment's manager and level as
/// `a_manager`, `a_level`).
pub(crate) fn active_assignment(row: &impl Read) -> StoreResult<ActiveAssignment> {
    Ok(ActiveAssignment {
        lead: stored_lead(row)?,
        manager_id: row.text("a_manager")?,
        level: row.text("a_level")?,
        strategy: row.text("strategy")?,
        attempt: row.int("attempt")? as u32,
        assigned_at: row.time("assignments.assigned_at", "assigned_at")?,
        ack_due_at: row.opt_time("assignments.ack_due_at", "ack_due_at")?,
    })
}
