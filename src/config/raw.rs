//! The config file as written: every key the daemon accepts, with unknown keys refused (a typo in
//! a secret's key must not start a daemon without the secret). Validation into the types the
//! daemon runs on is in `validate.rs`.

use crate::deliver::{RawFileSink, RawWebhookSink};
use crate::settings::Secret;
use crate::settings::{ByteSize, HumanDuration};
use crate::sources::table::RawSources;
use serde::Deserialize;

/// `config/leadgate.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[server]`.
    #[serde(default)]
    pub server: RawServer,
    /// `[storage]`.
    #[serde(default)]
    pub storage: RawStorage,
    /// `[business]`.
    #[serde(default)]
    pub business: RawBusiness,
    /// `[routing]`.
    #[serde(default)]
    pub routing: RawRouting,
    /// `[processing]`.
    #[serde(default)]
    pub processing: RawProcessing,
    /// `[admin]`.
    #[serde(default)]
    pub admin: RawAdmin,
    /// `[api]`.
    #[serde(default)]
    pub api: RawApi,
    /// `[sources]`: every channel's tables (`[[sources.webform]]`...), each read by its
    /// channel.
    #[serde(default)]
    pub sources: RawSources,
    /// `[sinks]`.
    #[serde(default)]
    pub sinks: RawSinks,
    /// `[connectors]`.
    #[serde(default)]
    pub connectors: RawConnectors,
    /// `[notify]`.
    #[serde(default)]
    pub notify: crate::notify::RawNotify,
    /// `[retention]`.
    #[serde(default)]
    pub retention: crate::privacy::RawRetention,
    /// `[attachments]`.
    #[serde(default)]
    pub attachments: crate::files::RawAttachments,
}

/// `[connectors]`: where a business keeps its own connector files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnectors {
    /// A directory with `inbound/*.toml` and `outbound/*.toml`, relative to this config
    /// file; its files add to (or replace, by name) the shipped ones.
    pub dir: Option<String>,
}

/// `[server]`: the one HTTP listener.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    /// Address to listen on; default `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// How long a graceful shutdown may take to finish in-flight work; default `10s`.
    pub shutdown_grace: Option<HumanDuration>,
    /// Take the client address from `X-Forwarded-For` (behind a proxy): the address the
    /// proxy saw, the rightmost entry that is not one of `trusted_proxies`.
    pub trust_forwarded_for: Option<bool>,
    /// The proxies in front (addresses or CIDR blocks): `X-Forwarded-For` is read only from
    /// them, and their own entries in it are skipped.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// How long a client may take to send a request's headers, and how long an idle
    /// keep-alive connection stays open; default `10s`.
    pub header_timeout: Option<HumanDuration>,
    /// How long a client may take to send a request's body; default `30s`.
    pub body_timeout: Option<HumanDuration>,
    /// Connections open at once; more wait in the kernel's backlog; default 512.
    pub max_connections: Option<usize>,
    /// Request bodies held in memory at once, across all requests; default `64MiB`.
    pub body_memory: Option<ByteSize>,
    /// Requests a minute, sustained, from one provider address at the `/hooks/...` doors;
    /// default 1200.
    pub hook_rate_per_minute: Option<u32>,
    /// Requests at once from one provider address at the `/hooks/...` doors; default 300.
    pub hook_rate_burst: Option<u32>,
    /// This daemon's name among replicas on one PostgreSQL store, which the leases record;
    /// default `<host name>:<listen port>`. Each replica needs its own.
    pub replica: Option<String>,
}

/// `[storage]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStorage {
    /// `sqlite://PATH` or a plain path (relative to the working directory), default
    /// `data/leadgate.db`; or `postgres://user:password@host/db`.
    pub url: Option<String>,
    /// The folder for the files people send (`files/`) and the rules kept as last good
    /// (`rules/`), relative to the working directory; default the SQLite file's folder, or
    /// `data` with PostgreSQL. Replicas share it on storage every one of them mounts.
    pub data_dir: Option<String>,
}

/// `[business]`: who the business is, so its own contacts never end up in a lead.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBusiness {
    /// Default region for phone numbers written without a country code; default `RU`.
    pub phone_region: Option<String>,
    /// The language visitors read the form's pages in: `ru` (default) or `en`.
    pub language: Option<String>,
    /// The business's own e-mail addresses.
    #[serde(default)]
    pub own_emails: Vec<String>,
    /// The business's own phone numbers.
    #[serde(default)]
    pub own_phones: Vec<String>,
}

/// `[routing]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouting {
    /// The rules file, relative to this config file; default `routing.toml`.
    pub file: Option<String>,
    /// Watch the file and reload on change (SIGHUP always reloads); default true.
    pub watch: Option<bool>,
}

/// `[processing]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProcessing {
    /// Inbound items processed per transaction; default 200.
    pub batch_size: Option<u32>,
}

/// `[admin]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    /// Bearer token for `/admin/...`; without one the admin surface is off.
    pub token: Option<Secret>,
    /// A token that reads only `/metrics` and `/readyz`'s details (for a Prometheus scraper
    /// that should not hold the admin token).
    pub metrics_token: Option<Secret>,
}

/// `[api]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// Bearer token for `/api/...` (a CRM reporting acks); without one the API is off.
    pub token: Option<Secret>,
}

/// `[sinks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSinks {
    /// `[[sinks.webhook]]`.
    #[serde(default)]
    pub webhook: Vec<RawWebhookSink>,
    /// `[[sinks.file]]`.
    #[serde(default)]
    pub file: Vec<RawFileSink>,
}
