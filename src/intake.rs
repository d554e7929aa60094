//! Intake: sources hand items here and wait until they are committed. Items arriving together
//! are committed together (group commit), so thousands of submissions a second each get a
//! durable commit before their `2xx` without one disk sync apiece. A polled source can hand
//! over a batch with its new position, committed in the same transaction.

use crate::store::{CursorWrite, Gathered, Inserted, NewInbound, Store};
use crate::telemetry::Metrics;
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Items handed over together, the position they bring their source to, and who waits.
struct Submission {
    items: Vec<NewInbound>,
    cursor: Option<CursorWrite>,
    done: oneshot::Sender<Result<Vec<Inserted>, String>>,
}

/// The intake queue's handle, cloned into every source.
#[derive(Debug, Clone)]
pub struct Intake {
    tx: mpsc::Sender<Submission>,
}

/// The store could not commit the item: the source must not acknowledge it.
#[derive(Debug, thiserror::Error)]
#[error("the item could not be stored: {0}")]
pub struct IntakeError(pub String);

/// How many submissions one commit takes at most.
const MAX_GROUP: usize = 512;

impl Intake {
    /// Starts the committer task; once `close` is cancelled it takes nothing new, commits
    /// what was queued and ends (handles may outlive it: their submissions are then refused).
    /// `processed` is raised after each commit to wake the processing stage.
    pub fn start(
        store: Arc<dyn Store>,
        processed: Arc<Notify>,
        metrics: Metrics,
        close: CancellationToken,
    ) -> (Intake, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(4096);
        let committer = Committer {
            store,
            processed,
            metrics,
        };
        let task = tokio::spawn(committer.run(rx, close));
        (Intake { tx }, task)
    }

    /// Commits one item and returns once it is durable (or refused as a duplicate).
    pub async fn submit(&self, item: NewInbound) -> Result<Inserted, IntakeError> {
        let mut results = self.submit_batch(vec![item], None).await?;
        results
            .pop()
            .ok_or_else(|| IntakeError("the store answered for no item".into()))
    }

    /// Commits `items` and then `cursor` in one transaction, and returns once they are
    /// durable, with each item's result in order. The cursor never moves without its items.
    pub async fn submit_batch(
        &self,
        items: Vec<NewInbound>,
        cursor: Option<CursorWrite>,
    ) -> Result<Vec<Inserted>, IntakeError> {
        let (done, wait) = oneshot::channel();
        let items = items
            .into_iter()
            .map(NewInbound::with_bounded_key)
            .collect();
        self.tx
            .send(Submission {
                items,
                cursor,
                done,
            })
            .await
            .map_err(|_| IntakeError("the daemon is shutting down".into()))?;
        wait.await
            .map_err(|_| IntakeError("the committer stopped".into()))?
            .map_err(IntakeError)
    }
}

/// The one task that commits what the sources hand over.
struct Committer {
    store: Arc<dyn Store>,
    processed: Arc<Notify>,
    metrics: Metrics,
}

impl Committer {
    /// Commits groups until `close`, then the rest of the queue.
    async fn run(self, mut rx: mpsc::Receiver<Submission>, close: CancellationToken) {
        let mut group = Vec::with_capacity(MAX_GROUP);
        loop {
            let taken = tokio::select! {
                taken = rx.recv_many(&mut group, MAX_GROUP) => taken,
                () = close.cancelled() => {
                    rx.close();
                    rx.recv_many(&mut group, MAX_GROUP).await
                }
            };
            if taken == 0 {
                return;
            }
            self.commit(&mut group, &mut rx).await;
        }
    }

    /// Commits one group in one transaction and answers each of its senders. The group is
    /// taken when the store can start the commit: what was queued by then joins it.
    async fn commit(&self, group: &mut Vec<Submission>, rx: &mut mpsc::Receiver<Submission>) {
        let mut waiters = Vec::with_capacity(group.len());
        let started = std::time::Instant::now();
        let stored = {
            let mut gather = || {
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(s) => group.push(s),
                        Err(_) => break,
                    }
                }
                let mut taken = Gathered::default();
                for s in group.drain(..) {
                    waiters.push((s.done, s.items.len()));
                    taken.items.extend(s.items);
                    taken.cursors.extend(s.cursor);
                }
                taken
            };
            self.store.commit_gathered(&mut gather).await
        };
        let items: usize = waiters.iter().map(|(_, n)| n).sum();
        self.metrics
            .histogram("leadgate_intake_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        self.metrics
            .histogram("leadgate_intake_group_size")
            .record(items as f64);
        match stored {
            Ok(results) => {
                let fresh = results.iter().any(|r| matches!(r, Inserted::New(_)));
                let mut results = results.into_iter();
                for (waiter, n) in waiters {
                    let _ = waiter.send(Ok(results.by_ref().take(n).collect()));
                }
                if fresh {
                    self.processed.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, items, "Cannot store inbound items; their senders get an error.");
                for (waiter, _) in waiters {
                    let _ = waiter.send(Err(e.to_string()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, SystemClock};
    use crate::lead::Channel;
    use crate::store::{OpenStore, StorageConfig};
    use std::time::Duration;

    fn form(id: &str) -> NewInbound {
        NewInbound {
            id: id.into(),
            source: "site".into(),
            channel: Channel::Webform,
            dedupe_key: id.into(),
            received_at: SystemClock.now(),
            content_type: None,
            payload: id.as_bytes().to_vec(),
            meta: serde_json::json!({}),
        }
    }

    /// Intake takes its group once its commit can start: the forms that arrive while another
    /// writer (here a processing batch that has begun to write) holds the SQLite file's write
    /// turn join the commit of the one that came first, instead of waiting for it and then for
    /// a commit of their own.
    #[tokio::test]
    async fn forms_that_arrive_while_the_store_is_busy_join_one_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = OpenStore::open(&StorageConfig::Sqlite(dir.path().join("t.db")))
            .await
            .expect("open");
        let shared: Arc<dyn Store> = store.shared();
        let mut batch = shared.begin().await.expect("begin");
        (batch.set_cursor("rotation", "{}", SystemClock.now()))
            .await
            .expect("the batch writes, and holds the turn to its commit");
        let metrics = Metrics::new();
        let close = CancellationToken::new();
        let (intake, committer) = Intake::start(
            shared.clone(),
            Arc::new(Notify::new()),
            metrics.clone(),
            close.clone(),
        );
        let submit = |id: &'static str| {
            let intake = intake.clone();
            tokio::spawn(async move { intake.submit(form(id)).await })
        };
        let first = submit("f1");
        // The committer has taken the first form off its queue and waits for the turn.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let later = [submit("f2"), submit("f3")];
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!first.is_finished(), "the first form waits for the batch");
        batch.commit().await.expect("the batch commits");
        for (task, id) in std::iter::once(first).chain(later).zip(["f1", "f2", "f3"]) {
            let stored = tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("committed once the batch is")
                .expect("task")
                .expect("stored");
            assert!(
                matches!(stored, Inserted::New(ref got) if got == id),
                "{id}"
            );
        }
        let rendered = metrics.render();
        let value = |series: &str| {
            let prefix = format!("{series} ");
            (rendered.lines())
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.trim().parse::<f64>().ok())
        };
        assert_eq!(
            value("leadgate_intake_group_size_count"),
            Some(1.0),
            "one commit: {rendered}"
        );
        assert_eq!(
            value("leadgate_intake_group_size_sum"),
            Some(3.0),
            "of all three forms: {rendered}"
        );
        assert_eq!(
            value("leadgate_intake_commit_seconds_count"),
            Some(1.0),
            "its time is counted: {rendered}"
        );
        close.cancel();
        committer.await.expect("the committer ends");
        store.close().await;
    }
}
