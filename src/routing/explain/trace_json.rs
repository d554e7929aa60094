//! A [`Trace`] as stored: JSON with every scoring entry and rule spelt out (name, line,
//! whether it matched, points, and each test with what was found), written straight from the
//! compact record and read back into one.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Deserializer, Serialize};

use crate::routing::model::label::Label;
use crate::routing::model::outcome::Outcome;
use crate::routing::model::record::{EntryInfo, EntryView, Rebuild, TestView};
use crate::routing::model::trace::{PickTrace, Trace};

impl Serialize for TestView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let found = self.found();
        let has_inner = self.inner().next().is_some();
        let n = 2 + usize::from(found.is_some()) + usize::from(has_inner);
        let mut st = s.serialize_struct("TestTrace", n)?;
        st.serialize_field("test", self.test())?;
        st.serialize_field("held", &self.held())?;
        if let Some(found) = &found {
            st.serialize_field("found", found)?;
        }
        if has_inner {
            st.serialize_field("inner", &Seq(self.inner()))?;
        }
        st.end()
    }
}

impl Serialize for EntryView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let points = self.points();
        let mut st = s.serialize_struct("EntryTrace", 4 + usize::from(points != 0))?;
        st.serialize_field("name", self.name())?;
        st.serialize_field("line", &self.line())?;
        st.serialize_field("matched", &self.matched())?;
        if points != 0 {
            st.serialize_field("points", &points)?;
        }
        st.serialize_field("tests", &Seq(self.tests()))?;
        st.end()
    }
}

/// Serializes the items of an iterator as a list.
struct Seq<I>(I);

impl<I> Serialize for Seq<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone())
    }
}

impl Serialize for Trace {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Trace", 8 + usize::from(self.pick.is_some()))?;
        st.serialize_field("rules_version", &self.rules_version)?;
        st.serialize_field("scoring", &Seq(self.scoring()))?;
        st.serialize_field("score", &self.score)?;
        st.serialize_field("tags", &self.tags)?;
        st.serialize_field("rules", &Seq(self.rules()))?;
        st.serialize_field("rule", &self.rule)?;
        st.serialize_field("ack_within", &self.ack_within)?;
        if let Some(pick) = &self.pick {
            st.serialize_field("pick", pick)?;
        }
        st.serialize_field("outcome", &self.outcome)?;
        st.end()
    }
}

/// A stored trace as read.
#[derive(Deserialize)]
struct TraceJson {
    rules_version: String,
    scoring: Vec<EntryJson>,
    score: i64,
    tags: Vec<Label>,
    rules: Vec<EntryJson>,
    rule: Label,
    ack_within: String,
    #[serde(default)]
    pick: Option<PickTrace>,
    outcome: Outcome,
}

#[derive(Deserialize)]
struct EntryJson {
    name: String,
    line: usize,
    matched: bool,
    #[serde(default)]
    points: i64,
    tests: Vec<TestJson>,
}

#[derive(Deserialize)]
struct TestJson {
    test: String,
    held: bool,
    #[serde(default)]
    found: Option<String>,
    #[serde(default)]
    inner: Vec<TestJson>,
}

fn rebuild_tests(b: &mut Rebuild, tests: Vec<TestJson>) {
    for t in tests {
        let at = b.open(t.test);
        rebuild_tests(b, t.inner);
        b.close(at, t.held, t.found.as_deref());
    }
}

fn rebuild_entries(b: &mut Rebuild, entries: Vec<EntryJson>, scoring: bool) {
    for e in entries {
        let start = b.mark();
        rebuild_tests(b, e.tests);
        let info = EntryInfo {
            name: Label::from(e.name),
            line: e.line,
            points: e.points,
            when: Default::default(),
        };
        b.entry(info, start, e.matched, scoring);
    }
}

impl From<TraceJson> for Trace {
    fn from(j: TraceJson) -> Trace {
        let mut b = Rebuild::new();
        rebuild_entries(&mut b, j.scoring, true);
        rebuild_entries(&mut b, j.rules, false);
        Trace {
            rules_version: j.rules_version,
            score: j.score,
            tags: j.tags,
            rule: j.rule,
            ack_within: j.ack_within,
            pick: j.pick,
            outcome: j.outcome,
            record: b.finish(),
        }
    }
}

/// A trace spelt out reads back as one (what `#[serde(from = "TraceJson")]` would derive).
impl<'de> Deserialize<'de> for Trace {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Trace, D::Error> {
        TraceJson::deserialize(d).map(Trace::from)
    }
}
