//! Everyone who writes on WhatsApp gets an answer (issue 18): the source's `reply_text` sent
//! through the Cloud API (simulated) from the number the person wrote to, once per lead,
//! through the notification outbox. Outside the 24-hour window (131047) or with a bad token
//! (190) the answer is dead, not retried, and the lead is delivered all the same.

mod support;

use serde_json::{Value, json};
use sqlx::Row;
use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines};
use support::whatsapp_api::WhatsappApiSim;

const APP_SECRET: &str = "wa-app-secret-for-tests";
const TOKEN: &str = "EAAGm0PX4ZCpsBA-simulated-token";
const REPLY: &str = "Спасибо! Менеджер ответит в течение часа.";
const MAIN: &str = "402918375610294";
const SECOND: &str = "402918375610295";

fn config(sim: &WhatsappApiSim) -> String {
    format!(
        r#"
[[sources.whatsapp]]
id = "wa-main"
verify_token = "verify-me"
app_secret = "{APP_SECRET}"
phone_number_id = "{MAIN}"
access_token = "{TOKEN}"
api_url = "{url}"
reply_text = "{REPLY}"

[[sources.whatsapp]]
id = "wa-second"
verify_token = "verify-me"
app_secret = "{APP_SECRET}"
phone_number_id = "{SECOND}"
access_token = "a-token-meta-revoked"
api_url = "{url}"

[[sinks.file]]
id = "crm"
path = "{{dir}}/delivered.jsonl"
"#,
        url = sim.url()
    )
}

async fn write(daemon: &TestDaemon, number: &str, wa_id: &str, wamid: &str, text: &str) {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "318640192847561",
        "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "78126001234", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Айгуль"}, "wa_id": wa_id}],
            "messages": [{"from": wa_id, "id": wamid, "timestamp": "1795087200",
                          "type": "text", "text": {"body": text}}]}}]}]})
    .to_string()
    .into_bytes();
    let r = support::whatsapp_api::post_signed_webhook(
        daemon.url("/hooks/whatsapp/wa-main"),
        APP_SECRET,
        body,
    )
    .await;
    assert_eq!(r.status(), 200);
}

/// The answers queued, as (address, status, last error).
async fn replies(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(dir.join("leadgate.db"))
            .read_only(true),
    )
    .await
    .expect("db");
    let rows = sqlx::query(
        "SELECT address, status, COALESCE(last_error, '') FROM notifications
         WHERE kind = 'reply' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("replies");
    pool.close().await;
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_person_is_answered_once_inside_the_window_and_a_refusal_never_costs_the_lead() {
    let sim = WhatsappApiSim::start(TOKEN, &[MAIN, SECOND]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sim), &always_open_routing()).await;
    let delivered = dir.path().join("delivered.jsonl");

    sim.customer_wrote("79876543210");
    write(
        &daemon,
        MAIN,
        "79876543210",
        "wamid.A1",
        "Сколько стоит котёл?",
    )
    .await;
    let answered = eventually(Duration::from_secs(10), || async {
        (!sim.sent().is_empty()).then(|| sim.sent())
    })
    .await
    .expect("the person is answered");
    assert_eq!(answered[0].to, "79876543210");
    assert_eq!(answered[0].text, REPLY);
    assert_eq!(
        answered[0].phone_number_id, MAIN,
        "from the number they wrote to"
    );

    write(&daemon, MAIN, "79876543210", "wamid.A2", "И монтаж тоже").await;
    let joined = eventually(Duration::from_secs(10), || async {
        let lines: Vec<Value> = file_lines(&delivered);
        lines
            .iter()
            .any(|e| e["type"] == "lead.updated")
            .then_some(())
    })
    .await;
    assert!(joined.is_some(), "the follow-up joins the lead");
    daemon.settled().await;
    assert_eq!(
        sim.sent().len(),
        1,
        "answered once per lead, not per message"
    );

    // Wrote more than 24 hours ago (a webhook Meta retried late): the API refuses.
    write(
        &daemon,
        MAIN,
        "79876543222",
        "wamid.B1",
        "Вы ещё работаете?",
    )
    .await;
    // Through the number whose token Meta revoked.
    sim.customer_wrote("79876543233");
    write(&daemon, SECOND, "79876543233", "wamid.C1", "Нужен бойлер").await;
    let settled = eventually(Duration::from_secs(10), || async {
        let r = replies(dir.path()).await;
        (r.len() == 3 && r.iter().all(|(_, status, _)| status != "pending")).then_some(r)
    })
    .await
    .expect("every answer is settled");
    assert_eq!(settled[0].1, "sent");
    assert_eq!(settled[1].0, "79876543222");
    assert_eq!(settled[1].1, "dead", "131047 is not retried");
    assert!(settled[1].2.contains("24-hour"), "{:?}", settled[1]);
    assert_eq!(settled[2].1, "dead", "a bad token is not retried");
    assert!(settled[2].2.contains("code Some(190)"), "{:?}", settled[2]);
    let mut refused = sim.refused();
    refused.sort();
    assert_eq!(
        refused,
        [
            ("79876543222".to_string(), 131_047),
            ("79876543233".to_string(), 190)
        ]
    );
    let created: Vec<String> = file_lines(&delivered)
        .iter()
        .filter(|e| e["type"] == "lead.created")
        .filter_map(|e| e["data"]["source"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        created,
        ["wa-main", "wa-main", "wa-second"],
        "every lead is delivered, answered or not"
    );
    daemon.stop().await;
}
