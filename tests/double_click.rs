//! A double click is one lead (issue 18): a form posted again with the same contact within the
//! source's `conversation_window` (a second click, a reload) joins the first lead as an
//! update; later, or from someone else, it is a lead of its own; `"off"` makes every post one.
//! However long a conversation runs, its record stays within the record's bounds.

mod support;

use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, manual_clock};
use support::sink::Sink;

fn config(sink: &Sink, window: Option<&str>) -> String {
    let window = window
        .map(|w| format!("conversation_window = \"{w}\"\n"))
        .unwrap_or_default();
    format!(
        "[[sources.webform]]\nid = \"site\"\n{window}\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        sink.url()
    )
}

/// The events the sink got, as (type, lead id), once there are `n`.
async fn events(sink: &Sink, n: usize) -> Vec<(String, String)> {
    let got = eventually(Duration::from_secs(10), || async {
        let all: Vec<_> = sink.received().iter().map(|r| r.json()).collect();
        (all.len() >= n).then_some(all)
    })
    .await
    .unwrap_or_else(|| panic!("expected {n} events, got {}", sink.received().len()));
    got.iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or("").to_string(),
                e["data"]["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_click_within_two_minutes_joins_the_first_lead() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &config(&sink, None),
        &always_open_routing(),
        clock.clone(),
    )
    .await;
    let form = [("phone", "+79161234500"), ("message", "Нужен котёл")];
    let first = daemon.submit_form(&form).await;
    let got = events(&sink, 1).await;
    assert_eq!(got[0].0, "lead.created");
    let lead = got[0].1.clone();
    clock.advance(chrono::Duration::seconds(90));
    daemon
        .submit_form(&[("phone", "8 916 123-45-00"), ("message", "Нужен котёл")])
        .await;
    let got = events(&sink, 2).await;
    assert_eq!(
        got[1],
        ("lead.updated".to_string(), lead.clone()),
        "the reload joins the lead"
    );
    let reload = sink.received()[1].json();
    assert_eq!(
        reload["data"]["text"], "Нужен котёл",
        "the same words are not written twice"
    );
    assert_eq!(reload["update"]["text"], "", "nothing new said: {reload}");
    let someone_else = daemon.submit_form(&[("phone", "+79161234511")]).await;
    let got = events(&sink, 3).await;
    assert_eq!(got[2].0, "lead.created", "another person is another lead");
    assert_ne!(got[2].1, lead);

    clock.advance(chrono::Duration::minutes(3));
    daemon
        .submit_form(&[("phone", "+79161234500"), ("message", "А ещё бойлер")])
        .await;
    let got = events(&sink, 4).await;
    assert_eq!(
        got[3].0, "lead.created",
        "past the window a post is a lead again"
    );
    assert_ne!(got[3].1, lead);
    let leads = daemon.admin_get("/admin/api/leads").await;
    let n = leads["items"].as_array().map(Vec::len);
    assert_eq!(n, Some(3), "{leads}");
    let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
    assert_eq!(
        journey["inbound"].as_array().map(Vec::len),
        Some(2),
        "both clicks are kept as items of the one lead"
    );
    assert!(!first.is_empty() && !someone_else.is_empty());
    daemon.stop().await;
}

/// A form sent again with a value corrected (20 boxes, not 10) keeps the latest: the record
/// and `update.fields` carry it to the CRM; a value given the same again is not news.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_corrected_in_a_second_click_reaches_the_crm() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon =
        TestDaemon::start_in(dir.path(), &config(&sink, None), &always_open_routing()).await;
    let form = |quantity| {
        [
            ("phone", "+79161234522"),
            ("message", "Нужна бумага А4"),
            ("city", "Тверь"),
            ("quantity", quantity),
        ]
    };
    daemon.submit_form(&form("10")).await;
    events(&sink, 1).await;
    daemon.submit_form(&form("20")).await;
    events(&sink, 2).await;
    let corrected = sink.received()[1].json();
    assert_eq!(corrected["type"], "lead.updated");
    assert_eq!(corrected["data"]["fields"]["quantity"], "20", "{corrected}");
    assert_eq!(
        corrected["update"]["fields"],
        serde_json::json!({"quantity": "20"}),
        "the corrected value only: {corrected}"
    );
    daemon.stop().await;
}

/// A daemon on the test's clock whose processing lets items gather for 600 ms after each
/// wake-up (so forms posted together, the clock moved between them, are processed together
/// later), idle and waiting for the first form.
async fn gathering() -> (
    Sink,
    tempfile::TempDir,
    std::sync::Arc<leadgate::clock::ManualClock>,
    TestDaemon,
) {
    const GATHER: Duration = Duration::from_millis(600);
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at_gathering(
        dir.path(),
        &config(&sink, None),
        &always_open_routing(),
        clock.clone(),
        GATHER,
    )
    .await;
    daemon.settled().await;
    tokio::time::sleep(GATHER * 2 + Duration::from_millis(200)).await;
    (sink, dir, clock, daemon)
}

/// Processing behind by more than the window (a backlog, a slow store): a double click is
/// still one lead, as the window is counted from when each click arrived, not from when it is
/// processed. Here processing gathers its batch for a while, and the clock moves three
/// minutes (the form window is two) between the clicks' arrival and their processing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_click_processed_late_is_still_one_lead() {
    let (sink, _dir, clock, daemon) = gathering().await;
    let form = [("phone", "+79161234533"), ("message", "Нужен котёл")];
    daemon.submit_form(&form).await;
    daemon.submit_form(&form).await;
    clock.advance(chrono::Duration::minutes(3));
    let got = events(&sink, 2).await;
    assert_eq!(got[0].0, "lead.created");
    assert_eq!(
        got[1],
        ("lead.updated".to_string(), got[0].1.clone()),
        "the second click joins the first, late as both are processed"
    );
    daemon.stop().await;
}

/// Behind the same backlog, a form posted more than the window after the last one the lead
/// took is a lead of its own: the follow-up's activity is when it arrived, not when it was
/// processed (ten minutes later here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_past_the_window_of_the_last_one_is_a_lead_however_late_processed() {
    let (sink, _dir, clock, daemon) = gathering().await;
    let form = |words| [("phone", "+79161234544"), ("message", words)];
    daemon.submit_form(&form("Нужен котёл")).await;
    clock.advance(chrono::Duration::minutes(1));
    daemon.submit_form(&form("И бойлер")).await;
    clock.advance(chrono::Duration::seconds(150));
    daemon.submit_form(&form("А ещё радиаторы")).await;
    clock.advance(chrono::Duration::minutes(10));
    events(&sink, 3).await;
    // Leads' events reach the sink in each lead's order, not across leads.
    let all: Vec<_> = sink.received().iter().map(|r| r.json()).collect();
    let created = |text: &str| {
        (all.iter())
            .find(|e| e["type"] == "lead.created" && e["data"]["text"] == text)
            .map(|e| e["data"]["id"].clone())
    };
    let first = created("Нужен котёл").expect("the first form's lead");
    let updated: Vec<_> = (all.iter())
        .filter(|e| e["type"] == "lead.updated")
        .collect();
    assert_eq!(updated.len(), 1, "{all:?}");
    assert_eq!(updated[0]["data"]["id"], first, "a minute after: it joins");
    assert!(
        created("А ещё радиаторы").is_some_and(|id| id != first),
        "2.5 minutes after the last: a lead of its own: {all:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_window_off_every_post_is_a_lead() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config(&sink, Some("off")),
        &always_open_routing(),
    )
    .await;
    daemon.submit_form(&[("phone", "+79161234522")]).await;
    daemon.submit_form(&[("phone", "+79161234522")]).await;
    let got = events(&sink, 2).await;
    assert_eq!(got[0].0, "lead.created");
    assert_eq!(got[1].0, "lead.created");
    assert_ne!(got[0].1, got[1].1);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_conversation_keeps_the_record_within_its_bounds() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // One visitor posting twelve times: past the default rate limit per address.
    let config = config(&sink, None).replace(
        "id = \"site\"\n",
        "id = \"site\"\nrate_per_minute = 1000\nrate_burst = 100\n",
    );
    assert!(config.contains("rate_burst"), "{config}");
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), manual_clock()).await;
    // Twelve posts of the same phone in the window, each with 2,000 characters and an e-mail
    // of its own: 24,000 characters and 12 addresses, past the record's 20,000 and 10
    // (docs/security.md, "What a lead can weigh").
    for n in 0..12 {
        let email = format!("zakaz{n:02}@teplo.ru");
        let message = format!("Сообщение {n:02}: {}", "ж".repeat(1_986));
        let form = [
            ("phone", "+79161234577"),
            ("email", email.as_str()),
            ("message", message.as_str()),
        ];
        daemon.submit_form(&form).await;
    }
    events(&sink, 12).await;
    let all: Vec<serde_json::Value> = sink.received().iter().map(|r| r.json()).collect();
    let kinds: Vec<&str> = all
        .iter()
        .map(|e| e["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds[0], "lead.created");
    assert!(kinds[1..].iter().all(|k| *k == "lead.updated"), "{kinds:?}");
    let last = &all[11];
    let text = last["data"]["text"].as_str().unwrap_or_default();
    let kept = text.split(" […").next().unwrap_or_default();
    assert_eq!(kept.chars().count(), 20_000, "the text stops at the bound");
    assert!(text.ends_with("more characters cut]"), "with the marker");
    assert!(
        text.starts_with("Сообщение 00"),
        "the conversation's start is kept"
    );
    let emails = last["data"]["contact"]["emails"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(emails.len(), 10, "ten addresses kept: {emails:?}");
    assert_eq!(emails[0], "zakaz00@teplo.ru");
    // What an update adds is in `data` too: the tenth address is, the eleventh is not.
    assert_eq!(
        all[9]["update"]["emails"],
        serde_json::json!(["zakaz09@teplo.ru"])
    );
    for past in &all[10..] {
        assert_eq!(
            past["update"]["emails"],
            serde_json::json!([]),
            "{}",
            past["update"]
        );
    }
    // The newest words still reach the CRM, in what the update added.
    let added = last["update"]["text"].as_str().unwrap_or_default();
    assert!(added.starts_with("Сообщение 11"), "{added}");
    daemon.stop().await;
}
