//! Conditions as compiled: a small typed vocabulary of tests, each evaluated into a step of
//! the decision's [`Record`] that says whether it held and what was found.

use std::sync::Arc;

use regex::Regex;
use serde_json::Value;

use super::facts::Facts;
use super::hours::Period;
use super::record::{Found, Record};
use super::suppress::SuppressList;
use super::trace::Label;
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
    /// One of the phrases appears (a range of [`Conditions::phrases`]); `prefix`: words may
    /// go on ("опт" → "оптом").
    TextContains { start: u32, end: u32, prefix: bool },
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

/// The tests of every condition of the rules in one list (and the options of every `any`
/// in another), so that evaluating the rules in order reads memory in order. Each test and
/// option carries the node id of its text as written ([`super::record::Explain::tests`]).
#[derive(Debug, Default)]
pub(crate) struct Conditions {
    tests: Vec<(u32, Test)>,
    options: Vec<(u32, Condition)>,
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

    /// A `text_contains` (`prefix`) or `text_has_word` test of these phrases.
    pub(crate) fn text(&mut self, phrases: Vec<Vec<u32>>, prefix: bool) -> Test {
        let start = self.phrases.len() as u32;
        for p in phrases {
            self.phrases.push(p.len() as u32);
            self.phrases.extend(p);
        }
        let end = self.phrases.len() as u32;
        Test::TextContains { start, end, prefix }
    }

    /// The phrases of a text test, in order.
    fn phrases(&self, start: u32, end: u32) -> impl Iterator<Item = &[u32]> {
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
}

/// The score and tags so far, which rules (not scoring entries) may test.
pub(crate) struct Phase<'p> {
    pub(crate) score: i64,
    /// Ids into `names`, in the order they were added.
    pub(crate) tags: &'p [u32],
    /// Every tag by id.
    pub(crate) names: &'p [Label],
}

impl Condition {
    /// Evaluates the tests in order into `rec`, stopping at the first that fails.
    pub(crate) fn eval(
        self,
        all: &Conditions,
        f: &mut Facts<'_>,
        phase: &Phase<'_>,
        rec: &mut Record,
    ) -> bool {
        for (node, test) in &all.tests[self.start as usize..self.end as usize] {
            let held = match test {
                // Inner tests follow their `any` or `not`.
                Test::Any(..) | Test::Not(_) => {
                    let at = rec.open(*node);
                    let (held, found) = test.eval(all, f, phase, rec);
                    rec.close(at, held, found);
                    held
                }
                _ => {
                    let (held, found) = test.eval(all, f, phase, rec);
                    rec.leaf(*node, held, found);
                    held
                }
            };
            if !held {
                return false;
            }
        }
        true
    }
}

fn yes_no(b: bool, rec: &mut Record) -> Found {
    rec.fixed(if b { "yes" } else { "no" })
}

impl Test {
    fn eval(
        &self,
        all: &Conditions,
        f: &mut Facts<'_>,
        phase: &Phase<'_>,
        rec: &mut Record,
    ) -> (bool, Found) {
        let lead = f.lead;
        match self {
            Test::Channel(list) => (
                list.contains(&lead.channel),
                rec.fixed(lead.channel.as_str()),
            ),
            Test::Source(list) => (list.contains(&lead.source), rec.text(&lead.source)),
            Test::TextContains { start, end, prefix } => {
                let t = f.text();
                let mut phrases = all.phrases(*start, *end);
                match phrases.find_map(|p| t.hits.find(p, *prefix, &t.words)) {
                    Some(at) => (true, rec.found_words(at.map(|i| t.words.word(i)))),
                    None => (false, Found::NOTHING),
                }
            }
            Test::TextMatches(re) => text_matches(re, f, rec),
            Test::ContactInList(list) => in_list(list, f, rec),
            Test::FieldPresent(field) => (f.present(*field), f.first(*field, rec)),
            Test::FieldOneOf(field, options) => {
                let held = f.folded(*field).iter().any(|s| options.contains(s));
                (held, first_value(f, *field, rec))
            }
            Test::FieldContains(field, parts) => {
                let held =
                    (f.folded(*field).iter()).any(|s| parts.iter().any(|p| s.contains(p.as_str())));
                (held, first_value(f, *field, rec))
            }
            Test::FieldAtLeast(field, min) => match f.number(*field, rec) {
                Some((n, found)) => (n >= *min, found),
                None => (false, rec.fixed("no number")),
            },
            Test::FieldAtMost(field, max) => match f.number(*field, rec) {
                Some((n, found)) => (n <= *max, found),
                None => (false, rec.fixed("no number")),
            },
            Test::HasPhone(want) => (lead.contact.phones.is_empty() != *want, Found::NOTHING),
            Test::HasEmail(want) => (lead.contact.emails.is_empty() != *want, Found::NOTHING),
            Test::Returning(want) => (lead.returning == *want, yes_no(lead.returning, rec)),
            Test::ScoreAtLeast(min) => (phase.score >= *min, rec.score(phase.score)),
            Test::HasTag(tags) => match phase.tags.iter().find(|t| tags.contains(t)) {
                Some(&t) => (true, rec.text(phase.names[t as usize].as_str())),
                None => (false, Found::NOTHING),
            },
            Test::ReceivedOn(days) => (days[f.received().weekday], rec.received()),
            Test::ReceivedBetween(period) => {
                (period.contains_time(f.received().time), rec.received())
            }
            Test::ReceivedOnHoliday(want) => {
                let holiday = f.received().holiday;
                (holiday == *want, yes_no(holiday, rec))
            }
            Test::Any(start, end) => {
                let mut held = false;
                for &(node, option) in &all.options[*start as usize..*end as usize] {
                    let at = rec.open(node);
                    let ok = option.eval(all, f, phase, rec);
                    rec.close(at, ok, Found::NOTHING);
                    if ok {
                        held = true;
                        break;
                    }
                }
                (held, Found::NOTHING)
            }
            Test::Not(cond) => (!cond.eval(all, f, phase, rec), Found::NOTHING),
        }
    }
}

// The tests with a regular expression or a list lookup are out of line, so that the code
// of the light tests stays small.

#[inline(never)]
fn text_matches(re: &Regex, f: &mut Facts<'_>, rec: &mut Record) -> (bool, Found) {
    match re.find(f.haystack()) {
        Some(m) => (true, rec.text(m.as_str())),
        None => (false, Found::NOTHING),
    }
}

#[inline(never)]
fn in_list(list: &SuppressList, f: &mut Facts<'_>, rec: &mut Record) -> (bool, Found) {
    match list.find(&f.lead.contact, f.today()) {
        Some(k) => (true, rec.text(&format!("{k} is in {}", list.label))),
        None => (false, Found::NOTHING),
    }
}

/// The first value of a field for the trace, or `no value`.
fn first_value(f: &mut Facts<'_>, field: Field, rec: &mut Record) -> Found {
    match f.first(field, rec) {
        Found::NOTHING => rec.fixed("no value"),
        found => found,
    }
}
