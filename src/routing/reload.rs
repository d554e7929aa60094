//! Live reload: the rules in force are swapped atomically when the file changes (or on
//! SIGHUP), only when the new file is valid; a bad file is logged and counted, and the last
//! good rules stay.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use notify_debouncer_full::notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::error::RulesError;
use super::rules::CompiledRules;

/// The result of the latest reload attempt, for `/readyz` and the admin pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadStatus {
    /// The rules loaded at start, not reloaded since.
    Initial {
        /// Their version.
        version: String,
    },
    /// The latest reload succeeded.
    Reloaded {
        /// The version now in force.
        version: String,
    },
    /// The latest reload was refused; `version` is still in force.
    Refused {
        /// The version still in force.
        version: String,
        /// Every problem, as `leadgate check` prints it.
        error: String,
    },
}

/// The rules in force, shared by every stage; cloning shares the same rules.
#[derive(Clone)]
pub struct RulesHandle {
    rules: Arc<ArcSwap<CompiledRules>>,
    status: Arc<watch::Sender<ReloadStatus>>,
}

impl RulesHandle {
    /// Starts with rules already validated at startup.
    pub fn new(rules: CompiledRules) -> RulesHandle {
        let status = ReloadStatus::Initial {
            version: rules.version().to_string(),
        };
        RulesHandle {
            rules: Arc::new(ArcSwap::from_pointee(rules)),
            status: Arc::new(watch::channel(status).0),
        }
    }

    /// The rules in force now; a decision keeps using the ones it took even if a reload
    /// happens meanwhile.
    pub fn current(&self) -> Arc<CompiledRules> {
        self.rules.load_full()
    }

    /// Follows reload results.
    pub fn status(&self) -> watch::Receiver<ReloadStatus> {
        self.status.subscribe()
    }

    /// Re-reads `path`; swaps the rules in when valid, otherwise logs, counts, and keeps the
    /// rules in force.
    pub fn reload(&self, path: &Path) -> Result<Arc<CompiledRules>, RulesError> {
        match CompiledRules::load(path) {
            Ok(rules) => {
                let rules = Arc::new(rules);
                self.rules.store(rules.clone());
                metrics::counter!("leadgate_rules_reloads_total").increment(1);
                tracing::info!(file = %path.display(), version = rules.version(), "routing rules reloaded");
                self.status.send_replace(ReloadStatus::Reloaded {
                    version: rules.version().to_string(),
                });
                Ok(rules)
            }
            Err(error) => {
                metrics::counter!("leadgate_rules_reload_failures_total").increment(1);
                let version = self.current().version().to_string();
                tracing::error!(file = %path.display(), %error, in_force = %version, "routing rules refused; the last good rules stay in force");
                self.status.send_replace(ReloadStatus::Refused {
                    version,
                    error: error.to_string(),
                });
                Err(error)
            }
        }
    }
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The file system watcher could not be set up.
    #[error("cannot watch {path} for changes: {source}")]
    Watch {
        /// The folder watched.
        path: PathBuf,
        /// The cause.
        source: notify_debouncer_full::notify::Error,
    },
    /// The SIGHUP handler could not be installed.
    #[error("cannot listen for SIGHUP: {0}")]
    Signal(std::io::Error),
}

/// How long the file must be quiet before it is re-read (editors write in several steps).
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Reloads the rules at `path` into `handle` whenever a file they come from changes, and on
/// SIGHUP, until `shutdown`. The folder is watched rather than the file, since editors save by
/// writing a new file and renaming it over the old one.
pub async fn watch_rules(
    path: PathBuf,
    handle: RulesHandle,
    shutdown: CancellationToken,
) -> Result<(), WatchError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |r: DebounceEventResult| {
        // The receiver is gone only when the watcher stops.
        let _ = tx.send(r);
    })
    .map_err(|source| WatchError::Watch {
        path: dir.clone(),
        source,
    })?;
    debouncer
        .watch(&dir, RecursiveMode::NonRecursive)
        .map_err(|source| WatchError::Watch {
            path: dir.clone(),
            source,
        })?;
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(WatchError::Signal)?;
    tracing::info!(file = %path.display(), "watching routing rules for changes");
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading routing rules");
                let _ = handle.reload(&path);
            }
            event = rx.recv() => match event {
                Some(Ok(events)) => {
                    let watched = handle.current().watched_files().to_vec();
                    let relevant = events.iter().flat_map(|e| e.event.paths.iter()).any(|p| is_watched(p, &path, &watched));
                    if relevant {
                        let _ = handle.reload(&path);
                    }
                }
                Some(Err(errors)) => {
                    for error in errors {
                        tracing::warn!(%error, "routing rules watcher error");
                    }
                }
                None => break,
            },
        }
    }
    debouncer.stop();
    Ok(())
}

/// Whether a changed path is the routing file or one of its lists (compared by file name
/// within the watched folder, since events may carry absolute paths).
fn is_watched(changed: &Path, rules: &Path, watched: &[PathBuf]) -> bool {
    let name = changed.file_name();
    name.is_some()
        && std::iter::once(rules)
            .chain(watched.iter().map(PathBuf::as_path))
            .any(|w| w.file_name() == name)
}
