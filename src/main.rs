//! The `leadgate` command: run the daemon, check a config, dry-run the routing of a sample,
//! replay dead letters. Exit codes: 0 ok, 1 invalid input or config, 2 runtime failure.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use leadgate::clock::Clock;
use leadgate::config::{self, Config};
use leadgate::lead::{Channel, Lead, Parsed, normalise};
use leadgate::routing::CompiledRules;
use leadgate::store::{ReplayFilter, SqliteStore, Store};
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
}

fn parse_channel(s: &str) -> Result<Channel, String> {
    Channel::parse(s)
        .ok_or_else(|| "one of email, telegram, vk, whatsapp, blog, webform".to_string())
}

/// A failure with the exit code it maps to.
enum Failure {
    Invalid(anyhow::Error),
    Runtime(anyhow::Error),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let result = match cli.command {
        Command::Check { config } => check(&config),
        Command::Run { config } => run(&config),
        Command::Route {
            config,
            sample,
            channel,
            at,
        } => route(&config, &sample, channel, at),
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

fn check(path: &Path) -> Result<(), Failure> {
    let mut problems = Vec::new();
    match config::load(path) {
        Ok(config) => {
            if let Err(e) = CompiledRules::load(&config.routing_file) {
                problems.push(e.to_string());
            }
        }
        Err(e) => problems.extend(e.0.iter().map(ToString::to_string)),
    }
    if problems.is_empty() {
        println!("{}: ok", path.display());
        Ok(())
    } else {
        Err(Failure::Invalid(anyhow::anyhow!(
            "{}\n{} problem(s) found",
            problems.join("\n"),
            problems.len()
        )))
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
    let (config, rules) = load_all(path)?;
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
            leadgate::RunOptions::default(),
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

fn route(
    path: &Path,
    sample: &str,
    channel: Option<Channel>,
    at: Option<DateTime<Utc>>,
) -> Result<(), Failure> {
    let (config, rules) = load_all(path)?;
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
        None => vec![Ok(sample_lead(&bytes, now).map_err(Failure::Invalid)?)],
        Some(channel) => {
            let parsed =
                runtime()?.block_on(leadgate::process::parse_sample(&config, channel, &bytes));
            parsed
                .into_iter()
                .map(|p| match p {
                    Parsed::Lead(draft) => {
                        let draft = normalise(draft, &config.phones, &config.own_contacts);
                        Ok(Lead::unrouted(
                            clock.new_id().to_string(),
                            now,
                            channel,
                            "sample".into(),
                            draft,
                        ))
                    }
                    Parsed::NotLead(n) => Err(n),
                })
                .collect()
        }
    };
    let open = std::collections::HashMap::new();
    let state = leadgate::routing::StrategyState::default();
    let ctx = leadgate::routing::RoutingContext {
        now,
        open_leads: &open,
        previous_manager: None,
        state: &state,
        exclude: &[],
    };
    for (i, parsed) in leads.into_iter().enumerate() {
        if i > 0 {
            println!();
        }
        match parsed {
            Ok(lead) => {
                let decision = rules.decide(&lead, &ctx);
                println!("rules {} at {now}", rules.version());
                println!("{}", decision.trace);
            }
            Err(n) => println!("not a lead: {} ({})", n.reason, n.detail),
        }
    }
    Ok(())
}

/// A lead record from JSON; keys left out take their empty values, so a sample can be as short
/// as `{"channel": "webform", "text": "Нужен котёл", "contact": {"phones": ["+79161234567"]}}`.
fn sample_lead(bytes: &[u8], now: DateTime<Utc>) -> Result<Lead, anyhow::Error> {
    let given: serde_json::Value = serde_json::from_slice(bytes)
        .context("the sample is not JSON: pass --channel for a raw sample")?;
    let mut base = serde_json::json!({
        "schema": leadgate::lead::SCHEMA, "id": "sample", "received_at": now, "channel": "webform",
        "source": "sample", "external_id": null,
        "contact": {"name": null, "emails": [], "phones": [], "telegram": null, "vk_id": null, "whatsapp": null},
        "subject": null, "text": "", "fields": {},
        "utm": {"source": null, "medium": null, "campaign": null, "content": null, "term": null},
        "page_url": null, "referrer": null, "returning": false, "previous_lead_id": null,
        "classification": null, "assignment": null,
    });
    merge(&mut base, given);
    serde_json::from_value(base).context("the sample is not a lead record")
}

fn merge(base: &mut serde_json::Value, given: serde_json::Value) {
    match (base, given) {
        (serde_json::Value::Object(b), serde_json::Value::Object(g)) => {
            for (k, v) in g {
                merge(b.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (b, g) => *b = g,
    }
}

fn replay(path: &Path, filter: ReplayFilter) -> Result<(), Failure> {
    let config = config::load(path).map_err(|e| Failure::Invalid(e.into()))?;
    runtime()?.block_on(async move {
        let store = SqliteStore::open(&config.storage.sqlite_path)
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let n = store
            .replay_dead(&filter, leadgate::clock::SystemClock.now())
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        store.close().await;
        println!("re-queued {n} dead-lettered deliveries");
        Ok(())
    })
}
