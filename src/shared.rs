//! The handles every long-running component is started with, in one place: a source, a sink
//! or a notifier is started as `start(config, &Shared)` instead of with a bag of its own.

use crate::clock::Clock;
use crate::health::Health;
use crate::intake::Intake;
use crate::leases::Leases;
use crate::store::Store;
use crate::telemetry::Metrics;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// What the daemon shares with each component it starts.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The durable store (cursors, offsets, the outbox).
    pub store: Arc<dyn Store>,
    /// Where received items are committed before anything else happens to them.
    pub intake: Intake,
    /// Business time and ids.
    pub clock: Arc<dyn Clock>,
    /// Where each component reports how it is doing, for `/readyz`.
    pub health: Health,
    /// This daemon's counters, for `/metrics`.
    pub metrics: Metrics,
    /// Where the component's tasks run, and the signal that stops them.
    pub tasks: Tasks,
    /// The leases of work that must run on one replica at a time.
    pub leases: Leases,
}

impl Shared {
    /// The same handles with the component's tasks on `tasks` (the daemon stops the sources
    /// that pull before the stages).
    pub fn on(&self, tasks: &Tasks) -> Shared {
        Shared {
            tasks: tasks.clone(),
            ..self.clone()
        }
    }

    /// Starts, inside `span`, the work `task` makes whenever this replica holds the lease
    /// `lease` (a mailbox folder, a bot, processing): on one replica at a time, moving to
    /// another when this one dies or stops. `task` is given the signal to stop on.
    pub fn spawn_once<F, Fut>(&self, lease: String, span: tracing::Span, task: F)
    where
        F: Fn(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let run = (self.leases.clone()).run_while_held(lease, self.tasks.stopping(), task);
        self.tasks.spawn(span, run);
    }
}

/// A set of long-running tasks stopped together: each is started inside its span, so every
/// line it logs says whose it is.
#[derive(Debug, Clone, Default)]
pub struct Tasks {
    tracker: TaskTracker,
    stop: CancellationToken,
}

impl Tasks {
    /// Starts `task` inside `span`.
    pub fn spawn(&self, span: tracing::Span, task: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(task.instrument(span));
    }

    /// The signal the tasks watch: cancelled when they must stop.
    pub fn stopping(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Tells every task to stop.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// Tells every task to stop and waits up to `grace` for them; whether they all ended.
    pub async fn stop_within(&self, grace: Duration) -> bool {
        self.stop();
        self.tracker.close();
        tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
    }
}

/// A component that could not start, and why (an HTTP client or a connection that could not
/// be set up).
#[derive(Debug, thiserror::Error)]
#[error("{id}: {message}")]
pub struct StartError {
    /// The component's id (a source's or a sink's), or its section (`notify`, `attachments`).
    pub id: String,
    /// What went wrong.
    pub message: String,
}

impl StartError {
    /// `id` could not start because of `error`.
    pub fn of(id: &str, error: impl std::fmt::Display) -> StartError {
        StartError {
            id: id.to_string(),
            message: error.to_string(),
        }
    }
}
