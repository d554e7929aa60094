//! Properties of picking over many leads: round robin is fair within one lead, weighted round
//! robin matches the weights within 1%, nobody ineligible is ever picked, and a held lead is
//! assigned as soon as hours begin.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use leadgate::lead::{Channel, Contact, Lead, Utm};
use leadgate::routing::{CompiledRules, Outcome, RoutingContext, StrategyState};
use proptest::prelude::*;

const LEADS: usize = 10_000;

/// Monday 2026-11-23 10:00 UTC.
fn monday_10() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn lead(at: DateTime<Utc>) -> Lead {
    Lead {
        schema: leadgate::lead::SCHEMA.to_string(),
        id: "l".into(),
        received_at: at,
        channel: Channel::Email,
        source: "inbox".into(),
        external_id: None,
        contact: Contact::default(),
        subject: None,
        text: "Добрый день".into(),
        fields: serde_json::Map::new(),
        utm: Utm::default(),
        page_url: None,
        referrer: None,
        returning: false,
        previous_lead_id: None,
        classification: None,
        assignment: None,
    }
}

#[derive(Debug, Clone)]
struct M {
    active: bool,
    hours: &'static str,
    weight: u32,
    max_open: Option<u32>,
    level: usize,
}

const HOURS: [&str; 4] = [
    "mon-sun 00:00-24:00",
    "mon-fri 09:00-18:00",
    "mon-fri 22:00-06:00",
    "sat-sun 10:00-16:00",
];

fn manager() -> impl Strategy<Value = M> {
    (
        any::<bool>(),
        0..HOURS.len(),
        1u32..10,
        proptest::option::of(1u32..5),
        0usize..3,
    )
        .prop_map(|(a, h, weight, max_open, level)| M {
            active: a || h == 0,
            hours: HOURS[h],
            weight,
            max_open,
            level,
        })
}

fn file(managers: &[M], strategy: &str, fallback: &str) -> CompiledRules {
    let levels = ["junior", "middle", "senior"];
    let mut t = format!(
        "levels = [\"junior\", \"middle\", \"senior\"]\ntimezone = \"UTC\"\nfallback = \"{fallback}\"\n"
    );
    for (i, m) in managers.iter().enumerate() {
        t.push_str(&format!(
            "\n[[managers]]\nid = \"m{i}\"\nname = \"M{i}\"\nlevel = \"{}\"\nhours = \"{}\"\nweight = {}\nactive = {}\n",
            levels[m.level], m.hours, m.weight, m.active
        ));
        if let Some(max) = m.max_open {
            t.push_str(&format!("max_open = {max}\n"));
        }
    }
    t.push_str(&format!(
        "\n[[rules]]\nname = \"all\"\nlevel = \"junior\"\nstrategy = \"{strategy}\"\n"
    ));
    CompiledRules::from_toml("p.toml", &t, Path::new(".")).unwrap_or_else(|e| panic!("{e}\n{t}"))
}

/// Routes `n` leads at `now`, threading the strategy state; returns picks per manager id.
fn route_many(rules: &CompiledRules, now: DateTime<Utc>, n: usize) -> HashMap<String, usize> {
    let open = HashMap::new();
    let mut state = StrategyState::default();
    let mut counts = HashMap::new();
    let l = lead(now);
    for _ in 0..n {
        let ctx = RoutingContext {
            now,
            open_leads: &open,
            previous_manager: None,
            state: &state,
            exclude: &[],
        };
        let d = rules.decide(&l, &ctx);
        if let Outcome::Assign(p) = &d.outcome {
            *counts.entry(p.manager.clone()).or_insert(0) += 1;
        }
        state = d.state;
    }
    counts
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn round_robin_is_fair_within_one_lead(ms in proptest::collection::vec(manager(), 2..8)) {
        let ms: Vec<M> = ms.into_iter().map(|m| M { level: 0, max_open: None, ..m }).collect();
        let rules = file(&ms, "round_robin", "hold");
        let now = monday_10();
        let counts = route_many(&rules, now, LEADS);
        let eligible: Vec<String> = rules.managers().iter().filter(|m| m.active && m.is_working(now, rules.holidays())).map(|m| m.id.clone()).collect();
        let got: Vec<usize> = eligible.iter().map(|id| counts.get(id).copied().unwrap_or(0)).collect();
        if eligible.is_empty() {
            prop_assert!(counts.is_empty());
        } else {
            let (min, max) = (got.iter().min().copied().unwrap_or(0), got.iter().max().copied().unwrap_or(0));
            prop_assert!(max - min <= 1, "{eligible:?} got {got:?}");
            prop_assert_eq!(got.iter().sum::<usize>(), LEADS);
        }
        for id in counts.keys() {
            prop_assert!(eligible.contains(id), "{id} is not eligible but was picked");
        }
    }

    #[test]
    fn weighted_matches_the_weights_within_one_percent(weights in proptest::collection::vec(1u32..10, 2..7)) {
        let ms: Vec<M> = weights.iter().map(|&weight| M { active: true, hours: HOURS[0], weight, max_open: None, level: 0 }).collect();
        let rules = file(&ms, "weighted", "hold");
        let counts = route_many(&rules, monday_10(), LEADS);
        let total: u32 = weights.iter().sum();
        for (i, w) in weights.iter().enumerate() {
            let share = counts.get(&format!("m{i}")).copied().unwrap_or(0) as f64 / LEADS as f64;
            let want = f64::from(*w) / f64::from(total);
            prop_assert!((share - want).abs() <= 0.01, "m{i}: weight {w}/{total}, share {share:.4} vs {want:.4}");
        }
    }

    #[test]
    fn nobody_ineligible_is_ever_picked(
        ms in proptest::collection::vec(manager(), 1..10),
        leads in proptest::collection::vec((0i64..7 * 24 * 60, proptest::collection::vec(0u32..6, 10), 0usize..10), 1..200),
        strategy in prop_oneof![Just("round_robin"), Just("least_loaded"), Just("weighted")],
        fallback in prop_oneof![Just("escalate"), Just("hold")],
    ) {
        let rules = file(&ms, strategy, fallback);
        let mut state = StrategyState::default();
        for (minute, loads, excluded) in leads {
            let now = monday_10() + Duration::minutes(minute);
            let open: HashMap<String, u32> = loads.iter().enumerate().map(|(i, n)| (format!("m{i}"), *n)).collect();
            let exclude = vec![format!("m{excluded}")];
            let ctx = RoutingContext { now, open_leads: &open, previous_manager: None, state: &state, exclude: &exclude };
            let d = rules.decide(&lead(now), &ctx);
            let can_take = |m: &leadgate::routing::Manager| {
                m.active && m.is_working(now, rules.holidays()) && m.max_open.is_none_or(|max| open.get(&m.id).copied().unwrap_or(0) < max) && !exclude.contains(&m.id)
            };
            match &d.outcome {
                Outcome::Assign(p) => {
                    let m = rules.manager(&p.manager);
                    prop_assert!(m.is_some_and(can_take), "{} picked at {now} but not eligible\n{}", p.manager, d.trace);
                    if fallback == "hold" {
                        prop_assert_eq!(&p.level, "junior");
                    }
                }
                Outcome::Hold { .. } => {
                    let reachable = |m: &&leadgate::routing::Manager| m.level == "junior" || fallback == "escalate";
                    prop_assert!(!rules.managers().iter().filter(reachable).any(can_take), "held at {now} although someone could take it\n{}", d.trace);
                }
                Outcome::Drop { .. } => prop_assert!(false, "nothing drops here"),
            }
            state = d.state;
        }
    }

    #[test]
    fn a_held_lead_is_assigned_when_hours_begin(minute in 0i64..7 * 24 * 60, h in 1usize..HOURS.len()) {
        let ms = vec![M { active: true, hours: HOURS[h], weight: 1, max_open: None, level: 0 }];
        let rules = file(&ms, "round_robin", "hold");
        let at = monday_10() + Duration::minutes(minute);
        let open = HashMap::new();
        let state = StrategyState::default();
        let l = lead(at);
        let ctx = RoutingContext { now: at, open_leads: &open, previous_manager: None, state: &state, exclude: &[] };
        let d = rules.decide(&l, &ctx);
        match d.outcome {
            Outcome::Assign(_) => prop_assert!(rules.managers()[0].is_working(at, rules.holidays())),
            Outcome::Hold { level } => {
                let opening = rules.next_opening(&level, at);
                prop_assert!(opening.is_some());
                let opening = opening.unwrap_or(at);
                prop_assert!(opening > at);
                let just_before = RoutingContext { now: opening - Duration::seconds(1), ..ctx };
                prop_assert!(rules.pick(&level, leadgate::routing::Strategy::RoundRobin, &l, &just_before).pick.is_none());
                let then = RoutingContext { now: opening, ..ctx };
                let again = rules.pick(&level, leadgate::routing::Strategy::RoundRobin, &l, &then);
                prop_assert_eq!(again.pick.map(|p| p.manager), Some("m0".to_string()));
            }
            Outcome::Drop { .. } => prop_assert!(false, "nothing drops here"),
        }
    }
}

#[test]
fn the_rotation_survives_a_restart() {
    let ms: Vec<M> = (0..3)
        .map(|_| M {
            active: true,
            hours: HOURS[0],
            weight: 1,
            max_open: None,
            level: 0,
        })
        .collect();
    let rules = file(&ms, "round_robin", "hold");
    let open = HashMap::new();
    let now = monday_10();
    let ctx = RoutingContext {
        now,
        open_leads: &open,
        previous_manager: None,
        state: &StrategyState::default(),
        exclude: &[],
    };
    let first = rules.decide(&lead(now), &ctx);
    // The store persists the state as JSON; a restarted daemon reads it back.
    let json = serde_json::to_string(&first.state).unwrap_or_default();
    let restored: StrategyState = serde_json::from_str(&json).unwrap_or_default();
    let ctx = RoutingContext {
        state: &restored,
        ..ctx
    };
    let second = rules.decide(&lead(now), &ctx);
    let who = |d: &leadgate::routing::Decision| match &d.outcome {
        Outcome::Assign(p) => p.manager.clone(),
        other => format!("{other:?}"),
    };
    assert_eq!(
        (who(&first), who(&second)),
        ("m0".to_string(), "m1".to_string())
    );
}
