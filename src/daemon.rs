//! The daemon's start and graceful shutdown: the stages wired together through the store.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::deliver::SinkWorker;
use crate::health::Health;
use crate::http::{AppState, FormRuntime, router};
use crate::intake::Intake;
use crate::process::{ConversationWindows, Processor, SinkRoute, SourceSettings};
use crate::routing::{CompiledRules, RulesHandle};
use crate::sources::telegram::{BotContext, start_bots};
use crate::store::{SqliteStore, Store, StoreError};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a caller may change about a run (tests inject a clock and look for due work more often).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// The longest a stage sleeps without being woken before it looks for due work again
    /// (retries and held leads fall due on the clock, not on an event).
    pub max_idle: Duration,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            clock: Arc::new(SystemClock),
            max_idle: Duration::from_secs(30),
        }
    }
}

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// A sink could not be set up.
    #[error("sink {sink}: {message}")]
    Sink {
        /// The sink id.
        sink: String,
        /// What went wrong.
        message: String,
    },
    /// A source could not be set up.
    #[error("source {id}: {message}")]
    Source {
        /// The source id.
        id: String,
        /// What went wrong.
        message: String,
    },
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Http(#[from] std::io::Error),
}

/// One Prometheus recorder per process (several daemons in one test process share it).
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("A metrics recorder was already installed; /metrics shows only this one's metrics.");
            }
            handle
        })
        .clone()
}

/// Runs the daemon on `listener` until `shutdown` completes, then drains: the listener stops
/// taking requests, in-flight requests finish and their items are committed, and the stages
/// finish what they hold, up to `[server] shutdown_grace`.
pub async fn run(
    listener: TcpListener,
    config: Config,
    rules: CompiledRules,
    options: RunOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DaemonError> {
    let clock = options.clock.clone();
    let sqlite = SqliteStore::open(&config.storage.sqlite_path).await?;
    let store: Arc<dyn Store> = Arc::new(sqlite.clone());
    let health = Health::default();
    let rules = RulesHandle::new(rules);
    let stop = CancellationToken::new();
    let tasks = TaskTracker::new();

    let mut workers = Vec::new();
    for sink in &config.sinks {
        let worker =
            SinkWorker::new(sink, options.max_idle).map_err(|message| DaemonError::Sink {
                sink: sink.id.clone(),
                message,
            })?;
        workers.push(worker);
    }
    let sink_wakers: Vec<Arc<Notify>> = workers.iter().map(SinkWorker::waker).collect();
    for worker in workers {
        tasks.spawn(worker.run(store.clone(), clock.clone(), health.clone(), stop.clone()));
    }

    let process_wake = Arc::new(Notify::new());
    let processor = Processor {
        store: store.clone(),
        rules: rules.clone(),
        clock: clock.clone(),
        phones: config.phones.clone(),
        own_contacts: config.own_contacts.clone(),
        sources: SourceSettings {
            honeypots: config
                .webforms
                .iter()
                .map(|f| (f.id.clone(), f.honeypot.clone()))
                .collect(),
            telegram: config
                .telegram
                .iter()
                .map(|t| (t.id.clone(), t.options.clone()))
                .collect(),
        },
        sinks: config
            .sinks
            .iter()
            .map(|s| SinkRoute {
                id: s.id.clone(),
                events: s.events.clone(),
            })
            .collect(),
        sink_wakers: sink_wakers.clone(),
        conversation_windows: ConversationWindows {
            by_source: config
                .telegram
                .iter()
                .map(|t| (t.id.clone(), t.conversation_window))
                .collect(),
            ..ConversationWindows::default()
        },
        batch_size: config.batch_size,
        max_idle: options.max_idle,
    };
    tasks.spawn(processor.run(process_wake.clone(), health.clone(), stop.clone()));

    let (intake, committer) = Intake::start(store.clone(), process_wake);
    // Polling sources hold intake handles: they stop as soon as shutdown begins, so that intake
    // can drain.
    let sources_stop = CancellationToken::new();
    let bot_context = BotContext {
        intake: intake.clone(),
        store: store.clone(),
        clock: clock.clone(),
        health: health.clone(),
    };
    let telegram = match start_bots(&config.telegram, &bot_context, &tasks, &sources_stop) {
        Ok(webhooks) => webhooks,
        Err((id, e)) => {
            sources_stop.cancel();
            stop.cancel();
            return Err(DaemonError::Source {
                id,
                message: e.to_string(),
            });
        }
    };
    drop(bot_context);
    let forms: HashMap<String, FormRuntime> = config
        .webforms
        .iter()
        .map(|f| (f.id.clone(), FormRuntime::new(f.clone())))
        .collect();
    let limiters: Vec<_> = forms.values().map(|f| f.limiter.clone()).collect();
    tasks.spawn({
        let stop = stop.clone();
        async move {
            // Forget idle clients so the rate limiter's memory stays bounded.
            while !stop.is_cancelled() {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                    () = stop.cancelled() => {}
                }
                for l in &limiters {
                    l.retain_recent();
                }
            }
        }
    });
    let grace = config.server.shutdown_grace;
    let config = Arc::new(config);
    let state = AppState {
        config: config.clone(),
        intake,
        store: store.clone(),
        clock: clock.clone(),
        health: health.clone(),
        rules,
        forms: Arc::new(forms),
        telegram: Arc::new(telegram),
        metrics: metrics_handle(),
        sink_wakers: Arc::new(sink_wakers),
    };
    tracing::info!(listen = %listener.local_addr()?, sinks = config.sinks.len(), forms = config.webforms.len(), telegram_bots = config.telegram.len(), "leadgate is running.");
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    tracing::info!("Shutting down: intake stopped, draining.");
    sources_stop.cancel();
    // Every request has finished and the polling sources are stopping: once their handles to
    // intake are gone, the committer ends after its last commit.
    let _ = committer.await;
    stop.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "Shutdown grace ran out; unfinished work stays in the store and resumes at the next start."
        );
    }
    sqlite.close().await;
    served?;
    tracing::info!("Stopped.");
    Ok(())
}
