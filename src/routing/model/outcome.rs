//! What a decision comes to: assign to a picked manager, hold, or drop ([`Outcome`]).

use serde::{Deserialize, Serialize};

use super::strategy::PickedBy;

/// The manager picked for a lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pick {
    /// The manager's id.
    pub manager: String,
    /// What picked them.
    pub strategy: PickedBy,
    /// The level they were picked at (above the rule's after an escalation).
    pub level: String,
}

/// What happens to the lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Assign to the picked manager.
    Assign(Pick),
    /// Nobody eligible: keep it until someone at `level` is (retry with [`crate::routing::CompiledRules::pick`]).
    Hold {
        /// The level the lead waits for.
        level: String,
    },
    /// A rule dropped it (suppression, spam): not a lead.
    Drop {
        /// The rule's reason.
        reason: String,
    },
}
