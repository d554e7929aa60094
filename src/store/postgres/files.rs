//! [`FileStore`] on PostgreSQL: the `attachments` table and the keeper's cursor, which is an
//! item's `seq` (the order items were stored in).

use super::inbound::inbound_row;
use super::*;
use crate::lead::Channel;
use crate::store::sql::files::{
    CURSOR, FILE, FIRST_LINK_KEY, INSERT_FILE, KEPT_HASHES, LINK_KEY, Search, bind_file,
    file_record, may_hold,
};
use std::collections::HashSet;

/// A text in an item's bytes or meta, as PostgreSQL finds it.
const SEARCH: Search = Search {
    payload: |text| format!("position({text}::bytea IN payload) > 0"),
    meta: |text| format!("position({text} IN meta) > 0"),
};

#[async_trait]
impl FileStore for PgStore {
    async fn files_cursor(&self) -> StoreResult<i64> {
        // The first time, the keeper starts just before the first item not processed yet:
        // older leads were made without links.
        sqlx::query(
            "INSERT INTO cursors (key, value, updated_at)
             SELECT $1, COALESCE((SELECT MIN(seq) - 1 FROM inbound WHERE status = 'pending'),
                                 (SELECT MAX(seq) FROM inbound), 0)::text,
                    '1970-01-01T00:00:00.000000Z'
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(CURSOR)
        .execute(&self.pool)
        .await?;
        let value: Option<String> = sqlx::query_scalar("SELECT value FROM cursors WHERE key = $1")
            .bind(CURSOR)
            .fetch_optional(&self.pool)
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
        // signs; their bytes are read one at a time later (`item_payload`).
        let may_hold = may_hold(signs, &SEARCH);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT seq, id, source, channel, dedupe_key, received_at, content_type,
                    ''::bytea AS payload, meta, status, lead_id, {may_hold}
             FROM inbound WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut items = Vec::new();
        let mut seq = after;
        for r in &rows {
            if r.try_get::<String, _>("status")? == "pending" {
                break;
            }
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
            sqlx::query_scalar("SELECT payload FROM inbound WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(payload.unwrap_or_default())
    }

    async fn lead_file_bytes(&self, lead_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0)::bigint FROM attachments
             WHERE lead_id = $1 AND status = 'kept'",
        )
        .bind(lead_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn record_files(
        &self,
        files: &[FileRecord],
        seq: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        for f in files {
            bind_file(sqlx::query(INSERT_FILE.postgres()), f)
                .execute(&mut *tx)
                .await?;
        }
        set_cursor(&mut *tx, CURSOR, &seq.to_string(), now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn file(&self, id: &str) -> StoreResult<Option<FileRecord>> {
        sqlx::query(FILE.postgres())
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(file_record)
            .transpose()
    }

    async fn kept_file_bytes(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(SUM(size), 0)::bigint FROM (SELECT MAX(size) AS size FROM attachments
             WHERE status = 'kept' GROUP BY sha256) AS kept",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n.max(0) as u64)
    }

    async fn kept_hashes(&self) -> StoreResult<HashSet<String>> {
        let rows: Vec<String> = sqlx::query_scalar(KEPT_HASHES.postgres())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    async fn file_link_key(
        &self,
        make: &(dyn Fn() -> String + Send + Sync),
    ) -> StoreResult<String> {
        let fresh = make();
        // The first key written wins; a second daemon starting at once reads it back.
        sqlx::query(FIRST_LINK_KEY.postgres())
            .bind(LINK_KEY)
            .bind(&fresh)
            .execute(&self.pool)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = $1")
                .bind(LINK_KEY)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
