//! Configuration: `config/leadgate.toml` read into raw types, then validated into the types the
//! daemon runs on. Holding a [`Config`] means every value in it was checked.

mod cross;
mod doors;
mod load;
mod problems;
mod raw;
mod secret;
mod server;
mod units;
mod validate;

pub use cross::{CrossCheck, cross_check};
pub use doors::warn_unsigned;
pub use load::load_raw;
pub use raw::RawConfig;
pub use secret::{Secret, tokens_match};
pub use server::{ForwardedPolicy, ServerConfig};
pub use units::{ByteSize, HumanDuration, parse_duration, parse_size};
pub use validate::validate;

use crate::deliver::EventType;
use crate::lead::{OwnContacts, PhoneNormaliser};
use crate::sources::telegram::TelegramSource;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One problem found in the configuration: where, what, and what would be right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The file it is in.
    pub file: String,
    /// The dotted key (`sinks.webhook[0].url`), empty for the file as a whole.
    pub key: String,
    /// What is wrong.
    pub message: String,
    /// What would be right, when it can be said.
    pub hint: Option<String>,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)?;
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)?;
        }
        if let Some(hint) = &self.hint {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

/// Every problem found, so the admin fixes the file in one pass.
#[derive(Debug, thiserror::Error)]
#[error("{}", render(.0))]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

fn render(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where the routing file of the config at `path` is, even when the config itself is invalid
/// (so `leadgate check` can report both files' problems): `[routing] file` if it can be read,
/// else `routing.toml` beside the config.
pub fn routing_file_of(path: &Path) -> PathBuf {
    let env = |k: &str| std::env::var(k).ok();
    let base = path.parent().unwrap_or(Path::new("."));
    let named = load_raw(path, &env).ok().and_then(|raw| raw.routing.file);
    base.join(named.as_deref().unwrap_or("routing.toml"))
}

/// Reads and validates `path` with the process environment.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let env = |k: &str| std::env::var(k).ok();
    let raw = load_raw(path, &env).map_err(ConfigErrors)?;
    validate(raw, path).map_err(ConfigErrors)
}

/// The validated daemon configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The listener and its behaviour.
    pub server: ServerConfig,
    /// Where the store lives.
    pub storage: StorageConfig,
    /// Phone parsing with the business's default region.
    pub phones: PhoneNormaliser,
    /// The language of the pages visitors see.
    pub language: crate::language::Language,
    /// The business's own contacts, never taken as a lead's.
    pub own_contacts: OwnContacts,
    /// The routing rules file.
    pub routing_file: PathBuf,
    /// Whether to reload the rules when the file changes.
    pub watch_routing: bool,
    /// Inbound items per processing transaction.
    pub batch_size: u32,
    /// Bearer token for `/admin`; `None` turns the admin surface off.
    pub admin_token: Option<Secret>,
    /// Bearer token for `/metrics` and `/readyz`'s details only.
    pub metrics_token: Option<Secret>,
    /// Bearer token for `/api`; `None` turns the API off.
    pub api_token: Option<Secret>,
    /// Web forms.
    pub webforms: Vec<WebformSource>,
    /// Mailboxes read over IMAP.
    pub email: Vec<crate::sources::email::EmailSource>,
    /// VK communities.
    pub vk: Vec<crate::sources::vk::VkSource>,
    /// WhatsApp Business numbers.
    pub whatsapp: Vec<crate::sources::whatsapp::WhatsappSource>,
    /// WordPress sites polled for comments.
    pub wordpress: Vec<crate::sources::blog::WordpressSource>,
    /// RSS/Atom comment feeds polled.
    pub feeds: Vec<crate::sources::blog::FeedSource>,
    /// Telegram bots.
    pub telegram: Vec<TelegramSource>,
    /// Where leads go.
    pub sinks: Vec<SinkConfig>,
    /// Every inbound connector and CRM preset (shipped and the business's own).
    pub connectors: std::sync::Arc<crate::connectors::Catalogue>,
    /// Manager notifications and admin alerts.
    pub notify: crate::notify::NotifyConfig,
    /// How long personal data is kept.
    pub retention: crate::privacy::Retention,
    /// How files people send are kept and linked.
    pub attachments: crate::files::AttachmentsConfig,
}

/// `[storage]`, validated: which database the store is in.
#[derive(Debug, Clone)]
pub enum StorageConfig {
    /// The embedded default: one SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL (which may hold a password, so it is a secret).
    Postgres(Secret),
}

impl StorageConfig {
    /// Where the store is, for messages: the SQLite file, or the PostgreSQL database without
    /// its credentials.
    pub fn describe(&self) -> String {
        match self {
            StorageConfig::Sqlite(path) => path.display().to_string(),
            StorageConfig::Postgres(url) => match url.expose().rsplit_once('@') {
                Some((_, host)) => format!("postgres://{host}"),
                None => url.expose().to_string(),
            },
        }
    }

    /// The folder leadgate keeps its files in (`files/` for the files people send): the
    /// SQLite file's folder, or `data/` in the working directory with PostgreSQL.
    pub fn data_dir(&self) -> PathBuf {
        match self {
            StorageConfig::Sqlite(path) => path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            StorageConfig::Postgres(_) => PathBuf::from("data"),
        }
    }
}

/// A web form source.
#[derive(Debug, Clone)]
pub struct WebformSource {
    /// The source id.
    pub id: String,
    /// Browser origins allowed to post; empty means no cross-origin browser posts.
    pub allowed_origins: Vec<String>,
    /// The honeypot field.
    pub honeypot: Option<String>,
    /// The 303 target after a plain form post.
    pub redirect: Option<String>,
    /// The 303 target of a refused plain form post.
    pub error_redirect: Option<String>,
    /// The shared secret server-side posters send.
    pub secret: Option<Secret>,
    /// Whether `/` shows the demo page for this form.
    pub demo: bool,
    /// Text body limit in bytes.
    pub max_text: usize,
    /// Multipart-with-files limit in bytes.
    pub max_upload: usize,
    /// Files one post may attach.
    pub max_files: usize,
    /// Text fields one post may have.
    pub max_fields: usize,
    /// Sustained posts per minute per client address.
    pub rate_per_minute: u32,
    /// Burst per client address.
    pub rate_burst: u32,
    /// The inbound connector mapping its payload (validated to exist).
    pub connector: String,
    /// Posts are taken without the provider's proof although it could send one (warned at
    /// every start).
    pub allow_unsigned: bool,
    /// A post with the same contact this soon after the last joins its lead; zero: never.
    pub conversation_window: Duration,
}

/// A sink, validated.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// The sink id.
    pub id: String,
    /// Which events it receives.
    pub events: Vec<EventType>,
    /// How it delivers.
    pub kind: SinkKind,
}

/// How a sink delivers.
#[derive(Debug, Clone)]
pub enum SinkKind {
    /// JSON Lines appended to a file.
    File {
        /// The file.
        path: PathBuf,
    },
    /// Standard Webhooks POSTs.
    Webhook(WebhookSinkConfig),
}

/// A webhook sink's settings.
#[derive(Debug, Clone)]
pub struct WebhookSinkConfig {
    /// The endpoint.
    pub url: reqwest::Url,
    /// The decoded `whsec_` key; `None` sends unsigned (warned at start).
    pub secret: Option<Secret>,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How long to retry before dead-lettering.
    pub retry_horizon: Duration,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// The CRM preset shaping each request; `None` sends the Standard Webhooks envelope.
    pub preset: Option<std::sync::Arc<crate::connectors::Preset>>,
    /// The CRM's API token, added to each request as the preset says.
    pub token: Option<Secret>,
    /// The secret the CRM's own webhooks carry (`POST /hooks/crm/{id}`); `None` turns them
    /// off.
    pub hook_secret: Option<Secret>,
}
