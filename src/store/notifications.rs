//! What the notification outbox keeps, and the store interface the notify worker, the
//! take/decline links and the admin alerts use.

use super::{DeliveryOutcome, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A notification to queue: to one address on one channel, rendered already.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// Unique per notification that must go out once (`assigned:<lead>:<attempt>:telegram`); a
    /// second insert with the same key is ignored.
    pub dedupe_key: String,
    /// The lead it is about; `None` for an admin alert.
    pub lead_id: Option<String>,
    /// The manager id, or `admin`.
    pub recipient: String,
    /// `telegram` or `email`.
    pub channel: String,
    /// The chat id or the e-mail address.
    pub address: String,
    /// `assigned`, `follow_up`, `passed_on`, `alert`, `alert_over`.
    pub kind: String,
    /// The rendered message (JSON of [`crate::notify::Message`]).
    pub message: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A claimed notification, to send.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRow {
    /// Row id.
    pub id: i64,
    /// The lead, if any.
    pub lead_id: Option<String>,
    /// `telegram` or `email`.
    pub channel: String,
    /// The chat id or the e-mail address.
    pub address: String,
    /// What it is.
    pub kind: String,
    /// The rendered message.
    pub message: String,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was queued (the start of its retry horizon).
    pub created_at: DateTime<Utc>,
    /// The end of the lease this claim took ([`NotificationResult::lease_until`]).
    pub lease_until: DateTime<Utc>,
}

/// How one send went.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationResult {
    /// Row id.
    pub id: i64,
    /// The attempt number.
    pub attempt: u32,
    /// When.
    pub at: DateTime<Utc>,
    /// Sent, retry at, or dead.
    pub outcome: DeliveryOutcome,
    /// What went wrong.
    pub error: Option<String>,
    /// The provider's id of what was sent (the Telegram message id).
    pub sent_ref: Option<String>,
    /// The lease of the claim it was sent under: it is recorded only while the row is still
    /// under it, so a worker whose lease ran out (another replica claimed the row since)
    /// does not overwrite that claim's outcome or lift its lease.
    pub lease_until: DateTime<Utc>,
}

/// A manager's address the latest messages could not reach: dead, and nothing sent to it
/// since.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreachable {
    /// The manager id.
    pub recipient: String,
    /// `telegram` or `email`.
    pub channel: String,
    /// The chat id or the e-mail address.
    pub address: String,
    /// How many messages to it died since the last one that got through.
    pub dead: u64,
    /// Why the newest of them died.
    pub last_error: Option<String>,
}

/// The store as the notification side needs it.
#[async_trait]
pub trait NotificationStore: Send + Sync + std::fmt::Debug {
    /// Queues notifications outside a processing transaction (admin alerts).
    async fn queue_notifications(&self, rows: &[NewNotification]) -> StoreResult<()>;

    /// Claims up to `limit` due notifications not leased by a live worker, until `lease_until`.
    async fn claim_notifications(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<NotificationRow>>;

    /// Records how sends went; returns how many were recorded (those still under the claim
    /// they were sent in, [`NotificationResult::lease_until`]).
    async fn record_notifications(&self, results: &[NotificationResult]) -> StoreResult<usize>;

    /// When the next pending notification falls due, if any.
    async fn next_notification_due(&self) -> StoreResult<Option<DateTime<Utc>>>;

    /// The Telegram message id of the newest card about `lead_id` sent to `address` and
    /// queued before notification `before` (the notice that answers it), so a pass can edit
    /// it: a newer card for the same lead and chat, queued with the notice (the manager keeps
    /// the lead as a new assignment) and sent before a retried notice, keeps its buttons.
    async fn card_ref(
        &self,
        lead_id: &str,
        address: &str,
        before: i64,
    ) -> StoreResult<Option<String>>;

    /// Marks a link's nonce used; `false` when it already was.
    async fn consume_link(&self, nonce: &str, at: DateTime<Utc>) -> StoreResult<bool>;

    /// Makes a consumed link usable again (its action could not be recorded).
    async fn release_link(&self, nonce: &str) -> StoreResult<()>;

    /// When each source last handed over an item (for the "silent source" alert).
    async fn last_inbound_per_source(&self) -> StoreResult<HashMap<String, DateTime<Utc>>>;

    /// Dead-lettered deliveries per sink, not yet replayed.
    async fn dead_per_sink(&self) -> StoreResult<HashMap<String, u64>>;

    /// Leads held because nobody is eligible, counted per level.
    async fn held_per_level(&self) -> StoreResult<HashMap<String, u64>>;

    /// Leads assigned and not yet taken, per manager (what `max_open` caps), for the console's
    /// team table; read outside any processing transaction.
    async fn open_per_manager(&self) -> StoreResult<HashMap<String, u64>>;

    /// Managers' addresses whose messages died with none sent to them since (not admins).
    async fn unreachable_managers(&self) -> StoreResult<Vec<Unreachable>>;
}
