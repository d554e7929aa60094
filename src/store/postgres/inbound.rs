//! Intake's side on PostgreSQL: a group of items in one statement (arrays unnested in order),
//! answered new or the stored item they repeat, and the oldest pending items.

use super::*;
pub(super) use crate::store::sql::inbound::{INBOUND_COLUMNS, inbound_row};
use std::collections::HashSet;

/// Inserts items in their order with one statement; the ids of those that were new.
async fn insert_rows(db: &mut PgConnection, items: &[NewInbound]) -> StoreResult<HashSet<String>> {
    let column = |f: fn(&NewInbound) -> Option<String>| items.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<String> = sqlx::query_scalar(
        "INSERT INTO inbound (id, source, channel, dedupe_key, received_at, content_type, payload, meta)
         SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::bytea[], $8::text[])
              WITH ORDINALITY AS u(id, source, channel, dedupe_key, received_at, content_type,
                                   payload, meta, n)
         ORDER BY n
         ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(column(|i| Some(i.id.clone())))
    .bind(column(|i| Some(i.source.clone())))
    .bind(column(|i| Some(i.channel.as_str().to_string())))
    .bind(column(|i| Some(i.dedupe_key.clone())))
    .bind(column(|i| Some(ts(i.received_at))))
    .bind(column(|i| i.content_type.clone()))
    .bind(items.iter().map(|i| i.payload.clone()).collect::<Vec<_>>())
    .bind(column(|i| Some(i.meta.to_string())))
    .fetch_all(&mut *db)
    .await?;
    Ok(ids.into_iter().collect())
}

#[async_trait]
impl IntakeStore for PgStore {
    async fn insert_inbound(
        &self,
        items: &[NewInbound],
        cursors: &[CursorWrite],
    ) -> StoreResult<Vec<Inserted>> {
        let mut tx = self.pool.begin().await?;
        let fresh = insert_rows(&mut tx, items).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if fresh.contains(&item.id) {
                out.push(Inserted::New(item.id.clone()));
            } else {
                let id: String = sqlx::query_scalar(
                    "SELECT id FROM inbound WHERE source = $1 AND dedupe_key = $2",
                )
                .bind(&item.source)
                .bind(&item.dedupe_key)
                .fetch_one(&mut *tx)
                .await?;
                out.push(Inserted::Duplicate(id));
            }
        }
        for c in cursors {
            set_cursor(&mut *tx, &c.key, &c.value, c.at).await?;
        }
        if !fresh.is_empty() {
            notify(&mut tx, INBOUND).await?;
        }
        tx.commit().await?;
        Ok(out)
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
