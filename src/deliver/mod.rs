//! Delivery to sinks: the event envelope, Standard Webhooks signatures, the retry policy, the
//! webhook and file sinks, and the worker that drives them from the outbox.

mod file;
mod outbox;
mod retry;
mod signature;
mod sink;
mod steps;
mod webhook;
mod worker;

pub use outbox::{SinkRoute, created_rows, crm_user_id, outbox_rows, update_rows};
pub use retry::{Attempt, LADDER, Verdict, classify, next_delay};
pub use signature::{decode_signing_secret, sign};
pub use sink::{RawFileSink, RawWebhookSink, SinkConfig, SinkKind, WebhookSinkConfig};
use worker::SinkWorker;

use crate::shared::{Shared, StartError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Starts one worker per sink on the shared tasks; their wakers, in the order of `sinks`, for
/// the stages that queue deliveries. `max_idle` is the longest a worker sleeps before looking
/// for due retries.
pub fn start(
    sinks: &[SinkConfig],
    shared: &Shared,
    max_idle: Duration,
) -> Result<Vec<Arc<Notify>>, StartError> {
    let workers = (sinks.iter())
        .map(|sink| {
            SinkWorker::new(sink, max_idle, shared.metrics.clone())
                .map_err(|message| StartError::of(&sink.id, message))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let wakers = workers.iter().map(SinkWorker::waker).collect();
    for worker in workers {
        let span = tracing::info_span!("sink", id = %worker.id());
        let task = worker.run(
            shared.store.clone(),
            shared.clock.clone(),
            shared.health.clone(),
            shared.tasks.stopping(),
        );
        shared.tasks.spawn(span, task);
    }
    Ok(wakers)
}
