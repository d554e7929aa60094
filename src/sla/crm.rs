//! What a CRM reports about a lead, as leadgate's facts: the lead's responsible user changed
//! (leadgate records who has it now, ends the old manager's SLA and starts the new one's), the
//! lead moved out of its first status (taken: acknowledged), the lead closed. The CRM's users
//! are the managers' `crm_user_id` for the sink; what its statuses mean is the preset's
//! `[hook]`.

use super::{ActionError, Actions};
use crate::connectors::{HookSpec, StatusMeaning};
use crate::crm::{CrmReport, LeadRef};
use crate::deliver::{SinkRoute, crm_user_id, outbox_rows};
use crate::lead::EventType;
use crate::lead::{AssignedManager, Assignment};
use crate::routing::CompiledRules;
use crate::store::{LeadStatus, LeadUpdate, NewAssignment, StoreTx};
use chrono::{DateTime, Utc};
use serde_json::json;

/// The sink a report came from.
#[derive(Debug, Clone, Copy)]
pub struct ReportingSink<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its preset's name (a `crm_user_id` key may name it).
    pub preset: Option<&'a str>,
    /// Its preset's `[hook]`.
    pub hook: &'a HookSpec,
}

/// What became of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The CRM named a lead leadgate did not make (or has forgotten).
    UnknownLead,
    /// The lead is leadgate's.
    Lead {
        /// Its id.
        id: String,
        /// The manager it passed to in the CRM, if it did.
        reassigned_to: Option<String>,
        /// The CRM user named as owner is nobody in `routing.toml`.
        unknown_owner: Option<String>,
        /// It was taken (acknowledged) now.
        taken: bool,
        /// It was closed now.
        closed: bool,
    },
}

impl Actions {
    /// Applies one report from `sink`'s CRM, in one transaction: the owner first, then the
    /// status. Reports are idempotent: the CRM telling the same twice changes nothing.
    pub async fn crm_report(
        &self,
        sink: ReportingSink<'_>,
        report: &CrmReport,
    ) -> Result<ReportOutcome, ActionError> {
        let rules = self.rules.current();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The rotation first, as every action that rewrites a lead's record (`act_at`).
        super::lock_rotation(tx.as_mut()).await?;
        let lead_id = match &report.lead {
            LeadRef::Leadgate(id) => Some(id.clone()),
            LeadRef::Crm(crm_id) => match &sink.hook.lead_id {
                Some(name) => tx.lead_by_crm_ref(sink.id, name, crm_id).await?,
                None => None,
            },
        };
        let stored = match &lead_id {
            Some(id) => tx.lead(id).await?,
            None => None,
        };
        let Some(stored) = stored else {
            return Ok(ReportOutcome::UnknownLead);
        };
        let id = stored.record.id.clone();
        let mut outcome = (None, None, false, false);
        if stored.status == LeadStatus::Closed {
            return Ok(ReportOutcome::Lead {
                id,
                reassigned_to: None,
                unknown_owner: None,
                taken: false,
                closed: false,
            });
        }
        let others: Vec<SinkRoute> = self
            .sinks
            .iter()
            .filter(|s| s.id != sink.id)
            .cloned()
            .collect();
        // The lead's manager now, as this CRM names them.
        let current = (stored.manager_id.as_deref())
            .and_then(|m| rules.manager(m))
            .and_then(|m| crm_user_id(m, sink.id, sink.preset));
        // A change of owner from someone who is not the lead's manager now, to someone else:
        // the report is about an older change (the CRM's echo of a reassignment leadgate sent
        // before a later one), not one to make now.
        let outdated = (report.previous_owner.as_ref()).filter(|before| {
            current.is_some_and(|now| now != *before) && report.owner.as_ref() != current
        });
        let changes = report.owner.as_ref().filter(|o| Some(*o) != current);
        // Or leadgate's own word on the owner is still on its way to this CRM (a pass while
        // it was down): what it reports is from before it (Bitrix24 reads back the lead as
        // it stands, with no previous owner).
        let ours_pending = match changes {
            Some(_) if outdated.is_none() => tx.owner_pending_to(sink.id, &id).await?,
            _ => false,
        };
        if let Some(owner) = changes.filter(|_| outdated.is_some() || ours_pending) {
            let why = match outdated {
                Some(before) => json!({"sink": sink.id, "crm_user_id": owner, "previous": before}),
                None => json!({"sink": sink.id, "crm_user_id": owner, "ours_pending": true}),
            };
            tx.audit(&id, now, "crm_owner_outdated", &why).await?;
        } else if let Some(owner) = &report.owner {
            let manager = rules
                .managers()
                .iter()
                .find(|m| crm_user_id(m, sink.id, sink.preset) == Some(owner));
            match manager {
                None => {
                    tx.audit(
                        &id,
                        now,
                        "crm_owner_unknown",
                        &json!({"sink": sink.id, "crm_user_id": owner}),
                    )
                    .await?;
                    outcome.1 = Some(owner.clone());
                }
                Some(m) if stored.manager_id.as_deref() != Some(m.id.as_str()) => {
                    self.reassign(tx.as_mut(), &rules, &others, sink.id, &id, &m.id, now)
                        .await?;
                    outcome.0 = Some(m.id.clone());
                }
                Some(_) => {}
            }
        }
        if let Some(status) = &report.status {
            match sink.hook.meaning(status) {
                StatusMeaning::New => {}
                StatusMeaning::Taken => {
                    outcome.2 = self
                        .taken(tx.as_mut(), &rules, &others, sink.id, &id, status, now)
                        .await?;
                }
                StatusMeaning::Closed => {
                    outcome.3 = close(tx.as_mut(), sink.id, &id, status, now).await?;
                }
            }
        }
        tx.commit().await?;
        for w in &self.sink_wakers {
            w.notify_one();
        }
        let (reassigned_to, unknown_owner, taken, closed) = outcome;
        Ok(ReportOutcome::Lead {
            id,
            reassigned_to,
            unknown_owner,
            taken,
            closed,
        })
    }

    /// The CRM gave the lead to `manager`: a new assignment (with a deadline when they can be
    /// late and the lead is not taken yet), the record's manager, `lead.reassigned` for the
    /// other sinks, the new manager's card.
    #[allow(clippy::too_many_arguments)]
    async fn reassign(
        &self,
        tx: &mut dyn StoreTx,
        rules: &CompiledRules,
        others: &[SinkRoute],
        sink: &str,
        lead_id: &str,
        manager: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ActionError> {
        let Some(stored) = tx.lead(lead_id).await? else {
            return Ok(());
        };
        let active = tx.active_assignment(lead_id).await?;
        let m = rules.manager(manager);
        let open = stored.status != LeadStatus::Acknowledged;
        let mut lead = stored.record.clone();
        let within = lead
            .classification
            .as_ref()
            .map_or(rules.sla().ack_within, |c| rules.ack_within_of(&c.rule));
        let due = m
            .filter(|m| open && self.reach.can_be_late(m))
            .map(|m| rules.ack_due(&m.id, now, within));
        // After every assignment the lead had: a held lead has none in its record, and its
        // next card must not take the key (`assigned:<lead>:<attempt>`) of an earlier one.
        let history = tx.assignment_history(lead_id).await?;
        let attempt = history.iter().map(|a| a.attempt).max().unwrap_or(0) + 1;
        let level = m.map_or_else(
            || stored.level.clone().unwrap_or_default(),
            |m| m.level.clone(),
        );
        lead.assignment = Some(Assignment {
            manager: AssignedManager {
                id: manager.to_string(),
                name: m.map_or_else(|| manager.to_string(), |m| m.name.clone()),
                email: m.and_then(|m| m.email.clone()),
                crm_user_id: None,
            },
            strategy: "crm".into(),
            assigned_at: now,
            ack_due_at: due,
            attempt,
        });
        if let Some(c) = lead.classification.as_mut() {
            c.level = level.clone();
        }
        tx.insert_assignment(&NewAssignment {
            lead_id: lead_id.to_string(),
            manager_id: manager.to_string(),
            level,
            strategy: "crm".into(),
            attempt,
            assigned_at: now,
            ack_due_at: due,
            previous_state: "crm_reassigned",
        })
        .await?;
        let status = match stored.status {
            LeadStatus::Held => LeadStatus::Assigned,
            other => other,
        };
        tx.update_lead(&LeadUpdate {
            record: lead.clone(),
            status,
            at: now,
            trace: None,
        })
        .await?;
        tx.audit(
            lead_id,
            now,
            "crm_reassigned",
            &json!({"sink": sink, "from": active.map(|a| a.manager_id), "to": manager}),
        )
        .await?;
        tx.insert_outbox(&outbox_rows(
            others,
            rules,
            self.clock.as_ref(),
            EventType::Reassigned,
            &lead,
            now,
        ))
        .await?;
        if open {
            tx.insert_notifications(
                &self
                    .notices
                    .assigned(rules, &lead, self.clock.as_ref(), now),
            )
            .await?;
        }
        Ok(())
    }

    /// The CRM moved the lead out of its first status: its manager took it. Returns whether
    /// that changed anything (a lead already taken, or held, stays as it is).
    #[allow(clippy::too_many_arguments)]
    async fn taken(
        &self,
        tx: &mut dyn StoreTx,
        rules: &CompiledRules,
        others: &[SinkRoute],
        sink: &str,
        lead_id: &str,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, ActionError> {
        let Some(stored) = tx.lead(lead_id).await? else {
            return Ok(false);
        };
        if stored.status != LeadStatus::Assigned {
            return Ok(false);
        }
        tx.end_assignment(lead_id, "acknowledged", now).await?;
        if let Some(m) = &stored.manager_id {
            self.metrics.manager_acknowledged(m, None);
            if let (Some(level), Some(a)) = (&stored.level, &stored.record.assignment) {
                super::note_take(tx, rules, m, level, a.assigned_at, now).await?;
            }
        }
        tx.update_lead(&LeadUpdate {
            record: stored.record.clone(),
            status: LeadStatus::Acknowledged,
            at: now,
            trace: None,
        })
        .await?;
        tx.audit(
            lead_id,
            now,
            "acknowledged",
            &json!({"manager": stored.manager_id, "sink": sink, "crm_status": status}),
        )
        .await?;
        tx.insert_outbox(&outbox_rows(
            others,
            rules,
            self.clock.as_ref(),
            EventType::Acknowledged,
            &stored.record,
            now,
        ))
        .await?;
        Ok(true)
    }
}

/// The CRM closed the lead: its SLA ends, and it stops joining new messages.
async fn close(
    tx: &mut dyn StoreTx,
    sink: &str,
    lead_id: &str,
    status: &str,
    now: DateTime<Utc>,
) -> Result<bool, ActionError> {
    let Some(stored) = tx.lead(lead_id).await? else {
        return Ok(false);
    };
    if tx.active_assignment(lead_id).await?.is_some() {
        tx.end_assignment(lead_id, "closed", now).await?;
    }
    tx.update_lead(&LeadUpdate {
        record: stored.record,
        status: LeadStatus::Closed,
        at: now,
        trace: None,
    })
    .await?;
    tx.audit(
        lead_id,
        now,
        "closed",
        &json!({"sink": sink, "crm_status": status}),
    )
    .await?;
    Ok(true)
}
