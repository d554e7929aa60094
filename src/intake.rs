//! Intake: sources hand items here and wait until they are committed. Items arriving together
//! are committed together (group commit), so thousands of submissions a second each get a
//! durable commit before their `2xx` without one disk sync apiece.

use crate::store::{Inserted, NewInbound, Store};
use std::sync::Arc;
use tokio::sync::{Notify, mpsc, oneshot};

/// The intake queue's handle, cloned into every source.
#[derive(Debug, Clone)]
pub struct Intake {
    tx: mpsc::Sender<(NewInbound, oneshot::Sender<Result<Inserted, String>>)>,
}

/// The store could not commit the item: the source must not acknowledge it.
#[derive(Debug, thiserror::Error)]
#[error("the item could not be stored: {0}")]
pub struct IntakeError(pub String);

/// How many items one commit takes at most.
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
        let (done, wait) = oneshot::channel();
        self.tx
            .send((item, done))
            .await
            .map_err(|_| IntakeError("the daemon is shutting down".into()))?;
        wait.await
            .map_err(|_| IntakeError("the committer stopped".into()))?
            .map_err(IntakeError)
    }
}

async fn commit_loop(
    mut rx: mpsc::Receiver<(NewInbound, oneshot::Sender<Result<Inserted, String>>)>,
    store: Arc<dyn Store>,
    processed: Arc<Notify>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (items, waiters): (Vec<_>, Vec<_>) = group.drain(..).unzip();
        metrics::histogram!("leadgate_intake_group_size").record(items.len() as f64);
        match store.insert_inbound(&items).await {
            Ok(results) => {
                let fresh = results.iter().any(|r| matches!(r, Inserted::New(_)));
                for (waiter, result) in waiters.into_iter().zip(results) {
                    let _ = waiter.send(Ok(result));
                }
                if fresh {
                    processed.notify_one();
                }
            }
            Err(e) => {
                tracing::error!(error = %e, items = items.len(), "Cannot store inbound items; their senders get an error.");
                for waiter in waiters {
                    let _ = waiter.send(Err(e.to_string()));
                }
            }
        }
    }
}
