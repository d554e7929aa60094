//! VK and WhatsApp webhooks against the running daemon: the corpus samples posted as the
//! providers post them, the handshakes, and refusals (wrong secret or signature, malformed
//! body) that store nothing.

mod support;

use leadgate::sources::whatsapp::signature_header;
use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines};
use support::expected::{check_lead, check_not_lead, expectations, sample};

const APP_SECRET: &str = "wa-app-secret-for-tests";

const CONFIG: &str = r#"
[[sources.vk]]
id = "vk-community"
group_id = 218765432
secret = "Tq7vX2mLp9"
confirmation = "3b9f1c7a"

[[sources.whatsapp]]
id = "wa-main"
verify_token = "verify-me"
app_secret = "wa-app-secret-for-tests"

[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"
"#;

async fn inbound_count(daemon: &TestDaemon) -> usize {
    daemon.admin_get("/admin/api/inbound?limit=500").await["items"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn post_vk(daemon: &TestDaemon, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(daemon.url("/hooks/vk/vk-community"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("post")
}

async fn post_wa(
    daemon: &TestDaemon,
    body: Vec<u8>,
    signature: Option<String>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(daemon.url("/hooks/whatsapp/wa-main"))
        .header("content-type", "application/json")
        .body(body);
    if let Some(sig) = signature {
        request = request.header("x-hub-signature-256", sig);
    }
    request.send().await.expect("post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vk_and_whatsapp_samples_give_their_expected_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let mut problems = Vec::new();
    let mut leads = Vec::new();
    for exp in expectations("vk")
        .into_iter()
        .chain(expectations("whatsapp"))
    {
        let body = sample(&exp.file);
        let response = if exp.channel == "vk" {
            post_vk(&daemon, body.clone()).await
        } else {
            post_wa(
                &daemon,
                body.clone(),
                Some(signature_header(APP_SECRET.as_bytes(), &body)),
            )
            .await
        };
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if exp.file == "vk/confirmation.json" {
            if text != "3b9f1c7a" {
                problems.push(format!("{}: the handshake answered {text:?}", exp.file));
            }
            continue;
        }
        if status != 200 || (exp.channel == "vk" && text != "ok") {
            problems.push(format!("{}: answered {status} {text:?}", exp.file));
        }
        if exp.is_lead {
            leads.push(exp);
        } else {
            let reason = exp.reason_if_not.clone().unwrap_or_default();
            let kept = eventually(Duration::from_secs(5), || async {
                let items = daemon
                    .admin_get(&format!("/admin/api/inbound?reason={reason}"))
                    .await;
                items["items"].as_array().filter(|a| !a.is_empty()).cloned()
            })
            .await;
            match kept {
                Some(items) => problems.extend(check_not_lead(
                    &exp,
                    items[0]["reason"].as_str().unwrap_or(""),
                    None,
                )),
                None => problems.push(format!("{}: not kept with reason {reason}", exp.file)),
            }
        }
    }
    // A provider retrying the same event stores nothing new.
    let before = inbound_count(&daemon).await;
    assert_eq!(
        post_vk(&daemon, sample("vk/message-new.json"))
            .await
            .status(),
        200
    );
    assert_eq!(
        inbound_count(&daemon).await,
        before,
        "a redelivered VK event is a no-op"
    );

    let sink = dir.path().join("delivered.jsonl");
    let delivered = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&sink);
        (lines.len() >= leads.len()).then_some(lines)
    })
    .await
    .unwrap_or_else(|| file_lines(&sink));
    assert_eq!(
        delivered.len(),
        leads.len(),
        "one lead per lead sample, nothing else"
    );
    for exp in &leads {
        match delivered
            .iter()
            .map(|l| &l["data"])
            .find(|l| l["external_id"].as_str() == exp.external_id.as_deref())
        {
            Some(lead) => problems.extend(check_lead(exp, lead)),
            None => problems.push(format!("{}: not delivered", exp.file)),
        }
    }
    daemon.stop().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_and_malformed_bodies_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let vk_body = sample("vk/message-new.json");
    let wrong_secret = String::from_utf8(vk_body.clone())
        .expect("utf8")
        .replace("Tq7vX2mLp9", "guessed");
    assert_eq!(
        post_vk(&daemon, wrong_secret.into_bytes()).await.status(),
        403
    );
    let other_group = String::from_utf8(vk_body.clone())
        .expect("utf8")
        .replace("218765432", "111");
    assert_eq!(
        post_vk(&daemon, other_group.into_bytes()).await.status(),
        403
    );
    assert_eq!(
        post_vk(&daemon, b"{\"type\": \"message_new\", ".to_vec())
            .await
            .status(),
        400
    );

    let wa_body = sample("whatsapp/text-message.json");
    assert_eq!(post_wa(&daemon, wa_body.clone(), None).await.status(), 401);
    assert_eq!(
        post_wa(
            &daemon,
            wa_body.clone(),
            Some(signature_header(b"another secret", &wa_body))
        )
        .await
        .status(),
        401
    );
    let mut tampered = wa_body.clone();
    let signature = signature_header(APP_SECRET.as_bytes(), &wa_body);
    tampered[20] ^= 1;
    assert_eq!(
        post_wa(&daemon, tampered, Some(signature)).await.status(),
        401
    );
    let garbage = b"{\"object\": ".to_vec();
    let sig = signature_header(APP_SECRET.as_bytes(), &garbage);
    assert_eq!(post_wa(&daemon, garbage, Some(sig)).await.status(), 400);

    assert_eq!(
        inbound_count(&daemon).await,
        0,
        "nothing refused was stored"
    );
    // The source still works after the refusals.
    let good = sample("whatsapp/text-message.json");
    let sig = signature_header(APP_SECRET.as_bytes(), &good);
    assert_eq!(post_wa(&daemon, good, Some(sig)).await.status(), 200);
    assert_eq!(inbound_count(&daemon).await, 1);
    // Each refusal is counted by channel and code.
    let metrics = daemon.metrics().await;
    let refused = |channel: &str, code: &str| -> Option<String> {
        let labels = [format!("channel=\"{channel}\""), format!("code=\"{code}\"")];
        metrics
            .lines()
            .filter(|l| l.starts_with("leadgate_webhook_errors_total{"))
            .find(|l| labels.iter().all(|label| l.contains(label.as_str())))
            .and_then(|l| l.rsplit(' ').next().map(str::to_string))
    };
    let counts = [
        refused("vk", "forbidden"),
        refused("vk", "malformed"),
        refused("whatsapp", "bad_signature"),
        refused("whatsapp", "malformed"),
    ];
    let expected = ["2", "1", "3", "1"].map(|n| Some(n.to_string()));
    assert_eq!(counts, expected, "{metrics}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whatsapp_verification_handshake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let ok = reqwest::get(daemon.url("/hooks/whatsapp/wa-main?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444"))
        .await
        .expect("get");
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.expect("text"), "1158201444");
    let bad =
        reqwest::get(daemon.url(
            "/hooks/whatsapp/wa-main?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
        ))
        .await
        .expect("get");
    assert_eq!(bad.status(), 403);
    daemon.stop().await;
}

/// A VK post from `client` (a proxy in front names it in `X-Forwarded-For`).
async fn post_vk_from(daemon: &TestDaemon, client: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(daemon.url("/hooks/vk/vk-community"))
        .header("content-type", "application/json")
        .header("x-forwarded-for", client)
        .body(body)
        .send()
        .await
        .expect("post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_guessing_a_webhook_secret_is_stopped_long_before_a_provider_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[server]\ntrust_forwarded_for = true\nhook_rate_per_minute = 1\nhook_rate_burst = 40\n{CONFIG}"
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let good = String::from_utf8(sample("vk/message-new.json")).expect("utf8");
    let guess = |n: usize| good.replace("Tq7vX2mLp9", &format!("guess-{n}"));
    let guesser = "198.51.100.7";
    let mut answers = Vec::new();
    for n in 0..5 {
        answers.push(
            post_vk_from(&daemon, guesser, guess(n).into_bytes())
                .await
                .status()
                .as_u16(),
        );
    }
    // Each wrong secret spends ten requests' worth of the 40: the fifth try is not read.
    assert_eq!(answers, [403, 403, 403, 403, 429]);
    let limited = post_vk_from(&daemon, guesser, good.clone().into_bytes()).await;
    assert_eq!(limited.status(), 429, "the guesser's share is spent");
    let wait: u64 = (limited.headers().get("retry-after"))
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .expect("Retry-After");
    assert!(wait >= 1, "{wait}");
    // The provider, at its own address, posts forty events at once and every one is taken.
    let provider = "87.240.129.133";
    for n in 0..40 {
        let event = good.replace("\"event_id\": \"", &format!("\"event_id\": \"{n}-"));
        let answer = post_vk_from(&daemon, provider, event.into_bytes()).await;
        assert_eq!(answer.status(), 200, "event {n}");
    }
    assert_eq!(
        post_vk_from(&daemon, provider, good.into_bytes())
            .await
            .status(),
        429,
        "and its share is spent after its burst"
    );
    // The three turned away (two of the guesser's, one of the provider's) are counted for the
    // admin, by door.
    let metrics = daemon.metrics().await;
    assert!(
        metrics.contains("# HELP leadgate_hook_rate_limited_total"),
        "{metrics}"
    );
    let series = "leadgate_hook_rate_limited_total{door=\"source\"}";
    assert_eq!(
        support::daemon::metric_value(&metrics, series),
        Some(3.0),
        "{metrics}"
    );
    daemon.stop().await;
}

/// A form with no secret posted at the hook door is taken as a browser's post: its allowed
/// origins and its visitor's rate limit hold there too. Before, `/hooks/generic/ID` skipped
/// both (the hook door trusts a provider that proves itself, and this one proves nothing), so
/// a hostile page could post from anywhere and a script without the form's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_a_secret_keeps_its_limits_at_the_hook_door() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = r#"
[[sources.webform]]
id = "site"
allowed_origins = ["https://teplodom.example"]
rate_per_minute = 2
rate_burst = 2

[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"
"#;
    let daemon = TestDaemon::start_in(dir.path(), config, &always_open_routing()).await;
    let post = |origin: &'static str, n: u32| {
        let url = daemon.url("/hooks/generic/site");
        async move {
            (reqwest::Client::new().post(url))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("accept", "application/json")
                .header("origin", origin)
                .body(format!("name=Visitor&phone=%2B7+911+773-07-{n:02}"))
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        post("https://evil.example", 0).await,
        403,
        "a foreign origin"
    );
    let mut answers = Vec::new();
    for n in 1..=3 {
        answers.push(post("https://teplodom.example", n).await);
    }
    assert_eq!(answers, [202, 202, 429]);
    assert_eq!(inbound_count(&daemon).await, 2);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_builder_posting_for_many_visitors_is_not_limited_as_one_visitor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = r#"
[[sources.webform]]
id = "tilda-site"
connector = "tilda"
allow_unsigned = true
rate_per_minute = 2
rate_burst = 2

[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"
"#;
    let daemon = TestDaemon::start_in(dir.path(), config, &always_open_routing()).await;
    // Tilda's server posts thirty visitors' forms in a minute, from one address.
    for n in 0..30 {
        let body = format!(
            "Name=Visitor+{n}&Phone=%2B7+911+773-05-{n:02}&tranid=4417751%3A{n}&formid=form681225017"
        );
        let answer = reqwest::Client::new()
            .post(daemon.url("/hooks/tilda/tilda-site"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("post");
        assert_eq!(answer.status(), 200, "visitor {n}");
    }
    assert_eq!(inbound_count(&daemon).await, 30);
    // The same form's browser door still counts each visitor: two, then 429.
    let post_form = || async {
        reqwest::Client::new()
            .post(daemon.url("/forms/tilda-site"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body("Name=Browser&Phone=%2B7+911+773-06-01")
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    };
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(post_form().await);
    }
    assert_eq!(answers[2], 429, "{answers:?}");
    daemon.stop().await;
}
