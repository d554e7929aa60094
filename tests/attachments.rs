//! Files people send are reachable (issue 18): a file from each channel (a form's upload, an
//! e-mail attachment from a real Dovecot, a Telegram document through the simulated Bot API's
//! `getFile`, WhatsApp media through the simulated Cloud API, a VK photo) is kept and opened
//! through the signed link the lead record carries; a link is refused with a wrong signature
//! (403) and after it expires (410, on a manual clock); the per-file and per-lead limits hold;
//! a file that cannot be had is marked unavailable with the reason and the lead goes on; and
//! `leadgate forget` removes the file from disk. A file a form links (a builder keeps the
//! upload and posts its address) is fetched from the form's allowed hosts only, redirects
//! included.

mod support;
use support::config::{anna, managers_bot, routing};

use leadgate::clock::Clock;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::bot_api::{BotApiSim, MANAGERS_TOKEN, TOKEN as BOT_TOKEN};
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines, manual_clock};
use support::dovecot::Dovecot;
use support::file_host::{Asked, FileHost};
use support::vk_api::VkApiSim;
use support::whatsapp_api::WhatsappApiSim;

/// Long enough for anything these tests wait for.
const PATIENCE: Duration = Duration::from_secs(30);

const SINK: &str = r#"
[[sinks.file]]
id = "crm"
path = "{dir}/delivered.jsonl"
"#;

/// Bytes that are nobody's text: a PNG signature and a counter.
fn file_bytes(len: usize, seed: u8) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend((0..len.saturating_sub(8)).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    b
}

/// A multipart form body with text `fields` and `files` (name, type, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----leadgateTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (i, (name, ty, bytes)) in files.iter().enumerate() {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file{i}\"; filename=\"{name}\"\r\nContent-Type: {ty}\r\n\r\n").as_bytes());
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_form(
    daemon: &TestDaemon,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> String {
    let (content_type, body) = multipart(fields, files);
    let r = reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.expect("json");
    answer["id"].as_str().expect("id").to_string()
}

/// The `fields.attachments` of the first delivered lead whose text contains `marker`.
async fn delivered_files(dir: &Path, marker: &str) -> Vec<Value> {
    let found = eventually(PATIENCE, || async {
        file_lines(&dir.join("delivered.jsonl"))
            .into_iter()
            .find(|l| {
                l["type"] == "lead.created"
                    && l["data"]["text"]
                        .as_str()
                        .is_some_and(|t| t.contains(marker))
            })
    })
    .await
    .unwrap_or_else(|| panic!("no lead with {marker:?} delivered"));
    found["data"]["fields"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no attachments in {found}"))
}

/// The link's path and query on the test daemon (links name `[server] listen`, which the
/// test daemon does not use: it listens on a random port).
fn on(daemon: &TestDaemon, link: &str) -> String {
    let u = reqwest::Url::parse(link).expect("a link is an address");
    assert_eq!(u.path().split('/').nth(1), Some("files"), "{link}");
    daemon.url(&format!("{}?{}", u.path(), u.query().unwrap_or("")))
}

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::new().get(url).send().await.expect("get")
}

/// The file behind `link`, once the keeper has it.
async fn opened(daemon: &TestDaemon, link: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let url = on(daemon, link);
    eventually(PATIENCE, || async {
        let r = get(&url).await;
        if r.status() != 200 {
            return None;
        }
        let headers = r.headers().clone();
        Some((headers, r.bytes().await.ok()?.to_vec()))
    })
    .await
    .unwrap_or_else(|| panic!("{link} never opened"))
}

/// The JSON error a link answers, once the keeper has decided (not while it is "not kept").
async fn refusal(daemon: &TestDaemon, link: &str) -> (u16, Value) {
    let url = on(daemon, link);
    eventually(PATIENCE, || async {
        let r = get(&url).await;
        let status = r.status().as_u16();
        let body: Value = r.json().await.ok()?;
        (body["error"]["code"] != "not_kept").then_some((status, body))
    })
    .await
    .unwrap_or_else(|| panic!("{link} never decided"))
}

fn form_config(extra: &str) -> String {
    format!("[[sources.webform]]\nid = \"site\"\n{SINK}\n{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_upload_opens_through_its_link_until_it_expires_and_never_with_a_wrong_signature() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &form_config("[attachments]\nlink_ttl = \"1h\"\n"),
        &always_open_routing(),
        clock.clone(),
    )
    .await;
    let photo = file_bytes(40_000, 1);
    post_form(
        &daemon,
        &[
            ("name", "Вера"),
            ("phone", "+7 916 111-22-33"),
            ("message", "Котёл течёт, фото во вложении"),
        ],
        &[("котёл.png", "image/png", &photo)],
    )
    .await;
    let files = delivered_files(dir.path(), "Котёл течёт").await;
    assert_eq!(files[0]["name"], "котёл.png");
    assert_eq!(files[0]["size"], 40_000);
    let link = files[0]["url"]
        .as_str()
        .expect("a link in the lead record")
        .to_string();
    assert!(link.starts_with("http://127.0.0.1:8080/files/"), "{link}");

    let (headers, bytes) = opened(&daemon, &link).await;
    assert_eq!(bytes, photo);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // Kept once, under its hash, beside the database.
    let on_disk: Vec<_> = std::fs::read_dir(dir.path().join("files"))
        .expect("files folder")
        .flatten()
        .collect();
    assert_eq!(on_disk.len(), 1);
    assert_eq!(std::fs::read(on_disk[0].path()).expect("read"), photo);

    // The total kept is on /metrics.
    let metrics = daemon.metrics().await;
    let kept: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("leadgate_attachments_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no gauge in {metrics}"));
    assert!(kept >= 40_000.0, "{kept}");

    // A changed signature, another file's id, a later expiry: 403, never the file.
    let url = on(&daemon, &link);
    let (base, sig) = url.rsplit_once("sig=").expect("sig");
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let forged = format!("{base}sig={flipped}{}", &sig[1..]);
    let r = get(&forged).await;
    assert_eq!(r.status(), 403);
    assert!(
        !r.bytes()
            .await
            .expect("body")
            .windows(8)
            .any(|w| w == &photo[..8])
    );
    let other_id = url.replace(".0?", ".1?");
    assert_eq!(get(&other_id).await.status(), 403);
    let u = reqwest::Url::parse(&url).expect("url");
    let expires: i64 = u
        .query_pairs()
        .find(|(k, _)| k == "expires")
        .expect("expires")
        .1
        .parse()
        .expect("n");
    let later = url.replace(
        &format!("expires={expires}"),
        &format!("expires={}", expires + 86_400),
    );
    assert_eq!(get(&later).await.status(), 403);
    assert_eq!(
        get(&daemon.url(u.path())).await.status(),
        403,
        "no signature at all"
    );

    // After its hour, the same link is gone.
    clock.advance(chrono::Duration::minutes(61));
    let r = get(&url).await;
    assert_eq!(r.status(), 410);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "expired_link");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_file_and_per_lead_limits_hold_and_the_lead_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &form_config("[attachments]\nmax_file = \"2KiB\"\nmax_per_lead = \"3KiB\"\n"),
        &always_open_routing(),
    )
    .await;
    let a = file_bytes(1500, 2);
    let big = file_bytes(3000, 3);
    let c = file_bytes(1700, 4);
    post_form(
        &daemon,
        &[
            ("phone", "+7 916 222-33-44"),
            ("message", "Три файла к заявке"),
        ],
        &[
            ("a.png", "image/png", &a),
            ("big.png", "image/png", &big),
            ("c.png", "image/png", &c),
        ],
    )
    .await;
    let files = delivered_files(dir.path(), "Три файла").await;
    assert_eq!(files.len(), 3);
    let link = |i: usize| files[i]["url"].as_str().expect("url").to_string();
    assert_eq!(opened(&daemon, &link(0)).await.1, a);
    let (status, body) = refusal(&daemon, &link(1)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("unavailable"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_file")),
        "{body}"
    );
    let (status, body) = refusal(&daemon, &link(2)).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_per_lead")),
        "{body}"
    );
    // Only the one file within both limits is on disk.
    assert_eq!(
        std::fs::read_dir(dir.path().join("files"))
            .expect("folder")
            .count(),
        1
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_removes_the_persons_files_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &form_config(""), &always_open_routing()).await;
    let scan = file_bytes(5000, 5);
    let id = post_form(
        &daemon,
        &[
            ("phone", "+7 916 333-44-55"),
            ("message", "Скан паспорта для договора"),
        ],
        &[("passport.pdf", "application/pdf", &scan)],
    )
    .await;
    let files = delivered_files(dir.path(), "Скан паспорта").await;
    let link = files[0]["url"].as_str().expect("url").to_string();
    assert_eq!(opened(&daemon, &link).await.1, scan);
    daemon.stop().await;
    let path = dir
        .path()
        .join("files")
        .join(leadgate::digest::sha256_hex(&scan));
    assert!(path.exists());

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_leadgate"))
        .args(["forget", "--config", "leadgate.toml", "--lead", &id])
        .current_dir(dir.path())
        .env("USER", "operator")
        .output()
        .expect("run leadgate");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("files removed"), "{said}");
    assert!(said.contains("attachments 1"), "{said}");
    assert!(!path.exists(), "the file is still on disk");

    let daemon = TestDaemon::start_in(dir.path(), &form_config(""), &always_open_routing()).await;
    let r = get(&on(&daemon, &link)).await;
    assert_eq!(r.status(), 404, "a forgotten file is not served");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_document_is_fetched_through_get_file() {
    let bot = BotApiSim::start().await;
    let pdf = file_bytes(70_000, 6);
    let file_id = bot.add_file(pdf.clone(), "pdf");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.telegram]]\nid = \"tg-bot\"\ntoken = \"{BOT_TOKEN}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n{SINK}",
        bot.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    bot.push_document(
        612_345_001,
        "Олег",
        (&file_id, "смета.pdf", pdf.len()),
        "Смета на монтаж, посмотрите",
    );
    let files = delivered_files(dir.path(), "Смета на монтаж").await;
    assert_eq!(files[0]["name"], "смета.pdf");
    let link = files[0]["url"].as_str().expect("url").to_string();
    let (headers, bytes) = opened(&daemon, &link).await;
    assert_eq!(bytes, pdf);
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(bot.downloads(), 1);
    // An unknown file id: marked unavailable with the Bot API's reason, the lead goes on.
    bot.push_document(
        612_345_002,
        "Ира",
        ("AgACAgIAAxkBAAIBZ2-nope", "план.pdf", 10),
        "План квартиры",
    );
    let files = delivered_files(dir.path(), "План квартиры").await;
    let (status, body) = refusal(&daemon, files[0]["url"].as_str().expect("url")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("invalid file_id")),
        "{body}"
    );
    assert!(!body.to_string().contains(BOT_TOKEN));
    daemon.stop().await;
}

/// A voice message is a file too: the manager hears it through the lead's link, fetched with
/// `getFile` as a document is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_telegram_voice_message_is_fetched_and_opens_through_its_link() {
    let bot = BotApiSim::start().await;
    let ogg = file_bytes(20_511, 9);
    let file_id = bot.add_file(ogg.clone(), "oga");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.telegram]]\nid = \"tg-bot\"\ntoken = \"{BOT_TOKEN}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n{SINK}",
        bot.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    bot.push(serde_json::json!({"update_id": 0, "message": {
        "message_id": 77, "date": 1_795_000_000,
        "from": {"id": 612_345_003, "is_bot": false, "first_name": "Нина"},
        "chat": {"id": 612_345_003, "first_name": "Нина", "type": "private"},
        "voice": {"file_id": file_id, "duration": 4, "mime_type": "audio/ogg", "file_size": ogg.len()}
    }}));
    let files = delivered_files(dir.path(), "[голосовое сообщение]").await;
    assert_eq!(files[0]["name"], "voice.ogg");
    let link = files[0]["url"].as_str().expect("url").to_string();
    let (headers, bytes) = opened(&daemon, &link).await;
    assert_eq!(bytes, ogg);
    assert_eq!(headers["content-type"], "audio/ogg");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_file_in_the_same_conversation_is_listed_after_the_first_with_its_own_link() {
    let bot = BotApiSim::start().await;
    let (first, second) = (file_bytes(20_000, 3), file_bytes(30_000, 4));
    let first_id = bot.add_file(first.clone(), "pdf");
    let second_id = bot.add_file(second.clone(), "pdf");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.telegram]]\nid = \"tg-bot\"\ntoken = \"{BOT_TOKEN}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n{SINK}",
        bot.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    bot.push_document(
        612_345_010,
        "Олег",
        (&first_id, "план.pdf", first.len()),
        "План дома",
    );
    assert_eq!(delivered_files(dir.path(), "План дома").await.len(), 1);
    bot.push_document(
        612_345_010,
        "Олег",
        (&second_id, "смета.pdf", second.len()),
        "И смета",
    );
    let update = eventually(PATIENCE, || async {
        file_lines(&dir.path().join("delivered.jsonl"))
            .into_iter()
            .find(|l| l["type"] == "lead.updated")
    })
    .await
    .expect("the follow-up is delivered as lead.updated");
    let files = update["data"]["fields"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no attachments in {update}"));
    let names: Vec<&str> = files.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["план.pdf", "смета.pdf"], "{update}");
    // What the follow-up added names the new file, although the lead listed one already.
    let added: Vec<&str> = (update["update"]["fields"]["attachments"].as_array())
        .map(|a| a.iter().filter_map(|f| f["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(added, ["смета.pdf"], "{update}");
    for (file, bytes) in files.iter().zip([&first, &second]) {
        let (_, kept) = opened(&daemon, file["url"].as_str().expect("url")).await;
        assert_eq!(&kept, bytes);
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatsapp_media_is_fetched_with_the_numbers_token() {
    const APP_SECRET: &str = "wa-app-secret-for-tests";
    const TOKEN: &str = "EAAGm0PX4ZCpsBA-simulated-token";
    const NUMBER: &str = "402918375610294";
    let api = WhatsappApiSim::start(TOKEN, &[NUMBER]).await;
    let jpeg = file_bytes(25_000, 7);
    let media = api.add_media("image/jpeg", jpeg.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.whatsapp]]\nid = \"wa-main\"\nverify_token = \"verify-me\"\napp_secret = \"{APP_SECRET}\"\n\
         phone_number_id = \"{NUMBER}\"\naccess_token = \"{TOKEN}\"\napi_url = \"{}\"\n{SINK}",
        api.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let send = |wa_id: &str, wamid: &str, media_id: &str, caption: &str| {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "318640192847561",
            "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "78126001234", "phone_number_id": NUMBER},
                "contacts": [{"profile": {"name": "Айгуль"}, "wa_id": wa_id}],
                "messages": [{"from": wa_id, "id": wamid, "timestamp": "1795087200", "type": "image",
                    "image": {"id": media_id, "mime_type": "image/jpeg", "sha256": "x", "caption": caption}}]}}]}]})
        .to_string()
        .into_bytes()
    };
    let url = daemon.url("/hooks/whatsapp/wa-main");
    let r = support::whatsapp_api::post_signed_webhook(
        url.clone(),
        APP_SECRET,
        send("79990001122", "wamid.A1", &media, "Фото щитка"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let files = delivered_files(dir.path(), "Фото щитка").await;
    let (headers, bytes) = opened(&daemon, files[0]["url"].as_str().expect("url")).await;
    assert_eq!(bytes, jpeg);
    assert_eq!(headers["content-type"], "image/jpeg");

    // Media Meta no longer has (or never had): unavailable with the reason, the lead delivered.
    let r = support::whatsapp_api::post_signed_webhook(
        url,
        APP_SECRET,
        send("79990003344", "wamid.A2", "1045882299999999", "Второе фото"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let files = delivered_files(dir.path(), "Второе фото").await;
    let (status, body) = refusal(&daemon, files[0]["url"].as_str().expect("url")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("WhatsApp media answered 400")),
        "{body}"
    );
    assert!(!body.to_string().contains(TOKEN));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vk_photo_is_kept_in_its_largest_size_and_only_from_vk_hosts() {
    let vk = VkApiSim::start("vk1.a.community-token-for-tests").await;
    let small = file_bytes(500, 8);
    let large = file_bytes(30_000, 9);
    let small_url = vk.add_file(small);
    let large_url = vk.add_file(large.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.vk]]\nid = \"vk-community\"\ngroup_id = 218765432\nsecret = \"Tq7vX2mLp9\"\nconfirmation = \"3b9f1c7a\"\n\
         [attachments]\nvk_hosts = [\"127.0.0.1\"]\n{SINK}"
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let message = |from: i64, cmid: i64, text: &str, attachments: Value| {
        json!({"group_id": 218765432, "type": "message_new", "event_id": format!("ev-{from}-{cmid}"),
            "v": "5.199", "secret": "Tq7vX2mLp9",
            "object": {"message": {"date": 1794903120, "from_id": from, "id": 3400 + cmid, "out": 0,
                "conversation_message_id": cmid, "text": text, "peer_id": from,
                "attachments": attachments, "fwd_messages": []}}})
    };
    let photo = json!([{"type": "photo", "photo": {"id": 457239017, "owner_id": 612345678,
        "sizes": [{"type": "m", "url": small_url, "width": 130, "height": 97},
                  {"type": "w", "url": large_url, "width": 1280, "height": 960}]}},
        {"type": "doc", "doc": {"id": 1, "owner_id": 612345678, "title": "plan.pdf", "size": 10,
            "ext": "pdf", "url": "http://localhost:9/doc612345678_1"}}]);
    let r = reqwest::Client::new()
        .post(daemon.url("/hooks/vk/vk-community"))
        .json(&message(612345678, 40, "Вот фото участка", photo))
        .send()
        .await
        .expect("post");
    assert_eq!(r.text().await.expect("body"), "ok");
    let files = delivered_files(dir.path(), "Вот фото участка").await;
    assert_eq!(files.len(), 2);
    assert_eq!(
        opened(&daemon, files[0]["url"].as_str().expect("url"))
            .await
            .1,
        large
    );
    // A host outside vk_hosts is never asked.
    let (status, body) = refusal(&daemon, files[1]["url"].as_str().expect("url")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("vk_hosts")),
        "{body}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_attachment_from_a_real_mailbox_is_kept() {
    let dovecot = Dovecot::start().await;
    let pdf = file_bytes(12_000, 10);
    let encoded = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&pdf)
    };
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("ascii"))
        .collect();
    let date = leadgate::clock::Clock::now(&leadgate::clock::SystemClock).to_rfc2822();
    let mail = format!(
        "From: Ирина <irina@client.example>\r\nTo: sales@teplodom.example\r\nSubject: Запрос цены\r\n\
         Date: {date}\r\nMessage-ID: <att-1@client.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nДобрый день! Реквизиты во вложении, телефон +7 916 444-55-66\r\n\
         --b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"rekvizity.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n")
    );
    dovecot.append_all("INBOX", &[mail.into_bytes()]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "{}\n{SINK}",
        dovecot.source("sales-inbox", "poll_interval = \"1s\"")
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let files = delivered_files(dir.path(), "Реквизиты во вложении").await;
    assert_eq!(files[0]["name"], "rekvizity.pdf");
    let (headers, bytes) = opened(&daemon, files[0]["url"].as_str().expect("url")).await;
    assert_eq!(bytes, pdf);
    assert!(
        headers["content-disposition"]
            .to_str()
            .expect("ascii")
            .contains("rekvizity.pdf")
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_managers_card_links_each_file() {
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = form_config(&managers_bot(&bot.url()));
    // One manager with a Telegram chat, there at any hour.
    let one_manager = routing(&["junior"], Some(1), &[anna()]);
    let daemon = TestDaemon::start_in(dir.path(), &config, &one_manager).await;
    let photo = file_bytes(9000, 11);
    post_form(
        &daemon,
        &[
            ("phone", "+7 916 555-66-77"),
            ("message", "Фото <счётчика> & пломбы"),
        ],
        &[("счётчик <1>.png", "image/png", &photo)],
    )
    .await;
    let card = eventually(PATIENCE, || async { bot.sent_to(501).first().cloned() })
        .await
        .expect("a card");
    // The file's name is shown (escaped) as the text of a link to it.
    assert!(card.text.contains("📎 счётчик <1>.png"), "{}", card.text);
    let html = card.params["text"]
        .as_str()
        .expect("the sent HTML")
        .to_string();
    let href = html
        .split("<a href=\"")
        .nth(1)
        .and_then(|rest| rest.split_once("\">счётчик &lt;1&gt;.png</a>"))
        .map(|(href, _)| href.replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no link to the file in {html}"));
    assert_eq!(opened(&daemon, &href).await.1, photo);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_removes_old_files_from_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &form_config("[retention]\nattachments = \"1d\"\nevery = \"1m\"\n"),
        &always_open_routing(),
        clock.clone(),
    )
    .await;
    let old = file_bytes(3000, 12);
    post_form(
        &daemon,
        &[("phone", "+7 916 777-88-99"), ("message", "Старое фото")],
        &[("old.png", "image/png", &old)],
    )
    .await;
    let files = delivered_files(dir.path(), "Старое фото").await;
    let link = files[0]["url"].as_str().expect("url").to_string();
    assert_eq!(opened(&daemon, &link).await.1, old);
    let path = dir
        .path()
        .join("files")
        .join(leadgate::digest::sha256_hex(&old));
    assert!(path.exists());

    clock.advance(chrono::Duration::hours(12));
    let fresh = file_bytes(3000, 13);
    post_form(
        &daemon,
        &[("phone", "+7 916 777-88-00"), ("message", "Новое фото")],
        &[("new.png", "image/png", &fresh)],
    )
    .await;
    let files = delivered_files(dir.path(), "Новое фото").await;
    let fresh_link = files[0]["url"].as_str().expect("url").to_string();
    assert_eq!(opened(&daemon, &fresh_link).await.1, fresh);

    // A file on the shelf no record keeps (a crash between the keeper's put and its record).
    let orphan = dir
        .path()
        .join("files")
        .join(leadgate::digest::sha256_hex(b"left by a crash"));
    std::fs::write(&orphan, b"left by a crash").expect("orphan");

    // A day and a bit after the first file was kept: its record goes, and its file goes at
    // the next pass that still finds it unkept (the keeper may be recording the same bytes
    // for a new lead meanwhile); the newer one stays.
    clock.advance(chrono::Duration::hours(13));
    daemon.ran_since("stage:retention", clock.now()).await;
    assert_eq!(get(&on(&daemon, &link)).await.status(), 404);
    assert!(path.exists(), "kept until a second pass finds it unkept");
    clock.advance(chrono::Duration::minutes(1));
    daemon.ran_since("stage:retention", clock.now()).await;
    assert!(!path.exists(), "the old file is still on disk");
    assert!(
        !orphan.exists(),
        "the file no record keeps is still on disk"
    );
    assert_eq!(opened(&daemon, &fresh_link).await.1, fresh);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_a_form_links_is_fetched_from_its_allowed_hosts_only() {
    let host = FileHost::start().await;
    let plan = file_bytes(20_000, 21);
    let plan_url = host.add_file("plan.pdf", plan.clone());
    host.add_file("secret.txt", b"an internal page".to_vec());
    // The same server under a name the form does not allow, as an internal address would be.
    let elsewhere = format!("http://localhost:{}/f/secret.txt", host.port());
    let away = host.add_redirect("away", &elsewhere);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "[[sources.webform]]\nid = \"site\"\nfile_hosts = [\"127.0.0.1\"]\n\
         file_token = \"tf-personal-token\"\n{SINK}"
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let r = reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .json(
            &json!({"name": "Ольга Смирнова", "phone": "+7 911 204-33-15",
            "message": "Чертёж по ссылке L1", "file": plan_url, "file_2": elsewhere,
            "file_3": away}),
        )
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    let files = delivered_files(dir.path(), "Чертёж по ссылке L1").await;
    let names: Vec<&str> = files.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(names, ["plan.pdf", "secret.txt", "away"]);
    assert_eq!(files[0]["upload_url"], plan_url.as_str());
    assert_eq!(files[0]["type"], "application/pdf");
    let link = |i: usize| files[i]["url"].as_str().expect("a link").to_string();
    let (headers, bytes) = opened(&daemon, &link(0)).await;
    assert_eq!(bytes, plan);
    assert_eq!(headers["content-type"], "application/pdf");
    for i in [1, 2] {
        let (status, body) = refusal(&daemon, &link(i)).await;
        assert_eq!(status, 404, "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("file_hosts"), "{message}");
    }
    // Asked: the allowed file and the first hop of the redirect, with the form's token; never
    // the address on a host the form does not allow, directly or through the redirect.
    let bearer = Some("Bearer tf-personal-token".to_string());
    let mut asked = host.asked();
    asked.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(
        asked,
        [
            Asked {
                path: "/f/plan.pdf".into(),
                authorization: bearer.clone()
            },
            Asked {
                path: "/r/away".into(),
                authorization: bearer
            },
        ]
    );
    daemon.stop().await;
}
