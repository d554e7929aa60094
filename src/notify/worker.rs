//! The notify stage: claims due notifications, sends them through the managers' bot or SMTP
//! (a few at once, so a hanging mail server does not hold Telegram cards back), and records
//! each outcome under the delivery retry ladder. A notification that cannot be sent within
//! [`HORIZON`] is dead: shown in its lead's journey, never retried forever.

use super::email::EmailNotifier;
use super::message::Message;
use super::telegram::{TelegramNotifier, retry_after};
use crate::clock::Clock;
use crate::deliver::next_delay;
use crate::health::Health;
use crate::store::{DeliveryOutcome, NotificationResult, NotificationRow, NotificationStore};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long a notification is retried: a card older than this is no use to anyone.
pub const HORIZON: Duration = Duration::from_secs(24 * 3600);

/// Sends at once.
const CONCURRENCY: usize = 4;

/// Notifications claimed at a time: two rounds of [`CONCURRENCY`] sends.
const BATCH: u32 = 8;

/// How long a claim holds its rows: another replica's worker does not take them meanwhile.
const LEASE: Duration = Duration::from_secs(120);

/// The longest one send may take before it is counted a failure and retried: longer than
/// one SMTP command may (30 s), and short enough that a batch whose every send takes it
/// still ends inside its lease, so another replica never claims, and sends again, a card
/// this one is still sending (a mail server that accepts connections and then stalls).
const SEND_LIMIT: Duration = Duration::from_secs(55);

const _: () =
    assert!((BATCH as u64).div_ceil(CONCURRENCY as u64) * SEND_LIMIT.as_secs() < LEASE.as_secs());

/// The notify stage.
#[derive(Debug, Clone)]
pub struct NotifyWorker {
    /// The notification outbox.
    pub store: Arc<dyn NotificationStore>,
    /// The managers' bot, when configured.
    pub telegram: Option<TelegramNotifier>,
    /// SMTP, when configured.
    pub email: Option<EmailNotifier>,
    /// The messengers people are answered on, when a source answers.
    pub people: Option<super::People>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Raised after notifications are queued.
    pub wake: Arc<Notify>,
    /// The longest it sleeps without looking for due retries.
    pub max_idle: Duration,
    /// Where sends are counted.
    pub metrics: Metrics,
}

/// How one send ended, before the retry policy.
enum Sent {
    Done(Option<String>),
    Retry(Option<Duration>, String),
    Dead(String),
}

impl NotifyWorker {
    /// Runs until `shutdown`: sleeps until the next retry falls due on the clock, or a
    /// wake-up.
    pub async fn run(self, health: Health, shutdown: CancellationToken) {
        const NAME: &str = "stage:notify";
        health.register(NAME, "stage");
        let (clock, max_idle) = (self.clock.as_ref(), self.max_idle);
        while !shutdown.is_cancelled() {
            let now = self.clock.now();
            let lease = now + chrono::Duration::seconds(LEASE.as_secs() as i64);
            let claimed = self.store.claim_notifications(now, lease, BATCH).await;
            match claimed {
                Ok(rows) if rows.is_empty() => {
                    let due = self.store.next_notification_due().await.ok().flatten();
                    // A look that claimed nothing found no work.
                    health.pass(NAME, false);
                    let wake = Some(&*self.wake);
                    health
                        .idle(NAME, clock, due, max_idle, wake, &shutdown)
                        .await;
                }
                Ok(rows) => {
                    let results: Vec<NotificationResult> = futures_util::stream::iter(rows)
                        .map(|row| self.send_one(row))
                        .buffer_unordered(CONCURRENCY)
                        .collect()
                        .await;
                    let failed = results
                        .iter()
                        .find_map(|r| {
                            (r.outcome != DeliveryOutcome::Delivered).then(|| r.error.clone())
                        })
                        .flatten();
                    match self.store.record_notifications(&results).await {
                        Ok(n) => {
                            if n < results.len() {
                                tracing::warn!(
                                    late = results.len() - n,
                                    "Some notifications were recorded after their lease ran out and another claim took them; that claim's record stands."
                                );
                            }
                            match failed {
                                Some(e) => health.failure(NAME, self.clock.now(), e),
                                None => health.success(NAME, self.clock.now(), None),
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "Cannot record notifications; they are sent again after their lease.");
                            health.failure(NAME, self.clock.now(), e.to_string());
                        }
                    }
                    health.pass(NAME, true);
                }
                Err(e) => {
                    tracing::error!(error = %e, "Cannot claim notifications.");
                    health.failure(NAME, now, e.to_string());
                    health.pass(NAME, true);
                    let (retry, wake) = (Duration::from_secs(2), Some(&*self.wake));
                    health.idle(NAME, clock, None, retry, wake, &shutdown).await;
                }
            }
        }
        health.stopped(NAME);
    }

    async fn send_one(&self, row: NotificationRow) -> NotificationResult {
        let at = self.clock.now();
        let sent = match tokio::time::timeout(SEND_LIMIT, self.attempt(&row)).await {
            Ok(sent) => sent,
            Err(_) => Sent::Retry(None, format!("no answer within {} s", SEND_LIMIT.as_secs())),
        };
        let attempt = row.attempts + 1;
        let (outcome, error, sent_ref) = match sent {
            Sent::Done(r) => (DeliveryOutcome::Delivered, None, r),
            Sent::Dead(e) => (DeliveryOutcome::Dead, Some(e), None),
            Sent::Retry(at_least, e) => (
                retry_or_dead(attempt, at_least, at, row.created_at),
                Some(e),
                None,
            ),
        };
        let counted = match outcome {
            DeliveryOutcome::Delivered => "sent",
            DeliveryOutcome::Retry(_) => "retry",
            DeliveryOutcome::Dead => "dead",
        };
        (self.metrics)
            .counter(
                "leadgate_notifications_total",
                &[("channel", &row.channel), ("outcome", counted)],
            )
            .increment(1);
        if let Some(e) = &error {
            tracing::warn!(notification = row.id, channel = %row.channel, kind = %row.kind, attempt, error = %e, "A notification was not sent.");
        }
        NotificationResult {
            id: row.id,
            attempt,
            at,
            outcome,
            error,
            sent_ref,
            lease_until: row.lease_until,
        }
    }

    /// One try at sending `row`, by its channel.
    async fn attempt(&self, row: &NotificationRow) -> Sent {
        match serde_json::from_str::<Message>(&row.message) {
            Err(e) => Sent::Dead(format!("the stored message does not read back: {e}")),
            Ok(Message::Telegram(m)) => match (&self.telegram, row.address.parse::<i64>()) {
                (None, _) => Sent::Retry(None, "no [notify.telegram] bot is configured".into()),
                (_, Err(_)) => Sent::Dead(format!("{:?} is not a chat id", row.address)),
                (Some(bot), Ok(chat)) => {
                    let card = match &m.card_of {
                        Some(lead) => self
                            .store
                            .card_ref(lead, &row.address, row.id)
                            .await
                            .ok()
                            .flatten()
                            .and_then(|r| r.parse().ok()),
                        None => None,
                    };
                    match bot.send(chat, &m, card).await {
                        Ok(id) => Sent::Done(Some(id.to_string())),
                        Err(e) => match retry_after(&e) {
                            Ok(wait) => Sent::Retry(wait, e.to_string()),
                            Err(()) => Sent::Dead(e.to_string()),
                        },
                    }
                }
            },
            Ok(Message::Email(m)) => match &self.email {
                None => Sent::Retry(None, "no [notify.email] server is configured".into()),
                Some(mail) => {
                    let about = row.lead_id.as_deref().unwrap_or("alert");
                    match mail.send(&row.address, &m, about).await {
                        Ok(()) => Sent::Done(None),
                        Err(e) if e.is_transient() => Sent::Retry(None, e.to_string()),
                        Err(e) => Sent::Dead(e.to_string()),
                    }
                }
            },
            Ok(Message::Person(m)) => match &self.people {
                None => Sent::Dead("no source answers people any more".into()),
                Some(people) => match people.send(&row.channel, &row.address, &m, row.id).await {
                    Ok(id) => Sent::Done(Some(id)),
                    Err(e) if e.transient => Sent::Retry(None, e.error),
                    Err(e) => Sent::Dead(e.error),
                },
            },
        }
    }
}

/// The next try on the delivery ladder, or dead past the horizon.
fn retry_or_dead(
    attempt: u32,
    at_least: Option<Duration>,
    at: DateTime<Utc>,
    since: DateTime<Utc>,
) -> DeliveryOutcome {
    let delay = next_delay(attempt, at_least, fastrand::f64() * 2.0 - 1.0);
    let next = at + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
    let horizon = since + chrono::Duration::from_std(HORIZON).unwrap_or(chrono::Duration::MAX);
    if next > horizon {
        DeliveryOutcome::Dead
    } else {
        DeliveryOutcome::Retry(next)
    }
}
