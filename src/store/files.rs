//! What the file keeper and the file links ask of the store: which processed items may carry
//! files, what became of each file, and how much is kept.

use super::{InboundRow, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// A processed item the keeper looks at, in the order items were stored.
#[derive(Debug, Clone)]
pub struct FileItem {
    /// Its place in the store's order (the keeper's cursor).
    pub seq: i64,
    /// The item.
    pub item: InboundRow,
    /// The lead it made or joined.
    pub lead_id: String,
}

/// Whether a file could be kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    /// On disk under its SHA-256.
    Kept {
        /// Hex SHA-256 of the bytes (the file's name on disk).
        sha256: String,
        /// Bytes.
        size: u64,
    },
    /// Not kept, and why (the link answers with the reason).
    Unavailable(String),
}

/// One file of an item, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// `<inbound id>.<n>`, as in the lead's `fields.attachments[n].id`.
    pub id: String,
    /// The item it came with.
    pub inbound_id: String,
    /// The lead.
    pub lead_id: String,
    /// The name the sender gave.
    pub name: String,
    /// The media type the sender gave.
    pub content_type: String,
    /// Kept or why not.
    pub state: FileState,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

/// The store's part in keeping files.
#[async_trait]
pub trait FileStore: Send + Sync + std::fmt::Debug {
    /// Where the keeper stopped: the store order of the last item it looked at; the first
    /// time, just before the first item not processed yet.
    async fn files_cursor(&self) -> StoreResult<i64>;

    /// The items that made or joined a lead and may hold a file among up to `limit` items
    /// after `after` in store order, stopping before the first item not processed yet (so
    /// nothing behind it is skipped), with the store order of the last item looked at. Their
    /// `payload` is empty: [`FileStore::item_payload`] reads it when its turn comes.
    async fn items_for_files(&self, after: i64, limit: u32) -> StoreResult<(Vec<FileItem>, i64)>;

    /// The raw bytes of the item `id` (empty once retention removed them).
    async fn item_payload(&self, id: &str) -> StoreResult<Vec<u8>>;

    /// Bytes kept for `lead_id` so far.
    async fn lead_file_bytes(&self, lead_id: &str) -> StoreResult<u64>;

    /// Records `files` and moves the keeper's cursor to `seq`, in one transaction (a file
    /// recorded twice keeps its first record).
    async fn record_files(
        &self,
        files: &[FileRecord],
        seq: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// The file with `id`, if recorded.
    async fn file(&self, id: &str) -> StoreResult<Option<FileRecord>>;

    /// Bytes on disk: each distinct kept file once.
    async fn kept_file_bytes(&self) -> StoreResult<u64>;

    /// Every SHA-256 some record still keeps.
    async fn kept_hashes(&self) -> StoreResult<HashSet<String>>;

    /// The link key kept in the store, made with `make` and kept the first time.
    async fn file_link_key(&self, make: &(dyn Fn() -> String + Send + Sync))
    -> StoreResult<String>;
}
