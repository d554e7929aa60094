//! The explanation of a decision: which scoring entries and rules matched and why, which
//! managers were eligible and why not, and who was picked how. Stored with the lead as JSON
//! and printed by `leadgate route` (both written in `routing::explain`).

use serde::{Deserialize, Serialize};

use super::label::Label;
use super::outcome::{Outcome, Pick};
use super::record::{EntryView, Record};
use super::strategy::Strategy;

/// Whether one manager could take the lead, and if not, why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Eligibility {
    /// Can take it.
    Eligible,
    /// `active = false`.
    Inactive,
    /// Outside working hours.
    OffHours,
    /// On a day off or vacation.
    DayOff,
    /// A holiday in the shared calendar.
    Holiday,
    /// At `max_open` open leads.
    Full,
    /// Already had this lead (a pass after an SLA miss or a decline).
    AlreadyHad,
    /// The id is not in the rules (a previous manager who has since left).
    NotInRules,
}
/// One manager considered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CandidateTrace {
    /// The manager's id.
    pub manager: Label,
    /// Their open leads at the time.
    pub open: u32,
    /// Whether they could take it.
    pub status: Eligibility,
}

/// One level tried: who was considered and who was picked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelTrace {
    /// The level.
    pub level: String,
    /// Who the pool was (`everyone at senior`, `team north-west at middle`).
    pub pool: Label,
    /// Every manager in the pool.
    pub candidates: Vec<CandidateTrace>,
    /// Who the strategy picked, if anyone was eligible.
    pub picked: Option<String>,
}

/// How the manager was picked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PickTrace {
    /// The strategy of the rule.
    pub strategy: Strategy,
    /// The returning contact's previous manager, when preferred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_manager: Option<CandidateTrace>,
    /// The levels tried, in order (the rule's, then the fallback's).
    pub levels: Vec<LevelTrace>,
    /// The result.
    pub picked: Option<Pick>,
}

/// The whole decision explained. Stored as JSON with every scoring entry and rule spelt
/// out; in memory the entries stay a compact record (`routing/model/record.rs`) until shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The version of the rules that decided.
    pub rules_version: String,
    /// The score.
    pub score: i64,
    /// The tags from scoring and the rule.
    pub tags: Vec<Label>,
    /// The rule that decided.
    pub rule: Label,
    /// The SLA: how long the manager has to acknowledge.
    pub ack_within: String,
    /// How the manager was picked (absent for a dropped lead).
    pub pick: Option<PickTrace>,
    /// What happens to the lead.
    pub outcome: Outcome,
    /// Every scoring entry, and the rules evaluated up to the one that matched.
    pub(crate) record: Record,
}

impl Trace {
    /// Every scoring entry.
    pub fn scoring(&self) -> impl ExactSizeIterator<Item = EntryView<'_>> + Clone {
        self.record.scoring()
    }

    /// The rules evaluated, up to the one that matched.
    pub fn rules(&self) -> impl ExactSizeIterator<Item = EntryView<'_>> + Clone {
        self.record.rules()
    }
}
