//! The daemon's start and graceful shutdown: the stages wired together through the store.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::deliver::{SinkConfig, SinkKind, SinkRoute, SinkWorker};
use crate::health::Health;
use crate::http::{AppState, FormRuntime, router};
use crate::intake::Intake;
use crate::notify::{AlertMonitor, EmailNotifier, Notices, NotifyWorker, TelegramNotifier};
use crate::process::{ConversationWindows, Processor};
use crate::routing::{CompiledRules, RulesHandle, watch_rules};
use crate::shared::Shared;
use crate::sla::TapListener;
use crate::sla::{Actions, Reach, SlaWorker};
use crate::sources::blog;
use crate::sources::telegram::{WebhookBot, start_bots};
use crate::sources::vk::VkApi;
use crate::store::{NotificationStore, OpenStore, Store, StoreError, Stores};
use crate::telegram::BotClient;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// What a caller may change about a run (tests inject a clock and look for due work more often).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// The longest real time a stage sleeps without being woken before it looks again; work
    /// that falls due on the clock (retries, deadlines, held leads) wakes it through
    /// `Clock::sleep_until` sooner.
    pub max_idle: Duration,
    /// Where every component reports its state; a caller that keeps a clone watches the
    /// daemon (the tests wait on its stages' passes for quiet).
    pub health: Health,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            clock: Arc::new(SystemClock),
            max_idle: Duration::from_secs(30),
            health: Health::default(),
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

/// The tasks of one run and the tokens that stop them. Dropped on any return, it cancels
/// both, so a start that fails halfway leaves nothing running.
struct Running {
    /// The stages (sinks, processing, notifications, the SLA, the sweepers): stopped last.
    tasks: TaskTracker,
    stop: CancellationToken,
    /// The sources that pull (mailboxes, blogs, Telegram bots): stopped first, so intake can
    /// drain and end.
    pullers: TaskTracker,
    stop_pullers: CancellationToken,
}

impl Running {
    fn new() -> Running {
        Running {
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            pullers: TaskTracker::new(),
            stop_pullers: CancellationToken::new(),
        }
    }

    /// Starts a stage's task inside its span, so every line it logs says whose it is.
    fn spawn(&self, span: tracing::Span, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task.instrument(span));
    }

    /// Stops the sources, lets intake commit what they handed over, then stops the stages,
    /// each within `grace`.
    async fn drain(&self, committer: tokio::task::JoinHandle<()>, grace: Duration) {
        self.stop_pullers.cancel();
        self.pullers.close();
        if tokio::time::timeout(grace, self.pullers.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "Polling sources did not stop within the grace; what they committed stays."
            );
        }
        // Every request has finished and its handle to intake is gone: the committer ends
        // after its last commit.
        let _ = committer.await;
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(grace, self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "Shutdown grace ran out; unfinished work stays in the store and resumes at the next start."
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_pullers.cancel();
        self.stop.cancel();
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
    let health = options.health.clone();
    register_posted_sources(&config, &health);
    let rules = RulesHandle::new(rules);
    let running = Running::new();
    announce_config(&config, &rules.current());

    let mut wakers = start_sinks(&config, &options, &store, &health, &running)?;
    let notes: Arc<dyn NotificationStore> = all.clone();
    let notices = Notices::new(&config.notify);
    let notify_wake = Arc::new(Notify::new());
    let managers_bot = match &config.notify.telegram {
        Some(t) => Some(TelegramNotifier::new(
            BotClient::new(&t.api_url, &t.token).map_err(|e| DaemonError::Notify(e.to_string()))?,
        )),
        None => None,
    };
    let notifying = start_notify_worker(
        &config,
        &options,
        &notes,
        managers_bot.clone(),
        &notify_wake,
        &health,
        &running,
    )?;
    if notifying {
        wakers.push(notify_wake.clone());
    }
    if config.watch_routing {
        start_rules_watcher(&config, &rules, &running);
    }
    let file_links = crate::files::links_of(&config.attachments, &*all).await?;
    wakers.push(start_file_keeper(
        &config, &options, &all, &health, &running,
    )?);
    warm_up_phones(&config);
    // Every commit that wakes the sinks may have set a deadline: it wakes the SLA too.
    let sla_wake = Arc::new(Notify::new());
    wakers.push(sla_wake.clone());

    let process_wake = Arc::new(Notify::new());
    let processor = processor_of(
        &config,
        &options,
        &store,
        &rules,
        &notices,
        &wakers,
        file_links.clone(),
    );
    let actions = Actions {
        store: store.clone(),
        rules: rules.clone(),
        clock: clock.clone(),
        sinks: processor.sinks.clone(),
        sink_wakers: wakers.clone(),
        notices: notices.clone(),
        reach: processor.reach.clone(),
    };
    running.spawn(
        tracing::info_span!("stage", name = "process"),
        processor.run(process_wake.clone(), health.clone(), running.stop.clone()),
    );
    let sla = SlaWorker {
        desk: actions.clone(),
        wake: sla_wake,
        max_idle: options.max_idle,
    };
    running.spawn(
        tracing::info_span!("stage", name = "sla"),
        sla.run(health.clone(), running.stop.clone()),
    );
    let managers_hook = start_managers_bot(
        &config,
        managers_bot,
        &actions,
        &rules,
        &store,
        &health,
        &running,
    );
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
        running.spawn(
            tracing::info_span!("stage", name = "alerts"),
            monitor.run(running.stop.clone()),
        );
    }
    let sweeper = crate::privacy::Sweeper {
        store: all.clone(),
        retention: config.retention.clone(),
        clock: clock.clone(),
        max_idle: options.max_idle,
        files: Some((
            all.clone(),
            crate::files::shelf_of(&config.storage.data_dir()),
        )),
    };
    running.spawn(
        tracing::info_span!("stage", name = "retention"),
        sweeper.run(health.clone(), running.stop.clone()),
    );

    let (intake, committer) = Intake::start(store.clone(), process_wake.clone());
    // The sources' handles to intake are their own: none is kept here, so the committer ends
    // once the sources and the requests have stopped.
    let shared = Shared {
        store: store.clone(),
        intake: intake.clone(),
        clock: clock.clone(),
        health: health.clone(),
    };
    let telegram = start_pullers(&config, shared, &running)?;
    let forms = form_runtimes(&config)?;
    start_limiter_sweeper(&forms, &running);
    let vk_names = vk_name_readers(&config)?;
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
        sink_wakers: Arc::new(wakers),
        actions,
        notices,
        notes,
        bodies: crate::http::BodyBudget::new(config.server.body_memory),
        managers_hook,
        console: all.clone(),
        process_wake: process_wake.clone(),
        file_links,
        files: all.clone(),
        shelf: crate::files::shelf_of(&config.storage.data_dir()),
        vk_names: Arc::new(vk_names),
    };
    tracing::info!(listen = %listener.local_addr()?, sinks = config.sinks.len(), forms = config.webforms.len(), mailboxes = config.email.iter().map(|e| e.mailboxes.len()).sum::<usize>(), blogs = config.wordpress.len() + config.feeds.len(), telegram_bots = config.telegram.len(), "leadgate is running.");
    crate::http::serve(listener, router(state), &config.server, shutdown).await;
    tracing::info!("Shutting down: intake stopped, draining.");
    running.drain(committer, grace).await;
    opened.close().await;
    tracing::info!("Stopped.");
    Ok(())
}

/// Sources that wait to be posted to have no task: they are listed from the start and
/// succeed with each item stored.
fn register_posted_sources(config: &Config, health: &Health) {
    let posted_to = (config.webforms.iter().map(|f| &f.id))
        .chain(config.vk.iter().map(|s| &s.id))
        .chain(config.whatsapp.iter().map(|s| &s.id));
    for id in posted_to {
        health.register(&format!("source:{id}"), "source");
    }
}

/// Logs at start what the admin should know about the config: managers nobody can notify,
/// unsigned doors, and where the config and the rules disagree.
fn announce_config(config: &Config, rules: &CompiledRules) {
    warn_unreachable_managers(rules, config);
    crate::config::warn_unsigned(config);
    let cross = crate::config::cross_check(config, rules, "leadgate.toml");
    for p in &cross.problems {
        tracing::warn!(problem = %p, "The config and the rules disagree (`leadgate check` lists it); running anyway.");
    }
    for note in &cross.notes {
        tracing::info!("{note}");
    }
}

/// Starts one worker per sink; their wakers, for the stages that queue deliveries.
fn start_sinks(
    config: &Config,
    options: &RunOptions,
    store: &Arc<dyn Store>,
    health: &Health,
    running: &Running,
) -> Result<Vec<Arc<Notify>>, DaemonError> {
    let mut workers = Vec::new();
    for sink in &config.sinks {
        let worker =
            SinkWorker::new(sink, options.max_idle).map_err(|message| DaemonError::Sink {
                sink: sink.id.clone(),
                message,
            })?;
        workers.push((sink.id.clone(), worker));
    }
    let wakers = workers.iter().map(|(_, w)| w.waker()).collect();
    for (id, worker) in workers {
        let task = worker.run(
            store.clone(),
            options.clock.clone(),
            health.clone(),
            running.stop.clone(),
        );
        running.spawn(tracing::info_span!("sink", id = %id), task);
    }
    Ok(wakers)
}

/// Starts the worker that sends managers' cards, alerts and answers to people, when any of
/// them has somewhere to go; whether it started.
fn start_notify_worker(
    config: &Config,
    options: &RunOptions,
    notes: &Arc<dyn NotificationStore>,
    managers_bot: Option<TelegramNotifier>,
    wake: &Arc<Notify>,
    health: &Health,
    running: &Running,
) -> Result<bool, DaemonError> {
    let mailer = match &config.notify.email {
        Some(e) => Some(EmailNotifier::new(e).map_err(|e| DaemonError::Notify(e.to_string()))?),
        None => None,
    };
    let people =
        crate::notify::People::of(&config.whatsapp, &config.vk).map_err(DaemonError::Notify)?;
    if managers_bot.is_none() && mailer.is_none() && people.is_none() {
        return Ok(false);
    }
    let worker = NotifyWorker {
        store: notes.clone(),
        telegram: managers_bot,
        email: mailer,
        people,
        clock: options.clock.clone(),
        wake: wake.clone(),
        max_idle: options.max_idle,
    };
    running.spawn(
        tracing::info_span!("stage", name = "notify"),
        worker.run(health.clone(), running.stop.clone()),
    );
    Ok(true)
}

/// Reloads the rules on SIGHUP and on file changes.
fn start_rules_watcher(config: &Config, rules: &RulesHandle, running: &Running) {
    let (file, handle, stop) = (
        config.routing_file.clone(),
        rules.clone(),
        running.stop.clone(),
    );
    running.spawn(tracing::info_span!("stage", name = "rules"), async move {
        // Without the watcher, SIGHUP and file changes no longer reload: say so loudly.
        if let Err(e) = watch_rules(file, handle, stop).await {
            tracing::error!(error = %e, "The routing rules watcher stopped; rules will not reload.");
        }
    });
}

/// Starts the keeper that copies the files people send onto the shelf; its waker.
fn start_file_keeper(
    config: &Config,
    options: &RunOptions,
    all: &Arc<dyn Stores>,
    health: &Health,
    running: &Running,
) -> Result<Arc<Notify>, DaemonError> {
    let wake = Arc::new(Notify::new());
    let keeper = crate::files::FileKeeper {
        store: all.clone(),
        sources: config.source_settings(),
        fetcher: crate::files::Fetcher::of(&config.telegram, &config.whatsapp, &config.attachments)
            .map_err(|e| DaemonError::Files(e.to_string()))?,
        shelf: crate::files::shelf_of(&config.storage.data_dir()),
        max_file: config.attachments.max_file,
        max_per_lead: config.attachments.max_per_lead,
        clock: options.clock.clone(),
        wake: wake.clone(),
        max_idle: options.max_idle,
    };
    running.spawn(
        tracing::info_span!("stage", name = "files"),
        keeper.run(health.clone(), running.stop.clone()),
    );
    Ok(wake)
}

/// libphonenumber's metadata (hundreds of regexes) is built on first use: built at start, off
/// the runtime, the first form after a start does not wait a few hundred milliseconds.
fn warm_up_phones(config: &Config) {
    let phones = config.phones.clone();
    tokio::task::spawn_blocking(move || phones.to_e164("+7 916 123-45-67"));
}

/// The processing stage as `config` sets it up.
fn processor_of(
    config: &Config,
    options: &RunOptions,
    store: &Arc<dyn Store>,
    rules: &RulesHandle,
    notices: &Notices,
    wakers: &[Arc<Notify>],
    file_links: crate::files::FileLinks,
) -> Processor {
    let windows = (config
        .telegram
        .iter()
        .map(|t| (t.id.clone(), t.conversation_window)))
    .chain((config.vk.iter()).map(|s| (s.id.clone(), s.conversation_window)))
    .chain((config.whatsapp.iter()).map(|s| (s.id.clone(), s.conversation_window)))
    .chain((config.webforms.iter()).map(|s| (s.id.clone(), s.conversation_window)));
    Processor {
        store: store.clone(),
        rules: rules.clone(),
        clock: options.clock.clone(),
        phones: config.phones.clone(),
        own_contacts: config.own_contacts.clone(),
        sources: config.source_settings(),
        sinks: config.sinks.iter().map(sink_route).collect(),
        sink_wakers: wakers.to_vec(),
        notices: notices.clone(),
        replies: crate::notify::Replies::of(&config.whatsapp, &config.vk),
        reach: Reach::of(config.api_token.is_some(), &config.sinks, notices),
        conversation_windows: ConversationWindows {
            by_source: windows.collect(),
            ..ConversationWindows::default()
        },
        batch_size: config.batch_size,
        max_idle: options.max_idle,
        file_links,
    }
}

/// A sink as processing sees it: the events it takes, and the preset that shapes them.
fn sink_route(s: &SinkConfig) -> SinkRoute {
    SinkRoute {
        id: s.id.clone(),
        events: s.events.clone(),
        preset: match &s.kind {
            SinkKind::Webhook(w) => w.preset.clone(),
            SinkKind::File { .. } => None,
        },
    }
}

/// Starts listening to the managers' bot (their taps on the cards), polling unless Telegram
/// posts the taps to us; in webhook mode, the listener for the HTTP route.
fn start_managers_bot(
    config: &Config,
    bot: Option<TelegramNotifier>,
    actions: &Actions,
    rules: &RulesHandle,
    store: &Arc<dyn Store>,
    health: &Health,
    running: &Running,
) -> Option<TapListener> {
    let (bot, t) = (bot?, config.notify.telegram.as_ref()?);
    let listener = TapListener {
        bot,
        actions: actions.clone(),
        rules: rules.clone(),
        store: store.clone(),
        clock: actions.clock.clone(),
        labels: config.notify.language.labels(),
        poll_timeout: t.poll_timeout,
    };
    if t.webhook_secret.is_some() {
        // Telegram posts the taps to /hooks/telegram-managers: nothing polls.
        health.register("notify:telegram", "notify");
        return Some(listener);
    }
    running.spawn(
        tracing::info_span!("stage", name = "managers-bot"),
        listener.run(health.clone(), running.stop.clone()),
    );
    None
}

/// Starts the sources that pull (mailboxes, blogs, Telegram bots); the Telegram bots that
/// wait for Telegram's webhook instead, for the HTTP route.
fn start_pullers(
    config: &Config,
    shared: Shared,
    running: &Running,
) -> Result<HashMap<String, WebhookBot>, DaemonError> {
    let (pullers, stop) = (&running.pullers, &running.stop_pullers);
    crate::sources::email::imap::spawn(&config.email, &shared, pullers, stop);
    blog::start_pollers(&config.wordpress, &config.feeds, &shared, pullers, stop)?;
    start_bots(&config.telegram, &shared, pullers, stop).map_err(|(id, e)| DaemonError::Telegram {
        id,
        message: e.to_string(),
    })
}

/// Each form's settings with its connector and rate limiter.
fn form_runtimes(config: &Config) -> Result<HashMap<String, FormRuntime>, DaemonError> {
    let mut forms = HashMap::new();
    for f in &config.webforms {
        let connector =
            (config.connectors.inbound(&f.connector)).ok_or_else(|| DaemonError::Connector {
                source_id: f.id.clone(),
                connector: f.connector.clone(),
            })?;
        forms.insert(f.id.clone(), FormRuntime::new(f.clone(), connector));
    }
    Ok(forms)
}

/// Forgets idle clients every minute, so the forms' rate limiters' memory stays bounded.
fn start_limiter_sweeper(forms: &HashMap<String, FormRuntime>, running: &Running) {
    let limiters: Vec<_> = forms.values().map(|f| f.limiter.clone()).collect();
    let stop = running.stop.clone();
    running.spawn(
        tracing::info_span!("stage", name = "rate-limits"),
        async move {
            while !stop.is_cancelled() {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(60)) => {}
                    () = stop.cancelled() => {}
                }
                for l in &limiters {
                    l.retain_recent();
                }
            }
        },
    );
}

/// A VK API client per community that has a token, to read the names of the people who write.
fn vk_name_readers(config: &Config) -> Result<HashMap<String, VkApi>, DaemonError> {
    let mut readers = HashMap::new();
    for s in &config.vk {
        if let Some(reply) = &s.reply {
            let api = VkApi::new(&reply.api_url, reply.access_token.clone())
                .map_err(|e| DaemonError::Notify(e.to_string()))?;
            readers.insert(s.id.clone(), api);
        }
    }
    Ok(readers)
}
