//! Which notifications a change of a lead queues, to whom, on which channels: a card for the
//! newly assigned manager, a follow-up for the current one, a notice for the one it left, an
//! alert for the admins. Each has a dedupe key, so one assignment is never announced twice.

use super::config::NotifyConfig;
use super::links::{LinkAction, LinkClaim, LinkSigner};
use super::message::{
    Card, CardButtons, EmailMessage, Message, NAME_MAX, TELEGRAM_MAX, TelegramMessage, cut,
    escape_html,
};
use crate::clock::Clock;
use crate::lead::Lead;
use crate::routing::{CompiledRules, Manager, NotifyChannel};
use crate::store::NewNotification;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The path the take/decline links are served under.
pub const LINK_PATH: &str = "/act";

/// Builds notifications; cheap to clone. Without `[notify]` channels it builds none.
#[derive(Debug, Clone, Default)]
pub struct Notices {
    cfg: Arc<NotifyConfig>,
    signer: Option<LinkSigner>,
}

/// Where one message goes.
struct Target {
    channel: NotifyChannel,
    address: String,
}

impl Target {
    fn channel_name(&self) -> &'static str {
        match self.channel {
            NotifyChannel::Telegram => "telegram",
            NotifyChannel::Email => "email",
        }
    }
}

/// The longest line of a notice in Telegram, leaving room for its title.
const NOTICE_LINE_MAX: usize = TELEGRAM_MAX - 512;

/// A short notice (a title and one line) on `channel`; a Telegram notice about a lead
/// (`card_of`) answers its card. The line is cut to fit Telegram.
fn notice(
    channel: NotifyChannel,
    icon: &str,
    title: &str,
    subject: String,
    line: &str,
    card_of: Option<&str>,
) -> Message {
    match channel {
        NotifyChannel::Telegram => Message::Telegram(TelegramMessage {
            text: format!(
                "{icon} <b>{}</b>\n{}",
                escape_html(title),
                escape_html(&cut(line, NOTICE_LINE_MAX))
            ),
            buttons: None,
            card_of: card_of.map(str::to_string),
        }),
        NotifyChannel::Email => Message::Email(EmailMessage {
            subject,
            plain: format!("{title}\n\n{line}\n"),
            html: format!(
                "<!doctype html><html><body><h3>{icon} {}</h3><p>{}</p></body></html>",
                escape_html(title),
                escape_html(line)
            ),
        }),
    }
}

/// The lead's current assignment and the manager who has it, if the rules know them.
fn holder<'a>(
    rules: &'a CompiledRules,
    lead: &'a Lead,
) -> Option<(&'a crate::lead::Assignment, &'a Manager)> {
    let a = lead.assignment.as_ref()?;
    Some((a, rules.manager(&a.manager.id)?))
}

impl Notices {
    /// Notices for the configured channels.
    pub fn new(cfg: &NotifyConfig) -> Notices {
        Notices {
            signer: cfg
                .email
                .as_ref()
                .map(|e| LinkSigner::new(e.link_secret.clone())),
            cfg: Arc::new(cfg.clone()),
        }
    }

    /// The link signer, when mail is configured.
    pub fn signer(&self) -> Option<&LinkSigner> {
        self.signer.as_ref()
    }

    /// The configuration they were built from.
    pub fn config(&self) -> &NotifyConfig {
        &self.cfg
    }

    /// Whether messages to `m` go to this channel (`telegram`, `email`) and address now.
    pub fn reaches(&self, m: &Manager, channel: &str, address: &str) -> bool {
        self.targets(m)
            .iter()
            .any(|t| t.channel_name() == channel && t.address == address)
    }

    /// Whether a new assignment of `m` is announced to them (a card with Take/Decline on a
    /// configured channel they have), so they can act on it from there.
    pub fn tells(&self, m: &Manager) -> bool {
        !self.targets(m).is_empty()
    }

    /// The manager's channels that are configured here, with their addresses.
    fn targets(&self, m: &Manager) -> Vec<Target> {
        m.notify
            .iter()
            .filter_map(|c| match c {
                NotifyChannel::Telegram if self.cfg.telegram.is_some() => {
                    m.telegram_chat_id.map(|id| Target {
                        channel: *c,
                        address: id.to_string(),
                    })
                }
                NotifyChannel::Email if self.cfg.email.is_some() => {
                    m.email.clone().map(|address| Target {
                        channel: *c,
                        address,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// The card for the lead's current assignment: Take/Decline buttons in Telegram, signed
    /// links by mail.
    pub fn assigned(
        &self,
        rules: &CompiledRules,
        lead: &Lead,
        clock: &dyn Clock,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        let Some((a, m)) = holder(rules, lead) else {
            return Vec::new();
        };
        let targets = self.targets(m);
        if targets.is_empty() {
            // Nobody to tell here: no card is made.
            return Vec::new();
        }
        let labels = self.cfg.language.labels();
        let card = Card::of(lead, &lead.text, labels.new_lead, labels, m.timezone());
        targets
            .into_iter()
            .map(|t| {
                let message = match t.channel {
                    NotifyChannel::Telegram => Message::Telegram(TelegramMessage {
                        text: card.telegram_html(),
                        buttons: Some(CardButtons::new(labels, &lead.id, a.attempt)),
                        card_of: None,
                    }),
                    NotifyChannel::Email => {
                        let expires = a.ack_due_at.unwrap_or(now)
                            + chrono::Duration::from_std(
                                self.cfg
                                    .email
                                    .as_ref()
                                    .map(|e| e.link_ttl)
                                    .unwrap_or_default(),
                            )
                            .unwrap_or(chrono::Duration::days(1));
                        let link = |action| {
                            self.link(LinkClaim {
                                lead: lead.id.clone(),
                                manager: m.id.clone(),
                                attempt: a.attempt,
                                action,
                                expires: expires.timestamp(),
                                nonce: clock.new_id().simple().to_string(),
                            })
                        };
                        let actions = [
                            (labels.take, link(LinkAction::Take)),
                            (labels.decline, link(LinkAction::Decline)),
                        ];
                        Message::Email(EmailMessage {
                            subject: card.subject(),
                            plain: card.plain(&actions),
                            html: card.html(&actions),
                        })
                    }
                };
                self.row(
                    format!("assigned:{}:{}:{}", lead.id, a.attempt, t.channel_name()),
                    Some(&lead.id),
                    &m.id,
                    &t,
                    "assigned",
                    &message,
                    now,
                )
            })
            .collect()
    }

    /// A follow-up (a new message in the conversation, a reply) for the manager who has the
    /// lead; `key` names the item so each is announced once.
    pub fn follow_up(
        &self,
        rules: &CompiledRules,
        lead: &Lead,
        added: &str,
        key: &str,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        let Some((_, m)) = holder(rules, lead) else {
            return Vec::new();
        };
        let targets = self.targets(m);
        if targets.is_empty() {
            return Vec::new();
        }
        let labels = self.cfg.language.labels();
        // The card quotes only the new message, not the whole conversation the lead carries.
        let card = Card::of(lead, added, labels.follow_up, labels, m.timezone());
        targets
            .into_iter()
            .map(|t| {
                let message = match t.channel {
                    NotifyChannel::Telegram => Message::Telegram(TelegramMessage {
                        text: card.telegram_html(),
                        buttons: None,
                        card_of: None,
                    }),
                    NotifyChannel::Email => Message::Email(EmailMessage {
                        subject: card.subject(),
                        plain: card.plain(&[]),
                        html: card.html(&[]),
                    }),
                };
                self.row(
                    format!("follow_up:{}:{key}:{}", lead.id, t.channel_name()),
                    Some(&lead.id),
                    &m.id,
                    &t,
                    "follow_up",
                    &message,
                    now,
                )
            })
            .collect()
    }

    /// Tells `from` (the manager the lead left, at its `attempt`) where it went (`to`) and why.
    #[allow(clippy::too_many_arguments)]
    pub fn passed_on(
        &self,
        rules: &CompiledRules,
        lead: &Lead,
        from: &str,
        attempt: u32,
        to: Onward<'_>,
        expired: bool,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        let Some(m) = rules.manager(from) else {
            return Vec::new();
        };
        let labels = self.cfg.language.labels();
        let who = cut(
            lead.contact.name.as_deref().unwrap_or(labels.no_name),
            NAME_MAX,
        );
        let why = if expired {
            labels.expired
        } else {
            labels.declined
        };
        let whom = match to {
            Onward::To(id) => format!(
                "{} {}",
                labels.passed_to,
                rules.manager(id).map_or(id, |m| m.name.as_str())
            ),
            Onward::Waits => labels.waits.to_string(),
            Onward::NobodyLeft => labels.nobody_left.to_string(),
        };
        let line = format!("{who} ({}): {whom}; {why}.", lead.channel.as_str());
        self.targets(m)
            .into_iter()
            .map(|t| {
                let message = notice(
                    t.channel,
                    "↪️",
                    labels.passed_on,
                    format!("[leadgate] {} — {who}", labels.passed_on),
                    &line,
                    Some(&lead.id),
                );
                self.row(
                    format!("passed_on:{}:{attempt}:{}", lead.id, t.channel_name()),
                    Some(&lead.id),
                    &m.id,
                    &t,
                    "passed_on",
                    &message,
                    now,
                )
            })
            .collect()
    }

    /// An alert about `incident` (opened at `opened`) for every configured admin contact, or
    /// its end when `over`.
    pub fn alert(
        &self,
        incident: &str,
        opened: DateTime<Utc>,
        text: &str,
        over: bool,
        now: DateTime<Utc>,
    ) -> Vec<NewNotification> {
        let labels = self.cfg.language.labels();
        let (title, icon, kind) = if over {
            (labels.alert_over, "✅", "alert_over")
        } else {
            (labels.alert, "⚠️", "alert")
        };
        let alerts = &self.cfg.alerts;
        let mut targets: Vec<Target> = Vec::new();
        if self.cfg.telegram.is_some() {
            targets.extend(alerts.telegram_chat_ids.iter().map(|id| Target {
                channel: NotifyChannel::Telegram,
                address: id.to_string(),
            }));
        }
        if self.cfg.email.is_some() {
            targets.extend(alerts.emails.iter().map(|e| Target {
                channel: NotifyChannel::Email,
                address: e.clone(),
            }));
        }
        targets
            .into_iter()
            .map(|t| {
                let message = notice(
                    t.channel,
                    icon,
                    title,
                    format!("[leadgate] {title}: {text}"),
                    text,
                    None,
                );
                self.row(
                    format!(
                        "{kind}:{incident}:{}:{}:{}",
                        opened.timestamp_micros(),
                        t.channel_name(),
                        t.address
                    ),
                    None,
                    "admin",
                    &t,
                    kind,
                    &message,
                    now,
                )
            })
            .collect()
    }

    fn link(&self, claim: LinkClaim) -> String {
        let (Some(signer), Some(email)) = (&self.signer, &self.cfg.email) else {
            return String::new();
        };
        format!("{}{LINK_PATH}/{}", email.public_url, signer.sign(&claim))
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &self,
        dedupe_key: String,
        lead_id: Option<&str>,
        recipient: &str,
        t: &Target,
        kind: &str,
        message: &Message,
        now: DateTime<Utc>,
    ) -> NewNotification {
        NewNotification {
            dedupe_key,
            lead_id: lead_id.map(str::to_string),
            recipient: recipient.to_string(),
            channel: t.channel_name().to_string(),
            address: t.address.clone(),
            kind: kind.to_string(),
            message: serde_json::to_string(message).expect("a message serialises"),
            created_at: now,
        }
    }
}

/// Where a passed lead went, for the notice its last manager gets.
#[derive(Debug, Clone, Copy)]
pub enum Onward<'a> {
    /// To this manager.
    To(&'a str),
    /// Nowhere yet: it waits for the first manager who can take it.
    Waits,
    /// Nowhere: nobody else is left, it stays with them.
    NobodyLeft,
}
