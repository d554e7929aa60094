//! The last good rules, kept beside the store, so that a restart cannot take routing down.
//!
//! A bad edit saved while the daemon runs is refused and the rules in force stay (`reload`);
//! but the next start (a reboot, an upgrade, a crash) used to read only the file, and a file
//! that does not load stopped the daemon from starting at all: no form, hook or mailbox was
//! served until someone fixed it. Every time rules load, the files they were read from (the
//! routing file and its lists) are copied to `<data>/rules/<n>/`, at the same paths relative to
//! the routing file's folder, and a start whose routing file does not load starts on that copy,
//! saying why, while the watcher keeps following the real files.
//!
//! The copy is read back and must give the same rules before `<data>/rules/last-good` points at
//! it (a file saved again between the load and the copy is not kept); the pointer is replaced
//! by a rename, so a crash mid-copy leaves the previous copy in force.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use super::model::rules::CompiledRules;

/// The name of the pointer file in `<data>/rules`: `<n>/<routing file's name>`.
const POINTER: &str = "last-good";

/// Where the last good rules are kept: `<data>/rules`.
#[derive(Debug, Clone)]
pub struct LastGood {
    dir: PathBuf,
}

/// Why the last good rules could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum LastGoodError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A list lies outside the routing file's folder, so its copy would have no place.
    #[error("{0} is not inside the routing file's folder: the last good rules are not kept")]
    Outside(PathBuf),
    /// The files changed between the load and the copy (the copy is not what was loaded).
    #[error("the routing files changed while they were copied; the next load keeps them")]
    Changed,
    /// The kept copy does not load (edited by hand, or from another version).
    #[error("the last good rules in {path} do not load: {error}")]
    Broken {
        /// The copy's routing file.
        path: PathBuf,
        /// Every problem.
        error: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LastGoodError + '_ {
    move |source| LastGoodError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl LastGood {
    /// The last good rules of the store whose files are in `data_dir`.
    pub fn in_data_dir(data_dir: &Path) -> LastGood {
        LastGood {
            dir: data_dir.join("rules"),
        }
    }

    /// Copies the files `rules` were read from, when they still give these rules, and makes
    /// the copy the last good one (older copies are removed).
    pub fn keep(&self, rules: &CompiledRules) -> Result<(), LastGoodError> {
        let Some((routing, lists)) = rules.watched_files().split_first() else {
            return Ok(());
        };
        let base = folder_of(routing);
        let name = routing.file_name().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let mut files = vec![(routing.clone(), name.clone())];
        for list in lists {
            files.push((list.clone(), relative_inside(base, list)?));
        }
        // Named by the rules, the process and a free number: replicas sharing a folder never
        // write into each other's copy, nor a restarted process into the copy in force.
        let stem = format!("{}.{}", rules.version(), std::process::id());
        let n = (0u32..)
            .map(|k| format!("{stem}.{k}"))
            .find(|n| !self.dir.join(n).exists())
            .unwrap_or(stem);
        let copy = self.dir.join(&n);
        for (from, rel) in &files {
            let to = copy.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::copy(from, &to).map_err(io(from))?;
            std::fs::File::open(&to)
                .and_then(|f| f.sync_all())
                .map_err(io(&to))?;
        }
        match CompiledRules::load(&copy.join(&name)) {
            Ok(read) if read.version() == rules.version() => {}
            _ => {
                let _ = std::fs::remove_dir_all(&copy);
                return Err(LastGoodError::Changed);
            }
        }
        let pointer = self.dir.join(POINTER);
        let fresh = self.dir.join(format!("{POINTER}.new"));
        let target = Path::new(&n).join(&name);
        std::fs::File::create(&fresh)
            .and_then(|mut f| {
                f.write_all(target.to_string_lossy().as_bytes())?;
                f.sync_all()
            })
            .map_err(io(&fresh))?;
        std::fs::rename(&fresh, &pointer).map_err(io(&pointer))?;
        // Another process may have pointed at its own copy meanwhile: that one stays too.
        let pointed = std::fs::read_to_string(&pointer).unwrap_or_default();
        let in_force = Path::new(pointed.trim()).components().next();
        for old in self.copies()? {
            let name = Path::new(&old).components().next();
            if old != n && name != in_force {
                let _ = std::fs::remove_dir_all(self.dir.join(&old));
            }
        }
        Ok(())
    }

    /// The rules last kept, watching `routing_file` and its lists in place of the copy's
    /// files (an admin fixes the real ones); `None` when none were kept.
    pub fn load(&self, routing_file: &Path) -> Result<Option<CompiledRules>, LastGoodError> {
        let pointer = self.dir.join(POINTER);
        let target = match std::fs::read_to_string(&pointer) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&pointer)(e)),
        };
        let path = self.dir.join(target.trim());
        let mut rules = CompiledRules::load(&path).map_err(|e| LastGoodError::Broken {
            path: path.clone(),
            error: e.to_string(),
        })?;
        let copy = path.parent().unwrap_or(&self.dir);
        let base = folder_of(routing_file);
        rules.watched = (rules.watched.iter())
            .map(|f| match f.strip_prefix(copy) {
                Ok(_) if f == &path => routing_file.to_path_buf(),
                Ok(rel) => base.join(rel),
                Err(_) => f.clone(),
            })
            .collect();
        Ok(Some(rules))
    }

    /// The copies in the folder, by name.
    fn copies(&self) -> Result<Vec<String>, LastGoodError> {
        let entries = std::fs::read_dir(&self.dir).map_err(io(&self.dir))?;
        Ok(entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect())
    }
}

/// The folder a routing file's lists are read from, as [`CompiledRules::load`] takes it.
fn folder_of(routing_file: &Path) -> &Path {
    match routing_file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// `file`'s path below `base`, made only of plain names (no `..`, not absolute).
fn relative_inside(base: &Path, file: &Path) -> Result<PathBuf, LastGoodError> {
    let outside = || LastGoodError::Outside(file.to_path_buf());
    let rel = file.strip_prefix(base).map_err(|_| outside())?;
    let mut plain = PathBuf::new();
    for part in rel.components() {
        match part {
            Component::Normal(name) => plain.push(name),
            Component::CurDir => {}
            _ => return Err(outside()),
        }
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
levels = ["junior"]
timezone = "Europe/Moscow"
strategy = "round_robin"
fallback = "escalate"
[sla]
ack_within = "30m"
[[managers]]
id = "anna"
name = "Анна"
level = "junior"
hours = "daily 00:00-24:00"
[[rules]]
name = "all"
level = "junior"
"#;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("routing.toml");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn the_kept_copy_loads_after_the_file_is_broken_and_watches_the_real_file() {
        let files = tempfile::tempdir().expect("tempdir");
        let data = tempfile::tempdir().expect("tempdir");
        let path = write(files.path(), RULES);
        let rules = CompiledRules::load(&path).expect("rules");
        let kept = LastGood::in_data_dir(data.path());
        assert!(
            kept.load(&path).expect("load").is_none(),
            "nothing kept yet"
        );
        kept.keep(&rules).expect("keep");
        kept.keep(&rules).expect("keep again");
        write(files.path(), "levels = [");
        assert!(CompiledRules::load(&path).is_err());
        let back = kept.load(&path).expect("load").expect("kept");
        assert_eq!(back.version(), rules.version());
        assert_eq!(back.watched_files(), std::slice::from_ref(&path));
        let copies = std::fs::read_dir(data.path().join("rules")).expect("dir");
        assert_eq!(copies.count(), 2, "one copy and the pointer");
    }

    #[test]
    fn rules_whose_file_changed_before_the_copy_are_not_kept() {
        let files = tempfile::tempdir().expect("tempdir");
        let data = tempfile::tempdir().expect("tempdir");
        let path = write(files.path(), RULES);
        let rules = CompiledRules::load(&path).expect("rules");
        write(files.path(), &RULES.replace("Анна", "Аня"));
        let kept = LastGood::in_data_dir(data.path());
        assert!(matches!(kept.keep(&rules), Err(LastGoodError::Changed)));
        assert!(kept.load(&path).expect("load").is_none());
    }
}
