//! The open conversations a processing transaction read ahead (one statement for a batch), for
//! both backends. A follow-up moves its lead's answer on in place, so the next message of the
//! same conversation in the batch is answered here too instead of by another statement.

use crate::lead::Lead;
use crate::store::StoredLead;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A conversation: its source and its key.
type Pair = (String, String);

/// Conversations read ahead: each one's `since` asked and the lead found, and which
/// conversation each lead found answers.
#[derive(Debug, Default)]
pub(in crate::store) struct OpenConversations {
    answers: HashMap<Pair, (DateTime<Utc>, Option<StoredLead>)>,
    of_lead: HashMap<String, Pair>,
}

impl OpenConversations {
    /// The open lead of a conversation, when what was read ahead answers for `since`: the
    /// lead found (the conversation's newest open lead) while it was active at or after
    /// `since`; none found while `since` is no earlier than the time it was asked for. Each
    /// item asks from its own arrival, so two items of one conversation ask different times.
    pub(in crate::store) fn answer(
        &self,
        source: &str,
        key: &str,
        since: DateTime<Utc>,
    ) -> Option<Option<StoredLead>> {
        match self.answers.get(&(source.to_string(), key.to_string()))? {
            (_, Some(found)) if found.last_activity_at >= since => Some(Some(found.clone())),
            (asked, None) if since >= *asked => Some(None),
            _ => None,
        }
    }

    /// Keeps what a read ahead found for a conversation.
    pub(in crate::store) fn learn(
        &mut self,
        source: String,
        key: String,
        since: DateTime<Utc>,
        found: Option<StoredLead>,
    ) {
        let pair = (source, key);
        if let Some(lead) = &found {
            self.of_lead.insert(lead.record.id.clone(), pair.clone());
        }
        // Nothing open since the earliest time asked answers for every later one.
        let since = match (&found, self.answers.get(&pair)) {
            (None, Some((asked, None))) => since.min(*asked),
            _ => since,
        };
        self.answers.insert(pair, (since, found));
    }

    /// Drops a conversation's answer: a new lead of it was written.
    pub(in crate::store) fn drop_conversation(&mut self, source: &str, key: &str) {
        self.answers.remove(&(source.to_string(), key.to_string()));
    }

    /// Drops the answer holding `lead_id`: its status or manager changed, and the next
    /// question asks the database.
    pub(in crate::store) fn drop_lead(&mut self, lead_id: &str) {
        if let Some(pair) = self.of_lead.remove(lead_id)
            && self.holds(&pair, lead_id)
        {
            self.answers.remove(&pair);
        }
    }

    /// Moves the answer holding the lead on to its followed-up record: the lead is still its
    /// conversation's newest open lead (its activity only moved later, its status stayed).
    pub(in crate::store) fn followed_up(&mut self, record: Lead, at: DateTime<Utc>) {
        let Some(pair) = self.of_lead.get(&record.id) else {
            return;
        };
        if let Some((_, Some(found))) = self.answers.get_mut(pair)
            && found.record.id == record.id
        {
            found.record = record;
            found.last_activity_at = found.last_activity_at.max(at);
        }
    }

    /// Whether the answer for `pair` is the lead `lead_id`.
    fn holds(&self, pair: &Pair, lead_id: &str) -> bool {
        matches!(self.answers.get(pair), Some((_, Some(found))) if found.record.id == lead_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LeadStatus;
    use crate::store::conformance::fixtures;

    fn stored(id: &str, at: DateTime<Utc>) -> StoredLead {
        StoredLead {
            record: (fixtures::new_lead(id, "web", "a@example.com", 0, "anna").record)
                .record()
                .clone(),
            status: LeadStatus::Assigned,
            manager_id: Some("anna".into()),
            level: None,
            last_activity_at: at,
        }
    }

    #[test]
    fn a_follow_up_moves_its_answer_on_and_a_change_drops_it() {
        let t0 = fixtures::at(0);
        let mut read = OpenConversations::default();
        read.learn("web".into(), "+7900".into(), t0, Some(stored("L1", t0)));
        read.learn("web".into(), "+7911".into(), t0, None);
        assert!(
            read.answer("web", "+7900", fixtures::at(1)).is_none(),
            "the lead was not active since then: the table is asked"
        );
        assert!(matches!(read.answer("web", "+7911", t0), Some(None)));

        let mut record = stored("L1", t0).record;
        record.text = "first\n\nsecond".into();
        read.followed_up(record, fixtures::at(5));
        let found = read
            .answer("web", "+7900", t0)
            .flatten()
            .expect("still read ahead");
        assert_eq!(found.record.text, "first\n\nsecond");
        assert_eq!(found.last_activity_at, fixtures::at(5));

        read.drop_lead("L2");
        assert!(
            read.answer("web", "+7900", t0).is_some(),
            "another lead changed"
        );
        read.drop_lead("L1");
        assert!(
            read.answer("web", "+7900", t0).is_none(),
            "its lead changed"
        );
        read.drop_conversation("web", "+7911");
        assert!(read.answer("web", "+7911", t0).is_none());
    }

    /// Two items of one conversation ask from their own arrivals: the lead read ahead answers
    /// only the times it was active since, and "none" only times no earlier than asked.
    #[test]
    fn each_item_is_answered_for_its_own_time() {
        let mut read = OpenConversations::default();
        let active = fixtures::at(3);
        read.learn(
            "tg".into(),
            "c".into(),
            fixtures::at(1),
            Some(stored("L1", active)),
        );
        read.learn(
            "tg".into(),
            "c".into(),
            fixtures::at(5),
            Some(stored("L1", active)),
        );
        let at = |minute| read.answer("tg", "c", fixtures::at(minute));
        assert_eq!(at(2).flatten().map(|l| l.record.id), Some("L1".to_string()));
        assert!(
            at(5).is_none(),
            "L1 was last active at 3: the table is asked for 5"
        );
        let mut nothing = OpenConversations::default();
        nothing.learn("tg".into(), "c".into(), fixtures::at(5), None);
        nothing.learn("tg".into(), "c".into(), fixtures::at(1), None);
        assert!(matches!(
            nothing.answer("tg", "c", fixtures::at(2)),
            Some(None)
        ));
        assert!(nothing.answer("tg", "c", fixtures::at(0)).is_none());
    }
}
