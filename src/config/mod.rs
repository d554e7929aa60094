//! Configuration: `config/leadgate.toml` read into raw types, then validated into the types the
//! daemon runs on. Holding a [`Config`] means every value in it was checked.

mod cross;
mod doors;
mod load;
mod raw;
mod server;
mod sources;
mod validate;

pub use cross::{CrossCheck, cross_check};
pub use doors::warn_unsigned;
pub use load::load_raw;
pub use raw::RawConfig;
pub use server::{ForwardedPolicy, ServerConfig, rate_key};
pub use validate::validate;

use crate::deliver::SinkConfig;
use crate::lead::{OwnContacts, PhoneNormaliser};
use crate::settings::{ConfigProblem, Secret};
use crate::sources::table::Sources;
use crate::store::StorageConfig;
use std::path::{Path, PathBuf};

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
    /// `[storage] data_dir`: where the files people send and the last good rules are kept.
    pub data_dir: std::path::PathBuf,
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
    /// Every source, each channel's in its own table ([`Sources::of`]).
    pub sources: Sources,
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
