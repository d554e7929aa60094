//! CRM presets whose later calls need the CRM's own ids, end to end against a local CRM that
//! answers with ids: amoCRM's complex add, the note on the lead it made, and a decline
//! changing the responsible user, sent in order through failures; Pipedrive's person, lead
//! and note, and the lead's owner changed after a restart; and a lead's events reaching a
//! plain webhook sink in order behind a failing one. Time is a manual clock the test moves
//! past the retry waits.

mod support;

use leadgate::clock::ManualClock;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::daemon::{API_TOKEN, TestDaemon, always_open_routing, eventually, manual_clock};
use support::sink::{Received, Sink};

const LEAD_ID: &str = "adf21080-0e10-11eb-879b-05d71fb426ec";

async fn start(
    dir: &std::path::Path,
    crm: &Sink,
    preset: &str,
    clock: Arc<ManualClock>,
) -> TestDaemon {
    let config = format!(
        r#"
[api]
token = "{API_TOKEN}"

[[sources.webform]]
id = "site"

[[sinks.webhook]]
id = "crm"
url = "http://{}/"
preset = "{preset}"
token = "crm-token-{preset}"
timeout = "2s"
"#,
        crm.addr
    );
    TestDaemon::start_at(dir, &config, &always_open_routing(), clock).await
}

/// Declines `lead` for the manager with CRM user id `crm_user_id` (anna 17, boris 18); the
/// lead passes to the other junior.
async fn decline(daemon: &TestDaemon, lead: &str, crm_user_id: i64) {
    let manager = if crm_user_id == 17 { "anna" } else { "boris" };
    let r = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{lead}/decline")))
        .bearer_auth(API_TOKEN)
        .json(&json!({"manager": manager, "reason": "в отпуске"}))
        .send()
        .await
        .expect("decline");
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
}

async fn received(crm: &Sink, n: usize) -> Vec<Received> {
    eventually(Duration::from_secs(10), || async {
        let got = crm.received();
        (got.len() >= n).then_some(got)
    })
    .await
    .unwrap_or_else(|| panic!("expected {n} calls, got {:?}", calls(&crm.received())))
}

/// `METHOD /path -> status` for each call, for assertions and messages.
fn calls(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.answered))
        .collect()
}

fn other(crm_user_id: i64) -> i64 {
    if crm_user_id == 17 { 18 } else { 17 }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_notes_and_reassigns_the_lead_its_answer_named_in_order_through_failures() {
    // Nobody is found (an empty answer); the first complex add fails, the second works; the
    // note fails once.
    let crm = Sink::start(&[200, 500, 200, 500]).await;
    crm.answer(
        "POST",
        "/api/v4/leads/complex",
        json!([{"id": 9774766, "contact_id": 12117258, "company_id": null, "request_id": ["0"], "merged": false}]),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(dir.path(), &crm, "amocrm", clock.clone()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Кирилл Фёдоров"),
            ("phone", "+79161110011"),
            ("message", "Хочу тёплый пол"),
        ])
        .await;
    let first = received(&crm, 2).await;
    let owner = first[1].json()[0]["responsible_user_id"]
        .as_i64()
        .expect("the lead went to a manager with an amoCRM id");

    decline(&daemon, &lead, owner).await;
    daemon.settled().await;
    assert_eq!(
        calls(&crm.received()),
        [
            "GET /api/v4/contacts?query=9161110011 -> 200",
            "POST /api/v4/leads/complex -> 500"
        ],
        "the reassignment waits while the lead's creation is being retried"
    );

    clock.advance(chrono::Duration::seconds(10));
    received(&crm, 4).await;
    daemon.settled().await;
    assert_eq!(
        crm.received().len(),
        4,
        "nothing more while the note is being retried: {:?}",
        calls(&crm.received())
    );

    clock.advance(chrono::Duration::minutes(10));
    let got = received(&crm, 7).await;
    daemon.settled().await;
    assert_eq!(
        calls(&crm.received()),
        [
            "GET /api/v4/contacts?query=9161110011 -> 200",
            "POST /api/v4/leads/complex -> 500",
            "POST /api/v4/leads/complex -> 200",
            "POST /api/v4/leads/9774766/notes -> 500",
            "POST /api/v4/leads/9774766/notes -> 200",
            "PATCH /api/v4/leads/9774766 -> 200",
            "PATCH /api/v4/contacts/12117258 -> 200",
        ],
        "the search is not repeated; one lead made in amoCRM; the note retried alone; then the reassignment"
    );
    assert_eq!(
        got[4].json(),
        json!([{"note_type": "common", "params": {"text": "Хочу тёплый пол"}}])
    );
    let new_owner = json!({"responsible_user_id": other(owner)});
    assert_eq!(
        got[5].json(),
        new_owner,
        "the lead goes to the other junior"
    );
    assert_eq!(got[6].json(), new_owner, "and so does its contact");
    for call in &got {
        assert_eq!(call.header("authorization"), "Bearer crm-token-amocrm");
    }
    assert_eq!(
        got[3].header("webhook-id"),
        got[2].header("webhook-id"),
        "the note is part of the lead.created delivery"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipedrive_makes_a_person_then_a_lead_and_moves_the_lead_after_a_restart() {
    let crm = Sink::start(&[]).await;
    crm.answer(
        "GET",
        "/api/v1/persons/search",
        json!({"success": true, "data": {"items": []}}),
    );
    crm.answer(
        "POST",
        "/api/v1/persons",
        json!({"success": true, "data": {"id": 1092, "name": "Кирилл Фёдоров"}}),
    );
    crm.answer(
        "POST",
        "/api/v1/leads",
        json!({"success": true, "data": {"id": LEAD_ID, "person_id": 1092}}),
    );
    crm.answer(
        "POST",
        "/api/v1/notes",
        json!({"success": true, "data": {"id": 5}}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(dir.path(), &crm, "pipedrive", clock.clone()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Кирилл Фёдоров"),
            ("phone", "+79161110012"),
            ("message", "Нужен замер"),
        ])
        .await;
    let got = received(&crm, 4).await;
    assert_eq!(
        calls(&got),
        [
            "GET /api/v1/persons/search?term=%2B79161110012&fields=phone&exact_match=true -> 200",
            "POST /api/v1/persons -> 200",
            "POST /api/v1/leads -> 200",
            "POST /api/v1/notes -> 200",
        ]
    );
    let owner = got[1].json()["owner_id"].as_i64().expect("an owner");
    assert_eq!(
        got[2].json(),
        json!({"title": "Заявка: Кирилл Фёдоров", "person_id": 1092, "owner_id": owner})
    );
    assert_eq!(
        got[3].json(),
        json!({"content": "Нужен замер", "lead_id": LEAD_ID})
    );
    assert!(
        got.iter()
            .all(|c| c.header("x-api-token") == "crm-token-pipedrive")
    );
    daemon.stop().await;

    let daemon = start(dir.path(), &crm, "pipedrive", clock.clone()).await;
    decline(&daemon, &lead, owner).await;
    let got = received(&crm, 5).await;
    assert_eq!(
        calls(&got[4..]),
        [format!("PATCH /api/v1/leads/{LEAD_ID} -> 200")],
        "the lead id Pipedrive gave before the restart"
    );
    assert_eq!(got[4].json(), json!({"owner_id": other(owner)}));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leads_later_event_waits_behind_its_failing_first_one() {
    // A Standard Webhooks sink, no preset: nothing to capture, only the order to keep.
    let sink = Sink::start(&[500]).await;
    let config = support::config::form_to_crm(&sink.url());
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Кирилл Фёдоров"),
            ("phone", "+79161110013"),
            ("message", "Позвоните"),
        ])
        .await;
    let first = received(&sink, 1).await;
    let owner = first[0].json()["data"]["assignment"]["manager"]["crm_user_id"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .expect("a manager with a CRM id");
    decline(&daemon, &lead, owner).await;
    daemon.settled().await;
    assert_eq!(sink.received().len(), 1, "lead.reassigned waits");
    clock.advance(chrono::Duration::seconds(10));
    let got = received(&sink, 3).await;
    let types: Vec<Value> = got.iter().map(|r| r.json()["type"].clone()).collect();
    assert_eq!(
        types,
        ["lead.created", "lead.created", "lead.reassigned"],
        "the retried creation first, then the reassignment"
    );
    daemon.stop().await;
}

/// Bitrix24 answers a `batch` with 200 even when a command in it fails; the failure is in
/// `result_error`. A reassignment whose lead Bitrix24 no longer has is a dead letter with
/// Bitrix24's words (before, it counted as delivered and nobody saw the owner unchanged).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bitrix24_batch_that_reports_a_failed_command_is_a_dead_letter() {
    let crm = Sink::start(&[]).await;
    crm.answer(
        "POST",
        "/crm.duplicate.findbycomm.json",
        json!({"result": []}),
    );
    crm.answer("POST", "/crm.lead.add.json", json!({"result": 501}));
    crm.answer(
        "POST",
        "/batch.json",
        json!({"result": {"result": {"find": []}, "result_error": {
            "assign": {"error": "", "error_description": "Not found"}
        }, "result_total": [], "result_next": [], "result_time": {}}}),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(dir.path(), &crm, "bitrix24", clock).await;
    let lead = daemon
        .submit_form(&[("name", "Кирилл"), ("phone", "+79161110014")])
        .await;
    let created = received(&crm, 2).await;
    let add = created[1].json();
    let owner: i64 = add["fields"]["ASSIGNED_BY_ID"]
        .as_str()
        .and_then(|id| id.parse().ok())
        .or_else(|| add["fields"]["ASSIGNED_BY_ID"].as_i64())
        .expect("a manager with a CRM id");
    decline(&daemon, &lead, owner).await;
    received(&crm, 3).await;
    let dead = eventually(Duration::from_secs(10), || async {
        let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
        (journey["deliveries"].as_array()?.iter())
            .find(|d| d["event_type"] == "lead.reassigned" && d["status"] == "dead")
            .cloned()
    })
    .await
    .expect("the reassignment is a dead letter");
    let error = dead["last_error"].as_str().unwrap_or("");
    assert!(
        error.contains("result_error") && error.contains("Not found"),
        "{dead}"
    );
    daemon.stop().await;
}
