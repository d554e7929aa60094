//! Admin alerts: a source failing for longer than `source_failing_after`, a source silent for
//! longer than its `silent_after`, a sink failing for longer than `sink_failing_after` (its
//! deliveries retried, none through), a sink with dead-lettered deliveries, a manager whose
//! messages cannot be delivered (a wrong chat id, a blocked bot, a refused address), leads
//! held because nobody is eligible. Each incident is announced once when it opens and once when it is over;
//! open incidents are kept in the store, so a restart neither repeats nor forgets them.

use super::config::AlertsConfig;
use super::queue::Notices;
use crate::clock::{Clock, SystemClock};
use crate::health::Health;
use crate::leases::PUBLISHED_FOR;
use crate::routing::RulesHandle;
use crate::store::{NotificationStore, SourceState, Store, StoreError};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The cursor the open incidents are kept under.
pub const INCIDENTS_KEY: &str = "alerts.open";

/// An open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Incident {
    opened: DateTime<Utc>,
    text: String,
}

/// Watches for incidents and queues the alerts.
#[derive(Clone)]
pub struct AlertMonitor {
    /// The store (open incidents).
    pub store: Arc<dyn Store>,
    /// The notification side of the store (the conditions, the outbox).
    pub notes: Arc<dyn NotificationStore>,
    /// Component states (failing sources).
    pub health: Health,
    /// Builds the alert messages.
    pub notices: Notices,
    /// What counts as an incident.
    pub cfg: AlertsConfig,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Wakes the notify worker.
    pub wake: Arc<Notify>,
    /// When the daemon started: a source that never sent anything is silent since then.
    pub started: DateTime<Utc>,
    /// Where the open incidents are counted.
    pub metrics: Metrics,
    /// The rules in force (the managers' addresses now).
    pub rules: RulesHandle,
    /// This replica's id: the sources other replicas run are read from what they publish.
    pub replica: String,
}

fn since(now: DateTime<Utc>, then: DateTime<Utc>) -> std::time::Duration {
    (now - then).to_std().unwrap_or_default()
}

impl AlertMonitor {
    /// Checks every `check_every` until `shutdown`: that long after the last check on the
    /// daemon's clock (incidents are counted in its time), and at most that long in real time
    /// (a component's state changes without the clock moving).
    pub async fn run(self, shutdown: CancellationToken) {
        const NAME: &str = "stage:alerts";
        let health = &self.health;
        health.register(NAME, "stage");
        let every =
            chrono::Duration::from_std(self.cfg.check_every).unwrap_or(chrono::Duration::MAX);
        while !shutdown.is_cancelled() {
            // A success at `now` says every incident open at `now` has been announced.
            let now = self.clock.now();
            match self.check_at(now).await {
                Ok(changes) => {
                    health.success(NAME, now, None);
                    health.pass(NAME, changes > 0);
                }
                Err(e) => {
                    tracing::error!(error = %e, "The alert check failed; it runs again.");
                    health.failure(NAME, now, e.to_string());
                    health.pass(NAME, true);
                }
            }
            let (due, max_idle) = (now.checked_add_signed(every), self.cfg.check_every);
            let clock = self.clock.as_ref();
            health
                .idle(NAME, clock, due, max_idle, None, &shutdown)
                .await;
        }
        health.stopped(NAME);
    }

    /// The sources' states: the ones this replica runs from its own health, the ones other
    /// replicas run (each source runs under a lease, on one replica) from what they published
    /// lately; a source stopped here because another replica took its lease is read there.
    async fn sources(&self) -> Result<Vec<SourceState>, StoreError> {
        let mut states: BTreeMap<String, SourceState> = (self.health.running_sources())
            .into_iter()
            .map(|s| (s.name.clone(), s))
            .collect();
        let fresh =
            SystemClock.now() - chrono::Duration::from_std(PUBLISHED_FOR).unwrap_or_default();
        for s in self.store.published_sources(&self.replica, fresh).await? {
            states.entry(s.name.clone()).or_insert(s);
        }
        Ok(states.into_values().collect())
    }

    /// The incidents open now, by key.
    async fn current(&self, now: DateTime<Utc>) -> Result<BTreeMap<String, String>, StoreError> {
        let mut open = BTreeMap::new();
        for s in self.sources().await? {
            if s.state != "failing" {
                continue;
            }
            if since(now, s.last_success.unwrap_or(self.started)) >= self.cfg.source_failing_after {
                open.insert(
                    format!("source_failing:{}", s.name),
                    format!(
                        "{} is failing: {}",
                        s.name,
                        s.last_error.unwrap_or_else(|| "no detail".into())
                    ),
                );
            }
        }
        for (name, c) in self.health.snapshot() {
            if c.kind != "sink" || c.state != "failing" {
                continue;
            }
            let since_at = c.failing_since.unwrap_or(self.started);
            if since(now, since_at) >= self.cfg.sink_failing_after {
                open.insert(
                    format!("sink_failing:{name}"),
                    format!(
                        "{name} has been failing since {}: {}; its deliveries are being retried",
                        since_at.format("%Y-%m-%d %H:%M UTC"),
                        c.last_error.unwrap_or_else(|| "no detail".into())
                    ),
                );
            }
        }
        let last = self.notes.last_inbound_per_source().await?;
        for (source, allowed) in &self.cfg.silent_after {
            let at = last.get(source).copied().unwrap_or(self.started);
            if since(now, at) >= *allowed {
                open.insert(
                    format!("source_silent:{source}"),
                    format!(
                        "source {source} has sent nothing since {} (allowed: {}s of silence)",
                        at.format("%Y-%m-%d %H:%M UTC"),
                        allowed.as_secs()
                    ),
                );
            }
        }
        for (sink, n) in self.notes.dead_per_sink().await? {
            if n > 0 {
                open.insert(
                    format!("sink_dead:{sink}"),
                    format!(
                        "dead-lettered deliveries to sink {sink}: {n}; fix the sink, then run `leadgate replay --sink {sink}`"
                    ),
                );
            }
        }
        let rules = self.rules.current();
        for u in self.notes.unreachable_managers().await? {
            // Only the address the manager has now: a chat id fixed in routing.toml ends it.
            let Some(m) = rules.manager(&u.recipient) else {
                continue;
            };
            if self.notices.reaches(m, &u.channel, &u.address) {
                open.insert(
                    format!("unreachable:{}:{}", u.recipient, u.channel),
                    format!(
                        "{} ({}) cannot be reached by {} at {}: {} message(s) not delivered, last: {}; check the address in routing.toml (a Telegram chat must /start the managers' bot first)",
                        m.name,
                        m.id,
                        u.channel,
                        u.address,
                        u.dead,
                        u.last_error.as_deref().unwrap_or("no detail")
                    ),
                );
            }
        }
        for (level, n) in self.notes.held_per_level().await? {
            if n > 0 {
                open.insert(
                    format!("held:{level}"),
                    format!("leads held at level {level}: {n}; nobody there is eligible now (hours, days off, capacity)"),
                );
            }
        }
        Ok(open)
    }

    /// Compares what is open at `now` with what was, and queues an alert for each change.
    pub async fn check_at(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let current = self.current(now).await?;
        let mut known: BTreeMap<String, Incident> = self
            .store
            .get_cursor(INCIDENTS_KEY)
            .await?
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let mut rows = Vec::new();
        for (key, text) in &current {
            if !known.contains_key(key) {
                tracing::warn!(incident = %key, "{text}");
                rows.extend(self.notices.alert(key, now, text, false, now));
                known.insert(
                    key.clone(),
                    Incident {
                        opened: now,
                        text: text.clone(),
                    },
                );
            }
        }
        let over: Vec<String> = known
            .keys()
            .filter(|k| !current.contains_key(*k))
            .cloned()
            .collect();
        for key in &over {
            if let Some(i) = known.remove(key) {
                tracing::info!(incident = %key, "Over: {}", i.text);
                rows.extend(self.notices.alert(key, i.opened, &i.text, true, now));
            }
        }
        let changes = rows.len();
        if !rows.is_empty() {
            self.notes.queue_notifications(&rows).await?;
            self.wake.notify_one();
        }
        let text = serde_json::to_string(&known).unwrap_or_default();
        self.store.set_cursor(INCIDENTS_KEY, &text, now).await?;
        (self.metrics.gauge("leadgate_incidents_open", &[])).set(known.len() as f64);
        Ok(changes)
    }
}
