//! Issue 20, item 10: a mailbox whose server has a self-signed certificate made the usual way
//! (`openssl req -x509`, which marks it as a CA, so `ca_file` cannot trust it:
//! `CaUsedAsEndEntity`). Against a real Dovecot: the certificate pinned by its file or its
//! SHA-256 fingerprint is accepted over TLS and STARTTLS, whatever name it carries; a wrong pin
//! is refused before the login, and nothing is read. `leadgate check --connect` prints the
//! fingerprint the server presents (as openssl computes it) with the line that pins it, and
//! exits 1 until it is pinned, 0 after. A server that presents the pinned certificate without
//! its key (TLS 1.2 and 1.3) is refused: the handshake signature is checked.

mod support;

use serde_json::Value;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::certs::{self, Issuer};
use support::daemon::{TestDaemon, default_routing, eventually, write_rules};
use support::dovecot::{Dovecot, PASSWORD, lead_mail};
use support::sink::Sink;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_rustls::rustls::{self, pki_types::pem::PemObject};

/// Long enough for anything these tests wait for; a failure, not a slow pass, is what hits it.
const PATIENCE: Duration = Duration::from_secs(90);

/// The daemon's config with these `[[sources.email]]` tables.
fn config_with(sources: &str, sink: &Sink) -> String {
    format!(
        "{sources}\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\n",
        sink.url()
    )
}

/// A Dovecot with a certificate made the usual way, checked to be what the issue is about.
async fn dovecot_with_a_ca_flagged_certificate() -> Dovecot {
    let dovecot = Dovecot::start_tls(Issuer::SelfSignedCa).await;
    assert!(
        certs::is_ca(dovecot.server_cert()),
        "openssl req -x509 marks the certificate as a CA"
    );
    dovecot
}

/// What the daemon stored, in arrival order.
async fn inbound(daemon: &TestDaemon) -> Vec<Value> {
    daemon.admin_get("/admin/api/inbound?limit=1000").await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until the mailbox `id` is failing in `/readyz`; its last error.
async fn failing(daemon: &TestDaemon, id: &str) -> String {
    let name = format!("email:{id}:INBOX");
    let state = eventually(PATIENCE, || async {
        let s = daemon.component(&name).await;
        (s["state"] == "failing").then_some(s)
    })
    .await;
    let Some(state) = state else {
        panic!("{id} is not failing: {}", daemon.component(&name).await);
    };
    state["last_error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_flagged_self_signed_certificate_pinned_by_file_or_fingerprint_is_read() {
    let dovecot = dovecot_with_a_ca_flagged_certificate().await;
    let fingerprint = certs::fingerprint(dovecot.server_cert());
    let file = format!("tls_certificate = \"{}\"", dovecot.server_cert().display());
    let bare = fingerprint.replace(':', "").to_lowercase();
    // The certificate names mail.teplodom.example; the sources connect to localhost.
    let sources = [
        dovecot.tls_source("file-tls", "tls", &file),
        dovecot.tls_source("file-starttls", "starttls", &file),
        dovecot.tls_source(
            "fingerprint-tls",
            "tls",
            &format!("tls_fingerprint = \"sha256:{fingerprint}\""),
        ),
        dovecot.tls_source(
            "fingerprint-starttls",
            "starttls",
            &format!("tls_fingerprint = \"{bare}\""),
        ),
    ];
    dovecot.append_all("INBOX", &[lead_mail("pinned", 1)]).await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config_with(&sources.concat(), &sink),
        &default_routing(),
    )
    .await;
    let ids = [
        "file-tls",
        "file-starttls",
        "fingerprint-tls",
        "fingerprint-starttls",
    ];
    let read = eventually(PATIENCE, || async {
        let items = inbound(&daemon).await;
        let read: Vec<&str> = ids
            .into_iter()
            .filter(|id| {
                items.iter().any(|i| {
                    // Keyed by its Message-ID, then a digest of its headers.
                    let key = i["dedupe_key"].as_str().unwrap_or("");
                    i["source"] == *id && key.starts_with("<pinned-1@mail.example.ru> ")
                })
            })
            .collect();
        (read.len() == ids.len()).then_some(())
    })
    .await;
    assert!(
        read.is_some(),
        "every pinned source read the message: {:#?}\n--- dovecot log ---\n{}",
        inbound(&daemon).await,
        dovecot.log()
    );
    for id in ids {
        let state = daemon.component(&format!("email:{id}:INBOX")).await;
        assert_eq!(state["state"], "ok", "{id}: {state}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_and_a_ca_file_are_refused_before_the_login_and_nothing_is_read() {
    let dovecot = dovecot_with_a_ca_flagged_certificate().await;
    dovecot
        .append_all("INBOX", &[lead_mail("wrong-pin", 1)])
        .await;
    let logins = |log: String| log.matches("Login: user=<").count();
    let appended = logins(dovecot.log());
    let presented = certs::fingerprint(dovecot.server_cert());
    let scratch = tempfile::tempdir().expect("tempdir");
    let other = certs::make(scratch.path(), Issuer::SelfSignedCa);
    let pinned = certs::fingerprint(&other.server_cert);
    let sources = [
        dovecot.tls_source(
            "wrong-file-tls",
            "tls",
            &format!("tls_certificate = \"{}\"", other.server_cert.display()),
        ),
        dovecot.tls_source(
            "wrong-fingerprint-starttls",
            "starttls",
            &format!("tls_fingerprint = \"sha256:{pinned}\""),
        ),
        dovecot.tls_source(
            "ca-file-tls",
            "tls",
            &format!("ca_file = \"{}\"", dovecot.server_cert().display()),
        ),
    ];
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config_with(&sources.concat(), &sink),
        &default_routing(),
    )
    .await;
    for id in ["wrong-file-tls", "wrong-fingerprint-starttls"] {
        let error = failing(&daemon, id).await;
        assert!(error.contains("is not the pinned one"), "{id}: {error}");
        assert!(
            error.contains(&format!("presented the certificate sha256:{presented}")),
            "{id}: {error}"
        );
        assert!(
            error.contains(&format!("not the pinned sha256:{pinned}")),
            "{id}: {error}"
        );
    }
    let error = failing(&daemon, "ca-file-tls").await;
    assert!(error.contains("CaUsedAsEndEntity"), "{error}");
    assert!(
        error.contains("tls_certificate or tls_fingerprint"),
        "{error}"
    );
    assert!(inbound(&daemon).await.is_empty(), "nothing was read");
    assert!(sink.received().is_empty());
    daemon.stop().await;
    assert_eq!(
        logins(dovecot.log()),
        appended,
        "only the test's own APPEND logged in:\n{}",
        dovecot.log()
    );
}

/// Runs `leadgate` with `args` in `dir`.
async fn leadgate(args: &[&str], dir: &Path) -> (Option<i32>, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(args)
        .current_dir(dir)
        .env_remove("LEADGATE_LOG_FORMAT")
        .output()
        .await
        .expect("run leadgate");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `leadgate.toml` with these sources (and the default rules) into `dir`.
fn write_config(dir: &Path, sources: &str) {
    let config = format!("{sources}\n[[sinks.file]]\nid = \"file\"\npath = \"leads.jsonl\"\n");
    std::fs::write(dir.join("leadgate.toml"), config).expect("config");
    write_rules(dir, &default_routing());
}

const CHECK_CONNECT: [&str; 4] = ["check", "--config", "leadgate.toml", "--connect"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_prints_the_fingerprint_to_pin_and_exits_1_until_it_is_pinned() {
    let dovecot = dovecot_with_a_ca_flagged_certificate().await;
    dovecot.append_all("INBOX", &[lead_mail("check", 1)]).await;
    let fingerprint = certs::fingerprint(dovecot.server_cert());
    let ca_file = format!("ca_file = \"{}\"", dovecot.server_cert().display());
    let file = format!("tls_certificate = \"{}\"", dovecot.server_cert().display());
    let dir = tempfile::tempdir().expect("tempdir");
    write_config(
        dir.path(),
        &[
            dovecot.tls_source("ca-file", "tls", &ca_file),
            dovecot.tls_source("public-roots", "starttls", ""),
            dovecot
                .tls_source("wrong-password", "tls", &file)
                .replace(PASSWORD, "not-the-password"),
            dovecot.tls_source("pinned", "starttls", &file),
        ]
        .concat(),
    );

    let (offline, out, err) = leadgate(&["check", "--config", "leadgate.toml"], dir.path()).await;
    assert_eq!(
        offline,
        Some(0),
        "without --connect nothing is tried: {out}{err}"
    );

    let (code, out, err) = leadgate(&CHECK_CONNECT, dir.path()).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains(&format!(
            "mailbox \"pinned\" (localhost:{}, starttls): ok, logged in as \"sales\"; INBOX: 1 message",
            dovecot.port
        )),
        "{out}"
    );
    let pin_line = format!("tls_fingerprint = \"sha256:{fingerprint}\"");
    for (id, instead) in [("ca-file", ", in place of ca_file:"), ("public-roots", ":")] {
        let report = err
            .split("leadgate.toml: ")
            .find(|r| r.starts_with(&format!("mailbox \"{id}\"")))
            .unwrap_or_else(|| panic!("{id} is reported: {err}"));
        assert!(
            report.contains("certificate of localhost was refused"),
            "{report}"
        );
        assert!(
            report.contains(&format!(
                "the server presents the certificate sha256:{fingerprint}"
            )),
            "the fingerprint openssl computes: {report}"
        );
        assert!(
            report.contains(&format!("[[sources.email]] table{instead}")),
            "{report}"
        );
        assert!(report.contains(&pin_line), "{report}");
    }
    let wrong = err
        .split("leadgate.toml: ")
        .find(|r| r.starts_with("mailbox \"wrong-password\""))
        .unwrap_or_else(|| panic!("the wrong password is reported: {err}"));
    assert!(wrong.contains("login refused as \"sales\""), "{wrong}");
    assert!(
        !wrong.contains("tls_fingerprint"),
        "the certificate was fine: {wrong}"
    );
    assert!(err.contains("3 problems found"), "{err}");
    assert!(!format!("{out}{err}").contains(PASSWORD));

    // The line printed, pasted as it is, is a pin that works, over TLS and STARTTLS.
    let printed = err
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tls_fingerprint = "))
        .expect("the line to add");
    write_config(
        dir.path(),
        &[
            dovecot.tls_source("pasted-tls", "tls", printed),
            dovecot.tls_source("pasted-starttls", "starttls", printed),
            dovecot.tls_source("file-tls", "tls", &file),
        ]
        .concat(),
    );
    let (code, out, err) = leadgate(&CHECK_CONNECT, dir.path()).await;
    assert_eq!(code, Some(0), "{out}{err}");
    for id in ["pasted-tls", "pasted-starttls", "file-tls"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("mailbox \"{id}\"")) && l.contains("): ok")),
            "{id}: {out}"
        );
    }
    assert!(out.contains("leadgate.toml: ok (3 sources"), "{out}");
}

/// A TLS server that presents `cert` but signs its handshake with `key`, then speaks just
/// enough IMAP to be logged in to: a greeting, and `NO` to every command, each kept.
async fn impostor(
    cert: &Path,
    key: &Path,
    version: &'static rustls::SupportedProtocolVersion,
) -> (u16, Arc<Mutex<Vec<String>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cert = rustls::pki_types::CertificateDer::from_pem_file(cert).expect("cert");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key).expect("key");
    let signing = provider.key_provider.load_private_key(key).expect("key");
    // `CertifiedKey::new` does not check that the key is the certificate's: an impostor's.
    let certified = rustls::sign::CertifiedKey::new(vec![cert], signing);
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let kept = heard.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let (read, mut write) = tokio::io::split(tls);
            let _ = write
                .write_all(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
                .await;
            let mut lines = BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let tag = line.split(' ').next().unwrap_or("*").to_string();
                kept.lock().expect("lock").push(line);
                let _ = write.write_all(format!("{tag} NO no\r\n").as_bytes()).await;
            }
        }
    });
    (port, heard)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_the_pinned_certificate_but_not_its_key_is_refused() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let genuine = certs::make(&scratch.path().join("genuine"), Issuer::SelfSignedCa);
    let stranger = certs::make(&scratch.path().join("stranger"), Issuer::SelfSignedCa);
    let pin = format!("tls_certificate = \"{}\"", genuine.server_cert.display());
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        // With the certificate's own key, the server gets as far as the login: the control.
        let (port, heard) = impostor(&genuine.server_cert, &genuine.server_key, version).await;
        let source = |id: &str, port: u16| {
            format!(
                "[[sources.email]]\nid = \"{id}\"\nhost = \"127.0.0.1\"\nport = {port}\n\
                 tls = \"tls\"\nuser = \"sales\"\npassword = \"{PASSWORD}\"\n{pin}\n"
            )
        };
        let dir = tempfile::tempdir().expect("tempdir");
        write_config(dir.path(), &source("genuine", port));
        let (code, out, err) = leadgate(&CHECK_CONNECT, dir.path()).await;
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(err.contains("login refused"), "{version:?}: {err}");
        assert!(
            heard
                .lock()
                .expect("lock")
                .iter()
                .any(|l| l.contains("LOGIN")),
            "{version:?}"
        );

        let (port, heard) = impostor(&genuine.server_cert, &stranger.server_key, version).await;
        write_config(dir.path(), &source("impostor", port));
        let (code, out, err) = leadgate(&CHECK_CONNECT, dir.path()).await;
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(
            err.contains("signature does not verify with that certificate's key"),
            "{version:?}: {err}"
        );
        assert!(
            !err.contains("tls_fingerprint ="),
            "pinning it again would not help: {err}"
        );
        assert!(
            heard.lock().expect("lock").is_empty(),
            "{version:?}: the impostor heard nothing"
        );
    }
}
