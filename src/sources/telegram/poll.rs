//! Long polling: `getUpdates` in a loop, each update committed through intake before the offset
//! moves past it.
//!
//! The order is what makes a restart neither skip nor repeat: the updates of an answer are
//! committed first (one by one, in Telegram's order, so an edit is processed after the message
//! it edits), then `max update_id + 1` is persisted as the source's cursor, and only the next
//! `getUpdates` call with that offset confirms them to Telegram. A crash before the cursor is
//! written gets the same updates again, and their dedupe keys make them no-ops.

use super::inbound::inbound;
use super::recovery::{call_bound, next_delay};
use super::split_updates;
use crate::clock::Clock;
use crate::health::Health;
use crate::intake::{Intake, IntakeError};
use crate::store::{Store, StoreError};
use crate::telegram::{ApiError, BotClient};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Updates asked for per call (the Bot API's maximum).
const LIMIT: u8 = 100;

/// Why one round of polling failed; the offset stays where it was and the round is retried.
#[derive(Debug, thiserror::Error)]
enum PollError {
    /// `getUpdates` failed or answered something unreadable.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// An update could not be committed.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The offset could not be read or written.
    #[error("the offset cursor: {0}")]
    Store(#[from] StoreError),
}

/// One bot's long-polling loop.
#[derive(Debug, Clone)]
pub struct Poller {
    /// The source id.
    pub source: String,
    /// How long one `getUpdates` call waits for updates.
    pub poll_timeout: Duration,
    /// The bot.
    pub api: BotClient,
    /// Where updates are committed.
    pub intake: Intake,
    /// Where the offset is kept.
    pub store: Arc<dyn Store>,
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// Where the loop reports its state.
    pub health: Health,
}

/// The cursor key of a source's offset.
pub fn offset_key(source: &str) -> String {
    format!("telegram:{source}:offset")
}

impl Poller {
    /// Polls until `stop` is cancelled; an in-flight `getUpdates` is abandoned then (nothing
    /// it returned has been confirmed), a commit in progress is finished first.
    pub async fn run(self, stop: CancellationToken) {
        let name = format!("source:{}", self.source);
        self.health.register(&name, "source");
        let mut offset = None;
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let round = match offset {
                None => self.load_offset().await.map(|o| {
                    tracing::info!(source = %self.source, offset = ?o, "Telegram long polling started.");
                    Some(o)
                }),
                Some(current) => {
                    let answer = tokio::select! {
                        answer = self.api.get_updates_raw(current, self.poll_timeout, LIMIT, call_bound(self.poll_timeout)) => answer,
                        () = stop.cancelled() => break,
                    };
                    match answer {
                        Ok(body) => self.take(&body, current).await.map(Some),
                        Err(e) => Err(e.into()),
                    }
                }
            };
            match round {
                Ok(next) => {
                    if failures > 0 {
                        tracing::info!(source = %self.source, "Telegram long polling works again.");
                        failures = 0;
                    }
                    if let Some(next) = next {
                        offset = Some(next);
                    }
                    let cursor = offset.flatten().map(|o| o.to_string());
                    self.health.success(&name, self.clock.now(), cursor);
                }
                Err(e) => {
                    if failures == 0 {
                        tracing::warn!(source = %self.source, error = %e, "Telegram long polling failed; retrying with backoff.");
                    } else {
                        tracing::debug!(source = %self.source, error = %e, failures, "Telegram long polling still fails.");
                    }
                    failures = failures.saturating_add(1);
                    self.health.failure(&name, self.clock.now(), e.to_string());
                    let retry_after = match &e {
                        PollError::Api(api) => api.retry_after(),
                        _ => None,
                    };
                    tokio::select! {
                        () = tokio::time::sleep(next_delay(failures, retry_after)) => {}
                        () = stop.cancelled() => break,
                    }
                }
            }
        }
        tracing::info!(source = %self.source, "Telegram long polling stopped.");
        self.health.stopped(&name);
    }

    /// The persisted offset; `None` when the bot has never confirmed anything.
    async fn load_offset(&self) -> Result<Option<i64>, PollError> {
        let stored = self.store.get_cursor(&offset_key(&self.source)).await?;
        Ok(stored.and_then(|v| v.parse().ok()))
    }

    /// Commits every update of a `getUpdates` answer, then persists the offset past them;
    /// returns the offset the next call confirms them with.
    async fn take(&self, body: &[u8], offset: Option<i64>) -> Result<Option<i64>, PollError> {
        let (items, max_id) = split_updates(body).map_err(|e| ApiError::Answer(e.to_string()))?;
        for item in items {
            self.intake
                .submit(inbound(&self.source, item, self.clock.as_ref(), "polling"))
                .await?;
        }
        let Some(max_id) = max_id else {
            return Ok(offset);
        };
        let next = max_id.saturating_add(1);
        self.store
            .set_cursor(
                &offset_key(&self.source),
                &next.to_string(),
                self.clock.now(),
            )
            .await?;
        Ok(Some(next))
    }
}
