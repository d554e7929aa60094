//! Passing a lead on: to the next eligible manager at its level (never back to one who had
//! it), one level up after `max_reassign` passes; when nobody can take it now but someone at
//! that level who has not had it will (their hours start, they are under `max_open` again),
//! the lead waits for them as a held lead; when nobody is left at all, to the level's
//! supervisor. Used by the SLA timer (expired) and by a decline (at once).

use super::Reach;
use crate::clock::Clock;
use crate::deliver::{SinkRoute, outbox_rows};
use crate::lead::EventType;
use crate::lead::{AssignedManager, Assignment};
use crate::notify::{Notices, Onward};
use crate::routing::{CompiledRules, RoutingContext, StrategyState};
use crate::store::{ActiveAssignment, LeadStatus, LeadUpdate, NewAssignment, StoreResult, StoreTx};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::HashMap;

/// Why the lead moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassReason {
    /// Not acknowledged within the SLA.
    Expired,
    /// The manager declined, with their reason.
    Declined(String),
}

impl PassReason {
    fn ended_state(&self) -> &'static str {
        match self {
            PassReason::Expired => "expired",
            PassReason::Declined(_) => "declined",
        }
    }
}

/// Where the lead went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passed {
    /// Another manager at the same level.
    To(String),
    /// A manager one level up.
    EscalatedTo(String),
    /// Nobody can take it now, but someone at this level who has not had it can later: the
    /// lead is held there and goes to the first of them who can (the processing stage offers
    /// held leads), never back to one who had it.
    Held(String),
    /// Nobody eligible is left: the level's supervisor has it, with no deadline.
    Supervisor(String),
    /// Nobody eligible and no supervisor: it stays where it was, without a deadline.
    Stayed,
}

/// What a pass needs besides the transaction.
pub struct PassContext<'a> {
    /// The rules in force.
    pub rules: &'a CompiledRules,
    /// Time and ids.
    pub clock: &'a dyn Clock,
    /// The sinks and their events.
    pub sinks: &'a [SinkRoute],
    /// Open leads per manager (updated as leads move).
    pub open: &'a mut HashMap<String, u32>,
    /// Routing strategy state (updated).
    pub state: &'a mut StrategyState,
    /// The notifications a pass queues (the new manager's card, the old one's notice).
    pub notices: &'a Notices,
    /// Who can acknowledge, so only their assignments get a deadline.
    pub reach: &'a Reach,
    /// Where the moves are counted.
    pub metrics: &'a crate::telemetry::Metrics,
}

/// Passes `active`'s lead on and writes everything: the ended assignment, the new one, the
/// record, the audit entry and a `lead.reassigned` event per sink.
pub async fn pass_on(
    tx: &mut dyn StoreTx,
    cx: &mut PassContext<'_>,
    active: ActiveAssignment,
    reason: PassReason,
    now: DateTime<Utc>,
) -> StoreResult<Passed> {
    let rules = cx.rules;
    let history = tx.assignment_history(&active.lead.record.id).await?;
    let exclude: Vec<String> = history.iter().map(|a| a.manager_id.clone()).collect();
    let passes_here = history.iter().filter(|a| a.level == active.level).count() as u32;
    let rule = (active.lead.record.classification.as_ref()).map(|c| c.rule.as_str());
    let strategy = rules.pass_strategy(&active.strategy, rule);
    let escalate_now = passes_here > rules.sla().max_reassign;
    let level = match escalate_now {
        true => rules.level_above(&active.level).map(str::to_string),
        false => Some(active.level.clone()),
    };
    let picked = match &level {
        Some(level) => {
            let ctx = RoutingContext {
                now,
                open_leads: cx.open,
                previous_manager: None,
                state: cx.state,
                exclude: &exclude,
            };
            let result = rules.pick(level, strategy, &active.lead.record, &ctx);
            *cx.state = result.state;
            result.pick
        }
        None => None,
    };
    let mut lead = active.lead.record.clone();
    let (passed, manager, new_level, strategy_name, due) = match picked {
        Some(pick) => {
            // The rule that routed the lead sets its time to acknowledge, on every pass.
            let within = lead
                .classification
                .as_ref()
                .map_or(rules.sla().ack_within, |c| rules.ack_within_of(&c.rule));
            let due = rules
                .manager(&pick.manager)
                .filter(|m| cx.reach.can_be_late(m))
                .map(|_| rules.ack_due(&pick.manager, now, within));
            let passed = if pick.level == active.level {
                Passed::To(pick.manager.clone())
            } else {
                Passed::EscalatedTo(pick.manager.clone())
            };
            (
                passed,
                Some(pick.manager),
                pick.level,
                pick.strategy.as_str().to_string(),
                due,
            )
        }
        None => {
            let later = level.filter(|l| someone_later(rules, l, &exclude));
            let supervisor =
                (rules.sla().supervisors.get(&active.level)).filter(|s| !exclude.contains(s));
            match (later, supervisor) {
                (Some(later), _) => (
                    Passed::Held(later.clone()),
                    None,
                    later,
                    active.strategy.clone(),
                    None,
                ),
                (None, Some(sup)) => (
                    Passed::Supervisor(sup.clone()),
                    Some(sup.clone()),
                    active.level.clone(),
                    "supervisor".into(),
                    None,
                ),
                (None, None) => (
                    Passed::Stayed,
                    None,
                    active.level.clone(),
                    active.strategy.clone(),
                    None,
                ),
            }
        }
    };
    let kind = match &passed {
        Passed::To(_) => "passed_on",
        Passed::EscalatedTo(_) => "escalated",
        Passed::Held(_) => "held",
        Passed::Supervisor(_) => "escalated_to_supervisor",
        Passed::Stayed => "nobody_left",
    };
    let detail = json!({
        "from": active.manager_id,
        "to": manager,
        "level": new_level,
        "reason": match &reason { PassReason::Expired => "not acknowledged in time".to_string(), PassReason::Declined(r) => format!("declined: {r}") },
    });
    tx.audit(&lead.id, now, kind, &detail).await?;
    let expired = reason == PassReason::Expired;
    if let Passed::Held(level) = &passed {
        tx.insert_notifications(&cx.notices.passed_on(
            rules,
            &lead,
            &active.manager_id,
            active.attempt,
            Onward::Waits,
            expired,
            now,
        ))
        .await?;
        tx.end_assignment(&lead.id, reason.ended_state(), now)
            .await?;
        if let Some(n) = cx.open.get_mut(&active.manager_id) {
            *n = n.saturating_sub(1);
        }
        // The CRM keeps the lead as it is until someone takes it: then `lead.reassigned`.
        lead.assignment = None;
        if let Some(c) = lead.classification.as_mut() {
            c.level = level.clone();
        }
        tx.update_lead(&LeadUpdate {
            record: lead,
            status: LeadStatus::Held,
            at: now,
            trace: None,
        })
        .await?;
        return Ok(passed);
    }
    let Some(manager) = manager else {
        // Nobody to pass to: the current manager keeps it as a new assignment without a
        // deadline (the timer stops firing), with a card of its own: the notice takes the old
        // card's buttons off, and the old card's links no longer act.
        tx.end_assignment(&lead.id, reason.ended_state(), now)
            .await?;
        tx.insert_assignment(&NewAssignment {
            lead_id: lead.id.clone(),
            manager_id: active.manager_id.clone(),
            level: active.level.clone(),
            strategy: active.strategy.clone(),
            attempt: active.attempt + 1,
            assigned_at: now,
            ack_due_at: None,
            previous_state: reason.ended_state(),
        })
        .await?;
        if let Some(a) = lead.assignment.as_mut() {
            a.attempt = active.attempt + 1;
            a.assigned_at = now;
            a.ack_due_at = None;
        }
        tx.update_lead(&LeadUpdate {
            record: lead.clone(),
            status: LeadStatus::Assigned,
            at: now,
            trace: None,
        })
        .await?;
        let mut notices = cx.notices.passed_on(
            rules,
            &lead,
            &active.manager_id,
            active.attempt,
            Onward::NobodyLeft,
            expired,
            now,
        );
        notices.extend(cx.notices.assigned(rules, &lead, cx.clock, now));
        tx.insert_notifications(&notices).await?;
        return Ok(passed);
    };
    if let Some(n) = cx.open.get_mut(&active.manager_id) {
        *n = n.saturating_sub(1);
    }
    *cx.open.entry(manager.clone()).or_default() += 1;
    let m = rules.manager(&manager);
    lead.assignment = Some(Assignment {
        manager: AssignedManager {
            id: manager.clone(),
            name: m.map_or_else(|| manager.clone(), |m| m.name.clone()),
            email: m.and_then(|m| m.email.clone()),
            crm_user_id: None,
        },
        strategy: strategy_name.clone(),
        assigned_at: now,
        ack_due_at: due,
        attempt: active.attempt + 1,
    });
    if let Some(c) = lead.classification.as_mut() {
        c.level = new_level.clone();
    }
    cx.metrics.manager_reassigned(&active.manager_id);
    cx.metrics.manager_assigned(&manager);
    tx.insert_assignment(&NewAssignment {
        lead_id: lead.id.clone(),
        manager_id: manager,
        level: new_level,
        strategy: strategy_name,
        attempt: active.attempt + 1,
        assigned_at: now,
        ack_due_at: due,
        previous_state: reason.ended_state(),
    })
    .await?;
    tx.update_lead(&LeadUpdate {
        record: lead.clone(),
        status: LeadStatus::Assigned,
        at: now,
        trace: None,
    })
    .await?;
    tx.insert_outbox(&outbox_rows(
        cx.sinks,
        rules,
        cx.clock,
        EventType::Reassigned,
        &lead,
        now,
    ))
    .await?;
    let mut notices = cx.notices.assigned(rules, &lead, cx.clock, now);
    notices.extend(
        cx.notices.passed_on(
            rules,
            &lead,
            &active.manager_id,
            active.attempt,
            lead.assignment
                .as_ref()
                .map_or(Onward::NobodyLeft, |a| Onward::To(&a.manager.id)),
            expired,
            now,
        ),
    );
    tx.insert_notifications(&notices).await?;
    Ok(passed)
}

/// Whether a manager at `level` who has not had the lead (not in `exclude`) and is active
/// could take it later: their hours may start, their open leads may fall under `max_open`.
fn someone_later(rules: &CompiledRules, level: &str, exclude: &[String]) -> bool {
    (rules.managers().iter()).any(|m| m.level == level && m.active && !exclude.contains(&m.id))
}
