//! The loop every blog source runs in its own task: poll, report to `Health`, wait the
//! interval (longer after each failure in a row), stop on the daemon's token. One task per
//! source, so a site that is down or hangs only delays itself.

use super::fetch::PollError;
use super::stored::StoredFormat;
use crate::intake::IntakeError;
use crate::lead::Channel;
use crate::shared::Shared;
use crate::sources::item::Item;
use crate::store::{Inserted, NewInbound, without_erased};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one successful poll did.
#[derive(Debug, Default)]
pub(crate) struct Polled {
    /// Items stored for the first time.
    pub new_items: usize,
    /// Where the source stands now, for `/readyz`.
    pub cursor: Option<String>,
}

/// One source's poll.
pub(crate) trait Poll: Send {
    /// The source id.
    fn source(&self) -> &str;
    /// Fetches what is new and commits it.
    fn poll(&mut self) -> impl Future<Output = Result<Polled, PollError>> + Send;
}

/// The longest wait between polls of a failing source.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// The wait after `failures` failed polls in a row: the interval, doubled per failure up to an
/// hour (never below the interval itself), stretched by `jitter` (0.0..1.0 → up to +20 %) so
/// that sources failing together do not retry together.
pub(crate) fn next_wait(interval: Duration, failures: u32, jitter: f64) -> Duration {
    let doubled = interval.saturating_mul(1u32 << failures.min(16));
    let capped = doubled.min(MAX_BACKOFF.max(interval));
    if failures == 0 {
        return capped;
    }
    capped.mul_f64(1.0 + 0.2 * jitter.clamp(0.0, 1.0))
}

/// Polls until `stop`, reporting every outcome as `source:<id>`.
pub(crate) async fn run<P: Poll>(
    mut poller: P,
    interval: Duration,
    deps: Shared,
    stop: CancellationToken,
) {
    let name = format!("source:{}", poller.source());
    deps.health.register(&name, "source");
    let mut failures = 0u32;
    while !stop.is_cancelled() {
        let outcome = tokio::select! {
            outcome = poller.poll() => outcome,
            () = stop.cancelled() => break,
        };
        match outcome {
            Ok(polled) => {
                failures = 0;
                if polled.new_items > 0 {
                    tracing::info!(
                        source = poller.source(),
                        new = polled.new_items,
                        "Took new blog comments."
                    );
                }
                deps.health.success(&name, deps.clock.now(), polled.cursor);
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::warn!(source = poller.source(), error = %e, failures, "Polling failed; backing off.");
                deps.health.failure(&name, deps.clock.now(), e.to_string());
            }
        }
        let wait = next_wait(interval, failures, fastrand::f64());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.cancelled() => {}
        }
    }
    deps.health.stopped(&name);
}

/// Commits items together (intake groups them into one transaction) and returns how many
/// were new; returns only once every one of them is durable. A poller reads the same comments
/// and entries again and again (a WordPress recheck, a feed that still lists them), so the
/// ones `leadgate forget` erased are left out: an erased person does not come back.
pub(crate) async fn submit_all(
    deps: &Shared,
    source: &str,
    format: StoredFormat,
    items: Vec<Item>,
) -> Result<usize, IntakeError> {
    let kept = without_erased(&*deps.store, source, items, |i| &i.dedupe_key)
        .await
        .map_err(|e| IntakeError(e.to_string()))?;
    let submissions = kept.into_iter().map(|item| {
        deps.intake.submit(NewInbound {
            id: deps.clock.new_id().to_string(),
            source: source.to_string(),
            channel: Channel::Blog,
            dedupe_key: item.dedupe_key,
            received_at: deps.clock.now(),
            content_type: Some("application/json".into()),
            payload: item.payload,
            meta: format.meta(),
        })
    });
    let results = futures_util::future::try_join_all(submissions).await?;
    Ok(results
        .iter()
        .filter(|r| matches!(r, Inserted::New(_)))
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_per_failure_up_to_an_hour() {
        let five = Duration::from_secs(300);
        assert_eq!(next_wait(five, 0, 0.9), five, "no jitter while healthy");
        assert_eq!(next_wait(five, 1, 0.0), Duration::from_secs(600));
        assert_eq!(next_wait(five, 3, 0.0), Duration::from_secs(2400));
        assert_eq!(next_wait(five, 40, 0.0), Duration::from_secs(3600));
        assert_eq!(next_wait(five, 1, 1.0), Duration::from_secs(720));
        let day = Duration::from_secs(86_400);
        assert_eq!(next_wait(day, 5, 0.0), day, "never below the interval");
    }
}
