//! What every long-running part of the daemon last did, for `/readyz`: a channel or sink must
//! never fail silently. And how many passes over their work the stages have made, so a caller
//! (the tests) can tell the daemon has gone quiet instead of guessing it from a sleep.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One component's last known state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ComponentState {
    /// `source`, `sink` or `stage`.
    pub kind: &'static str,
    /// `ok`, `starting`, `failing`, `stopped`.
    pub state: &'static str,
    /// The last time it did its job.
    pub last_success: Option<DateTime<Utc>>,
    /// The last error, in words (no secrets).
    pub last_error: Option<String>,
    /// When the last error happened.
    pub last_error_at: Option<DateTime<Utc>>,
    /// When it started failing (its first error since it last did its job); `None` while it
    /// works.
    pub failing_since: Option<DateTime<Utc>>,
    /// Where it stands (a cursor, a queue depth), when it has such a thing.
    pub cursor: Option<String>,
    /// The passes over its work, for a stage that reports them (not shown in `/readyz`).
    #[serde(skip)]
    pub passes: Option<Passes>,
}

/// How many passes a stage has finished and how many of them found work: between two looks at
/// which every stage has finished two more passes and none found work, the daemon was quiet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Passes {
    /// Every finished pass.
    pub done: u64,
    /// The finished passes that found something to do (or failed).
    pub busy: u64,
}

/// The shared registry every task reports to.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<String, ComponentState>>>);

impl Health {
    fn update(&self, name: &str, f: impl FnOnce(&mut ComponentState)) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(name.to_string()).or_default());
    }

    /// Registers a component as starting.
    pub fn register(&self, name: &str, kind: &'static str) {
        self.update(name, |s| {
            s.kind = kind;
            s.state = "starting";
        });
    }

    /// Records that the component did its job.
    pub fn success(&self, name: &str, at: DateTime<Utc>, cursor: Option<String>) {
        self.update(name, |s| {
            s.state = "ok";
            s.last_success = Some(at);
            s.failing_since = None;
            if cursor.is_some() {
                s.cursor = cursor;
            }
        });
    }

    /// Records a failure.
    pub fn failure(&self, name: &str, at: DateTime<Utc>, error: String) {
        self.update(name, |s| {
            s.state = "failing";
            s.failing_since.get_or_insert(at);
            s.last_error = Some(error);
            s.last_error_at = Some(at);
        });
    }

    /// Records that a stage finished one pass over its work; `found_work` is false when it
    /// looked and nothing was due, so it now waits for a wake-up or its next look.
    pub fn pass(&self, name: &str, found_work: bool) {
        self.update(name, |s| {
            let p = s.passes.get_or_insert_default();
            p.done += 1;
            p.busy += u64::from(found_work);
        });
    }

    /// Every stage's passes so far, by name.
    pub fn passes(&self) -> BTreeMap<String, Passes> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter_map(|(name, s)| Some((name.clone(), s.passes?)))
            .collect()
    }

    /// Records that the component stopped (shutdown).
    pub fn stopped(&self, name: &str) {
        self.update(name, |s| s.state = "stopped");
    }

    /// A copy of every component's state.
    pub fn snapshot(&self) -> BTreeMap<String, ComponentState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_count_every_pass_and_the_busy_ones_of_reporting_stages_only() {
        let health = Health::default();
        health.register("source:site", "source");
        health.register("stage:sla", "stage");
        health.pass("stage:sla", false);
        health.pass("stage:sla", true);
        health.pass("stage:sla", false);
        let passes = health.passes();
        assert_eq!(passes.keys().collect::<Vec<_>>(), ["stage:sla"]);
        assert_eq!(passes["stage:sla"], Passes { done: 3, busy: 1 });
        let ready = serde_json::to_value(health.snapshot()).expect("JSON");
        assert!(ready["stage:sla"].get("passes").is_none(), "{ready}");
    }
}
