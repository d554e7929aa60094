//! Work that must run on one replica at a time: a mailbox folder, a bot's updates, a blog's
//! polling, processing, the SLA timer, the alerts, the sweepers. Each runs only while this
//! replica holds its lease in the store; the keeper renews what it holds every [`ROUND`], and
//! a lease its holder stopped renewing (a replica that died) is free [`TERM`] after its last
//! renewal, when another replica's keeper takes it and starts the work there, from the cursor
//! the store has. A replica that stops gives its leases up, so another takes them at once.
//!
//! With one daemon (SQLite's case) every lease is simply this daemon's.

use crate::clock::{Clock, SystemClock};
use crate::health::Health;
use crate::store::Store;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

/// How long a lease lasts without being renewed: a dead replica's work moves to another
/// within this and one [`ROUND`].
pub const TERM: Duration = Duration::from_secs(10);

/// How often the keeper renews the leases it holds and asks for the ones it wants.
pub const ROUND: Duration = Duration::from_secs(2);

/// How long the keeper waits for one renewal: with one round before it, the work stops within
/// 3 rounds of the last renewal, well inside [`TERM`].
const RENEWAL_TIMEOUT: Duration = Duration::from_secs(4);

/// How long a source's published state counts: a replica that stopped publishing (it died)
/// has lost the source's lease by then, and the replica that took it publishes instead.
pub const PUBLISHED_FOR: Duration = Duration::from_secs(15);

/// How long work that ended by itself while its lease was held waits before it starts again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// This replica's leases: the ones its work wants and which of them it holds.
#[derive(Debug, Clone)]
pub struct Leases {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    holder: String,
    store: Arc<dyn Store>,
    /// Per wanted lease, whether this replica holds it (watched by the work it guards).
    wanted: Mutex<BTreeMap<String, watch::Sender<bool>>>,
    /// Raised when a lease is first wanted, so the keeper asks for it at once.
    asked: Notify,
}

impl Leases {
    /// The leases of the replica `holder` (its `[server] replica` id), kept in `store`.
    pub fn new(holder: String, store: Arc<dyn Store>) -> Leases {
        Leases {
            inner: Arc::new(Inner {
                holder,
                store,
                wanted: Mutex::new(BTreeMap::new()),
                asked: Notify::new(),
            }),
        }
    }

    /// This replica's id, as the store records it as the holder.
    pub fn holder(&self) -> &str {
        &self.inner.holder
    }

    /// The leases this replica holds now, by name (for `/readyz`).
    pub fn held(&self) -> Vec<String> {
        let wanted = self.wanted();
        (wanted.iter())
            .filter(|(_, held)| *held.borrow())
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn wanted(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, watch::Sender<bool>>> {
        (self.inner.wanted.lock()).unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `name` as wanted: whether this replica holds it, as the keeper learns it.
    fn want(&self, name: &str) -> watch::Receiver<bool> {
        let receiver = (self.wanted().entry(name.to_string()))
            .or_insert_with(|| watch::channel(false).0)
            .subscribe();
        self.inner.asked.notify_one();
        receiver
    }

    /// Stops wanting `name` and gives it up in the store.
    async fn give_up(&self, name: &str) {
        self.wanted().remove(name);
        if let Err(e) = self.inner.store.release_lease(self.holder(), name).await {
            tracing::warn!(lease = name, error = %e, "Cannot give the lease up; another replica takes it when it runs out.");
        }
    }

    /// Renews the leases held and asks for the ones wanted, every [`ROUND`], until `stop`.
    /// When the store cannot be reached (or does not answer within [`RENEWAL_TIMEOUT`]),
    /// every lease counts as lost: the work stops rather than run on beside a replica that
    /// took it over.
    pub async fn keep(self, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let names: Vec<String> = self.wanted().keys().cloned().collect();
            if !names.is_empty() {
                // The wall clock, not the daemon's: leases are kept between processes, and a
                // test moving business time must not expire them.
                let now = SystemClock.now();
                let until = now + chrono::Duration::from_std(TERM).unwrap_or_default();
                // A renewal that hangs counts as failed well before the lease runs out, so
                // the work here has stopped by the time another replica may take it.
                let renewal = (self.inner.store).hold_leases(self.holder(), &names, now, until);
                let held = match tokio::time::timeout(RENEWAL_TIMEOUT, renewal).await {
                    Ok(Ok(held)) => held,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "Cannot renew the leases; the work they guard stops until the store answers.");
                        Vec::new()
                    }
                    Err(_) => {
                        tracing::warn!(
                            "Renewing the leases took too long; the work they guard stops until the store answers."
                        );
                        Vec::new()
                    }
                };
                for (name, sender) in self.wanted().iter() {
                    sender.send_if_modified(|was| {
                        let now_held = held.contains(name);
                        std::mem::replace(was, now_held) != now_held
                    });
                }
            }
            tokio::select! {
                () = tokio::time::sleep(ROUND) => {}
                () = self.inner.asked.notified() => {}
                () = stop.cancelled() => {}
            }
        }
    }

    /// Publishes the states of the sources this replica runs (`health`) every [`ROUND`]
    /// until `stop`, so the alerts monitor, on whichever replica holds its lease, sees a
    /// source failing here ([`crate::store::LeaseStore::publish_sources`]). Only where
    /// replicas share the store: one daemon's monitor reads its own health.
    pub async fn publish_sources(self, health: Health, stop: CancellationToken) {
        while !stop.is_cancelled() {
            let states = health.running_sources();
            if !states.is_empty() {
                // The wall clock, as for the leases themselves.
                let published =
                    (self.inner.store).publish_sources(self.holder(), &states, SystemClock.now());
                match tokio::time::timeout(RENEWAL_TIMEOUT, published).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "Cannot publish the sources' states for the other replicas' alerts.");
                    }
                    Err(_) => tracing::warn!(
                        "Publishing the sources' states for the other replicas' alerts took too long."
                    ),
                }
            }
            tokio::select! {
                () = tokio::time::sleep(ROUND) => {}
                () = stop.cancelled() => {}
            }
        }
    }

    /// Runs the work `task` makes whenever this replica holds the lease `name`, until `stop`:
    /// the work gets a signal that fires when the lease is lost or the daemon stops, and a
    /// new run starts (reading its position from the store again) when the lease comes back.
    /// The lease is given up once the work has stopped.
    pub async fn run_while_held<F, Fut>(self, name: String, stop: CancellationToken, task: F)
    where
        F: Fn(CancellationToken) -> Fut,
        Fut: Future<Output = ()>,
    {
        let mut held = self.want(&name);
        while !stop.is_cancelled() {
            tokio::select! {
                got = held.wait_for(|h| *h) => if got.is_err() { break },
                () = stop.cancelled() => break,
            }
            tracing::info!(lease = %name, replica = self.holder(), "This replica holds the lease: the work starts here.");
            let own = stop.child_token();
            let mut run = std::pin::pin!(task(own.clone()));
            let lost = tokio::select! {
                () = run.as_mut() => false,
                _ = held.wait_for(|h| !*h) => true,
            };
            if lost {
                tracing::warn!(lease = %name, "The lease was lost: the work stops here and goes on where another replica holds it.");
                own.cancel();
                run.await;
            } else if !stop.is_cancelled() {
                tracing::warn!(lease = %name, "The work ended by itself; it starts again.");
                tokio::select! {
                    () = tokio::time::sleep(RESTART_AFTER) => {}
                    () = stop.cancelled() => {}
                }
            }
        }
        self.give_up(&name).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqliteStore;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Starts `leases`' keeper and the work "job", which marks `running` while it runs.
    fn start(leases: &Leases, stop: &CancellationToken, running: &Arc<AtomicBool>) {
        tokio::spawn(leases.clone().keep(stop.clone()));
        let running = running.clone();
        let job = move |own: CancellationToken| {
            let running = running.clone();
            async move {
                running.store(true, Ordering::SeqCst);
                own.cancelled().await;
                running.store(false, Ordering::SeqCst);
            }
        };
        tokio::spawn((leases.clone()).run_while_held("job".into(), stop.clone(), job));
    }

    /// Waits up to 10 s for `f` to hold.
    async fn until(f: impl Fn() -> bool) -> bool {
        for _ in 0..1000 {
            if f() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    #[tokio::test]
    async fn work_runs_on_one_holder_moves_when_given_up_and_stops_when_the_lease_is_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(&dir.path().join("t.db"))
                .await
                .expect("open"),
        );
        let (a, b) = (
            Leases::new("a".into(), store.clone()),
            Leases::new("b".into(), store.clone()),
        );
        let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
        let (on_a, on_b) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        start(&a, &stop_a, &on_a);
        assert!(
            until(|| on_a.load(Ordering::SeqCst)).await,
            "a took the free lease"
        );
        start(&b, &stop_b, &on_b);
        assert!(until(|| b.wanted().contains_key("job")).await);
        assert_eq!(a.held(), ["job"]);

        // a stops: it gives the lease up and b's keeper takes it on its next round.
        stop_a.cancel();
        assert!(
            until(|| on_b.load(Ordering::SeqCst)).await,
            "b took the work over"
        );
        assert!(!on_a.load(Ordering::SeqCst), "never both at once");
        assert_eq!(b.held(), ["job"]);

        // Another holder has it now (b's ran out, say): b stops its work at its next round.
        store.release_lease("b", "job").await.expect("release");
        let now = SystemClock.now();
        let hour = now + chrono::Duration::hours(1);
        let taken = store.hold_leases("c", &["job".into()], now, hour).await;
        assert_eq!(taken.expect("hold"), ["job"]);
        assert!(
            until(|| !on_b.load(Ordering::SeqCst)).await,
            "b stopped the work"
        );
        assert!(b.held().is_empty());
        stop_b.cancel();
    }
}
