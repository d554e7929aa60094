//! What the file keeper and the file links ask of the store: which processed items may carry
//! files, what became of each file, and how much is kept.

use super::{InboundRow, StoreResult};
use crate::lead::Channel;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// How the store tells from an item's stored columns, without handing its bytes to the
/// daemon, that it may list files: each channel's own signs (its kind says which), so the
/// store names no channel and the keeper reads the bytes of those items alone.
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSigns {
    /// Every item of the channel may (WhatsApp's media come as ids in any message).
    pub always: bool,
    /// Texts whose presence in the stored bytes says an item may (`file_id`, `name=`).
    pub in_payload: &'static [&'static str],
    /// A content type an item may have files under (`multipart/`), by its start.
    pub content_type_prefix: Option<&'static str>,
    /// Texts whose presence in the item's meta says it may (links intake noted).
    pub in_meta: &'static [&'static str],
}

impl FileSigns {
    /// Items of the channel never list files.
    pub const NONE: FileSigns = FileSigns {
        always: false,
        in_payload: &[],
        content_type_prefix: None,
        in_meta: &[],
    };

    /// Whether any item of the channel can list files.
    pub fn any(&self) -> bool {
        self.always
            || !self.in_payload.is_empty()
            || self.content_type_prefix.is_some()
            || !self.in_meta.is_empty()
    }
}

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

    /// The items that made or joined a lead and may hold a file by their channel's `signs`
    /// among up to `limit` items after `after` in store order, stopping before the first item
    /// not processed yet (so nothing behind it is skipped), with the store order of the last
    /// item looked at. Their `payload` is empty: [`FileStore::item_payload`] reads it when
    /// its turn comes.
    async fn items_for_files(
        &self,
        after: i64,
        limit: u32,
        signs: &[(Channel, FileSigns)],
    ) -> StoreResult<(Vec<FileItem>, i64)>;

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
