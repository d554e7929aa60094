//! Managers in the loop, the notification half: cards for newly assigned leads (Telegram with
//! Take/Decline buttons, e-mail with signed take/decline links), follow-ups, notices that a
//! lead moved on, and admin alerts, all through an outbox of their own so that a notification
//! is retried, never lost, and never queued twice for one assignment.
//!
//! Queueing happens inside the transaction that changes the lead ([`Notices`]); sending in
//! [`NotifyWorker`]; taps come back through [`crate::sla::TapListener`], links through `/act/{token}`;
//! incidents are watched by [`AlertMonitor`].

mod alerts;
mod config;
mod email;
mod links;
mod message;
mod pages;
mod people;
mod queue;
mod telegram;
mod worker;

pub use alerts::{AlertMonitor, INCIDENTS_KEY};
pub use config::{
    AlertsConfig, Language, Neighbours, NotifyConfig, NotifyEmail, NotifyTelegram, RawNotify,
};
pub use email::{EmailNotifier, MailError};
pub use links::{LinkAction, LinkClaim, LinkError, LinkSigner};
pub use message::{
    Button, Card, CardButtons, EmailMessage, Labels, Message, PersonMessage, Tap, TelegramMessage,
    reasons_keyboard,
};
pub use pages::{confirm_page, message_page};
pub use people::{NotSent, PERSON, People, Replies};
pub use queue::{LINK_PATH, Notices, Onward};
pub use telegram::{TelegramNotifier, no_link_preview};
pub use worker::{HORIZON, NotifyWorker};

use crate::routing::RulesHandle;
use crate::shared::{Shared, StartError};
use crate::store::NotificationStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Who the notify worker sends through besides `[notify]`'s own mail server: the managers'
/// bot, the messengers people are answered on, the outbox and its waker.
#[derive(Debug, Clone)]
pub struct Senders {
    /// The managers' bot, when `[notify.telegram]` is set.
    pub managers_bot: Option<TelegramNotifier>,
    /// The messengers people are answered on, when a source answers.
    pub people: Option<People>,
    /// The notification outbox.
    pub notes: Arc<dyn NotificationStore>,
    /// Rung after notifications are queued.
    pub wake: Arc<Notify>,
}

/// Starts the worker that sends managers' cards, alerts and answers to people, when any of
/// them has somewhere to go; whether it started. `max_idle` is the longest it sleeps before
/// looking again.
pub fn start(
    config: &NotifyConfig,
    senders: Senders,
    max_idle: Duration,
    shared: &Shared,
) -> Result<bool, StartError> {
    let mailer = match &config.email {
        Some(e) => Some(EmailNotifier::new(e).map_err(|e| StartError::of("notify.email", e))?),
        None => None,
    };
    if senders.managers_bot.is_none() && mailer.is_none() && senders.people.is_none() {
        return Ok(false);
    }
    let worker = NotifyWorker {
        store: senders.notes,
        telegram: senders.managers_bot,
        email: mailer,
        people: senders.people,
        clock: shared.clock.clone(),
        wake: senders.wake,
        max_idle,
        metrics: shared.metrics.clone(),
    };
    let task = worker.run(shared.health.clone(), shared.tasks.stopping());
    shared
        .tasks
        .spawn(tracing::info_span!("stage", name = "notify"), task);
    Ok(true)
}

/// Starts the monitor that alerts the admins of incidents, when `[notify.alerts]` names
/// anyone: it queues the alerts on `notes` (built by `notices`, sent to the managers `rules`
/// name now) and rings `wake`.
pub fn start_alerts(
    config: &AlertsConfig,
    (notes, notices, rules, wake): (
        Arc<dyn NotificationStore>,
        Notices,
        RulesHandle,
        Arc<Notify>,
    ),
    shared: &Shared,
) {
    if !config.has_recipients() {
        return;
    }
    let monitor = AlertMonitor {
        store: shared.store.clone(),
        notes,
        health: shared.health.clone(),
        notices,
        cfg: config.clone(),
        clock: shared.clock.clone(),
        wake,
        started: shared.clock.now(),
        metrics: shared.metrics.clone(),
        rules,
        replica: shared.leases.holder().to_string(),
    };
    shared.spawn_once(
        "alerts".into(),
        tracing::info_span!("stage", name = "alerts"),
        move |stop| monitor.clone().run(stop),
    );
}
