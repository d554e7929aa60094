//! What a decision takes in and gives back: the store's view at the moment ([`RoutingContext`])
//! and the outcome with its trace ([`Decision`], [`PickResult`]). Deciding is
//! `routing::eval`'s; these types are what the rest of leadgate and the trace share.

use std::collections::HashMap;
use std::time::Duration;

use super::outcome::{Outcome, Pick};
use super::strategy::StrategyState;
use super::trace::{PickTrace, Trace};
use crate::lead::Classification;
use chrono::{DateTime, Utc};

/// What the store knows at the moment of a decision.
#[derive(Debug, Clone, Copy)]
pub struct RoutingContext<'a> {
    /// Now, from the injected clock.
    pub now: DateTime<Utc>,
    /// Open (not yet closed) leads per manager id now.
    pub open_leads: &'a HashMap<String, u32>,
    /// The manager who had this contact's last lead.
    pub previous_manager: Option<&'a str>,
    /// Round-robin cursors and weighted-round-robin weights as persisted.
    pub state: &'a StrategyState,
    /// Managers who already had this lead (SLA passes, declines): never picked again.
    pub exclude: &'a [String],
}

/// The whole decision for a new lead.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// The rule, level, tags and score, as the lead record carries them (level is empty for a
    /// dropped lead).
    pub classification: Classification,
    /// Assign, hold or drop.
    pub outcome: Outcome,
    /// The SLA for the assignment.
    pub ack_within: Duration,
    /// The strategy state to persist.
    pub state: StrategyState,
    /// Why.
    pub trace: Trace,
}

/// The result of picking again (a held lead retried, an SLA pass, a decline).
#[derive(Debug, Clone, PartialEq)]
pub struct PickResult {
    /// The manager, or `None` when nobody is eligible (keep holding).
    pub pick: Option<Pick>,
    /// The strategy state to persist.
    pub state: StrategyState,
    /// Who was considered and why.
    pub trace: PickTrace,
}
