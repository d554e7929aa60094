//! The IMAP source against a real Dovecot: messages APPENDed over IMAP become leads at a real
//! HTTP sink, IDLE wakes the source, a cut connection, a restart and a backlog lose and
//! duplicate nothing, the after-ingest actions do what they say, a reply joins its lead, and
//! every e-mail sample of the corpus gives its expected result. A reply reaches the manager
//! who has the lead, and nobody else; a reply and a returning client in the same batch as the
//! lead they follow are recognised. Over TLS and STARTTLS, a server certificate from a private
//! CA is trusted through `ca_file` and refused without it.

mod support;
use support::config::{Manager, anna, boris, routing};

/// Two juniors who always work, each with a managers' bot chat and an address, taking turns.
fn two_juniors() -> String {
    routing(
        &["junior"],
        None,
        &[anna(), boris()].map(Manager::with_email),
    )
}

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::bot_api::{BotApiSim, MANAGERS_TOKEN, Sent};
use support::certs::Issuer;
use support::daemon::{TestDaemon, authed_get, default_routing, eventually};
use support::dovecot::{Dovecot, lead_mail};
use support::expected::{check_lead, check_not_lead, expectations, sample};
use support::sink::Sink;
use support::smtp::{Mail, SmtpCatcher};

/// Long enough for anything these tests wait for; a failure, not a slow pass, is what hits it.
const PATIENCE: Duration = Duration::from_secs(90);

fn config(dovecot: &Dovecot, sink: &Sink, extra: &str) -> String {
    config_with(&dovecot.source("sales-inbox", extra), sink)
}

/// The daemon's config with these `[[sources.email]]` tables.
fn config_with(sources: &str, sink: &Sink) -> String {
    format!(
        "[business]\nown_emails = [\"sales@teplodom.example\", \"wordpress@teplodom.example\", \
         \"blog@teplodom.example\"]\nown_phones = [\"+78126001234\"]\n\
         {sources}\n[[sinks.webhook]]\nid = \"crm\"\nurl = \"{}\"\n",
        sink.url()
    )
}

/// The `data` of every event of `kind` the sink received.
fn events(sink: &Sink, kind: &str) -> Vec<Value> {
    sink.received()
        .iter()
        .map(|r| r.json())
        .filter(|e| e["type"] == kind)
        .map(|e| e["data"].clone())
        .collect()
}

fn external_ids(leads: &[Value]) -> BTreeSet<String> {
    leads
        .iter()
        .filter_map(|l| l["external_id"].as_str().map(str::to_string))
        .collect()
}

/// The Message-ID an e-mail item is keyed by: its dedupe key is the Message-ID, then a
/// digest of the letter's headers.
fn message_id_of(item: &Value) -> Option<&str> {
    let key = item["dedupe_key"].as_str()?;
    Some(key.split_once(' ').map_or(key, |(id, _)| id))
}

/// Waits until the sink has `n` distinct leads created; panics with what it has otherwise.
async fn wait_for_leads(sink: &Sink, n: usize, dovecot: &Dovecot) {
    let got = eventually(PATIENCE, || async {
        (external_ids(&events(sink, "lead.created")).len() >= n).then_some(())
    })
    .await;
    if got.is_none() {
        panic!(
            "{} of {n} leads arrived\n--- dovecot log ---\n{}",
            external_ids(&events(sink, "lead.created")).len(),
            dovecot.log()
        );
    }
}

/// The mailbox's component in /readyz.
async fn mailbox_state(daemon: &TestDaemon) -> Value {
    component(daemon, "email:sales-inbox:INBOX").await
}

/// A component of /readyz.
async fn component(daemon: &TestDaemon, name: &str) -> Value {
    let ready: Value = authed_get(daemon.url("/readyz"))
        .await
        .expect("readyz")
        .json()
        .await
        .expect("readyz JSON");
    ready["components"][name].clone()
}

async fn inbound(daemon: &TestDaemon, query: &str) -> Vec<Value> {
    daemon
        .admin_get(&format!("/admin/api/inbound?limit=100000{query}"))
        .await["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn mails(tag: &str, range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(|n| lead_mail(tag, n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_messages_become_leads_and_idle_wakes_the_source() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    // Outside the backfill window: a mailbox seen for the first time skips it.
    let mut s = dovecot.client().await;
    s.append(
        "INBOX",
        None,
        Some("\"01-Jan-2020 10:00:00 +0000\""),
        lead_mail("old", 0),
    )
    .await
    .expect("append");
    let _ = s.logout().await;
    dovecot.append_all("INBOX", &mails("idle", 0..3)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Polling once an hour: only IDLE can explain a message taken within the test.
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config(&dovecot, &sink, "poll_interval = \"1h\"\nbackfill = \"3d\""),
        &default_routing(),
    )
    .await;
    wait_for_leads(&sink, 3, &dovecot).await;
    let lead = &events(&sink, "lead.created")[0];
    assert_eq!(lead["channel"], "email");
    assert_eq!(lead["source"], "sales-inbox");
    assert!(lead["contact"]["phones"][0].as_str().is_some(), "{lead}");
    assert_eq!(
        inbound(&daemon, "").await.len(),
        3,
        "the message from 2020 is outside the backfill window"
    );
    let state = eventually(PATIENCE, || async {
        let s = mailbox_state(&daemon).await;
        (s["state"] == "ok" && s["cursor"].as_str().is_some_and(|c| c.ends_with("uid 4")))
            .then_some(s)
    })
    .await;
    assert!(state.is_some(), "readyz: {}", mailbox_state(&daemon).await);

    dovecot.append_all("INBOX", &mails("idle", 3..4)).await;
    wait_for_leads(&sink, 4, &dovecot).await;
    assert!(external_ids(&events(&sink, "lead.created")).contains("<idle-3@mail.example.ru>"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_and_a_restart_lose_and_duplicate_nothing() {
    let mut dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    const N: usize = 400;
    dovecot.append_all("INBOX", &mails("cut", 0..N)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(&dovecot, &sink, "batch_size = 5\npoll_interval = \"1h\"");
    let daemon = TestDaemon::start_in(dir.path(), &cfg, &default_routing()).await;
    // Cut the connection while the backlog is being taken, then bring the server back.
    let started = eventually(PATIENCE, || async {
        (!inbound(&daemon, "").await.is_empty()).then_some(())
    })
    .await;
    assert!(started.is_some(), "nothing was taken:\n{}", dovecot.log());
    dovecot.stop();
    let failing = eventually(PATIENCE, || async {
        (mailbox_state(&daemon).await["state"] == "failing").then_some(())
    })
    .await;
    assert!(
        failing.is_some(),
        "readyz: {}",
        mailbox_state(&daemon).await
    );
    dovecot.resume().await;
    wait_for_leads(&sink, N, &dovecot).await;

    // A restart of leadgate re-delivers nothing: a message sent after it arrives alone.
    daemon.stop().await;
    let daemon = TestDaemon::start_in(dir.path(), &cfg, &default_routing()).await;
    dovecot.append_all("INBOX", &mails("cut", N..N + 1)).await;
    wait_for_leads(&sink, N + 1, &dovecot).await;
    let created = events(&sink, "lead.created");
    assert_eq!(
        created.len(),
        N + 1,
        "every message became exactly one lead.created"
    );
    assert_eq!(external_ids(&created).len(), N + 1);
    assert_eq!(inbound(&daemon, "").await.len(), N + 1);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_of_a_thousand_is_drained() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    const N: usize = 1000;
    dovecot.append_all("INBOX", &mails("backlog", 0..N)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon =
        TestDaemon::start_in(dir.path(), &config(&dovecot, &sink, ""), &default_routing()).await;
    wait_for_leads(&sink, N, &dovecot).await;
    assert_eq!(events(&sink, "lead.created").len(), N);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_seen_flags_and_after_move_moves() {
    for (after, tag) in [
        ("after = \"seen\"", "seen"),
        ("after = \"move\"\nmove_to = \"Processed\"", "move"),
    ] {
        let dovecot = Dovecot::start().await;
        let sink = Sink::start(&[]).await;
        dovecot.append_all("INBOX", &mails(tag, 0..12)).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let daemon = TestDaemon::start_in(
            dir.path(),
            &config(&dovecot, &sink, &format!("batch_size = 5\n{after}")),
            &default_routing(),
        )
        .await;
        wait_for_leads(&sink, 12, &dovecot).await;
        let done = eventually(PATIENCE, || async {
            let ok = if tag == "seen" {
                dovecot.search("INBOX", "SEEN").await.len() == 12
            } else {
                dovecot.search("INBOX", "ALL").await.is_empty()
                    && dovecot.search("Processed", "ALL").await.len() == 12
            };
            ok.then_some(())
        })
        .await;
        assert!(done.is_some(), "{tag}: the messages were not {tag}");
        if tag == "seen" {
            assert_eq!(
                dovecot.search("INBOX", "ALL").await.len(),
                12,
                "seen leaves them"
            );
        }
        daemon.stop().await;
    }
}

/// Folders named in Russian, as a Russian business names them: mail is read from "Заявки"
/// and moved to "Обработанные". The server knows them in modified UTF-7 (RFC 3501); sent as
/// UTF-8, as the config writes them, the server refused both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_named_in_russian_are_read_and_moved_to() {
    // The server's own spelling of "Заявки" and "Обработанные", as a mail client creates them.
    const REQUESTS: &str = "&BBcEMARPBDIEOgQ4-";
    const DONE: &str = "&BB4EMQRABDAEMQQ+BEIEMAQ9BD0ESwQ1-";
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let mut client = dovecot.client().await;
    for folder in [REQUESTS, DONE] {
        client.create(folder).await.expect("create the folder");
    }
    let _ = client.logout().await;
    dovecot.append_all(REQUESTS, &mails("ru", 0..3)).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "mailboxes = [\"Заявки\"]\nafter = \"move\"\nmove_to = \"Обработанные\"";
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config(&dovecot, &sink, extra),
        &default_routing(),
    )
    .await;
    wait_for_leads(&sink, 3, &dovecot).await;
    let moved = eventually(PATIENCE, || async {
        let done = dovecot.search(DONE, "ALL").await.len() == 3;
        (done && dovecot.search(REQUESTS, "ALL").await.is_empty()).then_some(())
    })
    .await;
    assert!(
        moved.is_some(),
        "the messages were not moved to Обработанные"
    );
    daemon.stop().await;
}

/// A mailbox renumbered (a new UIDVALIDITY: the server's index rebuilt, the mail moved to a
/// new server) is read again from the start of its window; a message without a Message-ID
/// is known again by its bytes, not taken as a second lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_without_a_message_id_is_not_taken_twice_when_the_mailbox_is_renumbered() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let no_id = "From: Client <client.noid@example.ru>\r\n\
        To: sales@teplodom.example\r\n\
        Subject: Request without an id\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        \r\n\
        Please call me back: +7 916 123-45-99.\r\n";
    dovecot
        .append_all("INBOX", &[no_id.as_bytes().to_vec()])
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(&dovecot, &sink, "");
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    let first = eventually(PATIENCE, || async {
        (events(&sink, "lead.created").len() == 1).then_some(())
    })
    .await;
    assert!(first.is_some(), "the message became a lead");
    daemon.stop().await;
    // The server forgets its numbering: a new UIDVALIDITY at the next look.
    renumber(&dovecot).await;
    dovecot.append_all("INBOX", &[lead_mail("after", 1)]).await;
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    wait_for_leads(&sink, 1, &dovecot).await;
    let second = eventually(PATIENCE, || async {
        (events(&sink, "lead.created").len() >= 2).then_some(())
    })
    .await;
    assert!(second.is_some(), "the new message became a lead");
    // The renumbered mailbox was read again: give a second copy the time to show.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let created = events(&sink, "lead.created");
    assert_eq!(created.len(), 2, "{created:?}");
    daemon.stop().await;
}

/// Renumbers the test user's maildir as a server that rebuilt its index does: a new
/// UIDVALIDITY at the next look (one second later at least, as it is a time).
async fn renumber(dovecot: &Dovecot) {
    let maildir = dovecot.mail_dir().join("mail").join(support::dovecot::USER);
    let mut removed = 0;
    for entry in std::fs::read_dir(&maildir).expect("the maildir") {
        let path = entry.expect("an entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("dovecot-uidlist") || name.starts_with("dovecot.index") {
            std::fs::remove_file(&path).expect("remove");
            removed += 1;
        }
    }
    assert!(removed > 0, "no index files in {maildir:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

/// A person `leadgate forget` erased does not come back when the mailbox is read again: their
/// message is still in it, and a renumbered mailbox is rescanned. Before, the rescan found
/// the message new (its item and dedupe key were gone with the erasure) and made it a lead,
/// a card and a `lead.created` again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_sender_does_not_come_back_when_the_mailbox_is_read_again() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    dovecot.append_all("INBOX", &[lead_mail("erased", 1)]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(&dovecot, &sink, "");
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    wait_for_leads(&sink, 1, &dovecot).await;
    daemon.stop().await;
    support::process::forget(dir.path(), &["--email", "client1.erased@example.ru"]);
    renumber(&dovecot).await;
    dovecot.append_all("INBOX", &[lead_mail("after", 2)]).await;
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    let second = eventually(PATIENCE, || async {
        (events(&sink, "lead.created").len() >= 2).then_some(())
    })
    .await;
    assert!(second.is_some(), "the new message became a lead");
    // The renumbered mailbox was read again from before the erased message: give it time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let from = |e: &Value| e["contact"]["emails"][0].as_str().unwrap_or("").to_string();
    let created: Vec<String> = events(&sink, "lead.created").iter().map(from).collect();
    assert_eq!(
        created,
        ["client1.erased@example.ru", "client2.after@example.ru"]
    );
    daemon.stop().await;
}

/// A move the server refuses (the folder is not there): each message is a lead all the same,
/// and the mailbox goes on in the one session. Before, every refused move ended the session,
/// and each next message waited for a reconnect delay that doubled every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_the_server_refuses_does_not_hold_up_the_mailbox() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "after = \"move\"\nmove_to = \"Nowhere\"";
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config(&dovecot, &sink, extra),
        &default_routing(),
    )
    .await;
    for n in 0..4 {
        dovecot
            .append_all("INBOX", &[lead_mail("nowhere", n)])
            .await;
        wait_for_leads(&sink, n + 1, &dovecot).await;
    }
    let logins = dovecot.log().matches("Login: user=<").count();
    // Four by the test's appends, one by the daemon.
    assert_eq!(logins, 5, "{}", dovecot.log());
    assert_eq!(
        dovecot.search("INBOX", "ALL").await.len(),
        4,
        "nothing was moved"
    );
    daemon.stop().await;
}

/// A message the server keeps listing but will not give (here its file is unreadable to
/// the server; Yahoo, Office 365 and iCloud answer `NO` for a damaged one): the messages after
/// it still become leads. Once it has been asked for over `unreadable_after`, it is kept as a
/// not-lead (`malformed`) that names its UID, and left in the mailbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_the_server_will_not_give_is_set_aside_and_the_ones_after_it_are_taken() {
    use std::os::unix::fs::PermissionsExt;
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    dovecot.append_all("INBOX", &mails("stuck", 0..3)).await;
    // The server stores a message as a file of its own: the second one becomes unreadable.
    let maildir = dovecot.mail_dir().join("mail").join(support::dovecot::USER);
    let files: Vec<std::path::PathBuf> = ["new", "cur"]
        .iter()
        .filter_map(|d| std::fs::read_dir(maildir.join(d)).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let second = (files.iter())
        .find(|f| std::fs::read_to_string(f).is_ok_and(|t| t.contains("<stuck-1@")))
        .expect("the second message's file");
    std::fs::set_permissions(second, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = "unreadable_after = \"1s\"";
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config(&dovecot, &sink, extra),
        &default_routing(),
    )
    .await;
    let taken = eventually(PATIENCE, || async {
        let ids = external_ids(&events(&sink, "lead.created"));
        (ids.len() >= 2).then_some(ids)
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "the first and third messages were not taken:\n{}",
            dovecot.log()
        )
    });
    assert_eq!(
        taken,
        BTreeSet::from([
            "<stuck-0@mail.example.ru>".to_string(),
            "<stuck-2@mail.example.ru>".to_string()
        ])
    );
    let set_aside = eventually(PATIENCE, || async {
        let items = inbound(&daemon, "&reason=malformed").await;
        (!items.is_empty()).then_some(items)
    })
    .await
    .expect("the unreadable message is kept as a not-lead");
    let detail = set_aside[0]["detail"].as_str().unwrap_or("");
    assert!(detail.contains("UID 2"), "{detail}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_joins_its_lead() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon =
        TestDaemon::start_in(dir.path(), &config(&dovecot, &sink, ""), &default_routing()).await;
    dovecot.append_all("INBOX", &[lead_mail("thread", 1)]).await;
    wait_for_leads(&sink, 1, &dovecot).await;
    let reply = "From: Client 1 <client1.thread@example.ru>\r\n\
        To: sales@teplodom.example\r\n\
        Subject: Re: Request 1\r\n\
        Message-ID: <thread-reply@mail.example.ru>\r\n\
        In-Reply-To: <thread-1@mail.example.ru>\r\n\
        References: <thread-1@mail.example.ru>\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\
        \r\n\
        One more thing: the house is 180 square metres.\r\n";
    dovecot
        .append_all("INBOX", &[reply.as_bytes().to_vec()])
        .await;
    let updated = eventually(PATIENCE, || async {
        let u = events(&sink, "lead.updated");
        (!u.is_empty()).then_some(u)
    })
    .await
    .expect("a lead.updated for the reply");
    let created = events(&sink, "lead.created");
    assert_eq!(created.len(), 1, "the reply made no second lead");
    assert_eq!(updated[0]["id"], created[0]["id"]);
    daemon.stop().await;
}

/// A second mail from the same sender, not a reply (a new thread: "I forgot the address"),
/// joins the first lead within the source's `conversation_window`; a second person's mail, or
/// any mail on a source without a window, is a lead of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_mail_from_the_same_sender_joins_within_the_window() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let windowed = dovecot.source("sales-inbox", "conversation_window = \"10m\"\n");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config_with(&windowed, &sink),
        &default_routing(),
    )
    .await;
    let again = |from: &str, id: &str, text: &str| {
        format!(
            "From: {from}\r\nTo: sales@teplodom.example\r\nSubject: {text}\r\n\
             Message-ID: <{id}@mail.example.ru>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             {text}.\r\n"
        )
        .into_bytes()
    };
    dovecot.append_all("INBOX", &[lead_mail("window", 1)]).await;
    wait_for_leads(&sink, 1, &dovecot).await;
    let first = "Client 1 <client1.window@example.ru>";
    let other = "Someone Else <other.window@example.ru>";
    dovecot
        .append_all(
            "INBOX",
            &[
                again(
                    first,
                    "window-again",
                    "Forgot the address: Lesnaya 5, +7 916 000-00-01",
                ),
                again(other, "window-other", "Need a boiler too"),
            ],
        )
        .await;
    let updated = eventually(PATIENCE, || async {
        let u = events(&sink, "lead.updated");
        (!u.is_empty() && events(&sink, "lead.created").len() >= 2).then_some(u)
    })
    .await
    .expect("an update for the second mail and a lead for the other person");
    daemon.settled().await;
    let created = events(&sink, "lead.created");
    assert_eq!(created.len(), 2, "the second mail made no lead of its own");
    assert_eq!(events(&sink, "lead.updated").len(), 1);
    assert_eq!(updated[0]["id"], created[0]["id"], "joined the first lead");
    daemon.stop().await;
}

/// A manager's chat and address.
fn manager_of(id: &str) -> (i64, &'static str) {
    match id {
        "anna" => (501, "anna@teplodom.example"),
        "boris" => (502, "boris@teplodom.example"),
        other => panic!("unknown manager {other:?}"),
    }
}

/// The managers' bot and mail server, as `[notify]` tables.
fn notify_config(bot: &BotApiSim, smtp: &SmtpCatcher) -> String {
    format!(
        "[notify.telegram]\ntoken = \"{MANAGERS_TOKEN}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n\
         [notify.email]\nurl = \"{}\"\nfrom = \"leadgate <leads@teplodom.example>\"\n\
         public_url = \"https://leads.teplodom.example\"\n\
         link_secret = \"link-secret-for-tests-0123456789abcdef\"\n",
        bot.url(),
        smtp.url()
    )
}

/// The manager a delivered lead is assigned to.
fn assignee(lead: &Value) -> String {
    lead["assignment"]["manager"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("not assigned: {lead}"))
        .to_string()
}

/// The plain text of a mail.
fn plain(mail: &Mail) -> String {
    mail.parsed()
        .body_text(0)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// Waits until the bot has sent a message to `chat` whose text contains `needle`.
async fn telegram_with(bot: &BotApiSim, chat: i64, needle: &str) -> Sent {
    eventually(PATIENCE, || async {
        bot.sent_to(chat)
            .into_iter()
            .find(|m| m.text.contains(needle))
    })
    .await
    .unwrap_or_else(|| {
        panic!(
            "no message with {needle:?} to {chat}: {:?}",
            bot.sent_to(chat)
        )
    })
}

/// Waits until a mail to `to` whose text contains `needle` has arrived.
async fn mail_with(smtp: &SmtpCatcher, to: &str, needle: &str) -> Mail {
    eventually(PATIENCE, || async {
        smtp.mails()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t == to) && plain(m).contains(needle))
    })
    .await
    .unwrap_or_else(|| panic!("no mail with {needle:?} to {to}"))
}

const REPLY_TEXT: &str = "One more thing: the house is 180 square metres.";

/// A reply by client `n` of [`lead_mail`] to that mail.
fn reply_to(tag: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Client {n} <client{n}.{tag}@example.ru>\r\n\
         To: sales@teplodom.example\r\n\
         Subject: Re: Request {n}\r\n\
         Message-ID: <{tag}-{n}-reply@mail.example.ru>\r\n\
         In-Reply-To: <{tag}-{n}@mail.example.ru>\r\n\
         References: <{tag}-{n}@mail.example.ru>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {REPLY_TEXT}\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_reaches_the_manager_who_has_the_lead_and_wakes_nobody_else() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let smtp = SmtpCatcher::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "{}{}",
        config(&dovecot, &sink, ""),
        notify_config(&bot, &smtp)
    );
    let daemon = TestDaemon::start_in(dir.path(), &cfg, &two_juniors()).await;
    dovecot.append_all("INBOX", &[lead_mail("notify", 1)]).await;
    wait_for_leads(&sink, 1, &dovecot).await;
    let lead = events(&sink, "lead.created")[0].clone();
    let owner = assignee(&lead);
    let (chat, address) = manager_of(&owner);
    let card = telegram_with(&bot, chat, "Client 1").await;
    assert!(card.reply_markup.is_some(), "the card has its buttons");
    assert!(
        card.text.contains("boiler for a country house"),
        "{}",
        card.text
    );
    mail_with(&smtp, address, "boiler for a country house").await;

    dovecot.append_all("INBOX", &[reply_to("notify", 1)]).await;
    let updated = eventually(PATIENCE, || async {
        events(&sink, "lead.updated").first().cloned()
    })
    .await
    .expect("a lead.updated for the reply");
    assert_eq!(updated["id"], lead["id"], "the reply joined the lead");
    assert!(
        updated["text"].as_str().unwrap_or("").ends_with(REPLY_TEXT),
        "{updated}"
    );
    assert_eq!(assignee(&updated), owner, "the lead stays with its manager");
    assert_eq!(events(&sink, "lead.created").len(), 1, "no second lead");

    let follow_up = telegram_with(&bot, chat, REPLY_TEXT).await;
    assert!(
        !follow_up.text.contains("boiler for a country house"),
        "only what is new: {}",
        follow_up.text
    );
    assert!(
        follow_up.reply_markup.is_none(),
        "the card has the buttons already"
    );
    let mail = mail_with(&smtp, address, REPLY_TEXT).await;
    assert!(
        !plain(&mail).contains("boiler for a country house"),
        "only what is new: {}",
        plain(&mail)
    );

    // A new lead afterwards: its card is queued after the follow-ups, so by the time it is
    // sent anything queued with them has been sent too.
    dovecot.append_all("INBOX", &[lead_mail("notify", 2)]).await;
    wait_for_leads(&sink, 2, &dovecot).await;
    let next = events(&sink, "lead.created")[1].clone();
    let (next_chat, next_address) = manager_of(&assignee(&next));
    telegram_with(&bot, next_chat, "Client 2").await;
    mail_with(&smtp, next_address, "Client 2").await;
    let others: Vec<Sent> = bot
        .sent()
        .into_iter()
        .filter(|m| !m.text.contains("Client 2"))
        .collect();
    assert_eq!(others.len(), 2, "a card and a follow-up: {others:?}");
    assert!(others.iter().all(|m| m.chat_id == chat), "{others:?}");
    let other_mails: Vec<Mail> = smtp
        .mails()
        .into_iter()
        .filter(|m| !plain(m).contains("Client 2"))
        .collect();
    assert_eq!(other_mails.len(), 2, "a card and a follow-up");
    assert!(
        other_mails.iter().all(|m| m.to == [address]),
        "{:?}",
        other_mails.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_and_a_returning_client_in_the_same_batch_as_their_lead_are_recognised() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    // A request, another request from the same client, and a reply to the first, in the
    // mailbox before leadgate starts: one fetch, one intake commit, one processing batch.
    let mut again = String::from_utf8(lead_mail("batch", 1)).expect("utf-8");
    again = again
        .replace("<batch-1@", "<batch-1-again@")
        .replace("Subject: Request 1", "Subject: Request 1, again");
    dovecot
        .append_all(
            "INBOX",
            &[
                lead_mail("batch", 1),
                again.into_bytes(),
                reply_to("batch", 1),
            ],
        )
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon =
        TestDaemon::start_in(dir.path(), &config(&dovecot, &sink, ""), &two_juniors()).await;
    wait_for_leads(&sink, 2, &dovecot).await;
    let updated = eventually(PATIENCE, || async {
        events(&sink, "lead.updated").first().cloned()
    })
    .await
    .expect("a lead.updated for the reply");
    let created = events(&sink, "lead.created");
    assert_eq!(created.len(), 2, "the reply made no lead of its own");
    let first = created
        .iter()
        .find(|l| l["external_id"] == "<batch-1@mail.example.ru>")
        .expect("the first request");
    let second = created
        .iter()
        .find(|l| l["external_id"] == "<batch-1-again@mail.example.ru>")
        .expect("the second request");
    assert_eq!(
        updated["id"], first["id"],
        "the reply joined the first lead"
    );
    assert!(
        updated["text"].as_str().unwrap_or("").ends_with(REPLY_TEXT),
        "{updated}"
    );
    assert_eq!(first["returning"], false);
    assert_eq!(second["returning"], true, "{second}");
    assert_eq!(second["previous_lead_id"], first["id"]);
    assert_eq!(
        assignee(second),
        assignee(first),
        "the returning client goes to their manager, not to the next in turn"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_email_sample_reaches_the_sink_as_expected() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let samples = expectations("email");
    assert_eq!(samples.len(), 22, "the corpus has 22 e-mail entries");
    let raw: Vec<Vec<u8>> = samples.iter().map(|e| sample(&e.file)).collect();
    dovecot.append_all("INBOX", &raw).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon =
        TestDaemon::start_in(dir.path(), &config(&dovecot, &sink, ""), &default_routing()).await;
    let leads = samples.iter().filter(|e| e.is_lead).count();
    wait_for_leads(&sink, leads, &dovecot).await;
    let processed = eventually(PATIENCE, || async {
        let items = inbound(&daemon, "").await;
        (items.len() == samples.len() && items.iter().all(|i| i["status"] != "pending"))
            .then_some(())
    })
    .await;
    assert!(processed.is_some(), "not every sample was processed");
    let created = events(&sink, "lead.created");
    let mut problems = Vec::new();
    for exp in &samples {
        let id = exp.external_id.clone().unwrap_or_default();
        if exp.is_lead {
            match created.iter().find(|l| l["external_id"] == id.as_str()) {
                Some(lead) => problems.extend(check_lead(exp, lead)),
                None => problems.push(format!("{}: no lead at the sink", exp.file)),
            }
        } else {
            let reason = exp.reason_if_not.clone().unwrap_or_default();
            let kept = inbound(&daemon, &format!("&reason={reason}")).await;
            match kept
                .iter()
                .find(|i| exp.external_id.is_none() || message_id_of(i) == Some(id.as_str()))
            {
                Some(item) => problems.extend(check_not_lead(
                    exp,
                    item["reason"].as_str().unwrap_or(""),
                    message_id_of(item),
                )),
                None => problems.push(format!("{}: not kept with reason {reason}", exp.file)),
            }
        }
    }
    assert_eq!(created.len(), leads, "no non-lead was delivered");
    assert!(problems.is_empty(), "{problems:#?}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_starttls_trust_the_ca_file() {
    for (mode, issuer) in [
        ("tls", Issuer::PrivateCa),
        ("starttls", Issuer::PrivateCa),
        ("tls", Issuer::SelfSigned),
    ] {
        let dovecot = Dovecot::start_tls(issuer).await;
        let sink = Sink::start(&[]).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let source = dovecot.tls_source(
            "sales-inbox",
            mode,
            &format!("ca_file = \"{}\"", dovecot.ca_file().display()),
        );
        let daemon =
            TestDaemon::start_in(dir.path(), &config_with(&source, &sink), &default_routing())
                .await;
        dovecot.append_all("INBOX", &[lead_mail(mode, 1)]).await;
        wait_for_leads(&sink, 1, &dovecot).await;
        let lead = &events(&sink, "lead.created")[0];
        assert_eq!(lead["external_id"], format!("<{mode}-1@mail.example.ru>"));
        assert_eq!(
            mailbox_state(&daemon).await["state"],
            "ok",
            "{mode} {issuer:?}"
        );
        daemon.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_and_shown_in_readyz() {
    let dovecot = Dovecot::start_tls(Issuer::PrivateCa).await;
    let sink = Sink::start(&[]).await;
    dovecot
        .append_all("INBOX", &[lead_mail("untrusted", 1)])
        .await;
    let ca_file = format!("ca_file = \"{}\"", dovecot.ca_file().display());
    // No ca_file: the private CA is unknown. With it, but by address: the certificate names
    // only localhost.
    let sources = [
        dovecot.tls_source("no-ca-tls", "tls", ""),
        dovecot.tls_source("no-ca-starttls", "starttls", ""),
        dovecot
            .tls_source("by-address", "tls", &ca_file)
            .replace("\"localhost\"", "\"127.0.0.1\""),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config_with(&sources.concat(), &sink),
        &default_routing(),
    )
    .await;
    for (id, why) in [
        ("no-ca-tls", "UnknownIssuer"),
        ("no-ca-starttls", "UnknownIssuer"),
        ("by-address", "not valid for name"),
    ] {
        let name = format!("email:{id}:INBOX");
        let failing = eventually(PATIENCE, || async {
            let s = component(&daemon, &name).await;
            (s["state"] == "failing").then_some(s)
        })
        .await;
        let Some(state) = failing else {
            panic!("{id} is not failing: {}", component(&daemon, &name).await);
        };
        let error = state["last_error"].as_str().unwrap_or_default();
        assert!(
            error.contains("certificate") && error.contains(why),
            "{id}: {error}"
        );
        assert!(!error.contains(support::dovecot::PASSWORD), "{error}");
    }
    assert!(
        inbound(&daemon, "").await.is_empty(),
        "nothing was ingested"
    );
    assert!(sink.received().is_empty());
    daemon.stop().await;
}

/// The benchmark of `bench/imap_backlog.sh`: a backlog (10,000 by default,
/// `LEADGATE_BENCH_MESSAGES`) in Dovecot taken and delivered end to end. Ignored in the suite.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run it with bench/imap_backlog.sh"]
async fn bench_backlog() {
    let n: usize = std::env::var("LEADGATE_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let appending = std::time::Instant::now();
    let chunk = n.div_ceil(4).max(1);
    let parts: Vec<_> = (0..n)
        .step_by(chunk)
        .map(|from| mails("bench", from..(from + chunk).min(n)))
        .collect();
    futures_util::future::join_all(parts.iter().map(|p| dovecot.append_all("INBOX", p))).await;
    eprintln!("appended {n} messages in {:.1?}", appending.elapsed());
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "{}concurrency = 32\nevents = [\"lead.created\"]\n[processing]\nbatch_size = 500\n",
        config(&dovecot, &sink, "batch_size = 500")
    );
    let started = std::time::Instant::now();
    let daemon = TestDaemon::start_in(dir.path(), &cfg, &default_routing()).await;
    let want = format!("uid {n}");
    let ingested = eventually(Duration::from_secs(900), || async {
        let s = mailbox_state(&daemon).await;
        s["cursor"]
            .as_str()
            .is_some_and(|c| c.ends_with(&want))
            .then(|| started.elapsed())
    })
    .await
    .expect("the backlog was ingested");
    let delivered = eventually(Duration::from_secs(900), || async {
        (sink.count() >= n).then(|| started.elapsed())
    })
    .await
    .expect("the backlog was delivered");
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "imap backlog: {n} messages; committed to intake in {ingested:.2?} ({:.0}/s); \
         delivered as leads in {delivered:.2?} ({:.0}/s)",
        rate(ingested),
        rate(delivered)
    );
    daemon.stop().await;
}

/// A message of `body_kib` KiB (a drawing attached, base64), with a Cyrillic subject.
fn big_mail(body_kib: usize) -> Vec<u8> {
    let line =
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3\r\n";
    let attachment = line.repeat(body_kib * 1024 / line.len() + 1);
    format!(
        "From: Pavel <pavel@stroi.example>\r\n\
         To: sales@teplodom.example\r\n\
         Subject: =?UTF-8?B?0KfQtdGA0YLQtdC20Lgg0LTQvtC80LA=?=\r\n\
         Date: Sun, 22 Nov 2026 09:15:02 +0300\r\n\
         Message-ID: <drawings-1@stroi.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
         \r\n\
         --b1\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Please quote a heating system for this house, +7 916 555-00-11.\r\n\
         --b1\r\n\
         Content-Type: application/pdf; name=\"house.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         \r\n\
         {attachment}--b1--\r\n"
    )
    .into_bytes()
}

/// A component of /readyz as the admin sees it.
async fn admin_component(daemon: &TestDaemon, name: &str) -> Value {
    daemon.admin_get("/readyz").await["components"][name].clone()
}

/// Issue 15, item 7: a batch fetched whole messages whatever their size. Sizes now come
/// first, and a message over the source's `max_message` is kept by its header only, as a
/// not-lead `too_large` with its subject and size, acted on like any other (flagged \Seen),
/// and the watermark moves past it: the next message is a lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_max_message_is_kept_by_its_header_as_too_large() {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    dovecot
        .append_all(
            "INBOX",
            &[lead_mail("size", 0), big_mail(300), lead_mail("size", 1)],
        )
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(
        &dovecot,
        &sink,
        "max_message = \"64KiB\"\nafter = \"seen\"\npoll_interval = \"1h\"",
    );
    let daemon = TestDaemon::start_in(dir.path(), &cfg, &default_routing()).await;
    wait_for_leads(&sink, 2, &dovecot).await;
    let ids = external_ids(&events(&sink, "lead.created"));
    assert_eq!(
        ids,
        BTreeSet::from([
            "<size-0@mail.example.ru>".to_string(),
            "<size-1@mail.example.ru>".to_string()
        ])
    );
    let too_large = eventually(PATIENCE, || async {
        let items = inbound(&daemon, "&reason=too_large").await;
        (!items.is_empty()).then_some(items)
    })
    .await
    .expect("the large message is kept as a not-lead");
    assert_eq!(too_large.len(), 1, "{too_large:?}");
    let item = &too_large[0];
    assert_eq!(message_id_of(item), Some("<drawings-1@stroi.example>"));
    let detail = item["detail"].as_str().unwrap_or("");
    assert!(detail.contains("\"Чертежи дома\""), "{detail}");
    assert!(detail.contains("65536 bytes"), "{detail}");
    assert_eq!(inbound(&daemon, "").await.len(), 3);
    let state = eventually(PATIENCE, || async {
        let s = admin_component(&daemon, "email:sales-inbox:INBOX").await;
        (s["state"] == "ok" && s["cursor"].as_str().is_some_and(|c| c.ends_with("uid 3")))
            .then_some(s)
    })
    .await;
    assert!(state.is_some(), "the watermark is past all three");
    assert_eq!(
        dovecot.search("INBOX", "SEEN").await,
        [1, 2, 3],
        "the large message was taken like the others"
    );
    daemon.stop().await;
}

/// A letter stored before its key held the headers' digest (keyed by its Message-ID alone)
/// and read again (a rescan after a new UIDVALIDITY reads the backfill again) is not taken a
/// second time under its key of today: its lead gets no `lead.updated` for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_letter_kept_under_its_message_id_alone_is_not_taken_again() {
    use leadgate::clock::{Clock, SystemClock};
    use leadgate::store::{IntakeStore, NewInbound, SqliteStore};
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let letter = lead_mail("earlier", 1);
    let store = SqliteStore::open(&dir.path().join("leadgate.db"))
        .await
        .expect("the store");
    let kept = NewInbound {
        id: SystemClock.new_id().to_string(),
        source: "sales".into(),
        channel: leadgate::lead::Channel::Email,
        dedupe_key: "<earlier-1@mail.example.ru>".into(),
        received_at: SystemClock.now(),
        content_type: Some("message/rfc822".into()),
        payload: letter.clone(),
        meta: serde_json::json!({"mailbox": "INBOX", "uidvalidity": 1, "uid": 1}),
    };
    store.insert_inbound(&[kept], &[]).await.expect("kept");
    store.close().await;
    let config = config_with(&dovecot.source("sales", ""), &sink);
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    wait_for_leads(&sink, 1, &dovecot).await;
    dovecot
        .append_all("INBOX", &[letter, lead_mail("earlier", 2)])
        .await;
    wait_for_leads(&sink, 2, &dovecot).await;
    daemon.settled().await;
    let kinds: Vec<String> = (sink.received().iter())
        .map(|r| r.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(kinds, ["lead.created", "lead.created"], "{kinds:?}");
    assert_eq!(inbound(&daemon, "&source=sales").await.len(), 2);
    daemon.stop().await;
}

/// Dovecot with a second folder, "Info", and a daemon reading INBOX as source "sales" and
/// "Info" as source "info"; the directory is kept alive with them.
async fn two_mailboxes() -> (Dovecot, Sink, TestDaemon, tempfile::TempDir) {
    let dovecot = Dovecot::start().await;
    let sink = Sink::start(&[]).await;
    let mut client = dovecot.client().await;
    client.create("Info").await.expect("create the folder");
    let _ = client.logout().await;
    let sources = format!(
        "{}{}",
        dovecot.source("sales", ""),
        dovecot.source("info", "mailboxes = [\"Info\"]")
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(
        dir.path(),
        &config_with(&sources, &sink),
        &default_routing(),
    )
    .await;
    (dovecot, sink, daemon, dir)
}

/// The first item of source "info" processing has finished.
async fn processed_in_info(daemon: &TestDaemon) -> Value {
    eventually(PATIENCE, || async {
        let items = inbound(daemon, "&source=info").await;
        items.into_iter().find(|i| i["status"] != "pending")
    })
    .await
    .expect("the copy in the second mailbox is processed")
}

/// The same letter sent to two of the business's mailboxes (To: sales@, Cc: info@), each a
/// source of its own, is one item in each and one lead: the second copy joins the lead the
/// first made (its Message-ID is looked up among every mailbox's leads), so no second
/// manager is woken and the CRM gets no second deal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_letter_in_two_mailboxes_is_one_lead() {
    let (dovecot, sink, daemon, _dir) = two_mailboxes().await;
    let letter = lead_mail("both", 1);
    dovecot
        .append_all("INBOX", std::slice::from_ref(&letter))
        .await;
    wait_for_leads(&sink, 1, &dovecot).await;
    dovecot.append_all("Info", &[letter]).await;
    let second = processed_in_info(&daemon).await;
    assert_eq!(second["status"], "joined", "{second}");
    let created = events(&sink, "lead.created");
    assert_eq!(created.len(), 1, "one letter, one lead: {created:?}");
    assert_eq!(second["lead_id"], created[0]["id"]);
    daemon.stop().await;
}
/// A site's form notice that reuses one Message-ID for every visitor (as some form mailers
/// do), from Ольга and then from Пётр.
fn notice_under_one_message_id(name: &str, email: &str, phone: &str, minute: u32) -> Vec<u8> {
    format!(
        "From: Tilda Publishing <noreply@tilda.ws>\r\n\
         Reply-To: {email}\r\n\
         To: sales@teplodom.example\r\n\
         Subject: New request from teplodom.example\r\n\
         Date: Thu, 19 Nov 2026 11:{minute:02}:58 +0300\r\n\
         Message-ID: <form@mail.tilda.ws>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         New request from teplodom.example\r\n\
         \r\n\
         Name: {name}\r\n\
         Phone: {phone}\r\n\
         Email: {email}\r\n\
         Comment: Нужен расчёт отопления для дома 120 м2\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_letters_under_one_message_id_are_two_leads() {
    let (dovecot, sink, daemon, _dir) = two_mailboxes().await;
    let olga = notice_under_one_message_id("Ольга", "olga@yandex.ru", "+7 911 234-56-78", 2);
    let petr = notice_under_one_message_id("Пётр", "petr@mail.ru", "+7 921 555-44-33", 7);
    let created = |n: usize| {
        let sink = &sink;
        eventually(PATIENCE, move || async move {
            let created = events(sink, "lead.created");
            (created.len() >= n).then_some(created)
        })
    };
    dovecot.append_all("INBOX", &[olga]).await;
    created(1).await.expect("Ольга's lead");
    dovecot
        .append_all("INBOX", std::slice::from_ref(&petr))
        .await;
    created(2)
        .await
        .expect("Пётр's letter, under the Message-ID of Ольга's, is a lead of its own");
    // Пётр's letter copied to the second mailbox is his letter again, not Ольга's.
    dovecot.append_all("Info", &[petr]).await;
    let copy = processed_in_info(&daemon).await;
    let created = events(&sink, "lead.created");
    let emails: BTreeSet<&str> = created
        .iter()
        .filter_map(|l| l["contact"]["emails"][0].as_str())
        .collect();
    assert_eq!(emails, BTreeSet::from(["olga@yandex.ru", "petr@mail.ru"]));
    assert_eq!(copy["status"], "joined", "{copy}");
    let petrs = created
        .iter()
        .find(|l| l["contact"]["emails"][0] == "petr@mail.ru")
        .expect("Пётр's lead");
    assert_eq!(copy["lead_id"], petrs["id"], "{copy}");
    assert_eq!(events(&sink, "lead.created").len(), 2);
    daemon.stop().await;
}
