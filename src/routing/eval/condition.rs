//! Conditions evaluated: a condition's branch program run on the lead's facts, each leaf
//! test recorded in the decision's [`Record`] with whether it held and what was found.

use regex::Regex;

use super::facts::Facts;
use crate::routing::model::condition::{Conditions, Field, HOLDS, Test, When};
use crate::routing::model::label::Label;
use crate::routing::model::record::Record;
use crate::routing::model::steps::Found;
use crate::routing::model::suppress::SuppressList;

/// The score and tags so far, which rules (not scoring entries) may test.
pub(crate) struct Phase<'p> {
    pub(crate) score: i64,
    /// Ids into `names`, in the order they were added.
    pub(crate) tags: &'p [u32],
    /// Every tag by id.
    pub(crate) names: &'p [Label],
}

impl When {
    /// Runs the condition's program on the lead, recording each leaf test it evaluates.
    pub(crate) fn eval(
        self,
        all: &Conditions,
        f: &mut Facts<'_>,
        phase: &Phase<'_>,
        rec: &mut Record,
    ) -> bool {
        let mut pc = self.pc;
        while let Some(op) = all.ops.get(pc as usize) {
            let held = match all.tests.get(op.test as usize) {
                Some((_, test)) => {
                    let (held, found) = test.eval(f, all, phase, rec);
                    rec.leaf(op.test, held, found);
                    held
                }
                None => true,
            };
            pc = if held { op.on_true } else { op.on_false };
        }
        pc == HOLDS
    }
}

fn yes_no(b: bool) -> Found {
    if b { Found::YES } else { Found::NO }
}

impl Test {
    /// Evaluates a leaf test (`any` and `not` are the program's jumps, never evaluated).
    #[inline]
    fn eval(
        &self,
        f: &mut Facts<'_>,
        all: &Conditions,
        phase: &Phase<'_>,
        rec: &mut Record,
    ) -> (bool, Found) {
        let lead = f.lead;
        match self {
            Test::Channel(list) => (list.contains(&lead.channel), Found::channel(lead.channel)),
            Test::Source(list) => (list.contains(&lead.source), rec.text(&lead.source)),
            Test::TextContains { start, end, how } => {
                let t = f.text();
                let mut phrases = all.phrases(*start, *end);
                match phrases.find_map(|p| t.hits.find(p, *how, &t.words)) {
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
                None => (false, Found::NO_NUMBER),
            },
            Test::FieldAtMost(field, max) => match f.number(*field, rec) {
                Some((n, found)) => (n <= *max, found),
                None => (false, Found::NO_NUMBER),
            },
            Test::HasPhone(want) => (lead.contact.phones.is_empty() != *want, Found::NOTHING),
            Test::HasEmail(want) => (lead.contact.emails.is_empty() != *want, Found::NOTHING),
            Test::Returning(want) => (lead.returning == *want, yes_no(lead.returning)),
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
                (holiday == *want, yes_no(holiday))
            }
            Test::Any(..) | Test::Not(_) => (false, Found::NOTHING),
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
        Found::NOTHING => Found::NO_VALUE,
        found => found,
    }
}
