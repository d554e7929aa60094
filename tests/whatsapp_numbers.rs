//! One Meta app, two WhatsApp numbers (issue 18): the app posts both numbers' webhooks to one
//! callback URL, and each message goes to the source configured for the number it was sent to
//! (`metadata.phone_number_id`); a number no source takes is left out.

mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually};

const APP_SECRET: &str = "wa-app-secret-for-tests";

const CONFIG: &str = r#"
[[sources.whatsapp]]
id = "wa-spb"
verify_token = "verify-me"
app_secret = "wa-app-secret-for-tests"
phone_number_id = "402918375610294"

[[sources.whatsapp]]
id = "wa-msk"
verify_token = "verify-me"
app_secret = "wa-app-secret-for-tests"
phone_number_id = "402918375610295"

[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"
"#;

/// A change for `number` with one text message from `wa_id`.
fn change(number: &str, wa_id: &str, wamid: &str, text: &str) -> Value {
    json!({"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "78126001234", "phone_number_id": number},
        "contacts": [{"profile": {"name": "Клиент"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": "1795087200", "type": "text",
                      "text": {"body": text}}]
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_number_of_one_app_feeds_its_own_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let body = json!({"object": "whatsapp_business_account", "entry": [{
    "id": "318640192847561",
    "changes": [
        change("402918375610294", "79876543210", "wamid.SPB1", "Питер: нужен котёл"),
        change("402918375610295", "79876543211", "wamid.MSK1", "Москва: нужен бойлер"),
        change("402918375610299", "79876543212", "wamid.NONE", "Чужой номер"),
    ]}]})
    .to_string()
    .into_bytes();
    let response = support::whatsapp_api::post_signed_webhook(
        daemon.url("/hooks/whatsapp/wa-spb"),
        APP_SECRET,
        body,
    )
    .await;
    assert_eq!(response.status(), 200);
    let items = eventually(Duration::from_secs(10), || async {
        let items = daemon.admin_get("/admin/api/inbound?limit=50").await["items"].clone();
        (items.as_array().map_or(0, Vec::len) >= 2).then_some(items)
    })
    .await
    .expect("the items are stored");
    let mut sources: Vec<(String, String)> = items
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["dedupe_key"].as_str().unwrap_or("").to_string(),
                i["source"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    sources.sort();
    assert_eq!(
        sources,
        [
            ("wamid.MSK1".to_string(), "wa-msk".to_string()),
            ("wamid.SPB1".to_string(), "wa-spb".to_string()),
        ],
        "each number to its source, the unknown number left out: {items}"
    );
    daemon.stop().await;
}
