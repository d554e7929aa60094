//! The `leadgate` command as a user runs it: `check` on good and bad configs (and `--connect`
//! with no mailbox to try; tests/email_pin.rs tries real ones), environment
//! overrides, `${VAR}` secrets, exit codes, JSON logs, a graceful stop on SIGTERM, and
//! `route` explaining a lead record or a raw sample.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::daemon::{default_routing, write_rules};

fn leadgate(args: &[&str], dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leadgate"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("LEADGATE_LOG_FORMAT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run leadgate")
}

fn write_config(dir: &Path, text: &str) {
    std::fs::write(dir.join("leadgate.toml"), text).expect("config");
    write_rules(dir, &default_routing());
}

#[test]
fn the_repository_config_checks_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = leadgate(&["check"], root, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn check_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "[server]\nlisten = \"nowhere\"\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"not a url\"\nsecret = \"whsec_short\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("leadgate.toml: server.listen:"), "{err}");
    assert!(err.contains("sinks.webhook[0].url"), "{err}");
    assert!(err.contains("sinks.webhook[0].secret"), "{err}");
    assert!(err.contains("3 problems found"), "{err}");
}

#[test]
fn check_connect_tries_no_mailbox_of_an_invalid_config_and_says_when_there_is_none() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["check", "--config", "leadgate.toml", "--connect"];
    write_config(
        dir.path(),
        "[server]\nlisten = \"nowhere\"\n[[sources.email]]\nid = \"box\"\nhost = \"127.0.0.1\"\nport = 1\ntls = \"plain\"\nuser = \"u\"\npassword = \"p\"\n",
    );
    let out = leadgate(&args, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("note: no mailbox is tried until leadgate.toml is valid"),
        "{stdout}"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("mailbox \"box\""));
    write_config(dir.path(), "");
    let out = leadgate(&args, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("note: no [[sources.email]] mailbox to try"),
        "{stdout}"
    );
}

#[test]
fn check_reports_both_files_even_when_the_first_is_broken() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("leadgate.toml"),
        "[server]\nlisten = \"nowhere\"\n",
    )
    .expect("config");
    write_rules(
        dir.path(),
        "levels = [\"junior\"]\n[[managers]]\nid = \"a\"\nname = \"A\"\nlevel = \"senior\"\n[[rules]]\nname = \"x\"\nlevel = \"nope\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.listen"), "{err}");
    assert!(
        err.contains("routing.toml:"),
        "the rules' problems too: {err}"
    );
    let listed = err.lines().filter(|l| l.contains(".toml:")).count();
    assert!(
        err.contains(&format!("{listed} problems found")),
        "the count is the lines listed: {err}"
    );
    let ok_dir = tempfile::tempdir().expect("tempdir");
    write_config(ok_dir.path(), "");
    let ok = leadgate(&["check", "--config", "leadgate.toml"], ok_dir.path(), &[]);
    assert!(ok.status.success());
    let said = String::from_utf8_lossy(&ok.stdout);
    assert!(
        said.contains("leadgate.toml: ok") && said.contains("routing.toml: ok (rules "),
        "{said}"
    );
}

#[test]
fn route_and_replay_say_what_is_wrong_with_their_input_and_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "[[sources.webform]]\nid = \"site\"\n[[sinks.file]]\nid = \"f\"\npath = \"out.jsonl\"\n",
    );
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("sample");
        name.to_string()
    };
    let route = |args: &[&str]| {
        let mut all = vec![
            "route",
            "--config",
            "leadgate.toml",
            "--at",
            "2026-11-23T09:00:00Z",
        ];
        all.extend_from_slice(args);
        leadgate(&all, dir.path(), &[])
    };
    let typo = write("typo.json", r#"{"chanel": "email", "text": "x"}"#);
    let out = route(&[&typo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean \"channel\""));

    let out = route(&["--channel", "nope", &typo]);
    assert_eq!(out.status.code(), Some(1), "a usage error is invalid input");

    let broken = write("broken.json", "{\"message\": ");
    let out = route(&["--channel", "webform", &broken]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let nobody = write("nobody.json", r#"{"text": "Нужен котёл"}"#);
    let out = route(&[&nobody]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("not a lead: no way to answer"), "{said}");
    assert!(!said.contains("picked"), "{said}");

    // A form as a browser posts it, urlencoded, read like the form reads it.
    let form = write(
        "form.txt",
        "name=%D0%98%D1%80%D0%B8%D0%BD%D0%B0&phone=%2B79161234567&message=%D0%9A%D1%83%D0%BF%D0%B8%D0%BC+%D0%BE%D0%BF%D1%82%D0%BE%D0%BC",
    );
    let out = route(&["--channel", "webform", &form]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("Тендеры и опт"), "{said}");
    assert!(
        said.starts_with("at 2026-11-23 12:00 Mon (Europe/Moscow)"),
        "the business's own time: {said}"
    );
    assert_eq!(said.matches("rules version").count(), 1, "{said}");

    let out = leadgate(
        &["replay", "--config", "leadgate.toml", "--lead", "nonsense"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no lead \"nonsense\""));
    let out = leadgate(
        &["replay", "--config", "leadgate.toml", "--sink", "crm"],
        dir.path(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the sinks are f"));
}

#[test]
fn the_repository_config_says_nobody_can_be_late() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = leadgate(&["check"], root, &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("[sla] is set, but nothing can acknowledge a lead"),
        "no [notify], no [api]: check says the SLA never passes a lead on: {said}"
    );
}

#[test]
fn crm_user_ids_are_checked_against_the_sinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("leadgate.toml"),
        r#"
[[sinks.webhook]]
id = "b24"
url = "https://example.bitrix24.ru/rest/1/abc/"
preset = "bitrix24"

[[sinks.webhook]]
id = "hs"
url = "https://api.hubapi.com/"
preset = "hubspot"
token = "x"
hook_secret = "y"

[[sinks.webhook]]
id = "plain"
url = "https://crm.example.ru/hook"
hook_secret = "y"

[[sinks.webhook]]
id = "other"
url = "https://crm.example.ru/leadgate"
preset = "generic"
hook_secret = "not-a-whsec"
"#,
    )
    .expect("config");
    let routing = "levels = [\"junior\"]\n\n[[managers]]\nid = \"ivan\"\nname = \"Иван\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\ncrm_user_id = { bitrix = \"11\", b24 = \"11\", hs = \"5\" }\n\n\
                   [[managers]]\nid = \"maria\"\nname = \"Мария\"\nlevel = \"junior\"\nhours = \"mon-fri 09:00-18:00\"\ncrm_user_id = { bitrix24 = \"12\" }\n\n\
                   [[rules]]\nname = \"all\"\nlevel = \"junior\"\n";
    write_rules(dir.path(), routing);
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("managers[ivan].crm_user_id.bitrix: \"bitrix\" names no webhook sink"),
        "a misspelt key: {err}"
    );
    assert!(
        err.contains("sink \"hs\" (preset hubspot)") && err.contains("but maria has none"),
        "a manager without an id for a CRM that assigns: {err}"
    );
    assert!(
        !err.contains("sink \"b24\""),
        "maria's bitrix24 key names the b24 sink's preset: {err}"
    );
    assert!(
        err.contains("sinks.webhook[1].hook_secret: preset hubspot has no [hook]"),
        "{err}"
    );
    assert!(
        err.contains("sinks.webhook[2].hook_secret: a sink without a preset takes no CRM webhooks"),
        "{err}"
    );
    assert!(
        err.contains(
            "sinks.webhook[3].hook_secret: the generic webhook is signed like Standard Webhooks"
        ),
        "{err}"
    );
    assert!(err.contains("5 problems found"), "{err}");
}

#[test]
fn a_misspelt_key_is_an_error_not_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "[[sinks.webhook]]\nid = \"crm\"\nurl = \"http://127.0.0.1:9/x\"\nsecert = \"whsec_x\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("secert"), "{err}");
    // Each misspelling is listed, not only the first.
    write_config(
        dir.path(),
        "[server]\nlistne = \"127.0.0.1:9\"\n[admin]\ntokn = \"x\"\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"http://127.0.0.1:9/x\"\nsecert = \"whsec_x\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for typo in ["listne", "tokn", "secert"] {
        assert!(err.contains(typo), "{typo}: {err}");
    }
}

#[test]
fn environment_overrides_and_secret_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(dir.path(), "[admin]\ntoken = \"${LG_TEST_ADMIN_TOKEN}\"\n");
    let missing = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(missing.status.code(), Some(1));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("admin.token") && err.contains("${LG_TEST_ADMIN_TOKEN}"),
        "{err}"
    );
    let set = leadgate(
        &["check", "--config", "leadgate.toml"],
        dir.path(),
        &[("LG_TEST_ADMIN_TOKEN", "s3cret-admin-token-42")],
    );
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&set.stderr).contains("s3cret-admin-token-42"),
        "a secret never reaches the output"
    );
    let bad = leadgate(
        &["check", "--config", "leadgate.toml"],
        dir.path(),
        &[
            ("LG_TEST_ADMIN_TOKEN", "s3cret-admin-token-42"),
            ("LEADGATE__SERVER__LISTEN", "not-an-address"),
        ],
    );
    assert_eq!(
        bad.status.code(),
        Some(1),
        "the environment override is applied and validated"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("server.listen"));
    // An override is typed by its key: an all-digit token stays text, a count is a number.
    let digits = leadgate(
        &["check", "--config", "leadgate.toml"],
        dir.path(),
        &[
            ("LG_TEST_ADMIN_TOKEN", "s3cret-admin-token-42"),
            ("LEADGATE__ADMIN__TOKEN", "123456789012345678901234"),
            ("LEADGATE__SERVER__MAX_CONNECTIONS", "64"),
            ("LEADGATE__SERVER__TRUST_FORWARDED_FOR", "false"),
        ],
    );
    assert!(
        digits.status.success(),
        "{}",
        String::from_utf8_lossy(&digits.stderr)
    );
    let not_a_count = leadgate(
        &["check", "--config", "leadgate.toml"],
        dir.path(),
        &[
            ("LG_TEST_ADMIN_TOKEN", "s3cret-admin-token-42"),
            ("LEADGATE__SERVER__MAX_CONNECTIONS", "many"),
        ],
    );
    assert_eq!(not_a_count.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_a_count.stderr).contains("server.max_connections"));
}

#[test]
fn a_missing_config_file_is_exit_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leadgate(&["run", "--config", "nope.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
}

#[test]
fn sigterm_drains_and_exits_0_with_json_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::process::free_port();
    write_config(
        dir.path(),
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\nurl = \"sqlite://db/leadgate.db\"\n[[sinks.file]]\nid = \"f\"\npath = \"out.jsonl\"\n"
        ),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["run", "--config", "leadgate.toml", "--log-format", "json"])
        .current_dir(dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "a graceful stop exits 0");
    let log = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("every log line is JSON"))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "Stopped."),
        "{log}"
    );
    assert!(
        dir.path().join("db/leadgate.db").exists(),
        "the store directory is created on demand"
    );
}

/// A request over a plain TCP connection; the status line and the body.
fn http(port: u16, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

fn post_form(port: u16, body: &str) -> String {
    http(
        port,
        &format!(
            "POST /forms/site HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAccept: application/json\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn at_the_default_level_the_daemon_says_one_line_per_step_without_colours_in_a_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::process::free_port();
    write_config(
        dir.path(),
        &format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[[sources.webform]]\nid = \"site\"\n[[sinks.file]]\nid = \"f\"\npath = \"out.jsonl\"\n"
        ),
    );
    let log_path = dir.path().join("daemon.log");
    let child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["run", "--config", "leadgate.toml"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("LEADGATE_LOG_FORMAT")
        .stderr(std::fs::File::create(&log_path).expect("log file"))
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let accepted = post_form(port, "name=Oleg&phone=%2B79161234567&message=hello");
    assert!(accepted.starts_with("HTTP/1.1 202"), "{accepted}");
    let refused = post_form(port, "name=Oleg&phone=12");
    assert!(refused.starts_with("HTTP/1.1 422"), "{refused}");
    // The surfaces that are off say how to turn them on.
    let admin = http(
        port,
        "GET /admin/api/leads HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        admin.starts_with("HTTP/1.1 404") && admin.contains("[admin] token"),
        "{admin}"
    );
    let metrics = http(
        port,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        metrics.starts_with("HTTP/1.1 404") && metrics.contains("metrics_token"),
        "{metrics}"
    );
    while std::fs::read_to_string(dir.path().join("out.jsonl"))
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the lead was not delivered"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut child = child;
    assert_eq!(child.wait().expect("wait").code(), Some(0));
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(!log.contains('\u{1b}'), "no colour codes in a file: {log}");
    for step in [
        "Form post accepted.",
        "A post was refused",
        "no_contact",
        "Delivered.",
    ] {
        assert!(log.contains(step), "{step:?} missing from:\n{log}");
    }
    assert!(
        log.contains("New lead assigned.") || log.contains("New lead held"),
        "{log}"
    );
}

#[test]
fn the_commented_examples_check_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env = [
        ("VK_CALLBACK_SECRET", "x"),
        ("WHATSAPP_VERIFY_TOKEN", "x"),
        ("WHATSAPP_APP_SECRET", "y"),
        (
            "CRM_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("BITRIX24_WEBHOOK_CODE", "abc"),
        ("BITRIX24_OUTBOUND_TOKEN", "t0ken"),
        ("AMOCRM_TOKEN", "x"),
        ("AMOCRM_HOOK_KEY", "k3y"),
        (
            "LEADGATE_NOTIFY_BOT_TOKEN",
            "7098765432:AAM_managers-bot-token_0123456",
        ),
        ("LEADGATE_SMTP_PASSWORD", "x"),
        ("LEADGATE_LINK_SECRET", "0123456789abcdef0123456789abcdef"),
        ("SALES_IMAP_PASSWORD", "x"),
    ];
    for example in ["webform", "vk", "whatsapp", "sinks", "notify", "email"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let text = std::fs::read_to_string(root.join(format!("config/examples/{example}.toml")))
            .expect("example");
        write_config(dir.path(), &text);
        let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &env);
        assert!(
            out.status.success(),
            "{example}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `leadgate route` in the repository, with its default config and rules.
fn route(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .arg("route")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run leadgate route");
    if let Some(mut input) = child.stdin.take() {
        use std::io::Write;
        input.write_all(stdin.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("leadgate route");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn route_explains_a_lead_record_and_a_raw_sample() {
    // Monday 12:00 in Moscow: a tender goes to a senior, and the trace says why.
    let tender = r#"{"channel": "email", "text": "Просим коммерческое предложение на тендер", "contact": {"emails": ["zakupki@example.ru"]}}"#;
    let (code, out, err) = route(&["--at", "2026-11-23T09:00:00Z", "-"], tender);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("decided by \"Тендеры и опт\""), "{out}");
    assert!(out.contains("(found \"тендер\")"), "{out}");
    assert!(out.contains("level senior"), "{out}");
    assert!(out.contains("outcome: assigned to"), "{out}");

    // A raw e-mail is read by the e-mail parser first.
    let (code, out, err) = route(
        &[
            "--channel",
            "email",
            "--at",
            "2026-11-23T09:00:00Z",
            "tests/fixtures/email/utf8-plain-lead.eml",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("outcome: assigned to"), "{out}");

    // A comment feed holds several comments: each is routed or said not to be a lead.
    let (code, out, err) = route(
        &[
            "--channel",
            "blog",
            "--at",
            "2026-11-23T09:00:00Z",
            "tests/fixtures/blog/comments-feed.xml",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.matches("outcome: assigned to").count() >= 2, "{out}");
    assert!(out.contains("not a lead: spam"), "{out}");

    // A VK callback without --source is read by the community it names.
    let (code, out, err) = route(
        &[
            "--channel",
            "vk",
            "--at",
            "2026-11-23T09:00:00Z",
            "tests/fixtures/vk/message-new.json",
        ],
        "",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("outcome: assigned to"), "{out}");

    // Not JSON and no channel: told what to do, exit 1.
    let (code, _, err) = route(&["-"], "not json");
    assert_eq!(code, Some(1));
    assert!(err.contains("pass --channel"), "{err}");
}

#[test]
fn doors_that_look_locked_must_be_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "[admin]\ntoken = \"\"\n\
         [[sources.webform]]\nid = \"site\"\nsecret = \"\"\n\
         [[sources.webform]]\nid = \"tilda\"\nconnector = \"tilda\"\n\
         [[sources.vk]]\nid = \"vk\"\ngroup_id = 1\nconfirmation = \"x\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "admin.token: is empty",
        "sources.webform[0].secret: is empty",
        "sources.webform[1].secret: is missing",
        "sources.vk[0].secret: is missing",
    ] {
        assert!(err.contains(key), "{key} not in: {err}");
    }
    write_config(
        dir.path(),
        "[[sources.webform]]\nid = \"tilda\"\nconnector = \"tilda\"\nallow_unsigned = true\n\
         [[sources.vk]]\nid = \"vk\"\ngroup_id = 1\nconfirmation = \"x\"\nallow_unsigned = true\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The body of an HTTP answer, as JSON.
fn json_body(answer: &str) -> serde_json::Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// `/readyz` with its details.
fn readyz(port: u16) -> serde_json::Value {
    json_body(&http(
        port,
        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer last-good-admin-token-0123\r\n\r\n",
    ))
}

/// Starts `leadgate run` in `dir` and waits for its port.
fn start_daemon(dir: &Path, port: u16) -> std::process::Child {
    let child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["run", "--config", "leadgate.toml"])
        .current_dir(dir)
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the daemon did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

/// Stops a daemon with SIGTERM and expects a clean exit.
fn stop_daemon(child: std::process::Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let mut child = child;
    assert_eq!(child.wait().expect("wait").code(), Some(0));
}

#[test]
fn a_routing_file_that_does_not_load_at_start_leaves_the_daemon_on_the_last_good_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::process::free_port();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\nurl = \"sqlite://data/leadgate.db\"\n\
         [admin]\ntoken = \"last-good-admin-token-0123\"\n[[sources.webform]]\nid = \"site\"\n\
         [[sinks.file]]\nid = \"f\"\npath = \"out.jsonl\"\n"
    );
    std::fs::write(dir.path().join("leadgate.toml"), &config).expect("config");
    // The rules drop a contact on a list in a folder of their own.
    let good = support::daemon::always_open_routing().replace(
        "[[rules]]\nname = \"Всё остальное\"",
        "[[rules]]\nname = \"Стоп-лист\"\nwhen = { contact_in_list = \"lists/stop.txt\" }\n\
         drop = \"стоп-лист\"\n\n[[rules]]\nname = \"Всё остальное\"",
    );
    assert!(good.contains("lists/stop.txt"), "{good}");
    let routing = dir.path().join("routing.toml");
    let list = dir.path().join("lists/stop.txt");
    std::fs::create_dir_all(dir.path().join("lists")).expect("lists");
    std::fs::write(&routing, &good).expect("routing");
    std::fs::write(&list, "+79990000001\n").expect("list");

    // Without rules kept before, a file that does not load stops the start, as `check` says.
    let fresh = tempfile::tempdir().expect("tempdir");
    std::fs::write(fresh.path().join("leadgate.toml"), &config).expect("config");
    std::fs::write(fresh.path().join("routing.toml"), "levels = [\n").expect("routing");
    let refused = leadgate(&["run", "--config", "leadgate.toml"], fresh.path(), &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("routing.toml"));

    let daemon = start_daemon(dir.path(), port);
    let first = readyz(port);
    assert_eq!(first["rules"]["state"], "initial", "{first}");
    let version = first["rules"]["version"].clone();
    stop_daemon(daemon);

    // A bad edit, and the list gone, then a restart: the daemon starts on the copy it kept.
    std::fs::write(&routing, good.replace("levels = [", "levels = [[")).expect("break");
    std::fs::remove_file(&list).expect("remove list");
    let daemon = start_daemon(dir.path(), port);
    let ready = readyz(port);
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["rules"]["state"], "refused", "{ready}");
    assert_eq!(ready["rules"]["version"], version, "{ready}");
    let problems = ready["rules"]["error"].as_str().unwrap_or_default();
    assert!(problems.contains("routing.toml"), "{problems}");
    let stopped = post_form(port, "name=Spam&phone=%2B79990000001&message=buy");
    assert!(stopped.starts_with("HTTP/1.1 202"), "{stopped}");
    let kept = post_form(port, "name=Oleg&phone=%2B79161234567&message=hello");
    assert!(kept.starts_with("HTTP/1.1 202"), "{kept}");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let out = loop {
        let out = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap_or_default();
        if out.contains("+79161234567") {
            break out;
        }
        assert!(std::time::Instant::now() < deadline, "no lead delivered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        out.contains("\"anna\"") || out.contains("\"boris\""),
        "{out}"
    );
    assert!(
        !out.contains("+79990000001"),
        "the kept list still drops its contact: {out}"
    );

    // The file fixed: it reloads as any edit does.
    std::fs::write(&list, "+79990000001\n").expect("list");
    std::fs::write(&routing, &good).expect("fix");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while readyz(port)["rules"]["state"] != "reloaded" {
        assert!(std::time::Instant::now() < deadline, "{}", readyz(port));
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_daemon(daemon);

    // The file gone (renamed; a ConfigMap's key renamed): the daemon starts on the copy it
    // kept, and `check` says the file is not there.
    std::fs::rename(&routing, dir.path().join("routing.bak")).expect("move the file away");
    let checked = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert_eq!(checked.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&checked.stderr).contains("routing.toml"),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let daemon = start_daemon(dir.path(), port);
    let gone = readyz(port);
    assert_eq!(gone["status"], "ready", "{gone}");
    assert_eq!(gone["rules"]["state"], "refused", "{gone}");
    stop_daemon(daemon);
}

#[test]
fn with_watch_off_an_edit_waits_for_sighup_and_sighup_reloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::process::free_port();
    let config = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n[storage]\nurl = \"sqlite://data/leadgate.db\"\n\
         [routing]\nwatch = false\n[admin]\ntoken = \"last-good-admin-token-0123\"\n\
         [[sinks.file]]\nid = \"f\"\npath = \"out.jsonl\"\n"
    );
    std::fs::write(dir.path().join("leadgate.toml"), &config).expect("config");
    let routing = dir.path().join("routing.toml");
    let rules = support::daemon::always_open_routing();
    std::fs::write(&routing, &rules).expect("routing");
    let daemon = start_daemon(dir.path(), port);
    let version = readyz(port)["rules"]["version"].clone();
    assert!(version.is_string(), "{}", readyz(port));

    // An edit is not picked up by itself: the watcher would have reloaded within 1.3 s.
    std::fs::write(&routing, format!("{rules}\n# edited\n")).expect("edit");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(readyz(port)["rules"]["version"], version);

    // SIGHUP reloads it, and the daemon lives on (with no handler, SIGHUP would end it).
    let sent = Command::new("kill")
        .args(["-HUP", &daemon.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ready = readyz(port);
        if ready["rules"]["state"] == "reloaded" {
            assert_ne!(ready["rules"]["version"], version, "{ready}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{ready}");
        std::thread::sleep(Duration::from_millis(100));
    }
    stop_daemon(daemon);
}

#[test]
fn route_reads_a_raw_sample_as_a_named_source_for_rules_on_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "[[sources.webform]]\nid = \"site\"\n[[sources.webform]]\nid = \"partners\"\n",
    );
    let routing = support::daemon::always_open_routing().replace(
        "[[rules]]\nname = \"Всё остальное\"",
        "[[rules]]\nname = \"Партнёры\"\nwhen = { source = \"partners\" }\nlevel = \"senior\"\n\n\
         [[rules]]\nname = \"Всё остальное\"",
    );
    write_rules(dir.path(), &routing);
    let config = dir.path().join("leadgate.toml");
    let config = config.to_str().expect("path");
    let form = r#"{"phone": "+79161234567", "message": "Нужен котёл"}"#;
    let at = "2026-11-23T09:00:00Z";
    let (code, out, err) = route(
        &["--config", config, "--source", "partners", "--at", at, "-"],
        form,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("decided by \"Партнёры\""), "{out}");
    // A channel alone reads the sample as its first source.
    let (code, out, err) = route(
        &["--config", config, "--channel", "webform", "--at", at, "-"],
        form,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("decided by \"Всё остальное\""), "{out}");
    let (code, _, err) = route(&["--config", config, "--source", "nope", "-"], form);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("no source \"nope\"") && err.contains("site, partners"),
        "{err}"
    );
    let (code, _, err) = route(
        &[
            "--config",
            config,
            "--source",
            "partners",
            "--channel",
            "email",
            "-",
        ],
        form,
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("is a webform source"), "{err}");
}

#[test]
fn check_notes_a_secret_short_enough_to_guess() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        "[[sources.webform]]\nid = \"site\"\nsecret = \"abc\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("note: sources.webform[0] (site): secret is 3 characters"),
        "{said}"
    );
    assert!(
        !said.contains("abc"),
        "the secret itself is not printed: {said}"
    );
    // A channel's webhook secrets are chosen by whoever sets the hook up: said the same way.
    write_config(
        dir.path(),
        "[[sources.telegram]]\nid = \"bot\"\ntoken = \"123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789\"\nmode = \"webhook\"\nwebhook_secret = \"tg_x1\"\n\n[[sources.vk]]\nid = \"club\"\ngroup_id = 1\nconfirmation = \"c\"\nsecret = \"vk9\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains("note: sources.telegram[0] (bot): webhook_secret is 5 characters"),
        "{said}"
    );
    assert!(
        said.contains("note: sources.vk[0] (club): secret is 3 characters"),
        "{said}"
    );
    assert!(!said.contains("tg_x1") && !said.contains("vk9"), "{said}");
    write_config(
        dir.path(),
        "[[sources.webform]]\nid = \"site\"\nsecret = \"a-long-enough-form-secret\"\n",
    );
    let out = leadgate(&["check", "--config", "leadgate.toml"], dir.path(), &[]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("secret is"));
}
