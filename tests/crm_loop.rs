//! Closing the loop with the CRM (issue 17), against the CRM simulator (tests/support/crm.rs)
//! for every preset: a Telegram lead, the person's phone shared as a follow-up, a decline
//! passing the lead on, then the same person again through the web form, ending with one
//! contact, the notes and the new owner in the CRM; and each CRM's own webhook giving the lead
//! to another manager and moving it out of its first status, which ends the SLA timer. Time
//! is a manual clock the test moves.

mod support;

use leadgate::clock::{Clock, ManualClock};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::bot_api::{BotApiSim, TOKEN};
use support::crm::{AMO_FIRST_STATUS, Crm, Flavor, Lead as CrmLead};
use support::daemon::{
    API_TOKEN, TestDaemon, always_open_routing, eventually, file_lines,
    hold_routing_with_day_shift, manual_clock, monday_evening,
};

const CRM_TOKEN: &str = "crm-token-0123456789";
const HOOK_SECRET: &str = "hook-s3cret-0123456789";
const CHAT: i64 = 5_400_000_101;
const PHONE: &str = "+79161110021";
const EMAIL: &str = "vera.k@example.ru";

struct Setup {
    crm: Crm,
    bot: BotApiSim,
    daemon: TestDaemon,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

fn preset(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Amocrm => "amocrm",
        Flavor::Bitrix24 => "bitrix24",
        Flavor::Hubspot => "hubspot",
        Flavor::Pipedrive => "pipedrive",
    }
}

/// The daemon with a web form, a Telegram bot, the CRM as sink `crm` (taking its webhooks
/// when the preset has a `[hook]`) and a file sink that sees every event.
async fn start(flavor: Flavor) -> Setup {
    let crm = Crm::start(flavor, CRM_TOKEN).await;
    let bot = BotApiSim::start().await;
    let hook = if flavor == Flavor::Hubspot {
        String::new()
    } else {
        format!("hook_secret = \"{HOOK_SECRET}\"\n")
    };
    let token = if flavor == Flavor::Bitrix24 {
        String::new()
    } else {
        format!("token = \"{CRM_TOKEN}\"\n")
    };
    let config = format!(
        r#"
[api]
token = "{API_TOKEN}"

[[sources.webform]]
id = "site"

[[sources.telegram]]
id = "tg"
token = "{TOKEN}"
api_url = "{bot}"
poll_timeout = "1s"

[[sinks.webhook]]
id = "crm"
url = "{url}"
preset = "{preset}"
timeout = "2s"
{token}{hook}
[[sinks.file]]
id = "record"
path = "{{dir}}/events.jsonl"
"#,
        bot = bot.url(),
        url = crm.url(),
        preset = preset(flavor),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    Setup {
        crm,
        bot,
        daemon,
        clock,
        dir,
    }
}

impl Setup {
    /// Posts a form from `name` at `phone` and waits for the CRM to have its lead: leadgate's
    /// lead id, the CRM's record of it, its CRM owner, and that owner's manager id.
    async fn lead_in_crm(&self, form: &[(&str, &str)]) -> (String, CrmLead, String, &'static str) {
        let lead = self.daemon.submit_form(form).await;
        self.until("the lead in the CRM", |c| c.leads().len() == 1)
            .await;
        // And leadgate has recorded its calls: the CRM's webhooks in these tests come after
        // them (one that comes while leadgate's own call is pending is older news, a case of
        // its own).
        self.daemon.settled().await;
        let crm_lead = self.crm.leads()[0].clone();
        let owner = crm_lead.owner.clone().expect("an owner");
        let first = if owner == "17" { "anna" } else { "boris" };
        (lead, crm_lead, owner, first)
    }

    /// The manager leadgate has the lead with now, as its journey says.
    async fn manager_now(&self, lead: &str) -> serde_json::Value {
        let journey = self
            .daemon
            .admin_get(&format!("/admin/api/leads/{lead}"))
            .await;
        journey["lead"]["assignment"]["manager"]["id"].clone()
    }

    /// Waits until `check` holds on the CRM, or fails naming `what` and every call so far.
    async fn until(&self, what: &str, check: impl Fn(&Crm) -> bool) {
        let done = eventually(Duration::from_secs(15), || async {
            check(&self.crm).then_some(())
        })
        .await;
        assert!(
            done.is_some(),
            "timed out waiting until {what}; calls: {:#?}",
            self.crm.call_lines()
        );
    }

    fn events(&self) -> Vec<Value> {
        file_lines(&self.dir.path().join("events.jsonl"))
    }

    /// The `type`s of the events the file sink got.
    fn event_types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| e["type"].as_str().unwrap_or("").to_string())
            .collect()
    }

    async fn events_at_least(&self, n: usize) -> Vec<Value> {
        eventually(Duration::from_secs(10), || async {
            let got = self.events();
            (got.len() >= n).then_some(got)
        })
        .await
        .unwrap_or_else(|| panic!("expected {n} events, got {:?}", self.event_types()))
    }

    async fn decline(&self, lead: &str, manager: &str) {
        let r = reqwest::Client::new()
            .post(self.daemon.url(&format!("/api/leads/{lead}/decline")))
            .bearer_auth(API_TOKEN)
            .json(&json!({"manager": manager, "reason": "в отпуске"}))
            .send()
            .await
            .expect("decline");
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    }

    async fn audit_kinds(&self, lead: &str) -> Vec<String> {
        self.daemon
            .audit(lead)
            .await
            .iter()
            .filter_map(|a| a["kind"].as_str().map(str::to_string))
            .collect()
    }
}

/// The CRM user id of manager `id` (`always_open.toml`: anna 17, boris 18).
fn crm_id(manager: &str) -> &'static str {
    if manager == "anna" { "17" } else { "18" }
}

fn other(manager: &str) -> &'static str {
    if manager == "anna" { "boris" } else { "anna" }
}

/// A lead, a follow-up, a reassignment, the same person again: one contact, the notes, the
/// new owner, and the second lead on the same contact.
async fn the_whole_loop(flavor: Flavor) {
    let s = start(flavor).await;
    let known = (flavor == Flavor::Bitrix24).then(|| {
        // Bitrix24 makes no contact for a lead: the person is a client it already knows.
        s.crm.add_contact("Вера Климова", &[PHONE], &[])
    });

    // 1. A Telegram message: no phone, no e-mail, so nothing to look up.
    s.bot
        .push_text(CHAT, "Вера", "Здравствуйте! Нужен расчёт тёплого пола");
    let created = s.events_at_least(1).await;
    let lead = created[0]["data"]["id"].as_str().expect("id").to_string();
    let first = created[0]["data"]["assignment"]["manager"]["id"]
        .as_str()
        .expect("assigned")
        .to_string();
    match flavor {
        Flavor::Hubspot => {
            s.until("the contact and its note", |c| c.notes().len() == 1)
                .await
        }
        _ => {
            s.until("the lead and its words", |c| {
                c.leads().len() == 1 && (flavor == Flavor::Bitrix24 || c.notes().len() == 1)
            })
            .await
        }
    }

    // 2. The person shares their phone with the contact button: a follow-up.
    s.bot.push(json!({"update_id": 0, "message": {
        "message_id": 58, "date": 1_795_000_100,
        "from": {"id": CHAT, "is_bot": false, "first_name": "Вера"},
        "chat": {"id": CHAT, "first_name": "Вера", "type": "private"},
        "contact": {"phone_number": PHONE.trim_start_matches('+'), "first_name": "Вера", "user_id": CHAT}
    }}));
    let updated = s.events_at_least(2).await;
    assert_eq!(updated[1]["type"], "lead.updated");
    assert_eq!(
        updated[1]["update"]["phones"],
        json!([PHONE]),
        "{}",
        updated[1]
    );
    match flavor {
        Flavor::Bitrix24 => {
            s.until("the phone on the lead", |c| c.leads()[0].phones == [PHONE])
                .await
        }
        _ => {
            s.until("the phone merged into the contact", |c| {
                c.contacts().iter().any(|p| p.phones == [PHONE])
            })
            .await
        }
    }
    if flavor != Flavor::Bitrix24 {
        s.until("the follow-up as a note", |c| c.notes().len() == 2)
            .await;
        assert!(
            s.crm.notes()[1].text.contains(PHONE),
            "the note names the new phone: {:?}",
            s.crm.notes()
        );
    }

    // 3. A decline passes the lead to the other junior: the CRM gets the new owner.
    s.decline(&lead, &first).await;
    let new_owner = crm_id(other(&first));
    match flavor {
        Flavor::Hubspot => {
            s.until("the contact's new owner", |c| {
                c.contacts()[0].owner.as_deref() == Some(new_owner)
            })
            .await
        }
        _ => {
            s.until("the lead's new owner", |c| {
                c.leads()[0].owner.as_deref() == Some(new_owner)
            })
            .await
        }
    }

    // 4. The same person again through the web form, rate limited once: found, not made again.
    let calls_before = s.crm.calls().len();
    s.crm.rate_limit(1);
    let again = s
        .daemon
        .submit_form(&[
            ("name", "Вера Климова"),
            ("phone", PHONE),
            ("email", EMAIL),
            ("message", "Повторно: и ещё ванная"),
        ])
        .await;
    s.until("the rate-limit answer", |c| c.calls().len() > calls_before)
        .await;
    let limited = &s.crm.calls()[calls_before];
    assert_eq!(
        limited.status,
        if flavor == Flavor::Bitrix24 { 503 } else { 429 },
        "{limited:?}"
    );
    s.clock.advance(chrono::Duration::minutes(2));
    match flavor {
        Flavor::Hubspot => {
            s.until("the second request's note", |c| c.notes().len() == 3)
                .await
        }
        _ => s.until("the second lead", |c| c.leads().len() == 2).await,
    }
    let contacts = s.crm.contacts();
    assert_eq!(contacts.len(), 1, "one contact per person: {contacts:#?}");
    let contact = &contacts[0];
    if let Some(id) = known {
        assert_eq!(contact.id, id);
    }
    s.until("the e-mail merged into the contact", |c| {
        c.contacts()[0].emails.contains(&EMAIL.to_string())
    })
    .await;
    assert!(
        s.crm.contacts()[0].phones.contains(&PHONE.to_string()),
        "the phone kept: {:?}",
        s.crm.contacts()
    );
    if flavor != Flavor::Hubspot {
        let leads = s.crm.leads();
        assert_eq!(
            leads[1].contact,
            Some(contact.id),
            "the second lead is the known contact's: {leads:#?}"
        );
        if flavor != Flavor::Bitrix24 {
            assert_eq!(leads[0].contact, Some(contact.id));
        }
    }
    let returning = s
        .events()
        .into_iter()
        .find(|e| e["data"]["id"] == again.as_str())
        .expect("the second lead's event");
    assert_eq!(returning["data"]["returning"], true);
    s.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_one_contact_follow_up_notes_and_the_new_owner() {
    the_whole_loop(Flavor::Amocrm).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrix24_one_contact_follow_up_on_the_timeline_and_the_new_owner() {
    the_whole_loop(Flavor::Bitrix24).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubspot_one_contact_follow_up_notes_and_the_new_owner() {
    the_whole_loop(Flavor::Hubspot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipedrive_one_person_follow_up_notes_and_the_new_owner() {
    the_whole_loop(Flavor::Pipedrive).await;
}

/// The CRM's own webhook gives the lead to the other junior and moves it out of its first
/// status: leadgate records the new manager, takes the lead as acknowledged, and the SLA
/// timer never passes it on.
async fn the_crm_takes_the_lead(flavor: Flavor, taken: &str) {
    let s = start(flavor).await;
    let (lead, crm_lead, owner, first) = s
        .lead_in_crm(&[
            ("name", "Кирилл"),
            ("phone", "+79161110031"),
            ("message", "Нужен замер"),
        ])
        .await;
    let to = crm_id(other(first));
    let first_status = crm_lead.status.clone();
    s.crm.change_lead(&crm_lead.id, Some(to), Some(taken));
    let hook = s.daemon.url("/hooks/crm/crm");

    assert_eq!(
        s.crm
            .send_webhook(&hook, "wrong-secret", &crm_lead.id, &owner, &first_status)
            .await,
        401,
        "a webhook without the sink's secret is refused"
    );
    // amoCRM's key and Pipedrive's password are checked before the body is read: a webhook
    // with a wrong one, announcing a body it never sends, is answered at once.
    let wrong_proof = match flavor {
        Flavor::Amocrm => Some(("/hooks/crm/crm?key=wrong-secret", String::new())),
        Flavor::Pipedrive => Some((
            "/hooks/crm/crm",
            "Authorization: Basic eDp3cm9uZw==\r\n".into(),
        )),
        _ => None,
    };
    if let Some((path, header)) = wrong_proof {
        let addr = s.daemon.addr;
        let answer = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut c = std::net::TcpStream::connect(addr).expect("connect");
            c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .expect("timeout");
            let head = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\n{header}Content-Length: 1000000\r\nConnection: close\r\n\r\n"
            );
            c.write_all(head.as_bytes()).expect("write");
            let mut got = [0u8; 12];
            c.read_exact(&mut got).map(|()| got.to_vec())
        })
        .await
        .expect("join")
        .expect("an answer before any body byte");
        assert_eq!(&answer[..], b"HTTP/1.1 401");
    }
    assert_eq!(
        s.crm
            .send_webhook(&hook, HOOK_SECRET, &crm_lead.id, &owner, &first_status)
            .await,
        200
    );
    let kinds = s.audit_kinds(&lead).await;
    assert_eq!(
        kinds,
        ["created", "assigned", "crm_reassigned", "acknowledged"],
        "{kinds:?}"
    );
    assert_eq!(s.manager_now(&lead).await, other(first));
    let journey = (s.daemon)
        .admin_get(&format!("/admin/api/leads/{lead}"))
        .await;
    assert_eq!(journey["status"], "acknowledged");
    let events = s.events_at_least(3).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        types,
        ["lead.created", "lead.reassigned", "lead.acknowledged"]
    );
    assert_eq!(
        events[1]["data"]["assignment"]["manager"]["id"],
        other(first)
    );
    assert_eq!(events[1]["data"]["assignment"]["strategy"], "crm");

    // The same webhook again changes nothing.
    assert_eq!(
        s.crm
            .send_webhook(&hook, HOOK_SECRET, &crm_lead.id, &owner, &first_status)
            .await,
        200
    );
    let calls = s.crm.calls().len();
    s.clock.advance(chrono::Duration::minutes(31));
    s.daemon.ran_since("stage:sla", s.clock.now()).await;
    s.clock.advance(chrono::Duration::hours(3));
    s.daemon.ran_since("stage:sla", s.clock.now()).await;
    assert_eq!(
        s.event_types(),
        ["lead.created", "lead.reassigned", "lead.acknowledged"],
        "taken in the CRM: never passed on"
    );
    assert_eq!(
        s.crm.calls().len(),
        calls,
        "nothing sent back to the CRM that told: {:?}",
        s.crm.call_lines()
    );
    assert_eq!(s.audit_kinds(&lead).await.len(), 4);
    s.daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amocrm_webhooks_move_the_lead_and_end_its_sla() {
    assert_ne!(AMO_FIRST_STATUS, "1002");
    the_crm_takes_the_lead(Flavor::Amocrm, "1002").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bitrix24_webhooks_move_the_lead_and_end_its_sla() {
    the_crm_takes_the_lead(Flavor::Bitrix24, "IN_PROCESS").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipedrive_webhooks_move_the_lead_and_end_its_sla() {
    the_crm_takes_the_lead(Flavor::Pipedrive, "seen").await;
}

const WHSEC: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A web form and a generic CRM that reports back, signed with [`WHSEC`].
fn generic_crm(sink: &support::sink::Sink) -> String {
    format!(
        r#"
[api]
token = "{API_TOKEN}"

[[sources.webform]]
id = "site"

[[sinks.webhook]]
id = "crm"
url = "{}"
preset = "generic"
hook_secret = "{WHSEC}"
timeout = "2s"
"#,
        sink.url()
    )
}

/// [`generic_crm`] with the Dovecot mailbox "sales" as a source too.
fn mailbox_to_generic_crm(
    dovecot: &support::dovecot::Dovecot,
    sink: &support::sink::Sink,
) -> String {
    let mailbox = dovecot.source("sales", "poll_interval = \"200ms\"");
    format!("{}{mailbox}", generic_crm(sink))
}

/// Client 1's reply, saying `words`, to the letter `lead_mail(tag, 1)`.
fn reply_to(tag: &str, words: &str) -> Vec<u8> {
    format!(
        "From: Client 1 <client1.{tag}@example.ru>\r\n\
         To: sales@teplodom.example\r\n\
         Subject: Re: Request 1\r\n\
         Message-ID: <{tag}-1-reply@mail.example.ru>\r\n\
         In-Reply-To: <{tag}-1@mail.example.ru>\r\n\
         References: <{tag}-1@mail.example.ru>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         {words}\r\n"
    )
    .into_bytes()
}

/// Posts leadgate's generic CRM report, signed by the Standard Webhooks reference library
/// (`sign_with` the secret, `None` unsigned) with `timestamp`.
async fn report(daemon: &TestDaemon, body: &Value, sign_with: Option<&str>, timestamp: i64) -> u16 {
    let text = body.to_string();
    let mut request = reqwest::Client::new()
        .post(daemon.url("/hooks/crm/crm"))
        .header("content-type", "application/json")
        .header("webhook-id", format!("evt_{timestamp}_{}", text.len()))
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = sign_with {
        let signature = standardwebhooks::Webhook::new(secret)
            .expect("secret")
            .sign(
                &format!("evt_{timestamp}_{}", text.len()),
                timestamp,
                text.as_bytes(),
            )
            .expect("sign");
        request = request.header("webhook-signature", signature);
    }
    request
        .body(text)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_crm_reports_signed_owner_and_closing_and_the_sla_stops() {
    let sink = support::sink::Sink::start(&[]).await;
    let config = generic_crm(&sink);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110041")]).await;
    let created = sink.events(1).await;
    let first = support::sink::manager_of(&created[0]);
    let now = clock.now().timestamp();

    let unknown = json!({"lead_id": lead, "owner": "99"});
    assert_eq!(report(&daemon, &unknown, None, now).await, 401, "unsigned");
    assert_eq!(
        report(
            &daemon,
            &unknown,
            Some("whsec_c2VjcmV0LW9mLWFub3RoZXItY3Jt"),
            now
        )
        .await,
        401,
        "signed with another secret"
    );
    assert_eq!(
        report(&daemon, &unknown, Some(WHSEC), now - 600).await,
        401,
        "ten minutes old"
    );
    assert_eq!(report(&daemon, &unknown, Some(WHSEC), now).await, 200);
    let not_ours = json!({"lead_id": "0193b1f0-0000-7000-8000-00000000dead", "status": "won"});
    assert_eq!(
        report(&daemon, &not_ours, Some(WHSEC), now).await,
        200,
        "a lead leadgate did not make is answered, not retried"
    );
    let closed = json!({"lead_id": lead, "owner": crm_id(other(&first)), "status": "won"});
    assert_eq!(report(&daemon, &closed, Some(WHSEC), now).await, 200);
    assert_eq!(
        daemon
            .audit(&lead)
            .await
            .iter()
            .filter_map(|a| a["kind"].as_str().map(str::to_string))
            .collect::<Vec<_>>(),
        [
            "created",
            "assigned",
            "crm_owner_unknown",
            "crm_reassigned",
            "closed"
        ]
    );
    let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
    assert_eq!(journey["status"], "closed");
    clock.advance(chrono::Duration::hours(2));
    daemon.ran_since("stage:sla", clock.now()).await;
    assert_eq!(
        sink.received().len(),
        1,
        "closed in the CRM: never passed on, and the CRM is not told what it said"
    );
    daemon.stop().await;
}

/// A lead waits after a decline (nobody else works now), and the CRM gives it to another
/// manager: a new assignment after the declined one, not a second "first" one, so its card
/// does not take the first card's key and is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_owner_for_a_lead_waiting_after_a_decline_is_its_next_assignment() {
    let sink = support::sink::Sink::start(&[]).await;
    let config = generic_crm(&sink);
    // Monday 20:00 in Moscow: Борис works 09:00-18:00, Анна always; a lead nobody can take
    // now waits.
    let clock = monday_evening();
    let routing = hold_routing_with_day_shift("boris");
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_at(dir.path(), &config, &routing, clock.clone()).await;
    let lead = daemon.submit_form(&[("phone", "+79161110045")]).await;
    assert_eq!(support::sink::manager_of(&sink.events(1).await[0]), "anna");
    let declined = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{lead}/decline")))
        .bearer_auth(API_TOKEN)
        .json(&json!({"manager": "anna", "reason": "не мой профиль"}))
        .send()
        .await
        .expect("post");
    assert_eq!(declined.status(), 200);
    daemon.settled().await;

    let owner = json!({"lead_id": lead, "owner": crm_id("boris")});
    let now = clock.now().timestamp();
    assert_eq!(report(&daemon, &owner, Some(WHSEC), now).await, 200);
    let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
    assert_eq!(journey["status"], "assigned", "{journey}");
    let assignment = &journey["lead"]["assignment"];
    assert_eq!(assignment["manager"]["id"], "boris", "{journey}");
    assert_eq!(assignment["attempt"], 2, "{journey}");
    let journey = daemon.admin_get(&format!("/admin/api/leads/{lead}")).await;
    let attempts: Vec<(String, u64)> = journey["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .map(|a| {
            let who = a["manager_id"].as_str().unwrap_or("").to_string();
            (who, a["attempt"].as_u64().unwrap_or(0))
        })
        .collect();
    assert_eq!(
        attempts,
        [("anna".to_string(), 1), ("boris".to_string(), 2)],
        "{journey}"
    );
    daemon.stop().await;
}

/// A reply to a lead the CRM closed (won or lost) is a new request, months later: it makes a
/// lead of its own, routed and assigned, not a `lead.updated` on a closed deal that nobody
/// acts on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_a_lead_the_crm_closed_is_a_new_lead() {
    use support::dovecot::{Dovecot, lead_mail};
    let dovecot = Dovecot::start().await;
    let sink = support::sink::Sink::start(&[]).await;
    let config = mailbox_to_generic_crm(&dovecot, &sink);
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon =
        TestDaemon::start_at(dir.path(), &config, &always_open_routing(), clock.clone()).await;
    dovecot.append_all("INBOX", &[lead_mail("closed", 1)]).await;
    let created = sink.events(1).await;
    let lead = created[0]["data"]["id"].as_str().expect("id").to_string();
    let closed = json!({"lead_id": lead, "status": "won"});
    let now = clock.now().timestamp();
    assert_eq!(report(&daemon, &closed, Some(WHSEC), now).await, 200);
    let reply = reply_to(
        "closed",
        "Good afternoon! We need a second boiler, for the garage this time.",
    );
    dovecot.append_all("INBOX", &[reply]).await;
    let events = sink.events(2).await;
    assert_eq!(events[1]["type"], "lead.created", "{}", events[1]);
    assert_ne!(events[1]["data"]["id"], created[0]["data"]["id"]);
    assert!(events[1]["data"]["assignment"].is_object(), "{}", events[1]);
    daemon.stop().await;
}

/// A reply to a lead its manager took, after that manager has left the rules (removed from
/// `routing.toml`), is a new request routed as a returning contact's: it used to join the old
/// lead, and nobody who works here was told the customer wrote again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_to_a_lead_whose_manager_has_left_is_a_new_lead() {
    use support::dovecot::{Dovecot, lead_mail};
    let dovecot = Dovecot::start().await;
    let sink = support::sink::Sink::start(&[]).await;
    let config = mailbox_to_generic_crm(&dovecot, &sink);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config, &always_open_routing()).await;
    dovecot.append_all("INBOX", &[lead_mail("left", 1)]).await;
    let created = sink.events(1).await;
    let lead = created[0]["data"]["id"].as_str().expect("id").to_string();
    let manager = support::sink::manager_of(&created[0]);
    let taken = reqwest::Client::new()
        .post(daemon.url(&format!("/api/leads/{lead}/ack")))
        .bearer_auth(API_TOKEN)
        .json(&json!({"manager": manager}))
        .send()
        .await
        .expect("ack");
    assert_eq!(taken.status().as_u16(), 200);
    let acknowledged = sink.events(2).await;
    assert_eq!(acknowledged[1]["type"], "lead.acknowledged");
    daemon.stop().await;
    // The manager leaves: the rules no longer name them.
    let routing = always_open_routing();
    let at = routing
        .find(&format!("[[managers]]\nid = \"{manager}\""))
        .expect("the manager's table");
    let end = routing[at + 1..]
        .find("[[")
        .map_or(routing.len(), |n| at + 1 + n);
    let without = format!("{}{}", &routing[..at], &routing[end..]);
    let daemon = TestDaemon::start_in(dir.path(), &config, &without).await;
    let reply = reply_to("left", "Good afternoon! Is the boiler still available?");
    dovecot.append_all("INBOX", &[reply]).await;
    let events = sink.events(3).await;
    assert_eq!(events[2]["type"], "lead.created", "{}", events[2]);
    assert_eq!(events[2]["data"]["previous_lead_id"], lead.as_str());
    assert_ne!(
        support::sink::manager_of(&events[2]),
        manager,
        "{}",
        events[2]
    );
    daemon.stop().await;
}

/// amoCRM tells the owner a lead had before each change (`old_responsible_user_id`). A report
/// of a change from someone who is not the lead's manager now is about an older change (the
/// CRM's echo of a reassignment leadgate sent before a later one, arriving late): its owner is
/// not applied, so the lead does not go back to a manager who no longer has it. A change from
/// the lead's manager now is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amocrm_echo_of_an_older_owner_does_not_take_the_lead_back() {
    let s = start(Flavor::Amocrm).await;
    let (lead, crm_lead, owner, first) = s
        .lead_in_crm(&[("name", "Ирина"), ("phone", "+79161110032")])
        .await;
    let status = crm_lead.status.clone();
    let hook = s.daemon.url("/hooks/crm/crm");
    // The CRM reports a change from user 15 (nobody's, an old change) to the other junior.
    s.crm
        .change_lead(&crm_lead.id, Some(crm_id(other(first))), None);
    let echo = s
        .crm
        .send_webhook(&hook, HOOK_SECRET, &crm_lead.id, "15", &status);
    assert_eq!(echo.await, 200);
    let kinds = s.audit_kinds(&lead).await;
    assert_eq!(
        kinds,
        ["created", "assigned", "crm_owner_outdated"],
        "{kinds:?}"
    );
    // The same change made from the lead's manager now is applied.
    let real = s
        .crm
        .send_webhook(&hook, HOOK_SECRET, &crm_lead.id, &owner, &status);
    assert_eq!(real.await, 200);
    assert_eq!(s.manager_now(&lead).await, other(first));
    s.daemon.stop().await;
}

/// The generic report may say who had the lead before (`previous_owner`): a late report of an
/// older change does not take the lead back; one from the lead's manager now moves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_report_of_an_older_change_does_not_take_the_lead_back() {
    let sink = support::sink::Sink::start(&[]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = manual_clock();
    let daemon = TestDaemon::start_at(
        dir.path(),
        &generic_crm(&sink),
        &always_open_routing(),
        clock.clone(),
    )
    .await;
    let lead = daemon.submit_form(&[("phone", "+79161110042")]).await;
    let first = support::sink::manager_of(&sink.events(1).await[0]);
    let to = crm_id(other(&first));
    let now = clock.now().timestamp();
    let late = json!({"lead_id": lead, "owner": to, "previous_owner": "99"});
    assert_eq!(report(&daemon, &late, Some(WHSEC), now).await, 200);
    let current = json!({"lead_id": lead, "owner": to, "previous_owner": crm_id(&first)});
    assert_eq!(report(&daemon, &current, Some(WHSEC), now).await, 200);
    let kinds: Vec<String> = (daemon.audit(&lead).await.iter())
        .filter_map(|a| a["kind"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "assigned",
            "crm_owner_outdated",
            "crm_reassigned"
        ]
    );
    daemon.stop().await;
}

/// Bitrix24 reads back the lead as it stands, with no previous owner. While leadgate's own
/// `lead.reassigned` is still on its way to it (the CRM rate-limited it), a webhook's
/// read-back gives the owner from before the pass: it is kept in the audit and does not take
/// the lead back from the manager it passed to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bitrix24_owner_read_before_our_reassignment_arrives_does_not_take_the_lead_back() {
    let s = start(Flavor::Bitrix24).await;
    let (lead, crm_lead, owner, first) = s
        .lead_in_crm(&[("name", "Олег"), ("phone", "+79161110033")])
        .await;
    s.crm.rate_limit(1);
    s.decline(&lead, first).await;
    s.until("the reassignment refused for now", |c| {
        c.calls()
            .iter()
            .any(|call| call.path.ends_with("batch.json") && call.status != 200)
    })
    .await;
    let hook = s.daemon.url("/hooks/crm/crm");
    let status = crm_lead.status.clone();
    let webhook = s
        .crm
        .send_webhook(&hook, HOOK_SECRET, &crm_lead.id, &owner, &status);
    assert_eq!(webhook.await, 200);
    let kinds = s.audit_kinds(&lead).await;
    assert!(
        kinds.contains(&"crm_owner_outdated".to_string()),
        "{kinds:?}"
    );
    assert!(!kinds.contains(&"crm_reassigned".to_string()), "{kinds:?}");
    assert_eq!(s.manager_now(&lead).await, other(first));
    s.daemon.stop().await;
}
