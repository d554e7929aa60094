//! The durable store every stage talks through. A narrow trait: nothing above it knows which
//! database it runs on, and every SQL statement lives behind it.
//!
//! Time values cross the trait as `DateTime<Utc>`; the SQLite implementation keeps them as
//! fixed-width RFC 3339 text.

#[cfg(test)]
mod conformance;
mod console;
mod copy;
mod files;
mod notifications;
mod packed;
mod postgres;
mod privacy;
mod records;
mod sql;
mod sqlite;
mod storage;
mod values;

pub use console::*;
pub use copy::{Copied, CopyError, copy_store};
pub use files::*;
pub use notifications::*;
pub use postgres::PgStore;
pub use privacy::*;
pub use records::*;
pub use sqlite::SqliteStore;
pub use storage::StorageConfig;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;

/// Every trait of the store family at once, as each backend implements them on one type:
/// what the daemon and the CLI open, handing each part to the stage that needs it.
pub trait Stores: Store + ConsoleStore + FileStore + NotificationStore + PrivacyStore {}

impl<T: Store + ConsoleStore + FileStore + NotificationStore + PrivacyStore> Stores for T {}

/// The store `[storage] url` names, open: SQLite (the embedded default) or PostgreSQL.
#[derive(Debug, Clone)]
pub enum OpenStore {
    /// One SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

impl OpenStore {
    /// Opens (creating a SQLite file if needed) the store and runs its migrations.
    pub async fn open(storage: &StorageConfig) -> StoreResult<OpenStore> {
        Ok(match storage {
            StorageConfig::Sqlite(path) => OpenStore::Sqlite(SqliteStore::open(path).await?),
            StorageConfig::Postgres(url) => OpenStore::Postgres(PgStore::open(url.expose()).await?),
        })
    }

    /// The store, shared: an `Arc<dyn Stores>` coerces to each trait's `Arc`.
    pub fn shared(&self) -> std::sync::Arc<dyn Stores> {
        match self {
            OpenStore::Sqlite(s) => std::sync::Arc::new(s.clone()),
            OpenStore::Postgres(s) => std::sync::Arc::new(s.clone()),
        }
    }

    /// Closes its connections (graceful shutdown).
    pub async fn close(&self) {
        match self {
            OpenStore::Sqlite(s) => s.close().await,
            OpenStore::Postgres(s) => s.close().await,
        }
    }
}

/// A store operation failed: the database is unreachable, a row is corrupt, a migration failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration could not run.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored JSON or time value could not be read back.
    #[error("corrupt stored value in {what}: {detail}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// Another worker finished this item first (a replica that kept processing after its
    /// lease ran out): the transaction is rolled back, so nothing is done twice.
    #[error("inbound item {0} was already processed elsewhere")]
    AlreadyProcessed(String),
    /// The database file's directory could not be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl StoreError {
    /// Whether the database refused what was written, rather than failed to write it: a value
    /// it cannot hold (PostgreSQL's data exceptions and program limits, such as an index entry
    /// too large; SQLite's too big or mismatched), a constraint, or a stored row that cannot be
    /// read back. Such a failure comes back at every retry of the same rows, so processing
    /// then looks for the item to blame instead of retrying the batch forever
    /// (`process::isolation`).
    pub fn refuses_the_data(&self) -> bool {
        match self {
            StoreError::Corrupt { .. } => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                if let Some(pg) = e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                    // Classes 22 (data exception), 23 (integrity), 54 (program limit).
                    return ["22", "23", "54"].iter().any(|c| pg.code().starts_with(c));
                }
                // SQLite's primary codes: TOOBIG, CONSTRAINT, MISMATCH, RANGE.
                let primary = e
                    .code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .map(|c| c & 0xff);
                matches!(primary, Some(18 | 19 | 20 | 25))
            }
            _ => false,
        }
    }
}

/// Shorthand for store results.
pub type StoreResult<T> = Result<T, StoreError>;

/// Inbound items and the positions they bring their sources to, committed together
/// ([`IntakeStore::commit_gathered`]).
#[derive(Debug, Default)]
pub struct Gathered {
    /// The items, in the order their results are answered.
    pub items: Vec<NewInbound>,
    /// The sources' positions, written after the items.
    pub cursors: Vec<CursorWrite>,
}

/// Everything the daemon keeps, behind one interface with a SQLite and a PostgreSQL
/// implementation: one trait per concern, each implemented in that concern's file of each
/// backend (`sqlite/outbox.rs`, `postgres/outbox.rs`...). A `dyn Store` answers every
/// concern's methods.
pub trait Store: IntakeStore + ProcessStore + OutboxStore + AdminStore + LeaseStore {}

impl<T: IntakeStore + ProcessStore + OutboxStore + AdminStore + LeaseStore> Store for T {}

/// What intake and the polling sources write: items committed with their positions, and the
/// named cursors they resume from.
#[async_trait]
pub trait IntakeStore: Send + Sync + std::fmt::Debug {
    /// Commits inbound items, then `cursors`, in one transaction; an item whose source +
    /// dedupe key is already stored is reported as a duplicate and left as it was.
    async fn insert_inbound(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>>;

    /// Waits until a commit of inbound items can start, then takes the group to commit from
    /// `gather` (called exactly once) and commits it as [`IntakeStore::insert_inbound`] does.
    /// Intake's committer hands its queue over this way: the items that arrive while the store
    /// is busy with other writers join this commit instead of waiting for the next one. A
    /// store with no such wait (PostgreSQL) gathers at once.
    async fn commit_gathered(
        &self,
        gather: &mut (dyn FnMut() -> Gathered + Send),
    ) -> StoreResult<Vec<Inserted>> {
        let group = gather();
        self.insert_inbound(&group.items, &group.cursors).await
    }

    /// Which of `keys` (dedupe keys of `source`) belong to items `leadgate forget` erased: a
    /// poller that reads the same comments or entries again leaves those out, so an erased
    /// person's comment still on the site does not come back as a new lead.
    async fn erased_among(
        &self,
        source: &str,
        keys: &[String],
    ) -> StoreResult<std::collections::HashSet<String>>;

    /// Which of `keys` (dedupe keys of `source`) are keys of items already stored: a source
    /// whose keys changed form asks for an item's key in its earlier form, so an item stored
    /// under it is not taken a second time.
    async fn stored_among(
        &self,
        source: &str,
        keys: &[String],
    ) -> StoreResult<std::collections::HashSet<String>>;

    /// A named cursor (a source's position: IMAP UID, Telegram offset).
    async fn get_cursor(&self, key: &str) -> StoreResult<Option<String>>;

    /// Sets a named cursor.
    async fn set_cursor(&self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()>;
}

/// What processing and the SLA timer read and write: the items waiting, the batch transaction,
/// the next deadline.
#[async_trait]
pub trait ProcessStore: Send + Sync + std::fmt::Debug {
    /// The oldest unprocessed inbound items.
    async fn pending_inbound(&self, limit: u32) -> StoreResult<Vec<InboundRow>>;

    /// Starts a transaction for the processing stage (one per batch).
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// When the next unacknowledged assignment's SLA runs out, if any.
    async fn next_ack_due(&self) -> StoreResult<Option<DateTime<Utc>>>;
}

/// What delivery reads and writes: claims on the outbox, attempts and steps, dead letters.
#[async_trait]
pub trait OutboxStore: Send + Sync + std::fmt::Debug {
    /// Claims up to `limit` outbox rows of `sink` that are due at `now` and not leased by a
    /// live worker; they stay claimed until `lease_until`. A row waits while an earlier row of
    /// its lead for the same sink is pending, so a lead's events reach a sink in order.
    async fn claim_outbox(
        &self,
        sink: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<OutboxRow>>;

    /// Records the outcome of delivery attempts (one transaction); returns how many were
    /// recorded. A result counts only while its row is still under the claim it was made in
    /// ([`DeliveryResult::lease_until`]): one whose lease ran out and whose row another
    /// worker claimed since (a paused replica) is left out, so it neither overwrites that
    /// claim's outcome nor lifts its lease while it sends.
    async fn record_deliveries(&self, results: &[DeliveryResult]) -> StoreResult<usize>;

    /// When the next sendable pending row of `sink` (the oldest of its lead) falls due, if any.
    async fn next_outbox_due(&self, sink: &str) -> StoreResult<Option<DateTime<Utc>>>;

    /// The values captured from `sink`'s answers about `lead_id` (`crm.NAME` in its preset).
    async fn crm_refs(&self, sink: &str, lead_id: &str) -> StoreResult<CrmRefs>;

    /// One preset step of claimed outbox `row` succeeded: in one transaction, keeps what it
    /// captured (for the row's sink and lead) and records `steps_done`, so a retry goes on
    /// from the next step instead of repeating this one. False when the row is no longer
    /// under this claim's lease (another worker claimed it since): the values the CRM
    /// answered are kept, the other claim's progress is not moved, and this worker stops.
    async fn record_step(
        &self,
        row: &OutboxRow,
        steps_done: u32,
        captured: &CrmRefs,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Puts dead-lettered rows matching `filter` back in the queue, due at `now`; returns how
    /// many.
    async fn replay_dead(&self, filter: &ReplayFilter, now: DateTime<Utc>) -> StoreResult<u64>;

    /// Dead-lettered deliveries, newest first.
    async fn list_dead(&self, filter: &ReplayFilter, limit: u32)
    -> StoreResult<Vec<OutboxSummary>>;
}

/// What the admin API and `/readyz` read: the health check, lists, a lead's journey, the queue
/// counts.
#[async_trait]
pub trait AdminStore: Send + Sync + std::fmt::Debug {
    /// Checks the database answers (for `/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// Inbound items for the admin, newest first.
    async fn list_inbound(&self, filter: &ListFilter) -> StoreResult<Vec<InboundSummary>>;

    /// Leads for the admin, newest first.
    async fn list_leads(&self, filter: &ListFilter) -> StoreResult<Vec<LeadSummary>>;

    /// One lead's whole journey, for the admin.
    async fn lead_journey(&self, lead_id: &str) -> StoreResult<Option<Journey>>;

    /// Counts for `/metrics` and `/readyz`.
    async fn queue_stats(&self) -> StoreResult<QueueStats>;
}

/// Work that must run on one replica at a time: leases, and the wake-ups other replicas'
/// commits send.
#[async_trait]
pub trait LeaseStore: Send + Sync + std::fmt::Debug {
    /// Takes or renews for `holder`, until `until`, each lease in `names` that is free, ran
    /// out by `now` or is already `holder`'s (one transaction): the names `holder` holds now.
    /// Work that must run on one replica at a time runs only while its lease is held.
    async fn hold_leases(
        &self,
        holder: &str,
        names: &[String],
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;

    /// Gives up `holder`'s lease `name`, so another replica may take it at once.
    async fn release_lease(&self, holder: &str, name: &str) -> StoreResult<()>;

    /// Keeps the states of the sources replica `holder` runs (each under its lease), at `at`:
    /// the alerts monitor, on whichever replica holds its own lease, reads them with
    /// [`LeaseStore::published_sources`], since a replica's health is its own process's.
    async fn publish_sources(
        &self,
        holder: &str,
        states: &[SourceState],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The sources' states replicas other than `holder` published at or after `since`.
    async fn published_sources(
        &self,
        holder: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Vec<SourceState>>;

    /// Until `stop`, wakes `inbound` when any daemon on this store commits new inbound items
    /// and `deadlines` when one commits an SLA deadline, so the replica that processes (or
    /// runs the SLA timer) hears of work another replica took in. A store only this daemon
    /// writes (SQLite) has nothing to relay: its stages are woken in-process.
    async fn relay_wakes(
        &self,
        _inbound: std::sync::Arc<tokio::sync::Notify>,
        _deadlines: std::sync::Arc<tokio::sync::Notify>,
        _stop: tokio_util::sync::CancellationToken,
    ) {
    }
}

/// The processing stage's transaction: reads see its own writes, and nothing is visible to
/// others until [`StoreTx::commit`]. An implementation may keep writes back and write them in
/// bulk: the rows no method of the transaction reads (outbox rows, notifications, audit
/// entries, finished items) at the commit, new leads with their keys, refs and first
/// assignment as soon as a read could see them (the next item of a batch still finds a lead
/// written by an earlier one).
#[async_trait]
pub trait StoreTx: Send {
    /// The lead made from the item with this external id in this source.
    async fn lead_by_external_id(
        &mut self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<StoredLead>>;

    /// The newest lead any of `refs` belongs to (a reply's `In-Reply-To`/`References`, an
    /// edited message's id), among the leads of `source`; `None` looks in every source, for
    /// ids unique everywhere (e-mail's Message-IDs). A comment id, a chat's message number or
    /// a WhatsApp message id means something only within its own source: another site's
    /// comment 7 is another person.
    async fn lead_by_refs(
        &mut self,
        source: Option<&str>,
        refs: &[String],
    ) -> StoreResult<Option<StoredLead>>;

    /// How many refs lead `lead_id` has: its own external id and one per message that joined
    /// it with one. An edit replaces a lead's text only while it holds that one message.
    async fn lead_ref_count(&mut self, lead_id: &str) -> StoreResult<u64>;

    /// Whether leadgate's own word on who has lead `lead_id` (its `lead.created` or
    /// `lead.reassigned`) is still on its way to `sink`: until it arrives, the owner that
    /// CRM reports is older than leadgate's.
    async fn owner_pending_to(&mut self, sink: &str, lead_id: &str) -> StoreResult<bool>;

    /// The newest lead of a conversation in `source` active since `since` and not yet
    /// acknowledged.
    async fn open_conversation(
        &mut self,
        source: &str,
        conversation_key: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<StoredLead>>;

    /// The newest earlier lead sharing any identity key, with its manager.
    async fn previous_lead(&mut self, keys: &[String]) -> StoreResult<Option<PreviousLead>>;

    /// Reads ahead, in one go, the newest lead of each identity key in `keys`, so that
    /// [`StoreTx::previous_lead`] for them asks the database nothing more. Only a matter of
    /// speed: the answers are the same without it.
    async fn prefetch_identities(&mut self, keys: &[String]) -> StoreResult<()>;

    /// Reads ahead, in one go, the open lead of each `(source, conversation key, since)` in
    /// `asked`, so that [`StoreTx::open_conversation`] with the same arguments asks the
    /// database nothing: a form gives every item a conversation (its contact), and a batch
    /// would otherwise cost one lookup per item. Only a matter of speed: the answers are the
    /// same without it.
    async fn prefetch_conversations(
        &mut self,
        asked: &[(String, String, DateTime<Utc>)],
    ) -> StoreResult<()>;

    /// Open leads per manager now (assigned or acknowledged).
    async fn open_leads_per_manager(&mut self) -> StoreResult<HashMap<String, u32>>;

    /// The levels that have leads held, so newer leads there wait behind them.
    async fn held_levels(&mut self) -> StoreResult<Vec<String>>;

    /// Leads held because nobody was eligible, oldest first.
    async fn held_leads(&mut self, limit: u32) -> StoreResult<Vec<StoredLead>>;

    /// Reads a named cursor inside the transaction (routing strategy state), locking it to
    /// the commit where other daemons could write it too.
    async fn get_cursor(&mut self, key: &str) -> StoreResult<Option<String>>;

    /// Writes a named cursor inside the transaction.
    async fn set_cursor(&mut self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()>;

    /// Keeps the texts of the rules `version` that the traces written in this transaction
    /// point into (once per version; a second call for a version changes nothing).
    async fn keep_rules_texts(
        &mut self,
        version: &str,
        texts: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Writes a new lead with its identity keys and refs.
    async fn insert_lead(&mut self, lead: &NewLead) -> StoreResult<()>;

    /// Rewrites a lead's record and state (an assignment, a pass, a hold).
    async fn update_lead(&mut self, update: &LeadUpdate) -> StoreResult<()>;

    /// Rewrites a lead's record after a follow-up or an edit, which changes its text, contact
    /// and last activity but never its status, level, rule or manager: only what those
    /// touch is rewritten, not every index on the lead's routing. The record is written as
    /// it was encoded for the event, and kept as it is (not copied) until then.
    async fn follow_up_lead(&mut self, lead: EncodedLead, at: DateTime<Utc>) -> StoreResult<()>;

    /// Adds identity keys a lead gained from a follow-up (a phone shared after the first
    /// message) as of `at`, so the person is known by them next time.
    async fn add_identity_keys(
        &mut self,
        lead_id: &str,
        manager_id: Option<&str>,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Adds refs (Message-IDs of follow-ups) to a lead.
    async fn add_refs(&mut self, lead_id: &str, refs: &[String]) -> StoreResult<()>;

    /// Writes an assignment and ends the lead's previous active one with `previous_state`.
    async fn insert_assignment(&mut self, a: &NewAssignment) -> StoreResult<()>;

    /// Queues outbox rows.
    async fn insert_outbox(&mut self, rows: &[NewOutbox]) -> StoreResult<()>;

    /// Queues notifications (a dedupe key already queued is ignored).
    async fn insert_notifications(&mut self, rows: &[NewNotification]) -> StoreResult<()>;

    /// Appends to a lead's audit trail.
    async fn audit(
        &mut self,
        lead_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        detail: &Value,
    ) -> StoreResult<()>;

    /// Records what became of an inbound item.
    async fn finish_inbound(&mut self, done: &FinishedInbound) -> StoreResult<()>;

    /// One lead by id.
    async fn lead(&mut self, lead_id: &str) -> StoreResult<Option<StoredLead>>;

    /// The lead whose value `name` captured from `sink`'s answers is `value` (the CRM's own
    /// id of the lead, as its webhooks name it; a number and its text are the same id).
    async fn lead_by_crm_ref(
        &mut self,
        sink: &str,
        name: &str,
        value: &str,
    ) -> StoreResult<Option<String>>;

    /// The lead's current (active) assignment.
    async fn active_assignment(&mut self, lead_id: &str) -> StoreResult<Option<ActiveAssignment>>;

    /// Active assignments of assigned leads whose SLA ran out at `now`, oldest deadline first.
    async fn due_assignments(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ActiveAssignment>>;

    /// Every assignment the lead had, oldest first (who already had it, at which level).
    async fn assignment_history(&mut self, lead_id: &str) -> StoreResult<Vec<AssignmentSummary>>;

    /// Counts an acknowledgement's time to take in the manager's working hours into the
    /// reports' daily totals: the assignment's `day` (`YYYY-MM-DD`), manager and level, and
    /// the bucket of [`TAKE_BUCKETS`] (0..=9) the working time falls in.
    async fn record_take(
        &mut self,
        day: &str,
        manager_id: &str,
        level: &str,
        bucket: usize,
    ) -> StoreResult<()>;

    /// Replaces the lead's stored routing trace with one decided under `rules_version` (a lead
    /// routed again from the console), so its journey spells it with that version's texts.
    async fn set_trace(
        &mut self,
        lead_id: &str,
        trace: &str,
        rules_version: &str,
    ) -> StoreResult<()>;

    /// Ends the lead's active assignment with `state` (`acknowledged`, `declined`, ...).
    async fn end_assignment(
        &mut self,
        lead_id: &str,
        state: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Commits everything.
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}
