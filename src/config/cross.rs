//! Checks between `leadgate.toml` and `routing.toml`, which neither file can make alone:
//! every manager's `crm_user_id` key names a sink (or a sink's preset), every preset sink that
//! writes the manager's CRM user id has one for every manager, a `hook_secret` goes with a
//! preset whose CRM reports back (a `whsec_` secret for the generic shape), and an `[sla]` has
//! something that can acknowledge a lead.
//! `leadgate check` prints the problems (exit 1) and the notes; the daemon logs both at start.

use super::Config;
use super::doors::MIN_TOKEN_LEN;
use crate::connectors::{HookFormat, HookSpec};
use crate::deliver::SinkKind;
use crate::deliver::crm_user_id;
use crate::deliver::decode_signing_secret;
use crate::notify::Notices;
use crate::routing::CompiledRules;
use crate::settings::{ConfigProblem, Secret};
use crate::sla::Reach;
use crate::sources::telegram::{TelegramMode, TelegramSource};
use crate::sources::vk::VkSource;
use crate::sources::webform::WebformSource;
use crate::sources::whatsapp::WhatsappSource;

/// What the cross-checks found.
#[derive(Debug, Default)]
pub struct CrossCheck {
    /// Mistakes: a CRM would get a lead without its owner, or a key is never used.
    pub problems: Vec<ConfigProblem>,
    /// Worth knowing, not wrong.
    pub notes: Vec<String>,
}

/// Checks `config` against `rules` (read from `config.routing_file`); `config_file` names
/// leadgate.toml in problems.
pub fn cross_check(config: &Config, rules: &CompiledRules, config_file: &str) -> CrossCheck {
    let routing = config.routing_file.display().to_string();
    let mut out = CrossCheck::default();
    let crm_sinks: Vec<(&str, Option<&crate::connectors::Preset>)> = config
        .sinks
        .iter()
        .filter_map(|s| match &s.kind {
            SinkKind::Webhook(w) => Some((s.id.as_str(), w.preset.as_deref())),
            SinkKind::File { .. } => None,
        })
        .collect();
    let names: Vec<String> = crm_sinks
        .iter()
        .flat_map(|(id, p)| std::iter::once(id.to_string()).chain(p.map(|p| p.name.clone())))
        .collect();
    let mut unused = Vec::new();
    for m in rules.managers() {
        for key in m.crm_user_id.keys() {
            if names.is_empty() {
                unused.push(format!("{}.{key}", m.id));
            } else if !names.contains(key) {
                out.problems.push(ConfigProblem {
                    file: routing.clone(),
                    key: format!("managers[{}].crm_user_id.{key}", m.id),
                    message: format!("{key:?} names no webhook sink of {config_file} and no sink's preset, so no CRM gets this id"),
                    hint: Some(format!("key it by a sink id or preset: {}", names.join(", "))),
                });
            }
        }
    }
    if !unused.is_empty() {
        // No CRM yet (the out-of-the-box file sink): the ids wait for one.
        out.notes.push(format!(
            "{routing}: crm_user_id ({}) is unused: there is no [[sinks.webhook]] yet; once there is, each key must be its id or its preset's name",
            unused.join(", ")
        ));
    }
    for (i, s) in config.sinks.iter().enumerate() {
        let SinkKind::Webhook(w) = &s.kind else {
            continue;
        };
        let Some(preset) = &w.preset else {
            if w.hook_secret.is_some() {
                out.problems.push(ConfigProblem {
                    file: config_file.to_string(),
                    key: format!("sinks.webhook[{i}].hook_secret"),
                    message: "a sink without a preset takes no CRM webhooks".into(),
                    hint: Some("use preset = \"generic\" for leadgate's own signed shape".into()),
                });
            }
            continue;
        };
        if preset.assigns() {
            let missing: Vec<&str> = rules
                .managers()
                .iter()
                .filter(|m| m.active && crm_user_id(m, &s.id, Some(&preset.name)).is_none())
                .map(|m| m.id.as_str())
                .collect();
            if !missing.is_empty() {
                out.problems.push(ConfigProblem {
                    file: routing.clone(),
                    key: "managers".into(),
                    message: format!(
                        "sink {:?} (preset {}) gives each lead its manager's CRM user id, but {} has none for it: their leads reach the CRM without an owner",
                        s.id,
                        preset.name,
                        missing.join(", ")
                    ),
                    hint: Some(format!("add crm_user_id = {{ {} = \"...\" }} to each", s.id)),
                });
            }
        }
        if let (
            Some(secret),
            Some(HookSpec {
                format: HookFormat::Generic,
                ..
            }),
        ) = (&w.hook_secret, &preset.hook)
            && let Err(e) = decode_signing_secret(secret)
        {
            out.problems.push(ConfigProblem {
                file: config_file.to_string(),
                key: format!("sinks.webhook[{i}].hook_secret"),
                message: format!("the generic webhook is signed like Standard Webhooks: {e}"),
                hint: Some("a whsec_<base64> secret, shared with the CRM".into()),
            });
        }
        if w.hook_secret.is_some() && preset.hook.is_none() {
            out.problems.push(ConfigProblem {
                file: config_file.to_string(),
                key: format!("sinks.webhook[{i}].hook_secret"),
                message: format!(
                    "preset {} has no [hook]: its CRM cannot report back to /hooks/crm/{}",
                    preset.name, s.id
                ),
                hint: Some("remove hook_secret, or use a preset with a [hook] section".into()),
            });
        }
    }
    let reach = Reach::of(
        config.api_token.is_some(),
        &config.sinks,
        &Notices::new(&config.notify),
    );
    if rules.sla().configured && !reach.any() {
        out.notes.push(format!(
            "{routing}: [sla] is set, but nothing can acknowledge a lead (no [notify.telegram], [notify.email], [api] token, or sink with hook_secret): managers are never told, so no lead is passed on"
        ));
    } else if rules.sla().configured {
        let silent: Vec<&str> = rules
            .managers()
            .iter()
            .filter(|m| m.active && !reach.can_be_late(m))
            .map(|m| m.id.as_str())
            .collect();
        if !silent.is_empty() {
            out.notes.push(format!(
                "{routing}: {} can neither be told of a lead nor acknowledge it here: their leads are not passed on after ack_within",
                silent.join(", ")
            ));
        }
    }
    out.notes.extend(short_secrets(config));
    out
}

/// The secrets a door compares that are short enough to guess by trying (the admin, API and
/// metrics tokens are refused under [`MIN_TOKEN_LEN`]; these may be given by a provider, so
/// they are only said): a CRM's `hook_secret`, whose holder reassigns and closes leads, a
/// form's `secret`, and the secrets a channel's webhook is proven by (a Telegram bot's
/// `webhook_secret`, the managers' bot's, a VK community's `secret`, a WhatsApp
/// `verify_token`).
fn short_secrets(config: &Config) -> Vec<String> {
    let length = |s: &Secret| s.expose().chars().count();
    let mut out = Vec::new();
    let mut chosen: Vec<(String, &Secret)> = Vec::new();
    for (i, t) in config.sources.of::<TelegramSource>().iter().enumerate() {
        if let TelegramMode::Webhook { secret } = &t.mode {
            chosen.push((
                format!("sources.telegram[{i}] ({}): webhook_secret", t.id),
                secret,
            ));
        }
    }
    if let Some(secret) = (config.notify.telegram.as_ref()).and_then(|t| t.webhook_secret.as_ref())
    {
        chosen.push(("notify.telegram: webhook_secret".to_string(), secret));
    }
    for (i, vk) in config.sources.of::<VkSource>().iter().enumerate() {
        if let Some(secret) = &vk.secret {
            chosen.push((format!("sources.vk[{i}] ({}): secret", vk.id), secret));
        }
    }
    for (i, wa) in config.sources.of::<WhatsappSource>().iter().enumerate() {
        chosen.push((
            format!("sources.whatsapp[{i}] ({}): verify_token", wa.id),
            &wa.verify_token,
        ));
    }
    for (key, secret) in chosen {
        let n = length(secret);
        if n < MIN_TOKEN_LEN {
            out.push(format!(
                "{key} is {n} characters, short enough to guess by trying; you choose it, so use at least {MIN_TOKEN_LEN} (openssl rand -hex 24)"
            ));
        }
    }
    for (i, s) in config.sinks.iter().enumerate() {
        if let SinkKind::Webhook(w) = &s.kind
            && let Some(n) = w.hook_secret.as_ref().map(length)
            && n < MIN_TOKEN_LEN
        {
            out.push(format!(
                "sinks.webhook[{i}].hook_secret is {n} characters: whoever guesses it can reassign and close leads; use at least {MIN_TOKEN_LEN} (openssl rand -hex 24)"
            ));
        }
    }
    for (i, form) in config.sources.of::<WebformSource>().iter().enumerate() {
        if let Some(n) = form.secret.as_ref().map(length)
            && n < MIN_TOKEN_LEN
        {
            out.push(format!(
                "sources.webform[{i}] ({}): secret is {n} characters, short enough to guess by trying; where you choose it, use at least {MIN_TOKEN_LEN}",
                form.id
            ));
        }
    }
    out
}
