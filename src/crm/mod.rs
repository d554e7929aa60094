//! The CRM talking back: its own outgoing webhooks (`POST /hooks/crm/{sink}`), verified as
//! that CRM signs them and read into reports leadgate acts on (`sla::Actions::crm_report`):
//! who is responsible for the lead now, and its status, which the sink's preset maps to
//! "new", "taken" or "closed" (`[hook]`). One reader per CRM; they are pure, except Bitrix24's
//! webhook, which names the lead only, so the lead is read back with `crm.lead.get`.

mod amocrm;
mod bitrix24;
mod form;
mod generic;
mod pipedrive;

pub use bitrix24::fetch as fetch_bitrix24_lead;

use crate::connectors::HookFormat;
use crate::settings::Secret;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};

/// Which lead a report is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadRef {
    /// leadgate's own id (the CRM keeps it: Bitrix24's ORIGIN_ID, the generic shape).
    Leadgate(String),
    /// The CRM's id of the lead, captured from its answer when the lead was made there.
    Crm(String),
}

/// One change the CRM reports about a lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrmReport {
    /// The lead.
    pub lead: LeadRef,
    /// The CRM user responsible for it now, when the webhook says.
    pub owner: Option<String>,
    /// The CRM user it had before this change, when the webhook says (amoCRM's
    /// `old_responsible_user_id`, Pipedrive's `previous.owner_id`): a report whose previous
    /// owner is not the lead's manager now is about an older change (the CRM's echo of an
    /// earlier reassignment leadgate sent, arriving after a later one), and its owner is
    /// not applied.
    pub previous_owner: Option<String>,
    /// Its status now, when the webhook reports a status (a move, not merely its current
    /// stage on another kind of change).
    pub status: Option<String>,
}

/// What a webhook's body asks of leadgate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reported {
    /// These changes.
    Reports(Vec<CrmReport>),
    /// The CRM only named these leads (its ids): read them back first (Bitrix24).
    ReadBack(Vec<String>),
}

/// Why a CRM's webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The secret or signature is missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// The body is not what this CRM sends.
    #[error("{0}")]
    Malformed(String),
    /// Reading the lead back from the CRM failed (it may send the webhook again).
    #[error("{0}")]
    Upstream(String),
}

/// A webhook as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct HookRequest<'a> {
    /// Its headers.
    pub headers: &'a HeaderMap,
    /// Its query string, without `?`.
    pub query: Option<&'a str>,
    /// Its raw body.
    pub body: &'a [u8],
    /// The sink's URL host (amoCRM's account must be the sink's).
    pub sink_host: Option<&'a str>,
}

impl HookRequest<'_> {
    /// A header's value as text.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What of a CRM's proof can be checked before the body is read (`request.body` is not
/// looked at): amoCRM's `?key=` and Pipedrive's password; Bitrix24 and Standard Webhooks sign
/// in or over the body. A webhook that fails here is refused without reading its body.
pub fn proof_before_body(
    format: HookFormat,
    secret: &Secret,
    request: &HookRequest<'_>,
) -> Result<(), HookError> {
    match format {
        HookFormat::Amocrm => amocrm::key_given(secret, request),
        HookFormat::Pipedrive => pipedrive::password_given(secret, request),
        HookFormat::Bitrix24 | HookFormat::Generic => Ok(()),
    }
}

/// Verifies `request` the way a CRM of `format` signs it (with the sink's `hook_secret`) and
/// reads what it reports.
pub fn read(
    format: HookFormat,
    secret: &Secret,
    now: DateTime<Utc>,
    request: &HookRequest<'_>,
) -> Result<Reported, HookError> {
    match format {
        HookFormat::Amocrm => amocrm::read(secret, request).map(Reported::Reports),
        HookFormat::Bitrix24 => bitrix24::read(secret, request).map(Reported::ReadBack),
        HookFormat::Pipedrive => pipedrive::read(secret, request).map(Reported::Reports),
        HookFormat::Generic => generic::read(secret, now, request).map(Reported::Reports),
    }
}

/// A JSON id (a number or a string) as text.
fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
