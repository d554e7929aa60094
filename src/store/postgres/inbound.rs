//! Intake's side on PostgreSQL: a group of items in one statement (arrays unnested in order)
//! that is its own transaction unless a cursor moves with it, answered new or the stored item
//! they repeat.

use super::*;
pub(super) use crate::store::sql::inbound::{INBOUND_COLUMNS, inbound_row};
use std::collections::{HashMap, HashSet};

/// Inserts items in their order with one statement, which also announces them on [`INBOUND`]
/// (at the commit) when any is new; the ids of those that were new. Run on the pool, the
/// statement is its own transaction: a group of form posts is committed in one round trip.
async fn insert_rows<'e, E: sqlx::Executor<'e, Database = Postgres>>(
    db: E,
    items: &[NewInbound],
) -> StoreResult<HashSet<String>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "WITH new AS (
             INSERT INTO inbound (id, source, channel, dedupe_key, received_at, content_type,
                                  payload, meta)
             SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                         $7::bytea[], $8::text[])
                  WITH ORDINALITY AS u(id, source, channel, dedupe_key, received_at,
                                       content_type, payload, meta, n)
             ORDER BY n
             ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id)
         SELECT new.id FROM new CROSS JOIN (SELECT pg_notify($9, '')) AS announced",
    )
    .bind(column(items, |i| i.id.as_str()))
    .bind(column(items, |i| i.source.as_str()))
    .bind(column(items, |i| i.channel.as_str()))
    .bind(column(items, |i| i.dedupe_key.as_str()))
    .bind(column(items, |i| ts(i.received_at)))
    .bind(column(items, |i| i.content_type.as_deref()))
    .bind(column(items, |i| i.payload.as_slice()))
    .bind(column(items, |i| i.meta.to_string()))
    .bind(INBOUND)
    .fetch_all(db)
    .await?;
    Ok(ids.into_iter().collect())
}

/// Each item's result, in order: new, or the stored item it repeats (read on `db`, once the
/// insert has settled which are repeats).
async fn results<'e, E: sqlx::Executor<'e, Database = Postgres>>(
    db: E,
    items: &[NewInbound],
    fresh: &HashSet<String>,
) -> StoreResult<Vec<Inserted>> {
    let repeats: Vec<&NewInbound> = items.iter().filter(|i| !fresh.contains(&i.id)).collect();
    let mut stored: HashMap<(String, String), String> = HashMap::new();
    if !repeats.is_empty() {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT i.source, i.dedupe_key, i.id FROM inbound i
             JOIN UNNEST($1::text[], $2::text[]) AS k(source, dedupe_key)
               ON i.source = k.source AND i.dedupe_key = k.dedupe_key",
        )
        .bind(column(&repeats, |i| i.source.as_str()))
        .bind(column(&repeats, |i| i.dedupe_key.as_str()))
        .fetch_all(db)
        .await?;
        stored = rows.into_iter().map(|(s, k, id)| ((s, k), id)).collect();
    }
    items
        .iter()
        .map(|item| {
            if fresh.contains(&item.id) {
                return Ok(Inserted::New(item.id.clone()));
            }
            let key = (item.source.clone(), item.dedupe_key.clone());
            match stored.get(&key) {
                Some(id) => Ok(Inserted::Duplicate(id.clone())),
                None => Err(StoreError::Corrupt {
                    what: "inbound",
                    detail: format!("item {} was neither stored nor found as a repeat", item.id),
                }),
            }
        })
        .collect()
}

#[async_trait]
impl IntakeStore for PgStore {
    async fn insert_inbound(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>> {
        if cursors.is_empty() {
            // Nothing else to commit with the items: the statement is the transaction.
            let fresh = insert_rows(&self.pool, items).await?;
            return results(&self.pool, items, &fresh).await;
        }
        let mut tx = self.pool.begin().await?;
        let fresh = insert_rows(&mut *tx, items).await?;
        let out = results(&mut *tx, items, &fresh).await?;
        for c in cursors {
            set_cursor(&mut *tx, &c.key, &c.value, c.at).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn erased_among(
        &self,
        source: &str,
        keys: &[String],
    ) -> StoreResult<std::collections::HashSet<String>> {
        super::privacy::erased_among(&self.pool, source, keys).await
    }

    async fn stored_among(&self, source: &str, keys: &[String]) -> StoreResult<HashSet<String>> {
        let stored = KeyForms::stored(keys);
        if stored.is_empty() {
            return Ok(HashSet::new());
        }
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT dedupe_key FROM inbound WHERE source = $1 AND dedupe_key = ANY($2)",
        )
        .bind(source)
        .bind(stored.forms())
        .fetch_all(&self.pool)
        .await?;
        Ok(stored.keys_of(&found))
    }

    async fn get_cursor(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn set_cursor(&self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(&self.pool, key, value, now).await
    }
}
