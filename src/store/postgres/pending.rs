//! New leads the processing transaction keeps back on PostgreSQL: their rows (`leads`,
//! `lead_contacts`, `lead_refs`, a new lead's first assignment) are written with one statement
//! per table, the rows as arrays unnested in order, as soon as a statement could see them and
//! at the latest at the commit. A batch of 200 new leads then costs four statements instead of
//! about a thousand.
//!
//! Follow-ups of leads already written are kept back the same way: one `UPDATE` for the batch,
//! each lead's last record once.
//!
//! The connection is reached only through [`Guarded::conn`], which writes the kept-back rows
//! first when the statement could see them ([`Sees`], decided in `store/sql/sees.rs` for both
//! backends): every statement sees what it would have seen had each row been written at once.

use super::*;
pub(super) use crate::store::sql::sees::Sees;
use crate::store::sql::sees::{FollowUpRow, KeptLeads};
use sqlx::Transaction;

/// A lead's row as it will be inserted.
#[derive(Debug)]
struct LeadRow {
    id: String,
    inbound_id: String,
    source: String,
    channel: String,
    external_id: Option<String>,
    conversation_key: Option<String>,
    received_at: String,
    status: String,
    level: Option<String>,
    rule: Option<String>,
    manager_id: Option<String>,
    rules_version: String,
    contact_name: Option<String>,
    record: String,
    trace: String,
}

/// The rows kept back, and what they could match.
#[derive(Debug, Default)]
pub(super) struct Pending {
    leads: Vec<LeadRow>,
    /// Key, lead, at.
    contacts: Vec<[String; 3]>,
    /// Ref, lead.
    refs: Vec<[String; 2]>,
    assignments: Vec<NewAssignment>,
    /// What the kept-back rows could match.
    pub(super) kept: KeptLeads,
}

impl Pending {
    /// Keeps back a new lead with its identity keys and refs.
    pub(super) fn lead(&mut self, lead: &NewLead) {
        let r = lead.record.record();
        let received_at = ts(r.received_at);
        self.keys(&r.id, &lead.identity_keys, &received_at);
        self.refs(&r.id, &lead.refs);
        self.leads.push(LeadRow {
            id: r.id.clone(),
            inbound_id: lead.inbound_id.clone(),
            source: r.source.clone(),
            channel: r.channel.as_str().to_string(),
            external_id: r.external_id.clone(),
            conversation_key: lead.conversation_key.clone(),
            received_at,
            status: lead.status.as_str().to_string(),
            level: r.classification.as_ref().map(|c| c.level.clone()),
            rule: r.classification.as_ref().map(|c| c.rule.clone()),
            manager_id: r.assignment.as_ref().map(|a| a.manager.id.clone()),
            rules_version: lead.rules_version.clone(),
            contact_name: r.contact.name.clone(),
            record: lead.record.json().to_string(),
            trace: lead.trace.clone(),
        });
        self.kept.lead(lead);
    }

    /// Keeps back identity keys of a lead (kept-back or not: every read of the keys settles
    /// first).
    pub(super) fn keys(&mut self, lead_id: &str, keys: &[String], at: &str) {
        for key in keys {
            (self.contacts).push([key.clone(), lead_id.to_string(), at.to_string()]);
        }
    }

    /// Keeps back refs of a lead (kept-back or not: only a lookup by refs reads them).
    pub(super) fn refs(&mut self, lead_id: &str, refs: &[String]) {
        for r in refs {
            self.refs.push([r.clone(), lead_id.to_string()]);
        }
        self.kept.refs(refs);
    }

    /// Keeps back the first assignment of a kept-back lead and returns true; any other
    /// assignment (one that ends an earlier one) is left to the caller.
    pub(super) fn first_assignment(&mut self, a: &NewAssignment) -> bool {
        if !self.kept.first_assignment(&a.lead_id) {
            return false;
        }
        self.assignments.push(a.clone());
        true
    }

    /// Writes every kept-back row, in order, and forgets them.
    async fn flush(&mut self, db: &mut PgConnection) -> StoreResult<()> {
        if !self.leads.is_empty() {
            insert_leads(db, &self.leads).await?;
        }
        if !self.contacts.is_empty() {
            let rows = &self.contacts;
            sqlx::query(
                "INSERT INTO lead_contacts (key, lead_id, at)
                 SELECT key, lead_id, at FROM UNNEST($1::text[], $2::text[], $3::text[])
                      WITH ORDINALITY AS u(key, lead_id, at, n)
                 ORDER BY n
                 ON CONFLICT (key, lead_id) DO NOTHING",
            )
            .bind(column(rows, |c| c[0].as_str()))
            .bind(column(rows, |c| c[1].as_str()))
            .bind(column(rows, |c| c[2].as_str()))
            .execute(&mut *db)
            .await?;
        }
        if !self.refs.is_empty() {
            let rows = &self.refs;
            sqlx::query(
                "INSERT INTO lead_refs (ref, lead_id)
                 SELECT ref, lead_id FROM UNNEST($1::text[], $2::text[]) AS u(ref, lead_id)
                 ON CONFLICT (ref, lead_id) DO NOTHING",
            )
            .bind(column(rows, |r| r[0].as_str()))
            .bind(column(rows, |r| r[1].as_str()))
            .execute(&mut *db)
            .await?;
        }
        if !self.assignments.is_empty() {
            insert_assignments(db, &self.assignments).await?;
        }
        let follow_ups = self.kept.take_follow_ups();
        if !follow_ups.is_empty() {
            update_follow_ups(db, &follow_ups).await?;
        }
        *self = Pending::default();
        Ok(())
    }
}

/// Inserts leads in their order (their `seq` keeps it).
async fn insert_leads(db: &mut PgConnection, rows: &[LeadRow]) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO leads (id, inbound_id, source, channel, external_id, conversation_key,
                            received_at, last_activity_at, status, level, rule, manager_id,
                            rules_version, contact_name, record, trace)
         SELECT id, inbound_id, source, channel, external_id, conversation_key, received_at,
                received_at, status, level, rule, manager_id, rules_version, contact_name,
                record, trace
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
                     $13::text[], $14::text[], $15::text[])
              WITH ORDINALITY AS u(id, inbound_id, source, channel, external_id,
                                   conversation_key, received_at, status, level, rule,
                                   manager_id, rules_version, contact_name, record, trace, n)
         ORDER BY n",
    )
    .bind(column(rows, |r| r.id.as_str()))
    .bind(column(rows, |r| r.inbound_id.as_str()))
    .bind(column(rows, |r| r.source.as_str()))
    .bind(column(rows, |r| r.channel.as_str()))
    .bind(column(rows, |r| r.external_id.as_deref()))
    .bind(column(rows, |r| r.conversation_key.as_deref()))
    .bind(column(rows, |r| r.received_at.as_str()))
    .bind(column(rows, |r| r.status.as_str()))
    .bind(column(rows, |r| r.level.as_deref()))
    .bind(column(rows, |r| r.rule.as_deref()))
    .bind(column(rows, |r| r.manager_id.as_deref()))
    .bind(column(rows, |r| r.rules_version.as_str()))
    .bind(column(rows, |r| r.contact_name.as_deref()))
    .bind(column(rows, |r| r.record.as_str()))
    .bind(column(rows, |r| r.trace.as_str()))
    .execute(db)
    .await?;
    Ok(())
}

/// Writes followed-up leads' records, one row each (in id order, the order every writer of
/// several leads locks them in).
async fn update_follow_ups(db: &mut PgConnection, rows: &[FollowUpRow]) -> StoreResult<()> {
    sqlx::query(
        "UPDATE leads l SET record = u.record, last_activity_at = u.at, contact_name = u.name
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS u(id, record, at, name)
         WHERE l.id = u.id",
    )
    .bind(column(rows, |r| r.id.as_str()))
    .bind(column(rows, |r| r.record.as_str()))
    .bind(column(rows, |r| ts(r.at)))
    .bind(column(rows, |r| r.contact_name.as_deref()))
    .execute(db)
    .await?;
    Ok(())
}

/// Inserts new leads' first assignments in their order.
async fn insert_assignments(db: &mut PgConnection, rows: &[NewAssignment]) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at,
                                  ack_due_at, state)
         SELECT lead_id, manager_id, level, strategy, attempt, assigned_at, ack_due_at, 'active'
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[],
                     $7::text[])
              WITH ORDINALITY AS u(lead_id, manager_id, level, strategy, attempt, assigned_at,
                                   ack_due_at, n)
         ORDER BY n",
    )
    .bind(column(rows, |a| a.lead_id.as_str()))
    .bind(column(rows, |a| a.manager_id.as_str()))
    .bind(column(rows, |a| a.level.as_str()))
    .bind(column(rows, |a| a.strategy.as_str()))
    .bind(column(rows, |a| i64::from(a.attempt)))
    .bind(column(rows, |a| ts(a.assigned_at)))
    .bind(column(rows, |a| a.ack_due_at.map(ts)))
    .execute(db)
    .await?;
    Ok(())
}

/// The transaction and the rows it keeps back, together.
#[derive(Debug)]
pub(super) struct Guarded {
    tx: Transaction<'static, Postgres>,
    pending: Pending,
}

impl Guarded {
    /// Guards a transaction that keeps nothing back yet.
    pub(super) fn new(tx: Transaction<'static, Postgres>) -> Guarded {
        Guarded {
            tx,
            pending: Pending::default(),
        }
    }

    /// The kept-back rows, to add to them or ask what they hold.
    pub(super) fn pending(&mut self) -> &mut Pending {
        &mut self.pending
    }

    /// The connection for one statement, after writing the kept-back rows when the
    /// statement could see any of them.
    pub(super) async fn conn(&mut self, sees: Sees<'_>) -> StoreResult<&mut PgConnection> {
        if self.pending.kept.seen_by(sees) {
            self.pending.flush(&mut self.tx).await?;
        }
        Ok(&mut *self.tx)
    }

    /// Writes what is kept back and hands the transaction over, to commit.
    pub(super) async fn settled(mut self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pending.flush(&mut self.tx).await?;
        Ok(self.tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::fixtures;
    use crate::store::postgres::testing::{drop_store, fresh_store, updated_in_place};

    /// A follow-up changes no indexed column, so PostgreSQL rewrites the row in place (a HOT
    /// update) instead of adding an entry to each of the table's indexes; an index over
    /// `last_activity_at` or the record would make every follow-up touch all of them.
    #[tokio::test]
    async fn a_follow_up_updates_its_lead_in_place() {
        let (store, name) = fresh_store().await;
        sqlx::query(
            "INSERT INTO leads (id, inbound_id, source, channel, conversation_key, received_at,
                                last_activity_at, status, level, manager_id, rules_version,
                                record, trace, contact_name)
             SELECT 'lead' || g, 'in' || g, 'site', 'webform', '+7916000' || g, t, t,
                    'assigned', 'junior', 'vera', 'v1', '{\"text\":\"Нужна бумага\"}', '[]', 'Ирина'
             FROM generate_series(1, 5) g, (SELECT '2026-11-22T09:00:00.000000Z' AS t) x",
        )
        .execute(&store.pool)
        .await
        .expect("leads");
        let mut tx = store.pool.begin().await.expect("begin");
        let rows: Vec<FollowUpRow> = (1..=5)
            .map(|g| FollowUpRow {
                id: format!("lead{g}"),
                record: format!("{{\"text\":\"Нужна бумага\\n\\nИ доставка {g}\"}}"),
                at: fixtures::at(30),
                contact_name: Some("Ирина".into()),
            })
            .collect();
        update_follow_ups(&mut tx, &rows).await.expect("follow-ups");
        assert_eq!(updated_in_place(&mut tx, "leads").await, (5, 5));
        tx.commit().await.expect("commit");
        drop_store(store, name).await;
    }
}
