//! The admin console (issue 16): in a real headless Chromium an admin signs in, finds a lead by
//! phone, reads its journey (lead text shown as text), replays a dead letter, turns a kept-out
//! item into a lead, reads a report; over plain HTTP, the session cookie's flags, its expiry,
//! the CSRF check on every POST, the CSP, a wrong token refused, keyset paging and the CSV
//! export, "this is a lead" and "re-route now" end to end to the CRM sink, the rules tester on
//! a lead record, reports computed from the test's own leads (declines by reason, time to the
//! CRM, time to take in working hours), and everything off without an admin token.

mod support;

use fantoccini::Locator;
use reqwest::redirect::Policy;
use std::time::Duration;
use support::browser::Browser;
use support::daemon::{
    ADMIN_TOKEN, API_TOKEN, TestDaemon, always_open_routing, eventually, manual_clock,
};
use support::sink::Sink;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(sink: &Sink) -> String {
    format!(
        r#"
[[sources.webform]]
id = "site"
honeypot = "website"
rate_per_minute = 600
rate_burst = 200

[[sinks.webhook]]
id = "crm"
url = "{}"
secret = "{SECRET}"
timeout = "2s"
"#,
        sink.url()
    )
}

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// Signs in over HTTP; returns the `Cookie` header value of the session.
async fn sign_in(daemon: &TestDaemon) -> String {
    let res = client()
        .post(daemon.url("/admin/sign-in"))
        .form(&[("token", ADMIN_TOKEN), ("back", "/admin/leads")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), 303, "a right token signs in");
    let set = res
        .headers()
        .get("set-cookie")
        .expect("a session cookie")
        .to_str()
        .expect("text")
        .to_string();
    set.split(';').next().expect("name=value").to_string()
}

async fn get(daemon: &TestDaemon, cookie: &str, path: &str) -> reqwest::Response {
    client()
        .get(daemon.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("get")
}

/// The CSRF token a signed-in page carries in its forms.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..].split('"').next().expect("a value").to_string()
}

async fn post_form(daemon: &TestDaemon, form: &[(&str, &str)]) -> String {
    let r: serde_json::Value = reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    r["id"].as_str().expect("id").to_string()
}

/// Waits until `n` leads are stored.
async fn leads_stored(daemon: &TestDaemon, n: usize) {
    let seen = eventually(Duration::from_secs(10), || async {
        let l = daemon.admin_get("/admin/api/leads?limit=500").await;
        (l["items"].as_array().map(Vec::len) == Some(n)).then_some(())
    })
    .await;
    assert!(seen.is_some(), "{n} leads were not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_strict_and_every_answer_has_the_csp() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &always_open_routing()).await;

    // Not signed in: the page sends to the sign-in form, keeping where it was going.
    let res = client()
        .get(daemon.url("/admin/leads?q=1"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers()["location"],
        "/admin/sign-in?back=%2Fadmin%2Fleads%3Fq%3D1"
    );
    let res = client()
        .get(daemon.url("/admin/sign-in"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-security-policy"],
        leadgate::http::console::CSP
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert!(leadgate::http::console::CSP.contains("script-src 'self'"));
    assert!(!leadgate::http::console::CSP.contains("unsafe-inline"));

    // A wrong token: refused, no cookie.
    let res = client()
        .post(daemon.url("/admin/sign-in"))
        .form(&[("token", "not-the-token")])
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("set-cookie").is_none());

    // The right one: an HttpOnly, SameSite=Strict cookie for the console's paths; Secure
    // when a TLS proxy is in front.
    let res = client()
        .post(daemon.url("/admin/sign-in"))
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .expect("post");
    let cookie = res.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(cookie.starts_with("lg_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let res = client()
        .post(daemon.url("/admin/sign-in"))
        .header("x-forwarded-proto", "https")
        .form(&[("token", ADMIN_TOKEN)])
        .send()
        .await
        .expect("post");
    assert!(
        res.headers()["set-cookie"]
            .to_str()
            .expect("text")
            .contains("; Secure")
    );

    // Signed in: pages answer with the CSP and are not cached.
    let session = sign_in(&daemon).await;
    let res = get(&daemon, &session, "/admin/leads").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-security-policy"],
        leadgate::http::console::CSP
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    // A forged session id is no session.
    let res = get(&daemon, "lg_session=forged", "/admin/leads").await;
    assert_eq!(res.status(), 303);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_post_needs_the_sessions_csrf_token_and_sign_out_ends_the_session() {
    let sink = Sink::start(&[422]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &always_open_routing()).await;
    let lead = post_form(&daemon, &[("email", "buyer@example.ru")]).await;
    let dead = eventually(Duration::from_secs(10), || async {
        let d = daemon.admin_get("/admin/api/dead-letters").await;
        d["items"].as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await;
    assert!(dead.is_some(), "the 422 dead-letters the delivery");

    let session = sign_in(&daemon).await;
    let other = sign_in(&daemon).await;
    let page = get(&daemon, &session, "/admin/dead-letters")
        .await
        .text()
        .await
        .expect("html");
    let csrf = csrf_of(&page);
    let other_csrf = csrf_of(
        &get(&daemon, &other, "/admin/leads")
            .await
            .text()
            .await
            .expect("html"),
    );
    assert_ne!(csrf, other_csrf, "each session has its own token");

    let replay = |cookie: String, token: String| {
        let lead = lead.clone();
        let url = daemon.url("/admin/dead-letters/replay");
        async move {
            client()
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf", token.as_str()),
                    ("sink", "crm"),
                    ("lead", lead.as_str()),
                ])
                .send()
                .await
                .expect("post")
        }
    };
    // No token, another session's token: refused, nothing replayed.
    assert_eq!(replay(session.clone(), String::new()).await.status(), 403);
    assert_eq!(
        replay(session.clone(), other_csrf.clone()).await.status(),
        403
    );
    daemon.settled().await;
    assert_eq!(sink.received().len(), 1, "a refused POST replays nothing");
    // No session at all: to the sign-in page.
    assert_eq!(replay(String::new(), csrf.clone()).await.status(), 303);

    // The right token: replayed, and the audit trail says so.
    let res = replay(session.clone(), csrf.clone()).await;
    assert_eq!(res.status(), 200);
    let got = eventually(Duration::from_secs(10), || async {
        (sink.received().len() >= 2).then(|| sink.received())
    })
    .await
    .expect("the replay is delivered");
    assert_eq!(got[1].answered, 200);
    let audit = daemon.audit(&lead).await;
    assert!(
        audit
            .iter()
            .any(|a| a["kind"] == "replayed" && a["detail"]["by"] == "console"),
        "{audit:?}"
    );

    // Sign-out needs the token too, then the session is gone.
    let out = client()
        .post(daemon.url("/admin/sign-out"))
        .header("cookie", &session)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), 403);
    let out = client()
        .post(daemon.url("/admin/sign-out"))
        .header("cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(out.status(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .expect("text")
            .contains("Max-Age=0")
    );
    assert_eq!(get(&daemon, &session, "/admin/leads").await.status(), 303);
    assert_eq!(get(&daemon, &other, "/admin/leads").await.status(), 200);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_expires_after_eight_idle_hours() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &config(&sink),
        &always_open_routing(),
        clock.clone(),
    )
    .await;
    let session = sign_in(&daemon).await;
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(get(&daemon, &session, "/admin/leads").await.status(), 200);
    // Used an hour ago... seven hours later it still lives (the expiry moves with use).
    clock.advance(chrono::Duration::hours(7));
    assert_eq!(get(&daemon, &session, "/admin/leads").await.status(), 200);
    clock.advance(chrono::Duration::hours(8) + chrono::Duration::seconds(1));
    let res = get(&daemon, &session, "/admin/leads").await;
    assert_eq!(res.status(), 303, "expired");
    assert!(
        res.headers()["location"]
            .to_str()
            .expect("text")
            .starts_with("/admin/sign-in")
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_by_key_filters_and_exports_what_it_shows() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &always_open_routing()).await;
    for i in 0..57 {
        let phone = format!("+7916555{i:04}");
        let name = format!("Клиент {i:02}");
        post_form(
            &daemon,
            &[("name", name.as_str()), ("phone", phone.as_str())],
        )
        .await;
    }
    post_form(
        &daemon,
        &[
            ("name", "Ольга, \"ООО Ромашка\""),
            ("email", "Olga@Example.RU"),
        ],
    )
    .await;
    // A bot that filled the honeypot: kept out, and shown with its reason and text.
    post_form(
        &daemon,
        &[
            ("phone", "+79160000001"),
            ("website", "http://spam.example"),
            ("message", "<i>buy</i>"),
        ],
    )
    .await;
    leads_stored(&daemon, 58).await;
    let session = sign_in(&daemon).await;
    let kept_out = eventually(Duration::from_secs(10), || async {
        let html = get(&daemon, &session, "/admin/not-leads")
            .await
            .text()
            .await
            .ok()?;
        html.contains("id=\"not-leads\"").then_some(html)
    })
    .await
    .expect("the kept-out item is listed");
    assert!(kept_out.contains("honeypot (1)"), "{kept_out}");
    assert!(
        kept_out.contains("message=%3Ci%3Ebuy"),
        "the raw item: {kept_out}"
    );

    let rows = |html: &str| html.matches("class=\"lead-link\"").count();
    let first = get(&daemon, &session, "/admin/leads")
        .await
        .text()
        .await
        .expect("html");
    assert_eq!(rows(&first), 50);
    let at = first.find("id=\"next\"").expect("a next page");
    let href_at = first[..at].rfind("href=\"").expect("href") + 6;
    let next = first[href_at..]
        .split('"')
        .next()
        .expect("link")
        .replace("&amp;", "&");
    assert!(next.contains("after_id="), "{next}");
    let second = get(&daemon, &session, &next)
        .await
        .text()
        .await
        .expect("html");
    assert_eq!(rows(&second), 8);
    assert!(!second.contains("id=\"next\""));
    // Newest first across the pages: the first lead posted is last.
    assert!(second.contains("Клиент 00"));
    assert!(!first.contains("Клиент 00"));

    // Search by phone as people write it, by e-mail in any case, by a name's start.
    let found = get(&daemon, &session, "/admin/leads?q=8%20(916)%20555-00-07")
        .await
        .text()
        .await
        .expect("html");
    assert_eq!(rows(&found), 1);
    assert!(found.contains("Клиент 07"));
    let found = get(&daemon, &session, "/admin/leads?q=olga%40example.ru")
        .await
        .text()
        .await
        .expect("html");
    assert_eq!(rows(&found), 1);
    let found = get(
        &daemon,
        &session,
        "/admin/leads?q=%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%201",
    )
    .await
    .text()
    .await
    .expect("html");
    assert_eq!(rows(&found), 10, "клиент 1 → Клиент 10..19");
    // Two filters: every one of anna's assigned leads, and only those (round robin: half).
    let found = get(
        &daemon,
        &session,
        "/admin/leads?manager=anna&status=assigned",
    )
    .await
    .text()
    .await
    .expect("html");
    assert_eq!(rows(&found), 29);
    assert!(!found.contains("<td>boris</td>"));
    let found = get(&daemon, &session, "/admin/leads?manager=nobody")
        .await
        .text()
        .await
        .expect("html");
    assert_eq!(rows(&found), 0);
    let bad = get(&daemon, &session, "/admin/leads?since=yesterday").await;
    assert_eq!(bad.status(), 400);

    // The CSV of a filter holds exactly its rows, quoted where needed.
    let csv = get(&daemon, &session, "/admin/leads.csv").await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.expect("csv");
    assert_eq!(
        csv.lines().count(),
        59,
        "a header and every lead, past the first page"
    );
    assert!(csv.contains("\"Ольга, \"\"ООО Ромашка\"\"\""), "{csv}");
    let csv = get(&daemon, &session, "/admin/leads.csv?q=%2B79165550007")
        .await
        .text()
        .await
        .expect("csv");
    assert_eq!(csv.lines().count(), 2);
    assert!(csv.contains("+79165550007"));
    daemon.stop().await;
}

/// The text of `css` once the page that has it is loaded.
async fn text_of(b: &Browser, css: &str) -> String {
    let found = eventually(Duration::from_secs(10), || async {
        let element = b.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    })
    .await;
    found.unwrap_or_else(|| panic!("{css} did not appear"))
}

/// Waits for the page whose `h1` starts with `title`.
async fn wait_for_title(b: &Browser, title: &str) {
    let seen = eventually(Duration::from_secs(10), || async {
        let h1 = b.client.find(Locator::Css("h1")).await.ok()?;
        h1.text().await.ok()?.starts_with(title).then_some(())
    })
    .await;
    let now = match b.client.find(Locator::Css("h1")).await {
        Ok(h1) => h1.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    assert!(
        seen.is_some(),
        "no page titled {title:?}; the page says {now:?}"
    );
}

async fn set(b: &Browser, css: &str, text: &str) {
    let field = b
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

/// With `LEADGATE_SCREENSHOTS=DIR`, saves the page as `DIR/NAME.png` (the docs' pictures).
async fn shot(b: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("LEADGATE_SCREENSHOTS") {
        let png = b.client.screenshot().await.expect("screenshot");
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }
}

async fn click(b: &Browser, css: &str) {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_finds_a_lead_by_phone_reads_its_journey_and_replays_its_dead_letter() {
    // The CRM refuses the first delivery (a 4xx: dead-lettered at once), then takes all.
    let sink = Sink::start(&[422]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &always_open_routing()).await;
    let hostile = "<script>document.title='owned'</script>Иван";
    let lead = post_form(
        &daemon,
        &[
            ("name", hostile),
            ("phone", "+7 916 123-45-67"),
            (
                "message",
                "Нужна <b>смета</b> на ремонт <img src=x onerror=alert(1)>",
            ),
        ],
    )
    .await;
    // The sink refuses the first delivery it gets: the other lead is posted only once that
    // one is dead-lettered, so it is this lead's.
    let dead = eventually(Duration::from_secs(10), || async {
        let d = daemon.admin_get("/admin/api/dead-letters").await;
        d["items"].as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await
    .expect("the first delivery is dead-lettered");
    assert_eq!(dead[0]["lead_id"], lead.as_str());
    post_form(&daemon, &[("name", "Другой"), ("phone", "+79160000000")]).await;
    leads_stored(&daemon, 2).await;

    let b = Browser::start().await;
    b.client
        .goto(&daemon.url("/admin/leads"))
        .await
        .expect("open");
    // Not signed in: the sign-in form. A wrong token is refused on the page.
    wait_for_title(&b, "Консоль leadgate").await;
    shot(&b, "sign-in").await;
    set(&b, "input[name=token]", "wrong-token").await;
    click(&b, "#sign-in").await;
    assert_eq!(text_of(&b, "p.problem").await, "Токен не подошёл.");
    set(&b, "input[name=token]", ADMIN_TOKEN).await;
    click(&b, "#sign-in").await;
    wait_for_title(&b, "Заявки").await;

    // Find it by the phone as a person types it.
    set(&b, "#q", "8 916 123 45 67").await;
    click(&b, "#find").await;
    let found = eventually(Duration::from_secs(10), || async {
        let rows = b
            .client
            .find_all(Locator::Css("#leads tbody tr"))
            .await
            .ok()?;
        let url = b.client.current_url().await.ok()?;
        (url.as_str().contains("q=") && rows.len() == 1).then_some(())
    })
    .await;
    assert!(found.is_some(), "one lead found by phone");
    assert_eq!(
        text_of(&b, "#leads td.name").await,
        hostile,
        "shown as text"
    );
    shot(&b, "search").await;

    // Its journey: the lead text is text, and nothing in it ran.
    click(&b, "a.lead-link").await;
    wait_for_title(&b, "Путь заявки").await;
    assert_eq!(text_of(&b, "#lead-id").await, lead);
    assert_eq!(text_of(&b, "#lead-name").await, hostile);
    let raw = text_of(&b, "pre.payload").await;
    assert!(
        raw.contains("message: Нужна <b>смета</b> на ремонт <img src=x onerror=alert(1)>"),
        "{raw}"
    );
    let title = b.client.title().await.expect("title");
    assert_ne!(title, "owned", "the lead's script did not run");
    let scripts = b
        .client
        .execute("return document.scripts.length", vec![])
        .await
        .expect("count scripts");
    assert_eq!(
        scripts,
        serde_json::json!(1),
        "only the console's own script"
    );
    // The routing decision is drawn as a tree, with the rule that decided.
    assert!(text_of(&b, "#decision").await.contains("Всё остальное"));
    assert!(text_of(&b, "article.delivery").await.contains("422"));
    shot(&b, "journey").await;

    // Dead letters: replay this one, after confirming.
    b.client
        .goto(&daemon.url("/admin/dead-letters"))
        .await
        .expect("open");
    wait_for_title(&b, "Недоставленные").await;
    assert!(text_of(&b, "#dead").await.contains(&lead));
    shot(&b, "dead-letters").await;
    click(&b, "a.replay").await;
    wait_for_title(&b, "Подтвердите").await;
    shot(&b, "confirm").await;
    click(&b, "#confirm").await;
    assert_eq!(text_of(&b, "p.notice").await, "Возвращено в очередь: 1.");
    let got = eventually(Duration::from_secs(10), || async {
        (sink.received().len() >= 3).then(|| sink.received())
    })
    .await
    .expect("the replay reached the CRM");
    assert!(got.iter().filter(|r| r.answered == 200).count() >= 2);

    // Re-send to the CRM from the journey: a new delivery, in the audit trail.
    b.client
        .goto(&daemon.url(&format!("/admin/leads/{lead}")))
        .await
        .expect("open");
    wait_for_title(&b, "Путь заявки").await;
    click(&b, "p.actions a.resend").await;
    wait_for_title(&b, "Подтвердите").await;
    click(&b, "#confirm").await;
    assert_eq!(
        text_of(&b, "p.notice").await,
        "Событие поставлено в очередь."
    );
    let audit = daemon.audit(&lead).await;
    assert!(audit.iter().any(|a| a["kind"] == "resent"), "{audit:?}");
    assert!(audit.iter().any(|a| a["kind"] == "replayed"), "{audit:?}");

    // Re-route now, from the journey: confirmed, the other junior has it, in the audit trail.
    b.client
        .goto(&daemon.url(&format!("/admin/leads/{lead}")))
        .await
        .expect("open");
    wait_for_title(&b, "Путь заявки").await;
    click(&b, "#reroute").await;
    wait_for_title(&b, "Подтвердите").await;
    click(&b, "#confirm").await;
    let said = text_of(&b, "p.notice").await;
    assert!(said.starts_with("Заявка перемаршрутизирована: "), "{said}");
    let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
    let now = journey["lead"]["assignment"]["manager"]["id"].clone();
    assert_eq!(
        said,
        format!("Заявка перемаршрутизирована: {}", now.as_str().expect("id"))
    );
    let rerouted = journey["audit"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "rerouted").cloned())
        .expect("rerouted in the audit trail");
    assert_eq!(rerouted["detail"]["to"], now);

    // The rules tester routes a pasted sample with the live state: this contact's previous
    // lead is the one above.
    b.client
        .goto(&daemon.url("/admin/rules"))
        .await
        .expect("open");
    wait_for_title(&b, "Правила").await;
    set(
        &b,
        "textarea[name=sample]",
        r#"{"name": "Иван", "phone": "8 916 123-45-67", "message": "Ещё вопрос"}"#,
    )
    .await;
    click(&b, "#try").await;
    let result = text_of(&b, "#result").await;
    assert!(
        result.contains(&format!("previous lead of this contact: {lead}")),
        "{result}"
    );
    assert!(result.contains("Всё остальное"), "{result}");
    shot(&b, "rules").await;
    assert_eq!(
        daemon.admin_get("/admin/api/leads").await["items"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "the tester wrote nothing"
    );

    // Kept-out items (a post whose honeypot an autofill filled), and the whole list.
    let kept = post_form(
        &daemon,
        &[
            ("name", "Ольга"),
            ("phone", "+79160000001"),
            ("website", "http://spam.example"),
        ],
    )
    .await;
    let listed = eventually(Duration::from_secs(10), || async {
        b.client.goto(&daemon.url("/admin/not-leads")).await.ok()?;
        b.client.find(Locator::Css("#not-leads")).await.ok()
    })
    .await;
    assert!(listed.is_some(), "the kept-out item is listed");
    shot(&b, "not-leads").await;

    // It is a person: "this is a lead", confirmed, makes it one, delivered to the CRM.
    click(&b, &format!("#item-{kept} a")).await;
    wait_for_title(&b, "Не заявка").await;
    assert_eq!(text_of(&b, "#item-reason").await, "honeypot");
    shot(&b, "not-lead").await;
    click(&b, "#as-lead").await;
    wait_for_title(&b, "Подтвердите").await;
    click(&b, "#confirm").await;
    wait_for_title(&b, "Не заявка").await;
    let opened = eventually(Duration::from_secs(10), || async {
        b.client.refresh().await.ok()?;
        b.client
            .find(Locator::Css("#to-lead"))
            .await
            .ok()?
            .click()
            .await
            .ok()?;
        (b.client.title().await.ok()?.starts_with("Путь заявки")).then_some(())
    })
    .await;
    assert!(opened.is_some(), "the item became a lead");
    assert_eq!(text_of(&b, "#lead-id").await, kept);
    assert!(text_of(&b, "#audit").await.contains("marked_lead"));
    let delivered = eventually(Duration::from_secs(10), || async {
        sink.received()
            .iter()
            .map(|r| r.json())
            .find(|e| e["type"] == "lead.created" && e["data"]["id"] == kept.as_str())
    })
    .await
    .expect("the CRM got the lead");
    assert!(delivered["data"]["assignment"]["manager"]["id"].is_string());
    b.client
        .goto(&daemon.url("/admin/leads"))
        .await
        .expect("open");
    wait_for_title(&b, "Заявки").await;
    shot(&b, "leads").await;

    // English on request, remembered.
    b.client
        .goto(&daemon.url(&format!("/admin/leads/{lead}")))
        .await
        .expect("open");
    wait_for_title(&b, "Путь заявки").await;
    click(&b, "a[hreflang=en]").await;
    wait_for_title(&b, "Lead journey").await;
    b.client
        .goto(&daemon.url("/admin/leads"))
        .await
        .expect("open");
    wait_for_title(&b, "Leads").await;
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_shows_what_the_tests_own_leads_add_up_to() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let smtp = support::smtp::SmtpCatcher::start().await;
    let config = format!(
        "{}\n[api]\ntoken = \"{API_TOKEN}\"\n\n[notify.email]\nurl = \"{}\"\nfrom = \"leadgate <leads@teplodom.example>\"\npublic_url = \"https://leads.teplodom.example\"\nlink_secret = \"link-secret-for-tests-0123456789abcdef\"\n",
        config(&sink),
        smtp.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let phone = format!("+7916777{i:04}");
        ids.push(
            post_form(
                &daemon,
                &[("name", "Покупатель"), ("phone", phone.as_str())],
            )
            .await,
        );
    }
    // A bot's post, kept out.
    post_form(
        &daemon,
        &[
            ("phone", "+79160000009"),
            ("website", "http://spam.example"),
        ],
    )
    .await;
    leads_stored(&daemon, 5).await;
    // One lead taken at once, one declined (it passes on to the other junior).
    let api = |path: String, body: serde_json::Value| {
        let url = daemon.url(&path);
        async move {
            reqwest::Client::new()
                .post(url)
                .bearer_auth(API_TOKEN)
                .json(&body)
                .send()
                .await
                .expect("api")
                .status()
        }
    };
    assert_eq!(
        api(format!("/api/leads/{}/ack", ids[0]), serde_json::json!({})).await,
        200
    );
    assert_eq!(
        api(
            format!("/api/leads/{}/decline", ids[1]),
            serde_json::json!({"reason": "busy"})
        )
        .await,
        200
    );

    // What the leads add up to, counted from their journeys.
    let mut expected: std::collections::BTreeMap<String, [u64; 3]> = Default::default();
    for id in &ids {
        let j = daemon.admin_get(&format!("/admin/api/leads/{id}")).await;
        for a in j["assignments"].as_array().expect("assignments") {
            let e = expected
                .entry(a["manager_id"].as_str().expect("manager").to_string())
                .or_default();
            e[0] += 1;
            match a["state"].as_str() {
                Some("acknowledged") => e[1] += 1,
                Some("declined") => e[2] += 1,
                _ => {}
            }
        }
    }
    assert_eq!(
        expected.values().map(|e| e[0]).sum::<u64>(),
        6,
        "five leads, one passed on"
    );

    // The JSON API.
    let managers = daemon.admin_get("/admin/api/reports/managers").await;
    for (m, e) in &expected {
        let row = managers["items"]
            .as_array()
            .and_then(|a| a.iter().find(|r| r["key"] == m.as_str()).cloned())
            .unwrap_or_else(|| panic!("{m} in {managers}"));
        assert_eq!(row["assigned"], e[0], "{m}: {row}");
        assert_eq!(row["taken"], e[1], "{m}: {row}");
        assert_eq!(row["declined"], e[2], "{m}: {row}");
        assert_eq!(row["passed_on"], e[2], "{m}: {row}");
        if e[1] > 0 {
            assert_eq!(row["median_take_s"], 60, "taken within a minute: {row}");
        }
    }
    let today = leadgate::clock::Clock::now(&leadgate::clock::SystemClock)
        .format("%Y-%m-%d")
        .to_string();
    let days = eventually(Duration::from_secs(10), || async {
        let d = daemon.admin_get("/admin/api/reports/days").await;
        let last = d["items"].as_array()?.last()?.clone();
        (last["kept_out"] == 1).then_some(last)
    })
    .await
    .expect("the kept-out item is counted");
    assert_eq!(days["day"], today.as_str());
    assert_eq!(days["leads"], 5);
    let sources = daemon.admin_get("/admin/api/reports/sources").await;
    assert_eq!(sources["items"][0]["kept_out_pct"], 16.7, "{sources}");

    // Declines by reason, per manager and level.
    let decliner = expected
        .iter()
        .find(|(_, e)| e[2] == 1)
        .map(|(m, _)| m.clone())
        .expect("one manager declined");
    let row = managers["items"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["key"] == decliner.as_str()).cloned())
        .expect("the decliner's row");
    assert_eq!(
        row["declined_by_reason"],
        serde_json::json!({"busy": 1}),
        "{row}"
    );
    let declines = daemon.admin_get("/admin/api/reports/declines").await;
    assert_eq!(
        declines["items"],
        serde_json::json!([{"manager_id": decliner, "level": "junior", "reason": "busy", "n": 1}]),
        "{declines}"
    );
    let levels = daemon.admin_get("/admin/api/reports/levels").await;
    assert_eq!(
        levels["items"][0]["declined_by_reason"]["busy"], 1,
        "{levels}"
    );

    // From arrival to the CRM: each lead's first successful delivery, from its journey.
    sink.events(7).await; // five lead.created, the pass's and the take's events
    let mut to_crm = Vec::new();
    for id in &ids {
        let j = daemon.admin_get(&format!("/admin/api/leads/{id}")).await;
        let arrived = chrono::DateTime::parse_from_rfc3339(
            j["lead"]["received_at"].as_str().expect("received_at"),
        )
        .expect("time");
        let first = j["deliveries"]
            .as_array()
            .expect("deliveries")
            .iter()
            .flat_map(|d| d["history"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["outcome"] == "delivered")
            .filter_map(|a| chrono::DateTime::parse_from_rfc3339(a["at"].as_str()?).ok())
            .min()
            .expect("delivered");
        to_crm.push((first - arrived).num_milliseconds() as f64 / 1000.0);
    }
    to_crm.sort_by(f64::total_cmp);
    let bucket = |s: f64| {
        leadgate::store::CRM_BUCKETS
            .into_iter()
            .find(|&b| s <= b as f64)
            .filter(|&b| b != u64::MAX)
    };
    let at_rank = |q: f64| to_crm[((to_crm.len() as f64 * q).ceil() as usize).max(1) - 1];
    let (median, p90) = (bucket(at_rank(0.5)), bucket(at_rank(0.9)));
    let sources = daemon.admin_get("/admin/api/reports/sources").await;
    let site = &sources["items"][0];
    assert_eq!(site["delivered"], 5, "{sources}");
    assert_eq!(
        site["to_crm_median_s"],
        serde_json::json!(median),
        "{to_crm:?}: {site}"
    );
    assert_eq!(
        site["to_crm_p90_s"],
        serde_json::json!(p90),
        "{to_crm:?}: {site}"
    );
    let channels = daemon.admin_get("/admin/api/reports/channels").await;
    assert_eq!(
        channels["items"],
        serde_json::json!([{"channel": "webform", "delivered": 5, "to_crm_median_s": median, "to_crm_p90_s": p90}]),
        "{channels}"
    );
    // A lead's journey lists the mails its managers got, and how sending went.
    let journey = eventually(Duration::from_secs(10), || async {
        let session = sign_in(&daemon).await;
        let html = get(&daemon, &session, &format!("/admin/leads/{}", ids[0]))
            .await
            .text()
            .await
            .ok()?;
        html.contains("class=\"st-sent\"").then_some(html)
    })
    .await
    .expect("the assignment mail is shown as sent");
    assert!(journey.contains("id=\"notifications\""));
    assert!(journey.contains("@example.ru"), "the manager's address");
    assert!(!smtp.mails().is_empty());

    // The counters in /metrics: this daemon's own, exactly.
    let metrics = daemon.metrics().await;
    for (m, e) in &expected {
        let value = |name: &str| -> u64 {
            let prefix = format!("{name}{{manager=\"{m}\"}} ");
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .map_or(0, |v| v as u64)
        };
        assert_eq!(
            value("leadgate_manager_assigned_total"),
            e[0],
            "{m}: {metrics}"
        );
        assert_eq!(value("leadgate_manager_acknowledged_total"), e[1], "{m}");
        assert_eq!(value("leadgate_manager_reassigned_total"), e[2], "{m}");
    }
    assert!(
        metrics.contains("leadgate_manager_time_to_take_seconds_bucket{le=\"60\"}"),
        "{metrics}"
    );
    let refused = client()
        .get(daemon.url("/admin/api/reports/managers"))
        .send()
        .await
        .expect("get");
    assert_eq!(refused.status(), 401, "the API needs the bearer token");

    // The page, in a browser: the same numbers in its tables, the chart beside them.
    let b = Browser::start().await;
    b.client
        .goto(&daemon.url("/admin/reports"))
        .await
        .expect("open");
    wait_for_title(&b, "Консоль leadgate").await;
    set(&b, "input[name=token]", ADMIN_TOKEN).await;
    click(&b, "#sign-in").await;
    wait_for_title(&b, "Отчёты").await;
    for (m, e) in &expected {
        let cell = |c: &str| format!("#managers tr[data-key={m}] td.{c}");
        assert_eq!(
            text_of(&b, &cell("assigned")).await,
            e[0].to_string(),
            "{m}"
        );
        assert_eq!(text_of(&b, &cell("taken")).await, e[1].to_string(), "{m}");
        assert_eq!(
            text_of(&b, &cell("declined")).await,
            e[2].to_string(),
            "{m}"
        );
    }
    assert_eq!(
        text_of(&b, "#levels tr[data-key=junior] td.assigned").await,
        "6"
    );
    assert_eq!(
        text_of(&b, &format!("#days tr[data-key=\"{today}\"] td.leads")).await,
        "5"
    );
    assert_eq!(
        text_of(&b, &format!("#managers tr[data-key={decliner}] td.reasons")).await,
        "busy: 1"
    );
    assert_eq!(
        text_of(&b, "#sources tr[data-key=site] td.delivered").await,
        "5"
    );
    assert!(
        text_of(&b, "#channels tr[data-key=webform] td.to-crm")
            .await
            .starts_with('≤')
    );
    let bars = b
        .client
        .find_all(Locator::Css("svg.chart rect"))
        .await
        .expect("bars");
    assert_eq!(bars.len(), 7, "a bar a day");
    shot(&b, "reports").await;

    // The overview: today's and the week's leads per source, what was kept out and why, the
    // sources' states; refreshed by its script.
    b.client.goto(&daemon.url("/admin/")).await.expect("open");
    wait_for_title(&b, "Обзор").await;
    assert_eq!(text_of(&b, "#glance tr[data-key=site] td.today").await, "5");
    assert_eq!(text_of(&b, "#glance tr[data-key=site] td.week").await, "5");
    assert!(text_of(&b, "#reasons").await.contains("honeypot"));
    assert!(text_of(&b, "#source-states").await.contains("site"));
    // The test rules' managers work around the clock.
    assert_eq!(
        text_of(&b, "#team tr[data-key=anna] td.now").await,
        "работает"
    );
    shot(&b, "overview").await;
    let csv = get(&daemon, &sign_in(&daemon).await, "/admin/reports/days.csv")
        .await
        .text()
        .await
        .expect("csv");
    assert!(csv.contains(&format!("{today},5,1")), "{csv}");
    daemon.stop().await;
}

/// The inbound item `id` as the admin API lists it, once it is `status`.
async fn item_is(daemon: &TestDaemon, id: &str, status: &str) -> serde_json::Value {
    eventually(Duration::from_secs(10), || async {
        let items = daemon.admin_get("/admin/api/inbound?limit=500").await;
        items["items"]
            .as_array()?
            .iter()
            .find(|i| i["id"] == id && i["status"] == status)
            .cloned()
    })
    .await
    .unwrap_or_else(|| panic!("item {id} never became {status}"))
}

/// The sink's `lead.created` (or another `kind`) event about `id`, waiting for it.
async fn event_about(sink: &Sink, kind: &str, id: &str) -> serde_json::Value {
    eventually(Duration::from_secs(10), || async {
        sink.received()
            .iter()
            .map(|r| r.json())
            .find(|e| e["type"] == kind && e["data"]["id"] == id)
    })
    .await
    .unwrap_or_else(|| panic!("no {kind} about {id} at the sink"))
}

/// A console POST with the session's cookie and form.
async fn console_post(
    daemon: &TestDaemon,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(daemon.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .expect("post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_out_item_turned_into_a_lead_reaches_the_crm_once() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &always_open_routing()).await;
    // A person whose browser filled the honeypot (an autofill): kept out, never delivered.
    let id = post_form(
        &daemon,
        &[
            ("name", "Ольга"),
            ("phone", "+79165550001"),
            ("message", "Перезвоните по котлу"),
            ("website", "olga.example"),
        ],
    )
    .await;
    let kept = item_is(&daemon, &id, "not_lead").await;
    assert_eq!(kept["reason"], "honeypot");
    let today = leadgate::clock::Clock::now(&leadgate::clock::SystemClock)
        .format("%Y-%m-%d")
        .to_string();
    let days = daemon.admin_get("/admin/api/reports/days").await;
    assert_eq!(
        days["items"]
            .as_array()
            .expect("days")
            .last()
            .expect("today")["kept_out"],
        1
    );

    // Its own page says why, and has the button; the lead page sends there.
    let session = sign_in(&daemon).await;
    let lead_page = get(&daemon, &session, &format!("/admin/leads/{id}")).await;
    assert_eq!(lead_page.status(), 303);
    let location = lead_page.headers()["location"].to_str().expect("text");
    assert_eq!(
        percent_encoding::percent_decode_str(location).decode_utf8_lossy(),
        format!("/admin/not-leads/{id}")
    );
    let page = get(&daemon, &session, &format!("/admin/not-leads/{id}"))
        .await
        .text()
        .await
        .expect("page");
    assert!(page.contains("id=\"as-lead\""), "{page}");
    assert!(page.contains("honeypot"));
    let confirm = get(&daemon, &session, &format!("/admin/not-leads/{id}/lead"))
        .await
        .text()
        .await
        .expect("confirm");
    let csrf = csrf_of(&confirm);
    let path = format!("/admin/not-leads/{id}/lead");

    // Without the session's CSRF token: refused, and nothing changed.
    let refused = console_post(&daemon, &session, &path, &[("csrf", "forged")]).await;
    assert_eq!(refused.status(), 403);
    item_is(&daemon, &id, "not_lead").await;

    // Confirmed: processed as a lead, assigned, and delivered to the CRM.
    let done = console_post(&daemon, &session, &path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), 303);
    // A second click (and the API after it) changes nothing.
    let again = console_post(&daemon, &session, &path, &[("csrf", &csrf)]).await;
    assert_eq!(again.status(), 409);
    let api_again = reqwest::Client::new()
        .post(daemon.url(&format!("/admin/api/inbound/{id}/lead")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("api");
    assert_eq!(api_again.status(), 409);
    let created = event_about(&sink, "lead.created", &id).await;
    let manager = created["data"]["assignment"]["manager"]["id"].clone();
    assert!(manager == "anna" || manager == "boris", "{created}");
    assert_eq!(created["data"]["contact"]["phones"][0], "+79165550001");
    assert_eq!(created["data"]["text"], "Перезвоните по котлу");
    item_is(&daemon, &id, "lead").await;
    let journey = daemon.admin_get(&format!("/admin/api/leads/{id}")).await;
    assert_eq!(journey["assignments"].as_array().map(Vec::len), Some(1));
    let audit = journey["audit"].as_array().expect("audit");
    let marked = audit
        .iter()
        .find(|a| a["kind"] == "marked_lead")
        .unwrap_or_else(|| panic!("{audit:?}"));
    assert!(
        marked["detail"]["by"]
            .as_str()
            .is_some_and(|b| b.starts_with("console session ")),
        "{marked}"
    );
    assert_eq!(marked["detail"]["was"]["reason"], "honeypot");
    assert!(marked["detail"]["at"].is_string());
    // No longer counted as kept out; counted as a lead.
    let days = daemon.admin_get("/admin/api/reports/days").await;
    let last = days["items"]
        .as_array()
        .expect("days")
        .last()
        .expect("today")
        .clone();
    assert_eq!(
        (
            last["day"].as_str(),
            last["kept_out"].as_u64(),
            last["leads"].as_u64()
        ),
        (Some(today.as_str()), Some(0), Some(1)),
        "{days}"
    );

    // The API does the same for another one, once.
    let bot = post_form(
        &daemon,
        &[("phone", "+79165550002"), ("website", "x.example")],
    )
    .await;
    item_is(&daemon, &bot, "not_lead").await;
    let first = reqwest::Client::new()
        .post(daemon.url(&format!("/admin/api/inbound/{bot}/lead")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("api");
    assert_eq!(first.status(), 202);
    event_about(&sink, "lead.created", &bot).await;
    let unknown = reqwest::Client::new()
        .post(daemon.url("/admin/api/inbound/no-such-item/lead"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("api");
    assert_eq!(unknown.status(), 404);
    // Exactly one lead.created per item reached the CRM.
    let created = |id: &str| {
        sink.received()
            .iter()
            .filter(|r| r.json()["type"] == "lead.created" && r.json()["data"]["id"] == id)
            .count()
    };
    assert_eq!((created(&id), created(&bot)), (1, 1));
    assert_eq!(
        daemon.admin_get("/admin/api/leads").await["items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // An item that continues a lead (the same phone within the form's window) joins it: still
    // one lead, updated at the CRM, and its trail says who vouched for the item.
    let first = post_form(
        &daemon,
        &[
            ("name", "Ольга"),
            ("phone", "+79165550003"),
            ("message", "Котёл"),
        ],
    )
    .await;
    event_about(&sink, "lead.created", &first).await;
    let again = post_form(
        &daemon,
        &[
            ("phone", "+79165550003"),
            ("message", "И ещё бойлер"),
            ("website", "x.example"),
        ],
    )
    .await;
    item_is(&daemon, &again, "not_lead").await;
    let queued = reqwest::Client::new()
        .post(daemon.url(&format!("/admin/api/inbound/{again}/lead")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("api");
    assert_eq!(queued.status(), 202);
    let joined = item_is(&daemon, &again, "joined").await;
    assert_eq!(joined["lead_id"], first.as_str());
    event_about(&sink, "lead.updated", &first).await;
    let audit = daemon.audit(&first).await;
    assert!(
        audit
            .iter()
            .any(|a| a["kind"] == "follow_up" && a["detail"]["as_lead"]["by"] == "admin API"),
        "{audit:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_route_now_releases_the_assignment_and_routes_again() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!("{}\n[api]\ntoken = \"{API_TOKEN}\"\n", config(&sink));
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let id = post_form(&daemon, &[("name", "Пётр"), ("phone", "+79165550010")]).await;
    let created = event_about(&sink, "lead.created", &id).await;
    let first = created["data"]["assignment"]["manager"]["id"]
        .as_str()
        .expect("assigned")
        .to_string();
    let session = sign_in(&daemon).await;
    let journey = get(&daemon, &session, &format!("/admin/leads/{id}"))
        .await
        .text()
        .await
        .expect("journey");
    assert!(journey.contains("id=\"reroute\""), "the button is there");
    let csrf = csrf_of(&journey);
    let path = format!("/admin/leads/{id}/reroute");
    let refused = console_post(&daemon, &session, &path, &[]).await;
    assert_eq!(refused.status(), 403, "no CSRF token, no re-route");
    assert_eq!(
        daemon
            .audit(&id)
            .await
            .iter()
            .filter(|a| a["kind"] == "rerouted")
            .count(),
        0
    );

    let done = console_post(&daemon, &session, &path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), 200);
    // Round robin goes on from the first pick: the other junior has it now.
    let journey = daemon.admin_get(&format!("/admin/api/leads/{id}")).await;
    let assignments = journey["assignments"].as_array().expect("assignments");
    assert_eq!(assignments.len(), 2, "{journey}");
    assert_eq!(assignments[0]["manager_id"], first.as_str());
    assert_eq!(assignments[0]["state"], "rerouted");
    assert_eq!(assignments[1]["state"], "active");
    assert_eq!(assignments[1]["attempt"], 2);
    let now = assignments[1]["manager_id"]
        .as_str()
        .expect("manager")
        .to_string();
    assert_ne!(now, first, "round robin moved on");
    let audit = journey["audit"].as_array().expect("audit");
    let entry = audit
        .iter()
        .find(|a| a["kind"] == "rerouted")
        .unwrap_or_else(|| panic!("{audit:?}"));
    assert_eq!(entry["detail"]["from"], first.as_str());
    assert_eq!(entry["detail"]["to"], now.as_str());
    assert_eq!(entry["detail"]["rule"], "Всё остальное");
    assert_eq!(journey["lead"]["assignment"]["manager"]["id"], now.as_str());
    let reassigned = event_about(&sink, "lead.reassigned", &id).await;
    assert_eq!(
        reassigned["data"]["assignment"]["manager"]["id"],
        now.as_str()
    );
    assert_eq!(reassigned["data"]["assignment"]["attempt"], 2);

    // A lead already taken is the CRM's: refused, and nothing changes.
    let took = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{id}/ack")))
        .bearer_auth(API_TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("ack");
    assert_eq!(took.status(), 200);
    let late = console_post(&daemon, &session, &path, &[("csrf", &csrf)]).await;
    assert_eq!(late.status(), 409);
    let journey = daemon.admin_get(&format!("/admin/api/leads/{id}")).await;
    assert_eq!(journey["assignments"].as_array().map(Vec::len), Some(2));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_admin_token_the_console_and_the_admin_api_are_not_there() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon =
        TestDaemon::start_without_admin(dir.path(), &config(&sink), &always_open_routing()).await;
    // The daemon itself works: a form is taken.
    let id = post_form(&daemon, &[("name", "Анна"), ("phone", "+79165550020")]).await;
    event_about(&sink, "lead.created", &id).await;
    for path in [
        "/admin",
        "/admin/",
        "/admin/sign-in",
        "/admin/overview",
        "/admin/leads",
        &format!("/admin/leads/{id}"),
        "/admin/not-leads",
        "/admin/reports",
        "/admin/rules",
        "/admin/assets/console.css",
        "/admin/api/leads",
        "/admin/api/reports/managers",
    ] {
        let res = client().get(daemon.url(path)).send().await.expect("get");
        assert_eq!(res.status(), 404, "{path}");
        let body = res.text().await.expect("body");
        assert!(
            body.contains("[admin] token"),
            "{path} says how to turn it on: {body}"
        );
    }
    // Not even the token opens it, and no form is taken.
    let res = client()
        .get(daemon.url("/admin/api/leads"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 404);
    for path in [
        "/admin/sign-in",
        &format!("/admin/not-leads/{id}/lead"),
        "/admin/api/dead-letters/replay",
    ] {
        let res = client()
            .post(daemon.url(path))
            .form(&[("token", ADMIN_TOKEN)])
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 404, "POST {path}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_tester_reads_a_lead_record_with_the_live_state() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &always_open_routing()).await;
    let earlier = post_form(&daemon, &[("name", "Глеб"), ("phone", "+79165550030")]).await;
    let created = event_about(&sink, "lead.created", &earlier).await;
    let manager = created["data"]["assignment"]["manager"]["id"]
        .as_str()
        .expect("assigned")
        .to_string();
    let session = sign_in(&daemon).await;
    let page = get(&daemon, &session, "/admin/rules")
        .await
        .text()
        .await
        .expect("page");
    assert!(
        page.contains("<option value=\"lead\""),
        "the record is a choice"
    );
    let csrf = csrf_of(&page);
    let try_it = |sample: &'static str| {
        let csrf = csrf.clone();
        let session = session.clone();
        let daemon = &daemon;
        async move {
            let res = console_post(
                daemon,
                &session,
                "/admin/rules/test",
                &[("csrf", &csrf), ("channel", "lead"), ("sample", sample)],
            )
            .await;
            let status = res.status();
            let html = res.text().await.expect("page");
            let at = html.find("id=\"result\"").expect("a result");
            let result = html[at..].split("</pre>").next().expect("pre").to_string();
            (status, result)
        }
    };
    // The same person as a normalised record on another channel: the live store knows them.
    let (status, result) = try_it(
        r#"{"channel": "telegram", "text": "Ещё вопрос", "contact": {"phones": ["+79165550030"]}}"#,
    )
    .await;
    assert_eq!(status, 200, "{result}");
    assert!(
        result.contains(&format!(
            "previous lead of this contact: {earlier} (manager {manager})"
        )),
        "{result}"
    );
    assert!(result.contains("Всё остальное"), "{result}");
    assert!(
        result.contains(&format!("open leads now: {manager} 1")),
        "{result}"
    );
    // A typo in a key is named, with the key meant.
    let (status, result) = try_it(r#"{"chanel": "telegram", "text": "x"}"#).await;
    assert_eq!(status, 400);
    assert!(result.contains("did you mean"), "{result}");
    assert!(result.contains("chanel"), "{result}");
    // Nothing was written.
    assert_eq!(
        daemon.admin_get("/admin/api/leads").await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rules_tester_reads_a_sample_as_any_configured_source() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let two_forms = format!(
        "{}\n[[sources.webform]]\nid = \"partners\"\n",
        config(&sink)
    );
    let routing = always_open_routing().replace(
        "[[rules]]\nname = \"Всё остальное\"",
        "[[rules]]\nname = \"Партнёры\"\nwhen = { source = \"partners\" }\nlevel = \"senior\"\n\n\
         [[rules]]\nname = \"Всё остальное\"",
    );
    let daemon = TestDaemon::start_in(dir.path(), &two_forms, &routing).await;
    let session = sign_in(&daemon).await;
    let page = get(&daemon, &session, "/admin/rules")
        .await
        .text()
        .await
        .expect("page");
    for choice in [
        "<option value=\"source:site\" selected>webform: site</option>",
        "<option value=\"source:partners\">webform: partners</option>",
        "<option value=\"telegram\">telegram</option>",
    ] {
        assert!(page.contains(choice), "{choice} in {page}");
    }
    assert!(
        !page.contains("<option value=\"webform\""),
        "webform has its sources"
    );
    let csrf = csrf_of(&page);
    let form = r#"{"phone": "+79161234567", "message": "Нужен котёл"}"#;
    let decided_by = |choice: &'static str| {
        let (csrf, session, daemon) = (csrf.clone(), session.clone(), &daemon);
        async move {
            let res = console_post(
                daemon,
                &session,
                "/admin/rules/test",
                &[("csrf", &csrf), ("channel", choice), ("sample", form)],
            )
            .await;
            let html = res.text().await.expect("page");
            let at = html.find("id=\"result\"").expect("a result");
            html[at..].split("</pre>").next().expect("pre").to_string()
        }
    };
    let partners = decided_by("source:partners").await;
    assert!(
        partners.contains("decided by &quot;Партнёры&quot;"),
        "{partners}"
    );
    let site = decided_by("source:site").await;
    assert!(
        site.contains("decided by &quot;Всё остальное&quot;"),
        "{site}"
    );
    let unknown = decided_by("source:nope").await;
    assert!(unknown.contains("not a source or a channel"), "{unknown}");
    daemon.stop().await;
}

/// One manager who works 09:00-18:00 Moscow time on weekdays; the SLA counts working time.
const OFFICE_HOURS: &str = r#"
levels = ["junior"]
timezone = "Europe/Moscow"
strategy = "round_robin"

[sla]
ack_within = "30m"
max_reassign = 1
working_hours_only = true

[[managers]]
id = "anna"
name = "Анна Петрова"
level = "junior"
hours = "mon-fri 09:00-18:00"

[[rules]]
name = "Всё остальное"
level = "junior"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_to_take_is_counted_in_the_managers_working_hours() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Thursday 3 December 2026, 17:50 in Moscow (UTC+3): ten minutes before she goes home.
    let assigned = chrono::DateTime::parse_from_rfc3339("2026-12-03T14:50:00Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let clock = manual_clock();
    clock.set(assigned);
    let config = format!("{}\n[api]\ntoken = \"{API_TOKEN}\"\n", config(&sink));
    let daemon = TestDaemon::start_at(dir.path(), &config, OFFICE_HOURS, clock.clone()).await;
    let id = post_form(&daemon, &[("name", "Пётр"), ("phone", "+79165550040")]).await;
    let created = event_about(&sink, "lead.created", &id).await;
    assert_eq!(created["data"]["assignment"]["manager"]["id"], "anna");
    // She takes it the next morning at 09:10.
    let taken = assigned + chrono::Duration::minutes(15 * 60 + 20);
    clock.set(taken);
    let took = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{id}/ack")))
        .bearer_auth(API_TOKEN)
        .json(&serde_json::json!({}))
        .send()
        .await
        .expect("ack");
    assert_eq!(took.status(), 200);

    // The test's own count: the minutes between the two that were on her hours.
    let moscow = chrono::FixedOffset::east_opt(3 * 3600).expect("offset");
    let mut worked = 0;
    let mut t = assigned;
    while t < taken {
        let local = t.with_timezone(&moscow);
        let weekday = chrono::Datelike::weekday(&local).num_days_from_monday() < 5;
        let hour = chrono::Timelike::hour(&local);
        if weekday && (9..18).contains(&hour) {
            worked += 60;
        }
        t += chrono::Duration::minutes(1);
    }
    let wall = (taken - assigned).num_seconds() as u64;
    let bucket = |s: u64| {
        leadgate::store::TAKE_BUCKETS
            .into_iter()
            .find(|&b| s <= b)
            .filter(|&b| b != u64::MAX)
    };
    assert_eq!(worked, 20 * 60, "ten minutes on Thursday, ten on Friday");
    let managers = daemon
        .admin_get("/admin/api/reports/managers?since=2026-12-03&until=2026-12-04")
        .await;
    let anna = &managers["items"][0];
    assert_eq!(anna["key"], "anna", "{managers}");
    assert_eq!(anna["taken"], 1);
    assert_eq!(
        anna["median_take_s"],
        serde_json::json!(bucket(worked)),
        "{anna}"
    );
    assert_eq!(
        anna["p90_take_s"],
        serde_json::json!(bucket(worked)),
        "{anna}"
    );
    assert_eq!(
        anna["median_take_wall_s"],
        serde_json::json!(bucket(wall)),
        "{anna}"
    );
    assert_eq!(anna["median_take_s"], 1800, "≤ 30 min, not ≤ a day");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_shows_each_managers_leads_not_yet_taken_against_max_open() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Борис takes at most five; Вера is inactive.
    let routing = always_open_routing()
        .replacen(
            "crm_user_id = { crm = \"18\", b24 = \"18\" }\n",
            "crm_user_id = { crm = \"18\", b24 = \"18\" }\nmax_open = 5\n",
            1,
        )
        .replacen(
            "name = \"Вера Соколова\"\n",
            "name = \"Вера Соколова\"\nactive = false\n",
            1,
        );
    assert!(routing.contains("max_open = 5") && routing.contains("active = false"));
    let daemon = TestDaemon::start_in(dir.path(), &config(&sink), &routing).await;
    for phone in ["+79165550031", "+79165550032", "+79165550033"] {
        post_form(&daemon, &[("phone", phone)]).await;
    }
    leads_stored(&daemon, 3).await;
    daemon.settled().await;
    let cookie = sign_in(&daemon).await;
    let html = get(&daemon, &cookie, "/admin/overview")
        .await
        .text()
        .await
        .expect("page");
    let row = |id: &str| {
        let at = html
            .find(&format!("<tr data-key=\"{id}\">"))
            .unwrap_or_else(|| panic!("{id}'s row: {html}"));
        html[at..]
            .split("</tr>")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let open = |id: &str| -> u32 {
        let r = row(id);
        let cell = r.split("<td class=\"open\">").nth(1).unwrap_or_default();
        let n = cell.split(['<', ' ']).next().unwrap_or_default();
        n.parse().unwrap_or_else(|_| panic!("{id}: {r}"))
    };
    assert_eq!(
        open("anna") + open("boris"),
        3,
        "round robin between the two"
    );
    assert!(row("boris").contains(" / 5</td>"), "{}", row("boris"));
    assert!(
        row("vera").contains("не получает заявок"),
        "{}",
        row("vera")
    );
    assert_eq!(open("vera"), 0);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_tokens_from_one_client_do_not_lock_the_admin_out() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Behind a proxy on this machine: each client is who the proxy says.
    let config = format!(
        "[server]\ntrust_forwarded_for = true\ntrusted_proxies = [\"127.0.0.1\"]\n{}",
        config(&sink)
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    let try_token = |from: &'static str, token: &'static str| {
        client()
            .post(daemon.url("/admin/sign-in"))
            .header("x-forwarded-for", from)
            .form(&[("token", token), ("back", "/admin/leads")])
            .send()
    };
    let mut last = 0;
    for _ in 0..25 {
        last = try_token("203.0.113.7", "wrong-token")
            .await
            .expect("post")
            .status()
            .as_u16();
    }
    assert_eq!(last, 429, "a client that keeps guessing is slowed down");
    let other = try_token("198.51.100.9", ADMIN_TOKEN).await.expect("post");
    assert_eq!(other.status(), 303, "the admin elsewhere still signs in");
    // Neighbours in one IPv6 /64 are one client.
    for _ in 0..25 {
        last = try_token("2001:db8:7:7::1", "wrong-token")
            .await
            .expect("post")
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
    let neighbour = try_token("2001:db8:7:7::2", ADMIN_TOKEN)
        .await
        .expect("post");
    assert_eq!(neighbour.status(), 429);
    daemon.stop().await;
}

/// Re-sending a lead whose delivered event retention emptied: the same event is made again
/// from the lead's record (a copy would have sent an empty body), and the audit trail says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_after_retention_emptied_the_event_makes_it_again() {
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let config = format!(
        "{}\n[retention]\ndelivered = \"7d\"\nevery = \"1m\"\n",
        config(&sink)
    );
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    let lead = post_form(
        &daemon,
        &[("phone", "+79161110070"), ("message", "Котёл на дачу")],
    )
    .await;
    let first = sink.events(1).await;
    assert_eq!(first[0]["type"], "lead.created");
    clock.advance(chrono::Duration::days(8));
    daemon
        .ran_since("stage:retention", leadgate::clock::Clock::now(&*clock))
        .await;
    let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
    assert_eq!(journey["deliveries"][0]["status"], "delivered", "{journey}");

    let cookie = sign_in(&daemon).await;
    let page = get(
        &daemon,
        &cookie,
        &format!("/admin/leads/{lead}/resend?sink=crm"),
    )
    .await;
    let csrf = csrf_of(&page.text().await.expect("page"));
    let done = client()
        .post(daemon.url(&format!("/admin/leads/{lead}/resend")))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("sink", "crm")])
        .send()
        .await
        .expect("post");
    assert_eq!(done.status(), 200);
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.created", "{}", got[1]);
    assert_eq!(got[1]["data"]["id"], lead.as_str());
    assert_eq!(got[1]["data"]["contact"]["phones"][0], "+79161110070");
    assert_ne!(got[1]["data"]["text"], "", "{}", got[1]);
    let audit = daemon.audit(&lead).await;
    let resent = audit.iter().find(|a| a["kind"] == "resent");
    let resent = resent.unwrap_or_else(|| panic!("resent in the audit trail: {audit:?}"));
    assert_eq!(resent["detail"]["made_again"], true);
    daemon.stop().await;
}
