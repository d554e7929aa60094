//! Conditions as compiled: a small typed vocabulary of tests, each evaluated into a
//! [`TestTrace`] that says whether it held and what was found.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use regex::Regex;
use serde_json::Value;

use super::hours::Period;
use super::suppress::SuppressList;
use super::text::{Words, fold};
use super::trace::{Label, TestTrace};
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
    Any(Vec<(Label, Condition)>),
    /// The condition does not hold.
    Not(Box<Condition>),
}

/// Tests that must all hold, each with its text as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Condition {
    pub(crate) tests: Vec<(Label, Test)>,
}

/// What every test of one decision reads, computed once per lead.
pub(crate) struct Facts<'a> {
    lead: &'a Lead,
    words: Words,
    haystack: String,
    weekday: usize,
    time: NaiveTime,
    local: String,
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
            local: received.format("%a %Y-%m-%d %H:%M %Z").to_string(),
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

const SHOWN: usize = 80;

fn shown(s: &str) -> Cow<'static, str> {
    if s.chars().count() <= SHOWN {
        Cow::Owned(s.to_string())
    } else {
        Cow::Owned(format!("{}…", s.chars().take(SHOWN).collect::<String>()))
    }
}

fn yes_no(b: bool) -> Option<Cow<'static, str>> {
    Some(Cow::Borrowed(if b { "yes" } else { "no" }))
}

impl Condition {
    /// Evaluates the tests in order, stopping at the first that fails.
    pub(crate) fn eval(&self, f: &Facts<'_>, phase: &Phase<'_>) -> (bool, Vec<TestTrace>) {
        let mut traces = Vec::with_capacity(self.tests.len());
        for (label, test) in &self.tests {
            let (held, found, inner) = test.eval(f, phase);
            traces.push(TestTrace {
                test: label.clone(),
                held,
                found,
                inner,
            });
            if !held {
                return (false, traces);
            }
        }
        (true, traces)
    }
}

type Outcome = (bool, Option<Cow<'static, str>>, Vec<TestTrace>);

impl Test {
    fn eval(&self, f: &Facts<'_>, phase: &Phase<'_>) -> Outcome {
        let lead = f.lead;
        let plain = |held: bool, found: Option<Cow<'static, str>>| (held, found, Vec::new());
        match self {
            Test::Channel(list) => plain(
                list.contains(&lead.channel),
                Some(Cow::Borrowed(lead.channel.as_str())),
            ),
            Test::Source(list) => plain(list.contains(&lead.source), Some(shown(&lead.source))),
            Test::TextContains { phrases, prefix } => {
                let found = phrases.iter().find_map(|p| f.words.find(p, *prefix));
                plain(
                    found.is_some(),
                    found.map(|w| Cow::Owned(format!("found \"{w}\""))),
                )
            }
            Test::TextMatches(re) => {
                let m = re.find(&f.haystack);
                plain(m.is_some(), m.map(|m| shown(m.as_str())))
            }
            Test::FieldPresent(field) => {
                let v = field.texts(lead);
                plain(!v.is_empty(), v.first().map(|s| shown(s)))
            }
            Test::FieldOneOf(field, options) => {
                let v = field.texts(lead);
                let held = v.iter().any(|s| options.contains(&fold(s.trim())));
                plain(
                    held,
                    Some(v.first().map_or(Cow::Borrowed("no value"), |s| shown(s))),
                )
            }
            Test::FieldContains(field, parts) => {
                let v = field.texts(lead);
                let held = v.iter().any(|s| {
                    let s = fold(s);
                    parts.iter().any(|p| s.contains(p.as_str()))
                });
                plain(
                    held,
                    Some(v.first().map_or(Cow::Borrowed("no value"), |s| shown(s))),
                )
            }
            Test::FieldAtLeast(field, min) => match field.number(lead) {
                Some((n, raw)) => plain(n >= *min, Some(Cow::Owned(format!("{raw} = {n}")))),
                None => plain(false, Some(Cow::Borrowed("no number"))),
            },
            Test::FieldAtMost(field, max) => match field.number(lead) {
                Some((n, raw)) => plain(n <= *max, Some(Cow::Owned(format!("{raw} = {n}")))),
                None => plain(false, Some(Cow::Borrowed("no number"))),
            },
            Test::HasPhone(want) => plain(lead.contact.phones.is_empty() != *want, None),
            Test::HasEmail(want) => plain(lead.contact.emails.is_empty() != *want, None),
            Test::Returning(want) => plain(lead.returning == *want, yes_no(lead.returning)),
            Test::ScoreAtLeast(min) => plain(
                phase.score >= *min,
                Some(Cow::Owned(format!("score {}", phase.score))),
            ),
            Test::HasTag(tags) => {
                let found = phase.tags.iter().find(|t| tags.contains(t));
                plain(found.is_some(), found.map(|t| shown(t)))
            }
            Test::ReceivedOn(days) => plain(days[f.weekday], Some(shown(&f.local))),
            Test::ReceivedBetween(period) => {
                plain(period.contains_time(f.time), Some(shown(&f.local)))
            }
            Test::ReceivedOnHoliday(want) => plain(f.holiday == *want, yes_no(f.holiday)),
            Test::ContactInList(list) => {
                let found = list.find(&lead.contact, f.today);
                let held = found.is_some();
                plain(
                    held,
                    found.map(|k| Cow::Owned(format!("{k} is in {}", list.label))),
                )
            }
            Test::Any(options) => {
                let mut inner = Vec::with_capacity(options.len());
                let mut held = false;
                for (label, option) in options {
                    let (ok, tests) = option.eval(f, phase);
                    inner.push(TestTrace {
                        test: label.clone(),
                        held: ok,
                        found: None,
                        inner: tests,
                    });
                    if ok {
                        held = true;
                        break;
                    }
                }
                (held, None, inner)
            }
            Test::Not(cond) => {
                let (ok, tests) = cond.eval(f, phase);
                (!ok, None, tests)
            }
        }
    }
}
