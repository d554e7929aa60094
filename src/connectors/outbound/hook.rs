//! A preset's `[hook]`: how the CRM's own outgoing webhooks (`POST /hooks/crm/{sink}`) are
//! read and verified, which of its values names the lead, and what its statuses mean to
//! leadgate (still new, taken, closed). The readers themselves are in `crate::crm`.

use super::super::inbound::FileProblem;
use serde::Deserialize;
use std::collections::BTreeSet;

/// `[hook]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHook {
    /// How the CRM writes and signs its webhooks: `amocrm`, `bitrix24`, `pipedrive` or
    /// `generic`.
    pub format: String,
    /// The `crm.NAME` (captured by the requests) holding the CRM's own id of the lead, for
    /// webhooks that name the lead by that id.
    pub lead_id: Option<String>,
    /// Statuses in which nobody has taken the lead yet; a move to any other status that is
    /// not closing takes it (acknowledged).
    #[serde(default)]
    pub new_statuses: Vec<String>,
    /// Statuses that close the lead (won, lost, junk).
    #[serde(default)]
    pub closed_statuses: Vec<String>,
}

/// How a CRM writes and signs its webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookFormat {
    /// amoCRM: `leads[status|responsible|update|delete][N][...]` form fields, unsigned, so
    /// the URL carries `?key=` with the sink's `hook_secret`.
    Amocrm,
    /// Bitrix24's outbound webhook: `event=ONCRMLEADUPDATE`, `data[FIELDS][ID]` and
    /// `auth[application_token]`; the lead itself is read back with `crm.lead.get`.
    Bitrix24,
    /// Pipedrive webhooks v2: JSON `{"meta", "data", "previous"}` with HTTP basic auth.
    Pipedrive,
    /// leadgate's own shape for any other CRM: JSON `{"lead_id", "owner", "status"}` signed
    /// like Standard Webhooks.
    Generic,
}

impl HookFormat {
    fn parse(s: &str) -> Option<HookFormat> {
        match s {
            "amocrm" => Some(HookFormat::Amocrm),
            "bitrix24" => Some(HookFormat::Bitrix24),
            "pipedrive" => Some(HookFormat::Pipedrive),
            "generic" => Some(HookFormat::Generic),
            _ => None,
        }
    }

    /// Whether its webhooks name the lead by the CRM's own id only (so `lead_id` is needed).
    fn names_crm_ids(self) -> bool {
        matches!(self, HookFormat::Amocrm | HookFormat::Pipedrive)
    }
}

/// What a CRM status means to leadgate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMeaning {
    /// Nobody has taken the lead yet.
    New,
    /// Somebody works on it: acknowledged.
    Taken,
    /// Won, lost or junk: the lead is closed.
    Closed,
}

/// `[hook]`, validated.
#[derive(Debug, Clone)]
pub struct HookSpec {
    /// How the webhooks are written and signed.
    pub format: HookFormat,
    /// The captured value holding the CRM's id of the lead.
    pub lead_id: Option<String>,
    /// Statuses still meaning "new".
    pub new_statuses: Vec<String>,
    /// Statuses closing the lead.
    pub closed_statuses: Vec<String>,
}

impl HookSpec {
    /// What `status` means.
    pub fn meaning(&self, status: &str) -> StatusMeaning {
        if self.closed_statuses.iter().any(|s| s == status) {
            StatusMeaning::Closed
        } else if self.new_statuses.iter().any(|s| s == status) {
            StatusMeaning::New
        } else {
            StatusMeaning::Taken
        }
    }
}

impl RawHook {
    /// Checks the format and that `lead_id` names a value the preset captures.
    pub(super) fn validate(
        self,
        captured: &BTreeSet<String>,
        found: &BTreeSet<String>,
        problems: &mut Vec<FileProblem>,
    ) -> HookSpec {
        let format = HookFormat::parse(&self.format).unwrap_or_else(|| {
            problems.push(FileProblem {
                key: "hook.format".into(),
                message: format!(
                    "{:?}: write \"amocrm\", \"bitrix24\", \"pipedrive\" or \"generic\"",
                    self.format
                ),
            });
            HookFormat::Generic
        });
        match &self.lead_id {
            Some(name) if !captured.contains(name) && !found.contains(name) => {
                problems.push(FileProblem {
                    key: "hook.lead_id".into(),
                    message: format!(
                        "{name:?} is not captured by any request: name the crm value holding the CRM's id of the lead"
                    ),
                })
            }
            None if format.names_crm_ids() => problems.push(FileProblem {
                key: "hook.lead_id".into(),
                message: format!(
                    "{} webhooks name the lead by the CRM's own id: name the crm value that keeps it (e.g. \"lead_id\")",
                    self.format
                ),
            }),
            _ => {}
        }
        for (i, s) in self.new_statuses.iter().enumerate() {
            if self.closed_statuses.contains(s) {
                problems.push(FileProblem {
                    key: format!("hook.new_statuses[{i}]"),
                    message: format!("{s:?} is also in closed_statuses"),
                });
            }
        }
        HookSpec {
            format,
            lead_id: self.lead_id,
            new_statuses: self.new_statuses,
            closed_statuses: self.closed_statuses,
        }
    }
}
