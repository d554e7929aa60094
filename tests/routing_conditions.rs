//! Properties of conditions: any nesting of tables (all), `any` and `not` decides as boolean
//! logic says, and the trace shows exactly the tests that were evaluated, in file order and
//! stopping where the result is known, each with its result and its inner tests.
//!
//! The expectation comes from a model of the condition evaluated here, independently of how
//! leadgate compiles and records it.

use std::path::Path;

use chrono::{DateTime, Utc};
use leadgate::lead::{Channel, Contact, Lead, Utm};
use leadgate::routing::{CompiledRules, RoutingContext, StrategyState, TestView};
use proptest::prelude::*;

/// A lead the leaf tests below read.
#[derive(Debug, Clone)]
struct Facts {
    email: bool,
    phone: bool,
    wholesale: bool,
    budget: u32,
}

/// A test of the vocabulary, as the model sees it.
#[derive(Debug, Clone)]
enum Leaf {
    HasPhone(bool),
    ChannelEmail,
    TextWholesale,
    BudgetAtLeast(u32),
}

/// A condition: a table whose tests must all hold; each key appears at most once.
#[derive(Debug, Clone)]
struct Table {
    leaves: Vec<Leaf>,
    any: Option<Vec<Table>>,
    not: Option<Box<Table>>,
}

impl Leaf {
    fn toml(&self) -> String {
        match self {
            Leaf::HasPhone(b) => format!("has_phone = {b}"),
            Leaf::ChannelEmail => "channel = \"email\"".into(),
            Leaf::TextWholesale => "text_contains = \"опт\"".into(),
            Leaf::BudgetAtLeast(n) => format!("field_at_least = {{ budget = {n} }}"),
        }
    }

    fn holds(&self, f: &Facts) -> bool {
        match self {
            Leaf::HasPhone(b) => f.phone == *b,
            Leaf::ChannelEmail => f.email,
            Leaf::TextWholesale => f.wholesale,
            Leaf::BudgetAtLeast(n) => f.budget >= *n,
        }
    }
}

/// What the trace should show for one test: whether it held and its inner tests.
#[derive(Debug, PartialEq)]
struct Shown {
    held: bool,
    inner: Vec<Shown>,
}

impl Table {
    fn toml(&self) -> String {
        let mut parts: Vec<String> = self.leaves.iter().map(Leaf::toml).collect();
        if let Some(options) = &self.any {
            let options: Vec<String> = options.iter().map(Table::toml).collect();
            parts.push(format!("any = [ {} ]", options.join(", ")));
        }
        if let Some(inner) = &self.not {
            parts.push(format!("not = {}", inner.toml()));
        }
        format!("{{ {} }}", parts.join(", "))
    }

    /// The tests evaluated in order, stopping at the first that fails; and whether all held.
    fn eval(&self, f: &Facts) -> (bool, Vec<Shown>) {
        let mut shown = Vec::new();
        for leaf in &self.leaves {
            let held = leaf.holds(f);
            shown.push(Shown {
                held,
                inner: Vec::new(),
            });
            if !held {
                return (false, shown);
            }
        }
        if let Some(options) = &self.any {
            let mut held = false;
            let mut inner = Vec::new();
            for option in options {
                let (ok, tests) = option.eval(f);
                inner.push(Shown {
                    held: ok,
                    inner: tests,
                });
                if ok {
                    held = true;
                    break;
                }
            }
            shown.push(Shown { held, inner });
            if !held {
                return (false, shown);
            }
        }
        if let Some(cond) = &self.not {
            let (inner_held, tests) = cond.eval(f);
            let held = !inner_held;
            shown.push(Shown { held, inner: tests });
            if !held {
                return (false, shown);
            }
        }
        (true, shown)
    }
}

fn leaf() -> impl Strategy<Value = Leaf> {
    prop_oneof![
        any::<bool>().prop_map(Leaf::HasPhone),
        Just(Leaf::ChannelEmail),
        Just(Leaf::TextWholesale),
        (1u32..4).prop_map(|n| Leaf::BudgetAtLeast(n * 100)),
    ]
}

/// A table of distinct leaf kinds (TOML keys cannot repeat), with `any` and `not` nested.
fn table() -> impl Strategy<Value = Table> {
    let flat = proptest::collection::vec(leaf(), 1..4).prop_map(|leaves| Table {
        leaves: distinct(leaves),
        any: None,
        not: None,
    });
    flat.prop_recursive(4, 40, 3, |inner| {
        (
            proptest::collection::vec(leaf(), 0..3),
            proptest::option::of(proptest::collection::vec(inner.clone(), 1..4)),
            proptest::option::of(inner.prop_map(Box::new)),
        )
            .prop_map(|(leaves, any, not)| {
                let mut t = Table {
                    leaves: distinct(leaves),
                    any,
                    not,
                };
                if t.leaves.is_empty() && t.any.is_none() && t.not.is_none() {
                    t.leaves.push(Leaf::ChannelEmail);
                }
                t
            })
    })
}

fn distinct(leaves: Vec<Leaf>) -> Vec<Leaf> {
    let mut out: Vec<Leaf> = Vec::new();
    for l in leaves {
        if !out
            .iter()
            .any(|o| std::mem::discriminant(o) == std::mem::discriminant(&l))
        {
            out.push(l);
        }
    }
    out
}

fn facts() -> impl Strategy<Value = Facts> {
    (any::<bool>(), any::<bool>(), any::<bool>(), 0u32..500).prop_map(
        |(email, phone, wholesale, budget)| Facts {
            email,
            phone,
            wholesale,
            budget,
        },
    )
}

fn lead(f: &Facts) -> Lead {
    let at = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default();
    let mut fields = serde_json::Map::new();
    fields.insert("budget".into(), format!("{} ₽", f.budget).into());
    Lead {
        schema: leadgate::lead::SCHEMA.to_string(),
        id: "l".into(),
        received_at: at,
        channel: if f.email {
            Channel::Email
        } else {
            Channel::Webform
        },
        source: "inbox".into(),
        external_id: None,
        contact: Contact {
            phones: if f.phone {
                vec!["+79161234567".into()]
            } else {
                Vec::new()
            },
            ..Contact::default()
        },
        subject: None,
        text: if f.wholesale {
            "Купим оптом".into()
        } else {
            "Добрый день".into()
        },
        fields,
        utm: Utm::default(),
        page_url: None,
        referrer: None,
        returning: false,
        previous_lead_id: None,
        classification: None,
        assignment: None,
    }
}

fn seen<'t>(tests: impl Iterator<Item = TestView<'t>>) -> Vec<Shown> {
    tests
        .map(|t| Shown {
            held: t.held(),
            inner: seen(t.inner()),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The same condition as a scoring entry and as a rule: both decide as the model does,
    /// and both traces show the model's tests.
    #[test]
    fn nested_conditions_decide_and_explain_as_boolean_logic_says(t in table(), f in facts()) {
        let when = t.toml();
        let file = format!(
            "levels = [\"junior\"]\ntimezone = \"Europe/Moscow\"\n\n[[managers]]\nid = \"ivan\"\nname = \"Иван\"\nlevel = \"junior\"\nhours = \"mon-sun 00:00-24:00\"\n\n\
             [[scoring]]\nname = \"s\"\nwhen = {when}\npoints = 1\n\n\
             [[rules]]\nname = \"r\"\nwhen = {when}\nlevel = \"junior\"\n\n\
             [[rules]]\nname = \"default\"\nlevel = \"junior\"\n"
        );
        let rules = CompiledRules::from_toml("routing.toml", &file, Path::new("."))
            .unwrap_or_else(|e| panic!("{e}\n{file}"));
        let open = Default::default();
        let state = StrategyState::default();
        let l = lead(&f);
        let ctx = RoutingContext {
            now: l.received_at,
            open_leads: &open,
            previous_manager: None,
            state: &state,
            exclude: &[],
        };
        let d = rules.decide(&l, &ctx);
        let (held, shown) = t.eval(&f);
        for e in d.trace.scoring().chain(d.trace.rules().take(1)) {
            prop_assert_eq!(e.matched(), held, "{} on {:?}", when, f);
            prop_assert_eq!(&seen(e.tests()), &shown, "{} on {:?}", when, f);
        }
        prop_assert_eq!(d.classification.rule == "r", held);
        prop_assert_eq!(d.classification.score, i64::from(held));
    }
}
