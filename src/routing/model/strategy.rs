//! How a rule spreads leads over a pool's managers (round robin, least loaded, smooth weighted
//! round robin), what picked a manager, and the state that must survive restarts. The picking
//! itself is `routing::eval`'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// How a rule spreads its leads over the eligible managers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// In turn, in the order of the file; the turn survives restarts.
    RoundRobin,
    /// The one with the fewest open leads now; ties in turn.
    LeastLoaded,
    /// In proportion to `weight` (smooth weighted round robin).
    Weighted,
}

impl Strategy {
    /// Every strategy, as written in the file.
    pub const NAMES: [&'static str; 3] = ["round_robin", "least_loaded", "weighted"];

    /// The name as written in the file and in the lead record.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::LeastLoaded => "least_loaded",
            Strategy::Weighted => "weighted",
        }
    }

    /// Parses the name.
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "round_robin" => Some(Strategy::RoundRobin),
            "least_loaded" => Some(Strategy::LeastLoaded),
            "weighted" => Some(Strategy::Weighted),
            _ => None,
        }
    }
}

/// What actually picked the manager: a strategy, or the contact's previous manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PickedBy {
    /// Round robin.
    RoundRobin,
    /// Least loaded.
    LeastLoaded,
    /// Weighted round robin.
    Weighted,
    /// The returning contact's manager (`prefer_previous_manager`).
    PreviousManager,
}

impl PickedBy {
    /// The name the lead record's `assignment.strategy` carries.
    pub fn as_str(self) -> &'static str {
        match self {
            PickedBy::RoundRobin => "round_robin",
            PickedBy::LeastLoaded => "least_loaded",
            PickedBy::Weighted => "weighted",
            PickedBy::PreviousManager => "previous_manager",
        }
    }
}

impl From<Strategy> for PickedBy {
    fn from(s: Strategy) -> PickedBy {
        match s {
            Strategy::RoundRobin => PickedBy::RoundRobin,
            Strategy::LeastLoaded => PickedBy::LeastLoaded,
            Strategy::Weighted => PickedBy::Weighted,
        }
    }
}

/// The strategies' memory, persisted by the store between decisions so a restart does not
/// restart the rotation. Keyed by pool (`level:senior`, `team:north:middle`).
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
pub struct StrategyState {
    /// The manager each pool's round robin gave the last lead to.
    #[serde(default)]
    pub round_robin: BTreeMap<String, String>,
    /// Smooth weighted round robin's current weight of each manager, per pool.
    #[serde(default)]
    pub weighted: BTreeMap<String, BTreeMap<String, i64>>,
}
