//! Unit tests: each condition kind compiled and evaluated, and each class of invalid file
//! reported with its line and a message that says what would be right.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::lead::{Channel, Contact, Lead, Utm};

const BASE: &str = r#"levels = ["junior", "senior"]
timezone = "Europe/Moscow"

[[managers]]
id = "ivan"
name = "Иван"
level = "junior"
hours = "mon-sun 00:00-24:00"

[[managers]]
id = "anna"
name = "Анна"
level = "senior"
hours = "mon-sun 00:00-24:00"
"#;

const DEFAULT: &str = "\n[[rules]]\nname = \"default\"\nlevel = \"junior\"\n";

fn compile(extra: &str) -> Result<CompiledRules, RulesError> {
    CompiledRules::from_toml("routing.toml", &format!("{BASE}{extra}"), Path::new("."))
}

/// The problems of an invalid file; line numbers count from the start of BASE.
fn problems(extra: &str) -> Vec<Problem> {
    match compile(extra) {
        Ok(_) => panic!("the file was accepted:\n{extra}"),
        Err(e) => e.problems().to_vec(),
    }
}

fn base_lines() -> usize {
    BASE.lines().count()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn lead() -> Lead {
    Lead {
        schema: crate::lead::SCHEMA.to_string(),
        id: "l1".into(),
        // A Monday, 12:00 in Moscow.
        received_at: utc("2026-11-23T09:00:00Z"),
        channel: Channel::Webform,
        source: "site".into(),
        external_id: None,
        contact: Contact {
            emails: vec!["irina@example.ru".into()],
            ..Contact::default()
        },
        subject: Some("Запрос".into()),
        text: "Хотим купить оптом".into(),
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

/// A test as the trace shows it.
struct Seen {
    test: String,
    held: bool,
    found: Option<String>,
    inner: Vec<Seen>,
}

fn seen(tests: Tests<'_>) -> Vec<Seen> {
    tests
        .map(|t| Seen {
            test: t.test().to_string(),
            held: t.held(),
            found: t.found().map(|f| f.into_owned()),
            inner: seen(t.inner()),
        })
        .collect()
}

/// Decides with a rule "hit" (senior) carrying `when`, and returns whether it matched and
/// the trace of its tests.
fn matches(when: &str, lead: &Lead) -> (bool, Vec<Seen>) {
    let text = format!("\n[[rules]]\nname = \"hit\"\nwhen = {when}\nlevel = \"senior\"\n{DEFAULT}");
    let rules = match compile(&text) {
        Ok(r) => r,
        Err(e) => panic!("{e}"),
    };
    let open = HashMap::new();
    let state = StrategyState::default();
    let ctx = RoutingContext {
        now: lead.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(lead, &ctx);
    let first = d
        .trace
        .rules()
        .next()
        .unwrap_or_else(|| panic!("no rule in the trace"));
    (first.matched(), seen(first.tests()))
}

fn holds(when: &str, lead: &Lead) -> bool {
    matches(when, lead).0
}

fn with_fields(fields: serde_json::Value) -> Lead {
    let mut l = lead();
    if let serde_json::Value::Object(map) = fields {
        l.fields = map;
    }
    l
}

// ---- conditions -------------------------------------------------------------------------

#[test]
fn channel_and_source_are_one_of() {
    assert!(holds(r#"{ channel = ["email", "webform"] }"#, &lead()));
    assert!(!holds(r#"{ channel = "telegram" }"#, &lead()));
    assert!(holds(r#"{ source = ["site", "landing"] }"#, &lead()));
    assert!(!holds(r#"{ source = "sales-inbox" }"#, &lead()));
}

#[test]
fn text_contains_matches_word_prefixes_in_subject_and_text() {
    let (held, tests) = matches(r#"{ text_contains = ["опт"] }"#, &lead());
    assert!(held);
    assert_eq!(tests[0].found.as_deref(), Some("found \"оптом\""));
    let mut l = lead();
    l.text = "не топтать газон".into();
    assert!(!holds(r#"{ text_contains = "опт" }"#, &l));
    assert!(
        holds(r#"{ text_contains = "запрос" }"#, &l),
        "the subject is searched too"
    );
    l.text = "Ещё вопрос".into();
    assert!(holds(r#"{ text_contains = "еще" }"#, &l), "ё = е");
}

#[test]
fn text_has_word_needs_whole_words() {
    assert!(!holds(r#"{ text_has_word = "опт" }"#, &lead()));
    assert!(holds(r#"{ text_has_word = "оптом" }"#, &lead()));
}

#[test]
fn text_matches_is_a_case_insensitive_regex() {
    assert!(holds(r#"{ text_matches = "КУПИТЬ\\s+опт" }"#, &lead()));
    assert!(!holds(r#"{ text_matches = "^опт" }"#, &lead()));
}

#[test]
fn field_present_equals_one_of_contains() {
    let l = with_fields(
        json!({"company": "ООО Ромашка", "region": "Санкт-Петербург", "services": ["монтаж", "доставка"], "empty": " "}),
    );
    assert!(holds(r#"{ field_present = "company" }"#, &l));
    assert!(!holds(r#"{ field_present = ["company", "empty"] }"#, &l));
    assert!(holds(
        r#"{ field_equals = { region = "санкт-петербург" } }"#,
        &l
    ));
    assert!(holds(
        r#"{ field_one_of = { region = ["Москва", "Санкт-Петербург"] } }"#,
        &l
    ));
    assert!(
        holds(r#"{ field_one_of = { services = ["доставка"] } }"#, &l),
        "any element of a list"
    );
    assert!(!holds(r#"{ field_equals = { region = "Москва" } }"#, &l));
    let mut l = lead();
    l.page_url = Some("https://example.ru/spb/price".into());
    l.utm.source = Some("yandex".into());
    assert!(holds(r#"{ field_contains = { page_url = "/spb/" } }"#, &l));
    assert!(holds(r#"{ field_equals = { utm_source = "Yandex" } }"#, &l));
}

#[test]
fn field_numbers_are_read_leniently() {
    let l = with_fields(json!({"budget": "500 000 ₽", "pages": 7}));
    let (held, tests) = matches(r#"{ field_at_least = { budget = 300000 } }"#, &l);
    assert!(held);
    assert_eq!(tests[0].found.as_deref(), Some("500 000 ₽ = 500000"));
    assert!(!holds(r#"{ field_at_most = { budget = 300000 } }"#, &l));
    assert!(holds(
        r#"{ field_at_least = { pages = 5 }, field_at_most = { pages = 7.5 } }"#,
        &l
    ));
    let l = with_fields(json!({"budget": "договорная"}));
    assert!(!holds(r#"{ field_at_least = { budget = 1 } }"#, &l));
    assert!(
        !holds(r#"{ field_at_most = { budget = 1 } }"#, &l),
        "no number is not small either"
    );
}

#[test]
fn contacts_and_returning() {
    let mut l = lead();
    assert!(holds("{ has_email = true, has_phone = false }", &l));
    assert!(!holds("{ has_phone = true }", &l));
    l.returning = true;
    assert!(holds("{ returning = true }", &l));
    assert!(!holds("{ returning = false }", &l));
}

#[test]
fn score_and_tags_come_from_scoring() {
    let scoring = "\n[[scoring]]\nname = \"опт\"\nwhen = { text_contains = \"опт\" }\npoints = 40\ntags = [\"b2b\"]\n";
    let text = format!(
        "{scoring}\n[[rules]]\nname = \"hit\"\nwhen = {{ score_at_least = 40, has_tag = [\"vip\", \"b2b\"] }}\nlevel = \"senior\"\n{DEFAULT}"
    );
    let rules = compile(&text).unwrap_or_else(|e| panic!("{e}"));
    let open = HashMap::new();
    let state = StrategyState::default();
    let l = lead();
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&l, &ctx);
    assert_eq!(d.classification.rule, "hit");
    assert_eq!(d.classification.score, 40);
    assert_eq!(d.classification.tags, vec!["b2b".to_string()]);
}

#[test]
fn received_on_and_between_read_the_business_clock() {
    // 09:00 UTC on Monday is 12:00 in Moscow.
    let l = lead();
    assert!(holds(
        r#"{ received_on = "mon-fri", received_between = "09:00-18:00" }"#,
        &l
    ));
    assert!(!holds(r#"{ received_between = "18:00-09:00" }"#, &l));
    let mut night = lead();
    night.received_at = utc("2026-11-23T20:30:00Z"); // 23:30 Moscow
    assert!(holds(r#"{ received_between = "18:00-09:00" }"#, &night));
    let mut sat = lead();
    sat.received_at = utc("2026-11-28T09:00:00Z");
    assert!(holds(r#"{ received_on = "sat,sun" }"#, &sat));
}

#[test]
fn received_on_holiday_uses_the_calendar() {
    let text = format!(
        "holidays = [\"2026-11-04\"]\n{BASE}\n[[rules]]\nname = \"hit\"\nwhen = {{ received_on_holiday = true }}\nlevel = \"senior\"\n{DEFAULT}"
    );
    let rules = CompiledRules::from_toml("routing.toml", &text, Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let open = HashMap::new();
    let state = StrategyState::default();
    let mut l = lead();
    l.received_at = utc("2026-11-04T10:00:00Z");
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    assert_eq!(rules.decide(&l, &ctx).classification.rule, "hit");
    l.received_at = utc("2026-11-05T10:00:00Z");
    assert_eq!(rules.decide(&l, &ctx).classification.rule, "default");
}

#[test]
fn contact_in_list_reads_the_file_next_to_the_rules() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("stop.txt"),
        "irina@example.ru until 2099-01-01\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{BASE}\n[[rules]]\nname = \"stop\"\nwhen = {{ contact_in_list = \"stop.txt\" }}\ndrop = \"стоп-лист\"\n{DEFAULT}"
    );
    let rules = CompiledRules::from_toml("routing.toml", &text, dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    let open = HashMap::new();
    let state = StrategyState::default();
    let l = lead();
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&l, &ctx);
    assert_eq!(
        d.outcome,
        Outcome::Drop {
            reason: "стоп-лист".into()
        }
    );
    assert!(
        rules
            .watched_files()
            .iter()
            .any(|p| p.ends_with("stop.txt"))
    );
}

#[test]
fn an_edited_list_is_a_new_version_of_the_rules() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let list = dir.path().join("stop.txt");
    let text = format!(
        "{BASE}\n[[rules]]\nname = \"stop\"\nwhen = {{ contact_in_list = \"stop.txt\" }}\ndrop = \"стоп-лист\"\n{DEFAULT}"
    );
    let version = |entries: &str| {
        std::fs::write(&list, entries).unwrap_or_else(|e| panic!("{e}"));
        CompiledRules::from_toml("routing.toml", &text, dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .version()
            .to_string()
    };
    let first = version("irina@example.ru\n");
    assert_eq!(
        version("irina@example.ru\n"),
        first,
        "the same files, the same version"
    );
    assert_ne!(version("irina@example.ru\npetr@example.ru\n"), first);
    // Rules without lists keep the version of their text alone.
    let plain = CompiledRules::from_toml("routing.toml", &format!("{BASE}\n{DEFAULT}"), dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    use sha2::Digest;
    let text_alone: String = sha2::Sha256::digest(format!("{BASE}\n{DEFAULT}").as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(plain.version(), text_alone);
}

#[test]
fn a_lead_the_admin_vouched_for_passes_over_a_drop_rule() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("stop.txt"),
        "irina@example.ru until 2099-01-01\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{BASE}\n[[rules]]\nname = \"stop\"\nwhen = {{ contact_in_list = \"stop.txt\" }}\ndrop = \"стоп-лист\"\n{DEFAULT}"
    );
    let rules = CompiledRules::from_toml("routing.toml", &text, dir.path())
        .unwrap_or_else(|e| panic!("{e}"));
    let open = HashMap::new();
    let state = StrategyState::default();
    let l = lead();
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    assert!(matches!(
        rules.decide(&l, &ctx).outcome,
        Outcome::Drop { .. }
    ));
    let d = rules.decide_as_lead(&l, &ctx);
    assert_eq!(d.classification.rule, "default");
    assert!(matches!(d.outcome, Outcome::Assign(_)), "{:?}", d.outcome);
}

#[test]
fn any_and_not() {
    let l = lead();
    let (held, tests) = matches(
        r#"{ any = [ { channel = "email" }, { text_contains = "опт" } ] }"#,
        &l,
    );
    assert!(held);
    assert_eq!(
        tests[0].inner.len(),
        2,
        "the first option failed, the second held"
    );
    assert!(!tests[0].inner[0].held && tests[0].inner[1].held);
    assert!(holds(r#"{ not = { channel = "email" } }"#, &l));
    assert!(!holds(
        r#"{ not = { channel = "webform", text_contains = "опт" } }"#,
        &l
    ));
}

#[test]
fn evaluation_stops_at_the_first_failing_test_and_labels_are_as_written() {
    let (held, tests) = matches(r#"{ channel = "email", text_contains = "опт" }"#, &lead());
    assert!(!held);
    assert_eq!(tests.len(), 1);
    assert_eq!(tests[0].test.as_str(), r#"channel = "email""#);
    assert_eq!(tests[0].found.as_deref(), Some("webform"));
}

// ---- invalid files ----------------------------------------------------------------------

#[test]
fn unknown_key_names_the_line_and_the_likely_key() {
    let p = problems("\n[[rules]]\nname = \"default\"\nlevle = \"junior\"\n");
    let unknown = p
        .iter()
        .find(|p| p.kind == ProblemKind::UnknownKey)
        .unwrap_or_else(|| panic!("{p:?}"));
    assert_eq!(unknown.line, base_lines() + 4);
    assert_eq!(unknown.section, "rule \"default\"");
    assert!(
        unknown
            .message
            .contains("unknown key \"levle\": did you mean \"level\"?"),
        "{}",
        unknown.message
    );
}

#[test]
fn unknown_condition_test_is_reported() {
    let p = problems("\n[[rules]]\nname = \"x\"\nwhen = { text_contain = \"опт\" }\nlevel = \"senior\"\n{DEFAULT}".replace("{DEFAULT}", DEFAULT).as_str());
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].line, base_lines() + 4);
    assert!(
        p[0].message.contains("did you mean \"text_contains\"?"),
        "{}",
        p[0].message
    );
}

#[test]
fn bad_regex_is_reported_with_the_reason() {
    let p = problems(&format!(
        "\n[[rules]]\nname = \"x\"\nwhen = {{ text_matches = \"(опт\" }}\nlevel = \"senior\"\n{DEFAULT}"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::BadRegex);
    assert_eq!(p[0].line, base_lines() + 4);
    assert!(p[0].message.contains("unclosed group"), "{}", p[0].message);
    assert_eq!(
        p[0].to_string(),
        format!(
            "routing.toml:{}:25: rule \"x\": {}",
            base_lines() + 4,
            p[0].message
        )
    );
}

#[test]
fn unknown_level_suggests_the_right_one() {
    let p = problems(&format!(
        "\n[[rules]]\nname = \"x\"\nwhen = {{ channel = \"email\" }}\nlevel = \"senoir\"\n{DEFAULT}"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::UnknownLevel);
    assert_eq!(p[0].line, base_lines() + 5);
    assert!(
        p[0].message.contains("did you mean \"senior\"?"),
        "{}",
        p[0].message
    );
}

#[test]
fn unknown_manager_suggests_the_right_one() {
    let p = problems(&format!(
        "\n[[rules]]\nname = \"x\"\nwhen = {{ channel = \"email\" }}\nlevel = \"senior\"\nmanagers = [\"ana\"]\n{DEFAULT}"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::UnknownManager);
    assert_eq!(p[0].line, base_lines() + 6);
    assert!(
        p[0].message
            .contains("no manager has id \"ana\": did you mean \"anna\"?"),
        "{}",
        p[0].message
    );
}

#[test]
fn rule_after_the_default_is_unreachable() {
    let p = problems(
        "\n[[rules]]\nname = \"all\"\nlevel = \"junior\"\n\n[[rules]]\nname = \"late\"\nwhen = { channel = \"email\" }\nlevel = \"senior\"\n",
    );
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::UnreachableRule);
    assert_eq!(p[0].line, base_lines() + 6);
    assert_eq!(p[0].section, "rule \"late\"");
    assert!(
        p[0].message
            .contains(&format!("rule \"all\" (line {})", base_lines() + 2)),
        "{}",
        p[0].message
    );
}

#[test]
fn missing_default_is_reported() {
    let p =
        problems("\n[[rules]]\nname = \"x\"\nwhen = { channel = \"email\" }\nlevel = \"senior\"\n");
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::MissingDefault);
    assert_eq!(p[0].line, base_lines() + 2);
    assert!(p[0].message.contains("no default rule"), "{}", p[0].message);
}

#[test]
fn bad_working_hours_are_reported() {
    let text = BASE.replacen(
        "hours = \"mon-sun 00:00-24:00\"",
        "hours = \"mon-fri 9:00-18:00, 19:00-25:00\"",
        1,
    );
    let err =
        CompiledRules::from_toml("routing.toml", &format!("{text}{DEFAULT}"), Path::new(".")).err();
    let p = err.map(|e| e.problems().to_vec()).unwrap_or_default();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::BadHours);
    assert_eq!(p[0].line, 8);
    assert_eq!(p[0].section, "manager \"ivan\"");
    assert!(
        p[0].message.contains("\"25:00\" is not a time of day"),
        "{}",
        p[0].message
    );
}

#[test]
fn bad_timezone_suggests_the_right_one() {
    let text = BASE.replace(
        "timezone = \"Europe/Moscow\"",
        "timezone = \"Europe/Moskow\"",
    );
    let err =
        CompiledRules::from_toml("routing.toml", &format!("{text}{DEFAULT}"), Path::new(".")).err();
    let p = err.map(|e| e.problems().to_vec()).unwrap_or_default();
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::BadTimezone);
    assert_eq!(p[0].line, 2);
    assert!(
        p[0].message.contains("did you mean \"Europe/Moscow\"?"),
        "{}",
        p[0].message
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let p = problems(
        "\n[[rules]]\nname = \"x\"\nwhen = { text_matches = \"[\", chanel = \"email\" }\nlevel = \"boss\"\nack_within = \"30 минут\"\n",
    );
    let kinds: Vec<ProblemKind> = p.iter().map(|p| p.kind).collect();
    for k in [
        ProblemKind::BadRegex,
        ProblemKind::UnknownKey,
        ProblemKind::UnknownLevel,
        ProblemKind::BadDuration,
        ProblemKind::MissingDefault,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {p:?}");
    }
}

#[test]
fn toml_syntax_errors_have_a_line() {
    let p = problems("\n[[rules]]\nname = \"x\nlevel = \"junior\"\n");
    assert_eq!(p[0].kind, ProblemKind::Syntax);
    assert_eq!(p[0].line, base_lines() + 3);
}

#[test]
fn drop_rules_set_nothing_else_and_the_default_cannot_drop() {
    let p = problems("\n[[rules]]\nname = \"x\"\ndrop = \"spam\"\nlevel = \"junior\"\n");
    assert!(
        p.iter()
            .any(|p| p.message.contains("sets nothing else: remove \"level\"")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.message.contains("the default rule cannot drop")),
        "{p:?}"
    );
}

#[test]
fn team_must_exist_at_the_level() {
    let p = problems(&format!(
        "\n[[rules]]\nname = \"x\"\nwhen = {{ channel = \"email\" }}\nlevel = \"senior\"\nteam = \"spb\"\n{DEFAULT}"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].kind, ProblemKind::UnknownTeam);
    assert_eq!(p[0].line, base_lines() + 6);
}

#[test]
fn scoring_cannot_use_the_score() {
    let p = problems(&format!(
        "\n[[scoring]]\nname = \"s\"\nwhen = {{ score_at_least = 5 }}\npoints = 1\n{DEFAULT}"
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].message.contains("can only be used in [[rules]]"),
        "{}",
        p[0].message
    );
}

#[test]
fn the_default_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../main/config/routing.toml");
    let path = if path.exists() {
        path
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("config/routing.toml")
    };
    let rules = CompiledRules::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rules.levels(), ["junior", "middle", "senior"]);
    assert_eq!(rules.managers().len(), 6);
    assert_eq!(rules.version().len(), 12);
    assert!(
        rules
            .watched_files()
            .iter()
            .any(|p| p.ends_with("suppress.txt"))
    );
}

#[test]
fn when_may_be_a_sub_table_and_hours_a_list() {
    let text = BASE.replacen(
        "hours = \"mon-sun 00:00-24:00\"",
        "hours = [\"mon-fri 09:00-18:00\", \"sat 10:00-14:00\"]",
        1,
    );
    let extra = "\n[[rules]]\nname = \"hit\"\nlevel = \"senior\"\nscore = 99\n[rules.when]\ntext_contains = \"опт\"\nhas_email = true\n\n[[rules]]\nname = \"default\"\nlevel = \"junior\"\n";
    let rules = CompiledRules::from_toml("routing.toml", &format!("{text}{extra}"), Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let ivan = rules.manager("ivan").map(|m| m.hours.clone());
    assert_eq!(
        ivan.as_deref(),
        Some("mon-fri 09:00-18:00; sat 10:00-14:00")
    );
    let open = HashMap::new();
    let state = StrategyState::default();
    let l = lead();
    let ctx = RoutingContext {
        now: l.received_at,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&l, &ctx);
    assert_eq!(d.classification.rule, "hit");
    assert_eq!(
        d.classification.score, 99,
        "a rule's score sets the lead's score"
    );
}

#[test]
fn a_lead_passing_on_from_its_previous_manager_keeps_its_rules_strategy() {
    let rules = compile(
        "\n[[rules]]\nname = \"wholesale\"\nwhen = { text_contains = [\"опт\"] }\nlevel = \"junior\"\nstrategy = \"least_loaded\"\n\n[[rules]]\nname = \"default\"\nlevel = \"junior\"\nstrategy = \"weighted\"\n",
    )
    .expect("valid");
    let pass = |last, rule| rules.pass_strategy(last, rule);
    // Its previous manager, the supervisor or the CRM picked it: the rule's own strategy.
    for last in ["previous_manager", "supervisor", "crm"] {
        assert_eq!(
            pass(last, Some("wholesale")),
            Strategy::LeastLoaded,
            "{last}"
        );
        assert_eq!(pass(last, Some("default")), Strategy::Weighted, "{last}");
    }
    // A strategy picked it: that one; a rule the rules no longer have: round robin.
    assert_eq!(pass("round_robin", Some("wholesale")), Strategy::RoundRobin);
    assert_eq!(
        pass("previous_manager", Some("renamed")),
        Strategy::RoundRobin
    );
    assert_eq!(pass("previous_manager", None), Strategy::RoundRobin);
}
