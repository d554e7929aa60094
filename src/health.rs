//! What every long-running part of the daemon last did, for `/readyz`: a channel or sink must
//! never fail silently. And how many passes over their work the stages have made and until
//! when each waits, so a caller (the tests) can tell the daemon has gone quiet instead of
//! guessing it from a sleep.

use crate::clock::Clock;
use crate::store::SourceState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

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
    /// When the stage's next known work falls due on the daemon's clock, as it said going idle
    /// after its last pass (`None`: nothing known, it waits to be woken); not shown in
    /// `/readyz`.
    #[serde(skip)]
    pub idle_until: Option<DateTime<Utc>>,
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

/// The shortest real wait of a stage whose next work is already due: the store may not have
/// caught up with the clock yet, and a stage must not spin on it.
const DUE_FLOOR: Duration = Duration::from_millis(5);

/// The shared registry every task reports to.
#[derive(Debug, Clone, Default)]
pub struct Health {
    states: Arc<Mutex<BTreeMap<String, ComponentState>>>,
    /// Per stage, the signal [`Health::look_again`] raises.
    looks: Arc<Mutex<BTreeMap<String, Arc<Notify>>>>,
}

impl Health {
    fn update(&self, name: &str, f: impl FnOnce(&mut ComponentState)) {
        let mut map = self.states.lock().unwrap_or_else(|e| e.into_inner());
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
        let map = self.states.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter_map(|(name, s)| Some((name.clone(), s.passes?)))
            .collect()
    }

    /// Records that a stage goes idle until `due` on the daemon's clock, when its next work
    /// falls due (`None`: it knows of none and waits to be woken).
    pub fn idle_until(&self, name: &str, due: Option<DateTime<Utc>>) {
        self.update(name, |s| s.idle_until = due);
    }

    /// The stages whose next work was due at or before `at` when they last went idle: they
    /// have work waiting (or are doing it now).
    pub fn due_by(&self, at: DateTime<Utc>) -> Vec<String> {
        let map = self.states.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(_, s)| s.idle_until.is_some_and(|due| due <= at))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Asks every idle stage to make one more pass now, whatever it waits for: a caller that
    /// must know the daemon is quiet (the tests) sees each stage look at the store again.
    pub fn look_again(&self) {
        let looks = self.looks.lock().unwrap_or_else(|e| e.into_inner());
        looks.values().for_each(|l| l.notify_one());
    }

    fn look_signal(&self, name: &str) -> Arc<Notify> {
        let mut looks = self.looks.lock().unwrap_or_else(|e| e.into_inner());
        looks.entry(name.to_string()).or_default().clone()
    }

    /// A stage's wait between passes, reported first ([`Health::idle_until`]): until `due` on
    /// `clock` (its next known work), `wake` (new work), [`Health::look_again`] or `shutdown`,
    /// and never longer than `max_idle` of real time, the look that catches what came without
    /// a wake-up.
    pub async fn idle(
        &self,
        name: &str,
        clock: &dyn Clock,
        due: Option<DateTime<Utc>>,
        max_idle: Duration,
        wake: Option<&Notify>,
        shutdown: &CancellationToken,
    ) {
        self.idle_until(name, due);
        let look = self.look_signal(name);
        let until_due = async {
            match due {
                Some(at) if at > clock.now() => clock.sleep_until(at).await,
                Some(_) => tokio::time::sleep(DUE_FLOOR).await,
                None => std::future::pending().await,
            }
        };
        let woken = async {
            match wake {
                Some(w) => w.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = until_due => {}
            () = tokio::time::sleep(max_idle) => {}
            () = woken => {}
            () = look.notified() => {}
            () = shutdown.cancelled() => {}
        }
    }

    /// Records that the component stopped (shutdown).
    pub fn stopped(&self, name: &str) {
        self.update(name, |s| s.state = "stopped");
    }

    /// A copy of every component's state.
    pub fn snapshot(&self) -> BTreeMap<String, ComponentState> {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The sources running here (not stopped: a source whose lease another replica took is
    /// stopped here), as replicas share them ([`crate::store::LeaseStore::publish_sources`]).
    pub fn running_sources(&self) -> Vec<SourceState> {
        (self.snapshot().into_iter())
            .filter(|(_, c)| c.kind == "source" && c.state != "stopped")
            .map(|(name, c)| SourceState {
                name,
                state: c.state.to_string(),
                last_success: c.last_success,
                last_error: c.last_error,
            })
            .collect()
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

    #[tokio::test]
    async fn an_idle_stage_is_due_once_the_clock_reaches_its_time_and_the_clock_wakes_it() {
        use crate::clock::ManualClock;
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .expect("time")
            .to_utc();
        let clock = Arc::new(ManualClock::new(t0));
        let health = Health::default();
        let due = t0 + chrono::Duration::minutes(30);
        let idle = tokio::spawn({
            let (health, clock) = (health.clone(), clock.clone());
            async move {
                let stop = CancellationToken::new();
                let hour = Duration::from_secs(3600);
                health
                    .idle("stage:sla", clock.as_ref(), Some(due), hour, None, &stop)
                    .await;
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(health.due_by(clock.now()).is_empty(), "not due yet");
        clock.advance(chrono::Duration::minutes(31));
        assert_eq!(health.due_by(clock.now()), ["stage:sla"]);
        tokio::time::timeout(Duration::from_secs(2), idle)
            .await
            .expect("the clock woke the idle stage")
            .expect("it ran");
    }

    #[tokio::test]
    async fn look_again_wakes_an_idle_stage_that_knows_of_no_work() {
        let health = Health::default();
        let idle = tokio::spawn({
            let health = health.clone();
            async move {
                let clock = crate::clock::SystemClock;
                let stop = CancellationToken::new();
                let hour = Duration::from_secs(3600);
                health
                    .idle("stage:files", &clock, None, hour, None, &stop)
                    .await;
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        health.look_again();
        tokio::time::timeout(Duration::from_secs(2), idle)
            .await
            .expect("look_again woke it")
            .expect("it ran");
    }
}
