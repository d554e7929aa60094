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

mod compile;
mod condition;
mod decide;
mod error;
mod facts;
mod hours;
mod manager;
mod read;
mod record;
mod reload;
mod rules;
mod strategy;
mod suppress;
mod text;
mod trace;
mod trace_json;
mod trace_stored;
mod values;
mod when;
mod words;

pub use decide::{Decision, Outcome, Pick, PickResult, RoutingContext};
pub use error::{Problem, ProblemKind, RulesError};
pub use hours::Availability;
pub use manager::{Manager, NotifyChannel, working_deadline};
pub use record::{EntryView, TestView, Tests};
pub use reload::{ReloadStatus, RulesHandle, WatchError, watch_rules};
pub use rules::{CompiledRules, Fallback, SlaPolicy};
pub use strategy::{PickedBy, Strategy, StrategyState};
pub use trace::{CandidateTrace, Eligibility, Label, LevelTrace, PickTrace, Trace};
pub use trace_stored::{StoredTraceError, is_indexed, spell_out};
pub use values::DateSet;

/// The cursor key under which routing strategy state (round-robin positions) is kept.
pub const STRATEGY_STATE_KEY: &str = "routing.strategy_state";

#[cfg(test)]
mod tests;
