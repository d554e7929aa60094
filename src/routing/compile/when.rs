//! Compiles a `when = { ... }` table into a [`Condition`], reporting every unknown test, bad
//! value and bad regex with its line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use regex::RegexBuilder;
use toml::de::{DeTable, DeValue};

use super::error::{ProblemKind, Problems, hint};
use super::read::{self, Node, in_file_order};
use super::suppress::ListError;
use crate::lead::Channel;
use crate::routing::model::condition::{Condition, Conditions, Field, FieldRef, Test, When};
use crate::routing::model::hours::{Period, parse_days};
use crate::routing::model::label::Label;
use crate::routing::model::suppress::SuppressList;
use crate::routing::model::text::{fold, split_words};
use crate::routing::model::words::{Match, WordIndex, stem};

/// Every test a condition may use.
pub(crate) const TESTS: &[&str] = &[
    "channel",
    "source",
    "text_contains",
    "text_has_word",
    "text_mentions",
    "text_matches",
    "field_present",
    "field_equals",
    "field_one_of",
    "field_contains",
    "field_at_least",
    "field_at_most",
    "has_phone",
    "has_email",
    "returning",
    "score_at_least",
    "has_tag",
    "received_on",
    "received_between",
    "received_on_holiday",
    "contact_in_list",
    "any",
    "not",
];

/// What compiling a condition needs besides the table.
pub(crate) struct WhenCompiler<'a, 't> {
    pub(crate) problems: &'a mut Problems<'t>,
    /// The routing file's text, so each test's label is exactly what the admin wrote.
    pub(crate) src: &'t str,
    pub(crate) base_dir: &'a Path,
    /// Suppression lists already loaded, by path as written.
    pub(crate) lists: &'a mut HashMap<String, Arc<SuppressList>>,
    /// Every list the file names, loaded or not (a refused file's lists are waited for).
    pub(crate) named_lists: &'a mut Vec<PathBuf>,
    /// Every test's text as written, by node id: a condition names its tests by index.
    pub(crate) labels: &'a mut Vec<String>,
    /// Every distinct field the tests read, by id.
    pub(crate) fields: &'a mut Vec<FieldRef>,
    /// Every word the text tests look for.
    pub(crate) words: &'a mut WordIndex,
    /// Every tag the entries add or the tests look for, by id.
    pub(crate) tags: &'a mut Vec<Label>,
    /// Where every condition's tests go.
    pub(crate) conditions: &'a mut Conditions,
}

/// The id of `tag` in `tags`, added if new.
pub(crate) fn tag_id(tags: &mut Vec<Label>, tag: &str) -> u32 {
    let id = tags
        .iter()
        .position(|t| t.as_str() == tag)
        .unwrap_or_else(|| {
            tags.push(Label::from(tag));
            tags.len() - 1
        });
    id as u32
}

impl WhenCompiler<'_, '_> {
    /// Compiles a condition; `in_scoring` forbids the tests that need the score and tags.
    pub(crate) fn compile(&mut self, v: &Node<'_>, section: &str, in_scoring: bool) -> When {
        let Some(table) = read::table(self.problems, v, section, "when") else {
            return When::default();
        };
        if table.is_empty() {
            self.problems.add(
                v.span(),
                ProblemKind::BadValue,
                section,
                "empty condition: add tests, or remove `when` to make this the default rule"
                    .to_string(),
            );
        }
        let condition = self.table(table, section, in_scoring);
        self.conditions.root(condition)
    }

    fn table(&mut self, table: &DeTable<'_>, section: &str, in_scoring: bool) -> Condition {
        read::unknown_keys(self.problems, table, TESTS, section);
        let mut tests = Vec::new();
        for (key, value) in in_file_order(table) {
            let key_str: &str = key.get_ref();
            let label = self.label(key.span().start, value.span().end);
            if in_scoring && matches!(key_str, "score_at_least" | "has_tag") {
                self.problems.add(
                    key.span(),
                    ProblemKind::BadValue,
                    section,
                    format!("\"{key_str}\" can only be used in [[rules]]: scoring entries are evaluated together, before the score and tags are known"),
                );
                continue;
            }
            for test in self.test(key_str, value, section, in_scoring) {
                let label = match &test {
                    (Some(sub), _) => format!("{key_str} {sub}"),
                    (None, _) => label.clone(),
                };
                tests.push((self.node(label), test.1));
            }
        }
        self.conditions.add(tests)
    }

    /// The source text from `start` to `end`, on one line.
    fn label(&self, start: usize, end: usize) -> String {
        let text = self.src.get(start..end).unwrap_or("");
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The field named `name`, with the same id wherever the rules read it.
    fn field(&mut self, name: &str) -> Field {
        let what = FieldRef::parse(name);
        let id = match self.fields.iter().position(|f| *f == what) {
            Some(i) => i,
            None => {
                self.fields.push(what);
                self.fields.len() - 1
            }
        };
        Field(id as u32)
    }

    /// A new node id for a test written as `label`.
    fn node(&mut self, label: String) -> u32 {
        self.labels.push(label);
        (self.labels.len() - 1) as u32
    }

    /// One key of a condition; field tables give one test per field, labelled by the field.
    fn test(
        &mut self,
        key: &str,
        v: &Node<'_>,
        section: &str,
        in_scoring: bool,
    ) -> Vec<(Option<String>, Test)> {
        let p = &mut *self.problems;
        let one = |t: Option<Test>| t.map(|t| (None, t)).into_iter().collect();
        match key {
            "channel" => one(read::strings(p, v, section, key).map(|names| {
                let names_ok: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
                Test::Channel(
                    names
                        .iter()
                        .filter_map(|n| {
                            let c = Channel::parse(n.get_ref());
                            if c.is_none() {
                                p.add(n.span(), ProblemKind::BadValue, section, format!("unknown channel \"{}\": {}", n.get_ref(), hint(n.get_ref(), &names_ok)));
                            }
                            c
                        })
                        .collect(),
                )
            })),
            "source" => one(read::strings(p, v, section, key).map(|s| Test::Source(s.into_iter().map(|s| s.into_inner()).collect()))),
            "text_contains" | "text_has_word" | "text_mentions" => one(read::strings(p, v, section, key).map(|terms| {
                let index = &mut *self.words;
                let how = match key {
                    "text_contains" => Match::Prefix,
                    "text_has_word" => Match::Whole,
                    _ => Match::Form,
                };
                let phrases = terms
                    .iter()
                    .filter_map(|t| {
                        let words: Vec<u32> = split_words(&fold(t.get_ref()))
                            .map(|w| if how == Match::Form { index.intern(&stem(w)) } else { index.intern(w) })
                            .collect();
                        if words.is_empty() {
                            p.add(t.span(), ProblemKind::BadValue, section, format!("\"{}\" has no letters or digits to look for", t.get_ref()));
                            None
                        } else {
                            Some(words)
                        }
                    })
                    .collect();
                self.conditions.text(phrases, how)
            })),
            "text_matches" => one(read::string(p, v, section, key).and_then(|pattern| {
                match RegexBuilder::new(&pattern).case_insensitive(true).size_limit(1 << 20).build() {
                    Ok(re) => Some(Test::TextMatches(Box::new(re))),
                    Err(e) => {
                        let why = e.to_string();
                        let why = why.lines().rev().find(|l| l.starts_with("error:")).map_or(why.as_str(), |l| l.trim_start_matches("error:").trim());
                        p.add(v.span(), ProblemKind::BadRegex, section, format!("bad regular expression {pattern:?}: {why}; a dot, brackets and other special characters need a backslash (\\. \\( \\[)"));
                        None
                    }
                }
            })),
            "field_present" => read::strings(p, v, section, key)
                .unwrap_or_default()
                .into_iter()
                .map(|f| (Some(f.get_ref().clone()), Test::FieldPresent(self.field(f.get_ref()))))
                .collect(),
            "field_equals" | "field_one_of" | "field_contains" => self.fields(key, v, section, |p, v, field, section| {
                let values = match v.get_ref() {
                    DeValue::Integer(_) | DeValue::Float(_) => read::number(p, v, section, key).map(|n| vec![n.to_string()]),
                    DeValue::Boolean(b) => Some(vec![b.to_string()]),
                    _ => read::strings(p, v, section, key).map(|s| s.iter().map(|s| fold(s.get_ref().trim())).collect()),
                }?;
                let values = values.into_boxed_slice();
                Some(if key == "field_contains" { Test::FieldContains(field, values) } else { Test::FieldOneOf(field, values) })
            }),
            "field_at_least" | "field_at_most" => self.fields(key, v, section, |p, v, field, section| {
                let n = read::number(p, v, section, key)?;
                Some(if key == "field_at_least" { Test::FieldAtLeast(field, n) } else { Test::FieldAtMost(field, n) })
            }),
            "has_phone" => one(read::boolean(p, v, section, key).map(Test::HasPhone)),
            "has_email" => one(read::boolean(p, v, section, key).map(Test::HasEmail)),
            "returning" => one(read::boolean(p, v, section, key).map(Test::Returning)),
            "received_on_holiday" => one(read::boolean(p, v, section, key).map(Test::ReceivedOnHoliday)),
            "score_at_least" => one(read::integer(p, v, section, key).map(Test::ScoreAtLeast)),
            "has_tag" => one(read::strings(p, v, section, key).map(|t| Test::HasTag(t.iter().map(|s| tag_id(self.tags, s.get_ref())).collect()))),
            "received_on" => one(read::string(p, v, section, key).and_then(|s| match parse_days(&s) {
                Ok(days) => Some(Test::ReceivedOn(days)),
                Err(e) => {
                    p.add(v.span(), ProblemKind::BadHours, section, e);
                    None
                }
            })),
            "received_between" => one(read::string(p, v, section, key).and_then(|s| match Period::parse(&s) {
                Ok(period) => Some(Test::ReceivedBetween(period)),
                Err(e) => {
                    p.add(v.span(), ProblemKind::BadHours, section, e);
                    None
                }
            })),
            "contact_in_list" => one(read::string(p, v, section, key).and_then(|path| self.list(&path, v, section))),
            "any" => one(self.any(v, section, in_scoring)),
            "not" => one(read::table(p, v, section, key).map(|t| Test::Not(self.table(t, section, in_scoring)))),
            _ => Vec::new(), // reported by unknown_keys
        }
    }

    /// `field_equals = { region = "Москва", city = "..." }`: one test per field.
    fn fields(
        &mut self,
        key: &str,
        v: &Node<'_>,
        section: &str,
        make: impl Fn(&mut Problems<'_>, &Node<'_>, Field, &str) -> Option<Test>,
    ) -> Vec<(Option<String>, Test)> {
        let Some(table) = read::table(self.problems, v, section, key) else {
            return Vec::new();
        };
        if table.is_empty() {
            self.problems.add(
                v.span(),
                ProblemKind::BadValue,
                section,
                format!("\"{key}\" names no field: write {key} = {{ budget = ... }}"),
            );
        }
        let mut out = Vec::new();
        for (field, value) in in_file_order(table) {
            let label = self.label(field.span().start, value.span().end);
            let field = self.field(field.get_ref());
            if let Some(test) = make(self.problems, value, field, section) {
                out.push((Some(label), test));
            }
        }
        out
    }

    fn any(&mut self, v: &Node<'_>, section: &str, in_scoring: bool) -> Option<Test> {
        let DeValue::Array(items) = v.get_ref() else {
            self.problems.add(
                v.span(),
                ProblemKind::BadValue,
                section,
                "\"any\" must be a list of conditions: any = [ { ... }, { ... } ]".to_string(),
            );
            return None;
        };
        if items.is_empty() {
            self.problems.add(
                v.span(),
                ProblemKind::BadValue,
                section,
                "\"any\" is empty: list at least one condition".to_string(),
            );
        }
        let mut options = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if let Some(t) = read::table(self.problems, item, section, "any") {
                let label = format!(
                    "option {}: {}",
                    i + 1,
                    self.label(item.span().start, item.span().end)
                );
                let node = self.node(label);
                options.push((node, self.table(t, section, in_scoring)));
            }
        }
        Some(self.conditions.any(options))
    }

    fn list(&mut self, path: &str, v: &Node<'_>, section: &str) -> Option<Test> {
        if let Some(list) = self.lists.get(path) {
            return Some(Test::ContactInList(list.clone()));
        }
        let named = self.base_dir.join(path);
        if !self.named_lists.contains(&named) {
            self.named_lists.push(named);
        }
        match SuppressList::load(self.base_dir, path) {
            Ok(list) => {
                let list = Arc::new(list);
                self.lists.insert(path.to_string(), list.clone());
                Some(Test::ContactInList(list))
            }
            Err(ListError::Unreadable(why)) => {
                self.problems.add(v.span(), ProblemKind::BadList, section, format!("suppression list {path:?} is not usable: {why}; the path is relative to the routing file's folder"));
                None
            }
            Err(ListError::BadLines(problems)) => {
                self.problems.add(v.span(), ProblemKind::BadList, section, format!("suppression list {path:?} has {} bad line(s), listed with its own file name", problems.len()));
                for p in problems {
                    self.problems.add_external(p);
                }
                None
            }
        }
    }
}
