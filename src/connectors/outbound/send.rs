//! Using a preset: which request sends an event (when it is queued), what each of its steps
//! sends (when it is due, with the values captured so far), and what a step keeps from the
//! CRM's answer. Pure, so the samples run without a network.

use super::{Preset, RenderError, Rendered, StepSpec};
use crate::lead::EventType;
use crate::store::CrmRefs;
use minijinja::value::Serde;
use serde_json::{Value, json};

/// What one step of an event's request comes to now.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this; on a 2xx, keep [`Preset::capture`] of the answer and go on to the next step.
    Send(Rendered),
    /// Its `only_if` is false: go on to the next step.
    Skip,
    /// It needs these captured values, which the CRM has not given yet: try again later.
    Waiting(Vec<String>),
    /// No step is left: the event is delivered.
    Done,
}

/// The templates' variables: `event`, `timestamp`, `lead`, `update` (what a follow-up
/// added, on `lead.updated`) and `envelope` from the event as queued (`{"type",
/// "timestamp", "data"}`), and `crm`, the values captured so far.
fn context(envelope: &Value, crm: &CrmRefs) -> minijinja::Value {
    minijinja::Value::from(Serde(json!({
        "event": envelope["type"],
        "timestamp": envelope["timestamp"],
        "lead": envelope["data"],
        "update": envelope.get("update").cloned().unwrap_or(Value::Null),
        "envelope": envelope,
        "crm": crm,
    })))
}

impl Preset {
    fn fail(&self, key: &str, message: String) -> RenderError {
        RenderError {
            preset: self.name.clone(),
            key: key.to_string(),
            message,
        }
    }

    fn spec(&self, request: usize, step: usize) -> Option<&StepSpec> {
        self.requests.get(request).and_then(|r| r.steps.get(step))
    }

    fn holds(&self, step: &StepSpec, ctx: &minijinja::Value) -> Result<bool, RenderError> {
        let Some(expr) = &step.only_if else {
            return Ok(true);
        };
        self.env
            .compile_expression(expr)
            .and_then(|e| e.eval(ctx.clone()))
            .map(|v| v.is_true())
            .map_err(|e| self.fail(&step.key, format!("only_if: {e}")))
    }

    /// The request that sends `event` (its envelope as it will be queued): the first that
    /// takes the event and whose `only_if` holds; `None` when this preset does not send it.
    pub fn choose(&self, event: EventType, envelope: &Value) -> Result<Option<usize>, RenderError> {
        let ctx = context(envelope, &CrmRefs::new());
        for (index, r) in self.requests.iter().enumerate() {
            if r.events.contains(&event) && self.holds(&r.steps[0], &ctx)? {
                return Ok(Some(index));
            }
        }
        Ok(None)
    }

    /// Step `step` (0 is the request's own call, then its `then` steps) of `request` for the
    /// event queued as `envelope`, with the values captured so far. The request's own
    /// `only_if` was decided by [`Preset::choose`]; a follow-up's is decided here, first,
    /// on the values known now (a value a search did not find is missing, and never waited
    /// for); then the step waits for the captured values its path and body use.
    pub fn step(
        &self,
        request: usize,
        step: usize,
        envelope: &Value,
        crm: &CrmRefs,
    ) -> Result<Step, RenderError> {
        let key = format!("requests[{request}]");
        let event = envelope["type"].as_str().and_then(EventType::parse);
        let takes = self
            .requests
            .get(request)
            .zip(event)
            .is_some_and(|(r, e)| r.events.contains(&e));
        if !takes {
            return Err(self.fail(
                &key,
                format!(
                    "does not send {} (the preset changed since the event was queued)",
                    envelope["type"]
                ),
            ));
        }
        let Some(spec) = self.spec(request, step) else {
            return Ok(Step::Done);
        };
        let ctx = context(envelope, crm);
        if step > 0 && !self.holds(spec, &ctx)? {
            return Ok(Step::Skip);
        }
        let missing: Vec<String> = spec
            .needs
            .iter()
            .filter(|n| crm.get(n.as_str()).is_none_or(Value::is_null))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Ok(Step::Waiting(missing));
        }
        let render = |part: &str| {
            self.env
                .get_template(&format!("{}.{part}", spec.key))
                .and_then(|t| t.render(ctx.clone()))
                .map_err(|e| self.fail(&spec.key, format!("{part}: {e}")))
        };
        let path = render("path")?.trim().to_string();
        let body = if spec.has_body {
            let body: Value = serde_json::from_str(&render("body")?)
                .map_err(|e| self.fail(&spec.key, format!("the body is not JSON: {e}")))?;
            body.to_string()
        } else {
            String::new()
        };
        Ok(Step::Send(Rendered {
            method: spec.method.clone(),
            path,
            headers: spec.headers.clone(),
            body,
        }))
    }

    /// Whether step `step` of `request` reads the CRM's answer (to keep values from it, or
    /// to look for a failure reported with a 2xx).
    pub fn captures(&self, request: usize, step: usize) -> bool {
        self.spec(request, step).is_some_and(reads_answer)
    }

    /// The values step `step` of `request` keeps from the CRM's 2xx `answer`. A `capture`
    /// value that is not there (or `null`) is an error naming the pointer: the CRM took the
    /// call, so retrying it could create a second record. A `find` value that is not there
    /// (an empty answer, as amoCRM's `204` to a search that found nothing) is left out. A
    /// failure the answer reports at `fail_if` is an error with what the CRM said.
    pub fn capture(&self, request: usize, step: usize, answer: &[u8]) -> Result<CrmRefs, String> {
        let Some(spec) = self.spec(request, step).filter(|s| reads_answer(s)) else {
            return Ok(CrmRefs::new());
        };
        let parsed: Value = match serde_json::from_slice(answer) {
            Ok(v) => v,
            Err(_) if spec.capture.is_empty() => Value::Null,
            Err(e) => {
                return Err(format!(
                    "{}: the CRM answered 2xx but not with JSON ({e}), so {} cannot be kept",
                    spec.key,
                    names(spec)
                ));
            }
        };
        let failed = (spec.fail_if.as_deref()).and_then(|p| Some((p, parsed.pointer(p)?)));
        if let Some((pointer, said)) = failed.filter(|(_, v)| reports_something(v)) {
            let mut said = said.to_string();
            if said.len() > 300 {
                let cut = (0..=300)
                    .rev()
                    .find(|&i| said.is_char_boundary(i))
                    .unwrap_or(0);
                said.truncate(cut);
                said.push('…');
            }
            return Err(format!(
                "{}: the CRM answered 2xx but reports a failure at {pointer}: {said}",
                spec.key
            ));
        }
        let mut out = CrmRefs::new();
        for (name, pointer) in &spec.find {
            if let Some(v) = parsed.pointer(pointer).filter(|v| !v.is_null()) {
                out.insert(name.clone(), v.clone());
            }
        }
        for (name, pointer) in &spec.capture {
            match parsed.pointer(pointer) {
                Some(v) if !v.is_null() => {
                    out.insert(name.clone(), v.clone());
                }
                _ => {
                    return Err(format!(
                        "{}: the CRM answered 2xx without {pointer} (for crm.{name}); the record may exist in the CRM, so check before replaying",
                        spec.key
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Whether a step reads the CRM's answer.
fn reads_answer(spec: &StepSpec) -> bool {
    !spec.capture.is_empty() || !spec.find.is_empty() || spec.fail_if.is_some()
}

/// Whether a value at a `fail_if` pointer says something went wrong: anything but null,
/// `false`, 0, and an empty string, array or object (Bitrix24 sends `[]` when nothing failed).
fn reports_something(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::Bool(true) => true,
    }
}

fn names(spec: &StepSpec) -> String {
    spec.capture
        .iter()
        .map(|(n, _)| format!("crm.{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::RawPreset;
    use super::*;

    const PRESET: &str = r#"
name = "two-step"
description = "x"

[[requests]]
events = ["lead.created"]
path = "leads"
body = '{"name": {{ lead.name|tojson }}}'
capture = { lead_id = "/0/id" }

[[requests.then]]
only_if = "lead.text"
path = "leads/{{ crm.lead_id }}/notes"
body = '{"text": {{ lead.text|tojson }}}'

[[requests]]
events = ["lead.reassigned"]
method = "PATCH"
path = "leads/{{ crm.lead_id }}"
body = '{"owner": 7}'
"#;

    fn preset() -> Preset {
        let raw: RawPreset = toml::from_str(PRESET).expect("toml");
        Preset::from_raw(raw, "test").unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn envelope(event: &str, text: &str) -> Value {
        json!({"type": event, "timestamp": "2026-11-22T09:15:03Z",
               "data": {"name": "Анна", "text": text}})
    }

    fn crm(id: Value) -> CrmRefs {
        CrmRefs::from([("lead_id".to_string(), id)])
    }

    #[test]
    fn a_step_waits_for_the_id_an_earlier_answer_gives() {
        let p = preset();
        let created = envelope("lead.created", "Перезвоните");
        assert_eq!(p.choose(EventType::Created, &created).expect("ok"), Some(0));
        let Step::Send(first) = p.step(0, 0, &created, &CrmRefs::new()).expect("ok") else {
            panic!("the first call needs nothing captured");
        };
        assert_eq!(
            (first.method.as_str(), first.path.as_str()),
            ("POST", "leads")
        );
        assert_eq!(
            p.step(0, 1, &created, &CrmRefs::new()).expect("ok"),
            Step::Waiting(vec!["lead_id".into()])
        );
        let kept = p.capture(0, 0, br#"[{"id": 9774766}]"#).expect("captured");
        let Step::Send(note) = p.step(0, 1, &created, &kept).expect("ok") else {
            panic!("the note is sent once the id is known");
        };
        assert_eq!(note.path, "leads/9774766/notes");
        assert_eq!(p.step(0, 2, &created, &kept).expect("ok"), Step::Done);
    }

    #[test]
    fn a_follow_up_whose_condition_fails_is_skipped() {
        let p = preset();
        let no_text = envelope("lead.created", "");
        assert_eq!(
            p.step(0, 1, &no_text, &crm(json!(5))).expect("ok"),
            Step::Skip
        );
    }

    #[test]
    fn a_later_event_uses_the_captured_id_and_null_counts_as_missing() {
        let p = preset();
        let reassigned = envelope("lead.reassigned", "");
        assert_eq!(
            p.choose(EventType::Reassigned, &reassigned).expect("ok"),
            Some(1)
        );
        assert_eq!(
            p.step(1, 0, &reassigned, &crm(Value::Null)).expect("ok"),
            Step::Waiting(vec!["lead_id".into()])
        );
        let Step::Send(patch) = p.step(1, 0, &reassigned, &crm(json!(12))).expect("ok") else {
            panic!("sent");
        };
        assert_eq!(
            (patch.method.as_str(), patch.path.as_str()),
            ("PATCH", "leads/12")
        );
        assert!(
            p.choose(EventType::Acknowledged, &reassigned)
                .expect("ok")
                .is_none()
        );
        let wrong = p
            .step(0, 0, &reassigned, &CrmRefs::new())
            .expect_err("not its event");
        assert!(wrong.to_string().contains("preset changed"), "{wrong}");
    }

    #[test]
    fn an_answer_without_the_value_is_an_error_naming_the_pointer() {
        let p = preset();
        let e = p
            .capture(0, 0, br#"[{"contact_id": 3}]"#)
            .expect_err("no id");
        assert!(e.contains("/0/id") && e.contains("crm.lead_id"), "{e}");
        let e = p.capture(0, 0, b"<html>").expect_err("not JSON");
        assert!(e.contains("not with JSON"), "{e}");
        assert!(p.capture(1, 0, b"").expect("captures nothing").is_empty());
        assert!(p.captures(0, 0) && !p.captures(0, 1));
    }

    const SEARCH_FIRST: &str = r#"
name = "search-first"
description = "x"

[[requests]]
events = ["lead.created"]
method = "GET"
path = "contacts?query={{ lead.phone|urlencode }}"
find = { contact_id = "/contacts/0/id", contact = "/contacts/0" }

[[requests.then]]
only_if = "not crm.contact_id"
path = "contacts"
body = '{"name": {{ lead.name|tojson }}}'
capture = { contact_id = "/id" }

[[requests.then]]
path = "leads"
body = '{"contact": {{ crm.contact_id|tojson }}, "phones": {{ (crm.contact.phones|default([]))|union(lead.phones)|tojson }}, "budget": {{ lead.budget|amount|tojson }}}'
"#;

    fn search_first() -> Preset {
        let raw: RawPreset = toml::from_str(SEARCH_FIRST).expect("toml");
        Preset::from_raw(raw, "test").unwrap_or_else(|p| panic!("{p:?}"))
    }

    fn created(budget: &str) -> Value {
        json!({"type": "lead.created", "timestamp": "2026-11-22T09:15:03Z",
               "data": {"name": "Анна", "phone": "+7 916 111-00-11", "phones": ["+79161110011"], "budget": budget}})
    }

    fn sent(step: Step) -> Rendered {
        match step {
            Step::Send(r) => r,
            other => panic!("not sent: {other:?}"),
        }
    }

    #[test]
    fn a_search_that_finds_nothing_makes_the_record_and_a_found_one_is_used() {
        let p = search_first();
        let lead = created("500 000 ₽");
        let search = sent(p.step(0, 0, &lead, &CrmRefs::new()).expect("ok"));
        assert_eq!(search.method, "GET");
        assert_eq!(search.path, "contacts?query=%2B7+916+111-00-11");
        assert_eq!(search.body, "", "a GET has no body");
        // Nothing found (amoCRM answers 204 with no body): nothing kept, nothing waited for.
        let none = p
            .capture(0, 0, b"")
            .expect("an empty answer is nothing found");
        assert!(none.is_empty());
        let make = sent(p.step(0, 1, &lead, &none).expect("ok"));
        assert_eq!(make.path, "contacts");
        let made = p.capture(0, 1, br#"{"id": 7}"#).expect("captured");
        let link = sent(p.step(0, 2, &lead, &made).expect("ok"));
        let body: Value = serde_json::from_str(&link.body).expect("json");
        assert_eq!(
            body,
            json!({"contact": 7, "phones": ["+79161110011"], "budget": 500000})
        );

        let found = p
            .capture(
                0,
                0,
                br#"{"contacts": [{"id": 3, "phones": ["+74950000000", "+79161110011"]}]}"#,
            )
            .expect("found");
        assert_eq!(found["contact_id"], json!(3));
        assert_eq!(
            p.step(0, 1, &lead, &found).expect("ok"),
            Step::Skip,
            "found: not made again"
        );
        let link = sent(
            p.step(0, 2, &created("по договорённости"), &found)
                .expect("ok"),
        );
        let body: Value = serde_json::from_str(&link.body).expect("json");
        assert_eq!(
            body,
            json!({"contact": 3, "phones": ["+74950000000", "+79161110011"], "budget": null}),
            "the person's details merged, and a budget without digits left out"
        );
    }

    #[test]
    fn a_capture_still_needs_its_value_and_a_get_needs_no_body() {
        let p = search_first();
        let e = p
            .capture(0, 1, b"")
            .expect_err("the record's id is required");
        assert!(e.contains("not with JSON"), "{e}");
        let bad = |text: &str| {
            let raw: RawPreset = toml::from_str(text).expect("toml");
            Preset::from_raw(raw, "test").expect_err("invalid")
        };
        let p = bad(
            "name = \"x\"\ndescription = \"x\"\n[[requests]]\nevents = [\"lead.created\"]\nmethod = \"GET\"\nbody = \"{}\"\n",
        );
        assert_eq!(p[0].key, "requests[0].body", "{p:?}");
        let p =
            bad("name = \"x\"\ndescription = \"x\"\n[[requests]]\nevents = [\"lead.created\"]\n");
        assert_eq!(p[0].key, "requests[0].body", "{p:?}");
    }

    #[test]
    fn a_body_keeps_the_order_its_template_wrote() {
        // Bitrix24 runs a batch's commands in the order given: "find" must stay first.
        let raw: RawPreset = toml::from_str(
            "name = \"x\"\ndescription = \"x\"\n[[requests]]\nevents = [\"lead.created\"]\nbody = '{\"cmd\": {\"find\": 1, \"assign\": 2}}'\n",
        )
        .expect("toml");
        let p = Preset::from_raw(raw, "test").unwrap_or_else(|e| panic!("{e:?}"));
        let call = sent(p.step(0, 0, &created("1"), &CrmRefs::new()).expect("ok"));
        assert_eq!(call.body, r#"{"cmd":{"find":1,"assign":2}}"#);
    }
}
