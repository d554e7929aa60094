//! New leads a processing transaction keeps back (both backends write them in bulk later), and
//! what a statement could see of them. A backend keeps the rows; this decides when a statement
//! needs them written first, so the two backends cannot disagree on it.

use crate::store::NewLead;
use std::collections::HashSet;

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
    /// returning contact brought to an older lead are kept back too).
    pub(in crate::store) fn seen_by(&self, sees: Sees<'_>) -> bool {
        match sees {
            Sees::Any => true,
            Sees::Lead(id) => self.lead_ids.contains(id),
            Sees::External(source, id) => {
                (self.external).contains(&(source.to_string(), id.to_string()))
            }
            Sees::Refs(refs) => refs.iter().any(|r| self.ref_values.contains(r)),
            Sees::Conversations(asked) => asked.iter().any(|(s, k)| self.has_conversation(s, k)),
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
}
