//! The processing stage's transaction ([`StoreTx`] on the shared write connection) and the
//! SLA timer's deadlines: leads, their identity keys, refs, conversations and assignments.
//! New leads are kept back and written in bulk (`pending.rs`) through a connection that
//! writes them before any statement that could see them (`guard.rs`); a batch's returning
//! contacts are read ahead (`identities.rs`); rows nothing reads back are written at the
//! commit (`deferred.rs`).

mod deferred;
mod guard;
mod identities;
mod pending;

use super::inbound::inbound_row;
use super::*;
use crate::store::packed::pack;
use crate::store::sql::admin::assignment_summary;
use crate::store::sql::conversations::OpenConversations;
use crate::store::sql::leads::{active_assignment, record_text, stored_lead};
use guard::{Guarded, Sees};

#[async_trait]
impl ProcessStore for SqliteStore {
    async fn pending_inbound(&self, limit: u32) -> StoreResult<Vec<InboundRow>> {
        let rows = sqlx::query(
            "SELECT id, source, channel, dedupe_key, received_at, content_type, payload, meta
         FROM inbound WHERE status = 'pending' ORDER BY received_at, rowid LIMIT +?1",
        )
        .bind(i64::from(limit))
        // A read connection: the payloads are read without holding up the writers.
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(inbound_row).collect()
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(SqliteTx {
            db: Guarded::new(self.write.acquire().await?, self.turn.clone()),
            identities: identities::Identities::default(),
            deferred: deferred::Deferred::default(),
            conversations: OpenConversations::default(),
        }))
    }

    async fn next_ack_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(NEXT_DUE)
            .fetch_optional(&self.write)
            .await?;
        opt_ts("assignments.ack_due_at", next)
    }
}

const LEAD_COLUMNS: &str = "l.record, l.status, l.manager_id, l.level, l.last_activity_at";

/// The SLA timer's next deadline, read in deadline order from `assignments_due` (the first
/// row whose lead is still assigned is the answer): `CROSS JOIN` keeps the assignments as the
/// outer loop, whatever the planner would guess from the tables' sizes.
pub(super) const NEXT_DUE: &str =
    "SELECT a.ack_due_at FROM assignments a INDEXED BY assignments_due
     CROSS JOIN leads l ON l.id = a.lead_id
     WHERE a.state = 'active' AND a.ack_due_at IS NOT NULL AND l.status = 'assigned'
     ORDER BY a.ack_due_at, a.id LIMIT 1";

/// The latest lead with an id at its source (the message an edit changes). Named index:
/// without statistics SQLite prefers the source's console index, which gives the order for
/// free but walks every lead of the source when none has the id.
pub(super) fn by_external_id() -> String {
    format!(
        "SELECT {LEAD_COLUMNS} FROM leads l INDEXED BY leads_external
         WHERE l.source = ?1 AND l.external_id = ?2 ORDER BY l.received_at DESC LIMIT 1"
    )
}

/// The latest lead of any of a contact's keys (a JSON array): each key's few rows are read in
/// `lead_contacts`' own (key, lead_id) order and sorted by time.
pub(super) const PREVIOUS_LEAD: &str =
    "SELECT l.id, l.manager_id FROM lead_contacts c JOIN leads l ON l.id = c.lead_id
     WHERE c.key IN (SELECT value FROM json_each(?1))
     ORDER BY c.at DESC LIMIT 1";

/// Each key's (a JSON array) latest lead, read ahead for a batch.
pub(super) const LATEST_BY_KEY: &str = "SELECT k.value AS key, c.at, c.lead_id, l.manager_id
     FROM json_each(?1) k
     JOIN lead_contacts c ON c.key = k.value
     JOIN leads l ON l.id = c.lead_id
     WHERE c.at = (SELECT MAX(c2.at) FROM lead_contacts c2 JOIN leads l2 ON l2.id = c2.lead_id
                   WHERE c2.key = k.value)";

const ACTIVE_COLUMNS: &str = "l.record, l.status, l.manager_id, l.level, l.last_activity_at,
     a.manager_id AS a_manager, a.level AS a_level, a.strategy, a.attempt, a.assigned_at, a.ack_due_at";

/// The processing stage's transaction on the shared write connection (see `guard.rs`).
struct SqliteTx {
    /// The transaction, with the new leads kept back until a statement could see them.
    db: Guarded,
    /// Identity keys read ahead, for returning contacts.
    identities: identities::Identities,
    /// The audit entries, outbox rows, notifications and finished items, written at commit.
    deferred: deferred::Deferred,
    /// Open conversations read ahead.
    conversations: OpenConversations,
}

impl SqliteTx {
    /// The lead `sql` finds, with `binds` bound in order.
    async fn one_lead(
        &mut self,
        sees: Sees<'_>,
        sql: String,
        binds: &[String],
    ) -> StoreResult<Option<StoredLead>> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        q.fetch_optional(self.db.read(sees).await?)
            .await?
            .as_ref()
            .map(stored_lead)
            .transpose()
    }
}

#[async_trait]
impl StoreTx for SqliteTx {
    async fn lead_by_external_id(
        &mut self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<StoredLead>> {
        self.one_lead(
            Sees::External(source, external_id),
            by_external_id(),
            &[source.to_string(), external_id.to_string()],
        )
        .await
    }

    async fn lead_by_refs(
        &mut self,
        source: Option<&str>,
        refs: &[String],
    ) -> StoreResult<Option<StoredLead>> {
        if refs.is_empty() {
            return Ok(None);
        }
        self.one_lead(
            Sees::Refs(refs),
            format!(
                "SELECT {LEAD_COLUMNS} FROM lead_refs r JOIN leads l ON l.id = r.lead_id
                 WHERE r.ref IN (SELECT value FROM json_each(?1)) AND (?2 = '' OR l.source = ?2)
                 ORDER BY l.received_at DESC LIMIT 1"
            ),
            &[json_list(refs), source.unwrap_or_default().to_string()],
        )
        .await
    }

    async fn lead_ref_count(&mut self, lead_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lead_refs WHERE lead_id = ?1")
            .bind(lead_id)
            .fetch_one(self.db.read(Sees::Any).await?)
            .await?;
        Ok(n.max(0) as u64)
    }

    async fn owner_pending_to(&mut self, sink: &str, lead_id: &str) -> StoreResult<bool> {
        let pending: bool = sqlx::query_scalar(crate::store::sql::outbox::OWNER_PENDING.sqlite())
            .bind(sink)
            .bind(lead_id)
            .fetch_one(self.db.read(Sees::Nothing).await?)
            .await?;
        Ok(pending)
    }

    async fn open_conversation(
        &mut self,
        source: &str,
        conversation_key: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<Option<StoredLead>> {
        // A conversation read ahead answers unless a kept-back lead belongs to it.
        if !(self.db.pending().kept).has_conversation(source, conversation_key)
            && let Some(found) = self.conversations.answer(source, conversation_key, since)
        {
            return Ok(found);
        }
        self.one_lead(
            Sees::Conversations(&[(source, conversation_key)]),
            format!(
                "SELECT {LEAD_COLUMNS} FROM leads l
                 WHERE l.source = ?1 AND l.conversation_key = ?2 AND l.last_activity_at >= ?3
                   AND l.status NOT IN ('acknowledged', 'closed')
                 ORDER BY l.last_activity_at DESC LIMIT 1"
            ),
            &[source.to_string(), conversation_key.to_string(), ts(since)],
        )
        .await
    }

    async fn previous_lead(&mut self, keys: &[String]) -> StoreResult<Option<PreviousLead>> {
        if keys.is_empty() {
            return Ok(None);
        }
        if self.identities.knows(keys) {
            return Ok(self.identities.previous(keys));
        }
        let row = sqlx::query(PREVIOUS_LEAD)
            .bind(json_list(keys))
            .fetch_optional(self.db.read(Sees::Any).await?)
            .await?;
        row.map(|r| {
            Ok(PreviousLead {
                id: r.try_get("id")?,
                manager_id: r.try_get("manager_id")?,
            })
        })
        .transpose()
    }

    async fn prefetch_identities(&mut self, keys: &[String]) -> StoreResult<()> {
        let asked = self.identities.unknown(keys);
        if asked.is_empty() {
            return Ok(());
        }
        // A kept-back lead may have one of these keys: the database must see it.
        let rows = sqlx::query(LATEST_BY_KEY)
            .bind(json_list(&asked))
            .fetch_all(self.db.read(Sees::Any).await?)
            .await?;
        let found = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("key")?,
                    r.try_get("at")?,
                    r.try_get("lead_id")?,
                    r.try_get("manager_id")?,
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.identities.learn(&asked, found);
        Ok(())
    }

    async fn prefetch_conversations(
        &mut self,
        asked: &[(String, String, DateTime<Utc>)],
    ) -> StoreResult<()> {
        if asked.is_empty() {
            return Ok(());
        }
        // A kept-back lead of one of these conversations is written first, so the answers
        // read ahead hold it.
        let pairs: Vec<(&str, &str)> = asked
            .iter()
            .map(|(source, key, _)| (source.as_str(), key.as_str()))
            .collect();
        let list: Vec<(&str, &str, String)> = asked
            .iter()
            .map(|(source, key, since)| (source.as_str(), key.as_str(), ts(*since)))
            .collect();
        let list = serde_json::to_string(&list).map_err(|e| StoreError::Corrupt {
            what: "conversation keys",
            detail: e.to_string(),
        })?;
        // The same lead `open_conversation` picks, for every conversation at once.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS}, k.source AS asked_source, k.key AS asked_key
             FROM (SELECT value ->> '$[0]' AS source, value ->> '$[1]' AS key,
                          value ->> '$[2]' AS since FROM json_each(?1)) k
             JOIN leads l ON l.rowid = (
                 SELECT o.rowid FROM leads o
                 WHERE o.source = k.source AND o.conversation_key = k.key
                   AND o.last_activity_at >= k.since
                   AND o.status NOT IN ('acknowledged', 'closed')
                 ORDER BY o.last_activity_at DESC LIMIT 1)"
        )))
        .bind(list)
        .fetch_all(self.db.read(Sees::Conversations(&pairs)).await?)
        .await?;
        let mut found: HashMap<(String, String), StoredLead> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let asked = (row.try_get("asked_source")?, row.try_get("asked_key")?);
            found.insert(asked, stored_lead(row)?);
        }
        for (source, key, since) in asked {
            let pair = (source.clone(), key.clone());
            let lead = found.get(&pair).cloned();
            (self.conversations).learn(pair.0, pair.1, *since, lead);
        }
        Ok(())
    }

    async fn open_leads_per_manager(&mut self) -> StoreResult<HashMap<String, u32>> {
        // Kept by triggers as leads change (migration 0007): a few rows, whatever the store holds.
        let rows = sqlx::query("SELECT manager_id, n FROM open_leads WHERE n > 0")
            .fetch_all(self.db.read(Sees::Any).await?)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("manager_id")?, r.try_get::<i64, _>("n")? as u32)))
            .collect()
    }

    async fn held_leads(&mut self, limit: u32) -> StoreResult<Vec<StoredLead>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS} FROM leads l WHERE l.status = 'held' ORDER BY l.received_at, l.rowid LIMIT +?1"
        )))
        .bind(i64::from(limit))
        .fetch_all(self.db.read(Sees::Any).await?)
        .await?;
        rows.iter().map(stored_lead).collect()
    }

    async fn held_levels(&mut self) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            // Kept by triggers (migration 0011): a few rows, however many leads are held.
            "SELECT level FROM held_leads WHERE n > 0 AND level <> ''",
        )
        .fetch_all(self.db.read(Sees::Any).await?)
        .await?)
    }

    async fn get_cursor(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM cursors WHERE key = ?1")
                .bind(key)
                .fetch_optional(self.db.read(Sees::Nothing).await?)
                .await?,
        )
    }

    async fn set_cursor(&mut self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(self.db.write(Sees::Nothing).await?, key, value, now).await
    }

    async fn record_take(
        &mut self,
        day: &str,
        manager_id: &str,
        level: &str,
        bucket: usize,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE report_managers SET
                w0 = w0 + (?4 = 0), w1 = w1 + (?4 = 1), w2 = w2 + (?4 = 2), w3 = w3 + (?4 = 3),
                w4 = w4 + (?4 = 4), w5 = w5 + (?4 = 5), w6 = w6 + (?4 = 6), w7 = w7 + (?4 = 7),
                w8 = w8 + (?4 = 8), w9 = w9 + (?4 = 9)
             WHERE day = ?1 AND manager_id = ?2 AND level = ?3",
        )
        .bind(day)
        .bind(manager_id)
        .bind(level)
        .bind(bucket as i64)
        .execute(self.db.write(Sees::Any).await?)
        .await?;
        Ok(())
    }

    async fn set_trace(
        &mut self,
        lead_id: &str,
        trace: &str,
        rules_version: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE leads SET trace = ?2, rules_version = ?3 WHERE id = ?1")
            .bind(lead_id)
            .bind(pack(trace))
            .bind(rules_version)
            .execute(self.db.write(Sees::Lead(lead_id)).await?)
            .await?;
        Ok(())
    }

    async fn keep_rules_texts(
        &mut self,
        version: &str,
        texts: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO rules_texts (version, texts, stored_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(texts)
        .bind(ts(now))
        .execute(self.db.write(Sees::Nothing).await?)
        .await?;
        Ok(())
    }

    async fn insert_lead(&mut self, lead: &NewLead) -> StoreResult<()> {
        self.db.pending().lead(lead);
        let r = lead.record.record();
        if let Some(key) = &lead.conversation_key {
            self.conversations.drop_conversation(&r.source, key);
        }
        self.identities.wrote(
            &r.id,
            &ts(r.received_at),
            r.assignment.as_ref().map(|a| a.manager.id.as_str()),
            &lead.identity_keys,
        );
        Ok(())
    }

    async fn follow_up_lead(&mut self, lead: EncodedLead, at: DateTime<Utc>) -> StoreResult<()> {
        // Kept back: written once with the batch's other follow-ups, the lead's last record.
        let (record, json) = lead.into_parts();
        self.db.pending().kept.follow_up(&record, json, at);
        self.conversations.followed_up(record, at);
        Ok(())
    }

    async fn update_lead(&mut self, u: &LeadUpdate) -> StoreResult<()> {
        let r = &u.record;
        self.conversations.drop_lead(&r.id);
        let record = record_text(r)?;
        sqlx::query(
            "UPDATE leads SET record = ?2, status = ?3, level = ?4, rule = ?5, manager_id = ?6,
                    last_activity_at = ?7, trace = COALESCE(?8, trace), contact_name = ?9
             WHERE id = ?1",
        )
        .bind(&r.id)
        .bind(pack(&record))
        .bind(u.status.as_str())
        .bind(r.classification.as_ref().map(|c| c.level.clone()))
        .bind(r.classification.as_ref().map(|c| c.rule.clone()))
        .bind(r.assignment.as_ref().map(|a| a.manager.id.clone()))
        .bind(ts(u.at))
        .bind(u.trace.as_deref().map(pack))
        .bind(r.contact.name.as_deref())
        .execute(self.db.write(Sees::Lead(&r.id)).await?)
        .await?;
        self.identities
            .reassigned(&r.id, r.assignment.as_ref().map(|a| a.manager.id.as_str()));
        Ok(())
    }

    async fn add_refs(&mut self, lead_id: &str, refs: &[String]) -> StoreResult<()> {
        self.db.pending().refs(lead_id, refs);
        Ok(())
    }

    async fn add_identity_keys(
        &mut self,
        lead_id: &str,
        manager_id: Option<&str>,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let at = ts(at);
        self.db.pending().keys(lead_id, keys, &at);
        self.identities.wrote(lead_id, &at, manager_id, keys);
        Ok(())
    }

    async fn insert_assignment(&mut self, a: &NewAssignment) -> StoreResult<()> {
        // A new lead's first assignment ends none: it waits with the lead.
        if self.db.pending().first_assignment(a) {
            return Ok(());
        }
        sqlx::query("UPDATE assignments SET state = ?2, ended_at = ?3 WHERE lead_id = ?1 AND state = 'active'")
            .bind(&a.lead_id)
            .bind(a.previous_state)
            .bind(ts(a.assigned_at))
            .execute(self.db.write(Sees::Lead(&a.lead_id)).await?)
            .await?;
        sqlx::query(
            "INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at, ack_due_at, state)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'active')",
        )
        .bind(&a.lead_id)
        .bind(&a.manager_id)
        .bind(&a.level)
        .bind(&a.strategy)
        .bind(i64::from(a.attempt))
        .bind(ts(a.assigned_at))
        .bind(a.ack_due_at.map(ts))
        .execute(self.db.write(Sees::Lead(&a.lead_id)).await?)
        .await?;
        Ok(())
    }

    async fn insert_outbox(&mut self, rows: &[NewOutbox]) -> StoreResult<()> {
        for row in rows {
            self.deferred.outbox(row);
        }
        Ok(())
    }

    async fn insert_notifications(&mut self, rows: &[NewNotification]) -> StoreResult<()> {
        for row in rows {
            self.deferred.notification(row);
        }
        Ok(())
    }

    async fn audit(
        &mut self,
        lead_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        detail: &Value,
    ) -> StoreResult<()> {
        self.deferred.audit(lead_id, &ts(at), kind, detail);
        Ok(())
    }

    async fn finish_inbound(&mut self, d: &FinishedInbound) -> StoreResult<()> {
        self.deferred.finished(d);
        Ok(())
    }

    async fn lead(&mut self, lead_id: &str) -> StoreResult<Option<StoredLead>> {
        self.one_lead(
            Sees::Lead(lead_id),
            format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.id = ?1"),
            &[lead_id.to_string()],
        )
        .await
    }

    async fn lead_by_crm_ref(
        &mut self,
        sink: &str,
        name: &str,
        value: &str,
    ) -> StoreResult<Option<String>> {
        // Values are kept as JSON: an id captured as a number is `123`, as text `"123"`.
        let as_text = serde_json::Value::String(value.to_string()).to_string();
        let row = sqlx::query(
            "SELECT lead_id FROM crm_refs WHERE sink = ?1 AND name = ?2 AND value IN (?3, ?4)
             ORDER BY captured_at DESC LIMIT 1",
        )
        .bind(sink)
        .bind(name)
        .bind(value)
        .bind(as_text)
        .fetch_optional(self.db.read(Sees::Nothing).await?)
        .await?;
        row.map(|r| r.try_get("lead_id"))
            .transpose()
            .map_err(StoreError::from)
    }

    async fn active_assignment(&mut self, lead_id: &str) -> StoreResult<Option<ActiveAssignment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTIVE_COLUMNS} FROM assignments a JOIN leads l ON l.id = a.lead_id
             WHERE a.lead_id = ?1 AND a.state = 'active' ORDER BY a.id DESC LIMIT 1"
        )))
        .bind(lead_id)
        .fetch_optional(self.db.read(Sees::Lead(lead_id)).await?)
        .await?;
        row.as_ref().map(active_assignment).transpose()
    }

    async fn due_assignments(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ActiveAssignment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTIVE_COLUMNS} FROM assignments a INDEXED BY assignments_due
             CROSS JOIN leads l ON l.id = a.lead_id
             WHERE a.state = 'active' AND l.status = 'assigned' AND a.ack_due_at IS NOT NULL AND a.ack_due_at <= ?1
             ORDER BY a.ack_due_at, a.id LIMIT +?2"
        )))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(self.db.read(Sees::Any).await?)
        .await?;
        rows.iter().map(active_assignment).collect()
    }

    async fn assignment_history(&mut self, lead_id: &str) -> StoreResult<Vec<AssignmentSummary>> {
        let rows = sqlx::query(
            "SELECT manager_id, level, strategy, attempt, assigned_at, ack_due_at, state
             FROM assignments WHERE lead_id = ?1 ORDER BY id",
        )
        .bind(lead_id)
        .fetch_all(self.db.read(Sees::Lead(lead_id)).await?)
        .await?;
        rows.iter().map(assignment_summary).collect()
    }

    async fn end_assignment(
        &mut self,
        lead_id: &str,
        state: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE assignments SET state = ?2, ended_at = ?3 WHERE lead_id = ?1 AND state = 'active'")
            .bind(lead_id)
            .bind(state)
            .bind(ts(at))
            .execute(self.db.write(Sees::Lead(lead_id)).await?)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let SqliteTx { db, deferred, .. } = *self;
        db.commit(deferred).await
    }
}
