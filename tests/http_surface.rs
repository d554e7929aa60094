//! The HTTP surface around the forms: CORS per form, the demo page only when configured,
//! health, readiness and metrics.

mod support;

use support::daemon::{TestDaemon, always_open_routing, authed_get, metric_value};

const CONFIG: &str = r#"
[[sources.webform]]
id = "site"
allowed_origins = ["https://teplodom.example"]

[[sinks.file]]
id = "f"
path = "{dir}/out.jsonl"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_per_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, daemon.url("/forms/site"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = preflight("https://teplodom.example").await.expect("send");
    assert_eq!(ok.status(), 204);
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://teplodom.example"
    );
    let refused = preflight("https://evil.example").await.expect("send");
    assert_eq!(refused.status(), 403);
    let post = client
        .post(daemon.url("/forms/site"))
        .header("origin", "https://evil.example")
        .form(&[("phone", "+79161234567")])
        .send()
        .await
        .expect("send");
    assert_eq!(
        post.status(),
        403,
        "a browser post from another origin is refused"
    );
    let post = client
        .post(daemon.url("/forms/site"))
        .header("origin", "https://teplodom.example")
        .header("accept", "application/json")
        .form(&[("phone", "+79161234567")])
        .send()
        .await
        .expect("send");
    assert_eq!(post.status(), 202);
    assert_eq!(
        post.headers()["access-control-allow-origin"],
        "https://teplodom.example"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_also_takes_posts_at_its_own_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = CONFIG.replace(
        "id = \"site\"\n",
        "id = \"site\"\npath = \"/send.php\"\nredirect = \"/spasibo\"\n",
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // The page's old form posts where it always did: a plain HTML post, answered as one.
    let plain = client
        .post(daemon.url("/send.php"))
        .form(&[("name", "Ирина"), ("phone", "8 916 123-45-67")])
        .send()
        .await
        .expect("send");
    assert_eq!(plain.status(), 303);
    assert_eq!(plain.headers()["location"], "/spasibo");
    // A script on the allowed origin: the preflight, then JSON.
    let preflight = client
        .request(reqwest::Method::OPTIONS, daemon.url("/send.php"))
        .header("origin", "https://teplodom.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("send");
    assert_eq!(preflight.status(), 204);
    let json = client
        .post(daemon.url("/send.php"))
        .header("origin", "https://teplodom.example")
        .json(&serde_json::json!({"phone": "+79035550102", "message": "Нужен бойлер"}))
        .send()
        .await
        .expect("send");
    assert_eq!(json.status(), 202);
    assert_eq!(
        json.headers()["access-control-allow-origin"],
        "https://teplodom.example"
    );
    let leads = support::daemon::eventually(std::time::Duration::from_secs(10), || async {
        let items = daemon.admin_get("/admin/api/leads").await["items"].clone();
        let items = items.as_array().cloned().unwrap_or_default();
        (items.len() == 2).then_some(items)
    })
    .await
    .expect("both posts are leads");
    assert!(leads.iter().all(|l| l["source"] == "site"), "{leads:?}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_sends_json_gets_json_whatever_it_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let post = |body: &'static str, content_type: &'static str| {
        client
            .post(daemon.url("/forms/site"))
            .header("accept", "*/*")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let sent = post(
        r#"{"phone": "+79161234567"}"#,
        "application/json; charset=utf-8",
    )
    .await
    .expect("send");
    assert_eq!(sent.status(), 202);
    let answer: serde_json::Value = sent.json().await.expect("a JSON answer");
    assert_eq!(answer["status"], "accepted", "{answer}");
    assert!(
        answer["id"].as_str().is_some_and(|id| !id.is_empty()),
        "{answer}"
    );
    let refused = post(r#"{"message": "no contact"}"#, "application/json")
        .await
        .expect("send");
    assert_eq!(refused.status(), 422);
    let error: serde_json::Value = refused.json().await.expect("a JSON error");
    assert!(error["error"]["code"].is_string(), "{error}");
    // A browser's own form post still gets a page.
    let page = post("phone=%2B79161234568", "application/x-www-form-urlencoded")
        .await
        .expect("send");
    let html = page.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(html.starts_with("text/html"), "{html}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_page_is_there_only_with_a_demo_form() {
    let dir = tempfile::tempdir().expect("tempdir");
    let without = TestDaemon::start_in(&dir.path().join("a"), CONFIG, &always_open_routing()).await;
    assert_eq!(
        reqwest::get(without.url("/")).await.expect("get").status(),
        404
    );
    without.stop().await;
    let with_demo = CONFIG.replace("id = \"site\"", "id = \"site\"\ndemo = true");
    let with =
        TestDaemon::start_in(&dir.path().join("b"), &with_demo, &always_open_routing()).await;
    let page = reqwest::get(with.url("/")).await.expect("get");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("text");
    assert!(html.contains("action=\"/forms/site\""), "{html}");
    with.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    assert_eq!(
        reqwest::get(daemon.url("/healthz"))
            .await
            .expect("get")
            .status(),
        200
    );
    let post = reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .form(&[("phone", "+79161234567")])
        .send()
        .await
        .expect("send");
    assert!(post.status().is_success());
    let ready: serde_json::Value =
        support::daemon::eventually(std::time::Duration::from_secs(5), || async {
            let r: serde_json::Value = authed_get(daemon.url("/readyz"))
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            (r["components"]["sink:f"]["state"] == "ok").then_some(r)
        })
        .await
        .expect("the sink reports ok after a delivery");
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["store"]["state"], "ok");
    assert!(ready["components"]["stage:process"]["last_success"].is_string());
    assert!(ready["rules_version"].is_string());
    // A form is a source like any other: listed, with its last success.
    assert_eq!(
        ready["components"]["source:site"]["kind"], "source",
        "{ready}"
    );
    assert!(ready["components"]["source:site"]["last_success"].is_string());
    let metrics = daemon.metrics().await;
    assert!(
        metrics.contains("leadgate_forms_accepted_total"),
        "{metrics}"
    );
    assert!(metrics.contains("leadgate_outbox_pending"), "{metrics}");
    assert!(
        metrics.contains("# HELP leadgate_forms_accepted_total Form posts stored"),
        "every metric says what it counts: {metrics}"
    );
    let bucket = metrics
        .lines()
        .find(|l| l.starts_with("leadgate_intake_group_size_bucket{le=\"+Inf\"}"))
        .unwrap_or_else(|| panic!("the group size has buckets: {metrics}"));
    assert!(!bucket.ends_with(" 0"), "{bucket}");
    // How long a form's commit took, the wait for the store included, in seconds' buckets.
    let commit = metrics
        .lines()
        .find(|l| l.starts_with("leadgate_intake_commit_seconds_bucket{le=\"0.5\"}"))
        .unwrap_or_else(|| panic!("the commit time has buckets: {metrics}"));
    assert!(!commit.ends_with(" 0"), "{commit}");
    daemon.stop().await;
}

/// Each daemon counts in its own registry: two daemons in one process (as in these tests, or
/// an embedding program) never show each other's figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_in_one_process_count_apart() {
    let (one_dir, other_dir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let one = TestDaemon::start_in(one_dir.path(), CONFIG, &always_open_routing()).await;
    let other = TestDaemon::start_in(other_dir.path(), CONFIG, &always_open_routing()).await;
    let client = reqwest::Client::new();
    for phone in ["+79161234567", "+79161234568", "+79161234569"] {
        let post = (client
            .post(one.url("/forms/site"))
            .form(&[("phone", phone)])
            .send())
        .await
        .expect("send");
        assert!(post.status().is_success());
    }
    let post = (client
        .post(other.url("/forms/site"))
        .form(&[("phone", "+79161234570")])
        .send())
    .await
    .expect("send");
    assert!(post.status().is_success());
    let accepted = "leadgate_forms_accepted_total{source=\"site\"}";
    for (daemon, expected) in [(&one, 3.0), (&other, 1.0)] {
        let metrics = daemon.metrics().await;
        assert_eq!(
            metric_value(&metrics, accepted),
            Some(expected),
            "{metrics}"
        );
    }
    one.stop().await;
    other.stop().await;
}

/// Saves like an editor: a temporary file renamed over the old one.
fn save(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_daemon_keeps_routing_when_a_bad_rules_file_is_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    let sink = dir.path().join("out.jsonl");
    let post = |phone: &'static str| {
        let url = daemon.url("/forms/site");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .form(&[("phone", phone)])
                .send()
                .await
                .expect("send");
            assert!(r.status().is_success());
        }
    };
    let version = |d: &TestDaemon| {
        let url = d.url("/readyz");
        async move {
            let r: serde_json::Value = authed_get(url)
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            r["rules_version"].as_str().unwrap_or_default().to_string()
        }
    };
    let first_version = version(&daemon).await;
    save(
        &dir.path().join("routing.toml"),
        "levels = [\"junior\"]\n[[rules]]\nname = \"all\"\nlevle = \"junior\"\n",
    );
    // The watcher polls the file about every second: wait until the bad save was refused.
    let refused = support::daemon::eventually(std::time::Duration::from_secs(10), || async {
        let m = authed_get(daemon.url("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        m.lines()
            .any(|l| l.starts_with("leadgate_rules_reload_failures_total") && !l.ends_with(" 0"))
            .then_some(())
    })
    .await;
    assert!(refused.is_some(), "the bad save was seen and refused");
    post("+79161230001").await;
    let lines = support::daemon::eventually(std::time::Duration::from_secs(5), || async {
        let l = support::daemon::file_lines(&sink);
        (!l.is_empty()).then_some(l)
    })
    .await
    .expect("the lead is routed after a bad save");
    assert_eq!(
        lines[0]["data"]["classification"]["level"], "junior",
        "the old rules are still in force"
    );
    assert_eq!(
        version(&daemon).await,
        first_version,
        "the bad file was refused"
    );
    let metrics = daemon.metrics().await;
    assert!(
        metrics.contains("leadgate_rules_reload_failures_total"),
        "{metrics}"
    );

    let senior_only = always_open_routing().replace(
        "[[rules]]\nname = \"Всё остальное\"\nlevel = \"junior\"",
        "[[rules]]\nname = \"Всё остальное\"\nlevel = \"senior\"",
    );
    assert_ne!(senior_only, always_open_routing());
    save(&dir.path().join("routing.toml"), &senior_only);
    let reloaded = support::daemon::eventually(std::time::Duration::from_secs(5), || async {
        let v = version(&daemon).await;
        (v != first_version).then_some(v)
    })
    .await;
    assert!(reloaded.is_some(), "a valid edit is swapped in");
    post("+79161230002").await;
    let lines = support::daemon::eventually(std::time::Duration::from_secs(5), || async {
        let l = support::daemon::file_lines(&sink);
        (l.len() >= 2).then_some(l)
    })
    .await
    .expect("the second lead is routed");
    assert_eq!(
        lines[1]["data"]["classification"]["level"], "senior",
        "the new rules route it"
    );
    assert_eq!(lines[1]["data"]["assignment"]["manager"]["id"], "vera");
    daemon.stop().await;
}
