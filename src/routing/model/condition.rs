//! Conditions as compiled: a small typed vocabulary of tests, each evaluated (in
//! `routing::eval`) into a step of the decision's record that says whether it held and what
//! was found.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::hours::Period;
use super::steps::{Found, Leaf, Steps};
use super::suppress::SuppressList;
use super::words::Match;
use crate::lead::{Channel, Lead};

/// A part of the lead a field test reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldRef {
    /// A key of `fields` (what the person gave besides contacts and text).
    Field(String),
    /// One of the UTM tags.
    Utm(&'static str),
    /// The page the lead came from.
    PageUrl,
    /// The page before that.
    Referrer,
}

impl FieldRef {
    pub(crate) fn parse(name: &str) -> FieldRef {
        match name {
            "utm_source" => FieldRef::Utm("source"),
            "utm_medium" => FieldRef::Utm("medium"),
            "utm_campaign" => FieldRef::Utm("campaign"),
            "utm_content" => FieldRef::Utm("content"),
            "utm_term" => FieldRef::Utm("term"),
            "page_url" => FieldRef::PageUrl,
            "referrer" => FieldRef::Referrer,
            other => FieldRef::Field(other.to_string()),
        }
    }

    /// The value of a form field (`None` for the lead's own parts).
    pub(crate) fn value<'l>(&self, lead: &'l Lead) -> Option<&'l Value> {
        match self {
            FieldRef::Field(name) => lead.fields.get(name),
            _ => None,
        }
    }
}

/// A field a test reads: its index among the fields the rules read
/// ([`super::rules::CompiledRules::fields`]), so each is read once per decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field(pub(crate) u32);

/// One test of the vocabulary.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// The channel is one of these.
    Channel(Box<[Channel]>),
    /// The source id is one of these.
    Source(Box<[String]>),
    /// One of the phrases appears (a range of [`Conditions::phrases`]), each word meeting the
    /// text's as `how` says (a beginning, the whole word, or a form of it).
    TextContains { start: u32, end: u32, how: Match },
    /// The regex matches the subject and text.
    TextMatches(Box<Regex>),
    /// The field has a value.
    FieldPresent(Field),
    /// The field equals one of these (folded).
    FieldOneOf(Field, Box<[String]>),
    /// The field contains one of these (folded).
    FieldContains(Field, Box<[String]>),
    /// The field's number is at least this.
    FieldAtLeast(Field, f64),
    /// The field's number is at most this.
    FieldAtMost(Field, f64),
    /// Has (or has not) a phone.
    HasPhone(bool),
    /// Has (or has not) an e-mail.
    HasEmail(bool),
    /// Is (or is not) a returning contact.
    Returning(bool),
    /// The scoring phase gave at least this.
    ScoreAtLeast(i64),
    /// Has one of these tags (ids into [`super::rules::CompiledRules::tags`]).
    HasTag(Box<[u32]>),
    /// Received on one of these weekdays (business time zone).
    ReceivedOn([bool; 7]),
    /// Received within these hours (business time zone).
    ReceivedBetween(Period),
    /// Received (or not) on a day of the holiday calendar.
    ReceivedOnHoliday(bool),
    /// A contact of the lead is in the suppression list.
    ContactInList(Arc<SuppressList>),
    /// One of the conditions holds: a range of [`Conditions::options`].
    Any(u32, u32),
    /// The condition does not hold.
    Not(Condition),
}

/// Tests that must all hold: a range of [`Conditions::tests`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Condition {
    start: u32,
    end: u32,
}

/// The condition of a scoring entry or rule: its tests as written (for the trace) and where
/// its program starts in [`Conditions::ops`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct When {
    pub(crate) condition: Condition,
    /// Where the program starts in [`Conditions::ops`].
    pub(crate) pc: u32,
}

/// No tests: always holds (the default rule).
impl Default for When {
    fn default() -> When {
        When {
            condition: Condition::default(),
            pc: HOLDS,
        }
    }
}

/// One step of a program: evaluate a leaf test, then go on where its result says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    /// An index into [`Conditions::tests`], or [`ALWAYS`].
    pub(crate) test: u32,
    /// The next op when the test holds.
    pub(crate) on_true: u32,
    /// The next op when it does not.
    pub(crate) on_false: u32,
}

/// The program ends: the condition holds.
pub(crate) const HOLDS: u32 = u32::MAX;
/// The program ends: the condition does not hold.
const FAILS: u32 = u32::MAX - 1;
/// An op that tests nothing and goes on as if true (an empty condition inside `not`).
const ALWAYS: u32 = u32::MAX;
/// Jump targets not known yet while a program is emitted (see [`Conditions::emit`]).
const PENDING: u32 = u32::MAX - 1_000_000;

/// The tests of every condition of the rules in one list (and the options of every `any`
/// in another). Each test and option carries the node id of its text as written
/// ([`super::record::Explain::tests`]).
///
/// A decision does not walk that tree: each condition is also compiled into a branch
/// program over its leaf tests (`ops`, in evaluation order), where `any` and `not` are only
/// jump targets. The decision records the leaf results, and the trace's nesting is rebuilt
/// from the tree only when it is shown or stored ([`Conditions::replay`]).
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    /// Every test, with the node id of its text as written.
    pub(crate) tests: Vec<(u32, Test)>,
    options: Vec<(u32, Condition)>,
    /// Every condition's program.
    pub(crate) ops: Vec<Op>,
    /// The next placeholder for a jump target (counts down from [`PENDING`]).
    pending: u32,
    /// The phrases of every text test: each is its length, then its words' ids in
    /// [`super::words::WordIndex`].
    phrases: Vec<u32>,
}

impl Conditions {
    /// A condition of these tests.
    pub(crate) fn add(&mut self, tests: Vec<(u32, Test)>) -> Condition {
        let start = self.tests.len() as u32;
        self.tests.extend(tests);
        Condition {
            start,
            end: self.tests.len() as u32,
        }
    }

    /// A `text_contains`, `text_has_word` or `text_mentions` test of these phrases.
    pub(crate) fn text(&mut self, phrases: Vec<Vec<u32>>, how: Match) -> Test {
        let start = self.phrases.len() as u32;
        for p in phrases {
            self.phrases.push(p.len() as u32);
            self.phrases.extend(p);
        }
        let end = self.phrases.len() as u32;
        Test::TextContains { start, end, how }
    }

    /// The phrases of a text test, in order.
    pub(crate) fn phrases(&self, start: u32, end: u32) -> impl Iterator<Item = &[u32]> {
        let mut rest = &self.phrases[start as usize..end as usize];
        std::iter::from_fn(move || {
            let (&n, tail) = rest.split_first()?;
            let (phrase, next) = tail.split_at(n as usize);
            rest = next;
            Some(phrase)
        })
    }

    /// An `any` of these options.
    pub(crate) fn any(&mut self, options: Vec<(u32, Condition)>) -> Test {
        let start = self.options.len() as u32;
        self.options.extend(options);
        Test::Any(start, self.options.len() as u32)
    }

    /// A root condition, compiled into its program.
    pub(crate) fn root(&mut self, condition: Condition) -> When {
        if condition.start == condition.end {
            return When::default();
        }
        let pc = self.ops.len() as u32;
        self.pending = 0;
        self.emit(condition, HOLDS, FAILS);
        When { condition, pc }
    }

    /// A placeholder for the start of what is emitted next, patched by [`Conditions::land`].
    fn placeholder(&mut self) -> u32 {
        self.pending += 1;
        PENDING - self.pending
    }

    /// Points the jumps to `placeholder` emitted since `from` at the next op.
    fn land(&mut self, from: usize, placeholder: u32) {
        let here = self.ops.len() as u32;
        for op in &mut self.ops[from..] {
            for target in [&mut op.on_true, &mut op.on_false] {
                if *target == placeholder {
                    *target = here;
                }
            }
        }
    }

    /// Emits the ops of `condition` in evaluation order: all of its tests hold → `on_true`,
    /// the first that fails → `on_false`.
    fn emit(&mut self, condition: Condition, on_true: u32, on_false: u32) {
        if condition.start == condition.end {
            self.ops.push(Op {
                test: ALWAYS,
                on_true,
                on_false,
            });
            return;
        }
        for i in condition.start..condition.end {
            let last = i + 1 == condition.end;
            let from = self.ops.len();
            let next = if last { on_true } else { self.placeholder() };
            match self.tests[i as usize].1 {
                Test::Any(start, end) => {
                    for j in start..end {
                        let option = self.options[j as usize].1;
                        if j + 1 == end {
                            self.emit(option, next, on_false);
                        } else {
                            let other = self.placeholder();
                            let at = self.ops.len();
                            self.emit(option, next, other);
                            self.land(at, other);
                        }
                    }
                    if start == end {
                        self.emit(Condition::default(), on_false, on_false);
                    }
                }
                Test::Not(inner) => self.emit(inner, on_false, next),
                _ => self.ops.push(Op {
                    test: i,
                    on_true: next,
                    on_false,
                }),
            }
            if !last {
                self.land(from, next);
            }
        }
    }

    /// Rebuilds the nesting of `condition` as evaluated from its leaf results in order, the
    /// way [`When::eval`] walked its program, into `out`; whether it held.
    pub(crate) fn replay(
        &self,
        condition: Condition,
        leaves: &mut impl Iterator<Item = Leaf>,
        out: &mut Steps,
    ) -> bool {
        for i in condition.start..condition.end {
            let (node, ref test) = self.tests[i as usize];
            let held = match *test {
                Test::Any(start, end) => {
                    let at = out.open(node);
                    let mut held = false;
                    for &(option_node, option) in &self.options[start as usize..end as usize] {
                        let option_at = out.open(option_node);
                        let ok = self.replay(option, leaves, out);
                        out.close(option_at, ok, Found::NOTHING);
                        if ok {
                            held = true;
                            break;
                        }
                    }
                    out.close(at, held, Found::NOTHING);
                    held
                }
                Test::Not(inner) => {
                    let at = out.open(node);
                    let held = !self.replay(inner, leaves, out);
                    out.close(at, held, Found::NOTHING);
                    held
                }
                // A leaf of another test would mean the program and the tree disagree: the
                // trace stops there rather than show a result against the wrong test.
                _ => match leaves.next().filter(|leaf| leaf.test() == i) {
                    Some(leaf) => {
                        out.leaf(node, leaf.held(), leaf.found());
                        leaf.held()
                    }
                    None => false,
                },
            };
            if !held {
                return false;
            }
        }
        true
    }
}
