//! What a visitor meets in a real browser (headless Chromium over WebDriver): the demo page
//! posts from whatever port the daemon listens on, a mistake is answered with a page in the
//! business's language that says what to fix and keeps what was typed, and the corrected
//! request goes through to the thank-you page and the CRM stand-in.

mod support;

use fantoccini::Locator;
use std::time::Duration;
use support::browser::Browser;
use support::daemon::{TestDaemon, always_open_routing, eventually, file_lines};

/// The repository's demo form: its allowed origins name port 8080 only, and the test daemon
/// listens on a random port, as a newcomer's `LEADGATE__SERVER__LISTEN=...:18081` would.
const CONFIG: &str = r#"
[[sources.webform]]
id = "demo"
demo = true
honeypot = "website"
allowed_origins = ["http://127.0.0.1:8080", "http://localhost:8080"]

[[sinks.file]]
id = "delivered"
path = "{dir}/delivered.jsonl"
"#;

/// The text of `css` once the page that has it is loaded (a submit navigates: until the new
/// page is there, the old one's elements go stale under the finder).
async fn text_of(b: &Browser, css: &str) -> String {
    let found = eventually(Duration::from_secs(10), || async {
        let element = b.client.find(Locator::Css(css)).await.ok()?;
        element.text().await.ok()
    })
    .await;
    found.unwrap_or_else(|| panic!("{css} did not appear"))
}

/// Waits for the page whose `h1` says `title`.
async fn wait_for_title(b: &Browser, title: &str) {
    let seen = eventually(Duration::from_secs(10), || async {
        let h1 = b.client.find(Locator::Css("h1")).await.ok()?;
        (h1.text().await.ok()? == title).then_some(())
    })
    .await;
    assert!(seen.is_some(), "no page titled {title:?}");
}

async fn value_of(b: &Browser, css: &str) -> String {
    b.client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .prop("value")
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .unwrap_or_default()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistake_gets_a_page_that_keeps_what_was_typed_and_the_fix_goes_through() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), CONFIG, &always_open_routing()).await;
    assert_ne!(daemon.addr.port(), 8080, "the point is another port");
    let b = Browser::start().await;

    b.client
        .goto(&daemon.url("/"))
        .await
        .expect("open the demo");
    set(&b, "input[name=name]", "Вера Павлова").await;
    set(&b, "input[name=phone]", "916 12").await;
    set(
        &b,
        "textarea[name=message]",
        "Нужен котёл <b>на дачу</b>, 90 м²",
    )
    .await;
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("submit");

    // Not JSON, not English, not an empty form: what to fix, and their words kept.
    wait_for_title(&b, "Проверьте заявку").await;
    let problem = text_of(&b, ".problem").await;
    assert!(problem.contains("Укажите телефон"), "{problem}");
    let source = b.client.source().await.expect("page source");
    assert!(!source.contains("\"error\""), "raw JSON shown: {source}");
    assert_eq!(value_of(&b, "input[name=name]").await, "Вера Павлова");
    assert_eq!(value_of(&b, "input[name=phone]").await, "916 12");
    assert_eq!(
        value_of(&b, "[name=message]").await,
        "Нужен котёл <b>на дачу</b>, 90 м²",
        "the person's markup is their text, not the page's"
    );
    assert!(
        b.client.find(Locator::Css("b")).await.is_err(),
        "lead text must be escaped, never rendered as markup"
    );
    assert!(
        file_lines(&dir.path().join("delivered.jsonl")).is_empty(),
        "nothing is stored for a refused post"
    );

    set(&b, "input[name=phone]", "+7 916 123-45-67").await;
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("send again");
    wait_for_title(&b, "Спасибо!").await;

    let delivered = eventually(Duration::from_secs(10), || async {
        let lines = file_lines(&dir.path().join("delivered.jsonl"));
        (!lines.is_empty()).then_some(lines)
    })
    .await
    .expect("the corrected request reaches the sink");
    let lead = &delivered[0]["data"];
    assert_eq!(lead["contact"]["phones"][0], "+79161234567");
    assert_eq!(lead["contact"]["name"], "Вера Павлова");
    assert!(
        lead["text"].as_str().is_some_and(|t| t.contains("90 м²")),
        "{lead}"
    );
    let _ = b.client.clone().close().await;
    daemon.stop().await;
}
