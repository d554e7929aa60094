//! `[retention]`: how long each kind of personal data is kept. The defaults keep what
//! delivery and the SLA need; `"off"` keeps a kind for ever.

use crate::settings::{Scope, parse_duration};
use crate::store::RetentionKind;
use serde::Deserialize;
use std::time::Duration;

/// `[retention]` as written: durations like `"90d"`, or `"off"`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    /// Raw bytes of items that made or joined a lead (the lead keeps what was read from
    /// them); default `90d`.
    pub inbound: Option<String>,
    /// Items that were not leads (spam, auto-replies, test posts), whole; default `30d`.
    pub not_leads: Option<String>,
    /// Bodies of events a sink took and of messages sent to managers; default `30d`.
    pub delivered: Option<String>,
    /// Whole leads once taken or closed, with nothing left to send; default `365d`.
    pub leads: Option<String>,
    /// Files people sent (forms, e-mails, messengers), by when they were kept; default `90d`.
    pub attachments: Option<String>,
    /// How often the sweeper looks; default `1h`.
    pub every: Option<String>,
}

/// `[retention]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Raw bytes of items that made or joined a lead; `None` keeps them.
    pub inbound: Option<Duration>,
    /// Items that were not leads; `None` keeps them.
    pub not_leads: Option<Duration>,
    /// Delivered bodies and sent messages; `None` keeps them.
    pub delivered: Option<Duration>,
    /// Settled leads; `None` keeps them.
    pub leads: Option<Duration>,
    /// Kept files; `None` keeps them.
    pub attachments: Option<Duration>,
    /// How often the sweeper looks.
    pub every: Duration,
}

const DAY: u64 = 86_400;

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            inbound: Some(Duration::from_secs(90 * DAY)),
            not_leads: Some(Duration::from_secs(30 * DAY)),
            delivered: Some(Duration::from_secs(30 * DAY)),
            leads: Some(Duration::from_secs(365 * DAY)),
            attachments: Some(Duration::from_secs(90 * DAY)),
            every: Duration::from_secs(3600),
        }
    }
}

impl Retention {
    /// How long `kind` is kept, if it is removed at all.
    pub fn keep(&self, kind: RetentionKind) -> Option<Duration> {
        match kind {
            RetentionKind::NotLeads => self.not_leads,
            RetentionKind::Inbound => self.inbound,
            RetentionKind::Delivered => self.delivered,
            RetentionKind::Leads => self.leads,
            RetentionKind::Attachments => self.attachments,
        }
    }
}

impl RawRetention {
    /// Checks every value, reporting each problem as `(key, message, hint)`.
    pub fn validate(self, p: &mut Scope<'_>) -> Retention {
        let d = Retention::default();
        let mut kept = |key: &str, given: Option<String>, default: Option<Duration>| match given
            .as_deref()
            .map(str::trim)
        {
            None => default,
            Some("off") => None,
            Some(text) => match parse_duration(text) {
                Ok(t) if t >= Duration::from_secs(60) => Some(t),
                Ok(_) => {
                    p.add(
                        key,
                        format!("{text:?} is too short to keep anything"),
                        Some("at least \"1m\"; write \"off\" to keep this for ever"),
                    );
                    default
                }
                Err(e) => {
                    p.add(key, e, Some("like \"30d\", or \"off\" to keep for ever"));
                    default
                }
            },
        };
        let inbound = kept("inbound", self.inbound, d.inbound);
        let not_leads = kept("not_leads", self.not_leads, d.not_leads);
        let delivered = kept("delivered", self.delivered, d.delivered);
        let leads = kept("leads", self.leads, d.leads);
        let attachments = kept("attachments", self.attachments, d.attachments);
        let every = match self.every.as_deref().map(parse_duration) {
            None => d.every,
            Some(Ok(t)) if t >= Duration::from_secs(1) => t,
            Some(Ok(_)) => {
                p.add("every", "must be at least 1s", None);
                d.every
            }
            Some(Err(e)) => {
                p.add("every", e, Some("like \"1h\""));
                d.every
            }
        };
        Retention {
            inbound,
            not_leads,
            delivered,
            leads,
            attachments,
            every,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate(raw: RawRetention) -> (Retention, Vec<String>) {
        let mut p = crate::settings::Problems::new(std::path::Path::new("leadgate.toml"));
        let r = raw.validate(&mut p.scope(""));
        let problems = p.list.iter().map(|c| format!("{}: {}", c.key, c.message));
        (r, problems.collect())
    }

    #[test]
    fn defaults_keep_what_delivery_needs_and_off_keeps_for_ever() {
        let (r, p) = validate(RawRetention::default());
        assert!(p.is_empty());
        assert_eq!(r, Retention::default());
        let (r, p) = validate(RawRetention {
            leads: Some("off".into()),
            inbound: Some("7d".into()),
            ..RawRetention::default()
        });
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(r.keep(RetentionKind::Leads), None);
        assert_eq!(
            r.keep(RetentionKind::Inbound),
            Some(Duration::from_secs(7 * DAY))
        );
    }

    #[test]
    fn bad_values_are_named_by_key() {
        let (_, p) = validate(RawRetention {
            not_leads: Some("soon".into()),
            delivered: Some("5s".into()),
            every: Some("0s".into()),
            ..RawRetention::default()
        });
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("not_leads: "), "{p:?}");
        assert!(p[1].starts_with("delivered: "), "{p:?}");
        assert!(p[2].starts_with("every: "), "{p:?}");
    }
}
