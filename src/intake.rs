//! Intake: sources hand items here and wait until they are committed. Items arriving together
//! are committed together (group commit), so thousands of submissions a second each get a
//! durable commit before their `2xx` without one disk sync apiece. A polled source can hand
//! over a batch with its new position, committed in the same transaction.

use crate::store::{CursorWrite, Inserted, NewInbound, Store};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

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
    /// Starts the committer task; it ends when every handle is dropped, after committing what
    /// was queued. `processed` is raised after each commit to wake the processing stage.
    pub fn start(
        store: Arc<dyn Store>,
        processed: Arc<Notify>,
    ) -> (Intake, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(4096);
        let task = tokio::spawn(commit_loop(rx, store, processed));
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

async fn commit_loop(
    mut rx: mpsc::Receiver<Submission>,
    store: Arc<dyn Store>,
    processed: Arc<Notify>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let mut items = Vec::new();
        let mut cursors = Vec::new();
        let mut waiters = Vec::with_capacity(group.len());
        for s in group.drain(..) {
            waiters.push((s.done, s.items.len()));
            items.extend(s.items);
            cursors.extend(s.cursor);
        }
        metrics::histogram!("leadgate_intake_group_size").record(items.len() as f64);
        match store.insert_inbound(&items, &cursors).await {
            Ok(results) => {
                let fresh = results.iter().any(|r| matches!(r, Inserted::New(_)));
                let mut results = results.into_iter();
                for (waiter, n) in waiters {
                    let _ = waiter.send(Ok(results.by_ref().take(n).collect()));
                }
                if fresh {
                    processed.notify_one();
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
