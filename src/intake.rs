//! Intake: sources hand items here and wait until they are committed. Items arriving together
//! are committed together (group commit), so thousands of submissions a second each get a
//! durable commit before their `2xx` without one disk sync apiece. A polled source can hand
//! over a batch with its new position, committed in the same transaction.

use crate::store::{CursorWrite, Inserted, NewInbound, Store};
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
            self.commit(&mut group).await;
        }
    }

    /// Commits one group in one transaction and answers each of its senders.
    async fn commit(&self, group: &mut Vec<Submission>) {
        let mut items = Vec::new();
        let mut cursors = Vec::new();
        let mut waiters = Vec::with_capacity(group.len());
        for s in group.drain(..) {
            waiters.push((s.done, s.items.len()));
            items.extend(s.items);
            cursors.extend(s.cursor);
        }
        self.metrics
            .histogram("leadgate_intake_group_size")
            .record(items.len() as f64);
        match self.store.insert_inbound(&items, &cursors).await {
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
                tracing::error!(error = %e, items = items.len(), "Cannot store inbound items; their senders get an error.");
                for (waiter, _) in waiters {
                    let _ = waiter.send(Err(e.to_string()));
                }
            }
        }
    }
}
