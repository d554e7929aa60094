//! The validated rules the daemon runs on, and what the rest of leadgate reads from them.
//! Compiling them is `routing::compile`'s, deciding with them `routing::eval`'s.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono_tz::Tz;

use super::condition::{FieldRef, When};
use super::label::Label;
use super::manager::Manager;
use super::record::Explain;
use super::strategy::Strategy;
use super::values::DateSet;
use super::words::WordIndex;

/// What happens when nobody at the chosen level can take a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Try the next level up (and the one above that); hold only when nobody anywhere above is
    /// eligible either.
    Escalate,
    /// Keep the lead until someone at the level becomes eligible.
    Hold,
}

/// The SLA settings: how long a manager has to acknowledge, and what happens after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    /// The default time to acknowledge (a rule's `ack_within` overrides it).
    pub ack_within: Duration,
    /// Passes to another manager at the same level before the lead escalates one level up.
    pub max_reassign: u32,
    /// Whether the SLA clock runs only in the assigned manager's working hours.
    pub working_hours_only: bool,
    /// Who is told when a lead of a level escalates or waits: level -> manager id.
    pub supervisors: BTreeMap<String, String>,
    /// Whether the file has an `[sla]` section (`leadgate check` says when nothing can
    /// acknowledge a lead, so the timer set there never runs).
    pub configured: bool,
}

/// A set of managers a rule sends leads to, with the key its strategy state is stored under.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    pub(crate) key: String,
    pub(crate) label: Label,
    /// Indexes into `managers`, in file order.
    pub(crate) members: Vec<usize>,
}

/// A `[[scoring]]` entry.
#[derive(Debug, Clone)]
pub(crate) struct ScoringEntry {
    pub(crate) name: Label,
    pub(crate) line: usize,
    pub(crate) when: When,
    pub(crate) points: i64,
    /// Ids into [`CompiledRules::tags`].
    pub(crate) tags: Vec<u32>,
}

/// Where a routing rule sends a lead.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    pub(crate) level: usize,
    pub(crate) strategy: Strategy,
    /// The pool at `level` (everyone, a team, or named managers).
    pub(crate) pool: Pool,
    /// Ids into [`CompiledRules::tags`].
    pub(crate) tags: Vec<u32>,
    pub(crate) score: Option<i64>,
    pub(crate) ack_within: Option<Duration>,
    pub(crate) prefer_previous: bool,
}

/// What a rule does with a lead it matches.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    Route(Route),
    Drop(String),
}

/// A `[[rules]]` entry; the default rule's condition has no tests, so it always holds.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) name: Label,
    pub(crate) line: usize,
    pub(crate) when: When,
    pub(crate) action: Action,
}

/// Validated rules: holding one means the file was valid. Cheap to share between threads.
#[derive(Debug)]
pub struct CompiledRules {
    pub(crate) version: String,
    pub(crate) levels: Vec<String>,
    pub(crate) managers: Vec<Manager>,
    pub(crate) by_id: HashMap<String, usize>,
    pub(crate) timezone: Tz,
    pub(crate) holidays: DateSet,
    pub(crate) prefer_previous: bool,
    pub(crate) fallback: Fallback,
    pub(crate) sla: SlaPolicy,
    pub(crate) scoring: Vec<ScoringEntry>,
    /// The rules with a condition, in order.
    pub(crate) rules: Vec<Rule>,
    /// The last rule, without a condition.
    pub(crate) default: Rule,
    /// Everyone at each level, by level index.
    pub(crate) level_pools: Vec<Pool>,
    pub(crate) watched: Vec<PathBuf>,
    /// Every test and entry: their text, which decisions' traces point into, and the
    /// compiled conditions.
    pub(crate) explain: Arc<Explain>,
    /// Every distinct field the conditions read, by id.
    pub(crate) fields: Vec<FieldRef>,
    /// Every word the text tests look for.
    pub(crate) words: WordIndex,
    /// Every tag the entries add or the tests look for, by id.
    pub(crate) tags: Vec<Label>,
    /// [`Explain`]'s texts as stored once per version, made when first stored.
    pub(crate) texts: OnceLock<String>,
}

impl CompiledRules {
    /// A short hash of the file's bytes, stored with each lead it routed.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The levels, lowest first.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// The level above `level`, for escalation; `None` at the top.
    pub fn level_above(&self, level: &str) -> Option<&str> {
        let i = self.levels.iter().position(|l| l == level)?;
        self.levels.get(i + 1).map(String::as_str)
    }

    /// Every manager, in file order.
    pub fn managers(&self) -> &[Manager] {
        &self.managers
    }

    /// The manager with this id.
    pub fn manager(&self, id: &str) -> Option<&Manager> {
        self.by_id.get(id).map(|&i| &self.managers[i])
    }

    /// The SLA settings.
    pub fn sla(&self) -> &SlaPolicy {
        &self.sla
    }

    /// How long a manager has to acknowledge a lead the rule named `rule` routed: the rule's
    /// own `ack_within`, else the `[sla]` one (a rule renamed or removed since falls back to
    /// it too).
    pub fn ack_within_of(&self, rule: &str) -> Duration {
        (self.route_of(rule))
            .and_then(|route| route.ack_within)
            .unwrap_or(self.sla.ack_within)
    }

    /// The strategy that picks the next manager of a lead passing on (a decline, a missed
    /// SLA, a held lead offered again): the one its last assignment was picked by, when that
    /// was a strategy; when it was not (the contact's previous manager, the supervisor, the
    /// CRM), the strategy of the rule that routed the lead (`rule`), so a `least_loaded` or
    /// `weighted` rule stays so; round robin when the rules no longer have that rule.
    pub fn pass_strategy(&self, last: &str, rule: Option<&str>) -> Strategy {
        (Strategy::parse(last))
            .or_else(|| {
                rule.and_then(|r| self.route_of(r))
                    .map(|route| route.strategy)
            })
            .unwrap_or(Strategy::RoundRobin)
    }

    /// Where the rule named `rule` sends leads, if it routes them.
    fn route_of(&self, rule: &str) -> Option<&Route> {
        (self.rules.iter().chain(std::iter::once(&self.default)))
            .find(|r| r.name.as_str() == rule)
            .and_then(|r| match &r.action {
                Action::Route(route) => Some(route),
                Action::Drop(_) => None,
            })
    }

    /// What happens when nobody at a level is eligible.
    pub fn fallback(&self) -> Fallback {
        self.fallback
    }

    /// Whether a returning contact goes to their previous manager when that one is eligible.
    pub fn prefer_previous_manager(&self) -> bool {
        self.prefer_previous
    }

    /// The business time zone that `received_on` and `received_between` read the clock in.
    pub fn timezone(&self) -> Tz {
        self.timezone
    }

    /// The shared holiday calendar.
    pub fn holidays(&self) -> &DateSet {
        &self.holidays
    }

    /// The files these rules were read from (the routing file and its lists), for the watcher.
    pub fn watched_files(&self) -> &[PathBuf] {
        &self.watched
    }
}
