//! Replicas: three daemons with one config on one PostgreSQL database, each a process of its
//! own. Any replica takes forms; the work that must run once (processing, the SLA timer, a
//! Telegram bot's updates, a mailbox folder, a comment feed, a WordPress site, the managers'
//! bot, the alerts) runs on whichever replica holds its lease, and moves to a live replica when
//! that one is killed with SIGKILL: every `202` reaches the CRM exactly once, the rotation
//! stays fair, nothing a source had is skipped or taken twice, a lead whose deadline fell
//! while the SLA timer's replica was dead is passed on once, and no manager gets more open
//! leads than `max_open` allows.

#[path = "blog_support/mod.rs"]
mod blog_support;
mod support;

use leadgate::clock::{Clock, SystemClock};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::daemon::{always_open_routing, eventually, write_rules};
use support::process::{free_port, post_form, spawn_daemon, wait_healthy};
use support::sink::{Sink, manager_of};

const ADMIN_TOKEN: &str = "replicas-admin-token-0123456789";

/// How soon a dead replica's work must be running elsewhere (SPEC: within 15 s).
const TAKEOVER: Duration = Duration::from_secs(15);

/// N daemons on one config, each on its own port; killed when dropped.
struct Replicas {
    dir: tempfile::TempDir,
    ports: Vec<u16>,
    children: Vec<Option<Child>>,
    client: reqwest::Client,
}

impl Replicas {
    /// Writes `config` (with the always-open rules) and starts `n` daemons on it.
    async fn start(config: &str, n: usize) -> Replicas {
        Replicas::start_with_rules(config, &always_open_routing(), n).await
    }

    /// Writes `config` and `rules` and starts `n` daemons on them.
    async fn start_with_rules(config: &str, rules: &str, n: usize) -> Replicas {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("leadgate.toml"), config).expect("config");
        write_rules(dir.path(), rules);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client");
        let ports: Vec<u16> = (0..n).map(|_| free_port()).collect();
        let mut replicas = Replicas {
            children: ports.iter().map(|_| None).collect(),
            dir,
            ports,
            client,
        };
        for i in 0..n {
            replicas.restart(i).await;
        }
        replicas
    }

    /// Starts replica `i` again on its port (the same replica id) and waits for it.
    async fn restart(&mut self, i: usize) {
        self.children[i] = Some(spawn_daemon(self.dir.path(), self.ports[i]));
        wait_healthy(&self.client, self.ports[i]).await;
    }

    /// Kills replica `i` with SIGKILL.
    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
            let _ = child.wait();
        }
    }

    /// The leases each live replica lists in `/readyz`, by replica.
    async fn leases(&self) -> BTreeMap<usize, Vec<String>> {
        let mut out = BTreeMap::new();
        for (i, port) in self.ports.iter().enumerate() {
            if self.children[i].is_none() {
                continue;
            }
            let ready = self
                .client
                .get(format!("http://127.0.0.1:{port}/readyz"))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await;
            let Ok(ready) = ready else { continue };
            let body: Value = ready.json().await.unwrap_or_default();
            let held = body["replica"]["leases"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            out.insert(
                i,
                held.iter()
                    .filter_map(|l| l.as_str().map(str::to_string))
                    .collect(),
            );
        }
        out
    }

    /// The live replica that holds `lease` once exactly one does, waiting up to `within`.
    async fn holder_of(&self, lease: &str, within: Duration) -> Option<usize> {
        eventually(within, || async {
            let holders: Vec<usize> = (self.leases().await)
                .into_iter()
                .filter(|(_, held)| held.iter().any(|l| l == lease))
                .map(|(i, _)| i)
                .collect();
            (holders.len() == 1).then(|| holders[0])
        })
        .await
    }

    /// Waits until a live replica other than `from`, killed at `killed`, holds `lease`, and
    /// checks it took it over within [`TAKEOVER`] of the kill.
    async fn took_over(&self, lease: &str, from: usize, killed: Instant) {
        let successor = (self.holder_of(lease, TAKEOVER).await).expect("another replica takes it");
        let took = killed.elapsed();
        eprintln!("{lease}: moved from replica {from} to {successor} in {took:?}");
        assert_ne!(successor, from);
        assert!(took < TAKEOVER, "{lease} took {took:?} to move");
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// The config every replica shares: the store, a form, the admin token for `/readyz`, the CRM
/// and `extra` sources.
fn config(db: &str, sink: &Sink, extra: &str) -> String {
    format!(
        r#"[storage]
url = "{db}"
[routing]
watch = false
[admin]
token = "{ADMIN_TOKEN}"
[[sources.webform]]
id = "site"
rate_per_minute = 1000000
rate_burst = 100000
{extra}
[[sinks.webhook]]
id = "crm"
url = "{sink}"
timeout = "2s"
"#,
        sink = sink.url()
    )
}

/// Every `lead.created` the sink answered 200, by lead: the webhook-ids it came under and the
/// event.
fn created(sink: &Sink) -> HashMap<String, (HashSet<String>, Value)> {
    let mut out: HashMap<String, (HashSet<String>, Value)> = HashMap::new();
    for r in sink.received().iter().filter(|r| r.answered == 200) {
        let event = r.json();
        if event["type"] != "lead.created" {
            continue;
        }
        let lead = event["data"]["id"].as_str().unwrap_or_default().to_string();
        let entry = out
            .entry(lead)
            .or_insert_with(|| (HashSet::new(), event.clone()));
        entry.0.insert(r.header("webhook-id").to_string());
    }
    out
}

/// After `holder` of `lease` was killed at `killed`: another replica takes the lease over
/// within [`TAKEOVER`], and the source's `total` items each become one lead, delivered under
/// one webhook-id, none taken in twice.
async fn taken_over_once(
    replicas: &Replicas,
    db: &support::postgres::Database,
    sink: &Sink,
    (lease, holder, killed): (&str, usize, Instant),
    total: usize,
) {
    replicas.took_over(lease, holder, killed).await;
    let all_in = eventually(Duration::from_secs(60), || async {
        (created(sink).len() >= total).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let leads = created(sink);
    let items = db.scalar("SELECT COUNT(*) FROM inbound").await;
    eprintln!("{lease}: {} leads, {items} items", leads.len());
    assert!(
        all_in.is_some(),
        "{} of {total} items became leads",
        leads.len()
    );
    assert_eq!(leads.len(), total, "every item once");
    assert_eq!(items, total as i64, "no item was taken in twice");
    for (lead, (ids, _)) in &leads {
        assert_eq!(
            ids.len(),
            1,
            "lead {lead} went out under several webhook-ids: {ids:?}"
        );
    }
}

/// Waits until the source's first `n` items are leads at the sink, then kills `holder`, the
/// replica reading the source; returns the moment of the kill.
async fn kill_after_first(
    replicas: &mut Replicas,
    sink: &Sink,
    holder: usize,
    n: usize,
) -> Instant {
    let read_first = eventually(Duration::from_secs(60), || async {
        (created(sink).len() >= n).then_some(())
    })
    .await;
    assert!(
        read_first.is_some(),
        "the source's first {n} items were read"
    );
    replicas.kill(holder);
    Instant::now()
}

/// Posts forms with unique phones to every replica in turn until `stop`; the ids answered
/// `202`.
fn post_forms(
    client: &reqwest::Client,
    ports: &[u16],
    stop: &Arc<AtomicBool>,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    Arc<Mutex<HashSet<String>>>,
) {
    let accepted: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..6u32 {
        let (client, accepted, stop) = (client.clone(), accepted.clone(), stop.clone());
        let ports = ports.to_vec();
        writers.push(tokio::spawn(async move {
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let port = ports[(w + i) as usize % ports.len()];
                let phone = format!("+7916{:07}", w * 100_000 + i);
                match post_form(&client, port, &phone, "replica test").await {
                    Some(id) => {
                        accepted.lock().expect("lock").insert(id);
                    }
                    // The killed replica refuses: the visitor's browser would try another.
                    None => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }
    (writers, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_lose_nothing_when_the_one_that_processes_is_killed() {
    let db = support::postgres::Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let bot = support::bot_api::BotApiSim::start().await;
    let telegram = format!(
        "[[sources.telegram]]\nid = \"tg\"\ntoken = \"{}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n",
        support::bot_api::TOKEN,
        bot.url()
    );
    let mut replicas = Replicas::start(&config(&db.url, &sink, &telegram), 3).await;
    let ports = replicas.ports.clone();
    let processing =
        (replicas.holder_of("process", TAKEOVER).await).expect("one replica processes");
    // The first replica up took every lease, the bot's too: killing it moves both.
    let polling = replicas.holder_of("telegram:tg", TAKEOVER).await;
    assert_eq!(polling, Some(processing), "one replica polls the bot");

    // Forms to all three, and people writing to the bot, while the replica that processes
    // is killed and, a few seconds later, started again.
    let stop = Arc::new(AtomicBool::new(false));
    let (writers, accepted) = post_forms(&replicas.client, &ports, &stop);
    for chat in 0..100 {
        bot.push_text(500_000 + chat, "Client", "Сколько стоит котёл?");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    replicas.kill(processing);
    let killed = Instant::now();
    for chat in 100..200 {
        bot.push_text(500_000 + chat, "Client", "Сколько стоит котёл?");
    }
    let successor = (replicas.holder_of("process", TAKEOVER).await)
        .expect("another replica takes processing over");
    let took = killed.elapsed();
    assert_ne!(successor, processing);
    let bot_moved = replicas.holder_of("telegram:tg", TAKEOVER).await;
    assert!(
        bot_moved.is_some_and(|r| r != processing),
        "another replica polls the bot: {bot_moved:?}"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    replicas.restart(processing).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }

    let accepted = accepted.lock().expect("lock").clone();
    let all_in = eventually(Duration::from_secs(60), || async {
        let leads = created(&sink);
        let telegram = (leads.values())
            .filter(|(_, e)| e["data"]["source"] == "tg")
            .count();
        (accepted.iter().all(|id| leads.contains_key(id)) && telegram == 200).then_some(leads)
    })
    .await;
    let leads = created(&sink);
    let missing: Vec<&String> = accepted
        .iter()
        .filter(|id| !leads.contains_key(*id))
        .collect();
    let telegram: Vec<&Value> = (leads.values())
        .filter(|(_, e)| e["data"]["source"] == "tg")
        .map(|(_, e)| e)
        .collect();
    let mut per_manager: BTreeMap<String, usize> = BTreeMap::new();
    for (_, event) in leads.values() {
        *per_manager.entry(manager_of(event)).or_default() += 1;
    }
    eprintln!(
        "replicas: {} forms acknowledged, {} leads delivered ({} from Telegram), {} missing; processing moved from replica {processing} to {successor} in {took:?}; per manager {per_manager:?}",
        accepted.len(),
        leads.len(),
        telegram.len(),
        missing.len(),
    );
    assert!(accepted.len() > 100, "too few forms to mean anything");
    assert!(took < TAKEOVER, "processing took {took:?} to move");
    assert!(
        missing.is_empty(),
        "acknowledged but never delivered: {missing:?}"
    );
    assert!(
        all_in.is_some(),
        "{} of 200 Telegram messages became leads",
        telegram.len()
    );
    assert_eq!(telegram.len(), 200, "every message once, none twice");
    for (lead, (ids, _)) in &leads {
        assert_eq!(
            ids.len(),
            1,
            "lead {lead} went out under several webhook-ids: {ids:?}"
        );
    }
    let counts: Vec<usize> = per_manager.values().copied().collect();
    assert_eq!(
        per_manager.len(),
        2,
        "both juniors got leads: {per_manager:?}"
    );
    assert!(
        counts.iter().max().unwrap_or(&0) - counts.iter().min().unwrap_or(&0) <= 1,
        "round robin stays fair across replicas: {per_manager:?}"
    );
    drop(replicas);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_moves_to_another_replica_from_its_committed_position() {
    let dovecot = support::dovecot::Dovecot::start().await;
    let db = support::postgres::Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let first: Vec<Vec<u8>> = (0..250)
        .map(|n| support::dovecot::lead_mail("rep", n))
        .collect();
    dovecot.append_all("INBOX", &first).await;
    let mailbox = dovecot.source("sales", "");
    let mut replicas = Replicas::start(&config(&db.url, &sink, &mailbox), 3).await;
    let lease = "imap:sales:INBOX";
    let holder = (replicas.holder_of(lease, TAKEOVER).await).expect("one replica reads the folder");
    let read_first = eventually(Duration::from_secs(60), || async {
        (created(&sink).len() >= 250).then_some(())
    })
    .await;
    assert!(read_first.is_some(), "the backlog's first half was read");

    // The holder dies; mail keeps coming. Another replica goes on from the position the
    // store has: the new mail once each, the old never again.
    replicas.kill(holder);
    let killed = Instant::now();
    let second: Vec<Vec<u8>> = (250..500)
        .map(|n| support::dovecot::lead_mail("rep", n))
        .collect();
    dovecot.append_all("INBOX", &second).await;
    taken_over_once(&replicas, &db, &sink, (lease, holder, killed), 500).await;
    drop(replicas);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sla_timer_moves_to_another_replica_when_its_holder_is_killed() {
    let db = support::postgres::Database::fresh().await;
    let sink = Sink::start(&[]).await;
    // Four seconds to acknowledge, so the deadlines fall while the timer's replica is dead.
    let rules = always_open_routing().replace("ack_within = \"30m\"", "ack_within = \"4s\"");
    assert!(
        rules.contains("ack_within = \"4s\""),
        "the rules set the SLA"
    );
    // The managers' API: a manager who could acknowledge can be late.
    let api = "[api]\ntoken = \"replicas-api-token-0123456789\"\n";
    let mut replicas = Replicas::start_with_rules(&config(&db.url, &sink, api), &rules, 3).await;
    let ports = replicas.ports.clone();
    let timer = (replicas.holder_of("sla", TAKEOVER).await).expect("one replica runs the SLA");
    let mut accepted = Vec::new();
    for i in 0..20u32 {
        let port = ports[i as usize % ports.len()];
        let phone = format!("+7917{i:07}");
        let id = post_form(&replicas.client, port, &phone, "Сколько стоит котёл?").await;
        accepted.push(id.expect("202"));
    }
    let all_created = eventually(Duration::from_secs(30), || async {
        let leads = created(&sink);
        accepted
            .iter()
            .all(|id| leads.contains_key(id))
            .then_some(())
    })
    .await;
    assert!(all_created.is_some(), "every form became a lead");
    // The timer's replica dies before any deadline falls; another takes the timer over and
    // passes every unacknowledged lead on, once.
    replicas.kill(timer);
    let killed = Instant::now();
    replicas.took_over("sla", timer, killed).await;
    // The first reassignment of each lead, by lead: the webhook-ids it went out under and the
    // manager it went to.
    let first_reassignments = || {
        let mut out: HashMap<String, (HashSet<String>, String)> = HashMap::new();
        for r in sink.received().iter().filter(|r| r.answered == 200) {
            let event = r.json();
            let first_pass = event["data"]["assignment"]["attempt"] == 2
                && event["data"]["classification"]["level"] == "junior";
            if event["type"] != "lead.reassigned" || !first_pass {
                continue;
            }
            let lead = event["data"]["id"].as_str().unwrap_or_default().to_string();
            let entry = (out.entry(lead)).or_insert_with(|| (HashSet::new(), manager_of(&event)));
            entry.0.insert(r.header("webhook-id").to_string());
        }
        out
    };
    let all_passed_on = eventually(Duration::from_secs(30), || async {
        let passed = first_reassignments();
        accepted
            .iter()
            .all(|id| passed.contains_key(id))
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let passed = first_reassignments();
    let leads = created(&sink);
    eprintln!(
        "sla: {} of {} leads passed on",
        passed.len(),
        accepted.len()
    );
    assert!(
        all_passed_on.is_some(),
        "{} of {} leads were passed on after their deadline",
        passed.len(),
        accepted.len()
    );
    for id in &accepted {
        let (ids, to) = &passed[id];
        assert_eq!(
            ids.len(),
            1,
            "lead {id} was passed on under several webhook-ids: {ids:?}"
        );
        let first = manager_of(&leads[id].1);
        assert_ne!(to, &first, "lead {id} went to another manager than {first}");
    }
    drop(replicas);
    db.drop_it().await;
}

/// A comment feed's item: a question from buyer `n`, published now.
fn feed_item(n: u32) -> String {
    let published = SystemClock.now().to_rfc2822();
    format!(
        "<item><title>Комментарий от покупателя {n}</title>\
         <link>https://shop.example/blog/kotly/#comment-{n}</link>\
         <dc:creator><![CDATA[Покупатель {n}]]></dc:creator><pubDate>{published}</pubDate>\
         <guid isPermaLink=\"false\">https://shop.example/blog/?p=7#comment-{n}</guid>\
         <description><![CDATA[Сколько стоит котёл? Пишите: buyer{n}@mail.ru]]></description>\
         </item>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_moves_to_another_replica_from_its_committed_position() {
    let db = support::postgres::Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let items: String = (0..30).map(feed_item).collect();
    let feed = blog_support::feed::FeedSite::start(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <rss version=\"2.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel>\
         <title>Комментарии</title><link>https://shop.example/blog/</link>\
         <description>Комментарии</description>{items}</channel></rss>"
    ))
    .await;
    let source = format!(
        "[[sources.feed]]\nid = \"comments\"\nurl = \"{}\"\npoll_interval = \"100ms\"\ntimeout = \"2s\"\n",
        feed.url()
    );
    let mut replicas = Replicas::start(&config(&db.url, &sink, &source), 3).await;
    let lease = "blog:comments";
    let holder = (replicas.holder_of(lease, TAKEOVER).await).expect("one replica polls the feed");
    // The holder dies; comments keep coming. Another replica goes on: the new ones once each,
    // the old never again.
    let killed = kill_after_first(&mut replicas, &sink, holder, 30).await;
    for n in 30..60 {
        feed.add_item(&feed_item(n));
    }
    taken_over_once(&replicas, &db, &sink, (lease, holder, killed), 60).await;
    drop(replicas);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_open_holds_across_replicas_when_the_one_that_processes_is_killed() {
    let db = support::postgres::Database::fresh().await;
    let sink = Sink::start(&[]).await;
    // Every manager takes at most four open leads: two juniors, then the senior (escalate),
    // then the rest wait.
    let rules = always_open_routing().replace(
        "works_holidays = true\n",
        "works_holidays = true\nmax_open = 4\n",
    );
    assert_eq!(rules.matches("max_open = 4").count(), 3, "every manager");
    let mut replicas = Replicas::start_with_rules(&config(&db.url, &sink, ""), &rules, 3).await;
    let ports = replicas.ports.clone();
    let processing =
        (replicas.holder_of("process", TAKEOVER).await).expect("one replica processes");
    let stop = Arc::new(AtomicBool::new(false));
    let (writers, accepted) = post_forms(&replicas.client, &ports, &stop);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    replicas.kill(processing);
    let killed = Instant::now();
    replicas.took_over("process", processing, killed).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    replicas.restart(processing).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }

    let accepted = accepted.lock().expect("lock").clone();
    let all_in = eventually(Duration::from_secs(60), || async {
        let leads = created(&sink);
        accepted
            .iter()
            .all(|id| leads.contains_key(id))
            .then_some(())
    })
    .await;
    let leads = created(&sink);
    let mut per_manager: BTreeMap<String, usize> = BTreeMap::new();
    for (_, event) in leads.values() {
        *per_manager.entry(manager_of(event)).or_default() += 1;
    }
    let held = db
        .scalar("SELECT COUNT(*) FROM leads WHERE status = 'held'")
        .await;
    let open = [
        db.scalar("SELECT COUNT(*) FROM leads WHERE status = 'assigned' AND manager_id = 'anna'")
            .await,
        db.scalar("SELECT COUNT(*) FROM leads WHERE status = 'assigned' AND manager_id = 'boris'")
            .await,
        db.scalar("SELECT COUNT(*) FROM leads WHERE status = 'assigned' AND manager_id = 'vera'")
            .await,
    ];
    eprintln!(
        "max_open: {} forms acknowledged, {} leads created; per manager (\"\" = held) {per_manager:?}; open in the store {open:?}, held {held}",
        accepted.len(),
        leads.len(),
    );
    assert!(accepted.len() > 50, "too few forms to mean anything");
    assert!(all_in.is_some(), "every acknowledged form became a lead");
    assert_eq!(open, [4, 4, 4], "each manager is full and none over");
    for manager in ["anna", "boris", "vera"] {
        assert_eq!(per_manager.get(manager), Some(&4), "{per_manager:?}");
    }
    // Every lead is counted, a form the killed replica committed but never answered too.
    assert_eq!(held, leads.len() as i64 - 12, "the rest wait");
    assert_eq!(per_manager.get(""), Some(&(leads.len() - 12)));
    for (lead, (ids, _)) in &leads {
        assert_eq!(
            ids.len(),
            1,
            "lead {lead} went out under several webhook-ids"
        );
    }
    drop(replicas);
    db.drop_it().await;
}

/// A WordPress comment from buyer `n`, published now.
fn wp_comment(n: u64) -> Value {
    let now = SystemClock.now().format("%Y-%m-%dT%H:%M:%S").to_string();
    serde_json::json!({
        "id": 9000 + n, "post": 7, "parent": 0, "author": 0,
        "author_name": format!("Покупатель {n}"), "author_email": format!("buyer{n}@mail.ru"),
        "author_url": "", "date": now, "date_gmt": now,
        "content": {"rendered": format!("<p>Сколько стоит котёл? Пишите: buyer{n}@mail.ru</p>\n")},
        "link": format!("https://shop.example/blog/kotly/#comment-{}", 9000 + n),
        "status": "approved", "type": "comment"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wordpress_site_the_managers_bot_and_the_alerts_move_when_their_replica_is_killed() {
    let db = support::postgres::Database::fresh().await;
    let sink = Sink::start(&[]).await;
    let bot = support::bot_api::BotApiSim::start().await;
    let wp = blog_support::wordpress::WpSite::start((0..30).map(wp_comment).collect(), true).await;
    let extra = format!(
        "[[sources.wordpress]]\nid = \"blog\"\nsite_url = \"{site}\"\npoll_interval = \"100ms\"\ntimeout = \"2s\"\n\
         [notify.telegram]\ntoken = \"{token}\"\napi_url = \"{api}\"\npoll_timeout = \"1s\"\n\
         [notify.alerts]\ntelegram_chat_ids = [-1001234]\ncheck_every = \"100ms\"\n",
        site = wp.site_url(),
        token = support::bot_api::TOKEN,
        api = bot.url()
    );
    let mut replicas = Replicas::start(&config(&db.url, &sink, &extra), 3).await;
    let site = "blog:blog";
    let holder = (replicas.holder_of(site, TAKEOVER).await).expect("one replica polls the site");
    // The first replica up took every lease: killing it moves all three.
    for lease in ["managers-bot", "alerts"] {
        let held = replicas.holder_of(lease, TAKEOVER).await;
        assert_eq!(held, Some(holder), "{lease} runs on the first replica");
    }
    let killed = kill_after_first(&mut replicas, &sink, holder, 30).await;
    wp.add((30..60).map(wp_comment).collect());
    replicas.took_over("managers-bot", holder, killed).await;
    replicas.took_over("alerts", holder, killed).await;
    taken_over_once(&replicas, &db, &sink, (site, holder, killed), 60).await;
    drop(replicas);
    db.drop_it().await;
}
