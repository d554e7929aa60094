//! The daemon and the CLI on PostgreSQL (`[storage] url = "postgres://..."`, or
//! `LEADGATE__STORAGE__URL`), each test on a database of its own (`support::postgres`). The
//! store itself is checked by `store::conformance` on both backends; SIGKILL safety on it by
//! `tests/crash.rs`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, write_rules};
use support::postgres::Database;
use support::sink::Sink;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_on_postgres_reaches_the_sink_and_a_second_click_joins_it() {
    let db = Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[storage]\nurl = \"{}\"\n[[sources.webform]]\nid = \"site\"\n\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        db.url,
        sink.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let form = [("phone", "+79161234500"), ("message", "Нужен котёл")];
    daemon.submit_form(&form).await;
    daemon
        .submit_form(&[("phone", "8 916 123-45-00"), ("message", "И бойлер")])
        .await;
    let events = eventually(Duration::from_secs(15), || async {
        let got: Vec<_> = sink.received().iter().map(|r| r.json()).collect();
        (got.len() >= 2).then_some(got)
    })
    .await
    .expect("two events at the sink");
    assert_eq!(events[0]["type"], "lead.created");
    assert_eq!(events[1]["type"], "lead.updated", "the second click joins");
    assert_eq!(events[0]["data"]["id"], events[1]["data"]["id"]);
    assert_eq!(events[0]["data"]["contact"]["phones"][0], "+79161234500");
    daemon.stop().await;
    // Both items and the one lead are in PostgreSQL, not in a file beside the config.
    assert_eq!(db.scalar("SELECT COUNT(*) FROM inbound").await, 2);
    assert_eq!(db.scalar("SELECT COUNT(*) FROM leads").await, 1);
    assert!(!dir.path().join("leadgate.db").exists());
    db.drop_it().await;
}

#[test]
fn the_cli_opens_the_database_the_environment_names() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime.block_on(Database::fresh());
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("leadgate.toml"),
        "[storage]\nurl = \"sqlite://db/leadgate.db\"\n[[sinks.file]]\nid = \"f\"\npath = \"out.jsonl\"\n",
    )
    .expect("config");
    write_rules(dir.path(), &always_open_routing());
    let out = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["replay", "--config", "leadgate.toml"])
        .current_dir(dir.path())
        .env("LEADGATE__STORAGE__URL", &db.url)
        .output()
        .expect("run leadgate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-queued 0"));
    assert!(
        !Path::new(&dir.path().join("db/leadgate.db")).exists(),
        "the environment's PostgreSQL, not the file's SQLite"
    );
    let migrated = runtime.block_on(db.scalar("SELECT COUNT(*) FROM _sqlx_migrations"));
    assert!(migrated >= 1);
    runtime.block_on(db.drop_it());
}
