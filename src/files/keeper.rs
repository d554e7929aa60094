//! The file keeper: after an item has made or joined a lead, keeps each file it lists
//! (`fields.attachments`) on the shelf, or records why it could not. It runs behind
//! processing, in store order, so a slow or failing messenger never holds up a lead: the lead
//! is written and delivered with its links first, and a file that cannot be had is marked
//! unavailable with the reason (the link then says so). Messenger files are fetched at once
//! because their addresses expire. Reports itself as `stage:files` in `/readyz`.

use super::fetch::Fetcher;
use super::links::file_id;
use super::shelf::Shelf;
use crate::clock::Clock;
use crate::health::Health;
use crate::lead::{Parsed, without_controls};
use crate::sources::fetch::Unavailable;
use crate::sources::registry::{file_signs, kind};
use crate::sources::{SourceSettings, parse_item};
use crate::store::{FileItem, FileRecord, FileState, FileStore, StoreError};
use crate::telemetry::Metrics;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Items looked at per round.
const BATCH: u32 = 500;
/// How long to wait before a second try of a file whose fetch failed in passing.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Keeps the files of processed items.
#[derive(Debug, Clone)]
pub struct FileKeeper {
    /// The store.
    pub store: Arc<dyn FileStore>,
    /// How each source's items are parsed (the same parsers processing used).
    pub sources: SourceSettings,
    /// How files are fetched.
    pub fetcher: Fetcher,
    /// Where they are kept.
    pub shelf: Shelf,
    /// The largest file kept.
    pub max_file: u64,
    /// The most one lead's files may take.
    pub max_per_lead: u64,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Rung after each processing batch.
    pub wake: Arc<Notify>,
    /// The longest it sleeps between looks.
    pub max_idle: Duration,
    /// Where kept and unavailable files are counted.
    pub metrics: Metrics,
}

/// Where the keeper is: the last item looked at, and the last position written to the store.
#[derive(Debug, Clone, Copy)]
struct Position {
    /// The store order of the last item looked at.
    seen: i64,
    /// The last one written (the cursor moves with every file recorded, and otherwise every
    /// [`CURSOR_EVERY`] items, so a busy store is not written to for items without files).
    saved: i64,
}

/// How far the keeper moves past items without files before it writes its position.
const CURSOR_EVERY: i64 = 5000;

impl FileKeeper {
    /// Keeps files until `shutdown`.
    pub async fn run(self, health: Health, shutdown: CancellationToken) {
        const NAME: &str = "stage:files";
        health.register(NAME, "stage");
        let mut at: Option<Position> = None;
        while !shutdown.is_cancelled() {
            let round = match at {
                Some(p) => self.run_once(p).await,
                None => self.store.files_cursor().await.map(|c| {
                    let p = Position { seen: c, saved: c };
                    (p, true)
                }),
            };
            match round {
                Ok((p, more)) => {
                    // Reading the cursor at start, or a round that moved nowhere, found nothing.
                    health.pass(NAME, at.is_some_and(|before| before.seen != p.seen));
                    at = Some(p);
                    health.success(NAME, self.clock.now(), None);
                    if more {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "Keeping files failed; it is retried.");
                    health.failure(NAME, self.clock.now(), e.to_string());
                    health.pass(NAME, true);
                }
            }
            // Nothing falls due on the clock here: the next files come with a wake-up.
            let (clock, wake) = (self.clock.as_ref(), Some(&*self.wake));
            health
                .idle(NAME, clock, None, self.max_idle, wake, &shutdown)
                .await;
        }
        health.stopped(NAME);
    }

    /// One round from `at`: the files of the next items; the new position and whether more
    /// may be waiting.
    async fn run_once(&self, at: Position) -> Result<(Position, bool), StoreError> {
        let (items, seq) = self
            .store
            .items_for_files(at.seen, BATCH, &file_signs())
            .await?;
        if seq == at.seen {
            return Ok((at, false));
        }
        let mut records = Vec::new();
        let mut per_lead: HashMap<String, u64> = HashMap::new();
        for item in items {
            let mut item = item;
            item.item.payload = self.store.item_payload(&item.item.id).await?;
            for (n, entry) in listed(&item, &self.sources).await.iter().enumerate() {
                let used = match per_lead.get(&item.lead_id) {
                    Some(used) => *used,
                    None => self.store.lead_file_bytes(&item.lead_id).await?,
                };
                let state = self.keep(&item, n, entry, used).await;
                if let FileState::Kept { size, .. } = &state {
                    per_lead.insert(item.lead_id.clone(), used + size);
                    (self.metrics.counter("leadgate_attachments_kept_total", &[])).increment(1);
                } else {
                    per_lead.insert(item.lead_id.clone(), used);
                    (self
                        .metrics
                        .counter("leadgate_attachments_unavailable_total", &[]))
                    .increment(1);
                }
                records.push(FileRecord {
                    id: file_id(&item.item.id, n),
                    inbound_id: item.item.id.clone(),
                    lead_id: item.lead_id.clone(),
                    name: without_controls(text(entry, "name").unwrap_or("file")),
                    content_type: without_controls(
                        text(entry, "type").unwrap_or("application/octet-stream"),
                    ),
                    state,
                    at: self.clock.now(),
                });
            }
        }
        let mut saved = at.saved;
        if !records.is_empty() || seq - at.saved >= CURSOR_EVERY {
            self.store
                .record_files(&records, seq, self.clock.now())
                .await?;
            saved = seq;
        }
        Ok((Position { seen: seq, saved }, true))
    }

    /// Fetches and keeps one file, or says why not.
    async fn keep(&self, item: &FileItem, n: usize, entry: &Value, used: u64) -> FileState {
        if used >= self.max_per_lead {
            return FileState::Unavailable(self.over_lead());
        }
        let mut fetched = self
            .fetcher
            .bytes(&item.item, n, entry, self.max_file)
            .await;
        if let Err(Unavailable::Failed {
            transient: true, ..
        }) = &fetched
        {
            tokio::time::sleep(RETRY_AFTER).await;
            fetched = self
                .fetcher
                .bytes(&item.item, n, entry, self.max_file)
                .await;
        }
        let bytes = match fetched {
            Ok(bytes) if used + bytes.len() as u64 > self.max_per_lead => {
                return FileState::Unavailable(self.over_lead());
            }
            Ok(bytes) => bytes,
            Err(why) => {
                tracing::warn!(lead = %item.lead_id, file = n, channel = item.item.channel.as_str(), reason = %why, "A file the person sent could not be kept; the lead goes on without it.");
                return FileState::Unavailable(why.to_string());
            }
        };
        match self.shelf.put(&bytes).await {
            Ok(sha256) => FileState::Kept {
                sha256,
                size: bytes.len() as u64,
            },
            Err(e) => {
                tracing::error!(error = %e, folder = %self.shelf.dir().display(), "A file could not be written to the files folder.");
                FileState::Unavailable("the file could not be written to disk".into())
            }
        }
    }

    fn over_lead(&self) -> String {
        format!(
            "the lead's files are over the {}-byte limit ([attachments] max_per_lead)",
            self.max_per_lead
        )
    }
}

fn text<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
    entry.get(key).and_then(Value::as_str)
}

/// The files an item lists, as processing read them (`fields.attachments`).
async fn listed(item: &FileItem, sources: &SourceSettings) -> Vec<Value> {
    if !kind(item.item.channel).file_signs().any() {
        return Vec::new();
    }
    match parse_item(&item.item, sources).await {
        Parsed::Lead(draft) => match draft.fields.get("attachments") {
            Some(Value::Array(list)) => list.clone(),
            _ => Vec::new(),
        },
        Parsed::NotLead(_) => Vec::new(),
    }
}
