//! Who can be late: the SLA clock runs only for a manager who is told about the lead (a card
//! on a configured channel) or can acknowledge it another way (the API, or a CRM whose own
//! webhooks report that the lead was taken). Without any of these, a lead would be passed on
//! after every `ack_within` to managers who never heard of it.

use crate::deliver::{SinkConfig, SinkKind};
use crate::notify::Notices;
use crate::routing::Manager;

/// What can tell leadgate that a manager took a lead, besides the manager's own cards.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The managers' cards (Telegram buttons, mailed links).
    pub notices: Notices,
    /// `[api] token` is set: a CRM or a tool may call `/api/leads/{id}/ack`.
    pub api: bool,
    /// Sinks whose CRM reports back (`hook_secret` set): a manager with a CRM user id there
    /// can take the lead in the CRM.
    pub crm_sinks: Vec<CrmSink>,
}

/// A sink whose CRM reports back, with the keys its managers' `crm_user_id` may use.
#[derive(Debug, Clone)]
pub struct CrmSink {
    /// The sink id.
    pub id: String,
    /// Its preset's name (a `crm_user_id` key may name the preset instead of the sink).
    pub preset: Option<String>,
}

impl Reach {
    /// Who can acknowledge a lead: the managers' cards (`notices`, built from `[notify]`),
    /// the API (when it has a token), and the CRMs among `sinks` whose webhooks report back.
    pub fn of(api: bool, sinks: &[SinkConfig], notices: &Notices) -> Reach {
        Reach {
            notices: notices.clone(),
            api,
            crm_sinks: sinks
                .iter()
                .filter_map(|s| match &s.kind {
                    SinkKind::Webhook(w) if w.hook_secret.is_some() => Some(CrmSink {
                        id: s.id.clone(),
                        preset: w.preset.as_ref().map(|p| p.name.clone()),
                    }),
                    _ => None,
                })
                .collect(),
        }
    }

    /// Whether `m`'s assignments run the SLA clock.
    pub fn can_be_late(&self, m: &Manager) -> bool {
        self.api
            || self.notices.tells(m)
            || self.crm_sinks.iter().any(|s| {
                m.crm_user_id.contains_key(&s.id)
                    || s.preset
                        .as_ref()
                        .is_some_and(|p| m.crm_user_id.contains_key(p))
            })
    }

    /// Whether anything at all can acknowledge a lead (so an `[sla]` section has an effect).
    pub fn any(&self) -> bool {
        self.api
            || self.notices.config().telegram.is_some()
            || self.notices.config().email.is_some()
            || !self.crm_sinks.is_empty()
    }
}
