//! What can be wrong with a routing file, said so that an admin can fix it: every problem
//! found in one pass, each with the file, the line, the rule and what would be right.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use serde::Serialize;

/// The class of a problem, so callers and tests can tell problems apart without parsing text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The file is not valid TOML.
    Syntax,
    /// A key the format does not have (usually a typo).
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// A value of the wrong type or out of range.
    BadValue,
    /// A regular expression that does not compile.
    BadRegex,
    /// A level that is not in `levels`.
    UnknownLevel,
    /// A manager id that no `[[managers]]` entry has.
    UnknownManager,
    /// A team no manager belongs to.
    UnknownTeam,
    /// A rule after the default rule: it can never match.
    UnreachableRule,
    /// No rule without a condition at the end.
    MissingDefault,
    /// A working-hours string that does not parse.
    BadHours,
    /// A time zone name that is not in the IANA database.
    BadTimezone,
    /// A duration such as `"30m"` that does not parse.
    BadDuration,
    /// A date or date range that does not parse.
    BadDate,
    /// Two managers, rules or levels with the same name.
    Duplicate,
    /// A file the rules point to (a suppression list) cannot be read or has a bad line.
    BadList,
}

/// One problem in a routing file (or a list it points to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, as the admin knows it (the path given to `load`, or a list's path).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// Where in the file: `rule "Тендеры"`, `manager "anna"`, `[sla]`; empty at the top level.
    pub section: String,
    /// What is wrong and what would be right.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.section.is_empty() {
            write!(f, "{}: ", self.section)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a routing file was refused.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// The routing file itself could not be read.
    #[error("cannot read routing rules {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was read but is invalid; every problem found is listed.
    #[error("{}", list(.problems))]
    Invalid {
        /// Every problem, in file order.
        problems: Vec<Problem>,
        /// The suppression lists the file names (a watcher waits for them to appear or be
        /// mended, as it does for the file).
        lists: Vec<PathBuf>,
    },
}

impl RulesError {
    /// The problems of an invalid file (empty for a read error), for `leadgate check`.
    pub fn problems(&self) -> &[Problem] {
        match self {
            RulesError::Read { .. } => &[],
            RulesError::Invalid { problems, .. } => problems,
        }
    }
}

fn list(problems: &[Problem]) -> String {
    let mut out = format!(
        "routing rules refused ({} problem{}):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string());
    }
    out
}

/// Turns byte offsets from TOML spans into lines and columns.
pub(crate) struct LineIndex<'t> {
    text: &'t str,
    starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub(crate) fn new(text: &'t str) -> LineIndex<'t> {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { text, starts }
    }

    /// 1-based line and column of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }
}

/// Collects problems while a file is read and compiled, so all of them can be reported.
pub(crate) struct Problems<'t> {
    file: String,
    lines: LineIndex<'t>,
    found: Vec<Problem>,
}

impl<'t> Problems<'t> {
    pub(crate) fn new(file: &str, text: &'t str) -> Problems<'t> {
        Problems {
            file: file.to_string(),
            lines: LineIndex::new(text),
            found: Vec::new(),
        }
    }

    /// Records a problem at `span` of the routing file.
    pub(crate) fn add(
        &mut self,
        span: Range<usize>,
        kind: ProblemKind,
        section: &str,
        message: String,
    ) {
        let (line, column) = self.lines.position(span.start);
        self.found.push(Problem {
            file: self.file.clone(),
            line,
            column,
            kind,
            section: section.to_string(),
            message,
        });
    }

    /// Records a problem found in another file (a suppression list).
    pub(crate) fn add_external(&mut self, problem: Problem) {
        self.found.push(problem);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    pub(crate) fn into_error(self) -> RulesError {
        self.into_error_naming(Vec::new())
    }

    /// [`Self::into_error`] for a file that names `lists`.
    pub(crate) fn into_error_naming(mut self, lists: Vec<PathBuf>) -> RulesError {
        self.found.sort_by(|a, b| {
            (a.file != self.file, &a.file, a.line, a.column).cmp(&(
                b.file != self.file,
                &b.file,
                b.line,
                b.column,
            ))
        });
        RulesError::Invalid {
            problems: self.found,
            lists,
        }
    }
}

/// The closest of `known` to a mistyped `word`, for "did you mean" hints.
pub(crate) fn closest<'k>(word: &str, known: impl IntoIterator<Item = &'k str>) -> Option<&'k str> {
    let limit = (word.chars().count() / 3).max(1) + 1;
    known
        .into_iter()
        .map(|k| (edit_distance(word, k), k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// " (did you mean \"x\"?)" or the list of what is allowed.
pub(crate) fn hint(word: &str, known: &[&str]) -> String {
    match closest(word, known.iter().copied()) {
        Some(k) => format!("did you mean \"{k}\"?"),
        None => format!("expected one of: {}", known.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_char_columns() {
        let idx = LineIndex::new("a = 1\nбб = 2\n");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(6), (2, 1));
        // "бб" is 4 bytes: the '=' is the 4th character.
        assert_eq!(idx.position(6 + 5), (2, 4));
    }

    #[test]
    fn closest_suggests_typos_only() {
        assert_eq!(closest("levle", ["level", "tags"]), Some("level"));
        assert_eq!(closest("zzzzzz", ["level", "tags"]), None);
    }
}
