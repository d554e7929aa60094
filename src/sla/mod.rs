//! Managers in the loop: the SLA timer that passes unacknowledged leads on, and the
//! acknowledge / decline actions. Timers are the assignments' deadlines in the store, so they
//! survive restarts.

mod crm;
mod pass;
mod reach;
mod reroute;
mod resend;
mod taps;

pub use crm::{ReportOutcome, ReportingSink};
pub use pass::{PassContext, PassReason, Passed, pass_on};
pub use reach::{CrmSink, Reach};
pub use reroute::Rerouted;
pub use taps::{OFFSET_KEY, TapListener};

use crate::clock::Clock;
use crate::deliver::{SinkRoute, outbox_rows};
use crate::health::Health;
use crate::lead::EventType;
use crate::notify::Notices;
use crate::routing::STRATEGY_STATE_KEY;
use crate::routing::{RulesHandle, StrategyState};
use crate::store::{LeadStatus, LeadUpdate, Store, StoreError, StoreTx};
use crate::telemetry::Metrics;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// The SLA stage: wakes at the next deadline and passes every overdue lead on.
#[derive(Clone)]
pub struct SlaWorker {
    /// What acting on a lead needs (the store, the rules, the clock, the sinks).
    pub desk: Actions,
    /// Raised after a commit that may set a deadline sooner than the one it sleeps until (a
    /// new or passed-on assignment).
    pub wake: Arc<Notify>,
    /// The longest real time it sleeps without a wake-up before looking for due deadlines.
    pub max_idle: Duration,
}

async fn load_state(tx: &mut dyn StoreTx) -> Result<StrategyState, StoreError> {
    Ok(match tx.get_cursor(STRATEGY_STATE_KEY).await? {
        Some(s) => serde_json::from_str(&s).unwrap_or_default(),
        None => StrategyState::default(),
    })
}

/// Takes the rotation's lock (on PostgreSQL its row stays locked to the commit) where its
/// state is not needed: an action that rewrites a lead's record takes it first, as
/// processing does for its whole batch, so no batch joins a message into the record between
/// the action's read and its write.
async fn lock_rotation(tx: &mut dyn StoreTx) -> Result<(), StoreError> {
    load_state(tx).await.map(drop)
}

/// Counts a take's time in the manager's working hours into the reports' daily totals (the
/// wall-clock time is counted by the store's trigger as the assignment ends).
async fn note_take(
    tx: &mut dyn StoreTx,
    rules: &crate::routing::CompiledRules,
    manager: &str,
    level: &str,
    assigned_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let worked = rules
        .working_time(manager, assigned_at, now)
        .num_seconds()
        .max(0) as u64;
    let bucket = crate::store::TAKE_BUCKETS
        .iter()
        .position(|&b| worked <= b)
        .unwrap_or(9);
    let day = assigned_at.format("%Y-%m-%d").to_string();
    tx.record_take(&day, manager, level, bucket).await
}

async fn save_state(
    tx: &mut dyn StoreTx,
    state: &StrategyState,
    clock: &dyn Clock,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(state).unwrap_or_default();
    tx.set_cursor(STRATEGY_STATE_KEY, &text, clock.now()).await
}

impl SlaWorker {
    /// Runs until `shutdown`, sleeping until the next deadline on the clock (or a wake-up:
    /// a new assignment may be due sooner).
    pub async fn run(self, health: Health, shutdown: CancellationToken) {
        const NAME: &str = "stage:sla";
        health.register(NAME, "stage");
        let clock = self.desk.clock.clone();
        while !shutdown.is_cancelled() {
            match self.run_once().await {
                Ok(moved) => {
                    health.success(NAME, clock.now(), None);
                    let due = self.desk.store.next_ack_due().await.ok().flatten();
                    health.pass(NAME, moved > 0);
                    let (wake, max_idle) = (Some(&*self.wake), self.max_idle);
                    health
                        .idle(NAME, clock.as_ref(), due, max_idle, wake, &shutdown)
                        .await;
                }
                Err(e) => {
                    tracing::error!(error = %e, "The SLA pass failed; it is retried.");
                    health.failure(NAME, clock.now(), e.to_string());
                    health.pass(NAME, true);
                    let retry = Duration::from_secs(2);
                    health
                        .idle(NAME, clock.as_ref(), None, retry, None, &shutdown)
                        .await;
                }
            }
        }
        health.stopped(NAME);
    }

    /// Passes every overdue lead on, in one transaction; returns how many moved.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let rules = self.desk.rules.current();
        let now = self.desk.clock.now();
        // Nothing due yet (a processing batch that set a deadline wakes the timer): no
        // transaction, so neither SQLite's write turn nor PostgreSQL's rotation lock is taken.
        if (self.desk.store.next_ack_due().await?).is_none_or(|due| due > now) {
            return Ok(0);
        }
        let mut tx = self.desk.store.begin().await?;
        // The rotation first: on PostgreSQL its row stays locked to the commit, so the open
        // counts read next are what the last writer left (`max_open` across replicas), and
        // the records read with the due assignments are not changed by a processing batch
        // (which holds the rotation to its commit) before this pass writes them back.
        let mut state = load_state(tx.as_mut()).await?;
        let due = tx.due_assignments(now, 200).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut open = tx.open_leads_per_manager().await?;
        let mut cx = PassContext {
            rules: &rules,
            clock: self.desk.clock.as_ref(),
            sinks: &self.desk.sinks,
            open: &mut open,
            state: &mut state,
            notices: &self.desk.notices,
            reach: &self.desk.reach,
            metrics: &self.desk.metrics,
        };
        let n = due.len();
        for active in due {
            let lead = active.lead.record.id.clone();
            let from = active.manager_id.clone();
            let passed = pass_on(tx.as_mut(), &mut cx, active, PassReason::Expired, now).await?;
            tracing::info!(lead = %lead, from = %from, passed = ?passed, "SLA ran out: the lead was passed on.");
            (self.desk.metrics.counter("leadgate_sla_expired_total", &[])).increment(1);
        }
        save_state(tx.as_mut(), &state, self.desk.clock.as_ref()).await?;
        tx.commit().await?;
        for w in &self.desk.sink_wakers {
            w.notify_one();
        }
        Ok(n)
    }
}

/// Why an acknowledgement or a decline was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No such lead.
    #[error("no such lead")]
    NotFound,
    /// The lead is not (or no longer) with this manager.
    #[error("the lead has already passed to {current}")]
    NotCurrent {
        /// Who has it now (a name for the polite answer).
        current: String,
    },
    /// The lead was already acknowledged.
    #[error("the lead was already taken by {by}")]
    AlreadyTaken {
        /// Who took it.
        by: String,
    },
    /// A link or a button made for an earlier assignment of the lead, while the same manager
    /// holds a later one (the lead came back to them): what they decided then is not what
    /// they are asked now.
    #[error("made for assignment {made_for} of the lead, which is at assignment {current} now")]
    Stale {
        /// The assignment the link or button was made for.
        made_for: u32,
        /// The assignment the manager holds now.
        current: u32,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the manager did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Took the lead.
    Acknowledge,
    /// Gave it back, with a reason.
    Decline(String),
}

/// Everything acting on a lead needs.
#[derive(Clone)]
pub struct Actions {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The rules in force.
    pub rules: RulesHandle,
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// The sinks and their events.
    pub sinks: Vec<SinkRoute>,
    /// Signals that wake each sink's worker and the notify worker.
    pub sink_wakers: Vec<Arc<Notify>>,
    /// The notifications a pass or an acknowledgement queues.
    pub notices: Notices,
    /// Who can acknowledge, so only their assignments get a deadline.
    pub reach: Reach,
    /// Where assignments, takes and expired SLAs are counted.
    pub metrics: Metrics,
}

impl Actions {
    /// Records what `manager` (when named, it must be the one who has the lead now) did with
    /// the lead. An acknowledgement stops the SLA and sends `lead.acknowledged`; a decline
    /// passes the lead on at once.
    pub async fn act(
        &self,
        lead_id: &str,
        manager: Option<&str>,
        action: Action,
    ) -> Result<Option<Passed>, ActionError> {
        self.act_at(lead_id, manager, None, action).await
    }

    /// [`Actions::act`] for a mail link or a card button made for the lead's assignment
    /// `attempt`: refused with [`ActionError::Stale`] when `manager` holds a later assignment
    /// of the lead (it came back to them), so an old link never decides the new one.
    pub async fn act_on_assignment(
        &self,
        lead_id: &str,
        manager: &str,
        attempt: u32,
        action: Action,
    ) -> Result<Option<Passed>, ActionError> {
        self.act_at(lead_id, Some(manager), Some(attempt), action)
            .await
    }

    async fn act_at(
        &self,
        lead_id: &str,
        manager: Option<&str>,
        attempt: Option<u32>,
        action: Action,
    ) -> Result<Option<Passed>, ActionError> {
        let rules = self.rules.current();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The rotation first, as processing and the SLA timer take it (on PostgreSQL its row
        // stays locked to the commit): no batch can join a message into the lead's record
        // while this action rewrites it. Then the assignment, locked, and only then the lead:
        // read after the lock, it is what an SLA pass that held the lock left, so the
        // manager is told who has the lead now, not who had it before.
        let mut state = load_state(tx.as_mut()).await?;
        let active = tx.active_assignment(lead_id).await?;
        let stored = tx.lead(lead_id).await?.ok_or(ActionError::NotFound)?;
        let name_of = |id: &str| {
            rules
                .manager(id)
                .map_or_else(|| id.to_string(), |m| m.name.clone())
        };
        if stored.status == LeadStatus::Acknowledged {
            return Err(ActionError::AlreadyTaken {
                by: name_of(stored.manager_id.as_deref().unwrap_or("")),
            });
        }
        let Some(active) = active.filter(|a| manager.is_none_or(|m| m == a.manager_id)) else {
            let current = stored
                .manager_id
                .as_deref()
                .map(name_of)
                .unwrap_or_else(|| "nobody yet".into());
            return Err(ActionError::NotCurrent { current });
        };
        if let Some(made_for) = attempt.filter(|&a| a != active.attempt) {
            return Err(ActionError::Stale {
                made_for,
                current: active.attempt,
            });
        }
        let passed = match action {
            Action::Acknowledge => {
                tx.end_assignment(lead_id, "acknowledged", now).await?;
                note_take(
                    tx.as_mut(),
                    &rules,
                    &active.manager_id,
                    &active.level,
                    active.assigned_at,
                    now,
                )
                .await?;
                self.metrics
                    .manager_acknowledged(&active.manager_id, Some(now - active.assigned_at));
                let lead = active.lead.record.clone();
                tx.update_lead(&LeadUpdate {
                    record: lead.clone(),
                    status: LeadStatus::Acknowledged,
                    at: now,
                    trace: None,
                })
                .await?;
                tx.audit(
                    lead_id,
                    now,
                    "acknowledged",
                    &json!({"manager": active.manager_id}),
                )
                .await?;
                tx.insert_outbox(&outbox_rows(
                    &self.sinks,
                    &rules,
                    self.clock.as_ref(),
                    EventType::Acknowledged,
                    &lead,
                    now,
                ))
                .await?;
                None
            }
            Action::Decline(reason) => {
                tx.audit(
                    lead_id,
                    now,
                    "declined",
                    &json!({"manager": active.manager_id, "reason": reason}),
                )
                .await?;
                let mut open = tx.open_leads_per_manager().await?;
                let mut cx = PassContext {
                    rules: &rules,
                    clock: self.clock.as_ref(),
                    sinks: &self.sinks,
                    open: &mut open,
                    state: &mut state,
                    notices: &self.notices,
                    reach: &self.reach,
                    metrics: &self.metrics,
                };
                let passed = pass_on(
                    tx.as_mut(),
                    &mut cx,
                    active,
                    PassReason::Declined(reason),
                    now,
                )
                .await?;
                save_state(tx.as_mut(), &state, self.clock.as_ref()).await?;
                Some(passed)
            }
        };
        tx.commit().await?;
        for w in &self.sink_wakers {
            w.notify_one();
        }
        Ok(passed)
    }
}
