//! A sink's validated settings: which events it takes and how it delivers them. The config
//! assembler builds these; the sink workers run them.

use crate::lead::EventType;
use crate::settings::Secret;
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
