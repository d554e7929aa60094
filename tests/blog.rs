//! Blog comments end to end: the daemon polls a local WordPress REST API and a comments feed
//! built from the corpus samples, and the right comments reach a real HTTP sink as leads,
//! once, across polls, new comments and a restart; spam and staff comments are kept with
//! their reason; a site that fails or hangs does not stop another source.

#[path = "blog_support/mod.rs"]
mod blog_support;
mod support;

use blog_support::feed::{FeedSite, failing_site, hanging_site};
use blog_support::redirect::{PRIVATE_TEXT, PrivateServer, RedirectSite};
use blog_support::wordpress::{APP_PASSWORD, Quirk, USER, WpSite, corpus_comments, post_title};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use support::daemon::{TestDaemon, authed_get, default_routing, eventually};
use support::expected::{Expectation, check_lead, check_not_lead, expectations, sample};
use support::sink::Sink;

const WAIT: Duration = Duration::from_secs(20);

/// The corpus's staff and the business's own contacts (fixtures README).
const STAFF: &str = r#"staff_names = ["ТеплоДом"]
staff_emails = ["blog@teplodom.example"]"#;

fn business() -> &'static str {
    r#"
[business]
own_emails = ["sales@teplodom.example", "wordpress@teplodom.example", "blog@teplodom.example"]
own_phones = ["+78126001234"]
"#
}

fn sink_config(sink: &Sink) -> String {
    format!(
        "\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\ntimeout = \"2s\"\n",
        sink.url()
    )
}

fn wordpress_source(id: &str, site_url: &str, timeout: &str, extra: &str) -> String {
    format!(
        "\n[[sources.wordpress]]\nid = \"{id}\"\nsite_url = \"{site_url}\"\npoll_interval = \"100ms\"\ntimeout = \"{timeout}\"\n{STAFF}\n{extra}\n"
    )
}

fn feed_source(id: &str, url: &str) -> String {
    format!(
        "\n[[sources.feed]]\nid = \"{id}\"\nurl = \"{url}\"\npoll_interval = \"100ms\"\ntimeout = \"2s\"\n{STAFF}\n"
    )
}

/// The daemon on a clock standing the day after the corpus's comments, so the default
/// 7-day backfill window covers them.
async fn start(dir: &Path, config: &str) -> TestDaemon {
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T00:00:00Z")
        .expect("a time")
        .with_timezone(&chrono::Utc);
    let clock = Arc::new(leadgate::clock::ManualClock::new(now));
    TestDaemon::start_at(dir, config, &default_routing(), clock).await
}

/// Every `lead.created` the sink got, by the lead's external id (a second event for the
/// same comment is a failure, so they are counted too).
fn leads(sink: &Sink) -> (BTreeMap<String, Value>, usize) {
    let created: Vec<Value> = sink
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == "lead.created")
        .map(|e| e["data"].clone())
        .collect();
    let count = created.len();
    let by_id = created
        .into_iter()
        .map(|lead| (lead["external_id"].as_str().unwrap_or("").to_string(), lead))
        .collect();
    (by_id, count)
}

async fn wait_for_leads(sink: &Sink, n: usize) -> BTreeMap<String, Value> {
    eventually(WAIT, || async {
        let (by_id, count) = leads(sink);
        (count >= n).then_some(by_id)
    })
    .await
    .unwrap_or_else(|| panic!("the sink did not get {n} leads: {:?}", leads(sink).0.keys()))
}

/// Compares every blog entry of expected.json with what the daemon did: leads at the sink,
/// the rest in the admin's inbound list with their reason.
async fn check_corpus(daemon: &TestDaemon, leads: &BTreeMap<String, Value>) -> Vec<String> {
    let inbound = daemon
        .admin_get("/admin/api/inbound?channel=blog&limit=500")
        .await;
    let items = inbound["items"].as_array().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    let exps: Vec<Expectation> = expectations("blog");
    assert_eq!(exps.len(), 9, "blog entries in expected.json");
    for exp in &exps {
        let id = exp
            .external_id
            .clone()
            .expect("blog entries name their comment");
        if exp.is_lead {
            match leads.get(&id) {
                Some(lead) => problems.extend(check_lead(exp, lead)),
                None => problems.push(format!("{}: no lead for {id}", exp.file)),
            }
            continue;
        }
        if leads.contains_key(&id) {
            problems.push(format!("{}: {id} was delivered", exp.file));
        }
        match items.iter().find(|i| i["dedupe_key"] == id.as_str()) {
            Some(item) => problems.extend(check_not_lead(
                exp,
                item["reason"].as_str().unwrap_or(""),
                item["dedupe_key"].as_str(),
            )),
            None => problems.push(format!("{}: {id} is not stored", exp.file)),
        }
    }
    problems
}

/// Dedupe keys of the stored items with this reason, as the admin sees them.
async fn with_reason(daemon: &TestDaemon, reason: &str) -> Vec<String> {
    let listed = daemon
        .admin_get(&format!("/admin/api/inbound?reason={reason}"))
        .await;
    listed["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i["dedupe_key"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn new_comment(id: u64, date_gmt: &str, name: &str, email: &str, text: &str) -> Value {
    json!({
        "id": id, "post": 2290, "parent": 0, "author": 0,
        "author_name": name, "author_email": email, "author_url": "",
        "date": date_gmt, "date_gmt": date_gmt,
        "content": {"rendered": format!("<p>{text}</p>\n"), "raw": text},
        "link": format!("https://teplodom.example/blog/teplyj-pol-vodyanoj-ili-elektricheskij/#comment-{id}"),
        "status": "approved", "type": "comment"
    })
}

const NEW_FEED_ITEM: &str = r#"<item>
		<title>Комментарий к записи Как выбрать газовый котёл для частного дома от Ирина Белова</title>
		<link>https://teplodom.example/blog/kak-vybrat-gazovyj-kotel/#comment-5822</link>
		<dc:creator><![CDATA[Ирина Белова]]></dc:creator>
		<pubDate>Fri, 20 Nov 2026 13:00:00 +0000</pubDate>
		<guid isPermaLink="false">https://teplodom.example/blog/?p=2317#comment-5822</guid>
		<description><![CDATA[Есть ли в наличии котлы Navien? Пишите: irina.belova@mail.ru]]></description>
		<content:encoded><![CDATA[<p>Есть ли в наличии котлы Navien? Пишите: irina.belova@mail.ru</p>]]></content:encoded>
	</item>
	"#;

/// A commenter who asked to be forgotten does not come back while the feed still lists
/// their comment: the feed changes (a new comment), the poller hands every entry to intake
/// again, and the erased one is left out. Before, `forget` took its dedupe key with it, and
/// the comment became a new lead, card and `lead.created`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_commenter_does_not_come_back_from_the_feed() {
    let sink = Sink::start(&[]).await;
    let feed = FeedSite::start(
        String::from_utf8(sample("blog/comments-feed.xml")).expect("the feed is UTF-8"),
    )
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        "{}{}{}",
        business(),
        feed_source("blog-feed", &feed.url()),
        sink_config(&sink)
    );
    let daemon = start(dir.path(), &config).await;
    let before = wait_for_leads(&sink, 2).await;
    let email = (before.values())
        .find_map(|l| l["contact"]["emails"][0].as_str().map(str::to_string))
        .expect("a feed lead with an e-mail");
    daemon.stop().await;
    support::process::forget(dir.path(), &["--email", &email]);
    let daemon = start(dir.path(), &config).await;
    feed.add_item(NEW_FEED_ITEM);
    let after = eventually(WAIT, || async {
        let (by_id, _) = leads(&sink);
        by_id
            .contains_key("https://teplodom.example/blog/?p=2317#comment-5822")
            .then_some(())
    })
    .await;
    assert!(after.is_some(), "the new comment became a lead");
    // The feed's other entries were handed over with it: give their events time to arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let created_for = |address: &str| {
        (sink.received().iter())
            .map(|r| r.json())
            .filter(|e| e["type"] == "lead.created" && e["data"]["contact"]["emails"][0] == address)
            .count()
    };
    assert_eq!(created_for(&email), 1, "{email} came back");
    daemon.stop().await;
}

/// A comment answering comment `parent`.
fn reply(id: u64, parent: u64, date_gmt: &str, name: &str, text: &str) -> Value {
    let mut comment = new_comment(id, date_gmt, name, "", text);
    comment["parent"] = json!(parent);
    comment
}

/// Every event the sink got for the lead whose `lead.created` has external id `external`.
fn events_of(sink: &Sink, external: &str) -> Vec<Value> {
    let all: Vec<Value> = sink.received().iter().map(|r| r.json()).collect();
    let id = (all.iter())
        .find(|e| e["type"] == "lead.created" && e["data"]["external_id"] == external)
        .map(|e| e["data"]["id"].clone());
    (all.into_iter())
        .filter(|e| id.is_some() && Some(&e["data"]["id"]) == id.as_ref())
        .collect()
}

/// A reply joins the lead it answers only within its own site and only from the same person.
/// Comment ids are a site's own (two sites both have a comment 7), and anyone may answer a
/// public comment. Before, another site's reply to its comment 7, and a stranger's reply on
/// the same site, both joined the first site's lead: no lead of their own, and their words and
/// phones sent to the CRM as that person's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_joins_a_lead_only_on_its_own_site_and_from_the_same_person() {
    let anna = "Анна Смирнова";
    let first = new_comment(
        7,
        "2026-11-20T08:00:00",
        anna,
        "",
        "Сколько стоит котёл с монтажом? 8 (916) 111-22-33",
    );
    let site_a = WpSite::start(vec![first], true).await;
    let staff = new_comment(
        7,
        "2026-11-20T08:30:00",
        "ТеплоДом",
        "",
        "Спасибо за вопрос!",
    );
    let site_b = WpSite::start(vec![staff], true).await;
    let sink = Sink::start(&[]).await;
    let login = format!("user = \"{USER}\"\napp_password = \"{APP_PASSWORD}\"");
    let config = [
        business().to_string(),
        wordpress_source("site-a", &site_a.site_url(), "2s", &login),
        wordpress_source("site-b", &site_b.site_url(), "2s", &login),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;
    wait_for_leads(&sink, 1).await;

    // Site B's own comment 7 is the staff's; a visitor answers it.
    let petr = "Присоединяюсь, тоже нужен котёл: 8 (926) 555-44-33";
    site_b.add(vec![reply(
        9,
        7,
        "2026-11-20T09:00:00",
        "Пётр Васильев",
        petr,
    )]);
    // On site A, a stranger answers Анна, and then Анна herself.
    let irina = "А мне нужен бойлер, позвоните 8 (903) 777-88-99";
    site_a.add(vec![reply(8, 7, "2026-11-20T09:10:00", "Ирина", irina)]);
    let got = wait_for_leads(&sink, 3).await;
    assert!(
        got.contains_key("9"),
        "site B's reply is a lead: {:?}",
        got.keys()
    );
    assert!(
        got.contains_key("8"),
        "the stranger's reply is a lead: {:?}",
        got.keys()
    );
    assert_eq!(got["9"]["contact"]["phones"], json!(["+79265554433"]));
    assert_eq!(got["8"]["contact"]["phones"], json!(["+79037778899"]));
    site_a.add(vec![reply(
        10,
        7,
        "2026-11-20T09:20:00",
        anna,
        "Жду расчёт, спасибо",
    )]);
    let joined = eventually(WAIT, || async {
        let events = events_of(&sink, "7");
        (events.iter().any(|e| e["type"] == "lead.updated")).then_some(events)
    })
    .await
    .expect("Анна's own reply joins her lead");
    for event in &joined {
        assert_eq!(
            event["data"]["contact"]["phones"],
            json!(["+79161112233"]),
            "{event}"
        );
        let text = event["data"]["text"].as_str().unwrap_or("");
        assert!(
            !text.contains("бойлер") && !text.contains("Присоединяюсь"),
            "{text}"
        );
    }
    assert_eq!(leads(&sink).1, 3, "one lead a person");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_become_leads_once_across_polls_new_comments_and_a_restart() {
    let comments = corpus_comments(
        &sample("blog/wp-comments.json"),
        &sample("blog/wp-comment-held-edit-context.json"),
    );
    let wp = WpSite::start(comments, true).await;
    let feed = FeedSite::start(
        String::from_utf8(sample("blog/comments-feed.xml")).expect("the feed is UTF-8"),
    )
    .await;
    let sink = Sink::start(&[]).await;
    let login = format!("user = \"{USER}\"\napp_password = \"{APP_PASSWORD}\"\nper_page = 2");
    let config = [
        business().to_string(),
        wordpress_source("blog", &wp.site_url(), "2s", &login),
        feed_source("blog-feed", &feed.url()),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;

    // The corpus: 3 WordPress leads (one held for moderation) and 2 from the feed.
    let got = wait_for_leads(&sink, 5).await;
    let problems = check_corpus(&daemon, &got).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(got["5811"]["subject"], post_title(2317), "the post's title");
    assert_eq!(got["5816"]["subject"], post_title(2317));
    assert_eq!(
        got["5811"]["fields"]["comment_url"],
        "https://teplodom.example/blog/kak-vybrat-gazovyj-kotel/#comment-5811"
    );
    let spam = with_reason(&daemon, "spam").await;
    assert!(spam.contains(&"5812".to_string()), "{spam:?}");
    assert!(
        spam.contains(&"https://teplodom.example/blog/?p=2335#comment-5791".to_string()),
        "{spam:?}"
    );
    let staff = with_reason(&daemon, "staff").await;
    assert!(staff.contains(&"5813".to_string()), "{staff:?}");

    // Polls go on (the feed answers 304 to its ETag), and nothing is delivered twice.
    let asked_before = wp.asked().len();
    eventually(WAIT, || async {
        let polled_again = wp.asked().len() >= asked_before + 6;
        let not_modified = feed
            .asked()
            .iter()
            .any(|(etag, status)| etag.as_deref() == Some("\"comments-v1\"") && *status == 304);
        (polled_again && not_modified).then_some(())
    })
    .await
    .expect("the sources keep polling, the feed conditionally");
    assert_eq!(leads(&sink).1, 5, "every comment is delivered once");

    // The requests: pages in date order with real pagination, credentials on every one,
    // the held stream asked for, and leadgate named.
    let asked = wp.asked();
    assert!(
        asked.iter().all(|a| a.authorised && a.answered == 200),
        "{asked:?}"
    );
    assert!(asked.iter().all(|a| a.user_agent.starts_with("leadgate/")));
    assert!(
        asked
            .iter()
            .any(|a| a.query.get("page").map(String::as_str) == Some("2"))
    );
    assert!(
        asked
            .iter()
            .any(|a| a.query.get("status").map(String::as_str) == Some("hold"))
    );
    assert!(asked.iter().all(|a| {
        a.query.get("orderby").map(String::as_str) == Some("date_gmt")
            && a.query.get("per_page").map(String::as_str) == Some("2")
    }));
    let order = |o: &str| {
        asked
            .iter()
            .any(|a| a.query.get("order").map(String::as_str) == Some(o))
    };
    assert!(order("asc") && order("desc"), "read forward and rechecked");

    // Comments appearing between polls: a later one, one written in the same second as the
    // newest one already taken, and a new feed item.
    wp.add(vec![
        new_comment(
            5820,
            "2026-11-20T12:00:00",
            "Олег Смирнов",
            "O.Smirnov@yandex.ru",
            "Можно заказать монтаж тёплого пола в Пушкине? Телефон +7 921 555-44-33",
        ),
        new_comment(
            5819,
            "2026-11-19T18:14:09",
            "Марина",
            "marina.k@example.org",
            "А сколько стоит проект отопления для дома 90 м²?",
        ),
    ]);
    feed.add_item(NEW_FEED_ITEM);
    let got = wait_for_leads(&sink, 8).await;
    let lead = &got["5820"];
    assert_eq!(lead["contact"]["phones"], json!(["+79215554433"]));
    assert_eq!(lead["contact"]["emails"], json!(["o.smirnov@yandex.ru"]));
    assert_eq!(got["5819"]["contact"]["name"], "Марина");
    let lead = &got["https://teplodom.example/blog/?p=2317#comment-5822"];
    assert_eq!(lead["contact"]["emails"], json!(["irina.belova@mail.ru"]));
    assert_eq!(lead["source"], "blog-feed");
    // A lead reaches the sink before the poll that took it has saved its watermark (the
    // items commit first): let a later poll begin, so the one that took 5820 has ended.
    let asked = wp.asked().len();
    let polled_again = eventually(WAIT, || async {
        (wp.asked().len() >= asked + 6).then_some(())
    })
    .await;
    assert!(polled_again.is_some(), "the poller goes on");
    daemon.stop().await;

    // A restart on the same directory starts from the kept positions: nothing twice.
    let (wp_before, feed_before) = (wp.asked().len(), feed.asked().len());
    let daemon = start(dir.path(), &config).await;
    eventually(WAIT, || async {
        let wp_polls = wp.asked().len() >= wp_before + 6;
        let feed_polls = feed.asked().len() >= feed_before + 2;
        (wp_polls && feed_polls).then_some(())
    })
    .await
    .expect("the restarted daemon polls");
    let first = wp.asked()[wp_before..]
        .iter()
        .find(|a| !a.query.contains_key("status"))
        .cloned()
        .expect("the published comments are asked for");
    assert_eq!(
        first.query.get("after").map(String::as_str),
        Some("2026-11-20T11:59:59Z"),
        "the kept watermark (5820's date_gmt), not the backfill window: {first:?}"
    );
    let (etag, status) = feed.asked()[feed_before].clone();
    assert_eq!((etag.as_deref(), status), (Some("\"comments-v2\""), 304));
    assert_eq!(
        leads(&sink).1,
        8,
        "nothing is delivered twice after a restart"
    );
    let problems = check_corpus(&daemon, &got).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    daemon.stop().await;
}

/// A first-time commenter's comment is held for moderation, and a moderator approves it after
/// newer comments were taken: it is published with the date it was written, behind the
/// watermark. Without an application password leadgate never saw it held; the recheck behind
/// the watermark takes it, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_approved_after_newer_ones_were_taken_becomes_a_lead_once() {
    let mut held = new_comment(
        5841,
        "2026-11-20T08:30:00",
        "Пётр Новиков",
        "p.novikov@mail.ru",
        "Сколько стоит котёл под ключ? Мой телефон 8 911 222-33-44",
    );
    held["status"] = json!("hold");
    let comments = vec![
        held,
        new_comment(
            5842,
            "2026-11-20T09:00:00",
            "Марина",
            "marina.k@example.org",
            "А проект отопления для дома 90 м² сколько стоит?",
        ),
    ];
    let wp = WpSite::start(comments, true).await;
    let sink = Sink::start(&[]).await;
    let config = [
        business().to_string(),
        wordpress_source(
            "blog",
            &wp.site_url(),
            "2s",
            "per_page = 1\nrecheck = \"2d\"",
        ),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;
    let got = wait_for_leads(&sink, 1).await;
    assert!(got.contains_key("5842"), "{:?}", got.keys());

    wp.approve(5841);
    let got = wait_for_leads(&sink, 2).await;
    let lead = &got["5841"];
    assert_eq!(lead["contact"]["phones"], json!(["+79112223344"]));
    let asked_before = wp.asked().len();
    eventually(WAIT, || async {
        (wp.asked().len() >= asked_before + 6).then_some(())
    })
    .await
    .expect("the site is polled on");
    assert_eq!(leads(&sink).1, 2, "each comment delivered once");

    // The recheck: newest first, from the window behind the watermark (5842's date_gmt).
    let recheck = wp
        .asked()
        .into_iter()
        .find(|a| a.query.get("order").map(String::as_str) == Some("desc"))
        .expect("a recheck was asked");
    assert_eq!(
        recheck.query.get("after").map(String::as_str),
        Some("2026-11-18T08:59:59Z"),
        "{recheck:?}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_pretty_permalinks_the_rest_route_is_used_and_remembered() {
    let comments = corpus_comments(
        &sample("blog/wp-comments.json"),
        &sample("blog/wp-comment-held-edit-context.json"),
    );
    let wp = WpSite::start(comments, false).await;
    let sink = Sink::start(&[]).await;
    let config = [
        business().to_string(),
        wordpress_source("blog", &wp.site_url(), "2s", ""),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;
    let got = wait_for_leads(&sink, 2).await;
    assert!(
        got.contains_key("5811") && got.contains_key("5814"),
        "{:?}",
        got.keys()
    );
    eventually(WAIT, || async {
        let fallback = wp
            .asked()
            .iter()
            .filter(|a| a.path == "/blog/" && a.answered == 200)
            .count();
        (fallback >= 4).then_some(())
    })
    .await
    .expect("the site is polled on ?rest_route=");
    let asked = wp.asked();
    let pretty: Vec<_> = asked
        .iter()
        .filter(|a| a.path.contains("wp-json"))
        .collect();
    assert_eq!(pretty.len(), 1, "asked once, then remembered: {pretty:?}");
    assert_eq!(pretty[0].answered, 404);
    assert!(
        asked.iter().all(|a| !a.authorised
            && !a.query.contains_key("status")
            && !a.query.contains_key("context")),
        "without an application password only published comments are asked for"
    );
    assert_eq!(
        leads(&sink).1,
        2,
        "the held comment needs the application password"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_or_hanging_site_does_not_stop_another_source() {
    let feed = FeedSite::start(
        String::from_utf8(sample("blog/comments-feed.xml")).expect("the feed is UTF-8"),
    )
    .await;
    let sink = Sink::start(&[]).await;
    let secret_login = format!("user = \"{USER}\"\napp_password = \"{APP_PASSWORD}\"");
    let config = [
        business().to_string(),
        wordpress_source(
            "down",
            &format!("{}/blog", failing_site().await),
            "2s",
            &secret_login,
        ),
        wordpress_source(
            "hung",
            &format!("{}/blog", hanging_site().await),
            "300ms",
            &secret_login,
        ),
        feed_source("blog-feed", &feed.url()),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;
    let got = wait_for_leads(&sink, 2).await;
    assert!(
        got.keys()
            .all(|k| k.starts_with("https://teplodom.example/blog/?p="))
    );

    let ready = eventually(WAIT, || async {
        let body = authed_get(daemon.url("/readyz"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let v: Value = serde_json::from_str(&body).ok()?;
        let c = &v["components"];
        let failing =
            |name: &str| c[name]["state"] == "failing" && c[name]["last_error"].is_string();
        (failing("source:down") && failing("source:hung") && c["source:blog-feed"]["state"] == "ok")
            .then_some((v, body))
    })
    .await;
    let (ready, body) = ready.expect("/readyz shows the broken sites failing and the feed ok");
    let error = ready["components"]["source:down"]["last_error"]
        .as_str()
        .unwrap_or("");
    assert!(error.contains("500"), "{error}");
    for secret in [
        APP_PASSWORD.to_string(),
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{USER}:{APP_PASSWORD}"),
        ),
    ] {
        assert!(
            !body.contains(&secret),
            "the application password leaked: {body}"
        );
    }
    daemon.stop().await;
}

/// The components of `/readyz` as the admin sees them.
async fn components(daemon: &TestDaemon) -> Value {
    daemon.admin_get("/readyz").await["components"].clone()
}

/// Issue 15, item 2: a site that redirects into the private network. The pollers follow a
/// redirect only within the site's origin (the feed moved to another path is read); a
/// redirect to another origin is not followed (the private server is never asked), and the
/// source fails with a clear error that carries no answer's text. A WordPress error keeps its
/// `code` and loses its free-text `message`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_leave_the_origin_never_and_no_answer_text_reaches_readyz() {
    let private = PrivateServer::start().await;
    let site = RedirectSite::start(
        String::from_utf8(sample("blog/comments-feed.xml")).expect("the feed is UTF-8"),
        &private,
    )
    .await;
    // A real site that refuses the login: 401 with WordPress's code and message.
    let wp = WpSite::start(Vec::new(), true).await;
    let sink = Sink::start(&[]).await;
    let config = [
        business().to_string(),
        wordpress_source("wp-redirect", &site.url("/blog"), "2s", ""),
        feed_source("feed-redirect", &site.url("/elsewhere/feed")),
        feed_source("feed-moved", &site.url("/moved/feed")),
        feed_source("feed-loop", &site.url("/loop/feed")),
        wordpress_source(
            "wp-refused",
            &wp.site_url(),
            "2s",
            &format!("user = \"{USER}\"\napp_password = \"wrong password\""),
        ),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;

    // The feed behind a same-origin redirect is read: its two leads arrive.
    let got = wait_for_leads(&sink, 2).await;
    assert!(
        got.keys()
            .all(|k| k.starts_with("https://teplodom.example/blog/?p=")),
        "{:?}",
        got.keys()
    );

    let failing = eventually(WAIT, || async {
        let c = components(&daemon).await;
        let failing = |name: &str| c[name]["state"] == "failing";
        let polled_again = site.hits() >= 8;
        (failing("source:wp-redirect")
            && failing("source:feed-redirect")
            && failing("source:wp-refused")
            && failing("source:feed-loop")
            && c["source:feed-moved"]["state"] == "ok"
            && polled_again)
            .then_some(c)
    })
    .await
    .expect("the redirected sources fail, the moved feed is read");
    assert_eq!(
        private.hits(),
        0,
        "nothing is fetched from the private server"
    );

    for name in ["source:wp-redirect", "source:feed-redirect"] {
        let error = failing[name]["last_error"].as_str().unwrap_or("");
        assert!(error.contains("302"), "{name}: {error}");
        assert!(error.contains("redirect"), "{name}: {error}");
        assert!(error.contains("not followed"), "{name}: {error}");
    }
    let looped = failing["source:feed-loop"]["last_error"]
        .as_str()
        .unwrap_or("");
    assert!(
        looped.contains("307: a redirect past the 3 followed within a site"),
        "{looped}"
    );
    let refused = failing["source:wp-refused"]["last_error"]
        .as_str()
        .unwrap_or("");
    assert!(refused.contains("401"), "{refused}");
    assert!(refused.contains("rest_forbidden_context"), "{refused}");
    assert!(
        !refused.contains("Sorry"),
        "WordPress's message stays out: {refused}"
    );

    let readyz = reqwest::Client::new()
        .get(daemon.url("/readyz"))
        .bearer_auth(support::daemon::ADMIN_TOKEN)
        .send()
        .await
        .expect("readyz")
        .text()
        .await
        .expect("text");
    for leaked in [
        PRIVATE_TEXT,
        "internal_error",
        "/private/admin",
        "token=abc",
    ] {
        assert!(
            !readyz.contains(leaked),
            "{leaked} reached /readyz: {readyz}"
        );
    }
    assert_eq!(leads(&sink).1, 2);
    daemon.stop().await;
}

/// The highest `page` a site was asked for.
fn highest_page(site: &WpSite) -> u32 {
    site.asked()
        .iter()
        .filter_map(|a| a.query.get("page")?.parse().ok())
        .max()
        .unwrap_or(0)
}

/// Issue 15, item 6: a site that ignores `page` and sends no `X-WP-TotalPages` used to be
/// paged through for ever (pages 1 to 300 in 0.8 s). The poll now ends at the first page
/// identical to the one before, the comments are stored once, and the source reports it; a
/// site whose pages never end is read at most 20 pages a poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_that_ignores_page_or_never_ends_does_not_spin_the_poller() {
    let comments = vec![
        new_comment(
            5830,
            "2026-11-20T09:00:00",
            "Олег Смирнов",
            "o.smirnov@yandex.ru",
            "Сколько стоит монтаж тёплого пола? +7 921 555-44-33",
        ),
        new_comment(
            5831,
            "2026-11-20T09:05:00",
            "Марина",
            "marina.k@example.org",
            "А проект отопления для дома 90 м² сколько стоит?",
        ),
    ];
    let stuck = WpSite::start_with(comments, true, Quirk::IgnoresPage).await;
    let endless = WpSite::start_with(Vec::new(), true, Quirk::Endless).await;
    let sink = Sink::start(&[]).await;
    let config = [
        business().to_string(),
        wordpress_source("stuck", &stuck.site_url(), "2s", "per_page = 2"),
        wordpress_source("endless", &endless.site_url(), "2s", "per_page = 1"),
        sink_config(&sink),
    ]
    .concat();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = start(dir.path(), &config).await;

    // Two polls of each site reported failing: the second poll proves the first one ended.
    let failing = eventually(WAIT, || async {
        let c = components(&daemon).await;
        let polls = |site: &WpSite| {
            site.asked()
                .iter()
                .filter(|a| a.query.get("page").map(String::as_str) == Some("1"))
                .count()
        };
        let failing = |name: &str| c[name]["state"] == "failing";
        (failing("source:stuck")
            && failing("source:endless")
            && polls(&stuck) >= 2
            && polls(&endless) >= 2)
            .then_some(c)
    })
    .await
    .expect("both sources report failing and poll again");
    assert_eq!(highest_page(&stuck), 2, "{:?}", stuck.asked());
    assert_eq!(highest_page(&endless), 20);
    let error = failing["source:stuck"]["last_error"].as_str().unwrap_or("");
    assert!(
        error.contains("page 2") && error.contains("same as page 1"),
        "{error}"
    );
    let error = failing["source:endless"]["last_error"]
        .as_str()
        .unwrap_or("");
    assert!(error.contains("20 pages"), "{error}");

    // The stuck site's comments are stored once and delivered once.
    let got = eventually(WAIT, || async {
        let (by_id, _) = leads(&sink);
        (by_id.contains_key("5830") && by_id.contains_key("5831")).then_some(by_id)
    })
    .await
    .expect("the stuck site's comments are leads");
    assert_eq!(got["5830"]["source"], "stuck");
    let stored = daemon
        .admin_get("/admin/api/inbound?channel=blog&limit=500")
        .await;
    let stuck_items = stored["items"]
        .as_array()
        .map(|items| items.iter().filter(|i| i["source"] == "stuck").count())
        .unwrap_or(0);
    assert_eq!(stuck_items, 2, "{stored}");
    let delivered_stuck = sink
        .received()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == "lead.created" && e["data"]["source"] == "stuck")
        .count();
    assert_eq!(delivered_stuck, 2);
    daemon.stop().await;
}
