//! `[notify]`: how leadgate reaches managers (a Telegram bot, an SMTP server) and whom it tells
//! when a channel fails, as written and as validated.

use crate::settings::{HumanDuration, Scope, Secret};
use crate::telegram::{DEFAULT_API_URL, token_shape_ok, webhook_secret_shape_ok};
use crate::tls::ExtraRoots;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[notify]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// The language of the cards and mails: `ru` (default) or `en`.
    pub language: Option<String>,
    /// `[notify.telegram]`.
    pub telegram: Option<RawNotifyTelegram>,
    /// `[notify.email]`.
    pub email: Option<RawNotifyEmail>,
    /// `[notify.alerts]`.
    #[serde(default)]
    pub alerts: RawAlerts,
}

/// `[notify.telegram]`: the managers' bot (not a customer-facing `[[sources.telegram]]` bot:
/// one bot's updates can only be read by one poller).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifyTelegram {
    /// The bot token from @BotFather.
    pub token: Secret,
    /// The Bot API base URL; default `https://api.telegram.org`.
    pub api_url: Option<String>,
    /// How long one `getUpdates` call waits for a tap; default `25s`.
    pub poll_timeout: Option<HumanDuration>,
    /// `polling` (default) or `webhook`: Telegram posts the taps to
    /// `POST /hooks/telegram-managers` (set it with `setWebhook`).
    pub mode: Option<String>,
    /// The `secret_token` given to `setWebhook`, checked in `X-Telegram-Bot-Api-Secret-Token`;
    /// required in webhook mode.
    pub webhook_secret: Option<Secret>,
}

/// `[notify.email]`: the SMTP server managers' mail goes through, and where the take/decline
/// links in it point.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotifyEmail {
    /// `smtps://host:465` (TLS), `smtp://host:587?tls=required` (STARTTLS) or
    /// `smtp://host:25` (plain, for tests and a local relay).
    pub url: String,
    /// The SMTP login.
    pub user: Option<String>,
    /// The SMTP password.
    pub password: Option<Secret>,
    /// The sender, `"leadgate <leads@example.ru>"`.
    pub from: String,
    /// leadgate's public base URL, which the take/decline links use (`https://leads.example.ru`).
    pub public_url: String,
    /// The key the links are signed with (32+ random characters).
    pub link_secret: Secret,
    /// How long a link works after the lead's deadline; default `24h`.
    pub link_ttl: Option<HumanDuration>,
    /// Extra trusted roots (PEM) for a server with a private CA or a self-signed certificate,
    /// relative to the config file; the public roots stay trusted.
    pub ca_file: Option<PathBuf>,
}

/// `[notify.alerts]`: the admins told when a channel fails or goes silent, a sink dead-letters,
/// or leads wait for lack of an eligible manager.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerts {
    /// Admins' Telegram chat ids (through `[notify.telegram]`).
    #[serde(default)]
    pub telegram_chat_ids: Vec<i64>,
    /// Admins' addresses (through `[notify.email]`).
    #[serde(default)]
    pub emails: Vec<String>,
    /// A source failing for this long is an incident; default `5m`.
    pub source_failing_after: Option<HumanDuration>,
    /// A sink failing for this long (every delivery retried, none through) is an incident,
    /// long before its rows dead-letter; default `15m`.
    pub sink_failing_after: Option<HumanDuration>,
    /// Per source id: no item for this long is an incident (`{ sales-inbox = "1d" }`).
    #[serde(default)]
    pub silent_after: BTreeMap<String, HumanDuration>,
    /// How often the conditions are checked; default `30s`.
    pub check_every: Option<HumanDuration>,
}

pub use crate::language::Language;

/// The managers' bot, validated.
#[derive(Debug, Clone)]
pub struct NotifyTelegram {
    /// The bot token.
    pub token: Secret,
    /// The Bot API base URL.
    pub api_url: reqwest::Url,
    /// The long-poll wait for taps.
    pub poll_timeout: Duration,
    /// In webhook mode, the secret Telegram's posts carry; `None`: the bot polls.
    pub webhook_secret: Option<Secret>,
}

/// The SMTP side, validated.
#[derive(Debug, Clone)]
pub struct NotifyEmail {
    /// The SMTP URL (it may carry credentials, so it is kept secret).
    pub url: Secret,
    /// The SMTP login and password.
    pub login: Option<(String, Secret)>,
    /// The sender.
    pub from: lettre::message::Mailbox,
    /// The base of the take/decline links, without a trailing slash.
    pub public_url: String,
    /// The links' signing key.
    pub link_secret: Secret,
    /// How long a link works after the lead's deadline.
    pub link_ttl: Duration,
    /// The `ca_file` certificates (PEM, checked), trusted beside the public roots.
    pub extra_roots: Option<Vec<u8>>,
}

/// Who is told about incidents, and when something is one.
#[derive(Debug, Clone, Default)]
pub struct AlertsConfig {
    /// Admins' Telegram chats.
    pub telegram_chat_ids: Vec<i64>,
    /// Admins' addresses.
    pub emails: Vec<String>,
    /// How long a source may fail before it is an incident.
    pub source_failing_after: Duration,
    /// How long a sink may fail before it is an incident.
    pub sink_failing_after: Duration,
    /// Per source: how long it may stay silent.
    pub silent_after: BTreeMap<String, Duration>,
    /// How often the monitor looks.
    pub check_every: Duration,
}

impl AlertsConfig {
    /// Whether anyone is to be told.
    pub fn has_recipients(&self) -> bool {
        !self.telegram_chat_ids.is_empty() || !self.emails.is_empty()
    }
}

/// `[notify]`, validated.
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    /// The language of cards and mails.
    pub language: Language,
    /// The managers' bot, when configured.
    pub telegram: Option<NotifyTelegram>,
    /// SMTP and links, when configured.
    pub email: Option<NotifyEmail>,
    /// Admin alerts.
    pub alerts: AlertsConfig,
}

/// What validation needs to know about the rest of the config.
pub struct Neighbours<'a> {
    /// Every source id.
    pub source_ids: &'a HashSet<String>,
    /// The customer-facing bots' tokens.
    pub source_bot_tokens: Vec<&'a str>,
    /// The config file's folder, which relative paths start from.
    pub base: &'a Path,
}

fn duration(value: Option<HumanDuration>, default: Duration) -> Duration {
    value.map_or(default, |d| d.0)
}

impl RawNotify {
    /// Checks every key, reporting each problem with its key under `notify.`.
    pub fn validate(self, n: &Neighbours<'_>, p: &mut Scope<'_>) -> NotifyConfig {
        let language = match self.language.as_deref().unwrap_or("ru") {
            "ru" => Language::Ru,
            "en" => Language::En,
            other => {
                p.add(
                    "language",
                    format!("unknown language {other:?}"),
                    Some("\"ru\" or \"en\""),
                );
                Language::Ru
            }
        };
        let telegram = self.telegram.map(|t| t.validate(n, p));
        let email = self.email.map(|e| e.validate(n.base, p));
        let alerts = self.alerts.validate(n, p);
        if !alerts.telegram_chat_ids.is_empty() && telegram.is_none() {
            p.add(
                "alerts.telegram_chat_ids",
                "admins are to be told in Telegram but there is no [notify.telegram] bot",
                Some("add [notify.telegram] with the managers' bot token"),
            );
        }
        if !alerts.emails.is_empty() && email.is_none() {
            p.add(
                "alerts.emails",
                "admins are to be told by e-mail but there is no [notify.email]",
                Some("add [notify.email] with the SMTP server"),
            );
        }
        NotifyConfig {
            language,
            telegram,
            email,
            alerts,
        }
    }
}

impl RawNotifyTelegram {
    fn validate(self, n: &Neighbours<'_>, p: &mut Scope<'_>) -> NotifyTelegram {
        if !token_shape_ok(self.token.expose()) {
            p.add(
                "telegram.token",
                "is not a bot token",
                Some("the token @BotFather gave, best as \"${LEADGATE_NOTIFY_BOT_TOKEN}\""),
            );
        }
        if n.source_bot_tokens.contains(&self.token.expose()) {
            p.add(
                "telegram.token",
                "is the token of a [[sources.telegram]] bot",
                Some(
                    "managers need a bot of their own: Telegram gives one bot's updates to one reader, and customers must not see internal cards",
                ),
            );
        }
        let text = self.api_url.as_deref().unwrap_or(DEFAULT_API_URL);
        let api_url = match reqwest::Url::parse(text) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => u,
            _ => {
                p.add(
                    "telegram.api_url",
                    format!("{text:?} is not an http(s) URL"),
                    Some("the Bot API server's base URL, like \"https://api.telegram.org\""),
                );
                reqwest::Url::parse(DEFAULT_API_URL).expect("a valid URL")
            }
        };
        let poll_timeout = duration(self.poll_timeout, Duration::from_secs(25));
        if !(1..=60).contains(&poll_timeout.as_secs()) {
            p.add(
                "telegram.poll_timeout",
                "must be from 1s to 60s",
                Some("\"25s\" is a good value"),
            );
        }
        let webhook_secret = match self.mode.as_deref().unwrap_or("polling") {
            "polling" => None,
            "webhook" => match self.webhook_secret {
                Some(s) if webhook_secret_shape_ok(s.expose()) => Some(s),
                Some(_) => {
                    p.add(
                        "telegram.webhook_secret",
                        "is not a valid secret_token",
                        Some("1-256 characters: letters, digits, '_' and '-'"),
                    );
                    None
                }
                None => {
                    p.add(
                        "telegram.webhook_secret",
                        "is required with mode = \"webhook\"",
                        Some(
                            "the secret_token given to setWebhook, like \"${LEADGATE_MANAGERS_HOOK_SECRET}\"",
                        ),
                    );
                    None
                }
            },
            other => {
                p.add(
                    "telegram.mode",
                    format!("{other:?} is not a mode"),
                    Some("\"polling\" or \"webhook\""),
                );
                None
            }
        };
        NotifyTelegram {
            token: self.token,
            api_url,
            poll_timeout,
            webhook_secret,
        }
    }
}

impl RawNotifyEmail {
    fn validate(self, base: &Path, p: &mut Scope<'_>) -> NotifyEmail {
        let parsed = reqwest::Url::parse(&self.url);
        let encrypted = parsed.as_ref().is_ok_and(|u| {
            u.scheme() == "smtps" || u.query_pairs().any(|(k, v)| k == "tls" && v != "none")
        });
        match &parsed {
            Ok(u) if matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some() => {
                if lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(&self.url)
                    .is_err()
                {
                    p.add(
                        "email.url",
                        "is not an SMTP URL leadgate can use",
                        Some("smtps://host:465, smtp://host:587?tls=required or smtp://host:25"),
                    );
                }
            }
            _ => p.add(
                "email.url",
                "is not an SMTP URL",
                Some(
                    "smtps://host:465 (TLS), smtp://host:587?tls=required (STARTTLS), smtp://127.0.0.1:2525 (plain)",
                ),
            ),
        }
        let login = match (self.user, self.password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            _ => {
                p.add(
                    "email.password",
                    "user and password go together",
                    Some("set both, or neither for a server without login"),
                );
                None
            }
        };
        let from = self.from.parse().unwrap_or_else(|_| {
            p.add(
                "email.from",
                format!("{:?} is not an address", self.from),
                Some("like \"leadgate <leads@example.ru>\""),
            );
            lettre::message::Mailbox::new(
                None,
                "invalid@invalid.example".parse().expect("a valid address"),
            )
        });
        let public_url = match reqwest::Url::parse(&self.public_url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {
                u.as_str().trim_end_matches('/').to_string()
            }
            _ => {
                p.add(
                    "email.public_url",
                    format!("{:?} is not an http(s) URL", self.public_url),
                    Some(
                        "the address managers reach leadgate at, like \"https://leads.example.ru\"",
                    ),
                );
                String::new()
            }
        };
        if self.link_secret.expose().len() < 32 {
            p.add(
                "email.link_secret",
                "is shorter than 32 characters",
                Some(
                    "a long random value, e.g. from `openssl rand -hex 32`, as \"${LEADGATE_LINK_SECRET}\"",
                ),
            );
        }
        let extra_roots = match &self.ca_file {
            Some(_) if !encrypted => {
                p.add(
                    "email.ca_file",
                    "is only used over TLS",
                    Some("use smtps://host:465 or smtp://host:587?tls=required, or remove ca_file"),
                );
                None
            }
            Some(file) => {
                let path = base.join(file);
                match ExtraRoots::load(&path).and_then(|_| {
                    std::fs::read(&path)
                        .map_err(|e| format!("{} cannot be read: {e}", path.display()))
                }) {
                    Ok(pem) => Some(pem),
                    Err(message) => {
                        p.add(
                            "email.ca_file",
                            message,
                            Some(
                                "a PEM file with the CA certificate that signed the server's certificate (or the server's self-signed certificate), relative to this config file",
                            ),
                        );
                        None
                    }
                }
            }
            None => None,
        };
        NotifyEmail {
            url: Secret::new(self.url),
            login,
            from,
            public_url,
            link_secret: self.link_secret,
            link_ttl: duration(self.link_ttl, Duration::from_secs(24 * 3600)),
            extra_roots,
        }
    }
}

impl RawAlerts {
    fn validate(self, n: &Neighbours<'_>, p: &mut Scope<'_>) -> AlertsConfig {
        for (i, e) in self.emails.iter().enumerate() {
            if e.parse::<lettre::Address>().is_err() {
                p.add(
                    &format!("alerts.emails[{i}]"),
                    format!("{e:?} is not an address"),
                    None,
                );
            }
        }
        for id in self.silent_after.keys() {
            if !n.source_ids.contains(id) {
                p.add(
                    &format!("alerts.silent_after.{id}"),
                    format!("there is no source {id:?}"),
                    Some("the keys are source ids from [[sources.*]]"),
                );
            }
        }
        AlertsConfig {
            telegram_chat_ids: self.telegram_chat_ids,
            emails: self.emails,
            source_failing_after: duration(self.source_failing_after, Duration::from_secs(300)),
            sink_failing_after: duration(self.sink_failing_after, Duration::from_secs(15 * 60)),
            silent_after: self
                .silent_after
                .into_iter()
                .map(|(k, v)| (k, v.0))
                .collect(),
            check_every: duration(self.check_every, Duration::from_secs(30)),
        }
    }
}
