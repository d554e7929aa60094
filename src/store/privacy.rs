//! What the retention sweeper and the `forget` and `export` commands ask of the store: personal
//! data removed once it is no longer needed, or on the person's request (152-FZ, GDPR).

use super::{Journey, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// What the sweeper removes, each on its own clock (`[retention]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RetentionKind {
    /// Items that were not leads, whole.
    NotLeads,
    /// The raw bytes of items that made or joined a lead (the lead keeps what was read).
    Inbound,
    /// Bodies of events a sink took and of messages sent to managers.
    Delivered,
    /// Whole settled leads (taken or closed) with everything about them.
    Leads,
    /// The files people sent (their records; the sweeper then removes the files no record
    /// keeps).
    Attachments,
}

impl RetentionKind {
    /// Every kind, in the order a pass sweeps them.
    pub const ALL: [RetentionKind; 5] = [
        RetentionKind::NotLeads,
        RetentionKind::Inbound,
        RetentionKind::Delivered,
        RetentionKind::Leads,
        RetentionKind::Attachments,
    ];

    /// The name in `[retention]`, logs and the metric's `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionKind::NotLeads => "not_leads",
            RetentionKind::Inbound => "inbound",
            RetentionKind::Delivered => "delivered",
            RetentionKind::Leads => "leads",
            RetentionKind::Attachments => "attachments",
        }
    }
}

/// Whose data a `forget` or an `export` is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A phone in E.164 (`+79161234567`).
    Phone(String),
    /// A normalised e-mail address.
    Email(String),
    /// One lead by id.
    Lead(String),
}

impl Subject {
    /// What the subject is, without its value: the tombstone says this and never the value.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Phone(_) => "phone",
            Subject::Email(_) => "email",
            Subject::Lead(_) => "lead",
        }
    }

    /// Lower-case texts whose presence in an item's raw bytes means the item names the
    /// subject: a phone's national number (in `+7 916...`, `8916...`, `%2B7916...` alike
    /// when written without separators), an e-mail as written and URL-encoded.
    pub fn search_texts(&self) -> Vec<String> {
        match self {
            Subject::Phone(e164) => phonenumber::parse(None, e164)
                .map(|n| vec![n.national().value().to_string()])
                .unwrap_or_else(|_| vec![e164.trim_start_matches('+').to_string()]),
            Subject::Email(e) => {
                let e = e.to_lowercase();
                vec![e.replace('@', "%40"), e]
            }
            Subject::Lead(_) => Vec::new(),
        }
    }
}

/// Who asked for an erasure and under which id its tombstone is kept.
#[derive(Debug, Clone)]
pub struct ErasureRequest {
    /// The opaque id of the tombstone (`erasure:<uuid>`), the audit trail's "lead" of it.
    pub id: String,
    /// Who ran it (`--by`, or the login).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What an erasure removed, for the operator and the tombstone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Erasure {
    /// The leads removed (opaque ids, so the operator can erase the CRM's copies too).
    pub leads: Vec<String>,
    /// Rows removed per kind of data (`inbound`, `leads`, `outbox`...).
    pub removed: BTreeMap<&'static str, u64>,
}

/// The store's part in retention, erasure and access requests.
#[async_trait]
pub trait PrivacyStore: Send + Sync + std::fmt::Debug {
    /// Removes up to `limit` rows of `kind` older than `before` (as of `now`), oldest first;
    /// returns how many. Never touches what delivery or the SLA still needs: pending items,
    /// undelivered or dead outbox rows, unsent notifications, held leads or leads a manager
    /// has not reacted to.
    async fn sweep(
        &self,
        kind: RetentionKind,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64>;

    /// Erases everything stored about `subject` (its leads with their items, files' records,
    /// deliveries, notifications, CRM references and audit trail, and any other item whose raw bytes
    /// name it), leaves a tombstone in the audit trail under `request.id`, and rewrites the
    /// database so the erased bytes are nowhere in its files.
    async fn forget(&self, subject: &Subject, request: &ErasureRequest) -> StoreResult<Erasure>;

    /// Everything stored about `subject`: each of its leads' journeys, and the other items
    /// whose raw bytes name it (as text when UTF-8).
    async fn export(&self, subject: &Subject) -> StoreResult<Export>;
}

/// The items of `source` whose dedupe keys `leadgate forget` has not erased, in their order:
/// a poller or a mailbox reads the same comments and mail again (a WordPress recheck, a feed
/// that still lists them, a rescan after a new UIDVALIDITY, a second folder), and an erased
/// person's words still there must not come back as a new lead.
pub async fn without_erased<T>(
    store: &(impl super::IntakeStore + ?Sized),
    source: &str,
    items: Vec<T>,
    dedupe_key: impl Fn(&T) -> &str,
) -> StoreResult<Vec<T>> {
    let keys: Vec<String> = items.iter().map(|i| dedupe_key(i).to_string()).collect();
    let erased = store.erased_among(source, &keys).await?;
    Ok(items
        .into_iter()
        .filter(|item| !erased.contains(dedupe_key(item)))
        .collect())
}

/// The digest `erased_keys` keeps of a dedupe key: the key itself can name the person.
pub(crate) fn erased_key_digest(dedupe_key: &str) -> String {
    crate::digest::sha256_hex(dedupe_key.as_bytes())
}

impl<'a> super::KeyForms<'a> {
    /// Each of `keys` as `erased_keys` keeps it: the digest of the key the store wrote (an
    /// over-long key by its digest).
    pub(crate) fn erased(keys: &'a [String]) -> super::KeyForms<'a> {
        super::KeyForms::of(keys, |k| erased_key_digest(&super::bounded_dedupe_key(k)))
    }
}

/// A person's data, for a subject-access request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Export {
    /// Each lead of theirs, with what arrived, where it went and its audit trail.
    pub leads: Vec<Journey>,
    /// Items naming them that made no lead of theirs (not leads, not processed yet).
    pub other_items: Vec<serde_json::Value>,
    /// The messages sent to managers about their leads (the cards quote their words).
    pub notifications: Vec<serde_json::Value>,
    /// What the CRMs answered about their leads (the CRM's own ids for them).
    pub crm_refs: Vec<serde_json::Value>,
    /// The files they sent, as kept (name, type, size, SHA-256; the bytes are in `files/`).
    pub files: Vec<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_over_long_key_is_asked_for_as_the_store_kept_it() {
        let long = format!("<{}@mail.example>", "x".repeat(400));
        let kept = crate::store::NewInbound {
            id: "i".into(),
            source: "inbox".into(),
            channel: crate::lead::Channel::Email,
            dedupe_key: long.clone(),
            received_at: chrono::DateTime::UNIX_EPOCH,
            content_type: None,
            payload: Vec::new(),
            meta: serde_json::Value::Null,
        }
        .with_bounded_key()
        .dedupe_key;
        assert!(kept.starts_with("sha256:"), "{kept}");
        let keys = [long.clone(), "<short@mail>".to_string()];
        let digests = crate::store::KeyForms::erased(&keys);
        let found = digests.keys_of(&[erased_key_digest(&kept)]);
        assert_eq!(found, [long].into());
        let short = digests.keys_of(&[erased_key_digest("<short@mail>")]);
        assert_eq!(short, ["<short@mail>".to_string()].into());
    }
}
