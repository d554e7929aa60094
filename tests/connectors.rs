//! Every connector's samples against the expected result beside them (one test runs them all,
//! so a new connector is tested by adding its samples; a preset's samples drive its calls
//! step by step with the CRM answers they give), and end to end: the corpus's Tilda
//! webhook posted to the daemon reaches a local CRM sink in the Bitrix24 shape with the
//! assigned manager's CRM user id, while Tilda's test ping is answered 200 and stores nothing.

mod support;

use leadgate::connectors::{Catalogue, InboundConnector, Presented, Preset, Step};
use leadgate::lead::{Envelope, EventType};
use leadgate::lead::{Lead, OwnContacts, Parsed, PhoneNormaliser, normalise};
use leadgate::sources::webform::{Limits, RequestContext, body_kind, form_to_draft, read_body};
use leadgate::store::CrmRefs;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::daemon::{TestDaemon, eventually, file_lines};
use support::expected::{check_lead, expectations, sample};
use support::raw_http;
use support::sink::Sink;

fn connectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("connectors")
}

/// `(case path without extension)` for every `samples/*.expected.json` under `dir/*/`.
fn cases(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("connectors dir").flatten() {
        let samples = entry.path().join("samples");
        let Ok(files) = std::fs::read_dir(&samples) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().to_string();
        for f in files.flatten() {
            let file = f.file_name().to_string_lossy().to_string();
            if let Some(stem) = file.strip_suffix(".expected.json") {
                out.push((name.clone(), samples.join(stem)));
            }
        }
    }
    out.sort();
    out
}

/// A raw HTTP request file: its query string, headers and body.
struct RawRequest {
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(bytes: &[u8]) -> RawRequest {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a blank line after the headers");
    let head = String::from_utf8_lossy(&bytes[..split]).to_string();
    let mut lines = head.split("\r\n");
    let target = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("/")
        .to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    RawRequest {
        query: target.split_once('?').map(|(_, q)| q.to_string()),
        headers,
        body: bytes[split + 4..].to_vec(),
    }
}

/// What the pure path of an inbound connector makes of a request: verified or not, a test
/// ping, or the normalised lead as JSON.
async fn run_inbound(
    connector: &InboundConnector,
    req: &RawRequest,
    secret: Option<&str>,
) -> Value {
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let kind = body_kind(header("content-type").as_deref()).expect("a form content type");
    let limits = Limits::default();
    let form = read_body(&kind, req.body.clone().into(), limits)
        .await
        .expect("the body reads");
    if let (Some(verify), Some(secret)) = (&connector.verify, secret) {
        let presented = Presented {
            header: &header,
            query: req.query.as_deref(),
            fields: &form.fields,
            body: &req.body,
        };
        if !verify.check(secret.as_bytes(), &presented) {
            return json!({"verified": false});
        }
    }
    if connector.is_test_ping(&form.fields) {
        return json!({"test_ping": true});
    }
    let ctx = RequestContext {
        referer: header("referer"),
    };
    let Parsed::Lead(draft) = form_to_draft(&form, None, &ctx, connector) else {
        return json!({"not_lead": true});
    };
    let phones = PhoneNormaliser::new("RU").expect("RU");
    let d = normalise(draft, &phones, &OwnContacts::default());
    json!({"lead": {
        "name": d.contact.name, "emails": d.contact.emails, "phones": d.contact.phones,
        "text": d.text, "subject": d.subject, "external_id": d.external_id, "utm": d.utm,
        "fields": d.fields, "page_url": d.page_url, "referrer": d.referrer,
    }})
}

/// What a preset makes of an outbound sample (`{"event", "timestamp", "lead"}`, optionally
/// `"update"`: what a follow-up added, `"crm"`: values captured before this event, and
/// `"answers"`: the CRM's answer to each call in turn, `{}` when missing, `null` for an
/// empty answer): every call it sends, in order (a `GET`'s body is `null`), and the values
/// captured (`"crm"`, when any); `"waiting"` names the values a call waits for, `"error"`
/// why it stopped; `null` when the preset does not send the event.
fn run_outbound(preset: &Preset, input: &Value) -> Value {
    let event = EventType::parse(input["event"].as_str().unwrap_or("")).expect("event");
    let at = chrono::DateTime::parse_from_rfc3339(input["timestamp"].as_str().unwrap_or(""))
        .expect("timestamp")
        .with_timezone(&chrono::Utc);
    let lead: Lead = serde_json::from_value(input["lead"].clone()).expect("a lead record");
    let envelope = Envelope::new(event, at, &lead, input.get("update")).value();
    let request = match preset.choose(event, &envelope) {
        Ok(Some(request)) => request,
        Ok(None) => return Value::Null,
        Err(e) => return json!({"error": e.to_string()}),
    };
    let mut crm: CrmRefs =
        serde_json::from_value(input.get("crm").cloned().unwrap_or(json!({}))).expect("crm");
    let answers = input["answers"].as_array().cloned().unwrap_or_default();
    let mut calls = Vec::new();
    let mut out = json!({});
    let mut step = 0;
    loop {
        let call = match preset.step(request, step, &envelope, &crm) {
            Err(e) => {
                out["error"] = json!(e.to_string());
                break;
            }
            Ok(Step::Done) => break,
            Ok(Step::Skip) => {
                step += 1;
                continue;
            }
            Ok(Step::Waiting(names)) => {
                out["waiting"] = json!(names);
                break;
            }
            Ok(Step::Send(call)) => call,
        };
        let answer = match answers.get(calls.len()) {
            Some(Value::Null) => String::new(),
            Some(a) => a.to_string(),
            None => "{}".to_string(),
        };
        let body = match call.body.as_str() {
            "" => Value::Null,
            text => serde_json::from_str::<Value>(text).expect("JSON body"),
        };
        calls.push(json!({
            "method": call.method, "path": call.path, "headers": call.headers, "body": body,
        }));
        match preset.capture(request, step, answer.as_bytes()) {
            Ok(kept) => crm.extend(kept),
            Err(e) => {
                out["error"] = json!(e);
                break;
            }
        }
        step += 1;
    }
    out["requests"] = json!(calls);
    if !crm.is_empty() {
        out["crm"] = json!(crm);
    }
    out
}

/// Every key of `want` equals the same key of `got` (one level down for `lead`).
fn compare(label: &str, want: &Value, got: &Value, problems: &mut Vec<String>) {
    for (key, w) in want.as_object().into_iter().flatten() {
        if key == "secret" {
            continue;
        }
        if key == "lead" {
            for (k, wv) in w.as_object().into_iter().flatten() {
                if &got["lead"][k] != wv {
                    problems.push(format!("{label}: lead.{k} = {} != {wv}", got["lead"][k]));
                }
            }
        } else if &got[key] != w {
            problems.push(format!("{label}: {key} = {} != {w}", got[key]));
        }
    }
    if want.get("lead").is_some() && got.get("lead").is_none() {
        problems.push(format!("{label}: no lead: {got}"));
    }
}

#[tokio::test]
async fn every_connector_sample_gives_its_expected_result() {
    let catalogue = Catalogue::load(None).unwrap_or_else(|p| panic!("{p:#?}"));
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();

    for (name, case) in cases(&connectors_dir().join("inbound")) {
        let label = format!("inbound/{name}/{}", case.display());
        let Some(connector) = catalogue.inbound(&name) else {
            problems.push(format!("{label}: no connector {name:?}"));
            continue;
        };
        seen.insert(format!("inbound/{name}"));
        let want: Value = serde_json::from_slice(
            &std::fs::read(case.with_extension("expected.json")).expect("expected"),
        )
        .expect("expected JSON");
        let req = parse_request(&std::fs::read(case.with_extension("txt")).expect("sample"));
        let got = run_inbound(&connector, &req, want["secret"].as_str()).await;
        compare(&label, &want, &got, &mut problems);
    }

    for (name, case) in cases(&connectors_dir().join("outbound")) {
        let label = format!("outbound/{name}/{}", case.display());
        let Some(preset) = catalogue.preset(&name) else {
            problems.push(format!("{label}: no preset {name:?}"));
            continue;
        };
        seen.insert(format!("outbound/{name}"));
        let input: Value =
            serde_json::from_slice(&std::fs::read(case.with_extension("json")).expect("sample"))
                .expect("sample JSON");
        let want: Value = serde_json::from_slice(
            &std::fs::read(case.with_extension("expected.json")).expect("expected"),
        )
        .expect("expected JSON");
        let got = run_outbound(&preset, &input);
        if got != want {
            problems.push(format!("{label}:\n  got  {got}\n  want {want}"));
        }
    }

    for c in catalogue.inbound_all() {
        if !seen.contains(&format!("inbound/{}", c.name)) {
            problems.push(format!("inbound connector {} ships no samples", c.name));
        }
    }
    for name in catalogue.presets_all() {
        if !seen.contains(&format!("outbound/{name}")) {
            problems.push(format!("preset {name} ships no samples"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One manager with a Bitrix24 user id under the sink's id, routed every lead.
const ROUTING: &str = r#"
levels = ["junior"]

[[managers]]
id = "anna"
name = "Анна Петрова"
level = "junior"
email = "anna@example.ru"
crm_user_id = { b24 = "17" }
hours = "daily 00:00-24:00"

[[rules]]
name = "default"
level = "junior"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tilda_webhook_reaches_bitrix24_and_the_ping_creates_nothing() {
    let crm = Sink::start(&[]).await;
    crm.answer(
        "POST",
        "/rest/1/abcdef/crm.lead.add.json",
        json!({"result": 101, "time": {}}),
    );
    let config = format!(
        r#"
[[sources.webform]]
id = "tilda-site"
connector = "tilda"
# The published samples carry no ?key=: taken unproven, explicitly (and warned at start).
allow_unsigned = true

[[sinks.webhook]]
id = "b24"
url = "http://{addr}/rest/1/abcdef/"
preset = "bitrix24"

[[sinks.file]]
id = "record"
path = "{{dir}}/delivered.jsonl"
"#,
        addr = crm.addr
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config, ROUTING).await;
    let inbound_count = || async {
        daemon.admin_get("/admin/api/inbound?limit=500").await["items"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let mut problems = Vec::new();
    let mut tilda_leads = 0;

    for exp in expectations("webform")
        .into_iter()
        .filter(|e| e.file.contains("tilda-"))
    {
        let before = inbound_count().await;
        let response = raw_http::send(daemon.addr, &sample(&exp.file)).await;
        if Some(response.status) != exp.http_status {
            problems.push(format!(
                "{}: status {} != {:?}",
                exp.file, response.status, exp.http_status
            ));
        }
        if String::from_utf8_lossy(&response.body) != "OK" {
            problems.push(format!("{}: Tilda needs the body OK", exp.file));
        }
        if !exp.is_lead {
            daemon.settled().await;
            if inbound_count().await != before {
                problems.push(format!("{}: the test ping was stored", exp.file));
            }
            continue;
        }
        let id = exp.external_id.clone().unwrap_or_default();
        let line = eventually(Duration::from_secs(10), || async {
            file_lines(&dir.path().join("delivered.jsonl"))
                .into_iter()
                .find(|l| l["data"]["external_id"] == id.as_str())
        })
        .await;
        match line {
            Some(line) => problems.extend(check_lead(&exp, &line["data"])),
            None => problems.push(format!("{}: no lead delivered", exp.file)),
        }
        tilda_leads += 1;
        // Tilda retries a delivery it did not see answered: the same tranid is one lead.
        let again = raw_http::send(daemon.addr, &sample(&exp.file)).await;
        if again.status != 200 {
            problems.push(format!("{}: a retry got {}", exp.file, again.status));
        }
    }

    let received = eventually(Duration::from_secs(10), || async {
        let r = crm.received();
        let added = r
            .iter()
            .filter(|c| c.path.ends_with("crm.lead.add.json"))
            .count();
        (added >= tilda_leads).then_some(r)
    })
    .await
    .unwrap_or_default();
    daemon.settled().await;
    let calls: Vec<String> = crm
        .received()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.ends_with("crm.lead.add.json"))
            .count(),
        tilda_leads,
        "one CRM lead per Tilda lead, none for the ping or a retry: {calls:?}"
    );
    assert!(
        calls
            .iter()
            .all(|c| c.ends_with("crm.lead.add.json")
                || c.ends_with("crm.duplicate.findbycomm.json")),
        "besides the leads, only the contact looked for by phone and e-mail: {calls:?}"
    );
    let call = received
        .iter()
        .find(|c| {
            c.path.ends_with("crm.lead.add.json") && c.json()["fields"]["NAME"] == "Кирилл Фёдоров"
        })
        .expect("the corpus's Tilda webhook reached Bitrix24");
    assert_eq!(call.method, "POST");
    let body = call.json();
    let fields = &body["fields"];
    assert_eq!(fields["NAME"], "Кирилл Фёдоров");
    assert_eq!(
        fields["PHONE"],
        json!([{"VALUE": "+79219087766", "VALUE_TYPE": "WORK"}])
    );
    assert_eq!(
        fields["EMAIL"],
        json!([{"VALUE": "kfedorov@mail.ru", "VALUE_TYPE": "WORK"}])
    );
    assert!(
        fields["COMMENTS"]
            .as_str()
            .is_some_and(|c| c.contains("тёплый пол"))
    );
    assert_eq!(fields["SOURCE_ID"], "WEB");
    assert_eq!(fields["UTM_SOURCE"], "vk");
    assert_eq!(fields["UTM_CAMPAIGN"], "teplyj_pol_nov");
    assert!(call.header("webhook-id").starts_with("msg_"));
    assert_eq!(
        fields["ASSIGNED_BY_ID"], "17",
        "ASSIGNED_BY_ID is the assigned manager's Bitrix24 user id (routing.toml crm_user_id.b24)"
    );
    daemon.stop().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
