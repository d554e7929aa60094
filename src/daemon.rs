//! The daemon's start and graceful shutdown: the stages wired together through the store.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::deliver::{SinkConfig, SinkKind, SinkRoute};
use crate::health::Health;
use crate::http::{AppParts, AppState, FormRuntime, router};
use crate::intake::Intake;
use crate::leases::Leases;
use crate::notify::{Notices, TelegramNotifier};
use crate::process::{ConversationWindows, Processor};
use crate::routing::{CompiledRules, LastGood, Reloads, RulesHandle, watch_rules};
use crate::shared::{Shared, StartError, Tasks};
use crate::sla::TapListener;
use crate::sla::{Actions, Reach, SlaWorker};
use crate::sources::registry::CHANNELS;
use crate::sources::replies::ReplyClients;
use crate::sources::webform::WebformSource;
use crate::sources::webhook::Webhooks;
use crate::store::{NotificationStore, OpenStore, StoreError, Stores};
use crate::telegram::BotClient;
use crate::telemetry::Metrics;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// What a caller may change about a run (tests inject a clock and look for due work more often).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Time and ids.
    pub clock: Arc<dyn Clock>,
    /// The longest real time a stage sleeps without being woken before it looks again; work
    /// that falls due on the clock (retries, deadlines, held leads) wakes it through
    /// `Clock::sleep_until` sooner.
    pub max_idle: Duration,
    /// How long processing lets items gather after a wake-up before it takes its batch
    /// ([`crate::process::GATHER_AFTER_WAKE`]; a test lengthens it to see one batch take all
    /// that came in that time).
    pub gather: Duration,
    /// Where every component reports its state; a caller that keeps a clone watches the
    /// daemon (the tests wait on its stages' passes for quiet).
    pub health: Health,
    /// Why the routing file did not load at start, when the rules given are the last good
    /// ones instead ([`crate::routing::LastGood`]); `None` when they are the file's.
    pub rules_refused: Option<String>,
}

impl Default for RunOptions {
    fn default() -> RunOptions {
        RunOptions {
            clock: Arc::new(SystemClock),
            max_idle: Duration::from_secs(30),
            gather: crate::process::GATHER_AFTER_WAKE,
            health: Health::default(),
            rules_refused: None,
        }
    }
}

/// Why the daemon could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The store could not be opened.
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    /// A source, sink or notifier could not be set up.
    #[error(transparent)]
    Component(#[from] StartError),
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

/// The tasks of one run and what stops them. Dropped on any return, it stops them all, so a
/// start that fails halfway leaves nothing running.
#[derive(Default)]
struct Running {
    /// The stages (sinks, processing, notifications, the SLA, the sweepers): stopped last.
    stages: Tasks,
    /// The sources that pull (mailboxes, blogs, Telegram bots): stopped first, so intake can
    /// drain and end.
    pullers: Tasks,
    /// Closes intake once nothing hands it items any more.
    close_intake: CancellationToken,
}

impl Running {
    /// Stops the sources, lets intake commit what they handed over, then stops the stages,
    /// each within `grace`.
    async fn drain(&self, committer: tokio::task::JoinHandle<()>, grace: Duration) {
        if !self.pullers.stop_within(grace).await {
            tracing::warn!(
                "Polling sources did not stop within the grace; what they committed stays."
            );
        }
        // Every request has finished and the sources have stopped: intake commits what it
        // holds and ends.
        self.close_intake.cancel();
        let _ = committer.await;
        if !self.stages.stop_within(grace).await {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "Shutdown grace ran out; unfinished work stays in the store and resumes at the next start."
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.pullers.stop();
        self.close_intake.cancel();
        self.stages.stop();
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
    let opened = OpenStore::open(&config.storage).await?;
    let all = opened.shared();
    let running = Running::default();
    let replica = config.server.replica_id(listener.local_addr()?.port());
    let leases = Leases::new(replica, all.clone());
    running.stages.spawn(
        tracing::info_span!("stage", name = "leases"),
        leases.clone().keep(running.stages.stopping()),
    );
    if matches!(opened, OpenStore::Postgres(_)) {
        running.stages.spawn(
            tracing::info_span!("stage", name = "sources-published"),
            (leases.clone()).publish_sources(options.health.clone(), running.stages.stopping()),
        );
    }
    let metrics = Metrics::new();
    let process_wake = Arc::new(Notify::new());
    let (intake, committer) = Intake::start(
        all.clone(),
        process_wake.clone(),
        metrics.clone(),
        running.close_intake.clone(),
    );
    let shared = Shared {
        store: all.clone(),
        intake,
        clock: options.clock.clone(),
        health: options.health.clone(),
        metrics,
        tasks: running.stages.clone(),
        leases,
    };
    let rules = match options.rules_refused.clone() {
        Some(error) => RulesHandle::on_last_good(rules, error),
        None => RulesHandle::new(rules),
    };
    let rules =
        (rules.counted_in(shared.metrics.clone())).kept_in(LastGood::in_data_dir(&config.data_dir));
    announce_config(&config, &rules.current());

    // One client per source that answers people: the notifier sends through them, and VK's
    // webhook reads the writer's name through the same community client.
    let replies = (config.reply_clients()).map_err(|e| StartError::of("notify", e))?;
    let answering = replies.clone().unwrap_or_default();
    let wiring = Wiring {
        config: &config,
        options: &options,
        shared: &shared,
        all: &all,
        rules: &rules,
    };
    let stages = wiring.start_stages(process_wake, replies).await?;
    let webhooks = start_sources(&config, &shared.on(&running.pullers), &answering)?;
    register_posted_sources(&config, &webhooks, &shared.health);
    let forms = form_runtimes(&config)?;
    let (per_minute, burst) = config.server.hook_rate;
    let hook_limiter = crate::http::HookLimiter::new(per_minute, burst);
    start_limiter_sweeper(&forms, &hook_limiter, &shared.tasks);
    let grace = config.server.shutdown_grace;
    let config = Arc::new(config);
    let state = AppState::new(AppParts {
        config: config.clone(),
        intake: shared.intake.clone(),
        store: shared.store.clone(),
        clock: shared.clock.clone(),
        health: shared.health.clone(),
        rules,
        forms: Arc::new(forms),
        webhooks: Arc::new(webhooks),
        metrics: shared.metrics.clone(),
        sink_wakers: Arc::new(stages.wakers),
        actions: stages.actions,
        notices: stages.notices,
        notes: all.clone(),
        bodies: crate::http::BodyBudget::new(config.server.body_memory),
        managers_hook: stages.managers_hook,
        console: all.clone(),
        process_wake: stages.process_wake,
        file_links: stages.file_links,
        files: all.clone(),
        shelf: crate::files::shelf_of(&config.data_dir),
        leases: shared.leases.clone(),
        hook_limiter,
    });
    let metrics = shared.metrics.clone();
    drop(shared);
    tracing::info!(listen = %listener.local_addr()?, sinks = config.sinks.len(), sources = config.sources.iter().count(), "leadgate is running.");
    crate::http::serve(listener, router(state), &config.server, &metrics, shutdown).await;
    tracing::info!("Shutting down: intake stopped, draining.");
    running.drain(committer, grace).await;
    opened.close().await;
    tracing::info!("Stopped.");
    Ok(())
}

/// What the running stages give the HTTP routes: the wakers, the actions managers and CRMs
/// take, the notices and the managers' webhook.
struct Stages {
    wakers: Vec<Arc<Notify>>,
    actions: Actions,
    notices: Notices,
    managers_hook: Option<TapListener>,
    process_wake: Arc<Notify>,
    file_links: crate::files::FileLinks,
}

/// What every stage is started from: the config, the run's options, the shared handles, the
/// whole store and the rules in force.
struct Wiring<'a> {
    config: &'a Config,
    options: &'a RunOptions,
    shared: &'a Shared,
    all: &'a Arc<dyn Stores>,
    rules: &'a RulesHandle,
}

/// The notifier's parts the other stages hand work to.
struct Notifier {
    notices: Notices,
    /// Wakes the notification worker (and the alerts, which queue through it).
    wake: Arc<Notify>,
    /// The managers' bot, whose taps the SLA desk answers.
    managers_bot: Option<TelegramNotifier>,
    notes: Arc<dyn NotificationStore>,
}

impl Wiring<'_> {
    /// Starts every stage, each in its span, in the order their work flows: the sinks, the
    /// notifier, the rules watcher, the file keeper, processing (woken by `process_wake`),
    /// the SLA, the managers' bot, the alerts and the retention sweeper. `replies` are the
    /// clients people are answered through.
    async fn start_stages(
        &self,
        process_wake: Arc<Notify>,
        replies: Option<ReplyClients>,
    ) -> Result<Stages, DaemonError> {
        let (config, shared) = (self.config, self.shared);
        let mut wakers = crate::deliver::start(&config.sinks, shared, self.options.max_idle)?;
        let notifier = self.start_notifier(replies, &mut wakers)?;
        start_rules_watcher(config, self.rules, &shared.tasks);
        let file_links = crate::files::links_of(&config.attachments, &**self.all).await?;
        // The keeper's first position is fixed before any source takes an item: read later
        // (it waits for the store behind the other stages), it could start past a first
        // item already processed and never keep that item's files.
        self.all.files_cursor().await?;
        wakers.push(self.start_file_keeper()?);
        warm_up_phones(config);
        // Processing wakes the SLA when it set a deadline; a manager's or the SLA's own
        // action may set one too, so the desk wakes it with the sinks.
        let sla_wake = Arc::new(Notify::new());
        let processor = self.processor(&notifier.notices, &wakers, &sla_wake, &file_links);
        wakers.push(sla_wake.clone());
        self.relay_wakes(&process_wake, &sla_wake);
        let actions = Actions {
            store: shared.store.clone(),
            rules: self.rules.clone(),
            clock: shared.clock.clone(),
            sinks: processor.sinks.clone(),
            sink_wakers: wakers.clone(),
            notices: notifier.notices.clone(),
            reach: processor.reach.clone(),
            metrics: shared.metrics.clone(),
        };
        self.start_processing(processor, &process_wake);
        self.start_sla(&actions, sla_wake);
        let managers_hook = self.start_managers_bot(notifier.managers_bot, &actions);
        let alerting = (
            notifier.notes,
            notifier.notices.clone(),
            self.rules.clone(),
            notifier.wake,
        );
        crate::notify::start_alerts(&config.notify.alerts, alerting, shared);
        self.start_retention();
        Ok(Stages {
            wakers,
            actions,
            notices: notifier.notices,
            managers_hook,
            process_wake,
            file_links,
        })
    }

    /// Starts the notification worker (its waker joins `wakers` when it runs): managers'
    /// cards and answers to people through `replies`.
    fn start_notifier(
        &self,
        replies: Option<ReplyClients>,
        wakers: &mut Vec<Arc<Notify>>,
    ) -> Result<Notifier, StartError> {
        let notify = &self.config.notify;
        let notes: Arc<dyn NotificationStore> = self.all.clone();
        let wake = Arc::new(Notify::new());
        let managers_bot = match &notify.telegram {
            Some(t) => Some(TelegramNotifier::new(
                BotClient::new(&t.api_url, &t.token).map_err(|e| StartError::of("notify", e))?,
            )),
            None => None,
        };
        let senders = crate::notify::Senders {
            managers_bot: managers_bot.clone(),
            people: replies.map(crate::notify::People::new),
            notes: notes.clone(),
            wake: wake.clone(),
        };
        if crate::notify::start(notify, senders, self.options.max_idle, self.shared)? {
            wakers.push(wake.clone());
        }
        Ok(Notifier {
            notices: Notices::new(notify),
            wake,
            managers_bot,
            notes,
        })
    }

    /// Relays the items and deadlines other replicas commit to this one's processing and SLA
    /// timer.
    fn relay_wakes(&self, process_wake: &Arc<Notify>, sla_wake: &Arc<Notify>) {
        let (relay, stop) = (self.all.clone(), self.shared.tasks.stopping());
        let (inbound, deadlines) = (process_wake.clone(), sla_wake.clone());
        let span = tracing::info_span!("stage", name = "wakes");
        (self.shared.tasks).spawn(span, async move {
            relay.relay_wakes(inbound, deadlines, stop).await
        });
    }

    /// Processing, on the replica that holds its lease.
    fn start_processing(&self, processor: Processor, wake: &Arc<Notify>) {
        let (wake, health) = (wake.clone(), self.shared.health.clone());
        self.shared.spawn_once(
            "process".into(),
            tracing::info_span!("stage", name = "process"),
            move |stop| processor.clone().run(wake.clone(), health.clone(), stop),
        );
    }

    /// The SLA timer, woken by `wake`, on the replica that holds its lease.
    fn start_sla(&self, actions: &Actions, wake: Arc<Notify>) {
        let sla = SlaWorker {
            desk: actions.clone(),
            wake,
            max_idle: self.options.max_idle,
        };
        let health = self.shared.health.clone();
        self.shared.spawn_once(
            "sla".into(),
            tracing::info_span!("stage", name = "sla"),
            move |stop| sla.clone().run(health.clone(), stop),
        );
    }

    /// The retention sweeper, on the replica that holds its lease.
    fn start_retention(&self) {
        let (config, shared) = (self.config, self.shared);
        let sweeper = crate::privacy::Sweeper {
            store: self.all.clone(),
            retention: config.retention.clone(),
            clock: shared.clock.clone(),
            max_idle: self.options.max_idle,
            files: Some((self.all.clone(), crate::files::shelf_of(&config.data_dir))),
            unkept: Default::default(),
            metrics: shared.metrics.clone(),
        };
        let health = shared.health.clone();
        shared.spawn_once(
            "retention".into(),
            tracing::info_span!("stage", name = "retention"),
            move |stop| sweeper.clone().run(health.clone(), stop),
        );
    }

    /// Starts the keeper that copies the files people send onto the shelf; its waker.
    fn start_file_keeper(&self) -> Result<Arc<Notify>, StartError> {
        let (config, shared) = (self.config, self.shared);
        let wake = Arc::new(Notify::new());
        let keeper = crate::files::FileKeeper {
            store: self.all.clone(),
            sources: config.source_settings(),
            fetcher: crate::files::Fetcher::new(
                (config.file_access()).map_err(|e| StartError::of("attachments", e))?,
            ),
            shelf: crate::files::shelf_of(&config.data_dir),
            max_file: config.attachments.max_file,
            max_per_lead: config.attachments.max_per_lead,
            clock: shared.clock.clone(),
            wake: wake.clone(),
            max_idle: self.options.max_idle,
            metrics: shared.metrics.clone(),
        };
        let health = shared.health.clone();
        shared.spawn_once(
            "files".into(),
            tracing::info_span!("stage", name = "files"),
            move |stop| keeper.clone().run(health.clone(), stop),
        );
        Ok(wake)
    }

    /// The processing stage as the config sets it up: it wakes the sinks (`wakers`) and the
    /// SLA (`sla_wake`) after each batch.
    fn processor(
        &self,
        notices: &Notices,
        wakers: &[Arc<Notify>],
        sla_wake: &Arc<Notify>,
        file_links: &crate::files::FileLinks,
    ) -> Processor {
        let (config, shared) = (self.config, self.shared);
        let windows = (config.sources.iter()).map(|s| (s.id.to_string(), s.conversation_window));
        Processor {
            store: shared.store.clone(),
            rules: self.rules.clone(),
            clock: shared.clock.clone(),
            phones: config.phones.clone(),
            own_contacts: config.own_contacts.clone(),
            sources: config.source_settings(),
            sinks: config.sinks.iter().map(sink_route).collect(),
            sink_wakers: wakers.to_vec(),
            sla_wake: sla_wake.clone(),
            notices: notices.clone(),
            replies: crate::notify::Replies::new(config.reply_texts()),
            reach: Reach::of(config.api_token.is_some(), &config.sinks, notices),
            conversation_windows: ConversationWindows {
                by_source: windows.collect(),
                ..ConversationWindows::default()
            },
            batch_size: config.batch_size,
            gather: self.options.gather,
            max_idle: self.options.max_idle,
            file_links: file_links.clone(),
            metrics: shared.metrics.clone(),
            last_offer: Default::default(),
        }
    }

    /// Starts listening to the managers' bot (their taps on the cards), polling unless
    /// Telegram posts the taps to us; in webhook mode, the listener for the HTTP route.
    fn start_managers_bot(
        &self,
        bot: Option<TelegramNotifier>,
        actions: &Actions,
    ) -> Option<TapListener> {
        let shared = self.shared;
        let (bot, t) = (bot?, self.config.notify.telegram.as_ref()?);
        let listener = TapListener {
            bot,
            actions: actions.clone(),
            rules: self.rules.clone(),
            store: shared.store.clone(),
            clock: shared.clock.clone(),
            labels: self.config.notify.language.labels(),
            poll_timeout: t.poll_timeout,
        };
        if t.webhook_secret.is_some() {
            // Telegram posts the taps to /hooks/telegram-managers: nothing polls.
            shared.health.register("notify:telegram", "notify");
            return Some(listener);
        }
        let health = shared.health.clone();
        shared.spawn_once(
            "managers-bot".into(),
            tracing::info_span!("stage", name = "managers-bot"),
            move |stop| listener.clone().run(health.clone(), stop),
        );
        None
    }
}

/// libphonenumber's metadata (hundreds of regexes) is built on first use: built at start, off
/// the runtime, the first form after a start does not wait a few hundred milliseconds.
fn warm_up_phones(config: &Config) {
    let phones = config.phones.clone();
    tokio::task::spawn_blocking(move || phones.to_e164("+7 916 123-45-67"));
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

/// Sources that wait to be posted to (forms and webhooks) have no task: they are listed
/// from the start and succeed with each item stored.
fn register_posted_sources(config: &Config, webhooks: &Webhooks, health: &Health) {
    let forms = (config.sources.of::<WebformSource>().iter()).map(|f| f.id.as_str());
    for id in forms.chain(webhooks.sources()) {
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

/// Reloads the rules on SIGHUP and, unless `[routing] watch = false`, on file changes.
fn start_rules_watcher(config: &Config, rules: &RulesHandle, tasks: &Tasks) {
    let (file, handle, stop) = (config.routing_file.clone(), rules.clone(), tasks.stopping());
    let reloads = match config.watch_routing {
        true => Reloads::OnChangeAndSighup,
        false => Reloads::OnSighupOnly,
    };
    tasks.spawn(tracing::info_span!("stage", name = "rules"), async move {
        // Without the watcher, SIGHUP and file changes no longer reload: say so loudly.
        if let Err(e) = watch_rules(file, handle, stop, reloads).await {
            tracing::error!(error = %e, "The routing rules watcher stopped; rules will not reload.");
        }
    });
}

/// Starts every channel's sources, each by its kind
/// ([`crate::sources::registry::ChannelKind::start`]): the webhooks of those posted to.
fn start_sources(
    config: &Config,
    shared: &Shared,
    replies: &ReplyClients,
) -> Result<Webhooks, StartError> {
    let mut webhooks = Webhooks::default();
    for kind in CHANNELS {
        kind.start(&config.sources, shared, replies, &mut webhooks)?;
    }
    Ok(webhooks)
}

/// Each form's settings with its connector and rate limiter.
fn form_runtimes(config: &Config) -> Result<HashMap<String, FormRuntime>, StartError> {
    let mut forms = HashMap::new();
    for f in config.sources.of::<WebformSource>() {
        let connector = (config.connectors.inbound(&f.connector))
            .ok_or_else(|| StartError::of(&f.id, format!("unknown connector {:?}", f.connector)))?;
        forms.insert(f.id.clone(), FormRuntime::new(f.clone(), connector));
    }
    Ok(forms)
}

/// Forgets idle clients every minute, so the rate limiters' memory stays bounded.
fn start_limiter_sweeper(
    forms: &HashMap<String, FormRuntime>,
    hooks: &crate::http::HookLimiter,
    tasks: &Tasks,
) {
    let limiters: Vec<_> = forms.values().map(|f| f.limiter.clone()).collect();
    let hooks = hooks.clone();
    let stop = tasks.stopping();
    tasks.spawn(
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
                hooks.forget_idle();
            }
        },
    );
}
