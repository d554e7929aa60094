//! New leads and follow-ups a processing transaction keeps back (a backend writes them in
//! bulk later), and what a statement could see of them. A backend keeps the rows; this decides when a statement
//! needs them written first, so the two backends cannot disagree on it.

use crate::store::NewLead;
use std::collections::{HashMap, HashSet};

/// What a statement could see of the kept-back rows (`leads`, `lead_contacts`, `lead_refs`,
/// a new lead's first assignment, and what their triggers keep).
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
    /// Kept-back follow-ups: lead, new record, last activity; one per lead, the last.
    follow_ups: Vec<[String; 3]>,
    /// Where each followed lead's row is in `follow_ups`.
    followed: HashMap<String, usize>,
}

impl KeptLeads {
    /// Notes a kept-back lead with its refs.
    pub(in crate::store) fn lead(&mut self, lead: &NewLead) {
        let r = &lead.record;
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

    /// Keeps back a follow-up of a lead (kept-back or not): its new record and last activity,
    /// in place of an earlier follow-up of the same lead in the transaction.
    pub(in crate::store) fn follow_up(&mut self, lead_id: &str, record: String, at: String) {
        let row = [lead_id.to_string(), record, at];
        match self.followed.get(lead_id) {
            Some(&i) => self.follow_ups[i] = row,
            None => {
                (self.followed).insert(lead_id.to_string(), self.follow_ups.len());
                self.follow_ups.push(row);
            }
        }
    }

    /// The kept-back follow-ups, `[lead, record, last activity]`, each lead once: written
    /// after the kept-back leads (a follow-up of a lead kept back with it updates the new row).
    pub(in crate::store) fn follow_ups(&self) -> &[[String; 3]] {
        &self.follow_ups
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
    /// returning contact brought to an older lead are kept back too); a lookup that answers
    /// with a lead's record could find one with a kept-back follow-up.
    pub(in crate::store) fn seen_by(&self, sees: Sees<'_>) -> bool {
        let followed = !self.followed.is_empty();
        match sees {
            Sees::Any => true,
            Sees::Lead(id) => self.lead_ids.contains(id) || self.followed.contains_key(id),
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

    /// Forgets everything: the rows were written.
    pub(in crate::store) fn clear(&mut self) {
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
        let mut lead = fixtures::new_lead("L1", "web", "a@example.com", 0, "anna");
        lead.record.external_id = Some("ext-1".into());
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
    fn a_kept_back_follow_up_is_written_before_any_lookup_that_answers_with_a_record() {
        let mut kept = KeptLeads::default();
        let refs = ["r-9".to_string()];
        let conversation = [("web", "conv-9")];
        assert!(!kept.seen_by(Sees::Refs(&refs)));
        assert!(!kept.seen_by(Sees::Conversations(&conversation)));
        kept.follow_up("OLD", "{}".into(), "t1".into());
        kept.follow_up("OLD", "{\"text\":\"2\"}".into(), "t2".into());
        kept.follow_up("NEW", "{}".into(), "t3".into());
        let written: Vec<&str> = kept.follow_ups().iter().map(|f| f[2].as_str()).collect();
        assert_eq!(
            written,
            ["t2", "t3"],
            "one row per lead, its last follow-up, in order"
        );
        assert!(kept.seen_by(Sees::Lead("OLD")));
        assert!(!kept.seen_by(Sees::Lead("OTHER")));
        assert!(
            kept.seen_by(Sees::Refs(&refs)),
            "the ref may be the followed lead's"
        );
        assert!(kept.seen_by(Sees::Conversations(&conversation)));
        assert!(kept.seen_by(Sees::External("web", "x")));
        assert!(!kept.seen_by(Sees::Nothing));
        kept.clear();
        assert!(!kept.seen_by(Sees::Refs(&refs)));
    }
}
