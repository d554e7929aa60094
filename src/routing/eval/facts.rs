//! What the tests of one decision read from the lead, worked out once per decision and only
//! when a test first asks: the folded words and which of the rules' words they hold, each
//! field's values, folded values and number, and the time received in the business time zone.

use std::borrow::Cow;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde_json::Value;

use crate::lead::Lead;
use crate::routing::model::condition::{Field, FieldRef};
use crate::routing::model::record::Record;
use crate::routing::model::steps::Found;
use crate::routing::model::text::{Words, fold};
use crate::routing::model::values::{DateSet, lenient_number};
use crate::routing::model::words::{Hits, WordIndex};

/// The rules' side of a decision's facts.
#[derive(Clone, Copy)]
pub(crate) struct Setting<'r> {
    pub(crate) business: Tz,
    pub(crate) holidays: &'r DateSet,
    pub(crate) words: &'r WordIndex,
    /// Every field the rules read, by id.
    pub(crate) fields: &'r [FieldRef],
}

/// The lead's words and which of the rules' words they hold.
pub(crate) struct Text {
    pub(crate) words: Words,
    pub(crate) hits: Hits,
}

/// When the lead came, in the business time zone.
#[derive(Clone, Copy)]
pub(crate) struct Received {
    pub(crate) weekday: usize,
    pub(crate) time: NaiveTime,
    pub(crate) holiday: bool,
}

/// One field of the lead, as the tests read it.
struct FieldFacts<'a> {
    /// The non-empty values (a checkbox list gives several).
    texts: Vec<Cow<'a, str>>,
    /// The values trimmed and folded, once a test compares them.
    folded: Option<Vec<String>>,
    /// The first value as the trace shows it, once kept.
    first: Option<Found>,
    /// The first value read as a number, once read.
    number: Option<Option<(f64, Found)>>,
}

/// Everything the tests of one decision read, computed on first use.
pub(crate) struct Facts<'a> {
    pub(crate) lead: &'a Lead,
    now: DateTime<Utc>,
    setting: Setting<'a>,
    text: Option<Text>,
    haystack: Option<String>,
    received: Option<Received>,
    today: Option<NaiveDate>,
    fields: Vec<Option<FieldFacts<'a>>>,
}

impl<'a> Facts<'a> {
    /// The facts of `lead`, decided at `now`; nothing is worked out yet.
    pub(crate) fn new(lead: &'a Lead, now: DateTime<Utc>, setting: Setting<'a>) -> Facts<'a> {
        let mut fields = Vec::new();
        fields.resize_with(setting.fields.len(), || None);
        Facts {
            lead,
            now,
            setting,
            text: None,
            haystack: None,
            received: None,
            today: None,
            fields,
        }
    }

    /// The folded words of the subject and text, and where the rules' words are among them.
    #[inline]
    pub(crate) fn text(&mut self) -> &Text {
        let (lead, index) = (self.lead, self.setting.words);
        self.text.get_or_insert_with(|| {
            let subject = lead.subject.as_deref();
            let words = Words::new(subject.into_iter().chain([lead.text.as_str()]));
            let hits = index.scan(&words);
            Text { words, hits }
        })
    }

    /// The subject and the text, one line apart, for regular expressions.
    pub(crate) fn haystack(&mut self) -> &str {
        let lead = self.lead;
        self.haystack.get_or_insert_with(|| match &lead.subject {
            Some(s) => format!("{s}\n{}", lead.text),
            None => lead.text.clone(),
        })
    }

    /// The time received, in the business time zone.
    pub(crate) fn received(&mut self) -> Received {
        let (lead, s) = (self.lead, self.setting);
        *self.received.get_or_insert_with(|| {
            let local = lead.received_at.with_timezone(&s.business);
            Received {
                weekday: local.weekday().num_days_from_monday() as usize,
                time: local.time(),
                holiday: s.holidays.contains(local.date_naive()),
            }
        })
    }

    /// Today in the business time zone.
    pub(crate) fn today(&mut self) -> NaiveDate {
        let (now, tz) = (self.now, self.setting.business);
        *self
            .today
            .get_or_insert_with(|| now.with_timezone(&tz).date_naive())
    }

    #[inline]
    fn field(&mut self, field: Field) -> &mut FieldFacts<'a> {
        let (lead, what) = (self.lead, &self.setting.fields[field.0 as usize]);
        self.fields[field.0 as usize].get_or_insert_with(|| FieldFacts {
            texts: texts(what, lead),
            folded: None,
            first: None,
            number: None,
        })
    }

    /// Whether the field has a value.
    #[inline]
    pub(crate) fn present(&mut self, field: Field) -> bool {
        !self.field(field).texts.is_empty()
    }

    /// The field's first value as the trace shows it, or `Nothing` when it has none.
    #[inline]
    pub(crate) fn first(&mut self, field: Field, rec: &mut Record) -> Found {
        let f = self.field(field);
        *f.first.get_or_insert_with(|| match f.texts.first() {
            Some(s) => rec.text(s),
            None => Found::NOTHING,
        })
    }

    /// The field's values, trimmed and folded.
    #[inline]
    pub(crate) fn folded(&mut self, field: Field) -> &[String] {
        let f = self.field(field);
        f.folded
            .get_or_insert_with(|| f.texts.iter().map(|s| fold(s.trim())).collect())
    }

    /// The field's first value that reads as a number, with how the trace shows it.
    #[inline]
    pub(crate) fn number(&mut self, field: Field, rec: &mut Record) -> Option<(f64, Found)> {
        let (lead, what) = (self.lead, &self.setting.fields[field.0 as usize]);
        let f = self.field(field);
        *f.number.get_or_insert_with(|| {
            let (n, raw) = match what.value(lead) {
                Some(Value::Number(n)) => (n.as_f64()?, Cow::Owned(n.to_string())),
                _ => f
                    .texts
                    .iter()
                    .find_map(|t| lenient_number(t).map(|n| (n, t.clone())))?,
            };
            Some((n, rec.number(&raw, n)))
        })
    }
}

/// The non-empty values of a field (a checkbox list gives several).
fn texts<'l>(field: &FieldRef, lead: &'l Lead) -> Vec<Cow<'l, str>> {
    let text = |s: &'l Option<String>| s.as_deref().map(Cow::Borrowed).into_iter().collect();
    let mut out: Vec<Cow<'l, str>> = match field {
        FieldRef::Utm(tag) => match *tag {
            "source" => text(&lead.utm.source),
            "medium" => text(&lead.utm.medium),
            "campaign" => text(&lead.utm.campaign),
            "content" => text(&lead.utm.content),
            _ => text(&lead.utm.term),
        },
        FieldRef::PageUrl => text(&lead.page_url),
        FieldRef::Referrer => text(&lead.referrer),
        FieldRef::Field(_) => match field.value(lead) {
            Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
            Some(v) => scalar(v).into_iter().collect(),
            None => Vec::new(),
        },
    };
    out.retain(|s| !s.trim().is_empty());
    out
}

fn scalar(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}
