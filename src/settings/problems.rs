//! Gathering every problem of a config file before reporting, each with its file and key.
//! Every component validates its own table into a [`Scope`]: the keys it names are its own
//! (`site_url`), and the scope puts them under the table's place in the file
//! (`sources.wordpress[0].site_url`).

use super::parse_duration;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

/// One problem found in the configuration: where, what, and what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file it is in.
    pub file: String,
    /// The dotted key (`sinks.webhook[0].url`), empty for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What would be right, when it can be said.
    pub hint: Option<String>,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Collects problems with their file and key, so the admin fixes the file in one pass.
pub struct Problems {
    file: String,
    /// What was found so far.
    pub list: Vec<ConfigProblem>,
}

impl Problems {
    /// An empty collector for the file at `path`.
    pub fn new(path: &Path) -> Problems {
        Problems {
            file: path.display().to_string(),
            list: Vec::new(),
        }
    }

    /// Records a problem at `key` with what is wrong and, when it can be said, what is right.
    pub fn add(&mut self, key: impl Into<String>, message: impl Into<String>, hint: Option<&str>) {
        self.list.push(ConfigProblem {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
            hint: hint.map(str::to_string),
        });
    }

    /// The problems of the table at `prefix` (`sources.email[0]`, `notify`): a component's
    /// validation names its own keys, and they are recorded under the table's.
    pub fn scope(&mut self, prefix: impl Into<String>) -> Scope<'_> {
        Scope {
            into: self,
            prefix: prefix.into(),
        }
    }
}

/// The problems of one table of the file, as its component sees it: keys relative to the
/// table.
pub struct Scope<'a> {
    into: &'a mut Problems,
    prefix: String,
}

impl Scope<'_> {
    /// Records a problem at `key` below this table (the table itself when `key` is empty).
    pub fn add(&mut self, key: &str, message: impl Into<String>, hint: Option<&str>) {
        let key = self.key(key);
        self.into.add(key, message, hint);
    }

    /// The full key of `key` below this table.
    pub fn key(&self, key: &str) -> String {
        match (self.prefix.is_empty(), key.is_empty()) {
            (true, _) => key.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{key}", self.prefix),
        }
    }

    /// The problems of the table at `key` below this one (`reply`, `mailboxes[1]`).
    pub fn scope(&mut self, key: &str) -> Scope<'_> {
        let prefix = self.key(key);
        Scope {
            into: &mut *self.into,
            prefix,
        }
    }

    /// A duration written at `key` (`"30s"`, `"2h"`), `default` when it is absent; a value that
    /// does not parse is a problem, and the default stands in for it.
    pub fn duration(&mut self, key: &str, text: Option<&str>, default: Duration) -> Duration {
        match text {
            None => default,
            Some(text) => parse_duration(text).unwrap_or_else(|e| {
                self.add(key, e, None);
                default
            }),
        }
    }

    /// How many problems the whole file has so far (a component may skip checks that only
    /// repeat an earlier problem).
    pub fn found(&self) -> usize {
        self.into.list.len()
    }
}

/// Checks the id of the table at `key` (a source's, a sink's): ids are in URLs and in the
/// store, so each is letters, digits, `-` and `_`, and none is used twice (`seen` holds those
/// checked so far).
pub fn check_id(p: &mut Problems, seen: &mut HashSet<String>, key: &str, id: &str) {
    let valid = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        p.add(
            format!("{key}.id"),
            format!("{id:?} is not a valid id"),
            Some("use letters, digits, '-' and '_' (it appears in URLs)"),
        );
    } else if !seen.insert(id.to_string()) {
        p.add(
            format!("{key}.id"),
            format!("the id {id:?} is used twice"),
            Some("ids must be unique"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_puts_its_keys_under_its_table() {
        let mut p = Problems::new(Path::new("leadgate.toml"));
        let mut source = p.scope("sources.vk[1]");
        source.add("group_id", "is missing", Some("the community's id"));
        source.add("", "is not a table", None);
        source.scope("reply").add("access_token", "is empty", None);
        let timeout = source.duration("poll_timeout", Some("soon"), Duration::from_secs(30));
        assert_eq!(timeout, Duration::from_secs(30));
        assert_eq!(
            source.duration("x", Some("2m"), Duration::ZERO),
            Duration::from_secs(120)
        );
        assert_eq!(source.found(), 4);
        p.scope("").add("batch_size", "must be at least 1", None);
        let keys: Vec<&str> = p.list.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources.vk[1].group_id",
                "sources.vk[1]",
                "sources.vk[1].reply.access_token",
                "sources.vk[1].poll_timeout",
                "batch_size",
            ]
        );
        assert_eq!(p.list[0].hint.as_deref(), Some("the community's id"));
        assert!(p.list[3].message.contains("soon"), "{}", p.list[3].message);
    }
}
