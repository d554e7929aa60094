//! Crash safety: submissions under load while the daemon is killed with SIGKILL again and
//! again. Every submission that got a `2xx` must reach the sink; a duplicate may only repeat
//! the same `webhook-id`.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::daemon::{always_open_routing, eventually};
use support::process::{free_port, post_form, spawn_daemon, wait_healthy};
use support::sink::Sink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_submission_survives_sigkill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/leadgate.db", dir.path().display());
    survives_sigkill(dir, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_submission_survives_sigkill_on_postgres() {
    let db = support::postgres::Database::fresh().await;
    survives_sigkill(tempfile::tempdir().expect("tempdir"), &db.url).await;
    db.drop_it().await;
}

/// Submits forms under load to a daemon on the store at `storage`, killed with SIGKILL again
/// and again, then checks what the sink got.
async fn survives_sigkill(dir: tempfile::TempDir, storage: &str) {
    let sink = Sink::start(&[]).await;
    let config = format!(
        r#"[storage]
url = "{storage}"
[routing]
watch = false
[[sources.webform]]
id = "site"
rate_per_minute = 1000000
rate_burst = 100000
[[sinks.webhook]]
id = "crm"
url = "{url}"
timeout = "1s"
"#,
        url = sink.url()
    );
    std::fs::write(dir.path().join("leadgate.toml"), config).expect("config");
    support::daemon::write_rules(dir.path(), &always_open_routing());
    let port = free_port();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let accepted: Arc<Mutex<HashSet<String>>> = Arc::default();
    let sent = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // Four kills in CI; `LEADGATE_CRASH_KILLS=40 cargo test --test crash` for a longer run.
    let rounds: u32 = std::env::var("LEADGATE_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    for round in 0..rounds {
        let mut child = spawn_daemon(dir.path(), port);
        wait_healthy(&client, port).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..8 {
            let (client, accepted, stop, sent) =
                (client.clone(), accepted.clone(), stop.clone(), sent.clone());
            writers.push(tokio::spawn(async move {
                let mut i = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let phone = format!(
                        "+7916{:07}",
                        (round * 100_000 + w * 10_000 + i) % 10_000_000
                    );
                    sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    match post_form(&client, port, &phone, "crash test").await {
                        Some(id) => {
                            accepted.lock().expect("lock").insert(id);
                        }
                        None => tokio::time::sleep(Duration::from_millis(20)).await,
                    }
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(1200 + 150 * u64::from(round % 8))).await;
        child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
        let _ = child.wait();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for w in writers {
            let _ = w.await;
        }
    }
    let mut child = spawn_daemon(dir.path(), port);
    wait_healthy(&client, port).await;
    let accepted = accepted.lock().expect("lock").clone();
    let delivered = eventually(Duration::from_secs(60), || async {
        let got: HashSet<String> = sink
            .received()
            .iter()
            .filter(|r| r.answered == 200)
            .filter_map(|r| r.json()["data"]["id"].as_str().map(str::to_string))
            .collect();
        accepted.is_subset(&got).then_some(got)
    })
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let received = sink.received();
    let missing: Vec<&String> = match &delivered {
        Some(_) => Vec::new(),
        None => {
            let got: HashSet<String> = received
                .iter()
                .filter_map(|r| r.json()["data"]["id"].as_str().map(str::to_string))
                .collect();
            accepted.iter().filter(|id| !got.contains(*id)).collect()
        }
    };
    // Every lead has exactly one lead.created event; a repeat must carry its webhook-id.
    let created: Vec<_> = received
        .iter()
        .filter(|r| r.json()["type"] == "lead.created")
        .collect();
    let mut ids_per_lead: HashMap<String, HashSet<String>> = HashMap::new();
    for r in &created {
        let lead = r.json()["data"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        ids_per_lead
            .entry(lead)
            .or_default()
            .insert(r.header("webhook-id").to_string());
    }
    let duplicates = created.len() - ids_per_lead.len();
    eprintln!(
        "crash test: {rounds} SIGKILLs, {} submissions sent, {} acknowledged with 202, {} lead.created deliveries for {} leads ({duplicates} repeated), {} acknowledged but missing",
        sent.load(std::sync::atomic::Ordering::Relaxed),
        accepted.len(),
        created.len(),
        ids_per_lead.len(),
        missing.len()
    );
    assert!(
        accepted.len() > 100,
        "the load produced too few submissions to mean anything"
    );
    assert!(
        missing.is_empty(),
        "acknowledged but never delivered: {missing:?}"
    );
    for (lead, ids) in &ids_per_lead {
        assert_eq!(
            ids.len(),
            1,
            "lead {lead} was delivered under several webhook-ids: {ids:?}"
        );
    }
}
