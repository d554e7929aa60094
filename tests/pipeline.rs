//! The pipeline end to end: a form posted to the daemon reaches a real HTTP sink, signed, at
//! least once, through failures of the sink; bad input is refused with nothing stored.

mod support;

use std::time::Duration;
use support::daemon::{
    ADMIN_TOKEN, TestDaemon, always_open_routing, authed_get, eventually, metric_value,
};
use support::sink::{Received, Sink};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(sink: &Sink, extra: &str) -> String {
    format!(
        r#"
[[sources.webform]]
id = "site"
honeypot = "website"
rate_per_minute = 600
rate_burst = 100

[[sinks.webhook]]
id = "crm"
url = "{}"
secret = "{SECRET}"
timeout = "2s"
{extra}
"#,
        sink.url()
    )
}

async fn post_form(daemon: &TestDaemon, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("post")
}

async fn wait_for(sink: &Sink, n: usize) -> Vec<Received> {
    eventually(Duration::from_secs(15), || async {
        let got = sink.received();
        (got.len() >= n).then_some(got)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the sink did not get {n} requests: {:?}",
            sink.received().len()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_russian_phone_arrives_in_e164_with_a_valid_signature() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink, ""), &always_open_routing()).await;
    let response = post_form(
        &daemon,
        &[
            ("name", "Максим Третьяков"),
            ("phone", "8 (916) 123-45-67"),
            ("message", "Нужен котёл"),
        ],
    )
    .await;
    assert_eq!(response.status(), 202);
    let accepted: serde_json::Value = response.json().await.expect("json");
    let got = wait_for(&sink, 1).await;
    let event = got[0].json();
    assert_eq!(event["type"], "lead.created");
    assert_eq!(
        event["data"]["id"], accepted["id"],
        "the 202 id is the lead id"
    );
    assert_eq!(
        event["data"]["contact"]["phones"],
        serde_json::json!(["+79161234567"])
    );
    assert!(got[0].header("webhook-id").starts_with("msg_"));
    let verifier = standardwebhooks::Webhook::new(SECRET).expect("secret");
    verifier
        .verify(&got[0].body, &got[0].headers)
        .expect("the signature verifies with the reference library");
    let mut tampered = got[0].body.to_vec();
    tampered[10] ^= 1;
    assert!(
        verifier.verify(&tampered, &got[0].headers).is_err(),
        "a changed body fails the signature"
    );
    daemon.stop().await;
}

/// Processing, woken by a form's commit, waits a moment before it takes its batch: a form
/// committed in that moment is taken by the same batch (one transaction for both), not by a
/// second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_committed_while_processing_gathers_share_one_batch() {
    const GATHER: Duration = Duration::from_millis(400);
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_at_gathering(
        dir.path(),
        &config(&sink, ""),
        &always_open_routing(),
        support::daemon::manual_clock(),
        GATHER,
    )
    .await;
    // The stage's first pass, and the one a look of `settled` left owed, are made before the
    // first form: from here it is idle until a commit wakes it.
    daemon.settled().await;
    tokio::time::sleep(GATHER * 2 + Duration::from_millis(200)).await;
    let first = post_form(&daemon, &[("phone", "+7 903 765-43-21")]).await;
    assert_eq!(first.status(), 202);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        sink.received().is_empty(),
        "the first form waits for the batch"
    );
    let second = post_form(&daemon, &[("phone", "+7 916 123-45-67")]).await;
    assert_eq!(second.status(), 202);
    wait_for(&sink, 2).await;
    let metrics = daemon.metrics().await;
    assert_eq!(
        metric_value(&metrics, "leadgate_processing_batch_size_count"),
        Some(1.0),
        "one batch: {metrics}"
    );
    assert_eq!(
        metric_value(&metrics, "leadgate_processing_batch_size_sum"),
        Some(2.0),
        "of both forms: {metrics}"
    );
    daemon.stop().await;
}

/// A processing pass that takes nothing (an idle wake) writes nothing: the rotation's state
/// stays as the last decision left it, and no commit syncs the file for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_processing_pass_writes_nothing() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink, ""), &always_open_routing()).await;
    let posted = post_form(&daemon, &[("phone", "+7 903 765-43-21")]).await;
    assert_eq!(posted.status(), 202);
    wait_for(&sink, 1).await;
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.path().join("leadgate.db").display()
    ))
    .await
    .expect("open the store");
    let rotation_written = || async {
        sqlx::query_scalar::<_, String>(
            "SELECT updated_at FROM cursors WHERE key = 'routing.strategy_state'",
        )
        .fetch_one(&db)
        .await
        .expect("the rotation's state, written by the decision")
    };
    let last_pass = || async {
        let ready: serde_json::Value = authed_get(daemon.url("/readyz"))
            .await
            .expect("readyz")
            .json()
            .await
            .expect("json");
        ready["components"]["stage:process"]["last_success"].to_string()
    };
    let (written, pass) = (rotation_written().await, last_pass().await);
    // The stage wakes every 50 ms with nothing to take.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_ne!(last_pass().await, pass, "the stage made idle passes");
    assert_eq!(
        rotation_written().await,
        written,
        "an idle pass leaves the rotation's state as it was"
    );
    db.close().await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sink_gets_the_same_webhook_id_until_it_succeeds() {
    let sink = Sink::start(&[500, 503]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = support::daemon::manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &config(&sink, ""),
        &always_open_routing(),
        clock.clone(),
    )
    .await;
    assert_eq!(
        post_form(&daemon, &[("phone", "+7 903 765-43-21")])
            .await
            .status(),
        202
    );
    wait_for(&sink, 1).await;
    // Nothing is sent again before the ladder's first step (5 s ± 20 %) has passed.
    daemon.settled().await;
    assert_eq!(sink.received().len(), 1);
    clock.advance(chrono::Duration::seconds(7));
    wait_for(&sink, 2).await;
    clock.advance(chrono::Duration::minutes(7));
    let got = wait_for(&sink, 3).await;
    assert_eq!(
        got.iter().map(|r| r.answered).collect::<Vec<_>>(),
        [500, 503, 200]
    );
    let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one webhook-id for every attempt: {ids:?}"
    );
    assert_eq!(
        got[0].body, got[2].body,
        "every attempt sends the same bytes"
    );
    let lead_id = got[0].json()["data"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let journey = eventually(Duration::from_secs(5), || async {
        let j = daemon
            .admin_get(&format!("/admin/api/leads/{lead_id}"))
            .await;
        (j["deliveries"][0]["history"].as_array().map(Vec::len) == Some(3)).then_some(j)
    })
    .await
    .expect("the journey shows three attempts");
    let history = &journey["deliveries"][0]["history"];
    assert_eq!(history.as_array().map(Vec::len), Some(3), "{journey}");
    assert_eq!(history[0]["status_code"], 500);
    assert_eq!(history[2]["outcome"], "delivered");
    // The trace is spelt out for the admin (every rule by name, its tests as written) although
    // the lead's row keeps it by index into the rules version's texts, stored once.
    let trace = &journey["trace"];
    assert!(trace.get("format").is_none(), "{trace}");
    let rules = trace["rules"].as_array().expect("rules in the trace");
    assert!(
        rules
            .iter()
            .all(|r| r["name"].is_string() && r["tests"].is_array()),
        "{trace}"
    );
    assert_eq!(trace["rule"], journey["lead"]["classification"]["rule"]);
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}?mode=ro",
        dir.path().join("leadgate.db").display()
    ))
    .await
    .expect("open the store");
    // Kept packed (a deflated BLOB, `store/packed.rs`) and by index: a small part of the
    // spelt-out text, with the texts stored once for the rules version.
    let (kind, size): (String, i64) =
        sqlx::query_as("SELECT typeof(trace), length(trace) FROM leads")
            .fetch_one(&db)
            .await
            .expect("a lead");
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM rules_texts")
        .fetch_one(&db)
        .await
        .expect("rules texts");
    db.close().await;
    assert_eq!(kind, "blob");
    let spelt_out = trace.to_string().len();
    assert!(size * 4 < spelt_out as i64, "{size} bytes of {spelt_out}");
    assert_eq!(versions, 1, "one rules version's texts");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_dead_letters_at_once_and_replay_sends_it_again() {
    let sink = Sink::start(&[422]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink, ""), &always_open_routing()).await;
    assert_eq!(
        post_form(&daemon, &[("email", "buyer@example.ru")])
            .await
            .status(),
        202
    );
    wait_for(&sink, 1).await;
    let dead = eventually(Duration::from_secs(5), || async {
        let d = daemon.admin_get("/admin/api/dead-letters").await;
        d["items"].as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await
    .expect("the delivery is dead-lettered");
    assert_eq!(dead[0]["attempts"], 1, "no retry for a 422");
    daemon.settled().await;
    assert_eq!(sink.received().len(), 1, "nothing is retried after a 4xx");

    let replay = std::process::Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["replay", "--config"])
        .arg(dir.path().join("leadgate.toml"))
        .output()
        .expect("run leadgate replay");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert!(
        String::from_utf8_lossy(&replay.stdout).contains("re-queued 1"),
        "{}",
        String::from_utf8_lossy(&replay.stdout)
    );
    let got = wait_for(&sink, 2).await;
    assert_eq!(got[1].answered, 200);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let dead = daemon.admin_get("/admin/api/dead-letters").await;
    assert_eq!(dead["items"].as_array().map(Vec::len), Some(0));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_its_error_code_and_nothing_is_stored() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config(&sink, "").replace(
            "rate_per_minute = 600\nrate_burst = 100",
            "rate_per_minute = 1\nrate_burst = 8",
        ),
        &always_open_routing(),
    )
    .await;
    let client = reqwest::Client::new();
    let url = daemon.url("/forms/site");
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            client
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"phone\": \"+7"),
            400,
            "malformed",
        ),
        (
            client
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("phone=1&message={}", "x".repeat(70_000))),
            413,
            "too_large",
        ),
        (
            client
                .post(&url)
                .header("content-type", "text/plain")
                .body("phone 8 916 123 45 67"),
            415,
            "unsupported_type",
        ),
        (
            client
                .post(&url)
                .form(&[("phone", "12"), ("email", "not-an-address")]),
            422,
            "no_contact",
        ),
        (
            client
                .post(daemon.url("/forms/nope"))
                .form(&[("phone", "+79161234567")]),
            404,
            "not_found",
        ),
    ];
    for (request, status, code) in cases {
        let response = request
            .header("accept", "application/json")
            .send()
            .await
            .expect("send");
        assert_eq!(
            response.headers()["x-leadgate-error"],
            code,
            "the code is named in a header too"
        );
        assert_eq!(response.status(), status, "{code}");
        let body: serde_json::Value = response.json().await.expect("JSON error");
        assert_eq!(body["error"]["code"], code);
        assert!(body["error"]["message"].is_string());
    }
    // The burst of 8 is used up by the 4 requests above and these 4: the next is refused.
    for _ in 0..4 {
        let _ = client.post(&url).form(&[("phone", "1")]).send().await;
    }
    let limited = client
        .post(&url)
        .header("accept", "application/json")
        .form(&[("phone", "+79161234567")])
        .send()
        .await
        .expect("send");
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
    let body: serde_json::Value = limited.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
    // A browser's plain form gets the page, with the same status and Retry-After.
    let page = client
        .post(&url)
        .form(&[("phone", "+79161234567")])
        .send()
        .await
        .expect("send");
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));
    assert_eq!(page.headers()["x-leadgate-error"], "rate_limited");
    let html = page.text().await.expect("page");
    assert!(html.contains("Подождите минуту"), "{html}");

    let inbound = daemon.admin_get("/admin/api/inbound").await;
    assert_eq!(
        inbound["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was stored: {inbound}"
    );
    daemon.settled().await;
    assert!(sink.received().is_empty(), "nothing was delivered");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_needs_its_token() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink, ""), &always_open_routing()).await;
    let client = reqwest::Client::new();
    let none = client
        .get(daemon.url("/admin/api/leads"))
        .send()
        .await
        .expect("send");
    assert_eq!(none.status(), 401);
    let wrong = client
        .get(daemon.url("/admin/api/leads"))
        .bearer_auth("wrong")
        .send()
        .await
        .expect("send");
    assert_eq!(wrong.status(), 401);
    let right = client
        .get(daemon.url("/admin/api/leads"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(right.status(), 200);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_sink_does_not_hold_up_another() {
    let slow = Sink::start(&[]).await;
    slow.set_delay(Duration::from_secs(30));
    let fast = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = format!(
        "[[sinks.webhook]]\nid = \"fast\"\nurl = \"{}\"\n",
        fast.url()
    );
    let daemon =
        TestDaemon::start_in(dir.path(), &config(&slow, &extra), &always_open_routing()).await;
    for i in 0..3 {
        let phone = format!("+7916000000{i}");
        assert_eq!(
            post_form(&daemon, &[("phone", phone.as_str())])
                .await
                .status(),
            202
        );
    }
    let got = wait_for(&fast, 3).await;
    assert_eq!(
        got.len(),
        3,
        "the fast sink got every lead while the other hangs"
    );
    assert!(
        slow.received().is_empty(),
        "the slow sink has not answered anything yet"
    );
    daemon.stop().await;
}
