//! The decision for a lead: scoring, then the first rule that matches, then the manager, all
//! explained in a [`Trace`]. Time and the store's view of the world come in through
//! [`RoutingContext`], so a decision is a pure function and replayable.

use super::condition::Phase;
use super::facts::{Facts, Setting};
use super::hours::Clocks;
use super::strategy::{Candidate, choose};
use crate::lead::{Classification, Lead};
use crate::routing::model::decision::{Decision, PickResult, RoutingContext};
use crate::routing::model::hours::Availability;
use crate::routing::model::label::Label;
use crate::routing::model::manager::Manager;
use crate::routing::model::outcome::{Outcome, Pick};
use crate::routing::model::record::Record;
use crate::routing::model::rules::{Action, CompiledRules, Fallback, Pool, Rule};
use crate::routing::model::strategy::{PickedBy, Strategy, StrategyState};
use crate::routing::model::trace::{CandidateTrace, Eligibility, LevelTrace, PickTrace, Trace};
use crate::routing::model::values::format_duration;

/// Where to look for a manager: a level, the pool there, and whether the previous manager wins.
struct Target<'r> {
    level: usize,
    pool: &'r Pool,
    prefer_previous: bool,
}

impl CompiledRules {
    /// The whole decision for a new lead: scoring, rules, then the manager.
    pub fn decide(&self, lead: &Lead, ctx: &RoutingContext<'_>) -> Decision {
        self.decide_with(lead, ctx, true)
    }

    /// [`CompiledRules::decide`] for a lead the admin vouched for ("this is a lead", "re-route
    /// now"): a rule that drops is evaluated and shown, but the next rule that matches routes
    /// the lead.
    pub fn decide_as_lead(&self, lead: &Lead, ctx: &RoutingContext<'_>) -> Decision {
        self.decide_with(lead, ctx, false)
    }

    fn decide_with(&self, lead: &Lead, ctx: &RoutingContext<'_>, drops: bool) -> Decision {
        let setting = Setting {
            business: self.timezone,
            holidays: &self.holidays,
            fields: &self.fields,
            words: &self.words,
        };
        let mut facts = Facts::new(lead, ctx.now, setting);
        let mut rec = Record::new(self.explain.clone(), lead.received_at, self.timezone);
        let mut score = 0i64;
        let mut tags: Vec<u32> = Vec::new();
        let mut has_tag = vec![false; self.tags.len()];
        let before = Phase {
            score: 0,
            tags: &[],
            names: &self.tags,
        };
        for (i, e) in self.scoring.iter().enumerate() {
            let start = rec.mark();
            let held = e
                .when
                .eval(&self.explain.conditions, &mut facts, &before, &mut rec);
            if held {
                score += e.points;
                add_tags(&mut tags, &mut has_tag, &e.tags);
            }
            rec.entry(i, start, held, true);
        }
        let mut decided: Option<&Rule> = None;
        {
            let phase = Phase {
                score,
                tags: &tags,
                names: &self.tags,
            };
            let all = self.rules.iter().chain(std::iter::once(&self.default));
            for (i, r) in all.enumerate() {
                let start = rec.mark();
                let held = r
                    .when
                    .eval(&self.explain.conditions, &mut facts, &phase, &mut rec);
                rec.entry(self.scoring.len() + i, start, held, false);
                if held && (drops || !matches!(r.action, Action::Drop(_))) {
                    decided = Some(r);
                    break;
                }
            }
        }
        let rule = decided.unwrap_or(&self.default);
        let mut state = ctx.state.clone();
        let (level, ack_within, outcome, pick_trace) = match &rule.action {
            Action::Drop(reason) => (
                String::new(),
                self.sla.ack_within,
                Outcome::Drop {
                    reason: reason.clone(),
                },
                None,
            ),
            Action::Route(route) => {
                add_tags(&mut tags, &mut has_tag, &route.tags);
                if let Some(s) = route.score {
                    score = s;
                }
                let target = Target {
                    level: route.level,
                    pool: &route.pool,
                    prefer_previous: route.prefer_previous,
                };
                let (pick, trace) = self.pick_at(&target, route.strategy, ctx, &mut state);
                let level = self.levels[route.level].clone();
                let outcome = match pick {
                    Some(p) => Outcome::Assign(p),
                    None => Outcome::Hold {
                        level: level.clone(),
                    },
                };
                (
                    level,
                    route.ack_within.unwrap_or(self.sla.ack_within),
                    outcome,
                    Some(trace),
                )
            }
        };
        let tags: Vec<Label> = tags
            .iter()
            .map(|&t| self.tags[t as usize].clone())
            .collect();
        let classification = Classification {
            rule: rule.name.to_string(),
            level,
            tags: tags.iter().map(Label::to_string).collect(),
            score,
        };
        let trace = Trace {
            rules_version: self.version.clone(),
            score,
            tags,
            rule: rule.name.clone(),
            ack_within: format_duration(ack_within),
            pick: pick_trace,
            outcome: outcome.clone(),
            record: rec,
        };
        Decision {
            classification,
            outcome,
            ack_within,
            state,
            trace,
        }
    }

    /// Picks a manager at `level` again (a held lead retried, an SLA pass, a decline): the same
    /// eligibility, strategy and fallback, never anyone in `ctx.exclude`. When the lead's
    /// classification names a rule that sends to a team or named managers at this level, the
    /// pick stays within them; a level the rules no longer have is read as the default rule's.
    pub fn pick(
        &self,
        level: &str,
        strategy: Strategy,
        lead: &Lead,
        ctx: &RoutingContext<'_>,
    ) -> PickResult {
        let by_rule = lead.classification.as_ref().and_then(|c| {
            self.rules
                .iter()
                .chain(std::iter::once(&self.default))
                .find(|r| r.name.as_str() == c.rule)
        });
        let route_of = |r: &'_ Rule| match &r.action {
            Action::Route(route) => Some(route.clone()),
            Action::Drop(_) => None,
        };
        let target = match self.levels.iter().position(|l| l == level) {
            Some(i) => match by_rule.and_then(route_of).filter(|r| r.level == i) {
                Some(route) => (i, route.pool, route.prefer_previous),
                None => (i, self.level_pools[i].clone(), true),
            },
            None => match route_of(&self.default) {
                Some(route) => (route.level, route.pool, route.prefer_previous),
                None => (
                    0,
                    self.level_pools.first().cloned().unwrap_or_else(empty_pool),
                    true,
                ),
            },
        };
        let mut state = ctx.state.clone();
        let t = Target {
            level: target.0,
            pool: &target.1,
            prefer_previous: target.2,
        };
        let (pick, trace) = self.pick_at(&t, strategy, ctx, &mut state);
        PickResult { pick, state, trace }
    }

    /// Whether `manager` can take a lead now.
    fn eligibility(
        &self,
        m: &Manager,
        open: u32,
        ctx: &RoutingContext<'_>,
        clocks: &mut Clocks,
    ) -> Eligibility {
        if ctx.exclude.contains(&m.id) {
            return Eligibility::AlreadyHad;
        }
        if !m.active {
            return Eligibility::Inactive;
        }
        match m.availability_now(clocks, &self.holidays) {
            Availability::Working => {}
            Availability::OffHours => return Eligibility::OffHours,
            Availability::DayOff => return Eligibility::DayOff,
            Availability::Holiday => return Eligibility::Holiday,
        }
        if m.max_open.is_some_and(|max| open >= max) {
            return Eligibility::Full;
        }
        Eligibility::Eligible
    }

    fn pick_at(
        &self,
        target: &Target<'_>,
        strategy: Strategy,
        ctx: &RoutingContext<'_>,
        state: &mut StrategyState,
    ) -> (Option<Pick>, PickTrace) {
        let open_of = |id: &str| ctx.open_leads.get(id).copied().unwrap_or(0);
        let mut clocks = Clocks::new(ctx.now);
        let mut trace = PickTrace {
            strategy,
            previous_manager: None,
            levels: Vec::new(),
            picked: None,
        };
        if let (true, true, Some(prev)) = (
            self.prefer_previous,
            target.prefer_previous,
            ctx.previous_manager,
        ) {
            let open = open_of(prev);
            let manager = self.manager(prev);
            let status = manager.map_or(Eligibility::NotInRules, |m| {
                self.eligibility(m, open, ctx, &mut clocks)
            });
            trace.previous_manager = Some(CandidateTrace {
                manager: manager.map_or_else(|| Label::from(prev), |m| m.key.clone()),
                open,
                status,
            });
            if let (Some(m), Eligibility::Eligible) = (manager, status) {
                let pick = Pick {
                    manager: m.id.clone(),
                    strategy: PickedBy::PreviousManager,
                    level: m.level.clone(),
                };
                trace.picked = Some(pick.clone());
                return (Some(pick), trace);
            }
        }
        // The rule's pool first; if it is a team or named managers, then everyone at the
        // level; then, when escalating, everyone at each level above.
        let mut steps: Vec<(usize, &Pool)> = vec![(target.level, target.pool)];
        if target.pool.key != self.level_pools[target.level].key {
            steps.push((target.level, &self.level_pools[target.level]));
        }
        if self.fallback == Fallback::Escalate {
            steps.extend((target.level + 1..self.levels.len()).map(|l| (l, &self.level_pools[l])));
        }
        for (level, pool) in steps {
            let mut cands = Vec::with_capacity(pool.members.len());
            let mut seen = Vec::with_capacity(pool.members.len());
            for &i in &pool.members {
                let m = &self.managers[i];
                let open = open_of(&m.id);
                let status = self.eligibility(m, open, ctx, &mut clocks);
                cands.push(Candidate {
                    manager: m,
                    eligible: status == Eligibility::Eligible,
                    open,
                });
                seen.push(CandidateTrace {
                    manager: m.key.clone(),
                    open,
                    status,
                });
            }
            let chosen = choose(strategy, &pool.key, &cands, state);
            let picked = chosen.map(|i| cands[i].manager);
            trace.levels.push(LevelTrace {
                level: self.levels[level].clone(),
                pool: pool.label.clone(),
                candidates: seen,
                picked: picked.map(|m| m.id.clone()),
            });
            if let Some(m) = picked {
                let pick = Pick {
                    manager: m.id.clone(),
                    strategy: strategy.into(),
                    level: self.levels[level].clone(),
                };
                trace.picked = Some(pick.clone());
                return (Some(pick), trace);
            }
        }
        (None, trace)
    }
}

fn empty_pool() -> Pool {
    Pool {
        key: String::new(),
        label: "nobody".into(),
        members: Vec::new(),
    }
}

/// Adds the tags not there yet; `has` is indexed by tag id.
fn add_tags(tags: &mut Vec<u32>, has: &mut [bool], more: &[u32]) {
    for &t in more {
        if !std::mem::replace(&mut has[t as usize], true) {
            tags.push(t);
        }
    }
}
