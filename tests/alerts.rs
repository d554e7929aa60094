//! Admin alerts for the channels and sinks that stop working: a source failing longer than
//! `source_failing_after`, a source silent longer than its `silent_after`, a sink failing
//! longer than `sink_failing_after` (long before its rows dead-letter). Each is announced to
//! the admins' Telegram chat once when it opens and once when it is over, and not before its
//! time: the monitor's own `stage:alerts` in `/readyz` says when it last looked. Time is a
//! manual clock the test moves.

mod support;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use leadgate::clock::{Clock, ManualClock};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use support::bot_api::{BotApiSim, MANAGERS_TOKEN, Sent};
use support::daemon::{TestDaemon, always_open_routing, eventually, manual_clock};
use support::sink::Sink;

const ADMIN_CHAT: i64 = 900;

/// The daemon with the managers' bot, admin alerts every 50 ms, and `extra` config.
async fn start(
    dir: &std::path::Path,
    bot: &BotApiSim,
    clock: Arc<ManualClock>,
    alerts: &str,
    extra: &str,
) -> TestDaemon {
    let config = format!(
        r#"
[[sources.webform]]
id = "site"

[notify.telegram]
token = "{MANAGERS_TOKEN}"
api_url = "{}"
poll_timeout = "1s"

[notify.alerts]
telegram_chat_ids = [{ADMIN_CHAT}]
check_every = "50ms"
{alerts}
{extra}
"#,
        bot.url()
    );
    TestDaemon::start_at(dir, &config, &always_open_routing(), clock).await
}

/// The admins' messages so far.
fn to_admins(bot: &BotApiSim) -> Vec<Sent> {
    bot.sent_to(ADMIN_CHAT)
}

/// The `n`th message to the admins, waiting for it.
async fn nth_alert(bot: &BotApiSim, n: usize) -> Sent {
    eventually(Duration::from_secs(15), || async {
        to_admins(bot).get(n).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no alert {n}: {:?}", to_admins(bot)))
}

/// Waits until the alert monitor has looked at the clock as it is now.
async fn monitor_looked(daemon: &TestDaemon, clock: &ManualClock) {
    daemon.ran_since("stage:alerts", clock.now()).await;
}

/// A comments feed (JSON Feed) that answers 500 until it is switched up.
#[derive(Clone)]
struct FlakyFeed {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
}

async fn feed(State(up): State<Arc<AtomicBool>>) -> Response {
    if up.load(Ordering::SeqCst) {
        axum::Json(serde_json::json!({
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Комментарии",
            "items": []
        }))
        .into_response()
    } else {
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

impl FlakyFeed {
    async fn start() -> FlakyFeed {
        let up = Arc::new(AtomicBool::new(false));
        let app = axum::Router::new().fallback(feed).with_state(up.clone());
        let addr = support::serve(app).await;
        FlakyFeed { addr, up }
    }
}

/// The admins are told the feed `source:blog` is failing; the feed is switched up, and they
/// are told it is over.
async fn the_feed_fails_then_works(bot: &BotApiSim, site: &FlakyFeed) {
    let alert = nth_alert(bot, 0).await;
    assert!(
        alert.text.contains("source:blog is failing"),
        "{}",
        alert.text
    );
    site.up.store(true, Ordering::SeqCst);
    let over = nth_alert(bot, 1).await;
    assert!(
        over.text.contains("Решено") && over.text.contains("source:blog"),
        "{}",
        over.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_source_is_announced_after_its_time_and_again_when_it_works() {
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let site = FlakyFeed::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(
        dir.path(),
        &bot,
        clock.clone(),
        "source_failing_after = \"10m\"",
        &format!(
            "[[sources.feed]]\nid = \"blog\"\nurl = \"http://{}/comments.json\"\npoll_interval = \"100ms\"\ntimeout = \"2s\"\n",
            site.addr
        ),
    )
    .await;
    let failing = eventually(Duration::from_secs(10), || async {
        let c = daemon.component("source:blog").await;
        (c["state"] == "failing").then_some(c)
    })
    .await
    .expect("the feed's 500 shows in /readyz");
    assert!(failing["last_error"].is_string(), "{failing}");
    clock.advance(chrono::Duration::minutes(9));
    monitor_looked(&daemon, &clock).await;
    assert!(to_admins(&bot).is_empty(), "not before 10 minutes");

    clock.advance(chrono::Duration::minutes(2));
    the_feed_fails_then_works(&bot, &site).await;
    monitor_looked(&daemon, &clock).await;
    assert_eq!(to_admins(&bot).len(), 2, "once each way");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_source_is_announced_and_over_when_it_speaks_again() {
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(
        dir.path(),
        &bot,
        clock.clone(),
        "silent_after = { site = \"1h\" }",
        "",
    )
    .await;
    // The silence is counted from the daemon's start: let it start before the clock moves.
    monitor_looked(&daemon, &clock).await;
    clock.advance(chrono::Duration::minutes(59));
    monitor_looked(&daemon, &clock).await;
    assert!(to_admins(&bot).is_empty(), "an hour of silence is allowed");

    clock.advance(chrono::Duration::minutes(2));
    let alert = nth_alert(&bot, 0).await;
    assert!(
        alert.text.contains("source site has sent nothing since"),
        "{}",
        alert.text
    );
    daemon.submit_form(&[("phone", "+79161110051")]).await;
    let over = nth_alert(&bot, 1).await;
    assert!(
        over.text.contains("Решено") && over.text.contains("source site"),
        "{}",
        over.text
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_is_announced_after_fifteen_minutes_not_three_days() {
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let sink = Sink::start(&[500, 500, 500]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = start(
        dir.path(),
        &bot,
        clock.clone(),
        "",
        &format!(
            "[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
            sink.url()
        ),
    )
    .await;
    daemon.submit_form(&[("phone", "+79161110052")]).await;
    sink.events(1).await;
    // The ladder retries after 5 s, then 5 min: a retry at 6 min fails again.
    clock.advance(chrono::Duration::seconds(10));
    sink.events(2).await;
    clock.advance(chrono::Duration::minutes(6));
    sink.events(3).await;
    monitor_looked(&daemon, &clock).await;
    assert!(
        to_admins(&bot).is_empty(),
        "six minutes of failures are not an incident yet"
    );

    clock.advance(chrono::Duration::minutes(10));
    let alert = nth_alert(&bot, 0).await;
    assert!(
        alert.text.contains("sink:crm has been failing since") && alert.text.contains("HTTP 500"),
        "{}",
        alert.text
    );
    // The next retry (the ladder's 30 min) gets through.
    clock.advance(chrono::Duration::minutes(40));
    sink.events(4).await;
    let over = nth_alert(&bot, 1).await;
    assert!(
        over.text.contains("Решено") && over.text.contains("sink:crm"),
        "{}",
        over.text
    );
    daemon.stop().await;
}

/// Two replicas on one PostgreSQL database: the first holds the alerts' lease and has no
/// feed; the second, started next, runs the feed (its lease is free). The feed fails there,
/// and the first replica's monitor announces it, then its recovery: each replica publishes
/// the sources it runs, since a replica's health is its own process's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_failing_on_another_replica_is_announced_by_the_one_holding_the_alerts() {
    let db = support::postgres::Database::fresh().await;
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let site = FlakyFeed::start().await;
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let clock = manual_clock();
    let storage = format!("[storage]\nurl = \"{}\"\n", db.url);
    let alerts = "source_failing_after = \"10m\"";
    let watching = start(dir_a.path(), &bot, clock.clone(), alerts, &storage).await;
    monitor_looked(&watching, &clock).await;
    let feed = format!(
        "{storage}[[sources.feed]]\nid = \"blog\"\nurl = \"http://{}/comments.json\"\npoll_interval = \"100ms\"\ntimeout = \"2s\"\n",
        site.addr
    );
    let polling = start(dir_b.path(), &bot, clock.clone(), alerts, &feed).await;
    eventually(Duration::from_secs(10), || async {
        (polling.component("source:blog").await["state"] == "failing").then_some(())
    })
    .await
    .expect("the feed's 500 shows on the replica that polls it");
    assert_eq!(
        watching.component("source:blog").await,
        serde_json::Value::Null,
        "the watching replica does not run the feed"
    );
    clock.advance(chrono::Duration::minutes(11));
    the_feed_fails_then_works(&bot, &site).await;
    polling.stop().await;
    watching.stop().await;
    db.drop_it().await;
}
