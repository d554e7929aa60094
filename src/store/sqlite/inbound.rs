//! Intake's side of the store: items committed in groups (with a polled source's position in
//! the same transaction), answered new or the stored item they repeat, and the oldest pending
//! items read for processing.

use super::*;
pub(super) use crate::store::sql::inbound::inbound_row;

/// The most inbound items one statement inserts (8 values each, well under SQLite's limit).
const INBOUND_CHUNK: usize = 64;

/// Inserts inbound items with one statement; the ids of those that were new (a duplicate of
/// a stored item is left out).
async fn insert_inbound_rows<'c, E>(db: E, items: &[NewInbound]) -> StoreResult<HashSet<String>>
where
    E: sqlx::Executor<'c, Database = Sqlite>,
{
    let sql = format!(
        "INSERT INTO inbound (id, source, channel, dedupe_key, received_at, content_type, payload, meta)
         VALUES {} ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; items.len()].join(", ")
    );
    let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for item in items {
        q = q
            .bind(&item.id)
            .bind(&item.source)
            .bind(item.channel.as_str())
            .bind(&item.dedupe_key)
            .bind(ts(item.received_at))
            .bind(&item.content_type)
            .bind(&item.payload)
            .bind(item.meta.to_string());
    }
    Ok(q.fetch_all(db).await?.into_iter().collect())
}

/// Each item's result in order: new, or a duplicate answered with the stored item's id.
async fn inserted(
    db: &mut SqliteConnection,
    items: &[NewInbound],
    fresh: &HashSet<String>,
) -> StoreResult<Vec<Inserted>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if fresh.contains(&item.id) {
            out.push(Inserted::New(item.id.clone()));
        } else {
            let id: String =
                sqlx::query_scalar("SELECT id FROM inbound WHERE source = ?1 AND dedupe_key = ?2")
                    .bind(&item.source)
                    .bind(&item.dedupe_key)
                    .fetch_one(&mut *db)
                    .await?;
            out.push(Inserted::Duplicate(id));
        }
    }
    Ok(out)
}

impl SqliteStore {
    /// Commits `items`, then `cursors`, on intake's own connection; the caller holds the write
    /// turn. A form waits for the writes before it, never for a processing batch being routed.
    async fn insert_with_turn(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>> {
        let mut intake = self.intake.lock().await;
        let conn = intake
            .as_mut()
            .ok_or(StoreError::Database(sqlx::Error::PoolClosed))?;
        // A busy web form's group is one statement, committed on its own: each statement is a
        // hop to SQLite's thread, and a form's answer waits for every one of them. Bigger
        // groups, and a polled source's position, go in one transaction.
        if items.len() <= INBOUND_CHUNK && cursors.is_empty() {
            let fresh = insert_inbound_rows(&mut *conn, items).await?;
            if fresh.len() == items.len() {
                return Ok(items.iter().map(|i| Inserted::New(i.id.clone())).collect());
            }
            // The statement committed: a reader sees which stored items the others repeat.
            let mut conn = self.read.acquire().await?;
            return inserted(&mut conn, items, &fresh).await;
        }
        let mut tx = conn.begin().await?;
        let mut fresh = std::collections::HashSet::with_capacity(items.len());
        for chunk in items.chunks(INBOUND_CHUNK) {
            fresh.extend(insert_inbound_rows(&mut *tx, chunk).await?);
        }
        let out = inserted(&mut tx, items, &fresh).await?;
        for c in cursors {
            set_cursor(&mut *tx, &c.key, &c.value, c.at).await?;
        }
        tx.commit().await?;
        Ok(out)
    }
}

#[async_trait]
impl IntakeStore for SqliteStore {
    async fn insert_inbound(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>> {
        let _turn = self.turn.take().await;
        self.insert_with_turn(items, cursors).await
    }

    async fn commit_gathered(
        &self,
        gather: &mut (dyn FnMut() -> Gathered + Send),
    ) -> StoreResult<Vec<Inserted>> {
        // The group is taken once the turn is ours: every form that came while the writers
        // before it held the turn is in it (they would otherwise wait for one more commit).
        let _turn = self.turn.take().await;
        let group = gather();
        self.insert_with_turn(&group.items, &group.cursors).await
    }

    async fn erased_among(
        &self,
        source: &str,
        keys: &[String],
    ) -> StoreResult<std::collections::HashSet<String>> {
        super::privacy::erased_among(&self.read, source, keys).await
    }

    async fn stored_among(
        &self,
        source: &str,
        keys: &[String],
    ) -> StoreResult<std::collections::HashSet<String>> {
        let stored = KeyForms::stored(keys);
        if stored.is_empty() {
            return Ok(HashSet::new());
        }
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT dedupe_key FROM inbound
             WHERE source = ?1 AND dedupe_key IN (SELECT value FROM json_each(?2))",
        )
        .bind(source)
        .bind(json_list(&stored.forms()))
        .fetch_all(&self.read)
        .await?;
        Ok(stored.keys_of(&found))
    }

    async fn get_cursor(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = ?1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    async fn set_cursor(&self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(&mut *self.writer().await?, key, value, now).await
    }
}
