//! Picking one manager among the eligible ones of a pool: round robin, least loaded (ties by
//! round robin) and smooth weighted round robin, updating the state that must survive
//! restarts.

use crate::routing::model::manager::Manager;
use crate::routing::model::strategy::{Strategy, StrategyState};

/// One member of a pool, with what the strategies need to know.
pub(crate) struct Candidate<'m> {
    pub(crate) manager: &'m Manager,
    pub(crate) eligible: bool,
    pub(crate) open: u32,
}

/// Picks among the eligible candidates (in file order); `None` when nobody is eligible.
pub(crate) fn choose(
    strategy: Strategy,
    pool: &str,
    cands: &[Candidate<'_>],
    state: &mut StrategyState,
) -> Option<usize> {
    let picked = match strategy {
        Strategy::RoundRobin => next_in_turn(pool, cands, state, |c| c.eligible)?,
        Strategy::LeastLoaded => {
            let least = cands.iter().filter(|c| c.eligible).map(|c| c.open).min()?;
            next_in_turn(pool, cands, state, |c| c.eligible && c.open == least)?
        }
        Strategy::Weighted => smooth_weighted(pool, cands, state)?,
    };
    state
        .round_robin
        .insert(pool.to_string(), cands[picked].manager.id.clone());
    Some(picked)
}

/// The first candidate that passes `ok` after the one who had the pool's last lead.
fn next_in_turn(
    pool: &str,
    cands: &[Candidate<'_>],
    state: &StrategyState,
    ok: impl Fn(&Candidate<'_>) -> bool,
) -> Option<usize> {
    let n = cands.len();
    let start = state
        .round_robin
        .get(pool)
        .and_then(|last| cands.iter().position(|c| &c.manager.id == last))
        .map_or(0, |i| i + 1);
    (0..n).map(|k| (start + k) % n).find(|&i| ok(&cands[i]))
}

/// Nginx's smooth weighted round robin: every eligible manager gains their weight, the one
/// with the most is picked and loses the total. Over any stretch each gets their share, spread
/// evenly rather than in runs.
fn smooth_weighted(
    pool: &str,
    cands: &[Candidate<'_>],
    state: &mut StrategyState,
) -> Option<usize> {
    let current = state.weighted.entry(pool.to_string()).or_default();
    current.retain(|id, _| cands.iter().any(|c| &c.manager.id == id));
    let mut total = 0i64;
    let mut best: Option<(usize, i64)> = None;
    for (i, c) in cands.iter().enumerate().filter(|(_, c)| c.eligible) {
        let weight = i64::from(c.manager.weight);
        total += weight;
        let cw = current.entry(c.manager.id.clone()).or_insert(0);
        *cw += weight;
        if best.is_none_or(|(_, b)| *cw > b) {
            best = Some((i, *cw));
        }
    }
    let (picked, _) = best?;
    if let Some(cw) = current.get_mut(&cands[picked].manager.id) {
        *cw -= total;
    }
    Some(picked)
}
