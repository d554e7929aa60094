//! What the admin console reads that the JSON API does not: lead lists with search and keyset
//! paging, and the kept-out items by reason. A trait of its own so the console's queries stay
//! apart from the hot path's.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where a page of a newest-first list starts: after the row with this arrival and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageKey {
    /// The arrival of the last row shown.
    pub received_at: DateTime<Utc>,
    /// Its id.
    pub id: String,
}

/// What the search box asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// A phone in E.164 (`+79161234567`).
    Phone(String),
    /// An e-mail address, lower-cased.
    Email(String),
    /// The start of a name, as written.
    Name(String),
}

/// The console's lead list: every set field narrows.
#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    /// Channel.
    pub channel: Option<String>,
    /// Source id.
    pub source: Option<String>,
    /// Level.
    pub level: Option<String>,
    /// Current manager.
    pub manager: Option<String>,
    /// `assigned`, `held`, `acknowledged`.
    pub status: Option<String>,
    /// Arrived at or after.
    pub since: Option<DateTime<Utc>>,
    /// Arrived before.
    pub until: Option<DateTime<Utc>>,
    /// A phone, an e-mail or a name.
    pub search: Option<Search>,
    /// The page starts after this row.
    pub after: Option<PageKey>,
    /// At most this many (1..=1000).
    pub limit: u32,
}

/// A lead in the console's list: who, from where, where it went.
#[derive(Debug, Clone, Serialize)]
pub struct LeadRow {
    /// Lead id.
    pub id: String,
    /// Arrival.
    pub received_at: DateTime<Utc>,
    /// Channel.
    pub channel: String,
    /// Source id.
    pub source: String,
    /// Status.
    pub status: String,
    /// Level.
    pub level: Option<String>,
    /// Current manager.
    pub manager_id: Option<String>,
    /// The person's name.
    pub name: Option<String>,
    /// Their first phone.
    pub phone: Option<String>,
    /// Their first e-mail.
    pub email: Option<String>,
    /// The start of what they wrote.
    pub text: String,
}

/// One page of the lead list.
#[derive(Debug, Clone, Default)]
pub struct LeadPage {
    /// The leads, newest first.
    pub rows: Vec<LeadRow>,
    /// Where the next page starts; `None` at the end. With two or more filters a page looks
    /// through a bounded stretch of one filter's leads, so a page may hold fewer rows than
    /// asked and still have a next one: a page costs the same however rare the combination.
    pub next: Option<PageKey>,
}

/// A kept-out item in the console's list.
#[derive(Debug, Clone, Serialize)]
pub struct NotLeadRow {
    /// Inbound item id.
    pub id: String,
    /// Arrival.
    pub received_at: DateTime<Utc>,
    /// Source id.
    pub source: String,
    /// Channel.
    pub channel: String,
    /// The reason code (`spam`, `auto_reply`, ...).
    pub reason: Option<String>,
    /// The text that decided it.
    pub detail: Option<String>,
    /// The start of the raw item, as text.
    pub excerpt: String,
}

/// One manager's assignments at one level over a period (from the daily totals).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ManagerTotals {
    /// The manager.
    pub manager_id: String,
    /// The level the leads were assigned at.
    pub level: String,
    /// Assignments given.
    pub assigned: u64,
    /// Taken (acknowledged).
    pub taken: u64,
    /// Declined.
    pub declined: u64,
    /// Passed on because the SLA ran out.
    pub expired: u64,
    /// Times to take (wall clock), counted in the buckets of [`TAKE_BUCKETS`].
    pub take_buckets: [u64; 10],
    /// Times to take counted in the manager's working hours, in the same buckets.
    pub work_buckets: [u64; 10],
}

/// How many leads one manager declined at one level for one reason over a period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeclineTotals {
    /// The manager.
    pub manager_id: String,
    /// The level the declined assignment was at.
    pub level: String,
    /// The reason they gave (`busy`, `not_mine`, ... or free text from the API).
    pub reason: String,
    /// How many.
    pub n: u64,
}

/// The times from arrival to the CRM of one source's leads over a period.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CrmTotals {
    /// The source.
    pub source: String,
    /// Its channel.
    pub channel: String,
    /// Leads by the time from arrival to their first delivery, in the buckets of
    /// [`CRM_BUCKETS`].
    pub buckets: [u64; 12],
}

/// The upper bounds, in seconds, of the arrival-to-CRM buckets (the last is open).
pub const CRM_BUCKETS: [u64; 12] = [1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400, 86400, u64::MAX];

/// The upper bounds, in seconds, of the time-to-take buckets (the last is open).
pub const TAKE_BUCKETS: [u64; 10] = [
    60,
    300,
    900,
    1800,
    3600,
    7200,
    14400,
    28800,
    86400,
    u64::MAX,
];

/// Leads and kept-out items of one source on one day.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DayTotals {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// The source.
    pub source: String,
    /// Its channel (empty when the day had only kept-out items).
    pub channel: String,
    /// Leads.
    pub leads: u64,
    /// Items kept out.
    pub kept_out: u64,
}

/// A message about a lead to a manager, and how sending it went.
#[derive(Debug, Clone, Serialize)]
pub struct LeadNotice {
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// The manager id.
    pub recipient: String,
    /// `telegram` or `email`.
    pub channel: String,
    /// The chat id or the address.
    pub address: String,
    /// `assigned`, `follow_up`, `passed_on`, ...
    pub kind: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    /// Attempts made.
    pub attempts: u32,
    /// The last error.
    pub last_error: Option<String>,
    /// When it got through.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A stored inbound item as the console shows it on its own page, with what became of it.
#[derive(Debug, Clone)]
pub struct KeptItem {
    /// The item as it arrived.
    pub row: super::InboundRow,
    /// `pending`, `lead`, `joined` or `not_lead`.
    pub status: String,
    /// Why it was kept out.
    pub reason: Option<String>,
    /// The text that decided it.
    pub detail: Option<String>,
    /// The lead it made or joined.
    pub lead_id: Option<String>,
}

/// What asking to turn a kept-out item into a lead did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkedAsLead {
    /// It is pending again, marked: processing makes it a lead.
    Queued,
    /// It was not (or no longer) kept out: a second click, or an item that is a lead.
    NotKeptOut {
        /// Its status now.
        status: String,
    },
    /// No such item.
    Missing,
}

/// The console's reads.
#[async_trait]
pub trait ConsoleStore: Send + Sync + std::fmt::Debug {
    /// One page of leads, newest first, and where the next page starts.
    async fn lead_page(&self, q: &LeadQuery) -> StoreResult<LeadPage>;

    /// Kept-out items, newest first, of one reason or all, and whether more follow.
    async fn not_leads(
        &self,
        reason: Option<&str>,
        after: Option<&PageKey>,
        limit: u32,
    ) -> StoreResult<(Vec<NotLeadRow>, bool)>;

    /// The body of each of the lead's deliveries, by outbox row id (as text).
    async fn delivery_bodies(
        &self,
        lead_id: &str,
    ) -> StoreResult<std::collections::BTreeMap<String, String>>;

    /// Queues the lead's newest event for `sink` again as a new delivery with `event_id`, and
    /// notes it in the lead's audit trail; `false` when the lead never had an event there.
    async fn resend(
        &self,
        lead_id: &str,
        sink: &str,
        event_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;

    /// Appends to a lead's audit trail (what an admin did from the console).
    async fn audit(
        &self,
        lead_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        detail: &serde_json::Value,
    ) -> StoreResult<()>;

    /// Assignment totals per manager and level for the days `since..=until` (`YYYY-MM-DD`).
    async fn manager_totals(&self, since: &str, until: &str) -> StoreResult<Vec<ManagerTotals>>;

    /// Declines per manager, level and reason for the days `since..=until` (of the
    /// assignment).
    async fn decline_totals(&self, since: &str, until: &str) -> StoreResult<Vec<DeclineTotals>>;

    /// Arrival-to-CRM times per source for the days `since..=until` (of arrival).
    async fn crm_totals(&self, since: &str, until: &str) -> StoreResult<Vec<CrmTotals>>;

    /// Leads and kept-out items per day and source for the days `since..=until`.
    async fn day_totals(&self, since: &str, until: &str) -> StoreResult<Vec<DayTotals>>;

    /// Every notification about the lead, oldest first.
    async fn lead_notifications(&self, lead_id: &str) -> StoreResult<Vec<LeadNotice>>;

    /// One inbound item with its outcome.
    async fn inbound_item(&self, id: &str) -> StoreResult<Option<KeptItem>>;

    /// Puts a kept-out item back in the processing queue marked as a lead (`meta.as_lead` =
    /// `mark`), and notes who asked in its audit trail (under the item's id, which a lead made
    /// from it takes). Only an item kept out now changes, so a second click does nothing.
    async fn mark_as_lead(
        &self,
        id: &str,
        mark: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> StoreResult<MarkedAsLead>;

    /// How many items each reason kept out since `since`, most first.
    async fn not_lead_reasons(&self, since: DateTime<Utc>) -> StoreResult<Vec<(String, u64)>>;
}
