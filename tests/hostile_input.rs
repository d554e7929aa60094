//! Hostile input against the running daemon (the real binary, so its memory is its own): every
//! public door is thrown what an attacker would throw (oversize, slow, malformed, forged, many
//! parts, unknown ids, hostile headers). Each gets its answer, nothing unexpected is stored,
//! and the daemon's resident memory stays under 100 MB throughout.

mod support;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::daemon::{always_open_routing, eventually, file_lines};
use support::raw_http::{self, RawResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "hostile-admin-token-0123456789";
const TILDA_KEY: &str = "tilda-key-7f3a9c01d2";
const VK_SECRET: &str = "vk-callback-secret-42";
const WA_SECRET: &str = "wa-app-secret-0123456789";
const RSS_LIMIT_KB: u64 = 100 * 1024;

struct Daemon {
    child: Child,
    addr: std::net::SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Daemon {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = support::process::free_port();
    let config = format!(
        r#"[storage]
url = "sqlite://{d}/leadgate.db"
[server]
listen = "127.0.0.1:{port}"
header_timeout = "1s"
body_timeout = "2s"
max_connections = 64
body_memory = "8MiB"
trust_forwarded_for = true
[admin]
token = "{ADMIN}"
[routing]
watch = false
[[sources.webform]]
id = "site"
allowed_origins = ["https://shop.example"]
rate_per_minute = 100000
rate_burst = 100000
[[sources.webform]]
id = "strict"
rate_per_minute = 1
rate_burst = 3
[[sources.webform]]
id = "tilda-site"
connector = "tilda"
secret = "{TILDA_KEY}"
rate_per_minute = 100000
rate_burst = 100000
[[sources.webform]]
id = "typeform-open"
connector = "typeform"
allow_unsigned = true
[[sources.vk]]
id = "vk"
group_id = 1
confirmation = "abc123"
secret = "{VK_SECRET}"
[[sources.whatsapp]]
id = "wa"
verify_token = "wa-verify-token-0123"
app_secret = "{WA_SECRET}"
[[sinks.file]]
id = "record"
path = "{d}/delivered.jsonl"
"#,
        d = dir.path().display()
    );
    std::fs::write(dir.path().join("leadgate.toml"), config).expect("config");
    support::daemon::write_rules(dir.path(), &always_open_routing());
    let log = std::fs::File::create(dir.path().join("daemon.log")).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["run", "--config"])
        .arg(dir.path().join("leadgate.toml"))
        // Debug: the request log must not show the secrets in query strings even then.
        .env("RUST_LOG", "info,leadgate=debug,tower_http=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start leadgate");
    Daemon {
        child,
        addr: ([127, 0, 0, 1], port).into(),
        dir,
    }
}

/// Resident memory of `pid` in KiB, sampled until dropped; the peak is kept.
fn watch_rss(pid: u32) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let peak = Arc::new(AtomicU64::new(0));
    let seen = peak.clone();
    let task = tokio::spawn(async move {
        loop {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
                && let Some(kb) = status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                seen.fetch_max(kb, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    (peak, task)
}

/// A request with `Host` and `Content-Length` filled in.
fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: leads.example\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let framed = headers.iter().any(|(k, _)| {
        k.eq_ignore_ascii_case("transfer-encoding") || k.eq_ignore_ascii_case("content-length")
    });
    if !framed {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn form(path: &str, body: &str) -> Vec<u8> {
    request(
        "POST",
        path,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ],
        body.as_bytes(),
    )
}

fn multipart(parts: &[(String, Option<String>, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, data) in parts {
        body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name.as_bytes());
        body.push(b'"');
        if let Some(f) = file {
            body.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
        }
        body.extend_from_slice(b"\r\n\r\n");
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XyZ--\r\n");
    request(
        "POST",
        "/forms/site",
        &[
            ("Content-Type", "multipart/form-data; boundary=XyZ"),
            ("Accept", "application/json"),
        ],
        &body,
    )
}

fn contact_fields() -> Vec<(String, Option<String>, Vec<u8>)> {
    vec![
        ("name".into(), None, "Ирина".as_bytes().to_vec()),
        ("phone".into(), None, b"+7 916 123-45-67".to_vec()),
    ]
}

fn vk_event(secret: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"type":"message_new","group_id":1,"secret":"{secret}","event_id":"e1","object":{{"message":{{"id":5,"from_id":100,"peer_id":100,"conversation_message_id":7,"text":"Нужна цена, +79161234567","date":1700000000}}}}}}"#
    );
    request(
        "POST",
        "/hooks/vk/vk",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
}

/// Opens a connection and writes `bytes`; the stream stays open for the caller.
async fn open_with(addr: std::net::SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(bytes).await.expect("write");
    s
}

/// Reads until the server closes the connection or `within` passes; the bytes and whether it
/// was closed.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

fn status_of(bytes: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(bytes);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    status: u16,
    stores: bool,
}

fn case(name: &'static str, bytes: Vec<u8>, status: u16) -> Case {
    Case {
        name,
        bytes,
        status,
        stores: false,
    }
}

fn stored(name: &'static str, bytes: Vec<u8>, status: u16) -> Case {
    Case {
        name,
        bytes,
        status,
        stores: true,
    }
}

fn matrix() -> Vec<Case> {
    let big_text = format!(
        "name=Ирина&phone=%2B79161234567&message={}",
        "ж".repeat(30_000)
    );
    let many_empty_files: Vec<_> = (0..5_000)
        .map(|i| (format!("f{i}"), Some(String::new()), Vec::new()))
        .collect();
    let mut eleven_files = contact_fields();
    eleven_files
        .extend((0..11).map(|i| ("photo".into(), Some(format!("{i}.jpg")), vec![1u8; 100])));
    let mut long_name = contact_fields();
    long_name.push(("n".repeat(300), None, b"x".to_vec()));
    let mut boiler = contact_fields();
    boiler.push(("photo".into(), Some("котёл.jpg".into()), vec![7u8; 300_000]));
    let wa_body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    let tilda = |key: &str| {
        request(
            "POST",
            &format!("/hooks/tilda/tilda-site?key={key}"),
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "Name=Kirill&Phone=%2B79219087766&tranid=1%3A2".as_bytes(),
        )
    };
    vec![
        stored(
            "a valid form",
            form(
                "/forms/site",
                "name=Ирина&phone=%2B79161234567&message=котёл",
            ),
            202,
        ),
        stored(
            "a form's text over the record's limit is cut, not refused",
            form("/forms/site", &big_text),
            202,
        ),
        stored("a photo of a broken boiler", multipart(&boiler), 202),
        case(
            "text over 64 KiB",
            form("/forms/site", &format!("phone=1&m={}", "a".repeat(70_000))),
            413,
        ),
        case(
            "an announced 11 MiB upload, no body sent",
            request(
                "POST",
                "/forms/site",
                &[
                    ("Content-Type", "multipart/form-data; boundary=XyZ"),
                    ("Content-Length", "11534336"),
                ],
                b"",
            ),
            413,
        ),
        case("5,000 empty file parts", multipart(&many_empty_files), 413),
        case("11 files", multipart(&eleven_files), 413),
        case("a 300-byte field name", multipart(&long_name), 400),
        case(
            "JSON that does not parse",
            request(
                "POST",
                "/forms/site",
                &[("Content-Type", "application/json")],
                b"{\"name\": \"x",
            ),
            400,
        ),
        case(
            "a JSON array",
            request(
                "POST",
                "/forms/site",
                &[("Content-Type", "application/json")],
                b"[1,2]",
            ),
            400,
        ),
        case(
            "deep JSON",
            request(
                "POST",
                "/forms/site",
                &[("Content-Type", "application/json")],
                format!("{{\"a\":{}1{}}}", "[".repeat(5_000), "]".repeat(5_000)).as_bytes(),
            ),
            400,
        ),
        case(
            "text/plain",
            request(
                "POST",
                "/forms/site",
                &[("Content-Type", "text/plain")],
                b"hi",
            ),
            415,
        ),
        case(
            "no content type",
            request("POST", "/forms/site", &[], b"phone=1"),
            415,
        ),
        case(
            "a broken chunk",
            request(
                "POST",
                "/forms/site",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Transfer-Encoding", "chunked"),
                ],
                b"5\r\nphone\r\nZZZ\r\nxx\r\n0\r\n\r\n",
            ),
            400,
        ),
        case(
            "bytes that are not UTF-8",
            form("/forms/site", "name=%FF%FE&phone=%2B79161234567"),
            400,
        ),
        case(
            "no way to answer",
            form("/forms/site", "name=Ирина&phone=916+12"),
            422,
        ),
        case(
            "a form that does not exist",
            form("/forms/nope", "phone=%2B79161234567"),
            404,
        ),
        case(
            "a foreign origin",
            request(
                "POST",
                "/forms/site",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Origin", "https://evil.example"),
                ],
                b"phone=%2B79161234567",
            ),
            403,
        ),
        stored("Tilda with its key", tilda(TILDA_KEY), 200),
        case("Tilda with a wrong key", tilda("guess"), 401),
        case(
            "Tilda with no key",
            request(
                "POST",
                "/hooks/tilda/tilda-site",
                &[("Content-Type", "application/x-www-form-urlencoded")],
                b"Name=K&Phone=%2B79219087766",
            ),
            401,
        ),
        case(
            "a Tilda post to another connector's path",
            request(
                "POST",
                "/hooks/wix/tilda-site",
                &[("Content-Type", "application/json")],
                b"{}",
            ),
            404,
        ),
        case("VK with a wrong secret", vk_event("wrong"), 403),
        stored("VK with its secret", vk_event(VK_SECRET), 200),
        case(
            "VK to an unknown community",
            request(
                "POST",
                "/hooks/vk/nope",
                &[("Content-Type", "application/json")],
                b"{}",
            ),
            404,
        ),
        case(
            "1 MB announced to an unknown community, not sent: refused before the body",
            request(
                "POST",
                "/hooks/vk/nope",
                &[
                    ("Content-Type", "application/json"),
                    ("Content-Length", "1000000"),
                ],
                b"",
            ),
            404,
        ),
        case(
            "a forged Tilda post refused before its body",
            request(
                "POST",
                "/hooks/tilda/tilda-site?key=guess",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Content-Length", "60000"),
                ],
                b"",
            ),
            401,
        ),
        case(
            "WhatsApp without a signature",
            request(
                "POST",
                "/hooks/whatsapp/wa",
                &[("Content-Type", "application/json")],
                wa_body,
            ),
            401,
        ),
        case(
            "WhatsApp with a forged signature",
            request(
                "POST",
                "/hooks/whatsapp/wa",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Hub-Signature-256", "sha256=00"),
                ],
                wa_body,
            ),
            401,
        ),
        case(
            "WhatsApp's handshake with a wrong token",
            request(
                "GET",
                "/hooks/whatsapp/wa?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1",
                &[],
                b"",
            ),
            403,
        ),
        case(
            "a Telegram webhook nobody configured",
            request(
                "POST",
                "/hooks/telegram/nope",
                &[("Content-Type", "application/json")],
                b"{}",
            ),
            404,
        ),
        case(
            "a 100 KB header",
            request("GET", "/healthz", &[("X-Junk", &"j".repeat(100_000))], b""),
            431,
        ),
        case(
            "the admin API without a token",
            request("GET", "/admin/api/leads", &[], b""),
            401,
        ),
        case(
            "the admin API with a wrong token",
            request(
                "GET",
                "/admin/api/leads",
                &[("Authorization", "Bearer guess-guess-guess-guess")],
                b"",
            ),
            401,
        ),
        case(
            "/metrics without a token",
            request("GET", "/metrics", &[], b""),
            401,
        ),
        case(
            "a path that is not there",
            request("GET", "/../../etc/passwd", &[], b""),
            404,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_input_is_answered_stores_nothing_unexpected_and_memory_stays_bounded() {
    let daemon = start();
    let addr = daemon.addr;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let up = eventually(Duration::from_secs(30), || async {
        client
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    assert!(up.is_some(), "the daemon did not come up");
    let (peak, sampler) = watch_rss(daemon.child.id());
    let mut problems = Vec::new();
    let mut expect_stored = 0usize;

    // 1. The matrix, one request each.
    for c in matrix() {
        let r: RawResponse = raw_http::send(addr, &c.bytes).await;
        if r.status != c.status {
            problems.push(format!(
                "{}: {} (wanted {}): {}",
                c.name,
                r.status,
                c.status,
                String::from_utf8_lossy(&r.body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ));
        }
        expect_stored += usize::from(c.stores && r.status == c.status);
    }

    // 2. A client that rotates the leftmost X-Forwarded-For entry is still one client.
    let mut statuses = Vec::new();
    for i in 0..8 {
        let xff = format!("10.9.{i}.{i}, 198.51.100.7");
        let bytes = request(
            "POST",
            "/forms/strict",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
                ("X-Forwarded-For", &xff),
            ],
            b"phone=%2B79161234567",
        );
        statuses.push(raw_http::send(addr, &bytes).await.status);
    }
    if statuses.iter().filter(|s| **s == 202).count() != 3 || !statuses.contains(&429) {
        problems.push(format!(
            "rotating X-Forwarded-For: {statuses:?} (wanted 3 accepted, then 429)"
        ));
    }
    expect_stored += statuses.iter().filter(|s| **s == 202).count();

    // 3. Slow and idle clients are cut off.
    let started = Instant::now();
    let mut slow_header = open_with(addr, b"POST /forms/site HTTP/1.1\r\nHost: x\r\n").await;
    let (_, closed) = read_until_closed(&mut slow_header, Duration::from_secs(6)).await;
    if !closed {
        problems.push("a slow header was still open after 6 s".into());
    }
    let mut idle = open_with(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(6)).await;
    if status_of(&answer) != Some(200) || !closed {
        problems.push(format!(
            "an idle keep-alive: status {:?}, closed {closed}",
            status_of(&answer)
        ));
    }
    let mut slow_body = open_with(
        addr,
        b"POST /forms/site HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\nphone=",
    )
    .await;
    let trickle = tokio::spawn(async move {
        for _ in 0..40 {
            if slow_body.write_all(b"1").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        read_until_closed(&mut slow_body, Duration::from_secs(3)).await
    });
    let (answer, _) = trickle.await.expect("trickle");
    if status_of(&answer) != Some(408) {
        problems.push(format!(
            "a trickled body: {:?}",
            String::from_utf8_lossy(&answer)
        ));
    }
    let cut_off_in = started.elapsed();

    // 4. 300 half-open connections (more than max_connections): all closed, and the door
    //    is open again afterwards.
    let mut half_open = Vec::new();
    for _ in 0..300 {
        half_open
            .push(open_with(addr, b"POST /forms/site HTTP/1.1\r\nHost: x\r\nContent-Le").await);
    }
    let mut still_open = 0;
    for s in &mut half_open {
        let (_, closed) = read_until_closed(s, Duration::from_secs(15)).await;
        still_open += usize::from(!closed);
    }
    if still_open > 0 {
        problems.push(format!(
            "{still_open} of 300 half-open connections still open after 15 s"
        ));
    }
    drop(half_open);
    let after = raw_http::send(addr, &form("/forms/site", "name=Олег&phone=%2B79031234567")).await;
    if after.status != 202 {
        problems.push(format!("a form after the flood: {}", after.status));
    }
    expect_stored += usize::from(after.status == 202);

    // 5. 40 bodies of 900 KB that never finish, to a known community: the body budget
    //    (8 MiB) turns most away at once, the deadline ends the rest.
    let mut stalled = Vec::new();
    for _ in 0..40 {
        let mut bytes = request(
            "POST",
            "/hooks/vk/vk",
            &[
                ("Content-Type", "application/json"),
                ("Content-Length", "1000000"),
            ],
            b"",
        );
        bytes.extend(std::iter::repeat_n(b' ', 900_000));
        stalled.push(tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.expect("connect");
            let _ = s.write_all(&bytes).await;
            read_until_closed(&mut s, Duration::from_secs(8)).await
        }));
    }
    let mut stalled_statuses = Vec::new();
    for t in stalled {
        let (answer, _) = t.await.expect("stalled");
        stalled_statuses.push(status_of(&answer));
    }
    let busy = stalled_statuses.iter().filter(|s| **s == Some(503)).count();
    let timed_out = stalled_statuses.iter().filter(|s| **s == Some(408)).count();
    if busy + timed_out != 40 || busy == 0 {
        problems.push(format!("stalled 900 KB bodies: {stalled_statuses:?}"));
    }

    // 6. What was stored: exactly the accepted items.
    let inbound = eventually(Duration::from_secs(10), || async {
        let v: serde_json::Value = client
            .get(format!("http://{addr}/admin/api/inbound?limit=500"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let items = v["items"].as_array()?.clone();
        (items.len() >= expect_stored).then_some(items)
    })
    .await
    .unwrap_or_default();
    if inbound.len() != expect_stored {
        problems.push(format!(
            "{} items stored, {expect_stored} expected",
            inbound.len()
        ));
    }
    let delivered = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&daemon.dir.path().join("delivered.jsonl"));
        lines
            .iter()
            .any(|l| {
                l["data"]["text"]
                    .as_str()
                    .is_some_and(|t| t.contains("more characters cut"))
            })
            .then_some(lines)
    })
    .await;
    match delivered {
        Some(lines) => {
            let longest = lines
                .iter()
                .map(|l| serde_json::to_string(l).map_or(0, |s| s.len()))
                .max()
                .unwrap_or(0);
            if longest > 100_000 {
                problems.push(format!("a delivered line of {longest} bytes"));
            }
        }
        None => problems.push("the long text was not delivered cut with its marker".into()),
    }

    // 7. The public status says only ready; the details need the token.
    let public: serde_json::Value = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    if public != serde_json::json!({"status": "ready"}) {
        problems.push(format!("public /readyz shows {public}"));
    }

    sampler.abort();
    let peak_kb = peak.load(Ordering::Relaxed);
    let log = std::fs::read_to_string(daemon.dir.path().join("daemon.log")).unwrap_or_default();
    if log.contains(TILDA_KEY) {
        problems.push("the Tilda key is in the log".into());
    }
    if !log.contains("allow_unsigned = true") || !log.contains("typeform-open") {
        problems.push("no warning at start about the source taking unproven posts".into());
    }
    if !log.contains("/hooks/tilda/tilda-site") {
        problems.push("the request log at debug names no request (is it on?)".into());
    }
    eprintln!(
        "peak RSS {} MiB; slow clients cut off in {:.1} s",
        peak_kb / 1024,
        cut_off_in.as_secs_f64()
    );
    if peak_kb > RSS_LIMIT_KB {
        problems.push(format!("peak RSS {} MiB", peak_kb / 1024));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
