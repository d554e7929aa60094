//! Live reload: the rules in force are swapped atomically when the file changes (or on
//! SIGHUP), only when the new file is valid; a bad file is logged and counted, and the last
//! good rules stay.
//!
//! The watcher looks at the routing file and the lists it points to, and at nothing else: the
//! files are polled (their time stamps and contents, every second) rather than their folder
//! watched, so a busy neighbour in the folder (the database, its journal) never wakes it.

use crate::telemetry::Metrics;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use notify::{Config, PollWatcher, RecursiveMode, Watcher};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::compile::error::RulesError;
use super::last_good::LastGood;
use super::model::rules::CompiledRules;

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

impl ReloadStatus {
    /// Its name, as `/readyz` and the console's rules page show it.
    pub fn state(&self) -> &'static str {
        match self {
            ReloadStatus::Initial { .. } => "initial",
            ReloadStatus::Reloaded { .. } => "reloaded",
            ReloadStatus::Refused { .. } => "refused",
        }
    }

    /// The status as `/readyz` shows it: `state`, the version in force, and a refusal's
    /// problems.
    pub fn describe(&self) -> serde_json::Value {
        let mut out = serde_json::json!({"state": self.state()});
        match self {
            ReloadStatus::Initial { version } | ReloadStatus::Reloaded { version } => {
                out["version"] = version.as_str().into();
            }
            ReloadStatus::Refused { version, error } => {
                out["version"] = version.as_str().into();
                out["error"] = error.as_str().into();
            }
        }
        out
    }
}

/// The rules in force, shared by every stage; cloning shares the same rules.
#[derive(Clone)]
pub struct RulesHandle {
    rules: Arc<ArcSwap<CompiledRules>>,
    status: Arc<watch::Sender<ReloadStatus>>,
    ignored: Arc<AtomicU64>,
    metrics: Metrics,
    last_good: Option<LastGood>,
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
            ignored: Arc::new(AtomicU64::new(0)),
            metrics: Metrics::default(),
            last_good: None,
        }
    }

    /// Starts with the last good rules because the routing file did not load (`error`, every
    /// problem): the status says so from the start, until a reload succeeds.
    pub fn on_last_good(rules: CompiledRules, error: String) -> RulesHandle {
        let handle = RulesHandle::new(rules);
        let version = handle.current().version().to_string();
        handle
            .status
            .send_replace(ReloadStatus::Refused { version, error });
        handle
    }

    /// The same handle keeping each set of rules it loads as the last good ones (and the
    /// rules in force now, unless they are already that copy).
    pub fn kept_in(self, last_good: LastGood) -> RulesHandle {
        let on_copy = matches!(*self.status.borrow(), ReloadStatus::Refused { .. });
        if !on_copy {
            keep(&last_good, &self.current());
        }
        RulesHandle {
            last_good: Some(last_good),
            ..self
        }
    }

    /// The same handle counting its reloads in the daemon's `metrics`.
    pub fn counted_in(self, metrics: Metrics) -> RulesHandle {
        RulesHandle { metrics, ..self }
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

    /// How many changes to files the rules do not come from reached the watcher (also
    /// `leadgate_rules_watch_ignored_total`): none, as long as it watches only their files.
    pub fn ignored_changes(&self) -> u64 {
        self.ignored.load(Ordering::Relaxed)
    }

    fn ignored_change(&self) {
        self.ignored.fetch_add(1, Ordering::Relaxed);
        (self
            .metrics
            .counter("leadgate_rules_watch_ignored_total", &[]))
        .increment(1);
    }

    /// Re-reads `path`; swaps the rules in when valid, otherwise logs, counts, and keeps the
    /// rules in force.
    pub fn reload(&self, path: &Path) -> Result<Arc<CompiledRules>, RulesError> {
        match CompiledRules::load(path) {
            Ok(rules) => {
                let rules = Arc::new(rules);
                self.rules.store(rules.clone());
                if let Some(last_good) = &self.last_good {
                    keep(last_good, &rules);
                }
                (self.metrics.counter("leadgate_rules_reloads_total", &[])).increment(1);
                tracing::info!(file = %path.display(), version = rules.version(), "routing rules reloaded");
                self.status.send_replace(ReloadStatus::Reloaded {
                    version: rules.version().to_string(),
                });
                Ok(rules)
            }
            Err(error) => {
                (self
                    .metrics
                    .counter("leadgate_rules_reload_failures_total", &[]))
                .increment(1);
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

/// Keeps `rules` as the last good ones; a failure is logged, never in the way of routing.
fn keep(last_good: &LastGood, rules: &CompiledRules) {
    if let Err(error) = last_good.keep(rules) {
        tracing::warn!(%error, version = rules.version(), "the last good routing rules were not kept");
    }
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The file watcher could not be set up.
    #[error("cannot watch {path} for changes: {source}")]
    Watch {
        /// The file watched.
        path: PathBuf,
        /// The cause.
        source: notify::Error,
    },
    /// The SIGHUP handler could not be installed.
    #[error("cannot listen for SIGHUP: {0}")]
    Signal(std::io::Error),
}

/// How often the watched files are looked at.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long the files must be quiet before they are re-read (an editor saving in several
/// steps, or the routing file and a list saved together).
const DEBOUNCE: Duration = Duration::from_millis(300);

/// What makes the rules reload (`[routing] watch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloads {
    /// A change to a file they come from, and SIGHUP (the default).
    OnChangeAndSighup,
    /// SIGHUP only (`watch = false`: files edited in place, a deploy that signals).
    OnSighupOnly,
}

/// Reloads the rules at `path` into `handle` whenever a file they come from changes (with
/// [`Reloads::OnChangeAndSighup`]), and on SIGHUP, until `shutdown`. Each file is polled by its
/// path, not by the file it was, so a save that writes a new file and renames it over the old
/// one is seen like any other, and other files in the folder are never looked at.
pub async fn watch_rules(
    path: PathBuf,
    handle: RulesHandle,
    shutdown: CancellationToken,
    reloads: Reloads,
) -> Result<(), WatchError> {
    let (tx, mut rx) = mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    let mut watcher = match reloads {
        Reloads::OnSighupOnly => None,
        Reloads::OnChangeAndSighup => {
            let config = Config::default()
                .with_poll_interval(POLL_INTERVAL)
                .with_compare_contents(true);
            let tx = tx.clone();
            let watcher = PollWatcher::new(
                move |r| {
                    // The receiver is gone only when the watcher stops.
                    let _ = tx.send(r);
                },
                config,
            )
            .map_err(|source| WatchError::Watch {
                path: path.clone(),
                source,
            })?;
            Some(watcher)
        }
    };
    // Kept open so that, with no watcher, the channel waits rather than ends.
    let _open = tx;
    let mut files = Files::default();
    if let Some(watcher) = watcher.as_mut() {
        files.follow(watcher, &path, &handle, &[])?;
    }
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(WatchError::Signal)?;
    tracing::info!(file = %path.display(), ?reloads, "watching routing rules for changes");
    // On the last good rules, the file is read once more now that it is watched: a fix saved
    // after the daemon read it and before the watcher was in place (while the store
    // connected) would otherwise never be seen, since the watcher starts from what it finds.
    let on_last_good = matches!(*handle.status().borrow(), ReloadStatus::Refused { .. });
    let mut due = (on_last_good && watcher.is_some()).then(tokio::time::Instant::now);
    let mut last_error = String::new();
    loop {
        let quiet = async move {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading routing rules");
                let waiting = refused_lists(handle.reload(&path));
                if let Some(watcher) = watcher.as_mut() {
                    files.refollow(watcher, &path, &handle, &waiting);
                }
            }
            () = quiet => {
                due = None;
                let waiting = refused_lists(handle.reload(&path));
                if let Some(watcher) = watcher.as_mut() {
                    files.refollow(watcher, &path, &handle, &waiting);
                }
            }
            event = rx.recv() => match event {
                Some(Ok(event)) => {
                    last_error.clear();
                    if event.paths.iter().any(|p| files.watched.contains(p)) {
                        due = Some(tokio::time::Instant::now() + DEBOUNCE);
                    } else {
                        handle.ignored_change();
                    }
                }
                Some(Err(error)) => {
                    // A missing file fails every poll: say so once, not every second.
                    let text = error.to_string();
                    if text != last_error {
                        tracing::warn!(%error, "routing rules watcher error");
                        last_error = text;
                    }
                }
                None => break,
            },
        }
    }
    Ok(())
}

/// The lists a refused file names: watched until the file is taken, so creating or mending
/// the list it waits for reloads it as an edit of the file would.
fn refused_lists(reloaded: Result<Arc<CompiledRules>, RulesError>) -> Vec<PathBuf> {
    match reloaded {
        Err(RulesError::Invalid { lists, .. }) => lists,
        _ => Vec::new(),
    }
}

/// The files whose changes reload the rules: the routing file, the lists of the rules in
/// force, and the lists a refused file names.
#[derive(Debug, Default)]
struct Files {
    watched: Vec<PathBuf>,
    /// What the watcher polls: each of those, or a missing list's folder (a file that does not
    /// exist cannot be polled; its folder tells when it appears).
    polled: Vec<PathBuf>,
}

impl Files {
    /// Polls the files the rules in force come from and the lists `waiting` names, and stops
    /// polling those no longer wanted (a list taken out of the rules).
    fn follow(
        &mut self,
        watcher: &mut PollWatcher,
        path: &Path,
        handle: &RulesHandle,
        waiting: &[PathBuf],
    ) -> Result<(), WatchError> {
        let rules = handle.current();
        let mut wanted = vec![path.to_path_buf()];
        for f in rules.watched_files().iter().chain(waiting) {
            if !wanted.contains(f) {
                wanted.push(f.clone());
            }
        }
        let mut polled: Vec<PathBuf> = Vec::with_capacity(wanted.len());
        for f in &wanted {
            // A file that is not there (the routing file renamed away, a list not written
            // yet) is looked for in its folder: a watcher given a missing path never sees it
            // come back.
            let target = match f.exists() {
                true => f.clone(),
                false => match f.parent() {
                    Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                    _ => PathBuf::from("."),
                },
            };
            if !polled.contains(&target) {
                polled.push(target);
            }
        }
        for old in &self.polled {
            if !polled.contains(old) {
                let _ = watcher.unwatch(old);
            }
        }
        for new in &polled {
            if !self.polled.contains(new) {
                watcher
                    .watch(new, RecursiveMode::NonRecursive)
                    .map_err(|source| WatchError::Watch {
                        path: new.clone(),
                        source,
                    })?;
            }
        }
        self.watched = wanted;
        self.polled = polled;
        Ok(())
    }

    /// [`Files::follow`] after a reload: a file that cannot be polled is logged, and the others
    /// are still polled.
    fn refollow(
        &mut self,
        watcher: &mut PollWatcher,
        path: &Path,
        handle: &RulesHandle,
        waiting: &[PathBuf],
    ) {
        if let Err(error) = self.follow(watcher, path, handle, waiting) {
            tracing::warn!(%error, "routing rules watcher error");
        }
    }
}
