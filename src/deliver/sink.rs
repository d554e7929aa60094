//! A sink's table (`[[sinks.webhook]]`, `[[sinks.file]]`): as written, checked, and as the
//! sink workers run it: which events it takes and how it delivers them.

use super::decode_signing_secret;
use crate::connectors::Catalogue;
use crate::lead::EventType;
use crate::settings::{HumanDuration, Scope, Secret};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

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

/// `[[sinks.webhook]]`: a CRM or any HTTP endpoint.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebhookSink {
    /// The sink id (also the key of managers' `crm_user_id` tables).
    pub id: String,
    /// The endpoint.
    pub url: String,
    /// `whsec_...` signing secret (Standard Webhooks).
    pub secret: Option<Secret>,
    /// Per-request timeout; default `10s`.
    pub timeout: Option<HumanDuration>,
    /// How long to keep retrying before dead-lettering; default `3d`.
    pub retry_horizon: Option<HumanDuration>,
    /// Deliveries in flight at once; default 4.
    pub concurrency: Option<u32>,
    /// Event types sent; default all.
    pub events: Option<Vec<String>>,
    /// The CRM preset (`bitrix24`, `amocrm`, `hubspot`, `pipedrive`, `generic`) that shapes
    /// the request; default none (the Standard Webhooks envelope).
    pub preset: Option<String>,
    /// The CRM's API token, sent the way the preset says (`${ENV_VAR}` recommended).
    pub token: Option<Secret>,
    /// The secret the CRM's own webhooks to `POST /hooks/crm/{id}` carry, the way the
    /// preset's `[hook]` says (a URL key, Bitrix24's application token, Pipedrive's basic
    /// auth password, a `whsec_` signing secret); without it that endpoint is off.
    pub hook_secret: Option<Secret>,
}

/// `[[sinks.file]]`: JSON Lines, the out-of-the-box stand-in for a CRM.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFileSink {
    /// The sink id.
    pub id: String,
    /// The file, relative to the working directory.
    pub path: String,
    /// Event types written; default all.
    pub events: Option<Vec<String>>,
}

impl RawWebhookSink {
    /// Checks the sink's table against the presets it may name, and applies the defaults;
    /// `None` when it has no URL to post to.
    pub fn validate(self, p: &mut Scope<'_>, cat: &Catalogue) -> Option<SinkConfig> {
        let s = self;
        let preset = s.preset.as_deref().and_then(|name| {
            let found = cat.preset(name);
            if found.is_none() {
                p.add(
                    "preset",
                    format!("unknown preset {name:?}"),
                    Some(&format!(
                        "one of {} (or a file in [connectors] dir)",
                        cat.preset_names()
                    )),
                );
            }
            found
        });
        let url = match reqwest::Url::parse(&s.url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(u),
            _ => {
                // Not the URL itself: a CRM's webhook address carries its token.
                p.add(
                    "url",
                    "is not an http(s) URL (it must start with https:// or http://)",
                    None,
                );
                None
            }
        };
        if let Some(secret) = &s.secret
            && let Err(e) = decode_signing_secret(secret)
        {
            p.add(
                "secret",
                e,
                Some("use the whsec_<base64> secret your receiver gave you"),
            );
        }
        let concurrency = s.concurrency.unwrap_or(4);
        if concurrency == 0 {
            p.add("concurrency", "must be at least 1", None);
        }
        let events = events(p, s.events);
        Some(SinkConfig {
            id: s.id,
            events,
            kind: SinkKind::Webhook(WebhookSinkConfig {
                url: url?,
                secret: s.secret,
                timeout: s.timeout.map_or(Duration::from_secs(10), |d| d.0),
                retry_horizon: s
                    .retry_horizon
                    .map_or(Duration::from_secs(3 * 86_400), |d| d.0),
                concurrency: concurrency.max(1) as usize,
                preset,
                token: s.token.filter(|t| !t.expose().is_empty()),
                hook_secret: s.hook_secret.filter(|t| !t.expose().is_empty()),
            }),
        })
    }
}

impl RawFileSink {
    /// Checks the sink's table and applies the defaults.
    pub fn validate(self, p: &mut Scope<'_>) -> SinkConfig {
        let s = self;
        if s.path.trim().is_empty() {
            p.add("path", "the path is empty", None);
        }
        let events = events(p, s.events);
        SinkConfig {
            id: s.id,
            events,
            kind: SinkKind::File {
                path: PathBuf::from(s.path),
            },
        }
    }
}

/// A sink's `events`: every event type when absent; each name must be one.
fn events(p: &mut Scope<'_>, names: Option<Vec<String>>) -> Vec<EventType> {
    let Some(names) = names else {
        return EventType::ALL.to_vec();
    };
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let parsed = EventType::parse(n);
            if parsed.is_none() {
                let all: Vec<_> = EventType::ALL.iter().map(|e| e.as_str()).collect();
                p.add(
                    &format!("events[{i}]"),
                    format!("unknown event type {n:?}"),
                    Some(&format!("one of {}", all.join(", "))),
                );
            }
            parsed
        })
        .collect()
}
