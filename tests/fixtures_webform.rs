//! Every web form sample of the corpus, sent byte for byte to a running daemon configured as
//! the corpus README says; each answer and each delivered lead checked against expected.json.

mod support;

use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines};
use support::expected::{check_lead, check_not_lead, expectations, sample};
use support::raw_http;

/// The samples sent through a connector (`POST /hooks/tilda/...`) belong to the connectors'
/// test (`tests/connectors.rs`), which runs them through the Tilda connector.
fn through_connector(file: &str) -> bool {
    file.contains("tilda-")
}

const CONFIG: &str = r#"
[[sources.webform]]
id = "site"
honeypot = "website"
redirect = "https://teplodom.example/spasibo/"
allowed_origins = ["https://teplodom.example"]
# Every sample comes from the test's one address; the rate limit has its own tests.
rate_burst = 50

[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"

[business]
own_emails = ["sales@teplodom.example"]
own_phones = ["+7 (812) 600-12-34"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_webform_sample_gives_its_expected_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let mut problems = Vec::new();
    let mut leads_expected = Vec::new();
    let mut checked = 0;
    for exp in expectations("webform")
        .into_iter()
        .filter(|e| !through_connector(&e.file))
    {
        checked += 1;
        let before = daemon.admin_get("/admin/api/inbound?limit=500").await["items"]
            .as_array()
            .map_or(0, Vec::len);
        let response = raw_http::send(daemon.addr, &sample(&exp.file)).await;
        if Some(response.status) != exp.http_status {
            problems.push(format!(
                "{}: status {} != {:?}: {}",
                exp.file,
                response.status,
                exp.http_status,
                String::from_utf8_lossy(&response.body)
            ));
            continue;
        }
        match response.status {
            202 => {
                let body = response.json();
                if body["status"] != "accepted" || !body["id"].is_string() {
                    problems.push(format!("{}: 202 body {body}", exp.file));
                }
            }
            303 if response.header("location") != Some("https://teplodom.example/spasibo/") => {
                problems.push(format!(
                    "{}: 303 to {:?}",
                    exp.file,
                    response.header("location")
                ));
            }
            400 | 413 | 422 => {
                // A browser's plain form gets a page, a script JSON; both name the code.
                let body = response.json();
                let code = response.header("x-leadgate-error").unwrap_or("");
                let page = response
                    .header("content-type")
                    .is_some_and(|t| t.starts_with("text/html"));
                if !page && body["error"]["code"] != code {
                    problems.push(format!(
                        "{}: the header says {code}, the body {body}",
                        exp.file
                    ));
                }
                problems.extend(check_not_lead(&exp, code, None));
                let after = daemon.admin_get("/admin/api/inbound?limit=500").await["items"]
                    .as_array()
                    .map_or(0, Vec::len);
                if after != before {
                    problems.push(format!("{}: a refused request was stored", exp.file));
                }
                if code == "no_contact"
                    && !page
                    && (body["error"]["fields"]["phone"].is_null()
                        || body["error"]["fields"]["email"].is_null())
                {
                    problems.push(format!(
                        "{}: 422 does not name phone and email: {body}",
                        exp.file
                    ));
                }
            }
            _ => {}
        }
        if exp.is_lead {
            leads_expected.push(exp);
        } else if exp.reason_if_not.as_deref() == Some("honeypot") {
            let kept = eventually(Duration::from_secs(5), || async {
                let items = daemon.admin_get("/admin/api/inbound?reason=honeypot").await;
                items["items"].as_array().filter(|a| !a.is_empty()).cloned()
            })
            .await;
            if kept.is_none() {
                problems.push(format!(
                    "{}: the honeypot hit is not kept with its reason",
                    exp.file
                ));
            }
        }
    }
    let sink = dir.path().join("delivered.jsonl");
    let delivered = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&sink);
        (lines.len() >= leads_expected.len()).then_some(lines)
    })
    .await
    .unwrap_or_else(|| file_lines(&sink));
    assert_eq!(
        delivered.len(),
        leads_expected.len(),
        "one delivery per lead, nothing for non-leads"
    );
    for exp in &leads_expected {
        let lead = delivered.iter().map(|l| &l["data"]).find(|l| {
            l["contact"]["phones"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| exp.phones.iter().any(|e| p == e)))
        });
        match lead {
            Some(lead) => problems.extend(check_lead(exp, lead)),
            None => problems.push(format!(
                "{}: no delivered lead with phones {:?}",
                exp.file, exp.phones
            )),
        }
    }
    for line in &delivered {
        assert_eq!(line["type"], "lead.created");
        assert_eq!(line["data"]["schema"], "leadgate.lead.v1");
        assert!(
            line["data"]["assignment"]["manager"]["id"].is_string(),
            "every lead is assigned: {line}"
        );
        assert!(line["data"]["classification"]["level"].is_string());
    }
    daemon.stop().await;
    assert!(checked >= 14, "the corpus has 14 direct web form samples");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
