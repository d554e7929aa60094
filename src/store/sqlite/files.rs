//! [`FileStore`] on SQLite: the `attachments` table and the keeper's cursor.

use super::inbound::inbound_row;
use super::{SqliteStore, set_cursor};
use crate::lead::Channel;
use crate::store::sql::files::{
    CURSOR, FILE, FIRST_LINK_KEY, INSERT_FILE, KEPT_HASHES, LINK_KEY, Search, bind_file,
    file_record, may_hold,
};
use crate::store::{FileItem, FileRecord, FileSigns, FileStore, StoreResult};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::HashSet;

/// A text in an item's bytes or meta, as SQLite finds it.
const SEARCH: Search = Search {
    payload: |text| format!("instr(CAST(payload AS TEXT), {text}) > 0"),
    meta: |text| format!("instr(meta, {text}) > 0"),
};

/// A keeper's round: the items after its position (`?1`, at most `?2`) and before the first
/// one not processed yet, whose outcome is not known, in store order. Bounded by that item, not
/// stopped at it: while processing is behind intake, the items past it were read and thrown
/// away at every round (under the peer load, more than half the rows the statement returned).
/// The pending queue's index is named: SQLite's own choice for `MIN(rowid)` walks the table
/// from its first row to the first pending item, every item ever processed.
pub(super) fn files_round(may_hold: &str) -> String {
    format!(
        "SELECT rowid AS seq, id, source, channel, dedupe_key, received_at, content_type,
                x'' AS payload, meta, lead_id, {may_hold}
         FROM inbound
         WHERE rowid > ?1 AND rowid < COALESCE(
             (SELECT MIN(rowid) FROM inbound INDEXED BY inbound_pending WHERE status = 'pending'),
             9223372036854775807)
         ORDER BY rowid LIMIT +?2"
    )
}

#[async_trait]
impl FileStore for SqliteStore {
    async fn files_cursor(&self) -> StoreResult<i64> {
        let mut writer = self.writer().await?;
        // The first time (a new store, or one made before files were kept), the keeper starts
        // just before the first item not processed yet: older leads were made without links,
        // so keeping their files would only fill the disk.
        sqlx::query(
            "INSERT INTO cursors (key, value, updated_at)
             SELECT ?1, CAST(COALESCE((SELECT MIN(rowid) - 1 FROM inbound WHERE status = 'pending'),
                                      (SELECT MAX(rowid) FROM inbound), 0) AS TEXT),
                    '1970-01-01T00:00:00.000000Z'
             WHERE NOT EXISTS (SELECT 1 FROM cursors WHERE key = ?1)",
        )
        .bind(CURSOR)
        .execute(&mut *writer)
        .await?;
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM cursors WHERE key = ?1")
            .bind(CURSOR)
            .fetch_optional(&mut *writer)
            .await?;
        Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    async fn items_for_files(
        &self,
        after: i64,
        limit: u32,
        signs: &[(Channel, FileSigns)],
    ) -> StoreResult<(Vec<FileItem>, i64)> {
        // Items that made or joined a lead and whose bytes can hold a file by their channel's
        // signs (most mail names no file and is not parsed a second time); their bytes are
        // read one at a time later (`item_payload`), so a batch of uploads is never in memory
        // at once.
        let rows = sqlx::query(sqlx::AssertSqlSafe(files_round(&may_hold(signs, &SEARCH))))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let mut items = Vec::new();
        let mut seq = after;
        for r in &rows {
            seq = r.try_get("seq")?;
            if r.try_get::<Option<bool>, _>("may_hold")?.unwrap_or(false) {
                items.push(FileItem {
                    seq,
                    item: inbound_row(r)?,
                    lead_id: r
                        .try_get::<Option<String>, _>("lead_id")?
                        .unwrap_or_default(),
                });
            }
        }
        Ok((items, seq))
    }

    async fn item_payload(&self, id: &str) -> StoreResult<Vec<u8>> {
        let payload: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT payload FROM inbound WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.read)
                .await?;
        Ok(payload.unwrap_or_default())
    }

    async fn lead_file_bytes(&self, lead_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0) FROM attachments WHERE lead_id = ?1 AND status = 'kept'",
        )
        .bind(lead_id)
        .fetch_one(&self.read)
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn record_files(
        &self,
        files: &[FileRecord],
        seq: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut writer = self.writer().await?;
        let mut tx = writer.begin().await?;
        for f in files {
            bind_file(sqlx::query(INSERT_FILE.sqlite()), f)
                .execute(&mut *tx)
                .await?;
        }
        set_cursor(&mut *tx, CURSOR, &seq.to_string(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn file(&self, id: &str) -> StoreResult<Option<FileRecord>> {
        sqlx::query(FILE.sqlite())
            .bind(id)
            .fetch_optional(&self.read)
            .await?
            .as_ref()
            .map(file_record)
            .transpose()
    }

    async fn kept_file_bytes(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0) FROM (SELECT MAX(size) AS size FROM attachments
             WHERE status = 'kept' GROUP BY sha256)",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn kept_hashes(&self) -> StoreResult<HashSet<String>> {
        let rows: Vec<String> = sqlx::query_scalar(KEPT_HASHES.sqlite())
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn file_link_key(
        &self,
        make: &(dyn Fn() -> String + Send + Sync),
    ) -> StoreResult<String> {
        let fresh = make();
        let mut writer = self.writer().await?;
        // The first key written wins; a second daemon starting at once reads it back.
        sqlx::query(FIRST_LINK_KEY.sqlite())
            .bind(LINK_KEY)
            .bind(&fresh)
            .execute(&mut *writer)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = ?1")
                .bind(LINK_KEY)
                .fetch_one(&mut *writer)
                .await?,
        )
    }
}
