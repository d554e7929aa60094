//! The processing stage's transaction on PostgreSQL ([`StoreTx`]) and the SLA timer's
//! deadlines. New leads (with their keys, refs and first assignment) are kept back and written
//! in bulk before any statement that could see them (`pending.rs`); the rows no read looks at
//! are kept back and written at the commit (`kept.rs`). The reads ahead (`prefetch_*`) fill
//! small caches that the writes keep true.

use super::inbound::{INBOUND_COLUMNS, inbound_row};
use super::kept::KeptBack;
use super::pending::{Guarded, Sees};
use super::*;
use crate::store::sql::admin::assignment_summary;
use crate::store::sql::conversations::OpenConversations;
use crate::store::sql::leads::{active_assignment, record_text, stored_lead};
use std::collections::HashMap;

const LEAD_COLUMNS: &str = "l.record, l.status, l.manager_id, l.level, l.last_activity_at";

const ACTIVE_COLUMNS: &str = "l.record, l.status, l.manager_id, l.level, l.last_activity_at,
     a.manager_id AS a_manager, a.level AS a_level, a.strategy, a.attempt, a.assigned_at, a.ack_due_at";

/// The SLA timer's next deadline: the first active deadline whose lead is still assigned.
const NEXT_DUE: &str = "SELECT a.ack_due_at FROM assignments a JOIN leads l ON l.id = a.lead_id
     WHERE a.state = 'active' AND a.ack_due_at IS NOT NULL AND l.status = 'assigned'
     ORDER BY a.ack_due_at, a.id LIMIT 1";

#[async_trait]
impl ProcessStore for PgStore {
    async fn pending_inbound(&self, limit: u32) -> StoreResult<Vec<InboundRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INBOUND_COLUMNS} FROM inbound WHERE status = 'pending'
         ORDER BY received_at, seq LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(inbound_row).collect()
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(PgTx {
            db: Guarded::new(self.pool.begin().await?),
            identities: HashMap::new(),
            conversations: OpenConversations::default(),
            deadline_set: false,
            kept: KeptBack::default(),
        }))
    }

    async fn next_ack_due(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let next: Option<String> = sqlx::query_scalar(NEXT_DUE)
            .fetch_optional(&self.pool)
            .await?;
        opt_ts("assignments.ack_due_at", next)
    }
}

/// The newest lead of an identity key: when the key was written to it, the lead's place in
/// the store's order (for keys written at the same time), and the answer.
#[derive(Debug, Clone)]
struct Newest {
    at: String,
    seq: i64,
    lead: PreviousLead,
}

/// The processing stage's transaction.
struct PgTx {
    /// The transaction, with the new leads kept back until a statement could see them.
    db: Guarded,
    /// Identity keys read ahead: the key's newest lead, or `None` when no lead has it.
    identities: HashMap<String, Option<Newest>>,
    /// Open conversations read ahead.
    conversations: OpenConversations,
    /// Whether an assignment with a deadline was written: the commit tells every daemon's
    /// SLA timer ([`DEADLINES`]).
    deadline_set: bool,
    /// The rows no read of the transaction sees, written at the commit.
    kept: KeptBack,
}

impl PgTx {
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
        q.fetch_optional(self.db.conn(sees).await?)
            .await?
            .as_ref()
            .map(stored_lead)
            .transpose()
    }

    /// Forgets what was read ahead about `lead_id` (its manager or status changed): the next
    /// question asks the database.
    fn forget_lead(&mut self, lead_id: &str) {
        self.conversations.drop_lead(lead_id);
        self.identities
            .retain(|_, newest| newest.as_ref().is_none_or(|n| n.lead.id != lead_id));
    }

    /// Forgets what was read ahead about the keys `keys` (a lead now has them).
    fn forget_keys(&mut self, keys: &[String]) {
        for key in keys {
            self.identities.remove(key);
        }
    }
}

#[async_trait]
impl StoreTx for PgTx {
    async fn lead_by_external_id(
        &mut self,
        source: &str,
        external_id: &str,
    ) -> StoreResult<Option<StoredLead>> {
        self.one_lead(
            Sees::External(source, external_id),
            format!(
                "SELECT {LEAD_COLUMNS} FROM leads l WHERE l.source = $1 AND l.external_id = $2
                 ORDER BY l.received_at DESC LIMIT 1"
            ),
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
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS} FROM lead_refs r JOIN leads l ON l.id = r.lead_id
             WHERE r.ref = ANY($1) AND ($2::text IS NULL OR l.source = $2)
             ORDER BY l.received_at DESC LIMIT 1"
        )))
        .bind(refs)
        .bind(source)
        .fetch_optional(self.db.conn(Sees::Refs(refs)).await?)
        .await?
        .as_ref()
        .map(stored_lead)
        .transpose()
    }

    async fn lead_ref_count(&mut self, lead_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lead_refs WHERE lead_id = $1")
            .bind(lead_id)
            .fetch_one(self.db.conn(Sees::Any).await?)
            .await?;
        Ok(n.max(0) as u64)
    }

    async fn owner_pending_to(&mut self, sink: &str, lead_id: &str) -> StoreResult<bool> {
        let pending: bool = sqlx::query_scalar(crate::store::sql::outbox::OWNER_PENDING.postgres())
            .bind(sink)
            .bind(lead_id)
            .fetch_one(self.db.conn(Sees::Nothing).await?)
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
                 WHERE l.source = $1 AND l.conversation_key = $2 AND l.last_activity_at >= $3
                   AND l.status NOT IN ('acknowledged', 'closed')
                 ORDER BY l.last_activity_at DESC, l.seq DESC LIMIT 1"
            ),
            &[source.to_string(), conversation_key.to_string(), ts(since)],
        )
        .await
    }

    async fn previous_lead(&mut self, keys: &[String]) -> StoreResult<Option<PreviousLead>> {
        if keys.is_empty() {
            return Ok(None);
        }
        // Every key read ahead: the newest of their newest leads, as the statement orders them.
        let known: Option<Vec<&Option<Newest>>> =
            keys.iter().map(|k| self.identities.get(k)).collect();
        if let Some(known) = known {
            return Ok(known
                .into_iter()
                .flatten()
                .max_by(|a, b| (&a.at, a.seq).cmp(&(&b.at, b.seq)))
                .map(|n| n.lead.clone()));
        }
        let row = sqlx::query(
            "SELECT l.id, l.manager_id FROM lead_contacts c JOIN leads l ON l.id = c.lead_id
             WHERE c.key = ANY($1) ORDER BY c.at DESC, l.seq DESC LIMIT 1",
        )
        .bind(keys)
        .fetch_optional(self.db.conn(Sees::Any).await?)
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
        let asked: Vec<String> = keys
            .iter()
            .filter(|k| !self.identities.contains_key(*k))
            .cloned()
            .collect();
        if asked.is_empty() {
            return Ok(());
        }
        let rows = sqlx::query(
            "SELECT DISTINCT ON (c.key) c.key, c.at, l.seq, l.id, l.manager_id
             FROM lead_contacts c JOIN leads l ON l.id = c.lead_id
             WHERE c.key = ANY($1) ORDER BY c.key, c.at DESC, l.seq DESC",
        )
        .bind(&asked)
        .fetch_all(self.db.conn(Sees::Any).await?)
        .await?;
        for key in &asked {
            self.identities.insert(key.clone(), None);
        }
        for r in &rows {
            self.identities.insert(
                r.try_get("key")?,
                Some(Newest {
                    at: r.try_get("at")?,
                    seq: r.try_get("seq")?,
                    lead: PreviousLead {
                        id: r.try_get("id")?,
                        manager_id: r.try_get("manager_id")?,
                    },
                }),
            );
        }
        Ok(())
    }

    async fn prefetch_conversations(
        &mut self,
        asked: &[(String, String, DateTime<Utc>)],
    ) -> StoreResult<()> {
        if asked.is_empty() {
            return Ok(());
        }
        let sources: Vec<&str> = asked.iter().map(|(s, _, _)| s.as_str()).collect();
        let keys: Vec<&str> = asked.iter().map(|(_, k, _)| k.as_str()).collect();
        let since: Vec<String> = asked.iter().map(|(_, _, t)| ts(*t)).collect();
        // A kept-back lead of one of these conversations is written first, so the answers
        // read ahead hold it.
        let pairs: Vec<(&str, &str)> = sources.iter().copied().zip(keys.iter().copied()).collect();
        // The same lead `open_conversation` picks, for every conversation at once.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS}, k.source AS asked_source, k.key AS asked_key
             FROM UNNEST($1::text[], $2::text[], $3::text[]) AS k(source, key, since)
             JOIN LATERAL (
                 SELECT * FROM leads o
                 WHERE o.source = k.source AND o.conversation_key = k.key
                   AND o.last_activity_at >= k.since
                   AND o.status NOT IN ('acknowledged', 'closed')
                 ORDER BY o.last_activity_at DESC, o.seq DESC LIMIT 1) l ON true"
        )))
        .bind(&sources)
        .bind(&keys)
        .bind(&since)
        .fetch_all(self.db.conn(Sees::Conversations(&pairs)).await?)
        .await?;
        let mut found: HashMap<(String, String), StoredLead> = HashMap::with_capacity(rows.len());
        for row in &rows {
            let pair = (row.try_get("asked_source")?, row.try_get("asked_key")?);
            found.insert(pair, stored_lead(row)?);
        }
        for (source, key, since) in asked {
            let pair = (source.clone(), key.clone());
            let lead = found.get(&pair).cloned();
            (self.conversations).learn(pair.0, pair.1, *since, lead);
        }
        Ok(())
    }

    async fn open_leads_per_manager(&mut self) -> StoreResult<HashMap<String, u32>> {
        let rows = sqlx::query("SELECT manager_id, n FROM open_leads WHERE n > 0")
            .fetch_all(self.db.conn(Sees::Any).await?)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("manager_id")?, r.try_get::<i64, _>("n")? as u32)))
            .collect()
    }

    async fn held_levels(&mut self) -> StoreResult<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT level FROM held_leads WHERE n > 0 AND level <> ''")
                .fetch_all(self.db.conn(Sees::Any).await?)
                .await?,
        )
    }

    async fn held_leads(&mut self, limit: u32) -> StoreResult<Vec<StoredLead>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LEAD_COLUMNS} FROM leads l WHERE l.status = 'held'
             ORDER BY l.received_at, l.seq LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(self.db.conn(Sees::Any).await?)
        .await?;
        rows.iter().map(stored_lead).collect()
    }

    async fn get_cursor(&mut self, key: &str) -> StoreResult<Option<String>> {
        // Locked to the commit: two replicas advancing the rotation take turns.
        let locked =
            || sqlx::query_scalar("SELECT value FROM cursors WHERE key = $1 FOR UPDATE").bind(key);
        let conn = self.db.conn(Sees::Nothing).await?;
        if let Some(value) = locked().fetch_optional(&mut *conn).await? {
            return Ok(Some(value));
        }
        // No row to lock yet (a fresh store's rotation): the key's advisory lock keeps the
        // others out until this transaction has written it, and the read after it sees a row
        // another one committed meanwhile.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(key)
            .execute(&mut *conn)
            .await?;
        Ok(locked().fetch_optional(conn).await?)
    }

    async fn set_cursor(&mut self, key: &str, value: &str, now: DateTime<Utc>) -> StoreResult<()> {
        set_cursor(self.db.conn(Sees::Nothing).await?, key, value, now).await
    }

    async fn keep_rules_texts(
        &mut self,
        version: &str,
        texts: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO rules_texts (version, texts, stored_at) VALUES ($1, $2, $3)
             ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(texts)
        .bind(ts(now))
        .execute(self.db.conn(Sees::Nothing).await?)
        .await?;
        Ok(())
    }

    async fn insert_lead(&mut self, lead: &NewLead) -> StoreResult<()> {
        let r = lead.record.record();
        self.forget_keys(&lead.identity_keys);
        self.db.pending().lead(lead);
        if let Some(key) = &lead.conversation_key {
            self.conversations.drop_conversation(&r.source, key);
        }
        Ok(())
    }

    async fn update_lead(&mut self, u: &LeadUpdate) -> StoreResult<()> {
        let r = &u.record;
        self.forget_lead(&r.id);
        sqlx::query(
            "UPDATE leads SET record = $2, status = $3, level = $4, rule = $5, manager_id = $6,
                    last_activity_at = $7, trace = COALESCE($8, trace), contact_name = $9
             WHERE id = $1",
        )
        .bind(&r.id)
        .bind(record_text(r)?)
        .bind(u.status.as_str())
        .bind(r.classification.as_ref().map(|c| c.level.clone()))
        .bind(r.classification.as_ref().map(|c| c.rule.clone()))
        .bind(r.assignment.as_ref().map(|a| a.manager.id.clone()))
        .bind(ts(u.at))
        .bind(u.trace.as_deref())
        .bind(r.contact.name.as_deref())
        .execute(self.db.conn(Sees::Lead(&r.id)).await?)
        .await?;
        Ok(())
    }

    async fn follow_up_lead(&mut self, lead: EncodedLead, at: DateTime<Utc>) -> StoreResult<()> {
        // Kept back: written once with the batch's other follow-ups, the lead's last record.
        let (record, json) = lead.into_parts();
        self.db.pending().kept.follow_up(&record, json, at);
        self.conversations.followed_up(record, at);
        Ok(())
    }

    async fn add_identity_keys(
        &mut self,
        lead_id: &str,
        _manager_id: Option<&str>,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        self.forget_keys(keys);
        self.db.pending().keys(lead_id, keys, &ts(at));
        Ok(())
    }

    async fn add_refs(&mut self, lead_id: &str, refs: &[String]) -> StoreResult<()> {
        self.db.pending().refs(lead_id, refs);
        Ok(())
    }

    async fn insert_assignment(&mut self, a: &NewAssignment) -> StoreResult<()> {
        self.deadline_set |= a.ack_due_at.is_some();
        // A new lead's first assignment ends none: it waits with the lead.
        if self.db.pending().first_assignment(a) {
            return Ok(());
        }
        sqlx::query(
            "UPDATE assignments SET state = $2, ended_at = $3 WHERE lead_id = $1 AND state = 'active'",
        )
        .bind(&a.lead_id)
        .bind(a.previous_state)
        .bind(ts(a.assigned_at))
        .execute(self.db.conn(Sees::Lead(&a.lead_id)).await?)
        .await?;
        sqlx::query(
            "INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at,
                                      ack_due_at, state)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'active')",
        )
        .bind(&a.lead_id)
        .bind(&a.manager_id)
        .bind(&a.level)
        .bind(&a.strategy)
        .bind(i64::from(a.attempt))
        .bind(ts(a.assigned_at))
        .bind(a.ack_due_at.map(ts))
        .execute(self.db.conn(Sees::Lead(&a.lead_id)).await?)
        .await?;
        Ok(())
    }

    async fn insert_outbox(&mut self, rows: &[NewOutbox]) -> StoreResult<()> {
        self.kept.outbox.extend_from_slice(rows);
        Ok(())
    }

    async fn insert_notifications(&mut self, rows: &[NewNotification]) -> StoreResult<()> {
        self.kept.notifications.extend_from_slice(rows);
        Ok(())
    }

    async fn audit(
        &mut self,
        lead_id: &str,
        at: DateTime<Utc>,
        kind: &str,
        detail: &Value,
    ) -> StoreResult<()> {
        let row = [
            lead_id.to_string(),
            ts(at),
            kind.to_string(),
            detail.to_string(),
        ];
        self.kept.audit.push(row);
        Ok(())
    }

    async fn finish_inbound(&mut self, d: &FinishedInbound) -> StoreResult<()> {
        self.kept.finished(d);
        Ok(())
    }

    async fn lead(&mut self, lead_id: &str) -> StoreResult<Option<StoredLead>> {
        self.one_lead(
            Sees::Lead(lead_id),
            format!("SELECT {LEAD_COLUMNS} FROM leads l WHERE l.id = $1"),
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
        Ok(sqlx::query_scalar(
            "SELECT lead_id FROM crm_refs WHERE sink = $1 AND name = $2 AND value IN ($3, $4)
             ORDER BY captured_at DESC LIMIT 1",
        )
        .bind(sink)
        .bind(name)
        .bind(value)
        .bind(as_text)
        .fetch_optional(self.db.conn(Sees::Nothing).await?)
        .await?)
    }

    async fn active_assignment(&mut self, lead_id: &str) -> StoreResult<Option<ActiveAssignment>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTIVE_COLUMNS} FROM assignments a JOIN leads l ON l.id = a.lead_id
             WHERE a.lead_id = $1 AND a.state = 'active' ORDER BY a.id DESC LIMIT 1
             FOR UPDATE OF a"
        )))
        .bind(lead_id)
        .fetch_optional(self.db.conn(Sees::Lead(lead_id)).await?)
        .await?;
        row.as_ref().map(active_assignment).transpose()
    }

    async fn due_assignments(
        &mut self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<ActiveAssignment>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACTIVE_COLUMNS} FROM assignments a JOIN leads l ON l.id = a.lead_id
             WHERE a.state = 'active' AND l.status = 'assigned' AND a.ack_due_at IS NOT NULL
               AND a.ack_due_at <= $1
             ORDER BY a.ack_due_at, a.id LIMIT $2
             FOR UPDATE OF a SKIP LOCKED"
        )))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(self.db.conn(Sees::Any).await?)
        .await?;
        rows.iter().map(active_assignment).collect()
    }

    async fn assignment_history(&mut self, lead_id: &str) -> StoreResult<Vec<AssignmentSummary>> {
        let rows = sqlx::query(
            "SELECT manager_id, level, strategy, attempt, assigned_at, ack_due_at, state
             FROM assignments WHERE lead_id = $1 ORDER BY id",
        )
        .bind(lead_id)
        .fetch_all(self.db.conn(Sees::Lead(lead_id)).await?)
        .await?;
        rows.iter().map(assignment_summary).collect()
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
                w0 = w0 + ($4 = 0)::int, w1 = w1 + ($4 = 1)::int, w2 = w2 + ($4 = 2)::int,
                w3 = w3 + ($4 = 3)::int, w4 = w4 + ($4 = 4)::int, w5 = w5 + ($4 = 5)::int,
                w6 = w6 + ($4 = 6)::int, w7 = w7 + ($4 = 7)::int, w8 = w8 + ($4 = 8)::int,
                w9 = w9 + ($4 = 9)::int
             WHERE day = $1 AND manager_id = $2 AND level = $3",
        )
        .bind(day)
        .bind(manager_id)
        .bind(level)
        .bind(bucket as i64)
        .execute(self.db.conn(Sees::Any).await?)
        .await?;
        Ok(())
    }

    async fn set_trace(
        &mut self,
        lead_id: &str,
        trace: &str,
        rules_version: &str,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE leads SET trace = $2, rules_version = $3 WHERE id = $1")
            .bind(lead_id)
            .bind(trace)
            .bind(rules_version)
            .execute(self.db.conn(Sees::Lead(lead_id)).await?)
            .await?;
        Ok(())
    }

    async fn end_assignment(
        &mut self,
        lead_id: &str,
        state: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE assignments SET state = $2, ended_at = $3 WHERE lead_id = $1 AND state = 'active'",
        )
        .bind(lead_id)
        .bind(state)
        .bind(ts(at))
        .execute(self.db.conn(Sees::Lead(lead_id)).await?)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<()> {
        let PgTx {
            db,
            kept,
            deadline_set,
            ..
        } = *self;
        let mut tx = db.settled().await?;
        kept.write(&mut tx).await?;
        if deadline_set {
            notify(&mut tx, DEADLINES).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::ProcessStore;
    use crate::store::conformance::fixtures::{at, new_lead, stored, with_record};
    use crate::store::postgres::testing::{drop_store, fresh_store};

    /// Replicas: a manager's take (or decline) locks the assignment it acts on, so the SLA
    /// timer on another replica skips it instead of passing on a lead being taken; and a take
    /// that comes while a pass holds the row finds it ended once the pass commits. Without the
    /// locks, both read the active assignment: the pass then gave the taken lead to the next
    /// manager, woke them and told the CRM.
    #[tokio::test]
    async fn an_assignment_being_acted_on_is_never_passed_on_at_the_same_time() {
        let (store, name) = fresh_store().await;
        let due = |lead: &mut crate::lead::Lead| {
            if let Some(a) = lead.assignment.as_mut() {
                a.ack_due_at = Some(at(40));
            }
        };
        stored(
            &store,
            &with_record(new_lead("d1", "inbox", "d@x.ru", 1, "anna"), due),
            &[],
        )
        .await;
        stored(
            &store,
            &with_record(new_lead("d2", "inbox", "e@x.ru", 2, "boris"), due),
            &[],
        )
        .await;

        let mut taking = store.begin().await.expect("begin");
        let active = taking.active_assignment("d1").await.expect("read");
        assert!(active.is_some_and(|a| a.manager_id == "anna"));
        let mut timer = store.begin().await.expect("begin");
        let passing: Vec<String> = (timer.due_assignments(at(41), 10).await.expect("due"))
            .into_iter()
            .map(|a| a.lead.record.id)
            .collect();
        assert_eq!(passing, ["d2"], "d1 is being taken");
        taking
            .end_assignment("d1", "acknowledged", at(41))
            .await
            .expect("end");
        taking.commit().await.expect("commit");

        // The other way round: the timer holds d2; a take waits for it, then finds no active
        // assignment (the pass ended it).
        let store_for_take = store.clone();
        let take = tokio::spawn(async move {
            let mut taking = store_for_take.begin().await.expect("begin");
            taking
                .active_assignment("d2")
                .await
                .expect("read")
                .is_some()
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!take.is_finished(), "the take waits for the pass");
        timer
            .end_assignment("d2", "expired", at(41))
            .await
            .expect("end");
        timer.commit().await.expect("commit");
        assert!(!take.await.expect("joined"), "the pass ended it");
        drop_store(store, name).await;
    }
}
