//! The compact record of a decision's scoring entries and rules: one flat list of the leaf
//! tests evaluated, by index into the compiled conditions, and one string for what was found
//! in the lead. The nesting of `any` and `not` is replayed from the conditions' tree, and
//! text made, only when a trace is shown or stored, so a decision evaluates hundreds of
//! conditions without allocating for each.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::condition::{Condition, Conditions};
use super::label::Label;
use super::steps::{Found, HELD, Leaf, Step, Steps};

/// What a record refers to by index: every test as written, every entry, and the conditions'
/// tree, from which a record's nesting is rebuilt.
#[derive(Debug, Default)]
pub(crate) struct Explain {
    /// Each test and `any` option as written, by node id.
    pub(crate) tests: Vec<String>,
    /// The scoring entries, then the rules (the default rule last).
    pub(crate) entries: Vec<EntryInfo>,
    /// The compiled conditions the entries' `when` point into.
    pub(crate) conditions: Conditions,
}

/// A scoring entry or rule as the trace names it.
#[derive(Debug)]
pub(crate) struct EntryInfo {
    pub(crate) name: Label,
    pub(crate) line: usize,
    /// The points a scoring entry adds (0 for rules).
    pub(crate) points: i64,
    /// Its condition's tests (none for the default rule and for a stored trace read back).
    pub(crate) when: Condition,
}

/// What a [`Found`] stands for.
#[derive(Debug, Clone, Copy)]
enum Payload {
    /// A range of the record's text.
    Text(u32, u32),
    /// A number read from a field: the field's text (a range) and the value.
    Number(u32, u32, f64),
    /// The score so far.
    Score(i64),
    /// The time the lead came, in the business time zone.
    Received,
}

/// One entry evaluated: its index in [`Explain::entries`] and its leaves (while the record
/// is as decided) or steps (in its [`View`]).
#[derive(Debug, Clone, Copy)]
struct EntryRec {
    entry: u32,
    matched: bool,
    start: u32,
    end: u32,
}

/// A record's tests with their nesting, and its entries over them.
#[derive(Debug, Clone)]
struct View {
    steps: Vec<Step>,
    entries: Vec<EntryRec>,
}

/// The scoring entries and rules of one decision, as evaluated.
#[derive(Clone)]
pub(crate) struct Record {
    explain: Arc<Explain>,
    /// The leaf tests in the order evaluated.
    leaves: Vec<Leaf>,
    /// The entries over `leaves`.
    entries: Vec<EntryRec>,
    /// The same with their nesting, made when first shown.
    view: OnceLock<View>,
    /// What the tests found, by [`Found`]; tests that read the same fact share one.
    found: Vec<Payload>,
    /// The received time once kept, so it is kept once.
    received_at: Option<Found>,
    /// How many of `entries` are scoring entries (the rest are rules).
    scoring: usize,
    text: String,
    /// When the lead came, and the business time zone, for [`Payload::Received`].
    received: DateTime<Utc>,
    tz: Tz,
}

const SHOWN: usize = 80;

/// At most [`SHOWN`] characters of `s`, with `…` when cut.
fn shown(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(SHOWN) {
        None => Cow::Borrowed(s),
        Some((cut, _)) => Cow::Owned(format!("{}…", &s[..cut])),
    }
}

impl Record {
    /// An empty record for a decision on a lead received at `received`.
    pub(crate) fn new(explain: Arc<Explain>, received: DateTime<Utc>, tz: Tz) -> Record {
        let leaves = Vec::with_capacity(explain.tests.len());
        let entries = Vec::with_capacity(explain.entries.len());
        Record {
            explain,
            leaves,
            entries,
            view: OnceLock::new(),
            found: Vec::new(),
            received_at: None,
            scoring: 0,
            text: String::new(),
            received,
            tz,
        }
    }

    /// Records a leaf test (an index into the conditions' tests) as evaluated.
    #[inline]
    pub(crate) fn leaf(&mut self, test: u32, held: bool, found: Found) {
        let test = if held { test | HELD } else { test };
        self.leaves.push(Leaf { test, found });
    }

    #[inline]
    fn keep(&mut self, what: Payload) -> Found {
        self.found.push(what);
        Found(self.found.len() as u32 - 1)
    }

    /// The time received, which the trace shows in the business time zone.
    pub(crate) fn received(&mut self) -> Found {
        match self.received_at {
            Some(f) => f,
            None => {
                let f = self.keep(Payload::Received);
                self.received_at = Some(f);
                f
            }
        }
    }

    /// The score so far.
    pub(crate) fn score(&mut self, n: i64) -> Found {
        self.keep(Payload::Score(n))
    }

    /// Keeps (at most [`SHOWN`] characters of) a text from the lead for the trace.
    pub(crate) fn text(&mut self, s: &str) -> Found {
        let start = self.text.len() as u32;
        self.text.push_str(&shown(s));
        self.keep(Payload::Text(start, self.text.len() as u32))
    }

    /// Keeps the words of the lead a text test found: `found "коммерческое предложение"`.
    pub(crate) fn found_words<'w>(&mut self, words: impl Iterator<Item = &'w str>) -> Found {
        let start = self.text.len() as u32;
        self.text.push_str("found \"");
        for (i, w) in words.enumerate() {
            if i > 0 {
                self.text.push(' ');
            }
            self.text.push_str(w);
        }
        self.text.push('"');
        self.keep(Payload::Text(start, self.text.len() as u32))
    }

    /// Keeps a number read from a field's text.
    pub(crate) fn number(&mut self, raw: &str, n: f64) -> Found {
        let start = self.text.len() as u32;
        self.text.push_str(raw);
        self.keep(Payload::Number(start, self.text.len() as u32, n))
    }

    /// The number of leaves so far: where the next entry's leaves start.
    #[inline]
    pub(crate) fn mark(&self) -> usize {
        self.leaves.len()
    }

    /// Records entry `entry` (an index into [`Explain::entries`]) as evaluated by the leaves
    /// since `start`; `scoring` while the scoring entries are recorded.
    #[inline]
    pub(crate) fn entry(&mut self, entry: usize, start: usize, matched: bool, scoring: bool) {
        self.entries.push(EntryRec {
            entry: entry as u32,
            matched,
            start: start as u32,
            end: self.leaves.len() as u32,
        });
        if scoring {
            self.scoring = self.entries.len();
        }
    }

    /// The tests with their nesting, replayed from the leaves on first use.
    fn view(&self) -> &View {
        self.view.get_or_init(|| {
            let mut out = Steps::default();
            let entries = self
                .entries
                .iter()
                .map(|e| {
                    let start = out.steps.len() as u32;
                    let when = self.explain.entries[e.entry as usize].when;
                    let mut leaves = self.leaves[e.start as usize..e.end as usize]
                        .iter()
                        .copied();
                    self.explain.conditions.replay(when, &mut leaves, &mut out);
                    EntryRec {
                        start,
                        end: out.steps.len() as u32,
                        ..*e
                    }
                })
                .collect();
            View {
                steps: out.steps,
                entries,
            }
        })
    }

    /// The scoring entries.
    pub(crate) fn scoring(&self) -> impl ExactSizeIterator<Item = EntryView<'_>> + Clone {
        self.view().entries[..self.scoring]
            .iter()
            .map(|&e| EntryView {
                record: self,
                entry: e,
            })
    }

    /// The rules, up to the one that matched.
    pub(crate) fn rules(&self) -> impl ExactSizeIterator<Item = EntryView<'_>> + Clone {
        self.view().entries[self.scoring..]
            .iter()
            .map(|&e| EntryView {
                record: self,
                entry: e,
            })
    }

    fn render(&self, found: Found) -> Option<Cow<'_, str>> {
        if let Some(s) = found.fixed() {
            return Some(Cow::Borrowed(s));
        }
        let text = |a: u32, b: u32| &self.text[a as usize..b as usize];
        Some(match *self.found.get(found.0 as usize)? {
            Payload::Text(a, b) => Cow::Borrowed(text(a, b)),
            Payload::Number(a, b, n) => Cow::Owned(format!("{} = {n}", text(a, b))),
            Payload::Score(n) => Cow::Owned(format!("score {n}")),
            Payload::Received => {
                let local = self.received.with_timezone(&self.tz);
                let local = local.format("%a %Y-%m-%d %H:%M %Z").to_string();
                Cow::Owned(shown(&local).into_owned())
            }
        })
    }
}

/// Builds a record from entries already rendered (a stored trace read back).
pub(crate) struct Rebuild {
    explain: Explain,
    record: Record,
    steps: Steps,
    entries: Vec<EntryRec>,
}

impl Rebuild {
    /// An empty record.
    pub(crate) fn new() -> Rebuild {
        let tz = Tz::UTC;
        Rebuild {
            explain: Explain::default(),
            record: Record::new(Arc::default(), DateTime::<Utc>::UNIX_EPOCH, tz),
            steps: Steps::default(),
            entries: Vec::new(),
        }
    }

    /// Starts a test as written; its inner tests follow until [`Rebuild::close`].
    pub(crate) fn open(&mut self, test: String) -> usize {
        self.explain.tests.push(test);
        self.steps.open(self.explain.tests.len() as u32 - 1)
    }

    /// Ends the test started at `at`.
    pub(crate) fn close(&mut self, at: usize, held: bool, found: Option<&str>) {
        let found = match found {
            None => Found::NOTHING,
            Some(s) => {
                let start = self.record.text.len() as u32;
                self.record.text.push_str(s);
                let end = self.record.text.len() as u32;
                self.record.keep(Payload::Text(start, end))
            }
        };
        self.steps.close(at, held, found);
    }

    /// The number of steps so far: where the next entry's steps start.
    pub(crate) fn mark(&self) -> usize {
        self.steps.steps.len()
    }

    /// Ends an entry whose steps began at `start`.
    pub(crate) fn entry(&mut self, info: EntryInfo, start: usize, matched: bool, scoring: bool) {
        self.explain.entries.push(info);
        self.entries.push(EntryRec {
            entry: self.explain.entries.len() as u32 - 1,
            matched,
            start: start as u32,
            end: self.steps.steps.len() as u32,
        });
        if scoring {
            self.record.scoring = self.entries.len();
        }
    }

    /// The record.
    pub(crate) fn finish(self) -> Record {
        let view = View {
            steps: self.steps.steps,
            entries: self.entries,
        };
        Record {
            explain: Arc::new(self.explain),
            view: OnceLock::from(view),
            ..self.record
        }
    }
}

/// A record by index, as stored with each lead: `[entry, matched, first step, end]` per
/// entry, `[test, held, found + 1 (0 for nothing), inner steps]` per test, and what the tests
/// found as text. The tests and entries it points at are the rules version's
/// [`RulesTexts`], stored once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexedRecord {
    /// How many of `entries` are scoring entries.
    scoring: u32,
    entries: Vec<[u32; 4]>,
    steps: Vec<[u32; 4]>,
    found: Vec<String>,
}

/// The texts of one rules version that stored records point into: every test as written and
/// every entry's name, line and points.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RulesTexts {
    tests: Vec<String>,
    entries: Vec<(String, usize, i64)>,
}

impl Explain {
    /// The texts stored records point into.
    pub(crate) fn texts(&self) -> RulesTexts {
        RulesTexts {
            tests: self.tests.clone(),
            entries: self
                .entries
                .iter()
                .map(|e| (e.name.as_str().to_string(), e.line, e.points))
                .collect(),
        }
    }
}

impl Record {
    /// The record by index, with what the tests found rendered once.
    pub(crate) fn indexed(&self) -> IndexedRecord {
        let view = self.view();
        let mut found = Vec::new();
        let mut seen: std::collections::HashMap<Cow<'_, str>, u32> =
            std::collections::HashMap::new();
        let steps = view
            .steps
            .iter()
            .map(|s| {
                let f = match self.render(s.found) {
                    None => 0,
                    Some(text) => *seen.entry(text).or_insert_with_key(|t| {
                        found.push(t.to_string());
                        found.len() as u32
                    }),
                };
                [s.node, u32::from(s.held), f, s.len]
            })
            .collect();
        IndexedRecord {
            scoring: self.scoring as u32,
            entries: view
                .entries
                .iter()
                .map(|e| [e.entry, u32::from(e.matched), e.start, e.end])
                .collect(),
            steps,
            found,
        }
    }
}

impl IndexedRecord {
    /// The record again, over the rules version's texts; refused when an index points
    /// outside them (texts of another version, or a damaged row).
    pub(crate) fn restore(self, texts: RulesTexts) -> Result<Record, String> {
        let (n_tests, n_entries, n_steps) =
            (texts.tests.len(), texts.entries.len(), self.steps.len());
        if self.scoring as usize > self.entries.len() {
            return Err(format!(
                "{} scoring entries of {}",
                self.scoring,
                self.entries.len()
            ));
        }
        let mut entries = Vec::with_capacity(self.entries.len());
        for [entry, matched, start, end] in self.entries {
            if entry as usize >= n_entries || start > end || end as usize > n_steps {
                return Err(format!(
                    "entry {entry} (steps {start}..{end}) is not in the rules' {n_entries} entries and {n_steps} steps"
                ));
            }
            entries.push(EntryRec {
                entry,
                matched: matched != 0,
                start,
                end,
            });
        }
        let mut record = Record::new(Arc::default(), DateTime::<Utc>::UNIX_EPOCH, Tz::UTC);
        let mut found = Vec::with_capacity(self.found.len());
        for text in &self.found {
            let start = record.text.len() as u32;
            record.text.push_str(text);
            found.push(record.keep(Payload::Text(start, record.text.len() as u32)));
        }
        let mut steps = Vec::with_capacity(n_steps);
        for (at, [node, held, f, len]) in self.steps.into_iter().enumerate() {
            if node as usize >= n_tests || at + 1 + len as usize > n_steps {
                return Err(format!(
                    "test {node} (with {len} inner) is not in the rules' {n_tests} tests"
                ));
            }
            let found = match f {
                0 => Found::NOTHING,
                f => *found
                    .get(f as usize - 1)
                    .ok_or_else(|| format!("found text {f} missing"))?,
            };
            steps.push(Step {
                node,
                held: held != 0,
                found,
                len,
            });
        }
        let explain = Explain {
            tests: texts.tests,
            entries: texts
                .entries
                .into_iter()
                .map(|(name, line, points)| EntryInfo {
                    name: Label::from(name),
                    line,
                    points,
                    when: Default::default(),
                })
                .collect(),
            conditions: Default::default(),
        };
        Ok(Record {
            explain: Arc::new(explain),
            view: OnceLock::from(View { steps, entries }),
            scoring: self.scoring as usize,
            ..record
        })
    }
}

/// A scoring entry or rule of a trace, as evaluated.
#[derive(Clone, Copy)]
pub struct EntryView<'t> {
    record: &'t Record,
    entry: EntryRec,
}

impl<'t> EntryView<'t> {
    fn info(&self) -> &'t EntryInfo {
        &self.record.explain.entries[self.entry.entry as usize]
    }

    /// The entry's name.
    pub fn name(&self) -> &'t str {
        self.info().name.as_str()
    }

    /// Its line in the routing file.
    pub fn line(&self) -> usize {
        self.info().line
    }

    /// Whether its condition held.
    pub fn matched(&self) -> bool {
        self.entry.matched
    }

    /// The points a scoring entry adds when it matches (0 for rules).
    pub fn points(&self) -> i64 {
        self.info().points
    }

    /// The tests evaluated, in order; they stop at the first that failed.
    pub fn tests(&self) -> Tests<'t> {
        Tests {
            record: self.record,
            next: self.entry.start as usize,
            end: self.entry.end as usize,
        }
    }
}

/// One test of a condition, evaluated.
#[derive(Clone, Copy)]
pub struct TestView<'t> {
    record: &'t Record,
    at: usize,
}

impl<'t> TestView<'t> {
    fn step(&self) -> Step {
        self.record.view().steps[self.at]
    }

    /// The test as written (`text_contains = ["опт", "тендер"]`).
    pub fn test(&self) -> &'t str {
        &self.record.explain.tests[self.step().node as usize]
    }

    /// Whether it held.
    pub fn held(&self) -> bool {
        self.step().held
    }

    /// What was found (the word, the field's value), when that explains the result.
    pub fn found(&self) -> Option<Cow<'t, str>> {
        self.record.render(self.step().found)
    }

    /// The inner tests of `any` (its options) and `not`.
    pub fn inner(&self) -> Tests<'t> {
        Tests {
            record: self.record,
            next: self.at + 1,
            end: self.at + 1 + self.step().len as usize,
        }
    }
}

/// Tests side by side: an entry's, or the inner tests of one test.
#[derive(Clone)]
pub struct Tests<'t> {
    record: &'t Record,
    next: usize,
    end: usize,
}

impl<'t> Iterator for Tests<'t> {
    type Item = TestView<'t>;

    fn next(&mut self) -> Option<TestView<'t>> {
        if self.next >= self.end {
            return None;
        }
        let at = self.next;
        self.next += 1 + self.record.view().steps[at].len as usize;
        Some(TestView {
            record: self.record,
            at,
        })
    }
}

impl PartialEq for TestView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.test() == other.test()
            && self.held() == other.held()
            && self.found() == other.found()
            && self.inner().eq(other.inner())
    }
}

impl PartialEq for EntryView<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
            && self.line() == other.line()
            && self.matched() == other.matched()
            && self.points() == other.points()
            && self.tests().eq(other.tests())
    }
}

/// Two records are equal when they say the same, whatever text tables they point into.
impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        self.scoring().eq(other.scoring()) && self.rules().eq(other.rules())
    }
}

impl fmt::Debug for TestView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Test")
            .field("test", &self.test())
            .field("held", &self.held())
            .field("found", &self.found())
            .field("inner", &self.inner().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Debug for EntryView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("name", &self.name())
            .field("line", &self.line())
            .field("matched", &self.matched())
            .field("points", &self.points())
            .field("tests", &self.tests().collect::<Vec<_>>())
            .finish()
    }
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Record")
            .field("scoring", &self.scoring().collect::<Vec<_>>())
            .field("rules", &self.rules().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(found: &str) -> Record {
        let mut b = Rebuild::new();
        let start = b.mark();
        let any = b.open("any = [...]".into());
        let option = b.open("option 1".into());
        let t = b.open("has_phone = true".into());
        b.close(t, true, None);
        b.close(option, true, None);
        b.close(any, true, None);
        let t = b.open("channel = \"email\"".into());
        b.close(t, false, Some(found));
        let info = EntryInfo {
            name: Label::from("entry"),
            line: 7,
            points: 3,
            when: Default::default(),
        };
        b.entry(info, start, false, true);
        b.finish()
    }

    #[test]
    fn steps_nest_as_evaluated() {
        let r = sample("webform");
        let e = r.scoring().next().map(|e| (e.name(), e.line(), e.points()));
        assert_eq!(e, Some(("entry", 7, 3)));
        let tests: Vec<_> = r.scoring().flat_map(|e| e.tests()).collect();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].inner().count(), 1);
        let inner: Vec<_> = tests[0].inner().flat_map(|o| o.inner()).collect();
        assert_eq!(inner[0].test(), "has_phone = true");
        assert_eq!(tests[1].found().as_deref(), Some("webform"));
        assert_eq!(r.rules().len(), 0);
    }

    #[test]
    fn equal_records_say_the_same() {
        assert_eq!(sample("webform"), sample("webform"));
        assert_ne!(sample("webform"), sample("vk"));
    }

    #[test]
    fn long_texts_are_cut() {
        let mut r = Rebuild::new().finish();
        let long = "а".repeat(100);
        let found = r.text(&long);
        let shown = r.render(found).unwrap_or_default();
        assert_eq!(shown.chars().count(), SHOWN + 1);
        assert!(shown.ends_with('…'));
    }
}
