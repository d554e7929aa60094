//! A [`Trace`] as stored with each lead: the decision, and its record by index into the
//! texts of the rules version that decided (each test as written, each entry's name, line and
//! points), which are stored once per version rather than once per lead. Spelt out, a trace
//! repeats every test of the rules: with a few hundred scoring entries that is hundreds of
//! KiB a lead; by index it is a few bytes per test evaluated. The admin reads it spelt out
//! again ([`spell_out`]), as `trace_json` writes it.

use serde::{Deserialize, Serialize};

use crate::routing::model::label::Label;
use crate::routing::model::outcome::Outcome;
use crate::routing::model::record::{IndexedRecord, RulesTexts};
use crate::routing::model::rules::CompiledRules;
use crate::routing::model::trace::{PickTrace, Trace};

/// The marker of the stored form: `"format": 2` (a trace spelt out has no `format`).
const FORMAT: u8 = 2;

/// A trace as stored.
#[derive(Serialize, Deserialize)]
struct StoredTrace {
    format: u8,
    rules_version: String,
    score: i64,
    tags: Vec<Label>,
    rule: Label,
    ack_within: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pick: Option<PickTrace>,
    outcome: Outcome,
    record: IndexedRecord,
}

/// Why a stored trace could not be spelt out.
#[derive(Debug, thiserror::Error)]
pub enum StoredTraceError {
    /// The row is not a stored trace of this form.
    #[error("the stored trace cannot be read: {0}")]
    Trace(String),
    /// The rules version's texts are not the ones the trace points into.
    #[error("the rules texts cannot be read: {0}")]
    Texts(String),
}

impl Trace {
    /// The trace as stored with the lead (JSON text); [`CompiledRules::texts`] of the rules
    /// that decided spell it out again.
    pub fn stored(&self) -> String {
        let stored = StoredTrace {
            format: FORMAT,
            rules_version: self.rules_version.clone(),
            score: self.score,
            tags: self.tags.clone(),
            rule: self.rule.clone(),
            ack_within: self.ack_within.clone(),
            pick: self.pick.clone(),
            outcome: self.outcome.clone(),
            record: self.record.indexed(),
        };
        serde_json::to_string(&stored).unwrap_or_else(|_| "null".into())
    }
}

impl CompiledRules {
    /// The texts stored traces of this version point into (JSON text), kept once per version.
    pub fn texts(&self) -> &str {
        self.texts.get_or_init(|| {
            serde_json::to_string(&self.explain.texts()).unwrap_or_else(|_| "null".into())
        })
    }
}

/// Whether a stored trace is in the indexed form (and needs its rules' texts to be read).
pub fn is_indexed(trace: &serde_json::Value) -> bool {
    trace.get("format").and_then(serde_json::Value::as_u64) == Some(u64::from(FORMAT))
}

/// A stored trace spelt out, with the texts of its rules version: the JSON a spelt-out trace
/// has always had (every scoring entry and rule with its tests and what they found).
pub fn spell_out(
    trace: serde_json::Value,
    texts: &str,
) -> Result<serde_json::Value, StoredTraceError> {
    let stored: StoredTrace =
        serde_json::from_value(trace).map_err(|e| StoredTraceError::Trace(e.to_string()))?;
    let texts: RulesTexts =
        serde_json::from_str(texts).map_err(|e| StoredTraceError::Texts(e.to_string()))?;
    let record = stored
        .record
        .restore(texts)
        .map_err(StoredTraceError::Texts)?;
    let trace = Trace {
        rules_version: stored.rules_version,
        score: stored.score,
        tags: stored.tags,
        rule: stored.rule,
        ack_within: stored.ack_within,
        pick: stored.pick,
        outcome: stored.outcome,
        record,
    };
    serde_json::to_value(&trace).map_err(|e| StoredTraceError::Trace(e.to_string()))
}
