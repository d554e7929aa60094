//! Outbound presets: a CRM's own API calls (method, path under the sink's URL, headers, body)
//! rendered from the lead with minijinja templates.
//!
//! An event is sent by the first `[[requests]]` that takes it (chosen when the event is
//! queued), then by that request's `[[requests.then]]` steps in order. Each step is rendered
//! when it is sent, from the event as queued (the lead as this sink saw it) and the values
//! captured so far from this CRM's answers about the lead (`capture`, kept in the store per
//! sink and lead), so a later step or a later event can name the CRM's own ids
//! (`{{ crm.lead_id }}`). Sending is in `send.rs`.

mod hook;
mod send;

pub use hook::{HookFormat, HookSpec, RawHook, StatusMeaning};
pub use send::Step;

use super::inbound::FileProblem;
use crate::lead::EventType;
use minijinja::{Environment, UndefinedBehavior};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// The most `[[requests.then]]` steps a request may have: one attempt sends them all within
/// the delivery lease (a request timeout per call the longest request of the sink's preset
/// makes). Finding a person first, then making or linking the lead, a note and merging the
/// person's new details takes six calls.
const MAX_FOLLOW_UPS: usize = 5;

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
    /// The requests; events that none takes are not sent to this CRM.
    #[serde(default)]
    pub requests: Vec<RawRequest>,
    /// How the CRM's own webhooks to `POST /hooks/crm/{sink}` are read and verified, and what
    /// its statuses mean; without it the CRM cannot report back.
    pub hook: Option<RawHook>,
}

/// `[[requests]]`: the first call for the events it takes, and the calls that follow it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequest {
    /// The event types it answers (`lead.created`, ...).
    pub events: Vec<String>,
    /// A template expression; when it is false this request does not send the event and the
    /// next one that takes it is tried. Decided when the event is queued, so it cannot use
    /// `crm`.
    pub only_if: Option<String>,
    /// HTTP method; default `POST`.
    pub method: Option<String>,
    /// Path template appended to the sink's `url`; default none (the URL itself).
    #[serde(default)]
    pub path: String,
    /// Extra headers (static).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body template; none for a `GET`.
    pub body: Option<String>,
    /// Values to keep from the CRM's JSON answer: `{ NAME = "/json/pointer" }`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Values to keep when the answer has them (a search that may find nothing).
    #[serde(default)]
    pub find: BTreeMap<String, String>,
    /// A JSON pointer into a 2xx answer where the CRM reports a failure (Bitrix24's
    /// `batch` answers 200 with `/result/result_error`): a non-empty value there dead-letters
    /// the event with what the CRM said, instead of counting it delivered.
    pub fail_if: Option<String>,
    /// Calls sent after this one succeeded, in order.
    #[serde(default)]
    pub then: Vec<RawStep>,
}

/// `[[requests.then]]`: a call sent after the ones before it succeeded.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// A template expression, decided when the step is due (it may use `crm`); when it is
    /// false the step is skipped.
    pub only_if: Option<String>,
    /// HTTP method; default `POST`.
    pub method: Option<String>,
    /// Path template appended to the sink's `url`.
    #[serde(default)]
    pub path: String,
    /// Extra headers (static).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body template; none for a `GET`.
    pub body: Option<String>,
    /// Values to keep from the CRM's JSON answer: `{ NAME = "/json/pointer" }`.
    #[serde(default)]
    pub capture: BTreeMap<String, String>,
    /// Values to keep when the answer has them (a search that may find nothing).
    #[serde(default)]
    pub find: BTreeMap<String, String>,
    /// A JSON pointer into a 2xx answer where the CRM reports a failure (Bitrix24's
    /// `batch` answers 200 with `/result/result_error`): a non-empty value there dead-letters
    /// the event with what the CRM said, instead of counting it delivered.
    pub fail_if: Option<String>,
}

impl RawRequest {
    /// The request's own call as its first step, and the follow-ups.
    fn into_steps(self) -> (Vec<String>, RawStep, Vec<RawStep>) {
        let first = RawStep {
            only_if: self.only_if,
            method: self.method,
            path: self.path,
            headers: self.headers,
            body: self.body,
            capture: self.capture,
            find: self.find,
            fail_if: self.fail_if,
        };
        (self.events, first, self.then)
    }
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

/// One compiled call.
#[derive(Debug, Clone)]
struct StepSpec {
    /// `requests[0]` or `requests[0].then[1]`: names its templates and its errors.
    key: String,
    only_if: Option<String>,
    method: String,
    headers: Vec<(String, String)>,
    /// Whether it sends a body (every method but `GET`).
    has_body: bool,
    /// `(name, JSON pointer)`: values the answer must have.
    capture: Vec<(String, String)>,
    /// `(name, JSON pointer)`: values kept when the answer has them.
    find: Vec<(String, String)>,
    /// A JSON pointer where a 2xx answer reports a failure.
    fail_if: Option<String>,
    /// The `crm.NAME` values its path and body use.
    uses: Vec<String>,
    /// The `crm.NAME` values its `only_if` looks at (never waited for).
    looks_at: Vec<String>,
    /// Of `uses`, those some `capture` of the preset sets: the step waits until all are
    /// known. A value only `find` sets is optional (a search may find nothing).
    needs: Vec<String>,
    /// Whether it writes the assigned manager's CRM user id.
    assigns: bool,
}

#[derive(Debug, Clone)]
struct Request {
    events: Vec<EventType>,
    steps: Vec<StepSpec>,
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
    /// How the CRM's own webhooks are read, when it can report back.
    pub hook: Option<HookSpec>,
    requests: Vec<Request>,
    assigns: bool,
    env: Environment<'static>,
}

/// Why a step could not be rendered (a template error on this lead, a body that is not JSON,
/// a preset changed since the event was queued); the event then dead-letters with this
/// message.
#[derive(Debug, thiserror::Error)]
#[error("preset {preset:?}, {key}: {message}")]
pub struct RenderError {
    /// The preset.
    pub preset: String,
    /// Which request or step (`requests[0].then[1]`).
    pub key: String,
    /// What went wrong.
    pub message: String,
}

/// One call as sent: method, path under the sink's URL, extra headers and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// `GET`, `POST`, `PUT` or `PATCH`.
    pub method: String,
    /// Relative to the sink's URL (`api/v4/leads/complex`); empty for the URL itself.
    pub path: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body (compact JSON); empty for a `GET`.
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
    env.add_filter("urlencode", urlencode);
    env.add_filter("union", union);
    env.add_filter("amount", amount);
    env.add_filter("compact", compact);
    env
}

/// `{{ {"email": a, "phone": b}|compact }}`: the map without its `none` (or undefined)
/// values, so a request sets only what it has (a missing value never clears a CRM field).
fn compact(v: minijinja::Value) -> Result<minijinja::Value, minijinja::Error> {
    let mut out = BTreeMap::new();
    for key in v.try_iter()? {
        let value = v.get_item(&key)?;
        if !value.is_none() && !value.is_undefined() {
            out.insert(key.to_string(), value);
        }
    }
    Ok(minijinja::Value::from(out))
}

/// `{{ text|urlencode }}`: a value for a query string (`+` for spaces, every other
/// reserved byte `%XX`).
fn urlencode(v: minijinja::Value) -> String {
    let text = match v.as_str() {
        Some(s) => s.to_string(),
        None if v.is_undefined() || v.is_none() => String::new(),
        None => v.to_string(),
    };
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// `{{ a|union(b) }}`: the items of `a` then those of `b` not already there, so contact
/// details from the CRM and from the lead are merged rather than overwritten. A missing list
/// is empty.
fn union(a: minijinja::Value, b: minijinja::Value) -> Result<minijinja::Value, minijinja::Error> {
    let mut out: Vec<minijinja::Value> = Vec::new();
    for list in [a, b] {
        if list.is_undefined() || list.is_none() {
            continue;
        }
        for item in list.try_iter()? {
            if !out.contains(&item) {
                out.push(item);
            }
        }
    }
    Ok(minijinja::Value::from(out))
}

/// `{{ lead.fields.budget|amount }}`: the number a person wrote ("500 000 ₽", "1,5 млн" is
/// not guessed at: only its digits, with one `.` or `,` decimal part), or none when there are
/// no digits, so a budget field fills a CRM's amount without failing the request.
fn amount(v: minijinja::Value) -> minijinja::Value {
    let text = match v.as_str() {
        Some(s) => s.to_string(),
        None => {
            return if v.is_number() {
                v
            } else {
                minijinja::Value::from(())
            };
        }
    };
    let mut whole = String::new();
    let mut fraction = String::new();
    let mut in_fraction = false;
    for c in text.chars() {
        match c {
            '0'..='9' if in_fraction => fraction.push(c),
            '0'..='9' => whole.push(c),
            '.' | ',' if !whole.is_empty() && !in_fraction => in_fraction = true,
            ' ' | '\u{a0}' | '\u{202f}' | '_' | '\'' if !in_fraction => {}
            _ if whole.is_empty() => {}
            _ => break,
        }
    }
    if whole.is_empty() {
        return minijinja::Value::from(());
    }
    match (fraction.is_empty(), whole.parse::<i64>()) {
        (true, Ok(n)) => minijinja::Value::from(n),
        _ => format!(
            "{whole}.{}",
            if fraction.is_empty() { "0" } else { &fraction }
        )
        .parse::<f64>()
        .map_or(minijinja::Value::from(()), minijinja::Value::from),
    }
}

/// The variable a template writes the assigned manager's CRM user id with.
const CRM_USER_ID: &str = "lead.assignment.manager.crm_user_id";

/// The `NAME`s of `crm.NAME` among a template's or expression's variables.
fn crm_names(variables: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    variables
        .into_iter()
        .filter_map(|v| {
            v.strip_prefix("crm.")
                .map(|rest| rest.split('.').next().unwrap_or(rest).to_string())
        })
        .collect()
}

/// Compiles one call's templates into `env`; every problem goes to `problems`.
fn compile_step(
    env: &mut Environment<'static>,
    key: String,
    raw: RawStep,
    problems: &mut Vec<FileProblem>,
) -> StepSpec {
    let at = |k: &str| format!("{key}.{k}");
    let method = raw
        .method
        .unwrap_or_else(|| "POST".into())
        .to_ascii_uppercase();
    if !["GET", "POST", "PUT", "PATCH"].contains(&method.as_str()) {
        problems.push(FileProblem {
            key: at("method"),
            message: format!("{method:?}: write GET, POST, PUT or PATCH"),
        });
    }
    let has_body = method != "GET";
    let body = match (has_body, raw.body) {
        (true, Some(body)) => body,
        (true, None) => {
            problems.push(FileProblem {
                key: at("body"),
                message: format!("{method} needs a body (a JSON template)"),
            });
            String::new()
        }
        (false, Some(_)) => {
            problems.push(FileProblem {
                key: at("body"),
                message: "a GET sends no body: put its parameters in the path's query".into(),
            });
            String::new()
        }
        (false, None) => String::new(),
    };
    let mut uses = BTreeSet::new();
    let mut assigns = false;
    for (part, source) in [("path", raw.path), ("body", body)] {
        match env.add_template_owned(at(part), source) {
            Ok(()) => {
                if let Ok(t) = env.get_template(&at(part)) {
                    let vars = t.undeclared_variables(true);
                    assigns |= vars.contains(CRM_USER_ID);
                    uses.extend(crm_names(vars));
                }
            }
            Err(e) => problems.push(FileProblem {
                key: at(part),
                message: format!("the template does not compile: {e}"),
            }),
        }
    }
    let mut looks_at = BTreeSet::new();
    if let Some(expr) = &raw.only_if {
        match env.compile_expression(expr) {
            Ok(e) => looks_at.extend(crm_names(e.undeclared_variables(true))),
            Err(e) => problems.push(FileProblem {
                key: at("only_if"),
                message: format!("the expression does not compile: {e}"),
            }),
        }
    }
    for (kind, keep) in [("capture", &raw.capture), ("find", &raw.find)] {
        for (name, pointer) in keep {
            let named =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !named {
                problems.push(FileProblem {
                    key: at(kind),
                    message: format!("{name:?}: a name is letters, digits and '_'"),
                });
            }
            if !pointer.is_empty() && !pointer.starts_with('/') {
                problems.push(FileProblem {
                    key: at(&format!("{kind}.{name}")),
                    message: format!(
                        "{pointer:?} is not a JSON pointer: write e.g. \"/0/id\" (\"\" keeps the whole answer)"
                    ),
                });
            }
        }
    }
    if let Some(pointer) = raw.fail_if.as_deref().filter(|p| !p.starts_with('/')) {
        problems.push(FileProblem {
            key: at("fail_if"),
            message: format!(
                "{pointer:?} is not a JSON pointer: write e.g. \"/result/result_error\""
            ),
        });
    }
    StepSpec {
        key,
        only_if: raw.only_if,
        method,
        headers: raw.headers.into_iter().collect(),
        has_body,
        capture: raw.capture.into_iter().collect(),
        find: raw.find.into_iter().collect(),
        fail_if: raw.fail_if,
        uses: uses.into_iter().collect(),
        looks_at: looks_at.into_iter().collect(),
        needs: Vec::new(),
        assigns,
    }
}

fn parse_auth(raw: Option<&str>, problems: &mut Vec<FileProblem>) -> Auth {
    match raw {
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
    }
}

impl Preset {
    /// The most calls one event of this preset makes (a request and its follow-ups): the
    /// delivery lease covers that many request timeouts.
    pub fn max_calls(&self) -> usize {
        self.requests
            .iter()
            .map(|r| r.steps.len())
            .max()
            .unwrap_or(1)
    }

    /// Whether any template of the preset writes the assigned manager's CRM user id, so
    /// every manager needs one for its sinks.
    pub fn assigns(&self) -> bool {
        self.assigns
    }

    /// Validates a parsed file: event names known, methods real, every template compiling,
    /// every `crm.NAME` captured or found by some request, and no `crm` where nothing is
    /// captured yet.
    pub fn from_raw(raw: RawPreset, origin: &str) -> Result<Preset, Vec<FileProblem>> {
        let mut problems = Vec::new();
        super::check_name(&raw.name, "name", &mut problems);
        let auth = parse_auth(raw.auth.as_deref(), &mut problems);
        if raw.requests.is_empty() {
            problems.push(FileProblem {
                key: "requests".into(),
                message: "no [[requests]]: a preset must send at least lead.created".into(),
            });
        }
        let mut env = environment();
        let mut requests = Vec::new();
        for (i, r) in raw.requests.into_iter().enumerate() {
            let (names, first, then) = r.into_steps();
            let mut events = Vec::new();
            for (j, name) in names.iter().enumerate() {
                match EventType::parse(name) {
                    Some(e) => events.push(e),
                    None => problems.push(FileProblem {
                        key: format!("requests[{i}].events[{j}]"),
                        message: format!("unknown event type {name:?}"),
                    }),
                }
            }
            if then.len() > MAX_FOLLOW_UPS {
                problems.push(FileProblem {
                    key: format!("requests[{i}].then"),
                    message: format!(
                        "{} steps: at most {MAX_FOLLOW_UPS} follow a request (one attempt sends them all within the delivery lease)",
                        then.len()
                    ),
                });
            }
            if let Some(expr) = &first.only_if
                && let Ok(e) = env.compile_expression(expr)
                && !crm_names(e.undeclared_variables(true)).is_empty()
            {
                problems.push(FileProblem {
                    key: format!("requests[{i}].only_if"),
                    message: "chooses the request when the event is queued, before the CRM has answered: it cannot use crm (put the condition on a [[requests.then]] step)".into(),
                });
            }
            let mut steps = vec![compile_step(
                &mut env,
                format!("requests[{i}]"),
                first,
                &mut problems,
            )];
            for (j, step) in then.into_iter().enumerate() {
                steps.push(compile_step(
                    &mut env,
                    format!("requests[{i}].then[{j}]"),
                    step,
                    &mut problems,
                ));
            }
            requests.push(Request { events, steps });
        }
        let captured: BTreeSet<String> = requests
            .iter()
            .flat_map(|r| &r.steps)
            .flat_map(|s| s.capture.iter().map(|(name, _)| name.clone()))
            .collect();
        let found: BTreeSet<String> = requests
            .iter()
            .flat_map(|r| &r.steps)
            .flat_map(|s| s.find.iter().map(|(name, _)| name.clone()))
            .collect();
        for step in requests.iter_mut().flat_map(|r| &mut r.steps) {
            for name in step.uses.iter().chain(&step.looks_at) {
                if !captured.contains(name) && !found.contains(name) {
                    problems.push(FileProblem {
                        key: step.key.clone(),
                        message: format!(
                            "uses crm.{name}, which no `capture` or `find` of this preset sets"
                        ),
                    });
                }
            }
            step.needs = step
                .uses
                .iter()
                .filter(|n| captured.contains(*n))
                .cloned()
                .collect();
        }
        let hook = raw
            .hook
            .map(|h| h.validate(&captured, &found, &mut problems));
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Preset {
            name: raw.name,
            description: raw.description,
            origin: origin.to_string(),
            auth,
            hook,
            assigns: requests.iter().flat_map(|r| &r.steps).any(|s| s.assigns),
            requests,
            env,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<FileProblem> {
        let raw: RawPreset = toml::from_str(text).expect("toml");
        Preset::from_raw(raw, "test").expect_err("invalid")
    }

    const HEAD: &str = "name = \"mine\"\ndescription = \"x\"\n";

    #[test]
    fn a_value_nobody_captures_is_refused() {
        let p = problems(&format!(
            "{HEAD}[[requests]]\nevents = [\"lead.created\"]\npath = \"leads\"\nbody = \"{{}}\"\ncapture = {{ lead_id = \"/id\" }}\n\
             [[requests]]\nevents = [\"lead.reassigned\"]\npath = \"leads/{{{{ crm.leadid }}}}\"\nbody = \"{{}}\"\n"
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, "requests[1]");
        assert!(p[0].message.contains("crm.leadid"), "{}", p[0].message);
    }

    #[test]
    fn the_choosing_condition_cannot_use_captured_values() {
        let p = problems(&format!(
            "{HEAD}[[requests]]\nevents = [\"lead.created\"]\nonly_if = \"crm.id\"\nbody = \"{{}}\"\ncapture = {{ id = \"/id\" }}\n"
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].key, "requests[0].only_if");
    }

    #[test]
    fn captures_need_names_and_pointers() {
        let p = problems(&format!(
            "{HEAD}[[requests]]\nevents = [\"lead.created\"]\nbody = \"{{}}\"\ncapture = {{ \"lead id\" = \"0/id\" }}\n"
        ));
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["requests[0].capture", "requests[0].capture.lead id"],
            "{p:?}"
        );
    }

    #[test]
    fn a_failure_pointer_is_a_json_pointer() {
        let p = problems(&format!(
            "{HEAD}[[requests]]\nevents = [\"lead.created\"]\nbody = \"{{}}\"\nfail_if = \"result_error\"\n"
        ));
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["requests[0].fail_if"], "{p:?}");
    }

    #[test]
    fn follow_ups_are_bounded_and_named() {
        let step = "[[requests.then]]\nbody = \"{}\"\n";
        let p = problems(&format!(
            "{HEAD}[[requests]]\nevents = [\"lead.created\"]\nbody = \"{{}}\"\n{}[[requests.then]]\nmethod = \"DELETE\"\nbody = \"{{}}\"\n",
            step.repeat(5)
        ));
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["requests[0].then", "requests[0].then[5].method"],
            "{p:?}"
        );
    }

    #[test]
    fn a_preset_writing_the_managers_crm_id_assigns() {
        let preset = |body: &str| {
            let text =
                format!("{HEAD}[[requests]]\nevents = [\"lead.created\"]\nbody = '{body}'\n");
            let raw: RawPreset = toml::from_str(&text).expect("toml");
            Preset::from_raw(raw, "test").unwrap_or_else(|p| panic!("{p:?}"))
        };
        assert!(preset(r#"{"owner": {{ lead.assignment.manager.crm_user_id|int }}}"#).assigns());
        assert!(!preset(r#"{"name": {{ lead.contact.name|tojson }}}"#).assigns());
    }
}
