//! The daemon's start and graceful shutdown: the stages wired together through the store.

use crate::clock::{Clock, SystemClock};
use crate::config::{Config, SinkKind};
use crate::deliver::SinkWorker;
use crate::health::Health;
use crate::http::{AppState, FormRuntime, router};
use crate::intake::Intake;
use crate::notify::{
    AlertMonitor, EmailNotifier, Notices, NotifyWorker, TapListener, TelegramNotifier,
};
use crate::process::{ConversationWindows, Processor, SinkRoute, SourceSettings};
use crate::routing::{CompiledRules, RulesHandle, watch_rules};
use crate::sla::{Actions, Reach, SlaWorker};
use crate::sources::blog;
use crate::sources::email::imap::ImapDeps;
use crate::sources::telegram::{BotApi, BotContext, start_bots};
use crate::store::{NotificationStore, OpenStore, Store, StoreError};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
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
    /// A form names a connector the catalogue does not have (only when a `Config` was built
    /// by hand: validation refuses it).
    #[error("source {source_id}: unknown connector {connector:?}")]
    Connector {
        /// The source id.
        source_id: String,
        /// The connector it names.
        connector: String,
    },
    /// A polled source could not be set up.
    #[error(transparent)]
    Source(#[from] blog::StartError),
    /// A Telegram bot could not be set up.
    #[error("source {id}: {message}")]
    Telegram {
        /// The source id.
        id: String,
        /// What went wrong.
        message: String,
    },
    /// The managers' bot or the SMTP server could not be set up.
    #[error("notify: {0}")]
    Notify(String),
    /// The file keeper could not be set up.
    #[error("attachments: {0}")]
    Files(String),
    /// The HTTP server failed.
    #[error("the HTTP server failed: {0}")]
    Http(#[from] std::io::Error),
}

/// Says at start which managers will not be told of their leads because a channel they
/// choose in `routing.toml` has no `[notify.*]` section here.
fn warn_unreachable_managers(rules: &CompiledRules, config: &Config) {
    use crate::routing::NotifyChannel;
    if config.notify.telegram.is_none() && config.notify.email.is_none() {
        tracing::info!(
            "Manager notifications are off (no [notify.telegram] or [notify.email]): managers see their leads in the CRM only."
        );
        return;
    }
    for m in rules.managers() {
        for c in &m.notify {
            let configured = match c {
                NotifyChannel::Telegram => config.notify.telegram.is_some(),
                NotifyChannel::Email => config.notify.email.is_some(),
            };
            if !configured {
                tracing::warn!(manager = %m.id, channel = ?c, "The manager is to be notified on a channel without a [notify] section; they will see leads only in the CRM.");
            }
        }
    }
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
    let opened = OpenStore::open(&config.storage).await?;
    let all = opened.shared();
    let store: Arc<dyn Store> = all.clone();
    let health = Health::default();
    // Sources that wait to be posted to have no task: they are listed from the start and
    // succeed with each item stored.
    let posted_to = (config.webforms.iter().map(|f| &f.id))
        .chain(config.vk.iter().map(|s| &s.id))
        .chain(config.whatsapp.iter().map(|s| &s.id));
    for id in posted_to {
        health.register(&format!("source:{id}"), "source");
    }
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
    let mut sink_wakers: Vec<Arc<Notify>> = workers.iter().map(SinkWorker::waker).collect();
    for worker in workers {
        tasks.spawn(worker.run(store.clone(), clock.clone(), health.clone(), stop.clone()));
    }
    let notes: Arc<dyn NotificationStore> = all.clone();
    let notices = Notices::new(&config.notify);
    let reach = Reach::of(&config, &notices);
    let notify_wake = Arc::new(Notify::new());
    let managers_bot = match &config.notify.telegram {
        Some(t) => Some(TelegramNotifier::new(
            BotApi::new(&t.api_url, t.token.clone())
                .map_err(|e| DaemonError::Notify(e.to_string()))?,
        )),
        None => None,
    };
    let mailer = match &config.notify.email {
        Some(e) => Some(EmailNotifier::new(e).map_err(|e| DaemonError::Notify(e.to_string()))?),
        None => None,
    };
    warn_unreachable_managers(&rules.current(), &config);
    crate::config::warn_unsigned(&config);
    let cross = crate::config::cross_check(&config, &rules.current(), "leadgate.toml");
    for p in &cross.problems {
        tracing::warn!(problem = %p, "The config and the rules disagree (`leadgate check` lists it); running anyway.");
    }
    for note in &cross.notes {
        tracing::info!("{note}");
    }
    let people = crate::notify::People::of(&config).map_err(DaemonError::Notify)?;
    if managers_bot.is_some() || mailer.is_some() || people.is_some() {
        sink_wakers.push(notify_wake.clone());
        let worker = NotifyWorker {
            store: notes.clone(),
            telegram: managers_bot.clone(),
            email: mailer,
            people,
            clock: clock.clone(),
            wake: notify_wake.clone(),
            max_idle: options.max_idle,
        };
        tasks.spawn(worker.run(health.clone(), stop.clone()));
    }

    if config.watch_routing {
        let (file, handle, stop) = (config.routing_file.clone(), rules.clone(), stop.clone());
        tasks.spawn(async move {
            // Without the watcher, SIGHUP and file changes no longer reload: say so loudly.
            if let Err(e) = watch_rules(file, handle, stop).await {
                tracing::error!(error = %e, "The routing rules watcher stopped; rules will not reload.");
            }
        });
    }
    let file_links = crate::files::links_of(&config, &*all).await?;
    let files_wake = Arc::new(Notify::new());
    sink_wakers.push(files_wake.clone());
    tasks.spawn(
        crate::files::FileKeeper {
            store: all.clone(),
            sources: SourceSettings::from_config(&config),
            fetcher: crate::files::Fetcher::of(&config)
                .map_err(|e| DaemonError::Files(e.to_string()))?,
            shelf: crate::files::shelf_of(&config),
            max_file: config.attachments.max_file,
            max_per_lead: config.attachments.max_per_lead,
            clock: clock.clone(),
            wake: files_wake,
            max_idle: options.max_idle,
        }
        .run(health.clone(), stop.clone()),
    );
    // libphonenumber's metadata (hundreds of regexes) is built on first use: built here, off
    // the runtime, the first form after a start does not wait a few hundred milliseconds.
    let phones = config.phones.clone();
    tokio::task::spawn_blocking(move || phones.to_e164("+7 916 123-45-67"));
    let process_wake = Arc::new(Notify::new());
    let processor = Processor {
        store: store.clone(),
        rules: rules.clone(),
        clock: clock.clone(),
        phones: config.phones.clone(),
        own_contacts: config.own_contacts.clone(),
        sources: SourceSettings::from_config(&config),
        sinks: config
            .sinks
            .iter()
            .map(|s| SinkRoute {
                id: s.id.clone(),
                events: s.events.clone(),
                preset: match &s.kind {
                    SinkKind::Webhook(w) => w.preset.clone(),
                    SinkKind::File { .. } => None,
                },
            })
            .collect(),
        sink_wakers: sink_wakers.clone(),
        notices: notices.clone(),
        replies: crate::notify::Replies::of(&config),
        reach: reach.clone(),
        conversation_windows: ConversationWindows {
            by_source: (config.telegram.iter())
                .map(|t| (t.id.clone(), t.conversation_window))
                .chain(
                    config
                        .vk
                        .iter()
                        .map(|s| (s.id.clone(), s.conversation_window)),
                )
                .chain((config.whatsapp.iter()).map(|s| (s.id.clone(), s.conversation_window)))
                .chain((config.webforms.iter()).map(|s| (s.id.clone(), s.conversation_window)))
                .collect(),
            ..ConversationWindows::default()
        },
        batch_size: config.batch_size,
        max_idle: options.max_idle,
        file_links: file_links.clone(),
    };
    let sinks: Vec<SinkRoute> = processor.sinks.clone();
    tasks.spawn(processor.run(process_wake.clone(), health.clone(), stop.clone()));
    let actions = Actions {
        store: store.clone(),
        rules: rules.clone(),
        clock: clock.clone(),
        sinks,
        sink_wakers: sink_wakers.clone(),
        notices: notices.clone(),
        reach,
    };
    let sla = SlaWorker {
        desk: actions.clone(),
        max_idle: options.max_idle,
    };
    tasks.spawn(sla.run(health.clone(), stop.clone()));
    let mut managers_hook = None;
    if let (Some(bot), Some(t)) = (managers_bot, &config.notify.telegram) {
        let listener = TapListener {
            bot,
            actions: actions.clone(),
            rules: rules.clone(),
            store: store.clone(),
            clock: clock.clone(),
            labels: config.notify.language.labels(),
            poll_timeout: t.poll_timeout,
        };
        if t.webhook_secret.is_some() {
            // Telegram posts the taps to /hooks/telegram-managers: nothing polls.
            health.register("notify:telegram", "notify");
            managers_hook = Some(listener);
        } else {
            tasks.spawn(listener.run(health.clone(), stop.clone()));
        }
    }
    if config.notify.alerts.has_recipients() {
        let monitor = AlertMonitor {
            store: store.clone(),
            notes: notes.clone(),
            health: health.clone(),
            notices: notices.clone(),
            cfg: config.notify.alerts.clone(),
            clock: clock.clone(),
            wake: notify_wake.clone(),
            started: clock.now(),
            rules: rules.clone(),
        };
        tasks.spawn(monitor.run(stop.clone()));
    }

    tasks.spawn(
        crate::privacy::Sweeper {
            store: all.clone(),
            retention: config.retention.clone(),
            clock: clock.clone(),
            max_idle: options.max_idle,
            files: Some((all.clone(), crate::files::shelf_of(&config))),
        }
        .run(health.clone(), stop.clone()),
    );

    let (intake, committer) = Intake::start(store.clone(), process_wake.clone());
    // Channels that pull (mailboxes, blogs, Telegram bots) hold intake handles of their own: they stop first, so the
    // committer can drain and end.
    let pullers = TaskTracker::new();
    let stop_pullers = CancellationToken::new();
    crate::sources::email::imap::spawn(
        &config.email,
        &ImapDeps {
            store: store.clone(),
            intake: intake.clone(),
            clock: clock.clone(),
            health: health.clone(),
        },
        &pullers,
        &stop_pullers,
    );
    let started = blog::start_pollers(
        &config.wordpress,
        &config.feeds,
        &blog::PollDeps {
            intake: intake.clone(),
            store: store.clone(),
            clock: clock.clone(),
            health: health.clone(),
        },
        &pullers,
        &stop_pullers,
    );
    let bots = start_bots(
        &config.telegram,
        &BotContext {
            intake: intake.clone(),
            store: store.clone(),
            clock: clock.clone(),
            health: health.clone(),
        },
        &pullers,
        &stop_pullers,
    );
    pullers.close();
    if let Err(e) = started {
        stop_pullers.cancel();
        stop.cancel();
        return Err(e.into());
    }
    let telegram = match bots {
        Ok(webhooks) => webhooks,
        Err((id, e)) => {
            stop_pullers.cancel();
            stop.cancel();
            return Err(DaemonError::Telegram {
                id,
                message: e.to_string(),
            });
        }
    };
    let mut forms: HashMap<String, FormRuntime> = HashMap::new();
    for f in &config.webforms {
        let connector =
            config
                .connectors
                .inbound(&f.connector)
                .ok_or_else(|| DaemonError::Connector {
                    source_id: f.id.clone(),
                    connector: f.connector.clone(),
                })?;
        forms.insert(f.id.clone(), FormRuntime::new(f.clone(), connector));
    }
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
    let mut vk_names = HashMap::new();
    for s in &config.vk {
        if let Some(reply) = &s.reply {
            let api = crate::sources::vk::VkApi::new(&reply.api_url, reply.access_token.clone())
                .map_err(|e| DaemonError::Notify(e.to_string()))?;
            vk_names.insert(s.id.clone(), api);
        }
    }
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
        metrics: crate::telemetry::metrics_handle(),
        sink_wakers: Arc::new(sink_wakers),
        actions,
        notices,
        notes,
        bodies: crate::http::BodyBudget::new(config.server.body_memory),
        managers_hook,
        console: all.clone(),
        process_wake: process_wake.clone(),
        file_links,
        files: all.clone(),
        shelf: crate::files::shelf_of(&config),
        vk_names: Arc::new(vk_names),
    };
    tracing::info!(listen = %listener.local_addr()?, sinks = config.sinks.len(), forms = config.webforms.len(), mailboxes = config.email.iter().map(|e| e.mailboxes.len()).sum::<usize>(), blogs = config.wordpress.len() + config.feeds.len(), telegram_bots = config.telegram.len(), "leadgate is running.");
    crate::http::serve(listener, router(state), &config.server, shutdown).await;
    tracing::info!("Shutting down: intake stopped, draining.");
    stop_pullers.cancel();
    if tokio::time::timeout(grace, pullers.wait()).await.is_err() {
        tracing::warn!("Polling sources did not stop within the grace; what they committed stays.");
    }
    // Every request has finished and its handle to intake is gone: the committer ends after
    // its last commit.
    let _ = committer.await;
    stop.cancel();
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "Shutdown grace ran out; unfinished work stays in the store and resumes at the next start."
        );
    }
    opened.close().await;
    tracing::info!("Stopped.");
    Ok(())
}
