//! New leads and follow-ups a processing transaction keeps back (both backends write them in
//! bulk later), and what a statement could see of them. A backend keeps the new leads' rows and
//! this keeps the follow-ups; this decides when a statement needs them written first, so the
//! two backends cannot disagree on it.

use crate::lead::Lead;
use crate::store::NewLead;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashSet};

/// What a statement could see of the kept-back rows (`leads`, `lead_contacts`, `lead_refs`,
/// a new lead's first assignment, what their triggers keep, and followed-up leads' records).
#[derive(Debug, Clone, Copy)]
pub(in crate::store) enum Sees<'a> {
    /// Any of them: a statement over those tables at large (or over the totals their
    /// triggers keep).
    Any,
    /// The rows of one lead.
    Lead(&'a str),
    /// The lead with this source and external id.
    External(&'a str, &'a str),
    /// The leads of any of these refs.
    Refs(&'a [String]),
    /// The leads of any of these `(source, conversation key)` pairs.
    Conversations(&'a [(&'a str, &'a str)]),
    /// None: the statement touches only tables no kept-back row goes to (cursors,
    /// `rules_texts`, `crm_refs`).
    Nothing,
}

/// What the kept-back rows could match.
#[derive(Debug, Default)]
pub(in crate::store) struct KeptLeads {
    /// Ids of the kept-back leads.
    lead_ids: HashSet<String>,
    /// Those of them with a kept-back assignment.
    assigned: HashSet<String>,
    /// Every kept-back ref.
    ref_values: HashSet<String>,
    /// `(source, external_id)` of the kept-back leads.
    external: HashSet<(String, String)>,
    /// `(source, conversation_key)` of the kept-back leads.
    conversations: HashSet<(String, String)>,
    /// Follow-ups kept back: each followed-up lead's latest row, by lead id (the order they
    /// are written in). A conversation of fifty messages in one batch is then one row
    /// written once, not fifty.
    follow_ups: BTreeMap<String, FollowUpRow>,
}

/// A followed-up lead's row as it is written: the record, its last activity and its name.
#[derive(Debug)]
pub(in crate::store) struct FollowUpRow {
    /// The lead.
    pub(in crate::store) id: String,
    /// Its record, as stored.
    pub(in crate::store) record: String,
    /// Its last activity.
    pub(in crate::store) at: DateTime<Utc>,
    /// Its contact's name, for the console's search.
    pub(in crate::store) contact_name: Option<String>,
}

impl KeptLeads {
    /// Notes a kept-back lead with its refs.
    pub(in crate::store) fn lead(&mut self, lead: &NewLead) {
        let r = lead.record.record();
        self.lead_ids.insert(r.id.clone());
        if let Some(id) = &r.external_id {
            self.external.insert((r.source.clone(), id.clone()));
        }
        if let Some(key) = &lead.conversation_key {
            self.conversations.insert((r.source.clone(), key.clone()));
        }
        self.refs(&lead.refs);
    }

    /// Notes kept-back refs (of any lead).
    pub(in crate::store) fn refs(&mut self, refs: &[String]) {
        self.ref_values.extend(refs.iter().cloned());
    }

    /// Keeps back a follow-up of a lead already written, in place of an earlier one of the
    /// same lead in this transaction (a record carries every message before it).
    pub(in crate::store) fn follow_up(&mut self, r: &Lead, record: String, at: DateTime<Utc>) {
        let row = FollowUpRow {
            id: r.id.clone(),
            record,
            at,
            contact_name: r.contact.name.clone(),
        };
        (self.follow_ups).insert(r.id.clone(), row);
    }

    /// The kept-back follow-ups' rows, in lead id order, handed over to be written.
    pub(in crate::store) fn take_follow_ups(&mut self) -> Vec<FollowUpRow> {
        std::mem::take(&mut self.follow_ups).into_values().collect()
    }

    /// Whether an assignment of `lead_id` is the first of a kept-back lead, which is then kept
    /// back with it (and noted: a second one is not).
    pub(in crate::store) fn first_assignment(&mut self, lead_id: &str) -> bool {
        self.lead_ids.contains(lead_id) && self.assigned.insert(lead_id.to_string())
    }

    /// Whether a kept-back lead belongs to this conversation of this source.
    pub(in crate::store) fn has_conversation(&self, source: &str, key: &str) -> bool {
        self.conversations
            .contains(&(source.to_string(), key.to_string()))
    }

    /// Whether a statement that sees `sees` could see a kept-back row: then they are written
    /// before it runs. A statement over the tables at large always could (identity keys a
    /// returning contact brought to an older lead are kept back too), and so could any lookup
    /// of a lead while a follow-up is kept back (which lead it finds is not known before).
    pub(in crate::store) fn seen_by(&self, sees: Sees<'_>) -> bool {
        let followed = !self.follow_ups.is_empty();
        match sees {
            Sees::Any => true,
            Sees::Lead(id) => self.lead_ids.contains(id) || self.follow_ups.contains_key(id),
            Sees::External(source, id) => {
                followed || (self.external).contains(&(source.to_string(), id.to_string()))
            }
            Sees::Refs(refs) => followed || refs.iter().any(|r| self.ref_values.contains(r)),
            Sees::Conversations(asked) => {
                followed || asked.iter().any(|(s, k)| self.has_conversation(s, k))
            }
            Sees::Nothing => false,
        }
    }

    /// Whether a follow-up is kept back.
    pub(in crate::store) fn has_follow_ups(&self) -> bool {
        !self.follow_ups.is_empty()
    }

    /// Forgets everything: the rows were written.
    pub(in crate::store) fn clear(&mut self) {
        debug_assert!(self.follow_ups.is_empty(), "follow-ups cleared unwritten");
        *self = KeptLeads::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::fixtures;

    #[test]
    fn a_statement_needs_the_kept_back_rows_only_when_it_could_see_them() {
        let mut kept = KeptLeads::default();
        assert!(
            !kept.seen_by(Sees::Lead("L1")),
            "nothing kept back, nothing to write"
        );
        let lead = fixtures::new_lead("L1", "web", "a@example.com", 0, "anna");
        let mut lead = fixtures::with_record(lead, |r| r.external_id = Some("ext-1".into()));
        lead.conversation_key = Some("conv-1".into());
        lead.refs = vec!["r-1".into()];
        kept.lead(&lead);
        assert!(kept.seen_by(Sees::Any));
        assert!(kept.seen_by(Sees::Lead("L1")));
        assert!(!kept.seen_by(Sees::Lead("L2")));
        assert!(kept.seen_by(Sees::External("web", "ext-1")));
        assert!(!kept.seen_by(Sees::External("other", "ext-1")));
        assert!(kept.seen_by(Sees::Refs(&["x".into(), "r-1".into()])));
        assert!(!kept.seen_by(Sees::Refs(&["x".into()])));
        assert!(kept.seen_by(Sees::Conversations(&[("web", "conv-1")])));
        assert!(!kept.seen_by(Sees::Conversations(&[("web", "conv-2")])));
        assert!(!kept.seen_by(Sees::Nothing));
        assert!(
            kept.first_assignment("L1"),
            "a kept-back lead's first assignment"
        );
        assert!(
            !kept.first_assignment("L1"),
            "its second ends the first: not kept back"
        );
        assert!(!kept.first_assignment("L2"), "a lead already written");
        kept.clear();
        assert!(!kept.seen_by(Sees::Lead("L1")));
    }

    #[test]
    fn a_kept_back_follow_up_is_seen_by_any_lookup_of_a_lead_and_written_once() {
        let mut kept = KeptLeads::default();
        let lead = fixtures::new_lead("L9", "web", "a@example.com", 0, "anna");
        let mut record = lead.record.record().clone();
        record.text = "first".into();
        let json = fixtures::encoded(&record).json().to_string();
        kept.follow_up(&record, json, fixtures::at(1));
        record.text = "first\n\nsecond".into();
        record.contact.name = Some("Анна".into());
        let json = fixtures::encoded(&record).json().to_string();
        kept.follow_up(&record, json, fixtures::at(2));
        assert!(kept.seen_by(Sees::Lead("L9")));
        assert!(!kept.seen_by(Sees::Lead("L2")), "another lead's row");
        assert!(kept.seen_by(Sees::External("web", "any")));
        assert!(kept.seen_by(Sees::Refs(&["x".into()])));
        assert!(kept.seen_by(Sees::Conversations(&[("web", "any")])));
        assert!(!kept.seen_by(Sees::Nothing));
        let rows = kept.take_follow_ups();
        assert_eq!(rows.len(), 1, "the lead's latest record, once");
        assert!(
            rows[0].record.contains("first\\n\\nsecond"),
            "{}",
            rows[0].record
        );
        assert_eq!(rows[0].at, fixtures::at(2));
        assert_eq!(rows[0].contact_name.as_deref(), Some("Анна"));
        assert!(
            !kept.seen_by(Sees::Lead("L9")),
            "written: nothing kept back"
        );
    }
}
