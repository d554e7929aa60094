//! Managers in the loop, end to end: the card in the manager's Telegram chat (through the Bot
//! API simulator) with Take and Decline, the tap that takes or declines, the notice to the
//! manager a lead left, the mail (through a real SMTP session) with both parts and links that
//! work once, retries of a mail server that says "later", and admin alerts once per incident.

mod support;
use support::config::{Manager, anna, boris, form_to_crm, managers_bot, routing, vera};

/// Two juniors and a senior who always work, each with a chat and an address.
fn two_juniors_and_a_senior() -> String {
    let managers = [anna(), boris(), vera()].map(Manager::with_email);
    routing(&["junior", "senior"], Some(1), &managers)
}

/// Анна alone at her level, with no supervisor: a lead whose SLA runs out stays with her as a
/// new assignment.
fn solo() -> String {
    routing(&["junior"], None, &[anna().with_email()])
}

use leadgate::clock::ManualClock;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::bot_api::{BotApiSim, MANAGERS_TOKEN, Sent};
use support::certs::Issuer;
use support::daemon::{ADMIN_TOKEN, TestDaemon, eventually, manual_clock};
use support::sink::{Sink, manager_of};
use support::smtp::{Security, SmtpCatcher};

const LINK_SECRET: &str = "link-secret-for-tests-0123456789abcdef";
const ANNA: i64 = 501;
const BORIS: i64 = 502;
const VERA: i64 = 503;
const ADMIN_CHAT: i64 = 900;

struct Setup {
    sink: Sink,
    bot: Option<BotApiSim>,
    smtp: Option<SmtpCatcher>,
    clock: Arc<ManualClock>,
    extra: String,
    /// `[notify.email] ca_file`.
    mail_ca: Option<std::path::PathBuf>,
}

impl Setup {
    async fn telegram() -> Setup {
        Setup {
            sink: Sink::start(&[]).await,
            bot: Some(BotApiSim::start_as(MANAGERS_TOKEN).await),
            smtp: None,
            clock: manual_clock(),
            extra: String::new(),
            mail_ca: None,
        }
    }

    async fn email() -> Setup {
        Setup {
            sink: Sink::start(&[]).await,
            bot: None,
            smtp: Some(SmtpCatcher::start().await),
            clock: manual_clock(),
            extra: String::new(),
            mail_ca: None,
        }
    }

    fn bot(&self) -> &BotApiSim {
        self.bot.as_ref().expect("a bot")
    }

    fn config(&self) -> String {
        let mut c = form_to_crm(&self.sink.url());
        if let Some(bot) = &self.bot {
            c.push_str(&managers_bot(&bot.url()));
        }
        if let Some(smtp) = &self.smtp {
            c.push_str(&format!(
                "\n[notify.email]\nurl = \"{}\"\nfrom = \"leadgate <leads@teplodom.example>\"\npublic_url = \"https://leads.teplodom.example\"\nlink_secret = \"{LINK_SECRET}\"\n",
                smtp.url()
            ));
            if let Some(ca) = &self.mail_ca {
                c.push_str(&format!("ca_file = \"{}\"\n", ca.display()));
            }
        }
        c.push_str(&self.extra);
        c
    }

    async fn start(&self, dir: &std::path::Path) -> TestDaemon {
        TestDaemon::start_at(
            dir,
            &self.config(),
            &two_juniors_and_a_senior(),
            self.clock.clone(),
        )
        .await
    }
}

fn chat_of(manager: &str) -> i64 {
    match manager {
        "anna" => ANNA,
        "boris" => BORIS,
        "vera" => VERA,
        other => panic!("unknown manager {other}"),
    }
}

/// The `n`th message the bot sent to `chat`, waiting for it.
async fn nth_to(bot: &BotApiSim, chat: i64, n: usize) -> Sent {
    eventually(Duration::from_secs(10), || async {
        bot.sent_to(chat).get(n).cloned()
    })
    .await
    .unwrap_or_else(|| panic!("no message {n} to chat {chat}: {:?}", bot.sent_to(chat)))
}

/// The callback data of the card's buttons, Take first.
fn buttons(card: &Sent) -> (String, String, Vec<String>) {
    let row = &card.reply_markup.as_ref().expect("a keyboard")["inline_keyboard"][0];
    let data = |i: usize| row[i]["callback_data"].as_str().expect("data").to_string();
    let labels = row
        .as_array()
        .expect("a row")
        .iter()
        .map(|b| b["text"].as_str().unwrap_or("").to_string())
        .collect();
    (data(0), data(1), labels)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_has_both_buttons_and_a_tap_on_take_acknowledges_the_lead() {
    let s = Setup::telegram().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Ирина <Ковалёва>"),
            ("phone", "8 916 123-45-67"),
            ("message", "Нужен котёл на 200 м², цена?"),
        ])
        .await;
    let owner = manager_of(&s.sink.events(1).await[0]);
    let chat = chat_of(&owner);
    let card = nth_to(s.bot(), chat, 0).await;
    assert_eq!(card.params["parse_mode"], "HTML");
    assert!(
        card.text.contains("Ирина <Ковалёва>"),
        "the name is escaped, then shown as written: {}",
        card.text
    );
    assert!(
        card.text.contains("+79161234567"),
        "the phone, for Telegram to make tappable: {}",
        card.text
    );
    assert!(
        card.text.contains("Нужен котёл на 200 м², цена?"),
        "{}",
        card.text
    );
    assert!(
        card.text.contains("Всё остальное"),
        "the rule that routed it: {}",
        card.text
    );
    assert!(
        card.text.contains("Ответьте до"),
        "the deadline: {}",
        card.text
    );
    let (take, decline, labels) = buttons(&card);
    assert_eq!(labels, ["✅ Взять", "❌ Отказаться"]);
    assert!(take.starts_with("take:") && decline.starts_with("decline:"));
    assert!(
        s.bot().sent().iter().all(|m| m.chat_id == chat),
        "nobody else was woken"
    );

    s.bot().push_callback(chat, card.message_id, chat, &take);
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.acknowledged");
    assert_eq!(got[1]["data"]["id"], lead.as_str());
    assert_eq!(manager_of(&got[1]), owner);
    let answered = eventually(Duration::from_secs(5), || async {
        s.bot().calls("answerCallbackQuery").first().cloned()
    })
    .await
    .expect("the tap is answered");
    assert_eq!(answered.params["show_alert"], false);
    let edited = eventually(Duration::from_secs(5), || async {
        s.bot()
            .message(chat, card.message_id)
            .filter(|m| m.get("reply_markup").is_none())
    })
    .await
    .expect("the card is edited and loses its buttons");
    assert!(
        edited["text"]
            .as_str()
            .unwrap_or("")
            .ends_with("✅ Вы взяли заявку"),
        "{edited}"
    );
    assert_eq!(
        edited["entities"][0],
        json!({"type": "bold", "offset": 3, "length": edited["entities"][0]["length"]}),
        "the card keeps its formatting (the bold title after the bell): {edited}"
    );

    // A second tap (a double click, a replay after a crash) changes nothing.
    s.bot().push_callback(chat, card.message_id, chat, &take);
    let second = eventually(Duration::from_secs(5), || async {
        s.bot().calls("answerCallbackQuery").get(1).cloned()
    })
    .await
    .expect("answered");
    assert!(
        second.params["text"]
            .as_str()
            .unwrap_or("")
            .contains("уже взял"),
        "{:?}",
        second.params
    );
    daemon.settled().await;
    assert_eq!(s.sink.received().len(), 2, "no second acknowledgement");

    // A restart sends no card again.
    daemon.stop().await;
    let daemon = s.start(dir.path()).await;
    daemon.settled().await;
    assert_eq!(
        s.bot().sent_to(chat).len(),
        1,
        "one card per assignment, across restarts"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_tap_asks_why_then_passes_the_lead_at_once_and_the_old_card_loses_its_buttons() {
    let s = Setup::telegram().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Пётр"),
            ("phone", "+79161110005"),
            ("message", "Сколько стоит монтаж?"),
        ])
        .await;
    let first = manager_of(&s.sink.events(1).await[0]);
    let chat = chat_of(&first);
    let card = nth_to(s.bot(), chat, 0).await;
    let (_, decline, _) = buttons(&card);
    let keyboard = |labels: usize| {
        let bot = s.bot().clone();
        async move {
            eventually(Duration::from_secs(5), || async {
                let m = bot.message(chat, card.message_id)?;
                let rows = m["reply_markup"]["inline_keyboard"].as_array()?.clone();
                let texts: Vec<String> = rows
                    .iter()
                    .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                    .map(|b| {
                        format!(
                            "{}={}",
                            b["text"].as_str().unwrap_or(""),
                            b["callback_data"].as_str().unwrap_or("")
                        )
                    })
                    .collect();
                (texts.len() == labels).then_some(texts)
            })
            .await
            .unwrap_or_else(|| {
                panic!(
                    "no keyboard of {labels} buttons: {:?}",
                    bot.message(chat, card.message_id)
                )
            })
        }
    };
    // Decline first asks why: four reasons and Back; nothing is declined yet.
    s.bot().push_callback(chat, card.message_id, chat, &decline);
    let reasons = keyboard(5).await;
    assert!(reasons[0].starts_with("Занят(а)=why:busy:"), "{reasons:?}");
    assert!(reasons[4].starts_with("↩ Назад=back:"), "{reasons:?}");
    let answered = s.bot().calls("answerCallbackQuery");
    assert!(
        answered
            .iter()
            .any(|c| c.params["text"] == "Почему отказываетесь?"),
        "{answered:?}"
    );
    // Back puts Take and Decline back; then Decline and a reason.
    let back = reasons[4]
        .split_once('=')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    s.bot().push_callback(chat, card.message_id, chat, &back);
    let again = keyboard(2).await;
    assert!(again[1].ends_with(&decline), "{again:?}");
    daemon.settled().await;
    assert_eq!(
        s.sink.received().len(),
        1,
        "not declined by asking why, nor by Back"
    );
    s.bot().push_callback(chat, card.message_id, chat, &decline);
    let busy = keyboard(5).await[0]
        .split_once('=')
        .map(|(_, d)| d.to_string())
        .unwrap_or_default();
    s.bot().push_callback(chat, card.message_id, chat, &busy);
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    let second = manager_of(&got[1]);
    assert!(second != first && second != "vera", "{first} -> {second}");
    let new_card = nth_to(s.bot(), chat_of(&second), 0).await;
    let (take, _, _) = buttons(&new_card);
    assert!(
        take.ends_with(":2"),
        "the card is for the second assignment: {take}"
    );
    let edited = eventually(Duration::from_secs(5), || async {
        s.bot()
            .message(chat_of(&first), card.message_id)
            .filter(|m| {
                m["text"]
                    .as_str()
                    .unwrap_or("")
                    .ends_with("❌ Вы отказались от заявки: Занят(а)")
            })
    })
    .await
    .expect("the declined card shows it");
    assert!(edited.get("reply_markup").is_none());
    let notice = nth_to(s.bot(), chat_of(&first), 1).await;
    assert!(notice.text.contains("Заявка передана"), "{}", notice.text);
    assert!(
        notice.text.contains(if second == "anna" {
            "Анна Петрова"
        } else {
            "Борис Орлов"
        }),
        "{}",
        notice.text
    );
    assert_eq!(
        notice.params["reply_parameters"]["message_id"], card.message_id,
        "a reply to the card"
    );
    let audit = daemon.audit(&lead).await;
    let declined = audit
        .iter()
        .find(|a| a["kind"] == "declined")
        .expect("a decline in the audit trail");
    assert_eq!(
        declined["detail"]["reason"], "Занят(а) (Telegram)",
        "{declined}"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_tap_in_time_passes_the_lead_on_and_a_late_tap_is_told_where_it_went() {
    let s = Setup::telegram().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    daemon
        .submit_form(&[
            ("name", "Ольга"),
            ("phone", "+79161110006"),
            ("message", "Перезвоните"),
        ])
        .await;
    let first = manager_of(&s.sink.events(1).await[0]);
    let card = nth_to(s.bot(), chat_of(&first), 0).await;
    s.clock.advance(chrono::Duration::minutes(31));
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    let second = manager_of(&got[1]);
    nth_to(s.bot(), chat_of(&second), 0).await;
    let notice = nth_to(s.bot(), chat_of(&first), 1).await;
    assert!(notice.text.contains("не взята вовремя"), "{}", notice.text);
    let stripped = eventually(Duration::from_secs(5), || async {
        s.bot().calls("editMessageReplyMarkup").first().cloned()
    })
    .await
    .expect("the old card's buttons come off");
    assert_eq!(stripped.params["message_id"], card.message_id);

    // The first manager taps Take on the old card after all.
    let (take, _, _) = buttons(&card);
    s.bot()
        .push_callback(chat_of(&first), card.message_id, chat_of(&first), &take);
    let answer = eventually(Duration::from_secs(5), || async {
        s.bot().calls("answerCallbackQuery").first().cloned()
    })
    .await
    .expect("answered");
    assert_eq!(answer.params["show_alert"], true);
    let text = answer.params["text"].as_str().unwrap_or("");
    assert!(text.starts_with("Заявка уже передана"), "{text}");
    assert!(
        text.contains(if second == "anna" {
            "Анна Петрова"
        } else {
            "Борис Орлов"
        }),
        "{text}"
    );
    daemon.settled().await;
    assert_eq!(s.sink.received().len(), 2, "the late tap changed nothing");

    // Nobody takes it at the second junior either: after max_reassign it goes one level up.
    s.clock.advance(chrono::Duration::minutes(31));
    let got = s.sink.events(3).await;
    assert_eq!(manager_of(&got[2]), "vera");
    let card = nth_to(s.bot(), VERA, 0).await;
    assert!(
        buttons(&card).0.ends_with(":3"),
        "the senior's card is for the third assignment"
    );
    let notice = nth_to(s.bot(), chat_of(&second), 1).await;
    assert!(notice.text.contains("Вера Соколова"), "{}", notice.text);
    daemon.stop().await;
}

fn link(plain: &str, label: &str) -> String {
    plain
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}: ")))
        .unwrap_or_else(|| panic!("no {label} link in {plain}"))
        .to_string()
}

async fn mail_to(smtp: &SmtpCatcher, to: &str, n: usize) -> support::smtp::Mail {
    eventually(Duration::from_secs(10), || async {
        smtp.mails()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .nth(n)
    })
    .await
    .unwrap_or_else(|| panic!("no mail {n} to {to}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_has_both_parts_and_its_links_work_once() {
    let s = Setup::email().await;
    let smtp = s.smtp.clone().expect("smtp");
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Ирина"),
            ("phone", "+79161110007"),
            ("message", "Прошу счёт на 3 котла"),
        ])
        .await;
    let owner = manager_of(&s.sink.events(1).await[0]);
    let address = format!("{owner}@teplodom.example");
    let mail = mail_to(&smtp, &address, 0).await;
    assert_eq!(mail.from, "leads@teplodom.example");
    let parsed = mail.parsed();
    assert_eq!(
        parsed.header_raw("X-Leadgate-Notification").map(str::trim),
        Some(lead.as_str())
    );
    assert_eq!(
        parsed.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    assert!(
        parsed.subject().unwrap_or("").contains("Новая заявка"),
        "{:?}",
        parsed.subject()
    );
    let plain = parsed.body_text(0).expect("a text part").to_string();
    let html = parsed.body_html(0).expect("an html part").to_string();
    assert!(
        plain.contains("+79161110007") && html.contains("tel:+79161110007"),
        "{plain}\n{html}"
    );
    assert!(plain.contains("Прошу счёт на 3 котла") && html.contains("Прошу счёт на 3 котла"));
    let take = link(&plain, "✅ Взять");
    let decline = link(&plain, "❌ Отказаться");
    assert!(
        html.contains(&take) && html.contains(&decline),
        "the same links in both parts"
    );
    let path = take
        .strip_prefix("https://leads.teplodom.example")
        .expect("the public URL");
    assert!(path.starts_with("/act/"));

    let client = reqwest::Client::new();
    let page = client.get(daemon.url(path)).send().await.expect("get");
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let body = page.text().await.expect("page");
    assert!(
        body.contains("<form method=\"post\">"),
        "opening the link only asks: {body}"
    );
    daemon.settled().await;
    assert_eq!(
        s.sink.received().len(),
        1,
        "a GET (a mail scanner) takes nothing"
    );

    let mut forged = path.to_string();
    forged.pop();
    forged.push(if path.ends_with('A') { 'B' } else { 'A' });
    let r = client.post(daemon.url(&forged)).send().await.expect("post");
    assert_eq!(r.status(), 403, "a changed link is refused");
    // Refused before its body is read: a forged link announcing 2 MiB it never sends is
    // answered at once, not after the body's deadline.
    let answer = tokio::task::spawn_blocking({
        let addr = daemon.addr;
        let forged = forged.clone();
        move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
            let head = format!(
                "POST {forged} HTTP/1.1\r\nHost: x\r\nContent-Length: 2097152\r\nConnection: close\r\n\r\n"
            );
            s.write_all(head.as_bytes()).expect("write");
            let mut got = [0u8; 12];
            s.read_exact(&mut got).map(|()| got.to_vec())
        }
    })
    .await
    .expect("join");
    let answer = answer.expect("an answer before any body byte");
    assert_eq!(&answer[..], b"HTTP/1.1 403");
    // A real link with a body over the form's size: refused, and the link stays usable.
    let big = client
        .post(daemon.url(path))
        .body(vec![b'a'; 64 << 10])
        .send()
        .await
        .expect("post");
    assert_eq!(big.status(), 413);

    let r = client.post(daemon.url(path)).send().await.expect("post");
    assert_eq!(r.status(), 200);
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("Вы взяли заявку")
    );
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.acknowledged");
    assert_eq!(manager_of(&got[1]), owner);
    let again = client.post(daemon.url(path)).send().await.expect("post");
    assert_eq!(again.status(), 409, "single use");
    let decline_path = decline
        .strip_prefix("https://leads.teplodom.example")
        .expect("url");
    let late = client
        .post(daemon.url(decline_path))
        .form(&[("reason", "передумал")])
        .send()
        .await
        .expect("post");
    assert_eq!(
        late.status(),
        409,
        "the lead is taken: declining it now is refused"
    );
    assert!(late.text().await.unwrap_or_default().contains("уже взял"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_goes_over_tls_and_starttls_to_a_server_with_a_private_ca_and_never_untrusted() {
    let certs = tempfile::tempdir().expect("tempdir");
    let ca = support::certs::make(certs.path(), Issuer::PrivateCa);
    for (i, security) in [Security::Tls, Security::StartTls].into_iter().enumerate() {
        let mut s = Setup::email().await;
        let smtp = SmtpCatcher::start_tls(security, &ca).await;
        s.smtp = Some(smtp.clone());
        s.mail_ca = Some(ca.ca_file.clone());
        let dir = tempfile::tempdir().expect("tempdir");
        let daemon = s.start(dir.path()).await;
        let phone = format!("+7916111002{i}");
        daemon
            .submit_form(&[
                ("name", "Нина"),
                ("phone", &phone),
                ("message", "Нужен котёл"),
            ])
            .await;
        let owner = manager_of(&s.sink.events(1).await[0]);
        let mail = mail_to(&smtp, &format!("{owner}@teplodom.example"), 0).await;
        assert!(mail.tls, "{security:?}: the mail came over TLS");
        daemon.stop().await;
    }
    // Without ca_file the private CA is not trusted: the handshake fails and nothing is sent,
    // not even in clear.
    let mut s = Setup::email().await;
    let smtp = SmtpCatcher::start_tls(Security::StartTls, &ca).await;
    s.smtp = Some(smtp.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    daemon
        .submit_form(&[
            ("name", "Нина"),
            ("phone", "+79161110029"),
            ("message", "Нужен котёл"),
        ])
        .await;
    s.sink.events(1).await;
    let failed = eventually(Duration::from_secs(10), || async {
        (smtp.handshake_failures() > 0).then_some(())
    })
    .await;
    assert!(
        failed.is_some(),
        "leadgate tried TLS and refused the certificate"
    );
    assert!(smtp.mails().is_empty());
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decline_link_passes_the_lead_with_the_reason_and_an_expired_link_is_refused() {
    let s = Setup::email().await;
    let smtp = s.smtp.clone().expect("smtp");
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Олег"),
            ("phone", "+79161110008"),
            ("message", "Нужна консультация"),
        ])
        .await;
    let owner = manager_of(&s.sink.events(1).await[0]);
    let mail = mail_to(&smtp, &format!("{owner}@teplodom.example"), 0).await;
    let plain = mail.parsed().body_text(0).expect("text").to_string();
    let decline = link(&plain, "❌ Отказаться");
    let path = decline
        .strip_prefix("https://leads.teplodom.example")
        .expect("url")
        .to_string();
    let r = reqwest::Client::new()
        .post(daemon.url(&path))
        .form(&[("reason", "не мой профиль")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    let second = manager_of(&got[1]);
    assert_ne!(second, owner);
    mail_to(&smtp, &format!("{second}@teplodom.example"), 0).await;
    let audit = daemon.audit(&lead).await;
    let declined = audit
        .iter()
        .find(|a| a["kind"] == "declined")
        .expect("a decline in the audit trail");
    assert_eq!(declined["detail"]["reason"], "не мой профиль", "{declined}");
    let notified: Vec<(&str, &str)> = audit
        .iter()
        .filter(|a| a["kind"] == "notified")
        .map(|a| {
            (
                a["detail"]["recipient"].as_str().unwrap_or(""),
                a["detail"]["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        notified.contains(&(owner.as_str(), "assigned")),
        "who was told is in the audit trail: {audit:?}"
    );

    // The second manager's take link, a day and more after its deadline.
    let mail = mail_to(&smtp, &format!("{second}@teplodom.example"), 0).await;
    let take = link(&mail.parsed().body_text(0).expect("text"), "✅ Взять");
    s.clock.advance(chrono::Duration::hours(26));
    let path = take
        .strip_prefix("https://leads.teplodom.example")
        .expect("url")
        .to_string();
    let r = reqwest::Client::new()
        .post(daemon.url(&path))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap_or_default().contains("истёк"));
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_server_that_says_later_gets_the_mail_again_and_only_once() {
    let s = Setup::email().await;
    let smtp = s.smtp.clone().expect("smtp");
    smtp.refuse_next(1);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    daemon
        .submit_form(&[
            ("name", "Инна"),
            ("phone", "+79161110009"),
            ("message", "Добрый день"),
        ])
        .await;
    let owner = manager_of(&s.sink.events(1).await[0]);
    daemon.settled().await;
    assert!(smtp.mails().is_empty(), "the first try was refused");
    s.clock.advance(chrono::Duration::seconds(10));
    mail_to(&smtp, &format!("{owner}@teplodom.example"), 0).await;
    s.clock.advance(chrono::Duration::minutes(10));
    daemon.settled().await;
    assert_eq!(smtp.mails().len(), 1, "sent once it worked, never again");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_hear_of_a_dead_lettering_sink_once_and_again_when_it_is_over() {
    let mut s = Setup::telegram().await;
    s.sink = Sink::start(&[410]).await;
    s.extra =
        format!("\n[notify.alerts]\ntelegram_chat_ids = [{ADMIN_CHAT}]\ncheck_every = \"50ms\"\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    daemon
        .submit_form(&[
            ("name", "Глеб"),
            ("phone", "+79161110010"),
            ("message", "Вопрос"),
        ])
        .await;
    let alert = nth_to(s.bot(), ADMIN_CHAT, 0).await;
    assert!(
        alert.text.contains("Внимание") && alert.text.contains("crm"),
        "{}",
        alert.text
    );
    assert!(
        alert.text.contains("leadgate replay --sink crm"),
        "{}",
        alert.text
    );
    daemon.settled().await;
    assert_eq!(s.bot().sent_to(ADMIN_CHAT).len(), 1, "once per incident");

    let replayed: Value = reqwest::Client::new()
        .post(daemon.url("/admin/api/dead-letters/replay"))
        .bearer_auth(ADMIN_TOKEN)
        .json(&json!({"sink": "crm"}))
        .send()
        .await
        .expect("replay")
        .json()
        .await
        .expect("json");
    assert_eq!(replayed["replayed"], 1, "{replayed}");
    let over = nth_to(s.bot(), ADMIN_CHAT, 1).await;
    assert!(
        over.text.contains("Решено") && over.text.contains("crm"),
        "{}",
        over.text
    );
    daemon.settled().await;
    assert_eq!(s.bot().sent_to(ADMIN_CHAT).len(), 2);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_hear_of_a_manager_the_cards_cannot_reach_until_one_gets_through() {
    let mut s = Setup::telegram().await;
    s.extra =
        format!("\n[notify.alerts]\ntelegram_chat_ids = [{ADMIN_CHAT}]\ncheck_every = \"50ms\"\n");
    // Whoever round robin picks first has blocked the bot.
    s.bot().set_blocked(ANNA, true);
    s.bot().set_blocked(BORIS, true);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    let form = [
        ("name", "Лев"),
        ("phone", "+79161110014"),
        ("message", "Сколько стоит?"),
    ];
    daemon.submit_form(&form).await;
    let owner = manager_of(&s.sink.events(1).await[0]);
    let other = if owner == "anna" { BORIS } else { ANNA };
    s.bot().set_blocked(other, false);
    let alert = nth_to(s.bot(), ADMIN_CHAT, 0).await;
    assert!(
        alert.text.contains(&format!(
            "({owner}) cannot be reached by telegram at {}",
            chat_of(&owner)
        )) && alert.text.contains("bot was blocked by the user"),
        "{}",
        alert.text
    );
    // The next lead goes to the other junior, whose card gets through: nothing changes.
    let form = [
        ("name", "Ия"),
        ("phone", "+79161110015"),
        ("message", "Нужен замер"),
    ];
    daemon.submit_form(&form).await;
    nth_to(s.bot(), other, 0).await;
    daemon.settled().await;
    assert_eq!(s.bot().sent_to(ADMIN_CHAT).len(), 1, "once per incident");
    // The manager unblocks the bot; their next card gets through and the incident is over.
    s.bot().set_blocked(chat_of(&owner), false);
    let form = [
        ("name", "Ян"),
        ("phone", "+79161110016"),
        ("message", "Перезвоните"),
    ];
    daemon.submit_form(&form).await;
    nth_to(s.bot(), chat_of(&owner), 0).await;
    let over = nth_to(s.bot(), ADMIN_CHAT, 1).await;
    assert!(
        over.text.contains("Решено") && over.text.contains(&format!("({owner})")),
        "{}",
        over.text
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_in_the_conversation_reaches_the_same_manager_and_wakes_nobody_else() {
    let mut s = Setup::telegram().await;
    let customers = BotApiSim::start().await;
    s.extra = format!(
        "\n[[sources.telegram]]\nid = \"tg-bot\"\ntoken = \"{}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n",
        support::bot_api::TOKEN,
        customers.url()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    customers.push_text(77001, "Мария", "Здравствуйте, нужен котёл");
    let owner = manager_of(&s.sink.events(1).await[0]);
    let chat = chat_of(&owner);
    let card = nth_to(s.bot(), chat, 0).await;
    assert!(
        card.text.contains("Здравствуйте, нужен котёл"),
        "{}",
        card.text
    );
    customers.push_text(77001, "Мария", "Дом 150 м², газ есть");
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.updated");
    let follow_up = nth_to(s.bot(), chat, 1).await;
    assert!(
        follow_up.text.contains("Новое сообщение по заявке"),
        "{}",
        follow_up.text
    );
    assert!(
        follow_up.text.contains("Дом 150 м², газ есть"),
        "{}",
        follow_up.text
    );
    assert!(
        !follow_up.text.contains("нужен котёл"),
        "only what is new: {}",
        follow_up.text
    );
    assert!(
        follow_up.reply_markup.is_none(),
        "the card has the buttons already"
    );
    // The same words sent again: the lead and the CRM learn nothing new from them, and the
    // manager is not woken for them.
    customers.push_text(77001, "Мария", "Дом 150 м², газ есть");
    let got = s.sink.events(3).await;
    assert_eq!(got[2]["type"], "lead.updated");
    assert_eq!(got[2]["update"]["text"], "", "{}", got[2]);
    assert_eq!(
        got[2]["data"]["text"], "Здравствуйте, нужен котёл\n\nДом 150 м², газ есть",
        "said once"
    );
    daemon.settled().await;
    let to_owner = s.bot().sent().iter().filter(|m| m.chat_id == chat).count();
    assert_eq!(to_owner, 2, "the first card and the follow-up's, no third");
    assert!(
        s.bot().sent().iter().all(|m| m.chat_id == chat),
        "no second manager is woken"
    );
    assert!(
        customers
            .sent_to(77001)
            .iter()
            .all(|m| !m.text.contains("Правило")),
        "the person is never told anything internal"
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lead_held_overnight_alerts_the_admins_and_reaches_its_manager_when_hours_begin() {
    use chrono::TimeZone;
    let mut s = Setup::telegram().await;
    // Sunday noon in Moscow; Анна works weekdays from nine.
    let sunday = chrono::Utc
        .with_ymd_and_hms(2026, 12, 6, 9, 0, 0)
        .single()
        .expect("time");
    s.clock = Arc::new(ManualClock::new(sunday));
    s.extra =
        format!("\n[notify.alerts]\ntelegram_chat_ids = [{ADMIN_CHAT}]\ncheck_every = \"50ms\"\n");
    let routing = r#"
levels = ["junior"]
timezone = "Europe/Moscow"
fallback = "hold"

[[managers]]
id = "anna"
name = "Анна Петрова"
level = "junior"
telegram_chat_id = 501
hours = "mon-fri 09:00-18:00"

[[rules]]
name = "Всё остальное"
level = "junior"
"#;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_at(dir.path(), &s.config(), routing, s.clock.clone()).await;
    daemon
        .submit_form(&[
            ("name", "Семён"),
            ("phone", "+79161110011"),
            ("message", "Нужен котёл до понедельника"),
        ])
        .await;
    let held = s.sink.events(1).await;
    assert!(held[0]["data"]["assignment"].is_null(), "held: {}", held[0]);
    let alert = nth_to(s.bot(), ADMIN_CHAT, 0).await;
    assert!(
        alert.text.contains("junior") && alert.text.contains("held"),
        "{}",
        alert.text
    );
    daemon.settled().await;
    assert!(
        s.bot().sent_to(ANNA).is_empty(),
        "nobody is woken on a Sunday"
    );

    s.clock
        .advance(chrono::Duration::hours(21) + chrono::Duration::minutes(1));
    let card = nth_to(s.bot(), ANNA, 0).await;
    assert!(
        card.text.contains("Нужен котёл до понедельника"),
        "{}",
        card.text
    );
    let over = nth_to(s.bot(), ADMIN_CHAT, 1).await;
    assert!(over.text.contains("Решено"), "{}", over.text);
    daemon.stop().await;
}

/// Telegram's own measure of a message: UTF-16 code units of the text after entity parsing.
fn telegram_len(sent: &Sent) -> usize {
    sent.text.encode_utf16().count()
}

/// Issue 15, item 9: a card had no cap, so a 10,000-character name or subject made Telegram
/// refuse it ("message is too long") and the manager never heard of the lead. The card is cut
/// to Telegram's 4,096 (UTF-16 units, after entities), the name, subject and text each with a
/// marker, never inside an HTML entity or tag; contacts, the rule and the deadline stay; the
/// edit after a tap and the notice to the manager a lead left fit too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_card_for_a_10000_character_name_and_subject_is_cut_to_fit_telegram() {
    let s = Setup::telegram().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    // Escaped characters and astral ones (two UTF-16 units each) everywhere; sent as JSON, so
    // that it stays under the form's 64 KiB.
    let name = format!("Ирина <&> \"{}\"", "Kovaleva&<>".repeat(910));
    let subject = format!("Котёл 🔥 {}", "🔥 <b>cena</b> & ".repeat(700));
    let message = format!(
        "Нужен котёл. {}",
        "Очень срочно, пишите 🔥 & <тут>. ".repeat(100)
    );
    assert!(name.chars().count() >= 10_000 && subject.encode_utf16().count() >= 10_000);
    let answer = reqwest::Client::new()
        .post(daemon.url("/forms/site"))
        .header("accept", "application/json")
        .json(&json!({
            "name": name,
            "phone": "8 916 123-45-67",
            "email": "irina@example.ru",
            "subject": subject,
            "message": message,
        }))
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), 202);
    let first = manager_of(&s.sink.events(1).await[0]);
    let chat = chat_of(&first);
    let card = nth_to(s.bot(), chat, 0).await;
    assert!(telegram_len(&card) <= 4096, "{}", telegram_len(&card));
    for kept in [
        "Ирина <&> \"Kovaleva&<>",
        "Котёл 🔥 🔥 <b>cena</b> & ",
        "Нужен котёл.",
        "+79161234567",
        "irina@example.ru",
        "Всё остальное",
        "Ответьте до",
    ] {
        assert!(card.text.contains(kept), "{kept:?} is kept: {}", card.text);
    }
    assert!(
        card.text.matches('…').count() >= 3,
        "the name, the subject and the text each end with a marker: {}",
        card.text
    );

    // Decline with a reason: the card is edited with the decline below it, the lead passes
    // on, and the notice to the first manager names the person, cut.
    let (_, decline, _) = buttons(&card);
    s.bot().push_callback(chat, card.message_id, chat, &decline);
    let busy = eventually(Duration::from_secs(5), || async {
        let m = s.bot().message(chat, card.message_id)?;
        let data = m["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            .as_str()?
            .to_string();
        data.starts_with("why:busy:").then_some(data)
    })
    .await
    .expect("the reasons are offered");
    s.bot().push_callback(chat, card.message_id, chat, &busy);
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.reassigned");
    let edited = eventually(Duration::from_secs(5), || async {
        s.bot().message(chat, card.message_id).filter(|m| {
            m["text"]
                .as_str()
                .unwrap_or("")
                .ends_with("❌ Вы отказались от заявки: Занят(а)")
        })
    })
    .await
    .expect("the edited card (the card and the decline) fits too");
    assert!(edited["text"].as_str().unwrap_or("").encode_utf16().count() <= 4096);
    let notice = nth_to(s.bot(), chat, 1).await;
    assert!(notice.text.contains("Заявка передана"), "{}", notice.text);
    assert!(notice.text.contains("Ирина <&>"), "{}", notice.text);
    assert!(telegram_len(&notice) <= 4096);
    let second = nth_to(s.bot(), chat_of(&manager_of(&got[1])), 0).await;
    assert!(telegram_len(&second) <= 4096);
    assert!(second.text.contains("+79161234567"), "{}", second.text);
    daemon.stop().await;
}

/// Issue 15, item 9: the card and the follow-up of a lead whose message is as long as Telegram
/// allows (3,600 characters naming 120 addresses) fit a Telegram message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_of_a_lead_with_a_hundred_addresses_is_cut_to_fit_telegram() {
    let mut s = Setup::telegram().await;
    let customers = BotApiSim::start().await;
    s.extra = format!(
        "\n[[sources.telegram]]\nid = \"tg-bot\"\ntoken = \"{}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n",
        support::bot_api::TOKEN,
        customers.url()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = s.start(dir.path()).await;
    let addresses: Vec<String> = (0..120)
        .map(|i| format!("zakupki{i:03}@teplo-stroi-{i:03}.ru"))
        .collect();
    let first = format!("Пишите на любой адрес: {}", addresses.join(" "));
    assert!(
        first.encode_utf16().count() <= 4096,
        "a message Telegram takes"
    );
    customers.push_text(77002, "Мария", &first);
    let owner = manager_of(&s.sink.events(1).await[0]);
    let chat = chat_of(&owner);
    let card = nth_to(s.bot(), chat, 0).await;
    assert!(telegram_len(&card) <= 4096, "{}", telegram_len(&card));
    assert!(card.text.contains(&addresses[0]), "{}", card.text);
    // The record keeps ten addresses (docs/security.md, "What a lead can weigh"); were there
    // more, the card's last lines would give way to a `…` line (unit-tested in message.rs).
    assert!(
        !card.text.contains(&format!("✉️ {}", addresses[119])),
        "the last addresses are left out: {}",
        card.text
    );
    assert!(card.text.contains("Ответьте до"), "{}", card.text);
    customers.push_text(77002, "Мария", "И ещё: дом 150 м², газ есть");
    let follow_up = nth_to(s.bot(), chat, 1).await;
    assert!(telegram_len(&follow_up) <= 4096);
    assert!(
        follow_up.text.contains("Новое сообщение по заявке")
            && follow_up.text.contains("дом 150 м², газ есть")
            && follow_up.text.contains(&addresses[0]),
        "{}",
        follow_up.text
    );
    daemon.stop().await;
}

/// Issue 15, item 9: a mail link carries the assignment it was sent for, and the link of an
/// earlier assignment does not act on a later one held by the same manager. Анна is the only
/// junior: her lead's SLA runs out, nobody else is left, and the lead stays with her as a new
/// assignment. The links of the first mail are then refused, and nothing happens to the lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_link_of_an_earlier_assignment_does_not_act_on_a_later_one() {
    let s = Setup::email().await;
    let smtp = s.smtp.clone().expect("smtp");
    let routing = &solo();
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_at(dir.path(), &s.config(), routing, s.clock.clone()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Олег"),
            ("phone", "+79161110012"),
            ("message", "Нужна консультация"),
        ])
        .await;
    assert_eq!(manager_of(&s.sink.events(1).await[0]), "anna");
    let mail = mail_to(&smtp, "anna@teplodom.example", 0).await;
    let plain = mail.parsed().body_text(0).expect("text").to_string();
    let path = |label: &str| {
        link(&plain, label)
            .strip_prefix("https://leads.teplodom.example")
            .expect("the public URL")
            .to_string()
    };
    let (take, decline) = (path("✅ Взять"), path("❌ Отказаться"));

    // The SLA runs out; nobody else is left, so the lead stays with Анна, as assignment 2.
    s.clock.advance(chrono::Duration::minutes(31));
    eventually(Duration::from_secs(10), || async {
        let audit = daemon.audit(&lead).await;
        audit
            .iter()
            .any(|a| a["kind"] == "nobody_left")
            .then_some(())
    })
    .await
    .expect("the lead stays with Анна");
    // The notice and the mail of the new assignment, in either order.
    mail_to(&smtp, "anna@teplodom.example", 2).await;
    let later: Vec<String> = (smtp.mails().into_iter())
        .filter(|m| m.to.iter().any(|t| t == "anna@teplodom.example"))
        .skip(1)
        .map(|m| m.parsed().body_text(0).unwrap_or_default().to_string())
        .collect();
    assert!(
        later.iter().any(|t| t.contains("больше никого нет")),
        "{later:?}"
    );
    let new_mail = later.iter().find(|t| t.contains("✅ Взять: "));
    let new_mail = new_mail.expect("a mail of the new assignment").clone();

    let client = reqwest::Client::new();
    for (path, form) in [
        (&decline, vec![("reason", "старая ссылка")]),
        (&take, vec![]),
    ] {
        let r = client
            .post(daemon.url(path))
            .form(&form)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 409, "{path}");
        let page = r.text().await.unwrap_or_default();
        assert!(page.contains("назначена заново"), "{page}");
    }
    let audit = daemon.audit(&lead).await;
    assert!(
        audit
            .iter()
            .all(|a| a["kind"] != "declined" && a["kind"] != "acknowledged"),
        "the old links did nothing: {audit:?}"
    );
    assert_eq!(
        s.sink
            .received()
            .iter()
            .filter(|r| r.json()["type"] != "lead.created")
            .count(),
        0,
        "no event after the first"
    );

    // The lead stays with her, so she can still take it, by the new mail's link.
    let take_now = link(&new_mail, "✅ Взять")
        .strip_prefix("https://leads.teplodom.example")
        .expect("the public URL")
        .to_string();
    assert_ne!(take_now, take, "a link of the new assignment");
    let r = client
        .post(daemon.url(&take_now))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.acknowledged");
    assert_eq!(manager_of(&got[1]), "anna");
    daemon.stop().await;
}

/// The same for a card's button: a tap made on the card of an earlier assignment (the card
/// loses its buttons when the lead moves on, but a tap may already be on its way) does not
/// act on the later one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tap_on_the_card_of_an_earlier_assignment_does_not_act_on_a_later_one() {
    let s = Setup::telegram().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_at(dir.path(), &s.config(), &solo(), s.clock.clone()).await;
    let lead = daemon
        .submit_form(&[
            ("name", "Олег"),
            ("phone", "+79161110013"),
            ("message", "Нужна консультация"),
        ])
        .await;
    let card = nth_to(s.bot(), ANNA, 0).await;
    let (take, _, _) = buttons(&card);
    assert!(take.ends_with(":1"), "{take}");
    s.clock.advance(chrono::Duration::minutes(31));
    // The notice and the card of the new assignment, in either order.
    nth_to(s.bot(), ANNA, 2).await;
    let sent = s.bot().sent_to(ANNA);
    let notice = sent[1..].iter().find(|m| m.reply_markup.is_none());
    let notice = notice.expect("a notice without buttons");
    assert!(notice.text.contains("больше никого нет"), "{}", notice.text);
    let new_card = sent[1..].iter().find(|m| m.reply_markup.is_some());
    let new_card = new_card.expect("a card of the new assignment").clone();

    s.bot().push_callback(ANNA, card.message_id, ANNA, &take);
    let answered = eventually(Duration::from_secs(5), || async {
        s.bot().calls("answerCallbackQuery").first().cloned()
    })
    .await
    .expect("the tap is answered");
    assert!(
        answered.params["text"]
            .as_str()
            .unwrap_or("")
            .contains("назначена заново"),
        "{:?}",
        answered.params
    );
    let audit = daemon.audit(&lead).await;
    assert!(
        audit.iter().all(|a| a["kind"] != "acknowledged"),
        "{audit:?}"
    );
    assert_eq!(s.sink.received().len(), 1, "no lead.acknowledged");

    // The lead stays with her, so she can still take it, on the new card.
    let (take, _, _) = buttons(&new_card);
    assert!(take.ends_with(":2"), "{take}");
    s.bot()
        .push_callback(ANNA, new_card.message_id, ANNA, &take);
    let got = s.sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.acknowledged");
    assert_eq!(manager_of(&got[1]), "anna");
    daemon.stop().await;
}
