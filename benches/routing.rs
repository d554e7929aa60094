//! The full decision with its trace on a large rules file: 200 scoring entries, 200 rules and
//! 50 managers, for a lead that falls through to the default rule (every rule evaluated):
//! once for a returning contact whose previous manager takes it, once for a new contact, so
//! the default rule's pool is searched; then the new contact's decision with its trace made
//! into the JSON that is stored with the lead.

use std::collections::HashMap;
use std::fmt::Write;
use std::hint::black_box;
use std::path::Path;

use chrono::{DateTime, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use leadgate::lead::{Channel, Contact, Lead, Utm};
use leadgate::routing::{CompiledRules, RoutingContext, StrategyState};

fn big_file() -> String {
    let levels = ["junior", "middle", "senior"];
    let mut t = String::from(
        "levels = [\"junior\", \"middle\", \"senior\"]\ntimezone = \"Europe/Moscow\"\nholidays = [\"2026-01-01..2026-01-08\"]\n",
    );
    for i in 0..50 {
        let _ = write!(
            t,
            "\n[[managers]]\nid = \"m{i}\"\nname = \"Менеджер {i}\"\nlevel = \"{}\"\ntimezone = \"Europe/Moscow\"\nhours = \"mon-fri 09:00-13:00, 14:00-18:00; sat 10:00-14:00\"\ndays_off = [\"2026-07-01..2026-07-14\"]\nmax_open = 20\nweight = {}\n",
            levels[i % 3],
            1 + i % 4
        );
    }
    for i in 0..200 {
        let _ = write!(
            t,
            "\n[[scoring]]\nname = \"score {i}\"\nwhen = {{ any = [ {{ text_contains = [\"товар{i}\", \"услуга{i}\"] }}, {{ field_at_least = {{ budget = {} }} }} ] }}\npoints = {}\ntags = [\"t{}\"]\n",
            (i + 1) * 10_000,
            i % 7,
            i % 13
        );
    }
    for i in 0..200 {
        let _ = write!(
            t,
            "\n[[rules]]\nname = \"rule {i}\"\nwhen = {{ channel = [\"email\", \"webform\"], any = [ {{ field_one_of = {{ region = [\"регион{i}\"] }} }}, {{ text_contains = \"заказ{i}\" }} ], not = {{ has_tag = \"t{}\" }} }}\nlevel = \"{}\"\nstrategy = \"{}\"\n",
            i % 13,
            levels[i % 3],
            ["round_robin", "least_loaded", "weighted"][i % 3]
        );
    }
    t.push_str(
        "\n[[rules]]\nname = \"default\"\nlevel = \"junior\"\nstrategy = \"least_loaded\"\n",
    );
    t
}

fn lead() -> Lead {
    let fields =
        serde_json::json!({"company": "ООО Ромашка", "budget": "1 500 000 ₽", "region": "Москва"});
    Lead {
        schema: leadgate::lead::SCHEMA.to_string(),
        id: "bench".into(),
        received_at: DateTime::parse_from_rfc3339("2026-11-23T08:15:02Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default(),
        channel: Channel::Email,
        source: "sales-inbox".into(),
        external_id: None,
        contact: Contact { emails: vec!["irina@example.ru".into()], phones: vec!["+79161234567".into()], ..Contact::default() },
        subject: Some("Запрос цены на поставку".into()),
        text: "Здравствуйте! Интересует поставка оборудования для нашего склада в этом квартале, просим прислать коммерческое предложение с ценами и сроками.".into(),
        fields: fields.as_object().cloned().unwrap_or_default(),
        utm: Utm { source: Some("yandex".into()), medium: Some("cpc".into()), ..Utm::default() },
        page_url: Some("https://example.ru/catalog".into()),
        referrer: None,
        returning: true,
        previous_lead_id: None,
        classification: None,
        assignment: None,
    }
}

fn bench(c: &mut Criterion) {
    let rules = CompiledRules::from_toml("bench.toml", &big_file(), Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let lead = lead();
    let open: HashMap<String, u32> = (0..50)
        .map(|i| (format!("m{i}"), (i * 7 % 19) as u32))
        .collect();
    let state = StrategyState::default();
    let ctx = RoutingContext {
        now: lead.received_at,
        open_leads: &open,
        previous_manager: Some("m4"),
        state: &state,
        exclude: &[],
    };
    let d = rules.decide(&lead, &ctx);
    assert_eq!(
        d.trace.rules().len(),
        201,
        "the lead must fall through every rule"
    );
    c.bench_function(
        "decide: 200 scoring + 200 rules + 50 managers, with trace",
        |b| b.iter(|| black_box(rules.decide(black_box(&lead), black_box(&ctx)))),
    );
    let new_contact = RoutingContext {
        previous_manager: None,
        ..ctx
    };
    c.bench_function(
        "decide: the same, a new contact (the pool is searched)",
        |b| b.iter(|| black_box(rules.decide(black_box(&lead), black_box(&new_contact)))),
    );
    let spelt = serde_json::to_string(&d.trace).unwrap_or_default();
    println!(
        "trace as stored with the lead: {} bytes (spelt out: {} bytes; the rules' texts, stored once per version: {} bytes)",
        d.trace.stored().len(),
        spelt.len(),
        rules.texts().len()
    );
    c.bench_function(
        "decide and store: the same, with the trace as stored with the lead",
        |b| {
            b.iter(|| {
                let d = rules.decide(black_box(&lead), black_box(&new_contact));
                black_box(d.trace.stored())
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
