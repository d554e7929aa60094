//! Everyone who writes to the VK community gets an answer (issue 18): `messages.send` with the
//! community's token (simulated API), once per lead, through the notification outbox; a wall
//! comment is not answered in private; a refusal (901: the person does not allow messages) is
//! final and the lead is delivered all the same. A lead gets the person's name from
//! `users.get` with the same token; when VK does not give it, the lead goes on without. An
//! edited message reaches its lead.

mod support;

use serde_json::json;
use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines};
use support::vk_api::VkApiSim;

const TOKEN: &str = "vk1.a.community-token-for-tests";
const REPLY: &str = "Спасибо! Менеджер ответит в течение часа.";

async fn callback(daemon: &TestDaemon, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(daemon.url("/hooks/vk/vk-community"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.text().await.expect("body"), "ok");
}

fn message(from: i64, cmid: i64, text: &str) -> serde_json::Value {
    json!({"group_id": 218765432, "type": "message_new", "event_id": format!("ev-{from}-{cmid}"),
        "v": "5.199", "secret": "Tq7vX2mLp9",
        "object": {"message": {"date": 1794903120, "from_id": from, "id": 3400 + cmid, "out": 0,
            "conversation_message_id": cmid, "text": text, "peer_id": from, "attachments": [],
            "fwd_messages": []}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_writing_to_the_community_is_answered_once_and_a_refusal_costs_nothing() {
    let sim = VkApiSim::start(TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[[sources.vk]]
id = "vk-community"
group_id = 218765432
secret = "Tq7vX2mLp9"
confirmation = "3b9f1c7a"
access_token = "{TOKEN}"
api_url = "{}"
reply_text = "{REPLY}"

[[sinks.file]]
id = "crm"
path = "{{dir}}/delivered.jsonl"
"#,
        sim.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let delivered = dir.path().join("delivered.jsonl");

    sim.allow(612345678);
    callback(
        &daemon,
        message(612345678, 34, "Сколько стоит котёл? 8-911-765-00-12"),
    )
    .await;
    let sent = eventually(Duration::from_secs(10), || async {
        (!sim.sent().is_empty()).then(|| sim.sent())
    })
    .await
    .expect("the person is answered");
    assert_eq!(sent[0].peer_id, 612345678);
    assert_eq!(sent[0].text, REPLY);
    assert_eq!(sent[0].version, "5.199");

    callback(&daemon, message(612345678, 35, "И монтаж")).await;
    let comment = json!({"group_id": 218765432, "type": "wall_reply_new", "event_id": "ev-wall",
        "v": "5.199", "secret": "Tq7vX2mLp9",
        "object": {"id": 77, "from_id": 612345679, "post_id": 12, "owner_id": -218765432,
            "date": 1794903200, "text": "Сколько стоит доставка? +7 911 765-00-13"}});
    callback(&daemon, comment).await;
    callback(
        &daemon,
        message(612345680, 1, "Нужен бойлер, +7 911 765-00-14"),
    )
    .await;
    let all = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&delivered);
        let created = lines.iter().filter(|e| e["type"] == "lead.created").count();
        (created == 3 && !sim.refused().is_empty()).then_some(lines)
    })
    .await
    .expect("three leads, and the third person's answer refused");
    assert!(all.iter().any(|e| e["type"] == "lead.updated"));
    daemon.settled().await;
    assert_eq!(
        sim.sent().len(),
        1,
        "once per lead, and a wall comment is not answered in private"
    );
    assert_eq!(
        sim.refused(),
        [(612345680, 901)],
        "refused once, not retried"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_persons_name_comes_from_users_get() {
    let api = VkApiSim::start(TOKEN).await;
    api.add_user(612345678, "Иван", "Петров");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[[sources.vk]]
id = "vk-community"
group_id = 218765432
secret = "Tq7vX2mLp9"
confirmation = "3b9f1c7a"
access_token = "{TOKEN}"
api_url = "{}"

[[sinks.file]]
id = "crm"
path = "{{dir}}/delivered.jsonl"
"#,
        api.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    callback(&daemon, message(612345678, 50, "Нужна консультация")).await;
    // Someone VK does not give a name for (a deleted page): the lead goes on with the id.
    callback(&daemon, message(612345999, 51, "И мне тоже")).await;
    let lines = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&dir.path().join("delivered.jsonl"));
        (lines.len() >= 2).then_some(lines)
    })
    .await
    .expect("both leads delivered");
    let contact = |vk_id: i64| {
        lines
            .iter()
            .find(|l| l["data"]["contact"]["vk_id"] == vk_id)
            .map(|l| l["data"]["contact"].clone())
            .unwrap_or_else(|| panic!("no lead of {vk_id}"))
    };
    assert_eq!(contact(612345678)["name"], "Иван Петров");
    assert_eq!(contact(612345999)["name"], serde_json::Value::Null);
    assert_eq!(api.users_get_calls(), 2);
    daemon.stop().await;
}

/// "Сколько стоит?", then the same message edited to add the phone: the edit reaches the lead
/// (its only message, so its words replace the first ones) and the CRM as `lead.updated`.
/// VK's `message_edit` was answered `ok` and thrown away, and the phone with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_edited_to_add_the_phone_reaches_the_lead() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = r#"
[[sources.vk]]
id = "vk-community"
group_id = 218765432
secret = "Tq7vX2mLp9"
confirmation = "3b9f1c7a"

[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"
"#;
    let daemon = TestDaemon::start_in(dir.path(), config, &always_open_routing()).await;
    let delivered = dir.path().join("delivered.jsonl");
    callback(&daemon, message(612345678, 40, "Сколько стоит котёл?")).await;
    let edited = |text: &str, at: i64| {
        let mut edit = message(612345678, 40, text)["object"]["message"].clone();
        edit["update_time"] = json!(at);
        json!({"group_id": 218765432, "type": "message_edit", "event_id": format!("ev-edit-{at}"),
            "v": "5.199", "secret": "Tq7vX2mLp9", "object": edit})
    };
    let with_phone = "Сколько стоит котёл? Мой телефон +7 921 555-44-33";
    callback(&daemon, edited(with_phone, 1794903300)).await;
    // The same edit delivered again is one.
    callback(&daemon, edited(with_phone, 1794903300)).await;
    let updated = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&delivered);
        (lines.iter())
            .find(|e| e["type"] == "lead.updated")
            .cloned()
    })
    .await
    .expect("the edit reaches the CRM");
    assert_eq!(
        updated["data"]["contact"]["phones"],
        json!(["+79215554433"])
    );
    assert_eq!(updated["data"]["text"], with_phone);
    daemon.settled().await;
    let lines = file_lines(&delivered);
    let kinds: Vec<&str> = lines.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(kinds, ["lead.created", "lead.updated"]);
    daemon.stop().await;
}
