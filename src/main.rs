//! The `leadgate` command: run the daemon, check a config, dry-run the routing of a sample,
//! replay dead letters. Exit codes: 0 ok, 1 invalid input or config, 2 runtime failure.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use leadgate::config::{self, Config};
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
        /// A lead record (JSON) or `-` for standard input.
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
        Command::Route { config, sample } => route(&config, &sample),
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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

fn route(path: &Path, sample: &str) -> Result<(), Failure> {
    let (_config, _rules) = load_all(path)?;
    let _text = if sample == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Failure::Invalid(e.into()))?
    } else {
        std::fs::read_to_string(sample)
            .map_err(|e| Failure::Invalid(anyhow::anyhow!("cannot read {sample}: {e}")))?
    };
    Err(Failure::Runtime(anyhow::anyhow!("route is not wired yet")))
}

fn replay(path: &Path, filter: ReplayFilter) -> Result<(), Failure> {
    let config = config::load(path).map_err(|e| Failure::Invalid(e.into()))?;
    runtime()?.block_on(async move {
        let store = SqliteStore::open(&config.storage.sqlite_path)
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        let clock = leadgate::clock::SystemClock;
        let n = store
            .replay_dead(&filter, leadgate::clock::Clock::now(&clock))
            .await
            .map_err(|e| Failure::Runtime(e.into()))?;
        store.close().await;
        println!("re-queued {n} dead-lettered deliveries");
        Ok(())
    })
}
