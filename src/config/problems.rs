//! Gathering every problem of a config file before reporting, each with its file and key.

use super::ConfigProblem;
use std::path::Path;

/// Collects problems with their file and key, so the admin fixes the file in one pass.
pub(crate) struct Problems {
    file: String,
    /// What was found so far.
    pub(crate) list: Vec<ConfigProblem>,
}

impl Problems {
    /// An empty collector for the file at `path`.
    pub(crate) fn new(path: &Path) -> Problems {
        Problems {
            file: path.display().to_string(),
            list: Vec::new(),
        }
    }

    /// Records a problem at `key` with what is wrong and, when it can be said, what is right.
    pub(crate) fn add(
        &mut self,
        key: impl Into<String>,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        self.list.push(ConfigProblem {
            file: self.file.clone(),
            key: key.into(),
            message: message.into(),
            hint: hint.map(str::to_string),
        });
    }
}
