//! Conditions as compiled: a small typed vocabulary of tests, each evaluated into a step of
//! the decision's [`Record`] that says whether it held and what was found.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use regex::Regex;
use serde_json::Value;

use super::hours::Period;
use super::record::{Found, Record};
use super::suppress::SuppressList;
use super::text::{Words, fold};
use super::values::{DateSet, lenient_number};
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

    fn value<'l>(&self, lead: &'l Lead) -> Option<&'l Value> {
        match self {
            FieldRef::Field(name) => lead.fields.get(name),
            _ => None,
        }
    }

    /// The non-empty values (a checkbox list gives several).
    fn texts<'l>(&self, lead: &'l Lead) -> Vec<Cow<'l, str>> {
        let text = |s: &'l Option<String>| s.as_deref().map(Cow::Borrowed).into_iter().collect();
        let mut out: Vec<Cow<'l, str>> = match self {
            FieldRef::Utm(tag) => match *tag {
                "source" => text(&lead.utm.source),
                "medium" => text(&lead.utm.medium),
                "campaign" => text(&lead.utm.campaign),
                "content" => text(&lead.utm.content),
                _ => text(&lead.utm.term),
            },
            FieldRef::PageUrl => text(&lead.page_url),
            FieldRef::Referrer => text(&lead.referrer),
            FieldRef::Field(_) => match self.value(lead) {
                Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
                Some(v) => scalar(v).into_iter().collect(),
                None => Vec::new(),
            },
        };
        out.retain(|s| !s.trim().is_empty());
        out
    }

    /// The first value read as a number.
    fn number(&self, lead: &Lead) -> Option<(f64, String)> {
        if let Some(Value::Number(n)) = self.value(lead) {
            return n.as_f64().map(|f| (f, n.to_string()));
        }
        self.texts(lead)
            .into_iter()
            .find_map(|t| lenient_number(&t).map(|n| (n, t.into_owned())))
    }
}

fn scalar(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// One test of the vocabulary.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// The channel is one of these.
    Channel(Vec<Channel>),
    /// The source id is one of these.
    Source(Vec<String>),
    /// One of the phrases (folded words) appears; `prefix`: words may go on ("опт" → "оптом").
    TextContains {
        phrases: Vec<Vec<String>>,
        prefix: bool,
    },
    /// The regex matches the subject and text.
    TextMatches(Regex),
    /// The field has a value.
    FieldPresent(FieldRef),
    /// The field equals one of these (folded).
    FieldOneOf(FieldRef, Vec<String>),
    /// The field contains one of these (folded).
    FieldContains(FieldRef, Vec<String>),
    /// The field's number is at least this.
    FieldAtLeast(FieldRef, f64),
    /// The field's number is at most this.
    FieldAtMost(FieldRef, f64),
    /// Has (or has not) a phone.
    HasPhone(bool),
    /// Has (or has not) an e-mail.
    HasEmail(bool),
    /// Is (or is not) a returning contact.
    Returning(bool),
    /// The scoring phase gave at least this.
    ScoreAtLeast(i64),
    /// Has one of these tags.
    HasTag(Vec<String>),
    /// Received on one of these weekdays (business time zone).
    ReceivedOn([bool; 7]),
    /// Received within these hours (business time zone).
    ReceivedBetween(Period),
    /// Received (or not) on a day of the holiday calendar.
    ReceivedOnHoliday(bool),
    /// A contact of the lead is in the suppression list.
    ContactInList(Arc<SuppressList>),
    /// One of the conditions holds.
    Any(Vec<(u32, Condition)>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

/// Tests that must all hold, each with the node id of its text as written
/// ([`super::record::Explain::tests`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    pub(crate) tests: Vec<(u32, Test)>,
}

/// What every test of one decision reads, computed once per lead.
pub(crate) struct Facts<'a> {
    lead: &'a Lead,
    words: Words,
    haystack: String,
    weekday: usize,
    time: NaiveTime,
    holiday: bool,
    today: NaiveDate,
}

impl<'a> Facts<'a> {
    pub(crate) fn new(
        lead: &'a Lead,
        now: DateTime<Utc>,
        business: Tz,
        holidays: &DateSet,
    ) -> Facts<'a> {
        let haystack = match &lead.subject {
            Some(s) => format!("{s}\n{}", lead.text),
            None => lead.text.clone(),
        };
        let received = lead.received_at.with_timezone(&business);
        Facts {
            lead,
            words: Words::new(&haystack),
            haystack,
            weekday: received.weekday().num_days_from_monday() as usize,
            time: received.time(),
            holiday: holidays.contains(received.date_naive()),
            today: now.with_timezone(&business).date_naive(),
        }
    }
}

/// The score and tags so far, which rules (not scoring entries) may test.
pub(crate) struct Phase<'p> {
    pub(crate) score: i64,
    pub(crate) tags: &'p [String],
}

impl Condition {
    /// Evaluates the tests in order into `rec`, stopping at the first that fails.
    pub(crate) fn eval(&self, f: &Facts<'_>, phase: &Phase<'_>, rec: &mut Record) -> bool {
        for (node, test) in &self.tests {
            let at = rec.open(*node);
            let (held, found) = test.eval(f, phase, rec);
            rec.close(at, held, found);
            if !held {
                return false;
            }
        }
        true
    }
}

fn yes_no(b: bool) -> Found {
    Found::Static(if b { "yes" } else { "no" })
}

impl Test {
    fn eval(&self, f: &Facts<'_>, phase: &Phase<'_>, rec: &mut Record) -> (bool, Found) {
        let lead = f.lead;
        match self {
            Test::Channel(list) => (
                list.contains(&lead.channel),
                Found::Static(lead.channel.as_str()),
            ),
            Test::Source(list) => (list.contains(&lead.source), rec.text(&lead.source)),
            Test::TextContains { phrases, prefix } => {
                match phrases.iter().find_map(|p| f.words.find(p, *prefix)) {
                    Some(w) => (true, rec.found_words(w.split(' '))),
                    None => (false, Found::Nothing),
                }
            }
            Test::TextMatches(re) => match re.find(&f.haystack) {
                Some(m) => (true, rec.text(m.as_str())),
                None => (false, Found::Nothing),
            },
            Test::FieldPresent(field) => {
                let v = field.texts(lead);
                let found = v.first().map_or(Found::Nothing, |s| rec.text(s));
                (!v.is_empty(), found)
            }
            Test::FieldOneOf(field, options) => {
                let v = field.texts(lead);
                let held = v.iter().any(|s| options.contains(&fold(s.trim())));
                (held, first_value(&v, rec))
            }
            Test::FieldContains(field, parts) => {
                let v = field.texts(lead);
                let held = v.iter().any(|s| {
                    let s = fold(s);
                    parts.iter().any(|p| s.contains(p.as_str()))
                });
                (held, first_value(&v, rec))
            }
            Test::FieldAtLeast(field, min) => match field.number(lead) {
                Some((n, raw)) => (n >= *min, rec.number(&raw, n)),
                None => (false, Found::Static("no number")),
            },
            Test::FieldAtMost(field, max) => match field.number(lead) {
                Some((n, raw)) => (n <= *max, rec.number(&raw, n)),
                None => (false, Found::Static("no number")),
            },
            Test::HasPhone(want) => (lead.contact.phones.is_empty() != *want, Found::Nothing),
            Test::HasEmail(want) => (lead.contact.emails.is_empty() != *want, Found::Nothing),
            Test::Returning(want) => (lead.returning == *want, yes_no(lead.returning)),
            Test::ScoreAtLeast(min) => (phase.score >= *min, Found::Score(phase.score)),
            Test::HasTag(tags) => match phase.tags.iter().find(|t| tags.contains(t)) {
                Some(t) => (true, rec.text(t)),
                None => (false, Found::Nothing),
            },
            Test::ReceivedOn(days) => (days[f.weekday], Found::Received),
            Test::ReceivedBetween(period) => (period.contains_time(f.time), Found::Received),
            Test::ReceivedOnHoliday(want) => (f.holiday == *want, yes_no(f.holiday)),
            Test::ContactInList(list) => match list.find(&lead.contact, f.today) {
                Some(k) => (true, rec.text(&format!("{k} is in {}", list.label))),
                None => (false, Found::Nothing),
            },
            Test::Any(options) => {
                let mut held = false;
                for (node, option) in options {
                    let at = rec.open(*node);
                    let ok = option.eval(f, phase, rec);
                    rec.close(at, ok, Found::Nothing);
                    if ok {
                        held = true;
                        break;
                    }
                }
                (held, Found::Nothing)
            }
            Test::Not(cond) => (!cond.eval(f, phase, rec), Found::Nothing),
        }
    }
}

/// The first value of a field for the trace, or `no value`.
fn first_value(values: &[Cow<'_, str>], rec: &mut Record) -> Found {
    values
        .first()
        .map_or(Found::Static("no value"), |s| rec.text(s))
}
