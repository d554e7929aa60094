//! The daemon and the CLI on PostgreSQL (`[storage] url = "postgres://..."`, or
//! `LEADGATE__STORAGE__URL`), each test on a database of its own (`support::postgres`), and
//! `leadgate copy` moving a SQLite installation there. The
//! store itself is checked by `store::conformance` on both backends; SIGKILL safety on it by
//! `tests/crash.rs`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines, write_rules};
use support::postgres::Database;
use support::sink::Sink;

/// A daemon in `dir` on `db` with web form `site` and webhook sink `crm` at `sink`.
async fn form_to_sink_on(db: &Database, sink: &Sink, dir: &Path) -> TestDaemon {
    let config = format!(
        "[storage]\nurl = \"{}\"\n[[sources.webform]]\nid = \"site\"\n\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\ntimeout = \"2s\"\n",
        db.url,
        sink.url()
    );
    TestDaemon::start_in(dir, &config, &always_open_routing()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_on_postgres_reaches_the_sink_and_a_second_click_joins_it() {
    let db = Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = form_to_sink_on(&db, &sink, dir.path()).await;
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

/// A NUL (`%00` in a form; PostgreSQL refuses it in text) in a person's name, words and
/// fields is taken out before anything is stored: the lead is made, and the forms after it
/// are not stuck behind a batch that fails at every retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_form_is_taken_out_and_the_forms_after_it_still_flow() {
    let db = Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = form_to_sink_on(&db, &sink, dir.path()).await;
    daemon
        .submit_form(&[
            ("name", "Ив\0ан\u{1b}"),
            ("phone", "+79161234501"),
            ("message", "Нужен\0 котёл"),
            ("city\0", "Тв\0ерь"),
        ])
        .await;
    // A name of a thousand four-byte characters that do not compress: its index entry
    // would be over PostgreSQL's limit. A name is cut to 200 characters.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let long_name: String = (0..1000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_u32(0x20000 + (x % 40_000) as u32).expect("a CJK character")
        })
        .collect();
    daemon
        .submit_form(&[("name", long_name.as_str()), ("phone", "+79161234503")])
        .await;
    daemon
        .submit_form(&[("phone", "+79161234502"), ("message", "И бойлер")])
        .await;
    let events = eventually(Duration::from_secs(15), || async {
        let got: Vec<_> = sink.received().iter().map(|r| r.json()).collect();
        (got.len() >= 3).then_some(got)
    })
    .await
    .expect("every form reaches the sink");
    let by_phone = |phone: &str| {
        (events.iter())
            .map(|e| &e["data"])
            .find(|d| d["contact"]["phones"][0] == phone)
            .unwrap_or_else(|| panic!("no lead of {phone}: {events:?}"))
    };
    let first = by_phone("+79161234501");
    assert_eq!(first["contact"]["name"], "Иван");
    assert_eq!(first["text"], "Нужен котёл");
    assert_eq!(first["fields"]["city"], "Тверь");
    let cut: String = long_name.chars().take(200).collect();
    let name = by_phone("+79161234503")["contact"]["name"]
        .as_str()
        .unwrap_or("");
    assert!(name.starts_with(&cut), "{name}");
    assert_eq!(by_phone("+79161234502")["text"], "И бойлер");
    // None of them was set aside.
    assert_eq!(
        db.scalar("SELECT count(*) FROM inbound WHERE status = 'not_lead'")
            .await,
        0
    );
    daemon.stop().await;
    db.drop_it().await;
}

/// The database refuses one lead's row (a trigger stands here for any value it cannot hold,
/// or a limit it sets): that item is set aside as `unprocessable`, with the database's words,
/// and the forms before and after it reach the CRM instead of waiting behind it for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_the_database_refuses_is_set_aside_and_the_rest_flow() {
    let db = Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = form_to_sink_on(&db, &sink, dir.path()).await;
    // A first lead, so that the tables are there.
    daemon
        .submit_form(&[("name", "Дмитрий"), ("phone", "+79161234510")])
        .await;
    let first = eventually(Duration::from_secs(15), || async {
        (sink.received().len() == 1).then_some(())
    })
    .await;
    assert!(first.is_some(), "a first form reaches the sink");
    db.run(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF NEW.contact_name = 'Яд' THEN \
             RAISE EXCEPTION 'value too long for its index' USING ERRCODE = '54000'; \
           END IF; RETURN NEW; END $$; \
         CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON leads \
           FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    )
    .await;
    let client = reqwest::Client::new();
    let forms = [
        ("Анна", "+79161234511"),
        ("Яд", "+79161234512"),
        ("Борис", "+79161234513"),
        ("Вера", "+79161234514"),
    ];
    // Posted together, so that they are one batch.
    let posts = forms.iter().map(|(name, phone)| {
        client
            .post(daemon.url("/forms/site"))
            .header("accept", "application/json")
            .form(&[
                ("name", *name),
                ("phone", *phone),
                ("message", "Нужен котёл"),
            ])
            .send()
    });
    for answer in futures_util::future::join_all(posts).await {
        assert_eq!(answer.expect("post").status().as_u16(), 202);
    }
    let names = eventually(Duration::from_secs(30), || async {
        let mut names: Vec<String> = (sink.received().iter())
            .map(|r| {
                r.json()["data"]["contact"]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_string()
            })
            .collect();
        names.sort();
        (names.len() >= 4).then_some(names)
    })
    .await
    .expect("the other three forms reach the sink");
    assert_eq!(names, ["Анна", "Борис", "Вера", "Дмитрий"]);
    // A later form goes through; and once another item has gone through after it, the
    // refused one is set aside (when it was the last one posted, that is the later form).
    daemon
        .submit_form(&[("name", "Глеб"), ("phone", "+79161234515")])
        .await;
    let later = eventually(Duration::from_secs(15), || async {
        (sink.received().len() >= 5).then_some(())
    })
    .await;
    assert!(later.is_some(), "a later form reaches the sink");
    let set_aside = eventually(Duration::from_secs(15), || async {
        let n = db
            .scalar("SELECT count(*) FROM inbound WHERE status = 'not_lead' AND reason = 'unprocessable' AND detail LIKE '%too long for its index%'")
            .await;
        (n == 1).then_some(())
    })
    .await;
    assert!(
        set_aside.is_some(),
        "the refused item is kept as unprocessable"
    );
    assert_eq!(
        db.scalar("SELECT count(*) FROM inbound WHERE status = 'pending'")
            .await,
        0
    );
    daemon.stop().await;
    db.drop_it().await;
}

/// The server closes every connection the daemon holds (a restart, a failover, an operator's
/// `pg_terminate_backend`): the next form is still taken, on a new connection, not answered
/// with an error because the pool handed out a dead one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_after_the_server_dropped_every_connection_is_still_taken() {
    let db = Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = form_to_sink_on(&db, &sink, dir.path()).await;
    daemon
        .submit_form(&[("phone", "+79161234501"), ("message", "Нужен котёл")])
        .await;
    eventually(Duration::from_secs(15), || async {
        (!sink.received().is_empty()).then_some(())
    })
    .await
    .expect("the first lead at the sink");
    let dropped = db
        .scalar(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
        )
        .await;
    assert!(dropped >= 1, "the daemon's connections were there to drop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Eight forms at once, as many as the pool's connections; submit_form fails the test
    // unless each is answered with its id.
    let phones: Vec<String> = (0..8).map(|i| format!("+7916123460{i}")).collect();
    let forms = phones.iter().map(|phone| {
        let daemon = &daemon;
        async move {
            daemon
                .submit_form(&[("phone", phone.as_str()), ("message", "Нужен бойлер")])
                .await
        }
    });
    futures_util::future::join_all(forms).await;
    let got = eventually(Duration::from_secs(15), || async {
        let got: Vec<String> = (sink.received().iter())
            .map(|r| r.json()["data"]["contact"]["phones"][0].to_string())
            .collect();
        (got.len() >= 9).then_some(got)
    })
    .await
    .expect("all nine leads at the sink");
    for phone in &phones {
        assert!(got.contains(&format!("\"{phone}\"")), "{phone} in {got:?}");
    }
    daemon.stop().await;
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

/// `leadgate copy ARGS` in `dir`: its exit code, standard output and standard error.
fn copy_cli(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .arg("copy")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run leadgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A multipart form with one small PNG, as a browser posts it.
async fn post_with_file(daemon: &TestDaemon, phone: &str, text: &str) {
    let boundary = "leadgateCopyBoundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n{phone}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"boiler.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(b"\x89PNG\r\n\x1a\nboiler-photo-bytes");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_copied_into_postgres_goes_on_where_it_left_off() {
    let db = Database::fresh().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let delivered = dir.path().join("delivered.jsonl");
    let sink = format!(
        "[[sources.webform]]\nid = \"site\"\n[[sinks.file]]\nid = \"crm\"\npath = \"{}\"\n",
        delivered.display()
    );
    let store = dir.path().join("db/leadgate.db");
    let from = format!("sqlite://{}", store.display());
    let created =
        |lines: &[serde_json::Value]| lines.iter().filter(|l| l["type"] == "lead.created").count();
    // On SQLite: two people, the first writing twice (one lead, joined) with a photo.
    let on_sqlite = format!("[storage]\nurl = \"{from}\"\n{sink}");
    let daemon = TestDaemon::start_in(dir.path(), &on_sqlite, &always_open_routing()).await;
    post_with_file(&daemon, "+79161234501", "Котёл не греет").await;
    daemon
        .submit_form(&[
            ("phone", "8 916 123-45-01"),
            ("message", "Адрес: Лесная, 5"),
        ])
        .await;
    daemon
        .submit_form(&[("phone", "+79035550102"), ("message", "Нужен бойлер")])
        .await;
    eventually(Duration::from_secs(15), || async {
        let lines = file_lines(&delivered);
        (lines.len() >= 3 && created(&lines) == 2).then_some(())
    })
    .await
    .expect("two leads and an update delivered on SQLite");
    let first_lead = file_lines(&delivered)[0]["data"]["id"].clone();
    let kept = eventually(Duration::from_secs(15), || async {
        let files: Vec<_> = std::fs::read_dir(dir.path().join("db/files"))
            .ok()?
            .flatten()
            .collect();
        (files.len() == 1).then(|| files[0].file_name())
    })
    .await
    .expect("the photo kept beside the SQLite file");
    daemon.stop().await;

    let (code, out, err) = copy_cli(dir.path(), &["--from", &from, "--to", &db.url]);
    assert_eq!(code, 0, "{out}{err}");
    let rows = |table: &str| -> u64 {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(table))
            .unwrap_or_else(|| panic!("{table} not in {out}"));
        line.split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a count")
    };
    assert_eq!(
        (rows("inbound"), rows("leads"), rows("outbox")),
        (3, 2, 3),
        "{out}"
    );
    assert_eq!(db.scalar("SELECT COUNT(*) FROM leads").await, 2);
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'")
            .await,
        3
    );
    // SQLite keeps records, traces and event bodies packed: they arrive as the JSON text they
    // were.
    assert_eq!(
        db.scalar(
            "SELECT COUNT(*) FROM leads WHERE record::jsonb ->> 'schema' = 'leadgate.lead.v1'"
        )
        .await,
        2
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM leads WHERE trace::jsonb ->> 'format' = '2'")
            .await,
        2
    );
    assert_eq!(
        db.scalar("SELECT COUNT(*) FROM outbox WHERE body::jsonb ->> 'type' LIKE 'lead.%'")
            .await,
        3
    );
    // The kept counts came over as they were, not counted again by the target's triggers.
    assert_eq!(
        db.scalar("SELECT COALESCE(SUM(n), 0)::bigint FROM open_leads")
            .await,
        2
    );
    assert!(
        dir.path().join("data/files").join(&kept).is_file(),
        "the kept photo is copied to the PostgreSQL store's folder: {out}"
    );

    // A second copy refuses the database that now holds data, unless told to replace it.
    let again = ["--from", from.as_str(), "--to", db.url.as_str()];
    let (code, _, err) = copy_cli(dir.path(), &again);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("not empty"), "{err}");
    let (code, out, err) = copy_cli(dir.path(), &[&again[..], &["--overwrite"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(db.scalar("SELECT COUNT(*) FROM inbound").await, 3);

    // On PostgreSQL: the first person writes again and joins their lead; a new person gets a
    // new lead; nothing delivered before is delivered again.
    let on_postgres = format!("[storage]\nurl = \"{}\"\n{sink}", db.url);
    let daemon = TestDaemon::start_in(dir.path(), &on_postgres, &always_open_routing()).await;
    daemon
        .submit_form(&[("phone", "+79161234501"), ("message", "Когда приедете?")])
        .await;
    daemon
        .submit_form(&[("phone", "+79260001103"), ("message", "Тёплый пол")])
        .await;
    eventually(Duration::from_secs(15), || async {
        (file_lines(&delivered).len() >= 5).then_some(())
    })
    .await
    .expect("an update and a new lead delivered on PostgreSQL");
    daemon.settled().await;
    let lines = file_lines(&delivered);
    assert_eq!(lines.len(), 5, "nothing delivered twice: {lines:#?}");
    assert_eq!(created(&lines), 3);
    let update = lines[3..]
        .iter()
        .find(|l| l["type"] == "lead.updated")
        .expect("an update");
    assert_eq!(update["data"]["id"], first_lead, "joined the copied lead");
    daemon.stop().await;
    assert_eq!(db.scalar("SELECT COUNT(*) FROM inbound").await, 5);
    assert_eq!(
        db.scalar("SELECT COUNT(DISTINCT seq) FROM inbound").await,
        5
    );
    db.drop_it().await;
}

#[test]
fn copy_refuses_anything_but_sqlite_into_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = copy_cli(
        dir.path(),
        &[
            "--from",
            "postgres://x@127.0.0.1/a",
            "--to",
            "sqlite://b.db",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("into PostgreSQL"), "{err}");
    let (code, _, err) = copy_cli(
        dir.path(),
        &[
            "--from",
            "sqlite://missing.db",
            "--to",
            "postgres://x@127.0.0.1/a",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no SQLite store"), "{err}");
    assert!(!dir.path().join("missing.db").exists(), "nothing made");
}

/// A daemon on `db` with an unsigned Tilda form `tilda-site`, and a post of its form with
/// `tranid` (urlencoded as it is given) twice, as Tilda retries: the status of each.
async fn tilda_posted_twice(db: &Database, dir: &Path, tranid: &str) -> (u16, u16) {
    let config = format!(
        "[storage]\nurl = \"{}\"\n[[sources.webform]]\nid = \"tilda-site\"\nconnector = \"tilda\"\n\
         allow_unsigned = true\n[[sinks.file]]\nid = \"f\"\npath = \"{{dir}}/out.jsonl\"\n",
        db.url
    );
    let daemon = TestDaemon::start_in(dir, &config, &always_open_routing()).await;
    let post = || async {
        reqwest::Client::new()
            .post(daemon.url("/hooks/tilda/tilda-site"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("Name=Olga&Phone=%2B79161234567&tranid={tranid}"))
            .send()
            .await
            .expect("post")
            .status()
            .as_u16()
    };
    let statuses = (post().await, post().await);
    daemon.stop().await;
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_id_longer_than_an_index_entry_is_taken_once() {
    let db = Database::fresh().await;
    let dir = tempfile::tempdir().expect("tempdir");
    // PostgreSQL refuses an index entry over about 2.7 KB: the key is kept by its digest.
    // (An id that does not compress: PostgreSQL compresses an index entry first.)
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let tranid: String = (0..5000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b"0123456789abcdefghijklmnopqrstuvwxyz"[(x % 36) as usize])
        })
        .collect();
    assert_eq!(
        tilda_posted_twice(&db, dir.path(), &tranid).await,
        (200, 200)
    );
    assert_eq!(db.scalar("SELECT count(*) FROM inbound").await, 1);
    let key_length = db
        .scalar("SELECT max(length(dedupe_key))::bigint FROM inbound")
        .await;
    assert!(key_length <= 256, "{key_length}");
    db.drop_it().await;
}

/// A provider's id with a NUL in it (PostgreSQL refuses one in text, and the intake group
/// it joined would fail with it) is kept by its digest: taken, and taken once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_id_with_a_nul_is_taken_once() {
    let db = Database::fresh().await;
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        tilda_posted_twice(&db, dir.path(), "12%00ab").await,
        (200, 200)
    );
    assert_eq!(db.scalar("SELECT count(*) FROM inbound").await, 1);
    db.drop_it().await;
}

/// Another replica's SLA pass of `lead` to `to`, as it runs, not yet committed: the rotation
/// and the lead's assignment locked, the assignment ended and a new one made, the lead's
/// manager changed. Committing `pass` ends it.
async fn pass_begun(db: &Database, lead: &str, to: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    let mut pass = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    let (lead_only, both) = (&[lead][..], &[lead, to][..]);
    let steps: [(&str, &[&str]); 6] = [
        ("BEGIN", &[]),
        (
            "SELECT value FROM cursors WHERE key = 'routing.strategy_state' FOR UPDATE",
            &[],
        ),
        (
            "SELECT id FROM assignments WHERE lead_id = $1 AND state = 'active' FOR UPDATE",
            lead_only,
        ),
        (
            "UPDATE assignments SET state = 'expired', ended_at = assigned_at
             WHERE lead_id = $1 AND state = 'active'",
            lead_only,
        ),
        (
            "INSERT INTO assignments (lead_id, manager_id, level, strategy, attempt, assigned_at,
                                      state)
             SELECT lead_id, $2, level, strategy, attempt + 1, assigned_at, 'active'
             FROM assignments WHERE lead_id = $1",
            both,
        ),
        ("UPDATE leads SET manager_id = $2 WHERE id = $1", both),
    ];
    for (sql, binds) in steps {
        let q = (binds.iter()).fold(sqlx::query(sql), |q, b| q.bind(*b));
        q.execute(&mut pass)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    pass
}

/// A manager's Take that waits behind another replica's SLA pass of the same lead is told
/// who has the lead now: the Take reads the lead only once it holds what the pass held, so
/// it sees what the pass left (it read the lead first, and named the manager who had it
/// before, the very one pressing the button).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_take_waiting_behind_a_pass_on_another_replica_names_the_new_manager() {
    let db = Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[storage]\nurl = \"{}\"\n{}",
        db.url,
        support::config::form_to_crm(&sink.url())
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    daemon.submit_form(&[("phone", "+79161234577")]).await;
    let created = &sink.events(1).await[0];
    let lead = created["data"]["id"]
        .as_str()
        .expect("the lead's id")
        .to_string();
    let owner = support::sink::manager_of(created);
    let (other, other_name) = match owner.as_str() {
        "anna" => ("boris", "Борис Орлов"),
        _ => ("anna", "Анна Петрова"),
    };
    let pass = pass_begun(&db, &lead, other).await;
    let take = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{lead}/ack")))
        .bearer_auth(support::daemon::API_TOKEN)
        .json(&serde_json::json!({"manager": owner}))
        .send();
    let take = tokio::spawn(take);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!take.is_finished(), "the Take did not wait for the pass");
    let mut pass = pass;
    sqlx::query("COMMIT")
        .execute(&mut pass)
        .await
        .expect("commit");
    let answer = take.await.expect("join").expect("post");
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains(&format!("already passed to {other_name}")),
        "{body}"
    );
    daemon.stop().await;
    db.drop_it().await;
}
