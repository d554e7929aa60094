//! What offering a held lead again decides. A lead held when it was first routed is routed
//! again by the rules (hours and loads have changed since). A lead that waits after a pass (a
//! decline, a missed SLA) waits at the level it was passed at, for someone there who has not
//! had it, as the pass itself picked (`sla/pass.rs`); the rules are not asked again, since
//! they would send it back to the level it was first routed at.

use crate::lead::{Classification, Lead};
use crate::routing::{CompiledRules, Decision, Outcome, Pick, RoutingContext, Strategy};
use crate::store::AssignmentSummary;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One held lead's offer: whom it goes to, if anyone, and what its record then says.
pub(super) struct Offer {
    /// The level it waits or is assigned at.
    pub level: String,
    /// The manager it goes to now, if any.
    pub pick: Option<Pick>,
    /// The strategy state after the pick.
    pub state: crate::routing::StrategyState,
    /// The new classification, when the rules were asked again.
    pub classification: Option<Classification>,
    /// The time the assignment has to be acknowledged.
    pub ack_within: Duration,
    /// The new routing trace (stored), when the rules were asked again.
    pub trace: Option<String>,
}

impl Offer {
    /// A lead held at its first routing, routed again by the rules.
    pub(super) fn routed(decision: Decision) -> Offer {
        Offer {
            level: decision.classification.level.clone(),
            pick: match decision.outcome {
                Outcome::Assign(pick) => Some(pick),
                Outcome::Hold { .. } | Outcome::Drop { .. } => None,
            },
            state: decision.state,
            trace: Some(decision.trace.stored()),
            classification: Some(decision.classification),
            ack_within: decision.ack_within,
        }
    }

    /// A lead waiting after a pass, picked again at the level it waits at (`level`, else its
    /// classification's) by the strategy of its last assignment, never for one who had it.
    pub(super) fn passed(
        rules: &CompiledRules,
        lead: &Lead,
        level: Option<&str>,
        last: &AssignmentSummary,
        ctx: &RoutingContext<'_>,
    ) -> Offer {
        let level = level
            .or_else(|| lead.classification.as_ref().map(|c| c.level.as_str()))
            .unwrap_or(last.level.as_str())
            .to_string();
        let rule = lead.classification.as_ref().map(|c| c.rule.as_str());
        let strategy = rules.pass_strategy(&last.strategy, rule);
        let result = rules.pick(&level, strategy, lead, ctx);
        let ack_within = lead
            .classification
            .as_ref()
            .map_or(rules.sla().ack_within, |c| rules.ack_within_of(&c.rule));
        Offer {
            level,
            pick: result.pick,
            state: result.state,
            classification: None,
            ack_within,
            trace: None,
        }
    }

    /// Whether anyone at `level` could take a lead now, those who had this one included.
    pub(super) fn anyone_at(
        rules: &CompiledRules,
        lead: &Lead,
        level: &str,
        ctx: &RoutingContext<'_>,
    ) -> bool {
        let everyone = RoutingContext {
            exclude: &[],
            ..*ctx
        };
        let strategy = Strategy::RoundRobin;
        rules.pick(level, strategy, lead, &everyone).pick.is_some()
    }
}

/// What the last offer of held leads found, per level: closed to new leads (a lead there
/// found nobody), or open to them although leads wait there (every one of them waits for
/// someone who has not had it, and others there can take new leads). Between offers the
/// levels with held leads stay closed to new leads, so none jumps the queue, except the open
/// ones; a level holding leads that the last offer did not see (a pass held one since, or
/// another replica did) is offered at once.
#[derive(Debug, Default, Clone)]
pub struct LastOffer(Arc<Mutex<Levels>>);

#[derive(Debug, Default)]
struct Levels {
    closed: HashSet<String>,
    open: HashSet<String>,
}

impl LastOffer {
    /// Keeps what an offer found.
    pub(super) fn remember(&self, closed: &HashSet<String>, open: HashSet<String>) {
        let mut levels = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        levels.closed = closed.clone();
        levels.open = open;
    }

    /// Levels a batch closed since (its new leads held there).
    pub(super) fn closed_since(&self, closed: &HashSet<String>) {
        let mut levels = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        levels.open.retain(|l| !closed.contains(l));
        levels.closed.extend(closed.iter().cloned());
    }

    /// Of the levels holding leads, those that stay closed until the next offer; `None` when
    /// one of them is news to the last offer, so an offer is due now.
    pub(super) fn closed_among(&self, held: Vec<String>) -> Option<HashSet<String>> {
        let levels = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let known = |l: &String| levels.closed.contains(l) || levels.open.contains(l);
        if !held.iter().all(known) {
            return None;
        }
        Some(
            held.into_iter()
                .filter(|l| !levels.open.contains(l))
                .collect(),
        )
    }

    /// The levels open to new leads although leads wait there (an offer is still due for
    /// them: their leads wait for someone).
    pub(super) fn open(&self) -> HashSet<String> {
        let levels = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        levels.open.clone()
    }
}
