//! The common policies of the default `config/routing.toml`, each routed as docs/routing.md
//! documents: big deals to seniors, a region to one team, after hours to the on-duty manager,
//! VIP returning clients to their own manager, suppression, and the fallbacks.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use leadgate::lead::{Channel, Contact, Lead, Utm};
use leadgate::routing::{CompiledRules, Outcome, Pick, PickedBy, RoutingContext, StrategyState};
use serde_json::json;

fn config() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/routing.toml");
    if here.exists() {
        here
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../main/config/routing.toml")
    }
}

fn rules() -> CompiledRules {
    CompiledRules::load(&config())
        .unwrap_or_else(|e| panic!("the default routing file must load:\n{e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Monday 2026-11-23, 12:00 in Moscow: everyone is at work.
const MONDAY_NOON: &str = "2026-11-23T09:00:00Z";

fn lead(text: &str, fields: serde_json::Value) -> Lead {
    Lead {
        schema: leadgate::lead::SCHEMA.to_string(),
        id: "lead-1".into(),
        received_at: utc(MONDAY_NOON),
        channel: Channel::Webform,
        source: "site".into(),
        external_id: None,
        contact: Contact {
            emails: vec!["irina@example.ru".into()],
            ..Contact::default()
        },
        subject: None,
        text: text.into(),
        fields: fields.as_object().cloned().unwrap_or_default(),
        utm: Utm::default(),
        page_url: None,
        referrer: None,
        returning: false,
        previous_lead_id: None,
        classification: None,
        assignment: None,
    }
}

/// One row of the table.
struct Case {
    name: &'static str,
    lead: Lead,
    at: &'static str,
    open: &'static [(&'static str, u32)],
    previous: Option<&'static str>,
    rule: &'static str,
    expect: Expect,
}

enum Expect {
    Manager(&'static str, PickedBy),
    Hold(&'static str),
    Drop,
}

fn with<F: FnOnce(&mut Lead)>(mut l: Lead, f: F) -> Lead {
    f(&mut l);
    l
}

fn cases() -> Vec<Case> {
    let plain = || lead("Здравствуйте, сколько стоит доставка?", json!({}));
    vec![
        Case {
            name: "spam words are dropped",
            lead: lead("Лучшее казино онлайн", json!({})),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Стоп-лист и спам",
            expect: Expect::Drop,
        },
        Case {
            name: "a suppressed domain is dropped",
            lead: with(plain(), |l| {
                l.contact.emails = vec!["bot@spam.example".into()]
            }),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Стоп-лист и спам",
            expect: Expect::Drop,
        },
        Case {
            name: "a tender goes to the least loaded senior",
            lead: lead("Приглашаем к участию в тендере на поставку", json!({})),
            at: MONDAY_NOON,
            open: &[("anna", 3), ("dmitry", 1)],
            previous: None,
            rule: "Тендеры и опт",
            expect: Expect::Manager("dmitry", PickedBy::LeastLoaded),
        },
        Case {
            name: "wholesale (a word form of опт) goes to a senior",
            lead: lead("Хотим закупать оптом", json!({})),
            at: MONDAY_NOON,
            open: &[("anna", 0), ("dmitry", 2)],
            previous: None,
            rule: "Тендеры и опт",
            expect: Expect::Manager("anna", PickedBy::LeastLoaded),
        },
        Case {
            name: "a wholesale delivery (оптовая, a form of оптовый) goes to a senior",
            lead: lead("Интересует оптовая поставка котлов", json!({})),
            at: MONDAY_NOON,
            open: &[("anna", 0), ("dmitry", 2)],
            previous: None,
            rule: "Тендеры и опт",
            expect: Expect::Manager("anna", PickedBy::LeastLoaded),
        },
        Case {
            name: "an optimal choice (оптимальный only begins like опт) is an ordinary request",
            lead: lead("Подберите оптимальный вариант отопления", json!({})),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Все остальные",
            expect: Expect::Manager("ivan", PickedBy::RoundRobin),
        },
        Case {
            name: "a big budget, however typed, goes to a senior",
            lead: lead("Нужен проект", json!({"budget": "500 000 ₽"})),
            at: MONDAY_NOON,
            open: &[("anna", 1), ("dmitry", 4)],
            previous: None,
            rule: "Крупный бюджет",
            expect: Expect::Manager("anna", PickedBy::LeastLoaded),
        },
        Case {
            name: "a small budget does not",
            lead: lead("Нужен проект", json!({"budget": "50 000"})),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Все остальные",
            expect: Expect::Manager("ivan", PickedBy::RoundRobin),
        },
        Case {
            name: "Saint Petersburg goes to the spb team",
            lead: lead("Нужна консультация", json!({"region": "Санкт-Петербург"})),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Санкт-Петербург и область",
            expect: Expect::Manager("olga", PickedBy::RoundRobin),
        },
        Case {
            name: "the spb landing page goes to the spb team",
            lead: with(plain(), |l| {
                l.page_url = Some("https://example.ru/spb/price".into())
            }),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Санкт-Петербург и область",
            expect: Expect::Manager("olga", PickedBy::RoundRobin),
        },
        Case {
            name: "with the spb team on vacation, the rest of the level takes it",
            lead: with(
                lead("Нужна консультация", json!({"region": "СПб"})),
                |l| l.received_at = utc("2026-08-05T09:00:00Z"),
            ),
            at: "2026-08-05T09:00:00Z",
            open: &[],
            previous: None,
            rule: "Санкт-Петербург и область",
            expect: Expect::Manager("sergey", PickedBy::RoundRobin),
        },
        Case {
            name: "the Urals go to the ural team (in its own time zone)",
            lead: lead("Нужна консультация", json!({"region": "Екатеринбург"})),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Урал",
            expect: Expect::Manager("sergey", PickedBy::RoundRobin),
        },
        Case {
            name: "an evening lead goes to the on-duty manager",
            lead: with(plain(), |l| l.received_at = utc("2026-11-23T16:30:00Z")),
            at: "2026-11-23T16:30:00Z",
            open: &[],
            previous: None,
            rule: "Нерабочее время — дежурному",
            expect: Expect::Manager("maria", PickedBy::RoundRobin),
        },
        Case {
            name: "a Saturday lead goes to the on-duty manager",
            lead: with(plain(), |l| l.received_at = utc("2026-11-28T09:00:00Z")),
            at: "2026-11-28T09:00:00Z",
            open: &[],
            previous: None,
            rule: "Нерабочее время — дежурному",
            expect: Expect::Manager("maria", PickedBy::RoundRobin),
        },
        Case {
            name: "a holiday lead goes to the on-duty manager, who works holidays",
            lead: with(plain(), |l| l.received_at = utc("2026-11-04T09:00:00Z")),
            at: "2026-11-04T09:00:00Z",
            open: &[],
            previous: None,
            rule: "Нерабочее время — дежурному",
            expect: Expect::Manager("maria", PickedBy::RoundRobin),
        },
        Case {
            name: "a night lead waits: nobody at any level works",
            lead: with(plain(), |l| l.received_at = utc("2026-11-23T20:30:00Z")),
            at: "2026-11-23T20:30:00Z",
            open: &[],
            previous: None,
            rule: "Нерабочее время — дежурному",
            expect: Expect::Hold("junior"),
        },
        Case {
            name: "a VIP returning client goes to their own manager",
            lead: with(
                lead("Снова к вам", json!({"client_status": "VIP"})),
                |l| l.returning = true,
            ),
            at: MONDAY_NOON,
            open: &[],
            previous: Some("olga"),
            rule: "VIP к своему менеджеру",
            expect: Expect::Manager("olga", PickedBy::PreviousManager),
        },
        Case {
            name: "a VIP whose manager is full goes to the least loaded senior",
            lead: with(
                lead("Снова к вам", json!({"client_status": "vip"})),
                |l| l.returning = true,
            ),
            at: MONDAY_NOON,
            open: &[("olga", 20), ("anna", 5), ("dmitry", 2)],
            previous: Some("olga"),
            rule: "VIP к своему менеджеру",
            expect: Expect::Manager("dmitry", PickedBy::LeastLoaded),
        },
        Case {
            name: "a returning client goes back to their manager",
            lead: with(plain(), |l| l.returning = true),
            at: MONDAY_NOON,
            open: &[],
            previous: Some("maria"),
            rule: "Все остальные",
            expect: Expect::Manager("maria", PickedBy::PreviousManager),
        },
        Case {
            name: "the rest go round robin among juniors",
            lead: plain(),
            at: MONDAY_NOON,
            open: &[],
            previous: None,
            rule: "Все остальные",
            expect: Expect::Manager("ivan", PickedBy::RoundRobin),
        },
        Case {
            name: "a full junior is skipped",
            lead: plain(),
            at: MONDAY_NOON,
            open: &[("ivan", 15)],
            previous: None,
            rule: "Все остальные",
            expect: Expect::Manager("maria", PickedBy::RoundRobin),
        },
        Case {
            name: "all juniors full: the lead escalates to middle",
            lead: plain(),
            at: MONDAY_NOON,
            open: &[("ivan", 15), ("maria", 15)],
            previous: None,
            rule: "Все остальные",
            expect: Expect::Manager("olga", PickedBy::RoundRobin),
        },
    ]
}

#[test]
fn each_policy_routes_as_documented() {
    let rules = rules();
    let state = StrategyState::default();
    let mut failures = Vec::new();
    for case in cases() {
        let open: HashMap<String, u32> =
            case.open.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let ctx = RoutingContext {
            now: utc(case.at),
            open_leads: &open,
            previous_manager: case.previous,
            state: &state,
            exclude: &[],
        };
        let d = rules.decide(&case.lead, &ctx);
        let expected = match case.expect {
            Expect::Manager(m, by) => {
                let level = rules
                    .manager(m)
                    .map(|x| x.level.clone())
                    .unwrap_or_default();
                Outcome::Assign(Pick {
                    manager: m.to_string(),
                    strategy: by,
                    level,
                })
            }
            Expect::Hold(level) => Outcome::Hold {
                level: level.to_string(),
            },
            Expect::Drop => Outcome::Drop {
                reason: "стоп-лист или спам".into(),
            },
        };
        if d.classification.rule != case.rule || d.outcome != expected {
            failures.push(format!(
                "{}: got rule {:?} {:?}, expected {:?} {:?}\n{}",
                case.name, d.classification.rule, d.outcome, case.rule, expected, d.trace
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_trace_explains_and_survives_json() {
    let rules = rules();
    let state = StrategyState::default();
    let open: HashMap<String, u32> = [("anna".to_string(), 10)].into();
    let l = lead("Тендер на поставку", json!({"company": "ООО Ромашка"}));
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&l, &ctx);
    let text = d.trace.to_string();
    for needle in [
        "+ \"Указана компания\"",
        "yes text_mentions = [",
        "(found \"тендер\")",
        "anna             10 open, not eligible: at max_open",
        "picked dmitry",
        "outcome: assigned to dmitry (least_loaded, level senior)",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from\n{text}");
    }
    assert_eq!(d.classification.tags, vec!["b2b".to_string()]);
    assert_eq!(d.ack_within, std::time::Duration::from_secs(15 * 60));
    let json = serde_json::to_string(&d.trace).unwrap_or_else(|e| panic!("{e}"));
    let back: leadgate::routing::Trace =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, d.trace);
    assert_eq!(d.trace.rules_version, rules.version());
}

#[test]
fn a_stored_trace_spells_out_as_the_trace_with_its_rules_texts_and_only_with_them() {
    let rules = rules();
    let state = StrategyState::default();
    let open: HashMap<String, u32> = [("anna".to_string(), 10)].into();
    let l = lead(
        "Тендер на поставку, опт",
        json!({"company": "ООО Ромашка", "budget": "900000"}),
    );
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&l, &ctx);
    let spelt = serde_json::to_value(&d.trace).unwrap_or_else(|e| panic!("{e}"));
    let stored: serde_json::Value =
        serde_json::from_str(&d.trace.stored()).unwrap_or_else(|e| panic!("{e}"));
    assert!(leadgate::routing::is_indexed(&stored));
    assert!(!leadgate::routing::is_indexed(&spelt));
    let back = leadgate::routing::spell_out(stored.clone(), rules.texts())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, spelt, "the same JSON as the trace spelt out");
    assert!(
        d.trace.stored().len() * 2 < spelt.to_string().len(),
        "stored {} bytes vs spelt out {}",
        d.trace.stored().len(),
        spelt.to_string().len()
    );
    // Texts of other rules (fewer tests than the record points at) are refused, not misread.
    let other = r#"{"tests": ["channel = \"email\""], "entries": [["all", 3, 0]]}"#;
    let refused = leadgate::routing::spell_out(stored, other);
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn an_sla_pass_excludes_who_had_the_lead_and_keeps_the_team() {
    let rules = rules();
    let state = StrategyState::default();
    let open = HashMap::new();
    let mut l = lead("Нужна консультация", json!({"region": "СПб"}));
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&l, &ctx);
    l.classification = Some(d.classification.clone());
    let exclude = vec!["olga".to_string()];
    let ctx = RoutingContext {
        exclude: &exclude,
        state: &d.state,
        ..ctx
    };
    let again = rules.pick("middle", leadgate::routing::Strategy::RoundRobin, &l, &ctx);
    assert_eq!(
        again.pick.map(|p| p.manager).as_deref(),
        Some("sergey"),
        "{:?}",
        again.trace
    );
    assert_eq!(again.trace.levels[0].pool.as_str(), "team spb at middle");
}
