//! The retention sweeper: every `[retention] every` on the daemon's clock, removes what is
//! older than its kind's retention, in bounded batches so no transaction holds the write
//! connection long. Reports itself as `stage:retention` in `/readyz`.

use super::Retention;
use crate::clock::Clock;
use crate::files::Shelf;
use crate::health::Health;
use crate::store::{FileStore, PrivacyStore, RetentionKind, StoreError};
use crate::telemetry::Metrics;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Rows removed per transaction: small enough that intake's commits barely wait behind it.
const BATCH: u32 = 500;

/// Removes expired personal data in the background.
#[derive(Debug, Clone)]
pub struct Sweeper {
    /// The store.
    pub store: Arc<dyn PrivacyStore>,
    /// How long each kind is kept, and how often to look.
    pub retention: Retention,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The longest real time it sleeps before looking again (a sweep falling due on the
    /// clock wakes it).
    pub max_idle: Duration,
    /// The records of kept files and their folder: after a pass, the files no record keeps
    /// are removed once two passes in a row find them so ([`crate::files::remove_unkept`]).
    pub files: Option<(Arc<dyn FileStore>, Shelf)>,
    /// The files the last pass found that no record keeps.
    pub unkept: Arc<Mutex<HashSet<String>>>,
    /// Where what was removed is counted.
    pub metrics: Metrics,
}

impl Sweeper {
    /// Sweeps whenever a pass is due until `shutdown`.
    pub async fn run(self, health: Health, shutdown: CancellationToken) {
        const NAME: &str = "stage:retention";
        health.register(NAME, "stage");
        let mut last: Option<DateTime<Utc>> = None;
        while !shutdown.is_cancelled() {
            let now = self.clock.now();
            let due =
                last.is_none_or(|l| (now - l).to_std().unwrap_or_default() >= self.retention.every);
            // A look before the next sweep is due finds nothing to do.
            let mut found_work = false;
            let mut failed = false;
            if due {
                match self.run_once(&shutdown).await {
                    Ok(removed) => {
                        health.success(NAME, now, None);
                        last = Some(now);
                        found_work = removed > 0;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "The retention sweep failed; it is retried.");
                        health.failure(NAME, now, e.to_string());
                        found_work = true;
                        failed = true;
                    }
                }
            }
            health.pass(NAME, found_work);
            // The next sweep falls due `every` after the last on the clock; a failed one is
            // retried at the next look.
            let every = chrono::Duration::from_std(self.retention.every).ok();
            let next = match (last, every) {
                (Some(l), Some(e)) if !failed => l.checked_add_signed(e),
                _ => None,
            };
            let max_idle = self.max_idle.min(self.retention.every);
            health
                .idle(NAME, self.clock.as_ref(), next, max_idle, None, &shutdown)
                .await;
        }
        health.stopped(NAME);
    }

    /// One pass over every kind, each until nothing older is left; returns how many rows
    /// were removed.
    pub async fn run_once(&self, shutdown: &CancellationToken) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let mut total = 0;
        for kind in RetentionKind::ALL {
            let Some(keep) = self.retention.keep(kind) else {
                continue;
            };
            let Ok(keep) = chrono::Duration::from_std(keep) else {
                continue;
            };
            let before = now - keep;
            let mut removed = 0;
            loop {
                let n = self.store.sweep(kind, before, now, BATCH).await?;
                removed += n;
                if n < u64::from(BATCH) || shutdown.is_cancelled() {
                    break;
                }
            }
            if removed > 0 {
                (self.metrics)
                    .counter(
                        "leadgate_retention_removed_total",
                        &[("kind", kind.as_str())],
                    )
                    .increment(removed);
                tracing::info!(
                    kind = kind.as_str(),
                    removed,
                    "Retention: removed what was kept longer than configured."
                );
            }
            total += removed;
        }
        if let Some((files, shelf)) = &self.files {
            let before = self
                .unkept
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            match crate::files::remove_unkept(files.as_ref(), shelf, &before).await {
                Ok((removed, unkept)) => {
                    if removed > 0 {
                        tracing::info!(
                            files = removed,
                            "Retention: removed files no record keeps."
                        );
                    }
                    *self.unkept.lock().unwrap_or_else(PoisonError::into_inner) = unkept;
                }
                Err(e) => {
                    tracing::error!(error = %e, "Retention: files no record keeps could not be removed.");
                }
            }
        }
        Ok(total)
    }
}
