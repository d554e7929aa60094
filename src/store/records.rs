//! The values that cross the [`super::Store`] trait.

use crate::lead::{Channel, Lead};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::borrow::Cow;

/// An item a channel handed over, to be committed before the channel is acknowledged.
#[derive(Debug, Clone)]
pub struct NewInbound {
    /// UUID v7 of the item.
    pub id: String,
    /// The source id.
    pub source: String,
    /// The channel.
    pub channel: Channel,
    /// Unique per source: the provider's id, or the item id when the provider has none.
    pub dedupe_key: String,
    /// When it arrived.
    pub received_at: DateTime<Utc>,
    /// The payload's media type, when the channel has one (web forms).
    pub content_type: Option<String>,
    /// The raw bytes, exactly as received.
    pub payload: Vec<u8>,
    /// Channel-specific context the parser needs (client address, headers).
    pub meta: Value,
}

/// The longest dedupe key kept as it is. A provider's id is short; one a sender writes
/// (an e-mail's `Message-ID`) may not be, and PostgreSQL refuses an index entry of a few KiB,
/// which would fail the whole commit, and every retry of it.
pub const MAX_DEDUPE_KEY: usize = 256;

impl NewInbound {
    /// The item with a dedupe key longer than [`MAX_DEDUPE_KEY`] bytes, or holding a NUL
    /// (PostgreSQL refuses one in text, which would fail the whole intake group it joins),
    /// replaced by `sha256:` and its digest: the same key always gives the same replacement,
    /// so a retried delivery is still a duplicate.
    pub fn with_bounded_key(mut self) -> NewInbound {
        if let Cow::Owned(bounded) = bounded_dedupe_key(&self.dedupe_key) {
            self.dedupe_key = bounded;
        }
        self
    }
}

/// A dedupe key as the store keeps it (see [`NewInbound::with_bounded_key`]): what a poller
/// asks about a key it read (`erased_among`) is asked of the key the store wrote.
pub fn bounded_dedupe_key(key: &str) -> Cow<'_, str> {
    match key.len() > MAX_DEDUPE_KEY || key.contains('\0') {
        true => Cow::Owned(format!(
            "sha256:{}",
            crate::digest::sha256_hex(key.as_bytes())
        )),
        false => Cow::Borrowed(key),
    }
}

/// Dedupe keys by the form a table keeps them in, for a question asked of it on either
/// backend (`IntakeStore::stored_among`, `erased_among`): the forms to ask for, and the keys
/// of the forms it holds.
pub(crate) struct KeyForms<'a>(std::collections::BTreeMap<String, &'a String>);

impl<'a> KeyForms<'a> {
    /// Each of `keys` by `form` of it.
    pub(crate) fn of(keys: &'a [String], form: impl Fn(&str) -> String) -> KeyForms<'a> {
        KeyForms(keys.iter().map(|k| (form(k), k)).collect())
    }

    /// Each of `keys` as `inbound` keeps it ([`bounded_dedupe_key`]).
    pub(crate) fn stored(keys: &'a [String]) -> KeyForms<'a> {
        KeyForms::of(keys, |k| bounded_dedupe_key(k).into_owned())
    }

    /// Whether there is nothing to ask.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The forms, to ask for.
    pub(crate) fn forms(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    /// The keys whose forms are among `found`.
    pub(crate) fn keys_of(&self, found: &[String]) -> std::collections::HashSet<String> {
        (found.iter())
            .filter_map(|f| self.0.get(f).map(|k| (*k).clone()))
            .collect()
    }
}

/// A source's position, committed with the items it covers (a mailbox's watermark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorWrite {
    /// The cursor's key.
    pub key: String,
    /// Its new value.
    pub value: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The result of committing one inbound item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now, under this id.
    New(String),
    /// Already stored before, under this id: nothing changed.
    Duplicate(String),
}

impl Inserted {
    /// The stored item's id, new or old.
    pub fn id(&self) -> &str {
        match self {
            Inserted::New(id) | Inserted::Duplicate(id) => id,
        }
    }
}

/// A stored inbound item waiting to be processed.
#[derive(Debug, Clone)]
pub struct InboundRow {
    /// Item id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// Channel.
    pub channel: Channel,
    /// Dedupe key.
    pub dedupe_key: String,
    /// Arrival time.
    pub received_at: DateTime<Utc>,
    /// Media type.
    pub content_type: Option<String>,
    /// Raw bytes.
    pub payload: Vec<u8>,
    /// Channel context.
    pub meta: Value,
}

/// Where a lead stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    /// A manager has it and has not reacted yet.
    Assigned,
    /// Nobody was eligible: waiting for someone's hours or capacity.
    Held,
    /// The manager took it.
    Acknowledged,
    /// The CRM closed it (won, lost, junk, deleted): nobody works on it any more.
    Closed,
}

impl LeadStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::Assigned => "assigned",
            LeadStatus::Held => "held",
            LeadStatus::Acknowledged => "acknowledged",
            LeadStatus::Closed => "closed",
        }
    }

    /// Reads the stored name.
    pub fn parse(s: &str) -> Option<LeadStatus> {
        match s {
            "assigned" => Some(LeadStatus::Assigned),
            "held" => Some(LeadStatus::Held),
            "acknowledged" => Some(LeadStatus::Acknowledged),
            "closed" => Some(LeadStatus::Closed),
            _ => None,
        }
    }
}

/// A lead as stored, for the processing stage's lookups.
#[derive(Debug, Clone)]
pub struct StoredLead {
    /// The record as last written.
    pub record: Lead,
    /// Where it stands.
    pub status: LeadStatus,
    /// The current manager, if any.
    pub manager_id: Option<String>,
    /// The level it is routed at.
    pub level: Option<String>,
    /// When it last saw a message or a change.
    pub last_activity_at: DateTime<Utc>,
}

/// A lead with its record's JSON text, encoded once: the text is what the store keeps and
/// what a plain event's `data` holds. A follow-up's record carries every message so far, and
/// encoding it once for both (not again for the row and for the envelope) keeps the cost of a
/// long conversation's next message down.
#[derive(Debug, Clone)]
pub struct EncodedLead {
    record: Lead,
    json: String,
}

impl EncodedLead {
    /// Encodes `record`.
    pub fn new(record: Lead) -> super::StoreResult<EncodedLead> {
        let json = super::sql::leads::record_text(&record)?;
        Ok(EncodedLead { record, json })
    }

    /// The lead.
    pub fn record(&self) -> &Lead {
        &self.record
    }

    /// Its JSON text, as the store keeps it and as an event's `data` is written.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// The lead and its text, for a store that keeps both.
    pub fn into_parts(self) -> (Lead, String) {
        (self.record, self.json)
    }
}

/// The newest earlier lead of a returning contact: what routing needs of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousLead {
    /// Its id.
    pub id: String,
    /// The manager who has it now, if any.
    pub manager_id: Option<String>,
}

/// A new lead with what makes it findable later.
#[derive(Debug, Clone)]
pub struct NewLead {
    /// The record, encoded once for its row and its `lead.created` event.
    pub record: EncodedLead,
    /// The inbound item it was made from.
    pub inbound_id: String,
    /// Where it stands.
    pub status: LeadStatus,
    /// Conversation key (`telegram:<chat>`), if the channel has conversations.
    pub conversation_key: Option<String>,
    /// Identity keys of the contact.
    pub identity_keys: Vec<String>,
    /// Ids of items belonging to it (its own Message-ID).
    pub refs: Vec<String>,
    /// The routing trace as JSON text, for the admin.
    pub trace: String,
    /// The version of the rules that routed it.
    pub rules_version: String,
}

/// A changed lead.
#[derive(Debug, Clone)]
pub struct LeadUpdate {
    /// The new record.
    pub record: Lead,
    /// The new status.
    pub status: LeadStatus,
    /// When the change happened.
    pub at: DateTime<Utc>,
    /// A new routing trace as JSON text, when it was routed again.
    pub trace: Option<String>,
}

/// A new assignment; the lead's previous active assignment ends with `previous_state`.
#[derive(Debug, Clone)]
pub struct NewAssignment {
    /// The lead.
    pub lead_id: String,
    /// The manager.
    pub manager_id: String,
    /// The level.
    pub level: String,
    /// The strategy that picked them.
    pub strategy: String,
    /// 1, 2, ...
    pub attempt: u32,
    /// When.
    pub assigned_at: DateTime<Utc>,
    /// The SLA deadline.
    pub ack_due_at: Option<DateTime<Utc>>,
    /// How the previous assignment ended (`expired`, `declined`).
    pub previous_state: &'static str,
}

/// A lead's current assignment, with the lead.
#[derive(Debug, Clone)]
pub struct ActiveAssignment {
    /// The lead.
    pub lead: StoredLead,
    /// The manager who has it.
    pub manager_id: String,
    /// The level it is at.
    pub level: String,
    /// The strategy that picked them.
    pub strategy: String,
    /// 1, 2, ...
    pub attempt: u32,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
    /// The SLA deadline (none for a supervisor's).
    pub ack_due_at: Option<DateTime<Utc>>,
}

/// An event queued for one sink.
#[derive(Debug, Clone)]
pub struct NewOutbox {
    /// The lead.
    pub lead_id: String,
    /// The sink id.
    pub sink: String,
    /// The `webhook-id`, stable across retries.
    pub event_id: String,
    /// `lead.created`, ...
    pub event_type: String,
    /// The envelope (`{"type", "timestamp", "data"}` with the lead as this sink sees it): sent
    /// as it is, or what a preset renders its steps from.
    pub body: String,
    /// Which of its preset's requests sends the event; `None` for a plain Standard Webhooks
    /// POST of the body.
    pub plan: Option<PresetPlan>,
    /// When it was queued (and first due).
    pub created_at: DateTime<Utc>,
}

/// How a CRM preset sends an outbox row, decided when the event was queued and kept with the
/// row (`outbox.request`). The calls themselves are rendered when they are sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresetPlan {
    /// The index of the preset's `[[requests]]` that sends it (with its `then` steps).
    Request(usize),
    /// Why the preset could not choose on this lead: the row dead-letters with the message
    /// instead of sending something the CRM would misread.
    Error(String),
}

/// Values captured from one CRM's answers about one lead (`crm.NAME` in its preset), by name.
pub type CrmRefs = std::collections::BTreeMap<String, Value>;

/// A claimed outbox row.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// The lead.
    pub lead_id: String,
    /// The sink.
    pub sink: String,
    /// The `webhook-id`.
    pub event_id: String,
    /// The event type.
    pub event_type: String,
    /// The envelope.
    pub body: String,
    /// How its preset sends it; `None` for a plain POST of the body.
    pub plan: Option<PresetPlan>,
    /// The preset steps already done (a retry goes on from the next one).
    pub step: u32,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the retry horizon started (queued, or replayed).
    pub retry_since: DateTime<Utc>,
    /// The end of the lease this claim took: what is recorded of the attempt counts only
    /// while the row is still under it, so a worker whose lease ran out (another replica
    /// claimed the row since) cannot overwrite that claim's record or lift its lease.
    pub lease_until: DateTime<Utc>,
}

/// A source's state as the replica running it publishes it for the others
/// ([`super::LeaseStore::publish_sources`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceState {
    /// The component's name (`source:<id>`, `imap:<source>:<folder>`...).
    pub name: String,
    /// `ok`, `starting` or `failing`.
    pub state: String,
    /// The last time it did its job.
    pub last_success: Option<DateTime<Utc>>,
    /// Its last error, in words (no secrets).
    pub last_error: Option<String>,
}

/// How one delivery attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum DeliveryOutcome {
    /// The sink took it.
    Delivered,
    /// Try again at the given time.
    Retry(DateTime<Utc>),
    /// Give up: dead-letter (replayable).
    Dead,
}

/// The record of one attempt.
#[derive(Debug, Clone)]
pub struct DeliveryResult {
    /// The outbox row.
    pub outbox_id: i64,
    /// The attempt number (1-based).
    pub attempt: u32,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// How it ended.
    pub outcome: DeliveryOutcome,
    /// The HTTP status, when there was one.
    pub status_code: Option<u16>,
    /// What went wrong, when something did.
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
    /// The lease of the claim it was made under ([`OutboxRow::lease_until`]).
    pub lease_until: DateTime<Utc>,
}

/// What became of an inbound item.
#[derive(Debug, Clone)]
pub struct FinishedInbound {
    /// The item.
    pub inbound_id: String,
    /// `lead`, `joined` or `not_lead`.
    pub status: &'static str,
    /// The not-a-lead reason code.
    pub reason: Option<String>,
    /// A human explanation.
    pub detail: Option<String>,
    /// The lead it made or joined.
    pub lead_id: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}

impl FinishedInbound {
    /// The item is not a lead: kept with its reason code and an explanation.
    pub fn not_lead(
        inbound_id: &str,
        reason: &str,
        detail: String,
        at: DateTime<Utc>,
    ) -> FinishedInbound {
        FinishedInbound {
            inbound_id: inbound_id.to_string(),
            status: "not_lead",
            reason: Some(reason.to_string()),
            detail: Some(detail),
            lead_id: None,
            at,
        }
    }

    /// The item became a new lead, or (`joined`, with how) continued an earlier one.
    pub fn lead(
        inbound_id: &str,
        lead_id: &str,
        joined: Option<&str>,
        at: DateTime<Utc>,
    ) -> FinishedInbound {
        FinishedInbound {
            inbound_id: inbound_id.to_string(),
            status: if joined.is_some() { "joined" } else { "lead" },
            reason: None,
            detail: joined.map(str::to_string),
            lead_id: Some(lead_id.to_string()),
            at,
        }
    }
}

/// Which dead letters to replay or list.
#[derive(Debug, Clone, Default)]
pub struct ReplayFilter {
    /// Only this lead's.
    pub lead_id: Option<String>,
    /// Only this sink's.
    pub sink: Option<String>,
}

/// Filters for the admin's lists; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Channel.
    pub channel: Option<String>,
    /// Source id.
    pub source: Option<String>,
    /// Status (`pending`, `lead`, `not_lead`, ... for inbound; `assigned`, `held`, ... for leads).
    pub status: Option<String>,
    /// Not-a-lead reason.
    pub reason: Option<String>,
    /// Manager id.
    pub manager: Option<String>,
    /// Received at or after.
    pub since: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    /// At most this many (capped at 500).
    pub limit: u32,
}

/// An inbound item in the admin's list.
#[derive(Debug, Clone, Serialize)]
pub struct InboundSummary {
    /// Item id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// Channel.
    pub channel: String,
    /// Dedupe key.
    pub dedupe_key: String,
    /// Arrival.
    pub received_at: DateTime<Utc>,
    /// `pending`, `lead`, `joined`, `not_lead`.
    pub status: String,
    /// Not-a-lead reason.
    pub reason: Option<String>,
    /// Explanation.
    pub detail: Option<String>,
    /// The lead it made or joined.
    pub lead_id: Option<String>,
}

/// A lead in the admin's list.
#[derive(Debug, Clone, Serialize)]
pub struct LeadSummary {
    /// Lead id.
    pub id: String,
    /// Source id.
    pub source: String,
    /// Channel.
    pub channel: String,
    /// Arrival.
    pub received_at: DateTime<Utc>,
    /// Status.
    pub status: String,
    /// Level.
    pub level: Option<String>,
    /// Deciding rule.
    pub rule: Option<String>,
    /// Current manager.
    pub manager_id: Option<String>,
}

/// A delivery row for the admin, with every attempt.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxSummary {
    /// Row id.
    pub id: i64,
    /// Lead id.
    pub lead_id: String,
    /// Sink id.
    pub sink: String,
    /// `webhook-id`.
    pub event_id: String,
    /// Event type.
    pub event_type: String,
    /// `pending`, `delivered`, `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// When it is next due.
    pub next_attempt_at: DateTime<Utc>,
    /// The last error.
    pub last_error: Option<String>,
    /// Every attempt.
    pub history: Vec<AttemptSummary>,
}

/// One delivery attempt for the admin.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptSummary {
    /// 1-based.
    pub attempt: u32,
    /// When.
    pub at: DateTime<Utc>,
    /// `delivered`, `retry`, `dead`.
    pub outcome: String,
    /// HTTP status.
    pub status_code: Option<u16>,
    /// Error.
    pub error: Option<String>,
    /// Duration.
    pub duration_ms: u64,
}

/// An assignment for the admin.
#[derive(Debug, Clone, Serialize)]
pub struct AssignmentSummary {
    /// Manager id.
    pub manager_id: String,
    /// Level.
    pub level: String,
    /// Strategy.
    pub strategy: String,
    /// Attempt number.
    pub attempt: u32,
    /// When.
    pub assigned_at: DateTime<Utc>,
    /// Deadline.
    pub ack_due_at: Option<DateTime<Utc>>,
    /// `active`, `acknowledged`, `declined`, `expired`.
    pub state: String,
}

/// An audit entry.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// What kind of change.
    pub kind: String,
    /// Details.
    pub detail: Value,
}

/// A lead's whole journey: what arrived, what it became, where it went.
#[derive(Debug, Clone, Serialize)]
pub struct Journey {
    /// The record.
    pub lead: Value,
    /// Status.
    pub status: String,
    /// Rules version that routed it.
    pub rules_version: String,
    /// The routing trace.
    pub trace: Value,
    /// Every inbound item that made or joined it, raw payload included (as text when UTF-8).
    pub inbound: Vec<Value>,
    /// Every assignment.
    pub assignments: Vec<AssignmentSummary>,
    /// Every delivery with its attempts.
    pub deliveries: Vec<OutboxSummary>,
    /// The audit trail.
    pub audit: Vec<AuditEntry>,
}

/// Queue depths.
#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueStats {
    /// Inbound items not yet processed.
    pub inbound_pending: u64,
    /// Deliveries waiting.
    pub outbox_pending: u64,
    /// Dead letters.
    pub outbox_dead: u64,
    /// Leads held for lack of an eligible manager.
    pub leads_held: u64,
}
