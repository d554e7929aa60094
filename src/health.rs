//! What every long-running part of the daemon last did, for `/readyz`: a channel or sink must
//! never fail silently.

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

    /// Records that the component stopped (shutdown).
    pub fn stopped(&self, name: &str) {
        self.update(name, |s| s.state = "stopped");
    }

    /// A copy of every component's state.
    pub fn snapshot(&self) -> BTreeMap<String, ComponentState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
