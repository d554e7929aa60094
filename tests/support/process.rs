//! The daemon as a process of its own (`leadgate run`), for the tests that kill it with
//! SIGKILL or run several replicas side by side.

use super::daemon::eventually;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Starts `leadgate run` on `dir/leadgate.toml` in `dir` (a PostgreSQL store's files go to
/// `dir/data`), listening on `port`; its output is dropped.
pub fn spawn_daemon(dir: &Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["run", "--config"])
        .arg(dir.join("leadgate.toml"))
        .current_dir(dir)
        .env("LEADGATE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start leadgate")
}

/// Waits until the daemon on `port` answers `/healthz`; fails the test after 20 s.
pub async fn wait_healthy(client: &reqwest::Client, port: u16) {
    let ok = eventually(Duration::from_secs(20), || async {
        client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    assert!(ok.is_some(), "the daemon did not come up");
}

/// Posts a form with `phone` and `message` to the daemon on `port`, as a script asking for JSON
/// does: the id it answered with `202`, or `None` when it refused or could not be reached.
pub async fn post_form(
    client: &reqwest::Client,
    port: u16,
    phone: &str,
    message: &str,
) -> Option<String> {
    let r = client
        .post(format!("http://127.0.0.1:{port}/forms/site"))
        .header("accept", "application/json")
        .form(&[("phone", phone), ("message", message)])
        .send()
        .await
        .ok()
        .filter(|r| r.status() == 202)?;
    let body: serde_json::Value = r.json().await.ok()?;
    body["id"].as_str().map(str::to_string)
}

/// Runs `leadgate forget --config leadgate.toml ARGS` in `dir` (the daemon stopped), as an
/// operator would, and fails the test when it fails.
pub fn forget(dir: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["forget", "--config", "leadgate.toml"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run leadgate forget");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
