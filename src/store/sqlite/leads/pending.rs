//! New leads a transaction keeps back: their rows (`leads`, `lead_contacts`, `lead_refs`, and
//! a new lead's first assignment) are written in bulk ([`super::bulk`]), as soon as a
//! statement could see them and at the latest at the commit. A processing batch of hundreds
//! of new leads then writes them with a few statements instead of a few per lead.
//!
//! Follow-ups of leads already written are kept back too: each lead's last record is written
//! once, with the batch's other follow-ups in one statement.
//!
//! What a statement could see is decided before it runs: a lookup by refs, external id or
//! conversation writes the leads back only when one of the kept-back rows could match it;
//! any other read of those tables, and any other write to them, writes them all first. So
//! every statement sees exactly what it would have seen had each row been written at once,
//! and the rows keep the order they were added in.

use crate::store::packed::pack;
use crate::store::sql::sees::KeptLeads;
use crate::store::sqlite::bulk::{Cell, Rows};
use crate::store::sqlite::ts;
use crate::store::{NewAssignment, NewLead, StoreResult};
use sqlx::SqliteConnection;

/// The rows kept back, and what they could match.
#[derive(Debug)]
pub(super) struct Pending {
    leads: Rows,
    contacts: Rows,
    refs: Rows,
    assignments: Rows,
    /// The follow-ups' rows, packed ([`Pending::prepare_follow_ups`]).
    follow_ups: Rows,
    /// What the kept-back rows could match.
    pub(super) kept: KeptLeads,
}

impl Default for Pending {
    fn default() -> Pending {
        Pending {
            leads: Rows::new(
                "INSERT INTO leads (id, inbound_id, source, channel, external_id, conversation_key, received_at,
                                    last_activity_at, status, level, rule, manager_id, rules_version, contact_name,
                                    record, trace)",
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                "",
            ),
            contacts: Rows::new(
                "INSERT OR IGNORE INTO lead_contacts (key, lead_id, at)",
                "(?, ?, ?)",
                "",
            ),
            refs: Rows::new("INSERT OR IGNORE INTO lead_refs (ref, lead_id)", "(?, ?)", ""),
            assignments: Rows::new(
                "INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at, ack_due_at, state)",
                "(?, ?, ?, ?, ?, ?, ?, 'active')",
                "",
            ),
            follow_ups: Rows::new(
                "WITH u (id, record, at, name) AS (",
                "(?, ?, ?, ?)",
                ") UPDATE leads SET record = u.record, last_activity_at = u.at, contact_name = u.name
               FROM u WHERE leads.id = u.id",
            ),
            kept: KeptLeads::default(),
        }
    }
}

impl Pending {
    /// Keeps back a new lead with its identity keys and refs.
    pub(super) fn lead(&mut self, lead: &NewLead) {
        let r = lead.record.record();
        let received = ts(r.received_at);
        self.leads.push([
            Cell::from(r.id.clone()),
            Cell::from(lead.inbound_id.clone()),
            Cell::from(r.source.clone()),
            Cell::from(r.channel.as_str()),
            Cell::from(r.external_id.clone()),
            Cell::from(lead.conversation_key.clone()),
            Cell::from(received.clone()),
            Cell::from(received.clone()),
            Cell::from(lead.status.as_str()),
            Cell::from(r.classification.as_ref().map(|c| c.level.clone())),
            Cell::from(r.classification.as_ref().map(|c| c.rule.clone())),
            Cell::from(r.assignment.as_ref().map(|a| a.manager.id.clone())),
            Cell::from(lead.rules_version.clone()),
            Cell::from(r.contact.name.clone()),
            Cell::Blob(pack(lead.record.json())),
            Cell::Blob(pack(&lead.trace)),
        ]);
        for key in &lead.identity_keys {
            self.contacts.push([
                Cell::from(key.clone()),
                Cell::from(r.id.clone()),
                Cell::from(received.clone()),
            ]);
        }
        self.refs(&r.id, &lead.refs);
        self.kept.lead(lead);
    }

    /// Keeps back identity keys a lead gained (a follow-up's phone), kept-back or not: every
    /// read of the keys settles first.
    pub(super) fn keys(&mut self, lead_id: &str, keys: &[String], at: &str) {
        for key in keys {
            self.contacts.push([
                Cell::from(key.clone()),
                Cell::from(lead_id),
                Cell::from(at.to_string()),
            ]);
        }
    }

    /// Keeps back refs of a lead (kept-back or not: only a lookup by refs reads them).
    pub(super) fn refs(&mut self, lead_id: &str, refs: &[String]) {
        for r in refs {
            self.refs.push([Cell::from(r.clone()), Cell::from(lead_id)]);
        }
        self.kept.refs(refs);
    }

    /// Keeps back the first assignment of a kept-back lead and returns true; any other
    /// assignment (one that ends an earlier one) is left to the caller.
    pub(super) fn first_assignment(&mut self, a: &NewAssignment) -> bool {
        if !self.kept.first_assignment(&a.lead_id) {
            return false;
        }
        self.assignments.push([
            Cell::from(a.lead_id.clone()),
            Cell::from(a.manager_id.clone()),
            Cell::from(a.level.clone()),
            Cell::from(a.strategy.clone()),
            Cell::from(i64::from(a.attempt)),
            Cell::from(ts(a.assigned_at)),
            Cell::from(a.ack_due_at.map(ts)),
        ]);
        true
    }

    /// Whether any row is kept back (a read that could see one has to wait for it).
    pub(super) fn holds_rows(&self) -> bool {
        [
            &self.leads,
            &self.contacts,
            &self.refs,
            &self.assignments,
            &self.follow_ups,
        ]
        .iter()
        .any(|rows| !rows.is_empty())
            || self.kept.has_follow_ups()
    }

    /// Packs the kept-back follow-ups' records into their rows. The commit does it before it
    /// takes the write turn: a batch of follow-ups packs a hundred records, and every form
    /// would wait for that CPU work otherwise.
    pub(super) fn prepare_follow_ups(&mut self) {
        for f in self.kept.take_follow_ups() {
            self.follow_ups.push([
                Cell::from(f.id),
                Cell::Blob(pack(&f.record)),
                Cell::from(ts(f.at)),
                Cell::from(f.contact_name),
            ]);
        }
    }

    /// Writes every kept-back row, in bulk, and forgets them. Follow-ups not yet prepared
    /// are packed here: a read in the middle of a batch that must see them flushes under the
    /// turn; at the commit they were prepared before it and this finds none.
    pub(super) async fn flush(&mut self, db: &mut SqliteConnection) -> StoreResult<()> {
        self.leads.insert(db).await?;
        self.contacts.insert(db).await?;
        self.refs.insert(db).await?;
        self.assignments.insert(db).await?;
        self.prepare_follow_ups();
        self.follow_ups.insert(db).await?;
        self.kept.clear();
        Ok(())
    }
}
