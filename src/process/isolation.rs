//! One item the store cannot hold must not stop every lead behind it.
//!
//! A batch the store refuses for something in its data (`StoreError::refuses_the_data`: a
//! value PostgreSQL cannot hold, an index entry too large, a corrupt row) fails again at every
//! retry, and every item after it, from every channel, waits. So after such a failure the
//! stage takes items one at a time, for as many as the failed batch held. An item refused on
//! its own is a suspect: the next pass takes the item after it instead. If that one goes
//! through, the fault was the suspect's, and it is set aside as a not-lead (`unprocessable`,
//! with the database's words), kept and visible to the admin, who can send it through again
//! ("this is a lead") once the cause is mended. If the item after it is refused too, the fault
//! is not in one item, and nothing is set aside: the stage retries as before.

use super::ProcessError;

/// What the stage does about a refused batch, between passes.
#[derive(Debug, Default)]
pub struct Isolation {
    /// Items still to take one at a time after a refused batch.
    one_by_one: u32,
    /// The item to blame, as far as is known.
    suspect: Suspect,
}

#[derive(Debug, Default)]
enum Suspect {
    #[default]
    None,
    /// Refused on its own; not yet shown to be the only fault.
    Refused { item: String, error: String },
    /// Refused on its own while the item after it went through: set aside next.
    Confirmed { item: String, error: String },
}

/// How the next pass takes its batch.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The most items it takes.
    pub limit: u32,
    /// An item it leaves pending for now.
    pub skip: Option<String>,
    /// An item it sets aside as unprocessable, with the reason.
    pub set_aside: Option<(String, String)>,
}

impl Plan {
    /// Whether this pass looks for an item to blame rather than taking a whole batch.
    pub fn isolating(&self, batch_size: u32) -> bool {
        self.limit < batch_size || self.skip.is_some() || self.set_aside.is_some()
    }
}

impl Isolation {
    /// The next pass's plan, for a stage whose batches hold `batch_size` items.
    pub fn plan(&self, batch_size: u32) -> Plan {
        match &self.suspect {
            Suspect::Refused { item, .. } => Plan {
                limit: 1,
                skip: Some(item.clone()),
                set_aside: None,
            },
            Suspect::Confirmed { item, error } => Plan {
                limit: 1,
                skip: None,
                set_aside: Some((item.clone(), error.clone())),
            },
            Suspect::None => Plan {
                limit: if self.one_by_one > 0 { 1 } else { batch_size },
                ..Plan::default()
            },
        }
    }

    /// A pass went through, taking `taken` items.
    pub fn passed(&mut self, taken: usize) {
        self.one_by_one = self.one_by_one.saturating_sub(taken as u32);
        self.suspect = match std::mem::take(&mut self.suspect) {
            // Nothing else was pending: it stays a suspect until something else comes.
            Suspect::Refused { item, error } if taken == 0 => Suspect::Refused { item, error },
            Suspect::Refused { item, error } => {
                tracing::warn!(item = %item, error = %error, "An inbound item the store refuses went through no retry, while the item after it did: it is set aside as unprocessable.");
                Suspect::Confirmed { item, error }
            }
            Suspect::Confirmed { .. } | Suspect::None => Suspect::None,
        };
    }

    /// The pass planned as `plan` failed with `error`; `first` is the oldest item it took.
    pub fn failed(&mut self, plan: &Plan, error: &ProcessError, first: Option<&str>) {
        if !error.refuses_the_data() {
            return;
        }
        self.suspect = match (std::mem::take(&mut self.suspect), first) {
            // The item after the suspect was refused too: the fault is not in one item.
            (Suspect::Refused { .. } | Suspect::Confirmed { .. }, _) => {
                self.one_by_one = self.one_by_one.max(1);
                Suspect::None
            }
            (Suspect::None, _) if plan.limit > 1 => {
                self.one_by_one = plan.limit;
                Suspect::None
            }
            (Suspect::None, Some(item)) => Suspect::Refused {
                item: item.to_string(),
                error: error.to_string(),
            },
            (Suspect::None, None) => Suspect::None,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    fn refused() -> ProcessError {
        StoreError::Corrupt {
            what: "leads.record",
            detail: "cut short".into(),
        }
    }

    fn unreachable_store() -> ProcessError {
        StoreError::Database(sqlx::Error::PoolTimedOut)
    }

    #[test]
    fn a_refused_batch_is_taken_one_by_one_and_the_item_to_blame_set_aside() {
        let mut isolation = Isolation::default();
        let plan = isolation.plan(200);
        assert_eq!(plan.limit, 200);
        isolation.failed(&plan, &refused(), Some("a"));
        // One at a time: "a" goes through alone.
        let plan = isolation.plan(200);
        assert_eq!((plan.limit, &plan.skip), (1, &None));
        isolation.passed(1);
        // "b" is refused alone: the next pass leaves it and takes "c".
        let plan = isolation.plan(200);
        isolation.failed(&plan, &refused(), Some("b"));
        let plan = isolation.plan(200);
        assert_eq!((plan.limit, plan.skip.as_deref()), (1, Some("b")));
        assert_eq!(plan.set_aside, None);
        isolation.passed(1);
        // "c" went through: "b" is set aside, then the items go on one by one.
        let plan = isolation.plan(200);
        let (item, why) = plan.set_aside.expect("b is set aside");
        assert_eq!(item, "b");
        assert!(why.contains("cut short"), "{why}");
        isolation.passed(1);
        assert_eq!(
            isolation.plan(200),
            Plan {
                limit: 1,
                ..Plan::default()
            }
        );
        isolation.passed(197);
        assert_eq!(isolation.plan(200).limit, 200);
    }

    #[test]
    fn nothing_is_set_aside_when_the_item_after_the_suspect_is_refused_too() {
        let mut isolation = Isolation::default();
        isolation.failed(&isolation.plan(1), &refused(), Some("a"));
        isolation.failed(&isolation.plan(1), &refused(), Some("b"));
        let plan = isolation.plan(1);
        assert_eq!((plan.skip, plan.set_aside), (None, None));
        // Nothing else pending: the suspect stays one, and nothing is set aside.
        isolation.failed(&isolation.plan(1), &refused(), Some("a"));
        isolation.passed(0);
        assert_eq!(isolation.plan(1).skip.as_deref(), Some("a"));
    }

    #[test]
    fn a_store_that_fails_to_write_sets_nothing_aside() {
        let mut isolation = Isolation::default();
        for _ in 0..5 {
            isolation.failed(&isolation.plan(1), &unreachable_store(), Some("a"));
        }
        assert_eq!(
            isolation.plan(200),
            Plan {
                limit: 200,
                ..Plan::default()
            }
        );
    }
}
