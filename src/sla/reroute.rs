//! Routing a lead again now (the console's "re-route now"): the rules in force decide it anew
//! with the live store's state (open leads, rotation, the contact's previous manager), the
//! current assignment is released, and the new decision is the lead's trace and an entry in
//! its audit trail. The sinks get `lead.reassigned` and the new manager a card.

use super::{ActionError, Actions, load_state, save_state};
use crate::deliver::outbox_rows;
use crate::lead::EventType;
use crate::lead::{AssignedManager, Assignment};
use crate::routing::{Outcome, RoutingContext};
use crate::store::{LeadStatus, LeadUpdate, NewAssignment};
use serde_json::json;

/// Where a re-routed lead went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rerouted {
    /// Assigned to this manager.
    To(String),
    /// Nobody is eligible now: held at this level until someone is.
    Held(String),
}

impl Actions {
    /// Routes `lead_id` again on behalf of `who`. A lead already taken (or closed) is the
    /// CRM's business and is refused.
    pub async fn reroute(&self, lead_id: &str, who: &str) -> Result<Rerouted, ActionError> {
        let rules = self.rules.current();
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        // The rotation first, then the assignment and the lead (as in `act_at`).
        let state = load_state(tx.as_mut()).await?;
        let active = tx.active_assignment(lead_id).await?;
        let stored = tx.lead(lead_id).await?.ok_or(ActionError::NotFound)?;
        if matches!(stored.status, LeadStatus::Acknowledged | LeadStatus::Closed) {
            let by = stored.manager_id.clone().unwrap_or_default();
            return Err(ActionError::AlreadyTaken {
                by: rules.manager(&by).map_or(by, |m| m.name.clone()),
            });
        }
        let history = tx.assignment_history(lead_id).await?;
        let mut open = tx.open_leads_per_manager().await?;
        // The lead is released: its manager's count no longer holds it.
        if let Some(a) = &active
            && let Some(n) = open.get_mut(&a.manager_id)
        {
            *n = n.saturating_sub(1);
        }
        let previous_manager = match &stored.record.previous_lead_id {
            Some(id) => tx.lead(id).await?.and_then(|p| p.manager_id),
            None => None,
        };
        let mut lead = stored.record.clone();
        lead.assignment = None;
        let ctx = RoutingContext {
            now,
            open_leads: &open,
            previous_manager: previous_manager.as_deref(),
            state: &state,
            exclude: &[],
        };
        let decision = rules.decide_as_lead(&lead, &ctx);
        lead.classification = Some(decision.classification.clone());
        let level = decision.classification.level.clone();
        if let Some(a) = &active {
            tx.end_assignment(lead_id, "rerouted", now).await?;
            self.metrics.manager_reassigned(&a.manager_id);
        }
        let attempt = history.iter().map(|a| a.attempt).max().unwrap_or(0) + 1;
        let (rerouted, status) = match &decision.outcome {
            Outcome::Assign(pick) => {
                let m = rules.manager(&pick.manager);
                let ack_due_at = m
                    .filter(|m| self.reach.can_be_late(m))
                    .map(|m| rules.ack_due(&m.id, now, decision.ack_within));
                let a = Assignment {
                    manager: AssignedManager {
                        id: pick.manager.clone(),
                        name: m.map_or_else(|| pick.manager.clone(), |m| m.name.clone()),
                        email: m.and_then(|m| m.email.clone()),
                        crm_user_id: None,
                    },
                    strategy: pick.strategy.as_str().to_string(),
                    assigned_at: now,
                    ack_due_at,
                    attempt,
                };
                self.metrics.manager_assigned(&pick.manager);
                tx.insert_assignment(&NewAssignment {
                    lead_id: lead.id.clone(),
                    manager_id: pick.manager.clone(),
                    level: pick.level.clone(),
                    strategy: a.strategy.clone(),
                    attempt,
                    assigned_at: now,
                    ack_due_at,
                    previous_state: "rerouted",
                })
                .await?;
                lead.assignment = Some(a);
                (Rerouted::To(pick.manager.clone()), LeadStatus::Assigned)
            }
            // A rule that drops is passed over (decide_as_lead), so only a hold is left.
            _ => (Rerouted::Held(level.clone()), LeadStatus::Held),
        };
        tx.update_lead(&LeadUpdate {
            record: lead.clone(),
            status,
            at: now,
            trace: None,
        })
        .await?;
        tx.keep_rules_texts(rules.version(), rules.texts(), now)
            .await?;
        tx.set_trace(lead_id, &decision.trace.stored(), rules.version())
            .await?;
        save_state(tx.as_mut(), &decision.state, self.clock.as_ref()).await?;
        tx.audit(
            lead_id,
            now,
            "rerouted",
            &json!({
                "by": who,
                "from": active.as_ref().map(|a| a.manager_id.clone()),
                "to": lead.assignment.as_ref().map(|a| a.manager.id.clone()),
                "rule": decision.classification.rule,
                "level": level,
                "rules_version": rules.version(),
            }),
        )
        .await?;
        tx.insert_outbox(&outbox_rows(
            &self.sinks,
            &rules,
            self.clock.as_ref(),
            EventType::Reassigned,
            &lead,
            now,
        ))
        .await?;
        // The manager it leaves gets no notice: the only words for one ("declined", "not
        // acknowledged in time") would be untrue; a tap on their old card is refused as stale.
        let notices = self
            .notices
            .assigned(&rules, &lead, self.clock.as_ref(), now);
        tx.insert_notifications(&notices).await?;
        tx.commit().await?;
        for w in &self.sink_wakers {
            w.notify_one();
        }
        Ok(rerouted)
    }
}
