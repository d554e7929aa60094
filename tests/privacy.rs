//! Personal data has an end (issue 18): the retention sweeper on a manual clock removes old
//! items and keeps what delivery and the SLA need; `leadgate forget` erases a person so their
//! phone is nowhere in the database's bytes, leaving a tombstone; `leadgate export` prints
//! what is kept about them. Both commands run as the real binary on the daemon's store.

mod support;

use leadgate::clock::Clock;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::daemon::{API_TOKEN, TestDaemon, always_open_routing, eventually, manual_clock};
use support::sink::{Sink, manager_of};
use support::smtp::SmtpCatcher;

/// The daemon's database, read beside it (WAL lets a reader in while it runs).
async fn db(dir: &Path) -> SqlitePool {
    SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(dir.join("leadgate.db"))
            .read_only(true),
    )
    .await
    .expect("open the database")
}

async fn count(pool: &SqlitePool, sql: &str, bind: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .bind(bind)
        .fetch_one(pool)
        .await
        .expect("query")
        .get(0)
}

/// Posts a form as a browser would; the answer's id, if the post made one.
async fn post(daemon: &TestDaemon, form: &[(&str, &str)]) -> serde_json::Value {
    reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_removes_old_data_and_keeps_what_delivery_and_the_sla_need() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let config = format!(
        r#"
[api]
token = "{API_TOKEN}"

[[sources.webform]]
id = "site"
honeypot = "website"

[[sinks.webhook]]
id = "crm"
url = "{}"
timeout = "2s"

[retention]
not_leads = "5d"
delivered = "7d"
inbound = "10d"
leads = "30d"
every = "1m"
"#,
        sink.url()
    );
    let t0 = clock.now();
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    let taken = daemon
        .submit_form(&[("phone", "+79161112201"), ("message", "Котёл на дачу")])
        .await;
    let created = sink.events(1).await;
    let owner = manager_of(&created[0]);
    let ack = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{taken}/ack")))
        .bearer_auth(API_TOKEN)
        .json(&serde_json::json!({"manager": owner}))
        .send()
        .await
        .expect("ack");
    assert_eq!(ack.status(), 200);
    sink.events(2).await;
    let open = daemon.submit_form(&[("phone", "+79161112202")]).await;
    sink.events(3).await;
    let spam = post(
        &daemon,
        &[("phone", "+79161112203"), ("website", "http://spam")],
    )
    .await;
    assert!(spam.is_object(), "the bot is answered as a person: {spam}");
    let pool = db(dir.path()).await;
    let not_leads = "SELECT COUNT(*) FROM inbound WHERE status = 'not_lead' AND ?1 != ''";
    let stored = eventually(Duration::from_secs(10), || async {
        (count(&pool, not_leads, "x").await == 1).then_some(())
    })
    .await;
    assert!(stored.is_some(), "the honeypot post is kept as a not-lead");
    let payload = "SELECT COALESCE(SUM(length(payload)), 0) FROM inbound WHERE lead_id = ?1";
    let bodies = "SELECT COUNT(*) FROM outbox WHERE lead_id = ?1 AND body != ''";
    let lead_rows = "SELECT COUNT(*) FROM leads WHERE id = ?1";
    let everywhere = [
        "SELECT COUNT(*) FROM outbox WHERE lead_id = ?1",
        "SELECT COUNT(*) FROM assignments WHERE lead_id = ?1",
        "SELECT COUNT(*) FROM audit WHERE lead_id = ?1",
        "SELECT COUNT(*) FROM lead_contacts WHERE lead_id = ?1",
        "SELECT COUNT(*) FROM inbound WHERE lead_id = ?1",
    ];

    daemon.ran_since("stage:retention", t0).await;
    assert_eq!(count(&pool, not_leads, "x").await, 1, "nothing is old yet");
    assert!(count(&pool, payload, &taken).await > 0);

    clock.advance(chrono::Duration::days(6));
    daemon.ran_since("stage:retention", clock.now()).await;
    assert_eq!(
        count(&pool, not_leads, "x").await,
        0,
        "not-leads go after 5 days"
    );
    assert_eq!(
        count(&pool, bodies, &taken).await,
        2,
        "delivered bodies stay 7 days"
    );
    assert!(
        count(&pool, payload, &taken).await > 0,
        "raw items stay 10 days"
    );

    clock.advance(chrono::Duration::days(2));
    daemon.ran_since("stage:retention", clock.now()).await;
    assert_eq!(
        count(&pool, bodies, &taken).await,
        0,
        "delivered bodies are blanked"
    );
    assert_eq!(count(&pool, lead_rows, &taken).await, 1);

    clock.advance(chrono::Duration::days(3));
    daemon.ran_since("stage:retention", clock.now()).await;
    assert_eq!(
        count(&pool, payload, &taken).await,
        0,
        "raw bytes go after 10 days"
    );
    assert_eq!(count(&pool, payload, &open).await, 0);
    let journey = daemon.admin_get(&format!("/admin/api/leads/{taken}")).await;
    assert_eq!(
        journey["lead"]["contact"]["phones"][0], "+79161112201",
        "the lead keeps what was read from its items"
    );

    clock.advance(chrono::Duration::days(20));
    daemon.ran_since("stage:retention", clock.now()).await;
    for sql in std::iter::once(lead_rows).chain(everywhere) {
        assert_eq!(
            count(&pool, sql, &taken).await,
            0,
            "the taken lead is gone: {sql}"
        );
    }
    assert_eq!(
        count(&pool, lead_rows, &open).await,
        1,
        "a lead nobody took is kept however old"
    );
    let status: String = sqlx::query("SELECT status FROM leads WHERE id = ?1")
        .bind(&open)
        .fetch_one(&pool)
        .await
        .expect("the open lead")
        .get(0);
    assert_ne!(status, "acknowledged");
    let metrics = daemon.metrics().await;
    assert!(
        metrics.contains("leadgate_retention_removed_total{kind=\"leads\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("leadgate_retention_removed_total{kind=\"not_leads\"} 1"),
        "{metrics}"
    );
    let stage = daemon.component("stage:retention").await;
    assert!(stage["last_success"].is_string(), "{stage}");
    pool.close().await;
    daemon.stop().await;
}

fn leadgate(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(args)
        .current_dir(dir)
        .env_remove("LEADGATE_LOG_FORMAT")
        .env("USER", "operator")
        .output()
        .expect("run leadgate")
}

/// Whether `needle` is anywhere in the database's files (the main file and its WAL).
fn in_files(dir: &Path, needle: &str) -> Vec<String> {
    ["leadgate.db", "leadgate.db-wal"]
        .iter()
        .filter(|f| {
            std::fs::read(dir.join(f))
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .map(|f| f.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_erases_a_person_from_every_byte_of_the_store_and_export_shows_them_first() {
    let sink = Sink::start(&[]).await;
    let smtp = SmtpCatcher::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[[sources.webform]]
id = "site"
honeypot = "website"
conversation_window = "off"

[[sinks.webhook]]
id = "crm"
url = "{}"
timeout = "2s"

[notify.email]
url = "{}"
from = "leadgate <leads@teplodom.example>"
public_url = "https://leads.teplodom.example"
link_secret = "link-secret-for-tests-0123456789abcdef"
"#,
        sink.url(),
        smtp.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let first = daemon
        .submit_form(&[
            ("name", "Ефим Забывалов"),
            ("phone", "8 (916) 555-12-34"),
            ("email", "efim.zabyvalov@example.ru"),
            ("message", "Нужен котёл"),
        ])
        .await;
    let second = daemon
        .submit_form(&[("phone", "+79165551234"), ("message", "Ещё и бойлер")])
        .await;
    let other = daemon
        .submit_form(&[("name", "Ольга Остаётся"), ("phone", "+79167770011")])
        .await;
    post(
        &daemon,
        &[("phone", "89165551234"), ("website", "http://spam")],
    )
    .await;
    sink.events(3).await;
    let mailed = eventually(Duration::from_secs(10), || async {
        (smtp.mails().len() >= 3).then_some(())
    })
    .await;
    assert!(mailed.is_some(), "managers got their cards");
    let pool = db(dir.path()).await;
    let sent = eventually(Duration::from_secs(10), || async {
        let n = count(
            &pool,
            "SELECT COUNT(*) FROM notifications WHERE status = 'sent' AND lead_id != ?1",
            "",
        )
        .await;
        let d = count(
            &pool,
            "SELECT COUNT(*) FROM outbox WHERE status = 'delivered' AND lead_id != ?1",
            "",
        )
        .await;
        (n >= 3 && d >= 3).then_some(())
    })
    .await;
    assert!(sent.is_some(), "every card and event went out");
    pool.close().await;
    daemon.stop().await;
    let d = dir.path();
    assert!(
        !in_files(d, "9165551234").is_empty() && !in_files(d, "efim.zabyvalov").is_empty(),
        "the search finds the person before they are forgotten"
    );

    let out = leadgate(
        &[
            "export",
            "--config",
            "leadgate.toml",
            "--phone",
            "+7 916 555-12-34",
        ],
        d,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let export: serde_json::Value = serde_json::from_slice(&out.stdout).expect("export is JSON");
    assert_eq!(export["subject"]["phone"], "+79165551234");
    let leads = export["leads"].as_array().expect("leads");
    let mut ids: Vec<&str> = leads
        .iter()
        .filter_map(|j| j["lead"]["id"].as_str())
        .collect();
    ids.sort();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "both of the person's leads, not Ольга's");
    assert!(
        leads
            .iter()
            .any(|j| j["lead"]["contact"]["name"] == "Ефим Забывалов")
    );
    assert!(
        leads
            .iter()
            .all(|j| !j["inbound"].as_array().expect("items").is_empty())
    );
    assert_eq!(
        export["other_items"].as_array().map(Vec::len),
        Some(1),
        "the spam naming them: {export}"
    );
    let by_email = leadgate(
        &[
            "export",
            "--config",
            "leadgate.toml",
            "--email",
            "Efim.Zabyvalov@example.ru",
        ],
        d,
    );
    let by_email: serde_json::Value = serde_json::from_slice(&by_email.stdout).expect("JSON");
    assert_eq!(
        by_email["leads"].as_array().map(Vec::len),
        Some(1),
        "{by_email}"
    );

    let out = leadgate(
        &[
            "forget",
            "--config",
            "leadgate.toml",
            "--phone",
            "8 916 555 12 34",
            "--by",
            "dpo@teplodom",
        ],
        d,
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.starts_with("erased erasure:"), "{said}");
    assert!(said.contains("(phone, by dpo@teplodom): 2 leads"), "{said}");
    assert!(
        said.contains("inbound 3"),
        "two leads' items and the spam: {said}"
    );
    assert!(
        said.contains("notifications 2") && said.contains("outbox 2"),
        "{said}"
    );
    assert!(
        said.contains(&format!("lead {first}")) && said.contains(&format!("lead {second}")),
        "{said}"
    );
    assert!(
        said.contains("note: the sinks (crm) keep their own copies"),
        "{said}"
    );
    assert!(
        !said.contains("5551234"),
        "the report never repeats the phone: {said}"
    );

    for needle in ["9165551234", "efim.zabyvalov", "Забывалов", &first, &second] {
        assert_eq!(
            in_files(d, needle),
            Vec::<String>::new(),
            "{needle} is still in the store's files"
        );
    }
    assert_eq!(
        in_files(d, "9167770011"),
        vec!["leadgate.db".to_string()],
        "Ольга's lead stays"
    );
    let pool = db(d).await;
    let tombstone = sqlx::query("SELECT lead_id, kind, detail FROM audit WHERE kind = 'erased'")
        .fetch_all(&pool)
        .await
        .expect("tombstones");
    assert_eq!(tombstone.len(), 1);
    let id: String = tombstone[0].get("lead_id");
    let detail: String = tombstone[0].get("detail");
    assert!(id.starts_with("erasure:") && said.contains(&id), "{id}");
    let detail: serde_json::Value = serde_json::from_str(&detail).expect("JSON");
    assert_eq!(detail["by"], "dpo@teplodom");
    assert_eq!(detail["subject"], "phone");
    assert_eq!(detail["leads"], 2);
    assert_eq!(detail["removed"]["leads"], 2);
    assert!(!detail.to_string().contains("5551234"));
    assert_eq!(
        count(&pool, "SELECT COUNT(*) FROM leads WHERE id = ?1", &other).await,
        1
    );
    pool.close().await;

    let again = leadgate(
        &[
            "export",
            "--config",
            "leadgate.toml",
            "--phone",
            "+79165551234",
        ],
        d,
    );
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).expect("JSON");
    assert_eq!(again["leads"], serde_json::json!([]));
    assert_eq!(again["other_items"], serde_json::json!([]));

    let by_lead = leadgate(
        &["forget", "--config", "leadgate.toml", "--lead", &other],
        d,
    );
    let said = String::from_utf8_lossy(&by_lead.stdout);
    assert!(
        said.contains("(lead, by operator): 1 lead;"),
        "$USER by default: {said}"
    );
    assert_eq!(in_files(d, "9167770011"), Vec::<String>::new());
    let unknown = leadgate(
        &["forget", "--config", "leadgate.toml", "--lead", "nope"],
        d,
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no lead \"nope\""));
    let bad = leadgate(&["forget", "--config", "leadgate.toml", "--phone", "12"], d);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a valid phone number"));
    let both = leadgate(
        &[
            "forget",
            "--config",
            "leadgate.toml",
            "--phone",
            "+79165551234",
            "--email",
            "a@b.ru",
        ],
        d,
    );
    assert_eq!(both.status.code(), Some(1), "one subject at a time");
}
