//! `RawConfig → Config`: every value checked, every problem gathered before reporting.

use super::doors;
use super::problems::Problems;
use super::raw::{RawConfig, RawFileSink, RawWebform, RawWebhookSink};
use super::units::parse_duration;
use super::{
    Config, ConfigProblem, SinkConfig, SinkKind, StorageConfig, WebformSource, WebhookSinkConfig,
};
use crate::connectors::{Catalogue, GENERIC};
use crate::deliver::{EventType, decode_signing_secret};
use crate::lead::{OwnContacts, PhoneNormaliser, normalise_email};
use crate::sources::telegram::{
    DEFAULT_API_URL, DEFAULT_CONTACT_BUTTON, DEFAULT_REPLY_TEXT, RawTelegram, ReplySettings,
    TelegramMode, TelegramOptions, TelegramSource, token_shape_ok, webhook_secret_shape_ok,
};
use crate::sources::vk::VkSource;
use crate::sources::whatsapp::WhatsappSource;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Validates the raw config read from `path` (relative paths in it are resolved: the routing
/// file against the config file's directory, data files against the working directory).
pub fn validate(raw: RawConfig, path: &Path) -> Result<Config, Vec<ConfigProblem>> {
    let mut p = Problems::new(path);

    let server = super::server::validate(&mut p, &raw.server);

    let storage = storage(&mut p, raw.storage.url.as_deref());

    let region = raw.business.phone_region.as_deref().unwrap_or("RU");
    let phones = PhoneNormaliser::new(region).unwrap_or_else(|e| {
        p.add("business.phone_region", e.to_string(), None);
        PhoneNormaliser::new("RU").expect("RU is a known region")
    });
    let language_code = raw.business.language.as_deref().unwrap_or("ru");
    let language = crate::language::Language::parse(language_code).unwrap_or_else(|| {
        p.add(
            "business.language",
            format!("{language_code:?} is not a language leadgate writes"),
            Some("\"ru\" or \"en\""),
        );
        crate::language::Language::Ru
    });
    let mut own_contacts = OwnContacts::default();
    for (i, e) in raw.business.own_emails.iter().enumerate() {
        match normalise_email(e) {
            Some(e) => own_contacts.emails.push(e),
            None => p.add(
                format!("business.own_emails[{i}]"),
                format!("{e:?} is not an e-mail address"),
                None,
            ),
        }
    }
    for (i, ph) in raw.business.own_phones.iter().enumerate() {
        match phones.to_e164(ph) {
            Some(e164) => own_contacts.phones.push(e164),
            None => p.add(
                format!("business.own_phones[{i}]"),
                format!("{ph:?} is not a valid phone number"),
                Some("write it with the country code, like \"+7 812 600-12-34\""),
            ),
        }
    }

    let base = path.parent().unwrap_or(Path::new("."));
    let routing_file = base.join(raw.routing.file.as_deref().unwrap_or("routing.toml"));
    if !routing_file.exists() {
        p.add(
            "routing.file",
            format!("{} does not exist", routing_file.display()),
            Some("the path is relative to the directory of this config file"),
        );
    }

    let connectors_dir = raw.connectors.dir.as_deref().map(|d| base.join(d));
    let connectors = match Catalogue::load(connectors_dir.as_deref()) {
        Ok(c) => c,
        Err(problems) => {
            p.list.extend(problems);
            Catalogue::default()
        }
    };

    let batch_size = raw.processing.batch_size.unwrap_or(200);
    if batch_size == 0 {
        p.add("processing.batch_size", "must be at least 1", None);
    }

    let mut ids = HashSet::new();
    let mut webforms = Vec::new();
    for (i, form) in raw.sources.webform.into_iter().enumerate() {
        let key = format!("sources.webform[{i}]");
        check_id(&mut p, &mut ids, &key, &form.id);
        webforms.push(webform(&mut p, &key, form, &connectors));
    }
    let mut wordpress = Vec::new();
    for (i, site) in raw.sources.wordpress.into_iter().enumerate() {
        let key = format!("sources.wordpress[{i}]");
        check_id(&mut p, &mut ids, &key, &site.id);
        wordpress.push(
            site.validate(&mut |field, message, hint| {
                p.add(format!("{key}.{field}"), message, hint)
            }),
        );
    }
    let mut feeds = Vec::new();
    for (i, feed) in raw.sources.feed.into_iter().enumerate() {
        let key = format!("sources.feed[{i}]");
        check_id(&mut p, &mut ids, &key, &feed.id);
        feeds.push(
            feed.validate(&mut |field, message, hint| {
                p.add(format!("{key}.{field}"), message, hint)
            }),
        );
    }
    let mut telegram = Vec::new();
    for (i, bot) in raw.sources.telegram.into_iter().enumerate() {
        let key = format!("sources.telegram[{i}]");
        check_id(&mut p, &mut ids, &key, &bot.id);
        telegram.extend(telegram_source(&mut p, &key, bot));
    }
    if webforms.iter().filter(|f| f.demo).count() > 1 {
        p.add(
            "sources.webform",
            "more than one form has demo = true",
            Some("the demo page shows one form"),
        );
    }

    let mut email = Vec::new();
    for (i, s) in raw.sources.email.into_iter().enumerate() {
        let key = format!("sources.email[{i}]");
        check_id(&mut p, &mut ids, &key, &s.id);
        match s.validate(base) {
            Ok(source) => email.push(source),
            Err(problems) => {
                for f in problems {
                    p.add(format!("{key}.{}", f.key), f.message, f.hint);
                }
            }
        }
    }

    let mut vk = Vec::new();
    for (i, s) in raw.sources.vk.into_iter().enumerate() {
        let key = format!("sources.vk[{i}]");
        check_id(&mut p, &mut ids, &key, &s.id);
        if s.group_id <= 0 {
            p.add(
                format!("{key}.group_id"),
                "must be the community's positive id",
                Some("the number in the community's address, e.g. 218765432"),
            );
        }
        if s.confirmation.trim().is_empty() {
            p.add(
                format!("{key}.confirmation"),
                "is empty",
                Some("copy the string VK shows in the Callback API settings"),
            );
        }
        let allow_unsigned = s.allow_unsigned.unwrap_or(false);
        doors::check_source_secret(&mut p, &key, s.secret.as_ref(), Some("VK"), allow_unsigned);
        let reply = vk_reply(&mut p, &key, &s);
        let conversation_window = window(&mut p, &key, s.conversation_window, THIRTY_MINUTES);
        vk.push(VkSource {
            reply,
            id: s.id,
            group_id: s.group_id,
            confirmation: s.confirmation,
            secret: s.secret,
            allow_unsigned,
            conversation_window,
        });
    }
    let mut whatsapp = Vec::new();
    let mut numbers = HashSet::new();
    for (i, s) in raw.sources.whatsapp.into_iter().enumerate() {
        let key = format!("sources.whatsapp[{i}]");
        check_id(&mut p, &mut ids, &key, &s.id);
        for (name, value) in [
            ("verify_token", &s.verify_token),
            ("app_secret", &s.app_secret),
        ] {
            if value.expose().is_empty() {
                p.add(
                    format!("{key}.{name}"),
                    "is empty",
                    Some("copy it from the app's WhatsApp settings"),
                );
            }
        }
        let reply = whatsapp_reply(&mut p, &key, &s);
        let conversation_window = window(&mut p, &key, s.conversation_window, THIRTY_MINUTES);
        if let Some(n) = &s.phone_number_id {
            if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
                p.add(
                    format!("{key}.phone_number_id"),
                    format!("{n:?} is not a phone number id"),
                    Some("the digits shown as \"Phone number ID\" in WhatsApp → API Setup"),
                );
            } else if !numbers.insert(n.clone()) {
                p.add(
                    format!("{key}.phone_number_id"),
                    format!("{n:?} is given to two sources"),
                    Some("each number feeds one source"),
                );
            }
        }
        whatsapp.push(WhatsappSource {
            reply,
            phone_number_id: s.phone_number_id,
            id: s.id,
            verify_token: s.verify_token,
            app_secret: s.app_secret,
            conversation_window,
        });
    }

    let notify = raw.notify.validate(
        &crate::notify::Neighbours {
            source_ids: &ids,
            source_bot_tokens: telegram.iter().map(|t| t.token.expose()).collect(),
            base,
        },
        &mut |field, message, hint| p.add(format!("notify.{field}"), message, hint),
    );

    let retention = raw
        .retention
        .validate(&mut |field, message, hint| p.add(format!("retention.{field}"), message, hint));

    let attachments = raw
        .attachments
        .validate(&server.listen.to_string(), &mut |field, message, hint| {
            p.add(format!("attachments.{field}"), message, hint)
        });

    let mut sinks = Vec::new();
    let mut sink_ids = HashSet::new();
    for (i, s) in raw.sinks.webhook.into_iter().enumerate() {
        let key = format!("sinks.webhook[{i}]");
        check_id(&mut p, &mut sink_ids, &key, &s.id);
        if let Some(sink) = webhook_sink(&mut p, &key, s, &connectors) {
            sinks.push(sink);
        }
    }
    for (i, s) in raw.sinks.file.into_iter().enumerate() {
        let key = format!("sinks.file[{i}]");
        check_id(&mut p, &mut sink_ids, &key, &s.id);
        sinks.push(file_sink(&mut p, &key, s));
    }

    doors::check_token(&mut p, "admin.token", raw.admin.token.as_ref());
    doors::check_token(
        &mut p,
        "admin.metrics_token",
        raw.admin.metrics_token.as_ref(),
    );
    doors::check_token(&mut p, "api.token", raw.api.token.as_ref());

    if !p.list.is_empty() {
        return Err(p.list);
    }
    Ok(Config {
        server,
        storage,
        phones,
        language,
        own_contacts,
        routing_file,
        watch_routing: raw.routing.watch.unwrap_or(true),
        batch_size,
        admin_token: raw.admin.token,
        metrics_token: raw.admin.metrics_token,
        api_token: raw.api.token,
        webforms,
        email,
        vk,
        whatsapp,
        wordpress,
        feeds,
        telegram,
        sinks,
        connectors: Arc::new(connectors),
        notify,
        retention,
        attachments,
    })
}

fn check_id(p: &mut Problems, seen: &mut HashSet<String>, key: &str, id: &str) {
    let valid = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        p.add(
            format!("{key}.id"),
            format!("{id:?} is not a valid id"),
            Some("use letters, digits, '-' and '_' (it appears in URLs)"),
        );
    } else if !seen.insert(id.to_string()) {
        p.add(
            format!("{key}.id"),
            format!("the id {id:?} is used twice"),
            Some("ids must be unique"),
        );
    }
}

fn webform(p: &mut Problems, key: &str, f: RawWebform, cat: &Catalogue) -> WebformSource {
    let connector = f.connector.unwrap_or_else(|| GENERIC.to_string());
    if cat.inbound(&connector).is_none() && cat.generic().is_some() {
        p.add(
            format!("{key}.connector"),
            format!("unknown connector {connector:?}"),
            Some(&format!(
                "one of {} (or a file in [connectors] dir)",
                cat.inbound_names()
            )),
        );
    }
    for (i, origin) in f.allowed_origins.iter().enumerate() {
        let ok = origin == "*"
            || reqwest::Url::parse(origin).is_ok_and(|u| u.path() == "/" && !origin.ends_with('/'));
        if !ok {
            p.add(
                format!("{key}.allowed_origins[{i}]"),
                format!("{origin:?} is not an origin"),
                Some("write scheme and host only, like \"https://example.ru\", or \"*\""),
            );
        }
    }
    for (name, target) in [
        ("redirect", &f.redirect),
        ("error_redirect", &f.error_redirect),
    ] {
        let ok = target.as_deref().is_none_or(|t| {
            (t.starts_with('/') && !t.starts_with("//"))
                || reqwest::Url::parse(t).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        });
        if !ok {
            p.add(
                format!("{key}.{name}"),
                format!("{:?} is not a page address", target.as_deref().unwrap_or("")),
                Some("write an http(s) URL like \"https://example.ru/thanks/\" or a path like \"/thanks\""),
            );
        }
    }
    let allow_unsigned = f.allow_unsigned.unwrap_or(false);
    let provider = cat
        .inbound(&connector)
        .filter(|c| c.verify.is_some())
        .map(|c| c.name.clone());
    doors::check_source_secret(
        p,
        key,
        f.secret.as_ref(),
        provider.as_deref(),
        allow_unsigned,
    );
    let defaults = crate::sources::webform::Limits::default();
    if f.max_fields == Some(0) {
        p.add(format!("{key}.max_fields"), "must be at least 1", None);
    }
    let per_minute = f.rate_per_minute.unwrap_or(20);
    let burst = f.rate_burst.unwrap_or(10);
    if per_minute == 0 || burst == 0 {
        p.add(
            format!("{key}.rate_per_minute"),
            "rate limits must be at least 1",
            None,
        );
    }
    let conversation_window = window(p, key, f.conversation_window, Duration::from_secs(2 * 60));
    WebformSource {
        conversation_window,
        id: f.id,
        allowed_origins: f.allowed_origins,
        honeypot: f.honeypot.filter(|h| !h.is_empty()),
        redirect: f.redirect,
        error_redirect: f.error_redirect,
        secret: f.secret,
        demo: f.demo.unwrap_or(false),
        max_text: f.max_text.map_or(defaults.text, |s| s.0),
        max_upload: f.max_upload.map_or(defaults.upload, |s| s.0),
        max_files: f.max_files.unwrap_or(defaults.files),
        max_fields: f.max_fields.unwrap_or(defaults.fields),
        rate_per_minute: per_minute.max(1),
        rate_burst: burst.max(1),
        connector,
        allow_unsigned,
    }
}

/// The longest message the Bot API sends.
const TELEGRAM_TEXT_LIMIT: usize = 4096;

fn telegram_source(p: &mut Problems, key: &str, t: RawTelegram) -> Option<TelegramSource> {
    if !token_shape_ok(t.token.expose()) {
        p.add(
            format!("{key}.token"),
            "is not a bot token",
            Some("the token @BotFather gave, like \"123456789:AAF...\", best as \"${TELEGRAM_BOT_TOKEN}\""),
        );
    }
    let api_text = t.api_url.as_deref().unwrap_or(DEFAULT_API_URL);
    let api_url = match reqwest::Url::parse(api_text) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Some(u),
        _ => {
            p.add(
                format!("{key}.api_url"),
                format!("{api_text:?} is not an http(s) URL"),
                Some("the Bot API server's base URL, like \"https://api.telegram.org\""),
            );
            None
        }
    };
    let mode = match (t.mode.as_deref().unwrap_or("polling"), t.webhook_secret) {
        ("polling", _) => Some(TelegramMode::Polling),
        ("webhook", Some(secret)) if webhook_secret_shape_ok(secret.expose()) => {
            Some(TelegramMode::Webhook { secret })
        }
        ("webhook", Some(_)) => {
            p.add(
                format!("{key}.webhook_secret"),
                "is not a valid secret token",
                Some("1 to 256 characters: letters, digits, '_' and '-'"),
            );
            None
        }
        ("webhook", None) => {
            p.add(
                format!("{key}.webhook_secret"),
                "webhook mode needs a secret, or anyone could post leads",
                Some("set webhook_secret and pass the same value as secret_token to setWebhook"),
            );
            None
        }
        (other, _) => {
            p.add(
                format!("{key}.mode"),
                format!("unknown mode {other:?}"),
                Some("\"polling\" or \"webhook\""),
            );
            None
        }
    };
    let poll_timeout = duration(
        p,
        key,
        "poll_timeout",
        t.poll_timeout,
        Duration::from_secs(25),
    );
    if !(1..=60).contains(&poll_timeout.as_secs()) || poll_timeout.subsec_nanos() != 0 {
        p.add(
            format!("{key}.poll_timeout"),
            "must be whole seconds from 1s to 60s",
            Some("\"25s\" is a good value"),
        );
    }
    let conversation_window = duration(
        p,
        key,
        "conversation_window",
        t.conversation_window,
        Duration::from_secs(30 * 60),
    );
    if conversation_window.is_zero() {
        p.add(
            format!("{key}.conversation_window"),
            "must be longer than 0",
            None,
        );
    }
    let text = match t.reply_text {
        None => Some(DEFAULT_REPLY_TEXT.to_string()),
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text),
    };
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > TELEGRAM_TEXT_LIMIT)
    {
        p.add(
            format!("{key}.reply_text"),
            format!("is longer than the {TELEGRAM_TEXT_LIMIT} characters Telegram sends"),
            None,
        );
    }
    let contact_button = t
        .contact_button
        .unwrap_or_else(|| DEFAULT_CONTACT_BUTTON.to_string());
    let ask_contact = t.ask_contact.unwrap_or(true);
    if ask_contact && contact_button.trim().is_empty() {
        p.add(
            format!("{key}.contact_button"),
            "the share-contact button needs a text",
            Some("or set ask_contact = false"),
        );
    }
    Some(TelegramSource {
        id: t.id,
        token: t.token,
        api_url: api_url?,
        mode: mode?,
        options: TelegramOptions {
            group_messages: t.group_messages.unwrap_or(false),
        },
        reply: ReplySettings {
            text,
            ask_contact,
            contact_button,
        },
        poll_timeout,
        conversation_window,
    })
}

/// A duration key read with its default; a bad value is a problem (and the default stands in
/// so validation goes on).
/// How a VK community answers the person: with its access token.
fn vk_reply(
    p: &mut Problems,
    key: &str,
    s: &crate::sources::vk::RawVkSource,
) -> Option<crate::sources::vk::VkReply> {
    let token = s.access_token.clone()?;
    if token.expose().is_empty() {
        p.add(format!("{key}.access_token"), "is empty", None);
        return None;
    }
    let api_url =
        (s.api_url.clone()).unwrap_or_else(|| crate::sources::vk::DEFAULT_VK_API_URL.into());
    if !reqwest::Url::parse(&api_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        p.add(
            format!("{key}.api_url"),
            format!("{api_url:?} is not an http(s) URL"),
            Some("\"https://api.vk.com/method\""),
        );
    }
    let text = (s.reply_text.clone()).unwrap_or_else(|| DEFAULT_REPLY_TEXT.to_string());
    (!text.trim().is_empty()).then_some(crate::sources::vk::VkReply {
        access_token: token,
        text,
        api_url,
    })
}

/// How a WhatsApp source answers the person: with an access token and the number's id.
fn whatsapp_reply(
    p: &mut Problems,
    key: &str,
    s: &crate::sources::whatsapp::RawWhatsappSource,
) -> Option<crate::sources::whatsapp::WhatsappReply> {
    let token = s.access_token.clone()?;
    if token.expose().is_empty() {
        p.add(format!("{key}.access_token"), "is empty", None);
        return None;
    }
    if s.phone_number_id.is_none() {
        p.add(
            format!("{key}.phone_number_id"),
            "is needed to answer with access_token",
            Some("the digits shown as \"Phone number ID\" in WhatsApp → API Setup"),
        );
    }
    let api_url = s
        .api_url
        .clone()
        .unwrap_or_else(|| crate::sources::whatsapp::DEFAULT_GRAPH_URL.to_string());
    if !reqwest::Url::parse(&api_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        p.add(
            format!("{key}.api_url"),
            format!("{api_url:?} is not an http(s) URL"),
            Some("\"https://graph.facebook.com/v21.0\""),
        );
    }
    let text = s
        .reply_text
        .clone()
        .unwrap_or_else(|| DEFAULT_REPLY_TEXT.to_string());
    (!text.trim().is_empty()).then_some(crate::sources::whatsapp::WhatsappReply {
        access_token: token,
        text,
        api_url,
    })
}

/// Telegram's, VK's and WhatsApp's default conversation window.
const THIRTY_MINUTES: Duration = Duration::from_secs(30 * 60);

/// A source's `conversation_window`: a duration, or `"off"` (zero: every item is a lead).
fn window(p: &mut Problems, key: &str, text: Option<String>, default: Duration) -> Duration {
    match text.as_deref().map(str::trim) {
        Some("off") => Duration::ZERO,
        _ => duration(p, key, "conversation_window", text, default),
    }
}

fn duration(
    p: &mut Problems,
    key: &str,
    name: &str,
    text: Option<String>,
    default: Duration,
) -> Duration {
    match text {
        None => default,
        Some(text) => parse_duration(&text).unwrap_or_else(|e| {
            p.add(format!("{key}.{name}"), e, None);
            default
        }),
    }
}

fn events(p: &mut Problems, key: &str, names: Option<Vec<String>>) -> Vec<EventType> {
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
                    format!("{key}.events[{i}]"),
                    format!("unknown event type {n:?}"),
                    Some(&format!("one of {}", all.join(", "))),
                );
            }
            parsed
        })
        .collect()
}

fn webhook_sink(
    p: &mut Problems,
    key: &str,
    s: RawWebhookSink,
    cat: &Catalogue,
) -> Option<SinkConfig> {
    let preset = s.preset.as_deref().and_then(|name| {
        let found = cat.preset(name);
        if found.is_none() {
            p.add(
                format!("{key}.preset"),
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
            p.add(
                format!("{key}.url"),
                format!("{:?} is not an http(s) URL", s.url),
                None,
            );
            None
        }
    };
    if let Some(secret) = &s.secret
        && let Err(e) = decode_signing_secret(secret)
    {
        p.add(
            format!("{key}.secret"),
            e,
            Some("use the whsec_<base64> secret your receiver gave you"),
        );
    }
    let concurrency = s.concurrency.unwrap_or(4);
    if concurrency == 0 {
        p.add(format!("{key}.concurrency"), "must be at least 1", None);
    }
    let events = events(p, key, s.events);
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

fn file_sink(p: &mut Problems, key: &str, s: RawFileSink) -> SinkConfig {
    if s.path.trim().is_empty() {
        p.add(format!("{key}.path"), "the path is empty", None);
    }
    let events = events(p, key, s.events);
    SinkConfig {
        id: s.id,
        events,
        kind: SinkKind::File {
            path: PathBuf::from(s.path),
        },
    }
}

/// `[storage] url`: `sqlite://PATH` or a plain path (the default `data/leadgate.db`), or
/// `postgres://user:password@host/db` (`postgresql://` too). A PostgreSQL URL's password is
/// never repeated in a problem.
fn storage(p: &mut Problems, url: Option<&str>) -> StorageConfig {
    let url = url.unwrap_or("data/leadgate.db");
    if let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        return StorageConfig::Sqlite(PathBuf::from(rest));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if let Err(e) = url.parse::<sqlx::postgres::PgConnectOptions>() {
            let shown = StorageConfig::Postgres(super::Secret::new(url)).describe();
            p.add(
                "storage.url",
                format!("{shown:?} is not a PostgreSQL URL: {e}"),
                Some("write \"postgres://user:password@host:5432/database\""),
            );
        }
        return StorageConfig::Postgres(super::Secret::new(url));
    }
    if url.contains("://") {
        p.add(
            "storage.url",
            format!("{url:?}: leadgate stores in SQLite or PostgreSQL"),
            Some(
                "write \"sqlite://data/leadgate.db\", a file path, or \"postgres://user@host/db\"",
            ),
        );
        return StorageConfig::Sqlite(PathBuf::from("data/leadgate.db"));
    }
    StorageConfig::Sqlite(PathBuf::from(url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_raw;

    fn problems_of(text: &str) -> Vec<ConfigProblem> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        std::fs::write(&path, text).expect("write");
        std::fs::write(dir.path().join("routing.toml"), "").expect("write");
        let raw = load_raw(&path, &|_| None).expect("raw parses");
        validate(raw, &path).expect_err("invalid")
    }

    /// The storage `url` reads as, or its problem's message.
    fn storage_of(url: &str) -> Result<StorageConfig, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        let mut p = Problems::new(&path);
        let storage = storage(&mut p, Some(url));
        match p.list.first() {
            Some(problem) => Err(problem.to_string()),
            None => Ok(storage),
        }
    }

    #[test]
    fn storage_is_sqlite_by_path_or_postgres_by_url_and_a_password_is_never_shown() {
        let sqlite = storage_of("sqlite://data/x.db").expect("sqlite");
        assert!(matches!(&sqlite, StorageConfig::Sqlite(p) if p == Path::new("data/x.db")));
        assert_eq!(sqlite.data_dir(), Path::new("data"));
        let plain = storage_of("var/lead.db").expect("a path");
        assert!(matches!(plain, StorageConfig::Sqlite(_)));
        let pg = storage_of("postgres://lg:hunter2@db.local:5432/leads").expect("postgres");
        assert!(matches!(pg, StorageConfig::Postgres(_)));
        assert_eq!(pg.describe(), "postgres://db.local:5432/leads");
        assert_eq!(pg.data_dir(), Path::new("data"));
        assert!(storage_of("postgresql://db.local/leads").is_ok());
        let bad =
            storage_of("postgres://lg:hunter2@db.local:notaport/leads").expect_err("bad port");
        assert!(bad.contains("storage.url"), "{bad}");
        assert!(!bad.contains("hunter2"), "{bad}");
        let other = storage_of("mysql://db.local/leads").expect_err("unknown");
        assert!(other.contains("SQLite or PostgreSQL"), "{other}");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let problems = problems_of(
            r#"
[server]
listen = "localhost"
[business]
phone_region = "XX"
[[sources.webform]]
id = "bad id"
allowed_origins = ["https://ok.example/", "*"]
[[sinks.webhook]]
id = "crm"
url = "ftp://crm"
secret = "nope"
events = ["lead.deleted"]
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "server.listen",
                "business.phone_region",
                "sources.webform[0].id",
                "sources.webform[0].allowed_origins[0]",
                "sinks.webhook[0].url",
                "sinks.webhook[0].secret",
                "sinks.webhook[0].events[0]",
            ],
            "{problems:#?}"
        );
        assert!(problems.iter().all(|p| p.file.ends_with("leadgate.toml")));
    }

    #[test]
    fn unknown_connectors_and_presets_are_named() {
        let problems = problems_of(
            "[[sources.webform]]\nid = \"t\"\nconnector = \"tildaa\"\n[[sinks.webhook]]\nid = \"b\"\nurl = \"https://b.example/rest/1/x/\"\npreset = \"bitrix\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["sources.webform[0].connector", "sinks.webhook[0].preset"]
        );
        assert!(
            problems[0]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("tilda"))
        );
        assert!(
            problems[1]
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("bitrix24"))
        );
    }

    #[test]
    fn email_problems_carry_the_source_key() {
        let problems = problems_of(
            "[[sources.email]]\nid = \"box\"\nhost = \"imap.example.ru\"\nuser = \"u\"\n\
             password = \"p\"\nafter = \"move\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["sources.email[0].move_to"], "{problems:#?}");
        assert!(problems.iter().all(|p| !p.to_string().contains("\"p\"")));
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_a_problem_of_its_key() {
        let problems = problems_of(
            "[[sources.email]]\nid = \"box\"\nhost = \"imap.example.ru\"\nuser = \"u\"\n\
             password = \"p\"\nca_file = \"routing.toml\"\n",
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["sources.email[0].ca_file"], "{problems:#?}");
        assert!(problems[0].message.contains("holds no PEM certificate"));
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let problems = problems_of(
            "[[sinks.file]]\nid = \"a\"\npath = \"x\"\n[[sinks.file]]\nid = \"a\"\npath = \"y\"\n",
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("used twice"));
    }

    #[test]
    fn telegram_problems_are_reported_with_their_keys() {
        let problems = problems_of(
            r#"
[[sources.telegram]]
id = "bot"
token = "not-a-token"
api_url = "ftp://x"
mode = "webhook"
poll_timeout = "2m"
conversation_window = "soon"
[[sources.telegram]]
id = "bot"
token = "1:a"
mode = "push"
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sources.telegram[0].token",
                "sources.telegram[0].api_url",
                "sources.telegram[0].webhook_secret",
                "sources.telegram[0].poll_timeout",
                "sources.telegram[0].conversation_window",
                "sources.telegram[1].id",
                "sources.telegram[1].mode",
            ],
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| !p.to_string().contains("not-a-token")),
            "the token is never printed"
        );
    }

    #[test]
    fn notify_problems_are_reported_with_their_keys() {
        let problems = problems_of(
            r#"
[[sources.telegram]]
id = "bot"
token = "7012345678:AAH_customers"
[notify]
language = "de"
[notify.telegram]
token = "7012345678:AAH_customers"
[notify.email]
url = "http://smtp.example.ru"
user = "leads"
from = "not an address"
public_url = "leads.example.ru"
link_secret = "short-secret-value"
[notify.alerts]
emails = ["nobody"]
silent_after = { sales-inbox = "1d" }
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "notify.language",
                "notify.telegram.token",
                "notify.email.url",
                "notify.email.password",
                "notify.email.from",
                "notify.email.public_url",
                "notify.email.link_secret",
                "notify.alerts.emails[0]",
                "notify.alerts.silent_after.sales-inbox",
            ],
            "{problems:#?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| !p.to_string().contains("short-secret-value")),
            "no secret is printed"
        );
    }

    #[test]
    fn a_mail_ca_file_must_be_pem_and_needs_tls() {
        let mail = |url: &str, ca: &str| {
            problems_of(&format!(
                "[notify.email]\nurl = \"{url}\"\nfrom = \"leads@example.ru\"\npublic_url = \"https://leads.example.ru\"\nlink_secret = \"{}\"\nca_file = \"{ca}\"\n",
                "x".repeat(32)
            ))
        };
        let not_pem = mail("smtps://smtp.example.ru", "routing.toml");
        assert_eq!(not_pem.len(), 1, "{not_pem:#?}");
        assert_eq!(not_pem[0].key, "notify.email.ca_file");
        assert!(
            not_pem[0].message.contains("holds no PEM certificate"),
            "{not_pem:#?}"
        );
        let plain = mail("smtp://127.0.0.1:25", "ca.pem");
        assert_eq!(plain.len(), 1, "{plain:#?}");
        assert_eq!(plain[0].key, "notify.email.ca_file");
        assert!(
            plain[0].message.contains("only used over TLS"),
            "{plain:#?}"
        );
    }

    #[test]
    fn alerts_need_the_channel_they_go_through() {
        let problems = problems_of(
            r#"
[notify.alerts]
telegram_chat_ids = [1]
emails = ["admin@example.ru"]
"#,
        );
        let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["notify.alerts.telegram_chat_ids", "notify.alerts.emails"],
            "{problems:#?}"
        );
    }

    #[test]
    fn telegram_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("leadgate.toml");
        let text = "[[sources.telegram]]\nid = \"tg\"\ntoken = \"1:abc\"\n";
        std::fs::write(&path, text).expect("write");
        std::fs::write(dir.path().join("routing.toml"), "").expect("write");
        let raw = load_raw(&path, &|_| None).expect("raw parses");
        let config = validate(raw, &path).expect("valid");
        let bot = &config.telegram[0];
        assert_eq!(bot.api_url.as_str(), "https://api.telegram.org/");
        assert_eq!(bot.mode, TelegramMode::Polling);
        assert!(!bot.options.group_messages);
        assert_eq!(bot.reply.text.as_deref(), Some(DEFAULT_REPLY_TEXT));
        assert!(bot.reply.ask_contact);
        assert_eq!(bot.poll_timeout, Duration::from_secs(25));
        assert_eq!(bot.conversation_window, Duration::from_secs(30 * 60));
    }
}
