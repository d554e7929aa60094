//! Telegram long polling after an outage (issue 18): `getUpdates` fails nine times in a row the
//! ways Telegram and its proxies fail (429 with `retry_after`, 500, nginx's HTML 502, a dropped
//! connection, a hung call, 409) while 30 people write; every one of them becomes exactly one
//! lead, within seconds of the outage's end (it took 248 s with a backoff doubling to a minute
//! that ignored `retry_after` and waited out a hung call).

mod support;

use std::collections::HashSet;
use std::time::Duration;
use support::bot_api::{BotApiSim, Outage, TOKEN};
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_messages_written_during_an_outage_arrive_once_within_seconds_of_its_end() {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[[sources.telegram]]
id = "tg-bot"
token = "{TOKEN}"
api_url = "{}"
poll_timeout = "1s"

[[sinks.file]]
id = "crm"
path = "{{dir}}/delivered.jsonl"
"#,
        sim.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let delivered = dir.path().join("delivered.jsonl");
    sim.push_text(5_300_000_000, "Первый", "Проверка связи");
    let started = eventually(Duration::from_secs(10), || async {
        (file_lines(&delivered).len() == 1).then_some(())
    })
    .await;
    assert!(started.is_some(), "polling works before the outage");

    let hang = Duration::from_secs(40);
    sim.fail_get_updates(&[
        Outage::TooMany(2),
        Outage::ServerError,
        Outage::HtmlBadGateway,
        Outage::Dropped,
        Outage::Hang(hang),
        Outage::Conflict,
        Outage::ServerError,
        Outage::HtmlBadGateway,
        Outage::Dropped,
    ]);
    for i in 1..=30 {
        sim.push_text(
            5_300_000_000 + i,
            &format!("Человек {i}"),
            "Нужна консультация по котлу",
        );
    }
    eventually(Duration::from_secs(60), || async {
        let lines = file_lines(&delivered);
        (lines.len() >= 31).then_some(())
    })
    .await
    .expect("all 30 messages became leads");
    let arrived = tokio::time::Instant::now();
    let ended = sim.outage_ended().expect("the outage ran its course");
    let after = arrived.duration_since(ended);
    println!("the 30 leads were at the sink {after:?} after the outage's last failure");
    assert!(
        after < Duration::from_secs(6),
        "messages written during the outage arrive within seconds of its end, not {after:?}"
    );

    daemon.settled().await;
    let created: Vec<i64> = file_lines(&delivered)
        .iter()
        .filter(|e| e["type"] == "lead.created")
        .filter_map(|e| e["data"]["contact"]["telegram"]["id"].as_i64())
        .collect();
    assert_eq!(
        created.len(),
        31,
        "one lead per person, none twice: {created:?}"
    );
    let people: HashSet<i64> = created.into_iter().collect();
    assert!(
        (0..=30).all(|i| people.contains(&(5_300_000_000 + i))),
        "everyone who wrote: {people:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_that_never_ends_is_cut_off_and_polling_goes_on() {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.telegram]]\nid = \"tg-bot\"\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n\
         poll_timeout = \"1s\"\n\n[[sinks.file]]\nid = \"crm\"\npath = \"{{dir}}/delivered.jsonl\"\n",
        sim.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    sim.fail_get_updates(&[Outage::Endless]);
    let failing = eventually(Duration::from_secs(30), || async {
        let source = daemon.component("source:tg-bot").await;
        let error = source["last_error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        error.contains("over 16777216 bytes").then_some(error)
    })
    .await;
    assert!(
        failing.is_some(),
        "{}",
        daemon.component("source:tg-bot").await
    );
    sim.push_text(5_300_000_077, "Вера", "Сколько стоит котёл?");
    let delivered = dir.path().join("delivered.jsonl");
    let arrived = eventually(Duration::from_secs(30), || async {
        (file_lines(&delivered).len() == 1).then_some(())
    })
    .await;
    assert!(
        arrived.is_some(),
        "polling goes on after the endless answer"
    );
    daemon.stop().await;
}
