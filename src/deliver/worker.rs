//! The delivery stage: one task per sink claims due outbox rows, sends them (up to the sink's
//! concurrency at once) and records every attempt. A slow sink only slows itself.

use super::file::FileSink;
use super::retry::{Verdict, classify, next_delay};
use super::webhook::WebhookSink;
use crate::clock::Clock;
use crate::connectors::Preset;
use crate::deliver::{SinkConfig, SinkKind};
use crate::health::Health;
use crate::store::{DeliveryOutcome, DeliveryResult, OutboxRow, Store};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How a sink sends.
#[derive(Debug, Clone)]
enum Transport {
    File(FileSink),
    Webhook {
        sink: WebhookSink,
        preset: Option<Arc<Preset>>,
        concurrency: usize,
        horizon: Duration,
        timeout: Duration,
    },
}

/// One sink's delivery loop and the signal that wakes it.
#[derive(Debug, Clone)]
pub struct SinkWorker {
    id: String,
    transport: Transport,
    wake: Arc<Notify>,
    max_idle: Duration,
    metrics: Metrics,
}

impl SinkWorker {
    /// Builds the worker for a configured sink; `max_idle` is the longest real time it sleeps
    /// without a wake-up before looking again (a retry wakes it through the clock).
    pub fn new(
        cfg: &SinkConfig,
        max_idle: Duration,
        metrics: Metrics,
    ) -> Result<SinkWorker, String> {
        let transport = match &cfg.kind {
            SinkKind::File { path } => Transport::File(FileSink::new(path)),
            SinkKind::Webhook(w) => Transport::Webhook {
                sink: WebhookSink::new(w)?,
                preset: w.preset.clone(),
                concurrency: w.concurrency,
                horizon: w.retry_horizon,
                timeout: w.timeout,
            },
        };
        Ok(SinkWorker {
            id: cfg.id.clone(),
            transport,
            wake: Arc::new(Notify::new()),
            max_idle,
            metrics,
        })
    }

    /// The sink id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signal the processing stage raises after queueing events for this sink.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    fn batch_and_lease(&self) -> (ClaimSize, Duration) {
        match &self.transport {
            Transport::File(_) => (ClaimSize::new(500, 500), Duration::from_secs(30)),
            Transport::Webhook {
                concurrency,
                timeout,
                preset,
                ..
            } => {
                let base = (*concurrency as u32) * 4;
                (
                    ClaimSize::new(base, base * MAX_CLAIM_GROWTH),
                    lease_for(*timeout, calls_of(preset.as_deref())),
                )
            }
        }
    }

    /// Runs until `shutdown`; in-flight sends of the current batch finish first.
    pub async fn run(
        self,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        health: Health,
        shutdown: CancellationToken,
    ) {
        let name = format!("sink:{}", self.id);
        health.register(&name, "sink");
        let (mut batch, lease) = self.batch_and_lease();
        while !shutdown.is_cancelled() {
            let now = clock.now();
            // The lease is counted from before the claim: a claim that waited for the store
            // has used up part of it already.
            let claiming = std::time::Instant::now();
            let lease_until =
                now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
            let rows = match store
                .claim_outbox(&self.id, now, lease_until, batch.get())
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(sink = %self.id, error = %e, "Cannot claim deliveries.");
                    health.failure(&name, now, e.to_string());
                    health.pass(&name, true);
                    let retry = self.max_idle.min(Duration::from_secs(2));
                    let wake = Some(&*self.wake);
                    health
                        .idle(&name, clock.as_ref(), None, retry, wake, &shutdown)
                        .await;
                    continue;
                }
            };
            if rows.is_empty() {
                // A retry falls due on the clock: the worker sleeps until then (or a wake-up).
                let due = store.next_outbox_due(&self.id).await.ok().flatten();
                health.pass(&name, false);
                let (wake, max_idle) = (Some(&*self.wake), self.max_idle);
                health
                    .idle(&name, clock.as_ref(), due, max_idle, wake, &shutdown)
                    .await;
                continue;
            }
            let sending = std::time::Instant::now();
            let results = self.send(&rows, &store, &clock, lease, claiming).await;
            let took = sending.elapsed();
            let delivered = results
                .iter()
                .filter(|r| r.outcome == DeliveryOutcome::Delivered)
                .count();
            self.count(delivered, results.len() - delivered);
            batch.after(delivered == rows.len(), took, lease);
            let recorded = store.record_deliveries(&results).await;
            if let Ok(n) = recorded {
                log_outcomes(&self.id, &rows, &results);
                if n < results.len() {
                    tracing::warn!(sink = %self.id, late = results.len() - n, "Some deliveries were recorded after their lease ran out and another claim took the rows; that claim's record stands.");
                }
            }
            match recorded {
                Ok(_) if delivered > 0 => health.success(&name, clock.now(), None),
                Ok(_) => {
                    let error = results
                        .iter()
                        .find_map(|r| r.error.clone())
                        .unwrap_or_default();
                    health.failure(&name, clock.now(), error);
                }
                Err(e) => {
                    // The rows stay leased and are sent again after the lease: at least once.
                    tracing::error!(sink = %self.id, error = %e, "Cannot record deliveries; they will be retried.");
                    health.failure(&name, clock.now(), e.to_string());
                }
            }
            health.pass(&name, true);
        }
        health.stopped(&name);
    }

    /// Counts a batch's attempts on `/metrics`.
    fn count(&self, delivered: usize, failed: usize) {
        let sink = ("sink", self.id.as_str());
        (self.metrics.counter(
            "leadgate_deliveries_total",
            &[sink, ("outcome", "delivered")],
        ))
        .increment(delivered as u64);
        (self
            .metrics
            .counter("leadgate_deliveries_total", &[sink, ("outcome", "failed")]))
        .increment(failed as u64);
    }

    /// Sends a claimed batch; the results of the rows it sent. A webhook row is started only
    /// while its attempt (every preset call at the sink's timeout) still ends inside the
    /// `lease`, which began at `claiming`: rows it would not finish in time are left to the
    /// lease's end, then claimed again, so no other claimant (another replica) ever sends a
    /// row while this one may.
    async fn send(
        &self,
        rows: &[OutboxRow],
        store: &Arc<dyn Store>,
        clock: &Arc<dyn Clock>,
        lease: Duration,
        claiming: std::time::Instant,
    ) -> Vec<DeliveryResult> {
        match &self.transport {
            Transport::File(file) => {
                let at = clock.now();
                let started = std::time::Instant::now();
                let outcome = file.append(rows).await;
                let duration_ms = started.elapsed().as_millis() as u64;
                rows.iter()
                    .map(|row| match &outcome {
                        Ok(()) => DeliveryResult {
                            outbox_id: row.id,
                            attempt: row.attempts + 1,
                            at,
                            outcome: DeliveryOutcome::Delivered,
                            status_code: None,
                            error: None,
                            duration_ms,
                            lease_until: row.lease_until,
                        },
                        Err(e) => DeliveryResult {
                            outbox_id: row.id,
                            attempt: row.attempts + 1,
                            at,
                            outcome: DeliveryOutcome::Retry(
                                at + file_retry_delay(row.attempts + 1),
                            ),
                            status_code: None,
                            error: Some(e.clone()),
                            duration_ms,
                            lease_until: row.lease_until,
                        },
                    })
                    .collect()
            }
            Transport::Webhook {
                sink,
                preset,
                concurrency,
                horizon,
                timeout,
            } => {
                let horizon = *horizon;
                let window = SendWindow::new(lease, *timeout, calls_of(preset.as_deref()));
                futures_util::stream::iter(rows.to_vec())
                    .map(|row| {
                        let to = Target {
                            sink: sink.clone(),
                            preset: preset.clone(),
                            store: store.clone(),
                        };
                        let clock = clock.clone();
                        async move {
                            if !window.open_at(claiming.elapsed()) {
                                return None;
                            }
                            Some(post_one(to, clock, horizon, row).await)
                        }
                    })
                    .buffer_unordered(*concurrency)
                    .filter_map(std::future::ready)
                    .collect()
                    .await
            }
        }
    }
}

/// One line per delivered or dead-lettered event once recorded (retries are counted in
/// `/metrics` and kept in the lead's attempts, not logged each).
fn log_outcomes(sink: &str, rows: &[OutboxRow], results: &[DeliveryResult]) {
    for result in results {
        let Some(row) = rows.iter().find(|r| r.id == result.outbox_id) else {
            continue;
        };
        match &result.outcome {
            DeliveryOutcome::Delivered => tracing::info!(
                lead = %row.lead_id, sink, event = %row.event_type, attempt = result.attempt,
                "Delivered."
            ),
            DeliveryOutcome::Dead => tracing::warn!(
                lead = %row.lead_id, sink, event = %row.event_type, attempt = result.attempt,
                status = result.status_code, error = result.error.as_deref().unwrap_or(""),
                "Dead-lettered: the sink refused it or the retry horizon passed; `leadgate replay` sends it again."
            ),
            DeliveryOutcome::Retry(_) => {}
        }
    }
}

/// What a claim's lease holds beyond its sends: recording the results.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// The requests one webhook attempt may make: a preset's request and its follow-ups are one
/// attempt.
fn calls_of(preset: Option<&Preset>) -> u32 {
    preset.map_or(1, Preset::max_calls).max(1) as u32
}

/// A webhook claim's lease: two attempts at the slowest, one after the other (four for a
/// sink of one request), and the recording. It is also how long a dead replica's rows wait
/// for another.
fn lease_for(timeout: Duration, calls: u32) -> Duration {
    timeout * (calls * 2).max(4) + LEASE_MARGIN
}

/// How long into a claim's lease a row may still be started: its attempt, every call taking
/// the whole timeout, must end before the lease does.
#[derive(Debug, Clone, Copy)]
struct SendWindow {
    last_start: Duration,
}

impl SendWindow {
    fn new(lease: Duration, timeout: Duration, calls: u32) -> SendWindow {
        SendWindow {
            last_start: lease.saturating_sub(timeout * calls + LEASE_MARGIN),
        }
    }

    /// Whether a row may start `elapsed` after its claim was asked for.
    fn open_at(self, elapsed: Duration) -> bool {
        elapsed <= self.last_start
    }
}

/// The wait after a file sink's `failed_attempts`-th failure (a full disk, a folder it may not
/// write): 5 s, doubling, at most 5 minutes, so a sink that stays broken is not retried, and
/// its attempts recorded, every 5 s for as long as it lasts.
fn file_retry_delay(failed_attempts: u32) -> chrono::Duration {
    let doublings = failed_attempts.saturating_sub(1).min(6);
    chrono::Duration::seconds((5i64 << doublings).min(300))
}

/// How many times its first claim a webhook worker may claim at once.
const MAX_CLAIM_GROWTH: u32 = 8;

/// How many rows a worker claims at once. A webhook sink starts at four rows per request it
/// may have in flight; a row whose attempt would not end inside the lease is not started
/// ([`SinkWorker::send`]), however slow the sink turns. After a round that
/// all went through in under a quarter of the lease the claim doubles (up to
/// [`MAX_CLAIM_GROWTH`] times the first), so a backlog to a sink that keeps up takes fewer
/// trips to the store, which it shares with intake and processing; a failure or a slow round
/// takes it back to the first size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ClaimSize {
    base: u32,
    max: u32,
    now: u32,
}

impl ClaimSize {
    fn new(base: u32, max: u32) -> ClaimSize {
        ClaimSize {
            base,
            max: max.max(base),
            now: base,
        }
    }

    /// The rows to claim next.
    fn get(self) -> u32 {
        self.now
    }

    /// Learns from a round: whether every row was delivered, and how long sending took.
    fn after(&mut self, all_delivered: bool, took: Duration, lease: Duration) {
        self.now = if all_delivered && took < lease / 4 {
            (self.now * 2).min(self.max)
        } else {
            self.base
        };
    }
}

/// Where a webhook row goes: the sink, its preset, and the store keeping a preset's progress.
struct Target {
    sink: WebhookSink,
    preset: Option<Arc<Preset>>,
    store: Arc<dyn Store>,
}

/// One webhook attempt (every preset step still to do), recorded with its outcome under the
/// retry policy.
async fn post_one(
    to: Target,
    clock: Arc<dyn Clock>,
    horizon: Duration,
    row: OutboxRow,
) -> DeliveryResult {
    let at = clock.now();
    let started = std::time::Instant::now();
    let posted =
        super::steps::attempt(&to.sink, to.preset.as_deref(), to.store.as_ref(), &row, at).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let attempt = row.attempts + 1;
    let outcome = decide(&posted.attempt, attempt, at, row.retry_since, horizon);
    if outcome != DeliveryOutcome::Delivered {
        tracing::warn!(sink = %row.sink, event = %row.event_id, attempt, error = posted.error.as_deref().unwrap_or(""), "Delivery failed.");
    }
    DeliveryResult {
        outbox_id: row.id,
        attempt,
        at,
        outcome,
        status_code: posted.status,
        error: posted.error,
        duration_ms,
        lease_until: row.lease_until,
    }
}

/// Applies the retry policy and the horizon to one attempt.
fn decide(
    attempt: &super::retry::Attempt,
    attempt_no: u32,
    at: DateTime<Utc>,
    retry_since: DateTime<Utc>,
    horizon: Duration,
) -> DeliveryOutcome {
    match classify(attempt) {
        Verdict::Delivered => DeliveryOutcome::Delivered,
        Verdict::Dead => DeliveryOutcome::Dead,
        Verdict::Retry { at_least } => {
            let delay = next_delay(attempt_no, at_least, fastrand::f64() * 2.0 - 1.0);
            let next = at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
            let deadline =
                retry_since + chrono::Duration::from_std(horizon).unwrap_or(chrono::Duration::MAX);
            // A step that would pass the horizon is cut to it: the last try is at the horizon,
            // not a step's length before it.
            if at >= deadline {
                DeliveryOutcome::Dead
            } else {
                DeliveryOutcome::Retry(next.min(deadline))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::retry::Attempt;
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_claim_grows_while_a_sink_keeps_up_and_shrinks_when_it_does_not() {
        let lease = Duration::from_secs(45);
        let quick = Duration::from_millis(20);
        let mut c = ClaimSize::new(128, 1024);
        assert_eq!(c.get(), 128);
        for want in [256, 512, 1024, 1024] {
            c.after(true, quick, lease);
            assert_eq!(c.get(), want);
        }
        c.after(false, quick, lease);
        assert_eq!(c.get(), 128, "a failure");
        c.after(true, quick, lease);
        c.after(true, lease / 4, lease);
        assert_eq!(c.get(), 128, "a round that took a quarter of the lease");
        let mut file = ClaimSize::new(500, 500);
        file.after(true, quick, lease);
        assert_eq!(file.get(), 500, "a file sink writes its claim at once");
    }

    #[test]
    fn no_row_is_started_that_could_outlive_the_claims_lease() {
        let timeout = Duration::from_secs(10);
        // amoCRM's preset: up to six requests an attempt.
        let lease = lease_for(timeout, 6);
        assert_eq!(lease, Duration::from_secs(125));
        let window = SendWindow::new(lease, timeout, 6);
        assert!(window.open_at(Duration::ZERO));
        assert!(window.open_at(Duration::from_secs(60)), "ends at 120 s");
        assert!(
            !window.open_at(Duration::from_secs(61)),
            "could end at 121 s"
        );
        // A plain webhook: one request an attempt.
        let lease = lease_for(timeout, 1);
        assert_eq!(lease, Duration::from_secs(45));
        let window = SendWindow::new(lease, timeout, 1);
        assert!(window.open_at(Duration::from_secs(30)));
        assert!(!window.open_at(Duration::from_secs(31)));
    }

    #[test]
    fn a_broken_file_sink_is_retried_ever_less_often() {
        let waits: Vec<i64> = (1..=9).map(|n| file_retry_delay(n).num_seconds()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
    }

    #[test]
    fn the_horizon_dead_letters() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .single()
            .expect("valid");
        let horizon = Duration::from_secs(3600);
        let early = decide(&Attempt::Status(500, None), 1, t0, t0, horizon);
        assert!(
            matches!(early, DeliveryOutcome::Retry(at) if at > t0 && at <= t0 + chrono::Duration::seconds(6))
        );
        let late = decide(
            &Attempt::Status(500, None),
            3,
            t0 + chrono::Duration::minutes(50),
            t0,
            horizon,
        );
        assert_eq!(
            late,
            DeliveryOutcome::Retry(t0 + chrono::Duration::hours(1)),
            "the 30 min step that would pass the 1 h horizon is cut to it"
        );
        let at_horizon = decide(
            &Attempt::Status(500, None),
            4,
            t0 + chrono::Duration::hours(1),
            t0,
            horizon,
        );
        assert_eq!(
            at_horizon,
            DeliveryOutcome::Dead,
            "the try at the horizon was the last"
        );
        assert_eq!(
            decide(&Attempt::Status(404, None), 1, t0, t0, horizon),
            DeliveryOutcome::Dead
        );
        assert_eq!(
            decide(&Attempt::Status(201, None), 1, t0, t0, horizon),
            DeliveryOutcome::Delivered
        );
    }
}
