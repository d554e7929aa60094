//! `[attachments]`: how big a file and a lead's files may be, how long a link works, and
//! where the links point.

use crate::settings::{ByteSize, HumanDuration, Scope, Secret};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[attachments]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAttachments {
    /// The largest file kept; default `20MiB` (the most the Bot API lets a bot download).
    pub max_file: Option<ByteSize>,
    /// The most one lead's files may take together; default `50MiB`.
    pub max_per_lead: Option<ByteSize>,
    /// How long a link works from when the lead was made; default `30d`.
    pub link_ttl: Option<HumanDuration>,
    /// The key links are signed with; default: one generated once and kept in the store.
    pub link_secret: Option<Secret>,
    /// The address people reach this daemon at (`https://leads.example.ru`); default
    /// `http://` and `[server] listen`.
    pub public_url: Option<String>,
    /// Hosts (and their subdomains) VK files are downloaded from; default VK's own.
    pub vk_hosts: Option<Vec<String>>,
}

/// `[attachments]`, validated.
#[derive(Debug, Clone)]
pub struct AttachmentsConfig {
    /// The largest file kept, in bytes.
    pub max_file: u64,
    /// The most one lead's files may take together, in bytes.
    pub max_per_lead: u64,
    /// How long a link works.
    pub link_ttl: Duration,
    /// The configured link key, if any.
    pub link_secret: Option<Secret>,
    /// The base of every link, without a trailing `/`.
    pub public_url: String,
    /// Hosts VK files may come from.
    pub vk_hosts: Vec<String>,
}

/// VK's own file hosts (photos and documents are served from their subdomains).
pub const VK_HOSTS: &[&str] = &[
    "vk.com",
    "vk.ru",
    "userapi.com",
    "vkuserphoto.ru",
    "vk-cdn.net",
];

const MIB: u64 = 1 << 20;

impl AttachmentsConfig {
    /// The defaults, with links on `listen`.
    pub fn defaults(listen: &str) -> AttachmentsConfig {
        AttachmentsConfig {
            max_file: 20 * MIB,
            max_per_lead: 50 * MIB,
            link_ttl: Duration::from_secs(30 * 86_400),
            link_secret: None,
            public_url: format!("http://{listen}"),
            vk_hosts: VK_HOSTS.iter().map(|h| h.to_string()).collect(),
        }
    }

    /// The folder files are kept in: `files/` in the store's data folder (beside the SQLite
    /// database, or `data/` with PostgreSQL).
    pub fn folder(data_dir: &Path) -> PathBuf {
        data_dir.join("files")
    }
}

impl RawAttachments {
    /// Checks every value against the listener address, reporting each problem as `(key,
    /// message, hint)`.
    pub fn validate(self, listen: &str, p: &mut Scope<'_>) -> AttachmentsConfig {
        let d = AttachmentsConfig::defaults(listen);
        let max_file = self.max_file.map_or(d.max_file, |s| s.0 as u64);
        if max_file < 1024 {
            p.add(
                "max_file",
                format!("{max_file} bytes is too small for any photo"),
                Some("at least \"1KiB\"; the default is \"20MiB\""),
            );
        }
        let max_per_lead = self.max_per_lead.map_or(d.max_per_lead, |s| s.0 as u64);
        if max_per_lead < max_file {
            p.add(
                "max_per_lead",
                format!("{max_per_lead} bytes is less than max_file ({max_file} bytes)"),
                Some("at least max_file, so one file of the largest size fits"),
            );
        }
        let link_ttl = self.link_ttl.map_or(d.link_ttl, |t| t.0);
        if link_ttl < Duration::from_secs(60) || link_ttl > Duration::from_secs(400 * 86_400) {
            p.add(
                "link_ttl",
                "must be between 1m and 400d",
                Some("like \"30d\""),
            );
        }
        if let Some(secret) = &self.link_secret
            && secret.expose().len() < 16
        {
            p.add(
                "link_secret",
                "is shorter than 16 characters",
                Some("a long random string, e.g. from `openssl rand -hex 32`; or leave it out"),
            );
        }
        let public_url = match self.public_url {
            None => d.public_url,
            Some(url) => {
                let trimmed = url.trim_end_matches('/').to_string();
                match reqwest::Url::parse(&trimmed) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                        trimmed
                    }
                    _ => {
                        p.add(
                            "public_url",
                            format!("{url:?} is not an http(s) address"),
                            Some("like \"https://leads.example.ru\""),
                        );
                        d.public_url
                    }
                }
            }
        };
        let vk_hosts = self.vk_hosts.map_or(d.vk_hosts, |hosts| {
            hosts
                .into_iter()
                .map(|h| h.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        });
        AttachmentsConfig {
            max_file,
            max_per_lead,
            link_ttl,
            link_secret: self.link_secret,
            public_url,
            vk_hosts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(raw: RawAttachments) -> (AttachmentsConfig, Vec<String>) {
        let mut p = crate::settings::Problems::new(std::path::Path::new("leadgate.toml"));
        let c = raw.validate("127.0.0.1:8080", &mut p.scope(""));
        let problems = p.list.iter().map(|c| format!("{}: {}", c.key, c.message));
        (c, problems.collect())
    }

    #[test]
    fn defaults_are_valid_and_point_at_the_listener() {
        let (c, p) = validate(RawAttachments::default());
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.max_file, 20 * MIB);
        assert!(c.max_per_lead >= c.max_file);
    }

    #[test]
    fn bad_values_are_named_by_key() {
        let (_, p) = validate(RawAttachments {
            max_file: Some(ByteSize(10)),
            max_per_lead: Some(ByteSize(5)),
            link_ttl: Some(HumanDuration(Duration::from_secs(5))),
            link_secret: Some(Secret::new("short")),
            public_url: Some("ftp://x".into()),
            vk_hosts: None,
        });
        let keys: Vec<&str> = p
            .iter()
            .map(|s| s.split(':').next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "max_file",
                "max_per_lead",
                "link_ttl",
                "link_secret",
                "public_url"
            ]
        );
    }
}
