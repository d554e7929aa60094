//! The `leadgate` command: run the daemon, check a config, dry-run the routing of a sample,
//! replay dead letters, erase or export a person's data, copy a SQLite store into PostgreSQL. Exit codes: 0 ok, 1 invalid input or config, 2 runtime failure.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use leadgate::clock::Clock;
use leadgate::config::{self, Config};
use leadgate::lead::{Channel, Lead, NotLeadReason, Parsed, SampleError, normalise};
use leadgate::routing::{CompiledRules, LastGood};
use leadgate::sources::email::imap::probe as email;
use leadgate::store::{
    CopyError, ErasureRequest, OpenStore, PgStore, ReplayFilter, SqliteStore, StorageConfig,
    Stores, Subject, copy_store,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "leadgate",
    version,
    about = "Lead-capture gateway: every channel in, routed by manager level, delivered to the CRM."
)]
struct Cli {
    /// Log format on stderr.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "LEADGATE_LOG_FORMAT",
        default_value = "pretty"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        /// The config file.
        #[arg(long, default_value = "config/leadgate.toml")]
        config: PathBuf,
    },
    /// Validate the config and the routing rules; print every problem; exit 1 on any.
    Check {
        /// The config file.
        #[arg(long, default_value = "config/leadgate.toml")]
        config: PathBuf,
        /// Also connect to every mailbox and log in (all at once, at most 10 s each); a
        /// certificate not trusted is shown with its SHA-256 fingerprint and the line to pin it.
        #[arg(long)]
        connect: bool,
    },
    /// Dry run: show how a sample lead would be routed and why. No side effects.
    Route {
        /// The config file.
        #[arg(long, default_value = "config/leadgate.toml")]
        config: PathBuf,
        /// Read the sample as this channel's raw payload (an .eml, a Telegram update, a form's
        /// JSON fields...) instead of as a lead record.
        #[arg(long, value_parser = parse_channel)]
        channel: Option<Channel>,
        /// Read the sample as this configured source's raw payload (its channel, its parser's
        /// settings) and route it as coming from it, for rules that test `source`. With
        /// `--channel` alone, the channel's first source is taken.
        #[arg(long)]
        source: Option<String>,
        /// Route as if received at this time (RFC 3339), e.g. to try after-hours rules.
        #[arg(long)]
        at: Option<DateTime<Utc>>,
        /// A lead record (JSON) or raw sample, or `-` for standard input.
        sample: String,
    },
    /// Re-queue dead-lettered deliveries: all, one lead's, or one sink's.
    Replay {
        /// The config file.
        #[arg(long, default_value = "config/leadgate.toml")]
        config: PathBuf,
        /// Only this lead's deliveries.
        #[arg(long)]
        lead: Option<String>,
        /// Only this sink's deliveries.
        #[arg(long)]
        sink: Option<String>,
    },
    /// Erase a person's data everywhere in the store (an erasure request under 152-FZ or the
    /// GDPR), leave a tombstone saying what was erased, when and by whom, and print it.
    Forget {
        /// The config file.
        #[arg(long, default_value = "config/leadgate.toml")]
        config: PathBuf,
        #[command(flatten)]
        who: Forgotten,
        /// Who asks, kept in the tombstone; default the login ($USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Copy a whole SQLite store, and the files it keeps, into PostgreSQL (moving an
    /// installation): stop the daemon, or take its traffic away, so nothing arrives after the
    /// copy's snapshot; then start it with `[storage] url` on the new database.
    Copy {
        /// The SQLite store: `sqlite://data/leadgate.db` or a path.
        #[arg(long)]
        from: String,
        /// The PostgreSQL database: `postgres://user:password@host:5432/db` (migrated first).
        #[arg(long)]
        to: String,
        /// Empty the target first instead of refusing one that holds data.
        #[arg(long)]
        overwrite: bool,
    },
    /// Print everything stored about a person as JSON (a subject-access request).
    Export {
        /// The config file.
        #[arg(long, default_value = "config/leadgate.toml")]
        config: PathBuf,
        #[command(flatten)]
        who: Person,
    },
}

/// Whose data `forget` erases: one of these.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Forgotten {
    /// Their phone, as written anywhere (read with `[business] phone_region`).
    #[arg(long)]
    phone: Option<String>,
    /// Their e-mail address.
    #[arg(long)]
    email: Option<String>,
    /// One lead, by id.
    #[arg(long)]
    lead: Option<String>,
}

/// A person, by a phone or an e-mail address.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct Person {
    /// Their phone, as written anywhere (read with `[business] phone_region`).
    #[arg(long)]
    phone: Option<String>,
    /// Their e-mail address.
    #[arg(long)]
    email: Option<String>,
}

fn parse_channel(s: &str) -> Result<Channel, String> {
    Channel::parse(s).ok_or_else(|| {
        let names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
        format!("one of {}", names.join(", "))
    })
}

/// A failure with the exit code it maps to.
enum Failure {
    Invalid(anyhow::Error),
    Runtime(anyhow::Error),
}

fn main() -> ExitCode {
    // A usage error (an unknown --channel, a missing argument) is invalid input: exit 1, not
    // clap's 2, which the contract keeps for runtime failures. --help and --version exit 0.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::from(e.use_stderr()));
        }
    };
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Check { config, connect } => check(&config, connect),
        Command::Run { config } => run(&config),
        Command::Route {
            config,
            sample,
            channel,
            source,
            at,
        } => route(&config, &sample, channel, source.as_deref(), at),
        Command::Forget { config, who, by } => forget(&config, who, by),
        Command::Export { config, who } => export(&config, who),
        Command::Copy {
            from,
            to,
            overwrite,
        } => copy(&from, &to, overwrite),
        Command::Replay { config, lead, sink } => replay(
            &config,
            ReplayFilter {
                lead_id: lead,
                sink,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Invalid(e)) => {
            eprintln!("{e:#}");
            ExitCode::from(1)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("leadgate: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal, never into a file or a journal.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Loads and validates the config and the rules, gathering the problems of both.
fn load_all(path: &Path) -> Result<(Config, CompiledRules), Failure> {
    let config = config::load(path).map_err(|e| Failure::Invalid(e.into()))?;
    let rules = CompiledRules::load(&config.routing_file)
        .map_err(|e| Failure::Invalid(anyhow::anyhow!("{e}")))?;
    Ok((config, rules))
}

/// Checks both files, whatever the first's state: every problem of each, one per line, then
/// how many there are; or each file's name with what it holds. With `connect`, each mailbox
/// of a valid config is tried too, and says ok or what failed.
fn check(path: &Path, connect: bool) -> Result<(), Failure> {
    let mut problems: Vec<String> = Vec::new();
    let mut fine: Vec<String> = Vec::new();
    let routing_file = match config::load(path) {
        Ok(config) => {
            if connect {
                let probes = runtime()?.block_on(email::probe_all(
                    config.sources.of::<leadgate::sources::email::EmailSource>(),
                    email::PROBE_TIMEOUT,
                ));
                if probes.is_empty() {
                    println!("note: no [[sources.email]] mailbox to try");
                }
                for probe in probes {
                    if probe.is_ok() {
                        println!("{probe}");
                    } else {
                        problems.push(format!("{}: {probe}", path.display()));
                    }
                }
            }
            fine.push(format!(
                "{}: ok ({} sources, {} sinks)",
                path.display(),
                config.sources.iter().count(),
                config.sinks.len()
            ));
            config.routing_file
        }
        Err(e) => {
            problems.extend(e.0.iter().map(ToString::to_string));
            if connect {
                println!(
                    "note: no mailbox is tried until {} is valid",
                    path.display()
                );
            }
            config::routing_file_of(path)
        }
    };
    let mut notes = Vec::new();
    match CompiledRules::load(&routing_file) {
        Ok(rules) => {
            if let Ok(config) = config::load(path) {
                let cross = config::cross_check(&config, &rules, &path.display().to_string());
                problems.extend(cross.problems.iter().map(ToString::to_string));
                notes = cross.notes;
            }
            fine.push(format!(
                "{}: ok (rules {}, {} managers on {} levels)",
                routing_file.display(),
                rules.version(),
                rules.managers().len(),
                rules.levels().len()
            ));
        }
        Err(e) if e.problems().is_empty() => problems.push(e.to_string()),
        Err(e) => problems.extend(e.problems().iter().map(ToString::to_string)),
    }
    for note in &notes {
        println!("note: {note}");
    }
    if problems.is_empty() {
        fine.iter().for_each(|f| println!("{f}"));
        return Ok(());
    }
    let n = problems.len();
    Err(Failure::Invalid(anyhow::anyhow!(
        "{}\n{n} problem{} found",
        problems.join("\n"),
        if n == 1 { "" } else { "s" }
    )))
}

/// The routing file's rules; when the file does not load, the last good rules kept beside
/// the store and every problem of the file (a bad edit never stops the daemon from starting),
/// or the problems alone when no rules were ever kept.
fn rules_at_start(config: &Config) -> Result<(CompiledRules, Option<String>), Failure> {
    let error = match CompiledRules::load(&config.routing_file) {
        Ok(rules) => return Ok((rules, None)),
        Err(e) => e.to_string(),
    };
    match LastGood::in_data_dir(&config.data_dir).load(&config.routing_file) {
        Ok(Some(rules)) => {
            tracing::error!(
                file = %config.routing_file.display(),
                problems = %error,
                in_force = rules.version(),
                "The routing file does not load: starting on the last good rules (fix the file and it reloads)."
            );
            Ok((rules, Some(error)))
        }
        Ok(None) => Err(Failure::Invalid(anyhow::anyhow!("{error}"))),
        Err(kept) => Err(Failure::Invalid(anyhow::anyhow!("{error}\n{kept}"))),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::Runtime)
}

fn run(path: &Path) -> Result<(), Failure> {
    let config = config::load(path).map_err(|e| Failure::Invalid(e.into()))?;
    let (rules, rules_refused) = rules_at_start(&config)?;
    runtime()?.block_on(async move {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.server.listen))
            .map_err(Failure::Runtime)?;
        leadgate::run(
            listener,
            config,
            rules,
            leadgate::RunOptions {
                rules_refused,
                ..Default::default()
            },
            shutdown,
        )
        .await
        .map_err(|e| Failure::Runtime(e.into()))
    })
}

/// Installs the SIGINT and SIGTERM handlers now (so a signal that arrives during start-up is
/// not fatal) and returns the future that completes on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static, Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind| {
        signal(kind)
            .context("cannot install the signal handlers")
            .map_err(Failure::Runtime)
    };
    let mut interrupt = listen(SignalKind::interrupt())?;
    let mut terminate = listen(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// The source a raw sample is read as: `--source` (its channel must be `--channel`'s when both
/// are given), or the first source of `--channel`; `None` for a lead record.
fn sample_source<'c>(
    config: &'c Config,
    channel: Option<Channel>,
    source: Option<&str>,
) -> Result<Option<(&'c str, Channel)>, Failure> {
    let Some(id) = source else {
        return Ok(channel.and_then(|c| config.first_source(c).map(|id| (id, c))));
    };
    let Some(found) = config.sources.iter().find(|s| s.id == id) else {
        let known: Vec<&str> = config.sources.iter().map(|s| s.id).collect();
        return Err(Failure::Invalid(anyhow::anyhow!(
            "no source {id:?} in the config (sources: {})",
            known.join(", ")
        )));
    };
    match channel {
        Some(c) if c != found.channel => Err(Failure::Invalid(anyhow::anyhow!(
            "source {id:?} is a {} source, not {}",
            found.channel.as_str(),
            c.as_str()
        ))),
        _ => Ok(Some((found.id, found.channel))),
    }
}

fn route(
    path: &Path,
    sample: &str,
    channel: Option<Channel>,
    source: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Result<(), Failure> {
    let (config, rules) = load_all(path)?;
    let source = sample_source(&config, channel, source)?;
    let channel = source.map(|(_, c)| c).or(channel);
    let bytes = if sample == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::Invalid(e.into()))?
            .into_bytes()
    } else {
        std::fs::read(sample)
            .map_err(|e| Failure::Invalid(anyhow::anyhow!("cannot read {sample}: {e}")))?
    };
    let clock = leadgate::clock::SystemClock;
    let now = at.unwrap_or_else(|| clock.now());
    let leads = match channel {
        None => vec![Ok(leadgate::lead::sample_lead(&bytes, now).map_err(|e| {
            Failure::Invalid(match e {
                SampleError::NotJson(e) => anyhow::anyhow!(
                    "the sample is not JSON: pass --channel for a raw sample (an .eml, a form's body, a Telegram update...): {e}"
                ),
                e => e.into(),
            })
        })?)],
        Some(channel) => {
            let parsed =
                runtime()?.block_on(leadgate::sources::parse_sample(
                    &config.source_settings(),
                    channel,
                    source.map(|(id, _)| id),
                    &bytes,
                ));
            parsed
                .into_iter()
                .map(|p| match p {
                    Parsed::Lead(draft) => {
                        let draft = normalise(draft, &config.phones, &config.own_contacts);
                        Ok(Lead::unrouted(
                            clock.new_id().to_string(),
                            now,
                            channel,
                            source.map_or("sample", |(id, _)| id).into(),
                            draft,
                        ))
                    }
                    Parsed::NotLead(n) => Err(n),
                })
                .collect()
        }
    };
    let malformed: Vec<_> = leads
        .iter()
        .filter_map(|l| l.as_ref().err())
        .filter(|n| n.reason == NotLeadReason::Malformed)
        .collect();
    if let Some(n) = malformed.first() {
        return Err(Failure::Invalid(anyhow::anyhow!(
            "the sample does not read as a {} item: {}",
            channel.map_or("lead record", Channel::as_str),
            n.detail
        )));
    }
    let open = std::collections::HashMap::new();
    let state = leadgate::routing::StrategyState::default();
    let ctx = leadgate::routing::RoutingContext {
        now,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    let local = now.with_timezone(&rules.timezone());
    println!(
        "at {} ({}), with the store's state left out (no open leads, no previous manager)",
        local.format("%Y-%m-%d %H:%M %a"),
        rules.timezone()
    );
    for parsed in leads {
        println!();
        match parsed {
            Ok(lead) if !lead.contact.is_reachable() => println!(
                "not a lead: no way to answer the person (no valid phone, e-mail or messenger \
                 account); a form would refuse it with 422 no_contact"
            ),
            Ok(lead) => println!("{}", rules.decide(&lead, &ctx).trace),
            Err(n) => println!("not a lead: {} ({})", n.reason, n.detail),
        }
    }
    Ok(())
}

fn replay(path: &Path, filter: ReplayFilter) -> Result<(), Failure> {
    let config = config::load(path).map_err(|e| Failure::Invalid(e.into()))?;
    if let Some(sink) = &filter.sink
        && !config.sinks.iter().any(|s| &s.id == sink)
    {
        let ids: Vec<&str> = config.sinks.iter().map(|s| s.id.as_str()).collect();
        return Err(Failure::Invalid(anyhow::anyhow!(
            "no sink \"{sink}\" in {}: the sinks are {}",
            path.display(),
            ids.join(", ")
        )));
    }
    runtime()?.block_on(async move {
        let store = OpenStore::open(&config.storage)
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let shared = store.shared();
        if let Some(lead) = &filter.lead_id {
            let known = shared
                .lead_journey(lead)
                .await
                .map_err(|e| Failure::Runtime(e.into()))?;
            if known.is_none() {
                store.close().await;
                return Err(Failure::Invalid(anyhow::anyhow!(
                    "no lead \"{lead}\" in {}",
                    config.storage.describe()
                )));
            }
        }
        let n = shared
            .replay_dead(&filter, leadgate::clock::SystemClock.now())
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        store.close().await;
        println!("re-queued {n} dead-lettered deliveries");
        Ok(())
    })
}

/// The subject a person's phone or e-mail names, normalised as leads store them.
fn person(config: &Config, who: Person) -> Result<Subject, Failure> {
    match (who.phone, who.email) {
        (Some(phone), _) => config.phones.to_e164(&phone).map(Subject::Phone).ok_or_else(|| {
            Failure::Invalid(anyhow::anyhow!(
                "{phone:?} is not a valid phone number (write it as the person did, or with the \
                 country code, like +7 916 123-45-67)"
            ))
        }),
        (None, Some(email)) => leadgate::lead::normalise_email(&email)
            .map(Subject::Email)
            .ok_or_else(|| Failure::Invalid(anyhow::anyhow!("{email:?} is not an e-mail address"))),
        (None, None) => Err(Failure::Invalid(anyhow::anyhow!(
            "say whose data: --phone or --email"
        ))),
    }
}

/// Opens the store of the config at `path`, for a command that reads or changes it.
fn with_store<T>(
    path: &Path,
    work: impl AsyncFnOnce(&Config, &dyn Stores) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let config = config::load(path).map_err(|e| Failure::Invalid(e.into()))?;
    runtime()?.block_on(async {
        let store = OpenStore::open(&config.storage)
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let out = work(&config, &*store.shared()).await;
        store.close().await;
        out
    })
}

fn copy(from: &str, to: &str, overwrite: bool) -> Result<(), Failure> {
    let invalid = |m: String| Failure::Invalid(anyhow::anyhow!(m));
    let (from, to) = (
        StorageConfig::parse(from).map_err(|e| invalid(format!("--from: {e}")))?,
        StorageConfig::parse(to).map_err(|e| invalid(format!("--to: {e}")))?,
    );
    let (StorageConfig::Sqlite(path), StorageConfig::Postgres(url)) = (&from, &to) else {
        return Err(invalid(
            "copy moves a SQLite store (--from sqlite://PATH) into PostgreSQL (--to postgres://...)"
                .into(),
        ));
    };
    if !path.is_file() {
        return Err(invalid(format!("no SQLite store at {}", path.display())));
    }
    let failed = |e: anyhow::Error| Failure::Runtime(e);
    runtime()?.block_on(async {
        let source = SqliteStore::open(path)
            .await
            .map_err(|e| failed(e.into()))?;
        let target = PgStore::open(url.expose())
            .await
            .map_err(|e| failed(e.into()))?;
        let copied = copy_store(&source, &target, overwrite).await;
        source.close().await;
        target.close().await;
        let copied = copied.map_err(|e| match e {
            CopyError::NotEmpty { .. } => invalid(e.to_string()),
            e => failed(e.into()),
        })?;
        println!("copied {} into {}:", from.describe(), to.describe());
        for (table, rows) in &copied.tables {
            println!("  {table:<20} {rows:>9} rows");
        }
        println!("every table holds as many rows in PostgreSQL as in SQLite");
        let (shelf, new_shelf) = (
            leadgate::files::shelf_of(&from.data_dir()),
            leadgate::files::shelf_of(&to.data_dir()),
        );
        let same =
            std::fs::canonicalize(shelf.dir()).ok() == std::fs::canonicalize(new_shelf.dir()).ok();
        if !same {
            let files = (shelf.copy_into(&new_shelf).await)
                .with_context(|| format!("copying the kept files to {}", new_shelf.dir().display()))
                .map_err(failed)?;
            println!("files: {files} copied to {}", new_shelf.dir().display());
        }
        Ok(())
    })
}

fn forget(path: &Path, who: Forgotten, by: Option<String>) -> Result<(), Failure> {
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "unknown".into());
    with_store(path, async |config, store| {
        let subject = match who.lead {
            Some(id) => {
                let known = store.lead_journey(&id).await;
                if known.map_err(|e| Failure::Runtime(e.into()))?.is_none() {
                    return Err(Failure::Invalid(anyhow::anyhow!(
                        "no lead \"{id}\" in {}",
                        config.storage.describe()
                    )));
                }
                Subject::Lead(id)
            }
            None => person(
                config,
                Person {
                    phone: who.phone,
                    email: who.email,
                },
            )?,
        };
        let clock = leadgate::clock::SystemClock;
        let request = ErasureRequest {
            id: format!("erasure:{}", clock.new_id()),
            by: by.clone(),
            at: clock.now(),
        };
        let kept_before = store
            .kept_hashes()
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let erased = store
            .forget(&subject, &request)
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let shelf = leadgate::files::shelf_of(&config.data_dir);
        let files = leadgate::files::remove_released(store, &shelf, &kept_before)
            .await
            .map_err(|e| Failure::Runtime(anyhow::anyhow!(e)))?;
        let rows: Vec<String> = (erased.removed.iter())
            .filter(|(_, n)| **n > 0)
            .map(|(table, n)| format!("{table} {n}"))
            .collect();
        println!(
            "erased {} ({}, by {by}): {} lead{}; rows removed: {}",
            request.id,
            subject.kind(),
            erased.leads.len(),
            if erased.leads.len() == 1 { "" } else { "s" },
            if rows.is_empty() {
                "none".into()
            } else {
                rows.join(", ")
            }
        );
        if files > 0 {
            println!("files removed from {}: {files}", shelf.dir().display());
        }
        for lead in &erased.leads {
            println!("lead {lead}");
        }
        if !erased.leads.is_empty() && !config.sinks.is_empty() {
            println!(
                "note: the sinks ({}) keep their own copies of these leads: erase them there too",
                config
                    .sinks
                    .iter()
                    .map(|s| s.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(())
    })
}

fn export(path: &Path, who: Person) -> Result<(), Failure> {
    with_store(path, async |config, store| {
        let subject = person(config, who)?;
        let data = store
            .export(&subject)
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let value = match &subject {
            Subject::Phone(v) | Subject::Email(v) | Subject::Lead(v) => v.clone(),
        };
        let mut whose = serde_json::Map::new();
        whose.insert(subject.kind().into(), value.into());
        let out = serde_json::json!({
            "subject": whose,
            "exported_at": leadgate::clock::SystemClock.now(),
            "leads": data.leads,
            "other_items": data.other_items,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| Failure::Runtime(e.into()))?
        );
        Ok(())
    })
}
