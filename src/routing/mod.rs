//! Routing by manager level: the rules engine admins edit in `config/routing.toml`.
//!
//! A decision has two phases, like the lead-scoring tools sales teams know: every
//! `[[scoring]]` entry whose condition holds adds points and tags, then the first `[[rules]]`
//! entry that matches sets the level, the strategy, tags and the SLA (or drops the lead). A
//! manager at that level is picked among the eligible ones (active, working now in their own
//! time zone, not on a day off, under `max_open`), with the fallback when nobody is.
//! Everything is explained in a [`Trace`].
//!
//! The file is read with its spans (`toml`'s `DeTable`) and compiled once into
//! [`CompiledRules`]; every mistake is reported with file, line and rule. Time and the
//! store's view come in through [`RoutingContext`], so decisions are pure and replayable.
//!
//! The submodules are layers, each importing only those below it (`tests/module_graph.rs`
//! fails on a cycle): `model` (the data types) ← `compile` (reading and validating the file)
//! and `eval` (deciding) ← `explain` (rendering traces) ← `last_good` (the copy a restart
//! falls back on) ← `reload` (the watcher).

mod compile;
mod eval;
mod explain;
mod last_good;
mod model;
mod reload;

pub use compile::error::{Problem, ProblemKind, RulesError};
pub use eval::hours::working_deadline;
pub use explain::trace_stored::{StoredTraceError, is_indexed, spell_out};
pub use last_good::{LastGood, LastGoodError};
pub use model::decision::{Decision, PickResult, RoutingContext};
pub use model::hours::Availability;
pub use model::label::Label;
pub use model::manager::{Manager, NotifyChannel};
pub use model::outcome::{Outcome, Pick};
pub use model::record::{EntryView, TestView, Tests};
pub use model::rules::{CompiledRules, Fallback, SlaPolicy};
pub use model::strategy::{PickedBy, Strategy, StrategyState};
pub use model::trace::{CandidateTrace, Eligibility, LevelTrace, PickTrace, Trace};
pub use model::values::DateSet;
pub use reload::{ReloadStatus, Reloads, RulesHandle, WatchError, watch_rules};

/// The cursor key under which routing strategy state (round-robin positions) is kept.
pub const STRATEGY_STATE_KEY: &str = "routing.strategy_state";

#[cfg(test)]
mod tests;
