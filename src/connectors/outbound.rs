//! Outbound presets: a CRM's own API call (method, path under the sink's URL, headers, body)
//! rendered from the lead with minijinja templates, one request per event type. Rendered
//! when the event is queued, so every retry sends the same request.

use super::inbound::FileProblem;
use crate::deliver::EventType;
use crate::lead::Lead;
use crate::store::PresetRequest;
use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::value::Serde;
use minijinja::{Environment, UndefinedBehavior};
use serde::Deserialize;
use std::collections::BTreeMap;

/// `connectors/outbound/NAME.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPreset {
    /// The preset's name: `preset = "NAME"` in a webhook sink.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// How the sink's `token` is sent: `none` (default: the URL carries it, as Bitrix24's
    /// inbound webhooks do), `bearer`, or `header:NAME`.
    pub auth: Option<String>,
    /// One request per event type; events without one are not sent to this CRM.
    #[serde(default)]
    pub requests: Vec<RawRequest>,
}

/// `[[requests]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// The event types it answers (`lead.created`, ...).
    pub events: Vec<String>,
    /// A template expression; when it is false the event is not sent (a CRM that cannot
    /// take it, e.g. no e-mail to find the contact by).
    pub only_if: Option<String>,
    /// HTTP method; default `POST`.
    pub method: Option<String>,
    /// Path template appended to the sink's `url`; default none (the URL itself).
    #[serde(default)]
    pub path: String,
    /// Extra headers (static).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body template.
    pub body: String,
}

/// How the sink's token goes with each request (added at send time, never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// Nothing added.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<header>: <token>`.
    Header(String),
}

#[derive(Debug, Clone)]
struct Request {
    events: Vec<EventType>,
    only_if: Option<String>,
    method: String,
    headers: Vec<(String, String)>,
}

/// A validated preset with its templates compiled.
#[derive(Debug)]
pub struct Preset {
    /// Its name.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// The file it came from.
    pub origin: String,
    /// How the sink's token is sent.
    pub auth: Auth,
    requests: Vec<Request>,
    env: Environment<'static>,
}

/// Why a request could not be rendered (a template error on this lead, or a body that is
/// not JSON); the event then dead-letters with this message.
#[derive(Debug, thiserror::Error)]
#[error("preset {preset:?}, requests[{index}]: {message}")]
pub struct RenderError {
    /// The preset.
    pub preset: String,
    /// Which request.
    pub index: usize,
    /// What went wrong.
    pub message: String,
}

/// What a preset sends for one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// Method, path and headers.
    pub request: PresetRequest,
    /// The body (compact JSON).
    pub body: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.add_filter("tojson", |v: minijinja::Value| {
        serde_json::to_string(&v).map_err(|e| {
            minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
        })
    });
    env
}

impl Preset {
    /// Validates a parsed file: event names known, methods real, every template compiling.
    pub fn from_raw(raw: RawPreset, origin: &str) -> Result<Preset, Vec<FileProblem>> {
        let mut problems = Vec::new();
        super::check_name(&raw.name, "name", &mut problems);
        let auth = match raw.auth.as_deref() {
            None | Some("none") => Auth::None,
            Some("bearer") => Auth::Bearer,
            Some(h) if h.starts_with("header:") && h.len() > 7 => Auth::Header(h[7..].to_string()),
            Some(other) => {
                problems.push(FileProblem {
                    key: "auth".into(),
                    message: format!("{other:?}: write \"none\", \"bearer\" or \"header:NAME\""),
                });
                Auth::None
            }
        };
        if raw.requests.is_empty() {
            problems.push(FileProblem {
                key: "requests".into(),
                message: "no [[requests]]: a preset must send at least lead.created".into(),
            });
        }
        let mut env = environment();
        let mut requests = Vec::new();
        for (i, r) in raw.requests.into_iter().enumerate() {
            let key = |k: &str| format!("requests[{i}].{k}");
            let mut events = Vec::new();
            for (j, name) in r.events.iter().enumerate() {
                match EventType::parse(name) {
                    Some(e) => events.push(e),
                    None => problems.push(FileProblem {
                        key: key(&format!("events[{j}]")),
                        message: format!("unknown event type {name:?}"),
                    }),
                }
            }
            let method = r
                .method
                .unwrap_or_else(|| "POST".into())
                .to_ascii_uppercase();
            if !["POST", "PUT", "PATCH"].contains(&method.as_str()) {
                problems.push(FileProblem {
                    key: key("method"),
                    message: format!("{method:?}: write POST, PUT or PATCH"),
                });
            }
            for (part, source) in [("path", r.path), ("body", r.body)] {
                if let Err(e) = env.add_template_owned(key(part), source) {
                    problems.push(FileProblem {
                        key: key(part),
                        message: format!("the template does not compile: {e}"),
                    });
                }
            }
            if let Some(expr) = &r.only_if
                && let Err(e) = env.compile_expression(expr)
            {
                problems.push(FileProblem {
                    key: key("only_if"),
                    message: format!("the expression does not compile: {e}"),
                });
            }
            requests.push(Request {
                events,
                only_if: r.only_if,
                method,
                headers: r.headers.into_iter().collect(),
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Preset {
            name: raw.name,
            description: raw.description,
            origin: origin.to_string(),
            auth,
            requests,
            env,
        })
    }

    /// The request for `event` on `lead` (the lead as this sink sees it, with its own CRM
    /// user id), or `None` when the preset does not send this event.
    pub fn render(
        &self,
        event: EventType,
        at: DateTime<Utc>,
        lead: &Lead,
    ) -> Result<Option<Rendered>, RenderError> {
        let timestamp = at.to_rfc3339_opts(SecondsFormat::Secs, true);
        let envelope =
            serde_json::json!({"type": event.as_str(), "timestamp": timestamp, "data": lead});
        let ctx = minijinja::Value::from(Serde(serde_json::json!({
            "event": event.as_str(),
            "timestamp": timestamp,
            "lead": lead,
            "envelope": envelope,
        })));
        for (index, r) in self.requests.iter().enumerate() {
            if !r.events.contains(&event) {
                continue;
            }
            let fail = |message: String| RenderError {
                preset: self.name.clone(),
                index,
                message,
            };
            if let Some(expr) = &r.only_if {
                let wanted = self
                    .env
                    .compile_expression(expr)
                    .and_then(|e| e.eval(ctx.clone()))
                    .map_err(|e| fail(format!("only_if: {e}")))?;
                if !wanted.is_true() {
                    continue;
                }
            }
            let render = |part: &str| {
                self.env
                    .get_template(&format!("requests[{index}].{part}"))
                    .and_then(|t| t.render(ctx.clone()))
                    .map_err(|e| fail(format!("{part}: {e}")))
            };
            let path = render("path")?.trim().to_string();
            let body_text = render("body")?;
            let body: serde_json::Value = serde_json::from_str(&body_text)
                .map_err(|e| fail(format!("the body is not JSON: {e}")))?;
            return Ok(Some(Rendered {
                request: PresetRequest {
                    method: r.method.clone(),
                    path,
                    headers: r.headers.clone(),
                    error: None,
                },
                body: body.to_string(),
            }));
        }
        Ok(None)
    }
}
