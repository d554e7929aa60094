//! [`PrivacyStore`] on PostgreSQL: the retention sweeper's bounded deletes, `forget` and
//! `export`. PostgreSQL frees what `forget` deletes when it vacuums; unlike SQLite's file
//! there is no page image this store can scrub itself.

use super::inbound::INBOUND_COLUMNS;
use super::*;
use crate::store::sql::export::{exported_item, lead_extras};
use crate::store::sql::leads::PERSONS_LEADS;
use crate::store::{KeyForms, erased_key_digest};
use std::collections::{BTreeMap, HashSet};

/// The leads of `subject`: the person's ([`PERSONS_LEADS`]), or the one lead named.
async fn leads_of(conn: &mut PgConnection, subject: &Subject) -> StoreResult<Vec<String>> {
    let (sql, value) = match subject {
        Subject::Phone(p) => (PERSONS_LEADS.postgres(), format!("phone:{p}")),
        Subject::Email(e) => (PERSONS_LEADS.postgres(), format!("email:{e}")),
        Subject::Lead(id) => ("SELECT id FROM leads WHERE id = $1", id.clone()),
    };
    Ok(sqlx::query_scalar(sql)
        .bind(value)
        .fetch_all(&mut *conn)
        .await?)
}

/// Removes the leads `ids` and every row about them; returns the rows removed per table.
async fn delete_leads(
    conn: &mut PgConnection,
    ids: &[String],
) -> StoreResult<BTreeMap<&'static str, u64>> {
    // Children first (attempts hang off outbox rows; items are found through their lead).
    let statements: [(&'static str, &'static str); 11] = [
        (
            "attachments",
            "DELETE FROM attachments WHERE lead_id = ANY($1)",
        ),
        (
            "inbound",
            "DELETE FROM inbound WHERE lead_id = ANY($1)
                OR id IN (SELECT inbound_id FROM leads WHERE id = ANY($1))",
        ),
        (
            "delivery_attempts",
            "DELETE FROM delivery_attempts WHERE outbox_id IN
                (SELECT id FROM outbox WHERE lead_id = ANY($1))",
        ),
        ("outbox", "DELETE FROM outbox WHERE lead_id = ANY($1)"),
        (
            "notifications",
            "DELETE FROM notifications WHERE lead_id = ANY($1)",
        ),
        ("crm_refs", "DELETE FROM crm_refs WHERE lead_id = ANY($1)"),
        ("lead_refs", "DELETE FROM lead_refs WHERE lead_id = ANY($1)"),
        (
            "lead_contacts",
            "DELETE FROM lead_contacts WHERE lead_id = ANY($1)",
        ),
        (
            "assignments",
            "DELETE FROM assignments WHERE lead_id = ANY($1)",
        ),
        ("audit", "DELETE FROM audit WHERE lead_id = ANY($1)"),
        ("leads", "DELETE FROM leads WHERE id = ANY($1)"),
    ];
    let mut removed = BTreeMap::new();
    for (table, sql) in statements {
        let n = sqlx::query(sql)
            .bind(ids)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        removed.insert(table, n);
    }
    Ok(removed)
}

/// Items not (yet) part of any lead whose raw bytes name the subject (a not-lead, an item
/// still pending): matched on the subject's search texts, in lower case. The bytes are read
/// with `encode(.., 'escape')`, which (unlike a conversion from UTF-8) takes any bytes.
const UNLINKED_MATCHING: &str = "FROM inbound WHERE lead_id IS NULL
    AND strpos(lower(encode(payload, 'escape')), $1) > 0";

/// Keeps the digest of every item's dedupe key that `forget` is about to remove (the items
/// of `leads`, and those not part of a lead whose bytes carry one of `texts`), so a poller
/// reading them again leaves them out.
async fn keep_erased_keys(
    conn: &mut PgConnection,
    leads: &[String],
    texts: &[String],
) -> StoreResult<()> {
    let mut keys: Vec<(String, String)> =
        sqlx::query_as("SELECT source, dedupe_key FROM inbound WHERE lead_id = ANY($1)")
            .bind(leads)
            .fetch_all(&mut *conn)
            .await?;
    for text in texts {
        let matching = format!("SELECT source, dedupe_key {UNLINKED_MATCHING}");
        keys.extend(
            sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(matching))
                .bind(text)
                .fetch_all(&mut *conn)
                .await?,
        );
    }
    let (sources, digests): (Vec<String>, Vec<String>) = keys
        .into_iter()
        .map(|(source, key)| (source, erased_key_digest(&key)))
        .unzip();
    sqlx::query(
        "INSERT INTO erased_keys (source, key_digest)
         SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&sources)
    .bind(&digests)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The keys among `keys` whose digest `erased_keys` holds for `source`
/// (`IntakeStore::erased_among`).
pub(super) async fn erased_among(
    pool: &PgPool,
    source: &str,
    keys: &[String],
) -> StoreResult<HashSet<String>> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let digests = KeyForms::erased(keys);
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT key_digest FROM erased_keys WHERE source = $1 AND key_digest = ANY($2)",
    )
    .bind(source)
    .bind(digests.forms())
    .fetch_all(pool)
    .await?;
    Ok(digests.keys_of(&found))
}

#[async_trait]
impl PrivacyStore for PgStore {
    async fn sweep(
        &self,
        kind: RetentionKind,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<u64> {
        let (before, now, limit) = (ts(before), ts(now), i64::from(limit));
        let mut tx = self.pool.begin().await?;
        let n = match kind {
            RetentionKind::NotLeads => sqlx::query(
                "DELETE FROM inbound WHERE id IN (SELECT id FROM inbound
                 WHERE status = 'not_lead' AND received_at < $1 ORDER BY received_at LIMIT $2)",
            )
            .bind(&before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            RetentionKind::Inbound => sqlx::query(
                "UPDATE inbound SET payload = ''::bytea, meta = '{}', purged_at = $3 WHERE id IN (
                    SELECT id FROM inbound
                    WHERE purged_at IS NULL AND status IN ('lead', 'joined') AND received_at < $1
                    ORDER BY received_at LIMIT $2)",
            )
            .bind(&before)
            .bind(limit)
            .bind(&now)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
            RetentionKind::Delivered => {
                let bodies = sqlx::query(
                    "UPDATE outbox SET body = '' WHERE id IN (SELECT id FROM outbox
                     WHERE status = 'delivered' AND body <> '' AND delivered_at < $1
                     ORDER BY delivered_at LIMIT $2)",
                )
                .bind(&before)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                let messages = sqlx::query(
                    "UPDATE notifications SET message = '' WHERE id IN (SELECT id FROM notifications
                     WHERE status = 'sent' AND message <> '' AND sent_at < $1
                     ORDER BY sent_at LIMIT $2)",
                )
                .bind(&before)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                bodies + messages
            }
            RetentionKind::Leads => {
                // Settled, and nothing about it still to send or to wait for.
                let ids: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM leads l
                     WHERE status IN ('acknowledged', 'closed') AND received_at < $1
                       AND last_activity_at < $1
                       AND NOT EXISTS (SELECT 1 FROM outbox o
                                       WHERE o.lead_id = l.id AND o.status <> 'delivered')
                       AND NOT EXISTS (SELECT 1 FROM notifications n
                                       WHERE n.lead_id = l.id AND n.status = 'pending')
                       AND NOT EXISTS (SELECT 1 FROM assignments a
                                       WHERE a.lead_id = l.id AND a.state = 'active')
                     ORDER BY received_at LIMIT $2",
                )
                .bind(&before)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
                if !ids.is_empty() {
                    delete_leads(&mut tx, &ids).await?;
                }
                ids.len() as u64
            }
            RetentionKind::Attachments => sqlx::query(
                "DELETE FROM attachments WHERE id IN (SELECT id FROM attachments
                 WHERE at < $1 ORDER BY at LIMIT $2)",
            )
            .bind(&before)
            .bind(limit)
            .execute(&mut *tx)
            .await?
            .rows_affected(),
        };
        tx.commit().await?;
        Ok(n)
    }

    async fn forget(&self, subject: &Subject, request: &ErasureRequest) -> StoreResult<Erasure> {
        let mut tx = self.pool.begin().await?;
        let leads = leads_of(&mut tx, subject).await?;
        keep_erased_keys(&mut tx, &leads, &subject.search_texts()).await?;
        let mut removed = delete_leads(&mut tx, &leads).await?;
        let mut other = 0;
        for text in subject.search_texts() {
            other += sqlx::query(sqlx::AssertSqlSafe(format!("DELETE {UNLINKED_MATCHING}")))
                .bind(text)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        *removed.entry("inbound").or_default() += other;
        let detail = serde_json::json!({
            "subject": subject.kind(), "by": request.by, "leads": leads.len(), "removed": removed,
        });
        sqlx::query("INSERT INTO audit (lead_id, at, kind, detail) VALUES ($1, $2, 'erased', $3)")
            .bind(&request.id)
            .bind(ts(request.at))
            .bind(detail.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Erasure { leads, removed })
    }

    async fn export(&self, subject: &Subject) -> StoreResult<Export> {
        let mut conn = self.pool.acquire().await?;
        let ids = leads_of(&mut conn, subject).await?;
        let mut other_items: Vec<serde_json::Value> = Vec::new();
        for text in subject.search_texts() {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {INBOUND_COLUMNS}, status, reason {UNLINKED_MATCHING} ORDER BY received_at"
            )))
            .bind(text)
            .fetch_all(&mut *conn)
            .await?;
            for r in &rows {
                let item = exported_item(r)?;
                if !other_items.iter().any(|i| i["id"] == item["id"]) {
                    other_items.push(item); // else matched by an earlier text
                }
            }
        }
        let mut export = Export {
            other_items,
            ..Export::default()
        };
        for id in &ids {
            for (statement, read, list) in lead_extras::<sqlx::postgres::PgRow>() {
                for r in sqlx::query(statement.postgres())
                    .bind(id)
                    .fetch_all(&mut *conn)
                    .await?
                {
                    list(&mut export).push(read(&r)?);
                }
            }
        }
        drop(conn);
        for id in &ids {
            if let Some(journey) = self.lead_journey(id).await? {
                export.leads.push(journey);
            }
        }
        Ok(export)
    }
}
