//! The Telegram bot end to end: the daemon polls the Bot API simulator (or takes its webhook),
//! private messages become leads at a file sink, the person is answered once per
//! conversation, a restart neither skips nor repeats an update, a wrong token (the leads' bot's
//! or the managers') is reported without the token, and every Telegram sample of the corpus
//! gives its expected result.

mod support;

use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;
use support::bot_api::{BotApiSim, MANAGERS_TOKEN, TOKEN};
use support::daemon::{TestDaemon, authed_get, default_routing, eventually, file_lines};
use support::expected::{check_lead, check_not_lead, expectations, sample};

const REPLY: &str = "Спасибо! Менеджер ответит в течение часа.";
const BUTTON: &str = "Поделиться номером";
const WEBHOOK_SECRET: &str = "hook-secret_42";
const WAIT: Duration = Duration::from_secs(20);

/// The corpus business's bot (fixtures README): group messages do not count.
fn config(sim: &BotApiSim, extra: &str) -> String {
    format!(
        r#"
[business]
own_emails = ["sales@teplodom.example", "wordpress@teplodom.example", "blog@teplodom.example"]
own_phones = ["+7 812 600-12-34"]

[[sources.telegram]]
id = "tg-bot"
token = "{TOKEN}"
api_url = "{url}"
poll_timeout = "1s"
reply_text = "{REPLY}"
contact_button = "{BUTTON}"
{extra}

[[sinks.file]]
id = "crm"
path = "{{dir}}/delivered.jsonl"
"#,
        url = sim.url()
    )
}

fn events(dir: &Path) -> Vec<Value> {
    file_lines(&dir.join("delivered.jsonl"))
}

/// The events of the lead whose Telegram account is `user`, in delivery order.
fn events_of(dir: &Path, user: i64) -> Vec<Value> {
    events(dir)
        .into_iter()
        .filter(|e| e["data"]["contact"]["telegram"]["id"] == user)
        .collect()
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|e| e["type"] == kind).count()
}

/// Waits until `check` holds, or fails the test saying what was awaited.
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let done = eventually(WAIT, || {
        let ok = check();
        async move { ok.then_some(()) }
    })
    .await;
    assert!(done.is_some(), "timed out waiting until {what}");
}

/// A daemon polling a fresh Bot API simulator with the default config, in a directory of its
/// own.
async fn started() -> (BotApiSim, tempfile::TempDir, TestDaemon) {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sim, ""), &default_routing()).await;
    (sim, dir, daemon)
}

/// `user`'s events once `n` of them are `kind`, waiting for them (as `what`).
async fn once(dir: &Path, user: i64, kind: &str, n: usize, what: &str) -> Vec<Value> {
    wait_until(what, || count(&events_of(dir, user), kind) == n).await;
    events_of(dir, user)
}

/// The text of the lead `user`'s last event carries.
fn last_text(events: &[Value]) -> &Value {
    &events[events.len() - 1]["data"]["text"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_messages_become_leads_and_are_answered_with_the_contact_button() {
    let (sim, dir, daemon) = started().await;
    sim.push_text(
        5_100_000_001,
        "Ксения",
        "Здравствуйте! Нужен тёплый пол в Кудрово",
    );
    sim.push_text(5_100_000_002, "Игорь", "Перезвоните: +7 911 020-30-40");

    wait_until("both messages are leads at the sink", || {
        count(&events(dir.path()), "lead.created") == 2
    })
    .await;
    let first = &events_of(dir.path(), 5_100_000_001)[0];
    assert_eq!(first["type"], "lead.created");
    assert_eq!(first["data"]["channel"], "telegram");
    assert_eq!(first["data"]["source"], "tg-bot");
    assert_eq!(first["data"]["contact"]["name"], "Ксения");
    assert!(
        first["data"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("тёплый пол")),
        "{first}"
    );
    let second = &events_of(dir.path(), 5_100_000_002)[0];
    assert_eq!(second["data"]["contact"]["phones"], json!(["+79110203040"]));

    wait_until("both people are answered", || sim.sent().len() == 2).await;
    let asked = &sim.sent_to(5_100_000_001)[0];
    assert_eq!(asked.text, REPLY);
    assert_eq!(
        asked.reply_markup.as_ref().map(|m| &m["keyboard"]),
        Some(&json!([[{"text": BUTTON, "request_contact": true}]])),
        "no phone known: the share-contact button is attached"
    );
    let told = &sim.sent_to(5_100_000_002)[0];
    assert_eq!(told.text, REPLY);
    assert_eq!(told.reply_markup, None, "the phone is known: no button");
    daemon.stop().await;
}

/// A message a rule drops (the default rules' spam and "do not contact" list) is not
/// answered: the answer is queued with a lead, and a dropped message makes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_a_rule_drops_gets_no_answer() {
    let (sim, dir, daemon) = started().await;
    let (spammer, person) = (5_100_000_011, 5_100_000_012);
    sim.push_text(spammer, "Bet", "Лучшее казино и ставки на спорт, заходите!");
    sim.push_text(person, "Ксения", "Сколько стоит тёплый пол на 20 м²?");
    wait_until("the person is answered", || sim.sent_to(person).len() == 1).await;
    daemon.settled().await;
    assert!(events_of(dir.path(), spammer).is_empty(), "dropped");
    assert_eq!(count(&events(dir.path()), "lead.created"), 1);
    assert!(
        sim.sent_to(spammer).is_empty(),
        "no answer to a dropped message: {:?}",
        sim.sent_to(spammer)
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_quick_messages_from_one_chat_are_one_lead_answered_once() {
    let (sim, dir, daemon) = started().await;
    let chat = 5_200_000_001;
    for i in 1..=5 {
        sim.push_text(chat, "Олег", &format!("Вопрос номер {i} про котёл"));
    }
    // A later message from someone else: processing and answering go in order, so once it is
    // through, so are the five.
    let sentinel = 5_200_000_002;
    sim.push_text(sentinel, "Анна", "Сколько стоит монтаж?");

    wait_until("the sentinel is delivered and answered", || {
        count(&events_of(dir.path(), sentinel), "lead.created") == 1
            && sim.sent_to(sentinel).len() == 1
    })
    .await;
    wait_until("the four follow-ups are delivered", || {
        count(&events_of(dir.path(), chat), "lead.updated") >= 4
    })
    .await;
    let burst = events_of(dir.path(), chat);
    assert_eq!(count(&burst, "lead.created"), 1, "one lead: {burst:#?}");
    assert_eq!(count(&burst, "lead.updated"), 4);
    let lead_id = &burst[0]["data"]["id"];
    assert!(burst.iter().all(|e| &e["data"]["id"] == lead_id));
    let text = burst.last().map(|e| e["data"]["text"].to_string());
    for i in 1..=5 {
        let phrase = format!("Вопрос номер {i}");
        assert!(
            text.as_deref().is_some_and(|t| t.contains(&phrase)),
            "{phrase} missing: {text:?}"
        );
    }
    assert_eq!(
        sim.sent_to(chat).len(),
        1,
        "answered once, not once per message"
    );
    daemon.stop().await;
}

/// A private message (`kind` `message`) or its edit (`edited_message`) from Глеб in `chat`.
fn private_message(chat: i64, kind: &str, id: i64, text: &str) -> Value {
    json!({"update_id": 0, kind: {
        "message_id": id,
        "from": {"id": chat, "is_bot": false, "first_name": "Глеб", "language_code": "ru"},
        "chat": {"id": chat, "first_name": "Глеб", "type": "private"},
        "date": 1_795_000_000, "edit_date": 1_795_000_100, "text": text,
    }})
}

/// An edit in a conversation keeps its other messages: the person wrote a greeting, then the
/// request, then corrected both. The lead keeps the request and both corrections; only an
/// edit of a lead's only message replaces its text (the corpus's edit pair). Before, each edit
/// replaced the whole text, so the CRM lost the request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_a_conversation_keeps_its_other_messages() {
    let (sim, dir, daemon) = started().await;
    let chat = 5_200_000_031_i64;
    let message = |kind, id, text| private_message(chat, kind, id, text);
    sim.push(message("message", 501, "Здравствуйте"));
    sim.push(message(
        "message",
        502,
        "Нужен бойлер на 150 литров, доставка в Пушкин",
    ));
    once(
        dir.path(),
        chat,
        "lead.updated",
        1,
        "the greeting and the request are one lead",
    )
    .await;
    sim.push(message("edited_message", 501, "Добрый день"));
    sim.push(message(
        "edited_message",
        502,
        "Нужен бойлер на 200 литров, доставка в Пушкин",
    ));
    let events = once(
        dir.path(),
        chat,
        "lead.updated",
        3,
        "both edits are delivered",
    )
    .await;
    assert_eq!(count(&events, "lead.created"), 1, "{events:#?}");
    let last = &events[events.len() - 1];
    let text = last["data"]["text"].as_str().unwrap_or("");
    for said in ["Здравствуйте", "150 литров", "Добрый день", "200 литров"]
    {
        assert!(text.contains(said), "{said:?} missing: {text:?}");
    }
    assert_eq!(last["update"]["edit"], true);
    assert_eq!(
        last["update"]["text"],
        "Нужен бойлер на 200 литров, доставка в Пушкин"
    );
    daemon.stop().await;
}

/// A photo whose caption the person corrects is still one photo in the lead. Before, the
/// edit's copy of the message listed the photo again: two attachments in the record and the
/// CRM's `lead.updated`, for one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_caption_does_not_list_its_photo_twice() {
    let (sim, dir, daemon) = started().await;
    let chat = 5_200_000_033_i64;
    let photo = |kind: &str, caption: &str| {
        let mut update = private_message(chat, kind, 701, "");
        let message = update[kind].as_object_mut().expect("a message");
        message.remove("text");
        message.insert("caption".into(), json!(caption));
        message.insert("photo".into(), json!([
            {"file_id": "AgACAgIAAxkBAAIBsmS1", "file_unique_id": "AQADsmS1", "width": 90, "height": 67, "file_size": 1204},
            {"file_id": "AgACAgIAAxkBAAIBsmS2", "file_unique_id": "AQADsmS2", "width": 1280, "height": 960, "file_size": 183402}
        ]));
        update
    };
    sim.push(photo("message", "Котёл течёт снизу, вот фото"));
    once(dir.path(), chat, "lead.created", 1, "the photo is a lead").await;
    sim.push(photo("edited_message", "Котёл Baxi течёт снизу, вот фото"));
    let events = once(dir.path(), chat, "lead.updated", 1, "the edit is delivered").await;
    let updated = &events[events.len() - 1];
    assert_eq!(updated["data"]["text"], "Котёл Baxi течёт снизу, вот фото");
    let files = updated["data"]["fields"]["attachments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(files.len(), 1, "{files:#?}");
    assert_eq!(files[0]["size"], 183402);
    assert!(
        updated["update"]["fields"].get("attachments").is_none(),
        "{updated}"
    );
    daemon.stop().await;
}

/// An edit of a message the lead does not hold (one the bot never saw: sent before it was
/// connected) joins the open conversation as the person's latest words; it does not replace
/// the words of the lead's only message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_of_a_message_never_seen_replaces_nothing() {
    let (sim, dir, daemon) = started().await;
    let chat = 5_200_000_036_i64;
    sim.push(private_message(
        chat,
        "message",
        1001,
        "Нужен котёл на 24 кВт",
    ));
    once(dir.path(), chat, "lead.created", 1, "the message is a lead").await;
    sim.push(private_message(
        chat,
        "edited_message",
        1000,
        "Добрый день!",
    ));
    let events = once(dir.path(), chat, "lead.updated", 1, "the edit joins").await;
    assert_eq!(last_text(&events), "Нужен котёл на 24 кВт\n\nДобрый день!");
    daemon.stop().await;
}

/// Two edits of a message within one second (a client that saves as the person types) are
/// two versions: the lead ends with the last one. Before, both had the same key (the message
/// and the edit's second), and the last version was dropped as a repeat of the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edits_within_one_second_both_reach_the_lead() {
    let (sim, dir, daemon) = started().await;
    let chat = 5_200_000_035_i64;
    sim.push(private_message(chat, "message", 901, "Нужен котёл"));
    once(dir.path(), chat, "lead.created", 1, "the message is a lead").await;
    // The same edit_date: private_message gives every edit the same second.
    sim.push(private_message(
        chat,
        "edited_message",
        901,
        "Нужен котёл Baxi",
    ));
    sim.push(private_message(
        chat,
        "edited_message",
        901,
        "Нужен котёл Baxi на 24 кВт",
    ));
    let events = once(
        dir.path(),
        chat,
        "lead.updated",
        2,
        "both edits are delivered",
    )
    .await;
    assert_eq!(last_text(&events), "Нужен котёл Baxi на 24 кВт");
    daemon.stop().await;
}

/// Two voice messages in a row are two recordings: the second is news to the manager, so it
/// joins the lead's words and reaches the CRM as `update.text`, though its words (the
/// placeholder `[голосовое сообщение]`) repeat the first's. Words typed again are dropped as
/// a repeat (`tests/notify.rs`); what arrived without words is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_voice_message_is_not_taken_for_a_repeat() {
    let (sim, dir, daemon) = started().await;
    let chat = 5_200_000_034_i64;
    sim.push(private_message(
        chat,
        "message",
        801,
        "Нужен котёл, перезвоните",
    ));
    for id in [802, 803] {
        let mut voice = private_message(chat, "message", id, "");
        let message = voice["message"].as_object_mut().expect("a message");
        message.remove("text");
        message.insert(
            "voice".into(),
            json!({"file_id": format!("v{id}"), "duration": 4}),
        );
        sim.push(voice);
    }
    let events = once(
        dir.path(),
        chat,
        "lead.updated",
        2,
        "both voice messages join the lead",
    )
    .await;
    let last = &events[events.len() - 1];
    assert_eq!(last["update"]["text"], "[голосовое сообщение]", "{last}");
    assert_eq!(
        last["data"]["text"],
        "Нужен котёл, перезвоните\n\n[голосовое сообщение]\n\n[голосовое сообщение]"
    );
    daemon.stop().await;
}

/// An edit of a message that joined a lead, after the conversation closed, still updates
/// that lead. Before, it was looked up by the lead's first message only: it made a second
/// lead and woke a second manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_after_the_conversation_closed_updates_its_lead() {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config(&sim, "conversation_window = \"1s\"");
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    let chat = 5_200_000_032_i64;
    sim.push(private_message(chat, "message", 601, "Здравствуйте"));
    sim.push(private_message(
        chat,
        "message",
        602,
        "Нужен бойлер на 150 литров",
    ));
    once(
        dir.path(),
        chat,
        "lead.updated",
        1,
        "the two messages are one lead",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sim.push(private_message(
        chat,
        "edited_message",
        602,
        "Нужен бойлер на 200 литров",
    ));
    wait_until("the edit is delivered", || {
        events_of(dir.path(), chat).len() == 3
    })
    .await;
    let events = events_of(dir.path(), chat);
    assert_eq!(count(&events, "lead.created"), 1, "{events:#?}");
    assert_eq!(events[2]["type"], "lead.updated");
    assert_eq!(events[2]["data"]["id"], events[0]["data"]["id"]);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_neither_repeats_nor_skips_an_update() {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let people = [5_300_000_001, 5_300_000_002, 5_300_000_003];
    let before: Vec<i64> = people
        .iter()
        .map(|&p| sim.push_text(p, "Клиент", &format!("Заявка от {p}")))
        .collect();
    // The first getUpdates returns all three, then Telegram is out of reach: the call that
    // would confirm them fails, so they are still unconfirmed when the daemon stops.
    sim.go_down_after_next_delivery();
    let daemon = TestDaemon::start_in(dir.path(), &config(&sim, ""), &default_routing()).await;
    let confirming = before.last().map(|id| id + 1);
    wait_until("the daemon tries to confirm the first three", || {
        sim.refused_offsets().contains(&confirming)
    })
    .await;
    wait_until("the first three are leads", || {
        count(&events(dir.path()), "lead.created") == 3
    })
    .await;
    let ready = authed_get(daemon.url("/readyz"))
        .await
        .expect("readyz")
        .text()
        .await
        .expect("readyz body");
    let state: Value = serde_json::from_str(&ready).expect("readyz JSON");
    assert_eq!(
        state["components"]["source:tg-bot"]["state"], "failing",
        "{state}"
    );
    assert!(!ready.contains(TOKEN), "the token never shows: {ready}");
    wait_until("the first three are answered", || sim.sent().len() == 3).await;
    daemon.stop().await;
    assert_eq!(sim.unconfirmed(), 3, "Telegram still holds the first three");

    let later = [5_300_000_004, 5_300_000_005];
    let after: Vec<i64> = later
        .iter()
        .map(|&p| sim.push_text(p, "Клиент", &format!("Заявка от {p}")))
        .collect();
    sim.set_down(false);
    let daemon = TestDaemon::start_in(dir.path(), &config(&sim, ""), &default_routing()).await;
    wait_until("all five are leads and Telegram has confirmed them", || {
        count(&events(dir.path()), "lead.created") == 5 && sim.unconfirmed() == 0
    })
    .await;
    for id in before.iter().chain(&after) {
        assert_eq!(sim.returned(*id), 1, "update {id} was returned once");
    }
    let created: Vec<Value> = events(dir.path())
        .into_iter()
        .filter(|e| e["type"] == "lead.created")
        .collect();
    for person in people.iter().chain(&later) {
        let theirs = created
            .iter()
            .filter(|e| e["data"]["contact"]["telegram"]["id"] == *person)
            .count();
        assert_eq!(theirs, 1, "{person} is one lead");
    }
    let inbound = daemon.admin_get("/admin/api/inbound").await;
    assert_eq!(inbound["items"].as_array().map(Vec::len), Some(5));
    wait_until("everyone is answered", || sim.sent().len() == 5).await;
    for person in people.iter().chain(&later) {
        assert_eq!(sim.sent_to(*person).len(), 1, "{person} answered once");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_shows_on_readyz_without_the_token() {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = "7012345678:AAH_wrong-token";
    let text = config(&sim, "").replace(TOKEN, wrong);
    let daemon = TestDaemon::start_in(dir.path(), &text, &default_routing()).await;
    let ready = eventually(WAIT, || async {
        let body = authed_get(daemon.url("/readyz"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let state: Value = serde_json::from_str(&body).ok()?;
        let source = &state["components"]["source:tg-bot"];
        (source["state"] == "failing").then_some((body, source.clone()))
    })
    .await
    .expect("the source reports failing");
    let (body, source) = ready;
    assert!(
        source["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("401") && e.contains("Unauthorized")),
        "{source}"
    );
    assert!(
        !body.contains("AAH_wrong-token"),
        "the token never shows: {body}"
    );
    daemon.stop().await;
}

/// The managers' bot goes through teloxide, whose errors are not leadgate's words: a wrong
/// token is still reported as Telegram's refusal, with neither the token nor a URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_managers_bot_token_shows_on_readyz_without_the_token() {
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let wrong = "7098765432:AAM_wrong-managers-token";
    let config = format!(
        "[notify.telegram]\ntoken = \"{wrong}\"\napi_url = \"{}\"\npoll_timeout = \"1s\"\n\n\
         [[sinks.file]]\nid = \"crm\"\npath = \"{{dir}}/delivered.jsonl\"\n",
        bot.url()
    );
    let daemon = TestDaemon::start_in(dir.path(), &config, &default_routing()).await;
    let (body, component) = eventually(WAIT, || async {
        let body = authed_get(daemon.url("/readyz"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let state: Value = serde_json::from_str(&body).ok()?;
        let component = state["components"]["notify:telegram"].clone();
        (component["state"] == "failing").then_some((body, component))
    })
    .await
    .expect("the managers' bot reports failing");
    let error = component["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("Unauthorized"), "{component}");
    assert!(
        !body.contains("AAM_wrong-managers-token"),
        "the token never shows: {body}"
    );
    assert!(!body.contains("/bot"), "no Bot API URL shows: {body}");
    daemon.stop().await;
}

async fn post_hook(daemon: &TestDaemon, secret: Option<&str>, body: &str) -> u16 {
    let mut request = reqwest::Client::new()
        .post(daemon.url("/hooks/telegram/tg-bot"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    request.send().await.expect("post").status().as_u16()
}

fn text_update(update_id: i64, chat: i64, text: &str) -> String {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id % 1000,
            "from": {"id": chat, "is_bot": false, "first_name": "Вера"},
            "chat": {"id": chat, "first_name": "Вера", "type": "private"},
            "date": 1_795_000_000,
            "text": text,
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_takes_updates_with_the_right_secret_only() {
    let sim = BotApiSim::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = format!("mode = \"webhook\"\nwebhook_secret = \"{WEBHOOK_SECRET}\"");
    let daemon = TestDaemon::start_in(dir.path(), &config(&sim, &extra), &default_routing()).await;
    let chat = 5_400_000_001;
    let update = text_update(1001, chat, "Нужен расчёт отопления дома");

    assert_eq!(post_hook(&daemon, Some(WEBHOOK_SECRET), &update).await, 200);
    assert_eq!(
        post_hook(&daemon, Some(WEBHOOK_SECRET), &update).await,
        200,
        "a redelivery is accepted as a no-op"
    );
    let other = text_update(1002, 5_400_000_002, "Чужое сообщение");
    assert_eq!(post_hook(&daemon, Some("wrong"), &other).await, 401);
    assert_eq!(post_hook(&daemon, None, &other).await, 401);
    assert_eq!(
        post_hook(&daemon, Some(WEBHOOK_SECRET), "{\"update_id\":").await,
        400
    );
    assert_eq!(
        post_hook(&daemon, Some(WEBHOOK_SECRET), "{\"message\":{}}").await,
        400
    );
    let unknown = reqwest::Client::new()
        .post(daemon.url("/hooks/telegram/no-such-bot"))
        .header("X-Telegram-Bot-Api-Secret-Token", WEBHOOK_SECRET)
        .body(update.clone())
        .send()
        .await
        .expect("post");
    assert_eq!(unknown.status(), 404);

    wait_until("the lead is delivered and the person answered", || {
        count(&events_of(dir.path(), chat), "lead.created") == 1 && sim.sent_to(chat).len() == 1
    })
    .await;
    let inbound = daemon.admin_get("/admin/api/inbound").await;
    assert_eq!(
        inbound["items"].as_array().map(Vec::len),
        Some(1),
        "nothing refused was stored: {inbound}"
    );
    assert!(
        events_of(dir.path(), 5_400_000_002).is_empty(),
        "the wrongly signed update never became a lead"
    );
    daemon.stop().await;
}

/// The inbound item a pushed sample became, found by its dedupe key.
fn item_with_key<'a>(inbound: &'a Value, key: &str) -> Option<&'a Value> {
    inbound["items"]
        .as_array()?
        .iter()
        .find(|i| i["dedupe_key"] == key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_telegram_sample_gives_its_expected_result_through_the_bot() {
    let (sim, dir, daemon) = started().await;
    let mut exps = expectations("telegram");
    // The file a `same_lead_as` names is sent first, as Telegram sends a message before its edit.
    exps.sort_by_key(|e| e.same_lead_as.is_some());
    let mut keys = Vec::new();
    for exp in &exps {
        let update: Value = serde_json::from_slice(&sample(&exp.file)).expect("a JSON sample");
        let id = sim.push(update.clone());
        let mut sent = update;
        sent["update_id"] = id.into();
        let bytes = serde_json::to_vec(&sent).expect("JSON");
        let item = leadgate::sources::telegram::update_item(&bytes).expect("an Update");
        keys.push(item.dedupe_key);
    }
    let inbound = eventually(WAIT, || async {
        let inbound = daemon.admin_get("/admin/api/inbound").await;
        let done = keys
            .iter()
            .all(|k| item_with_key(&inbound, k).is_some_and(|i| i["status"] != "pending"));
        done.then_some(inbound)
    })
    .await
    .expect("every sample is processed");
    let lead_ids: Vec<String> = exps
        .iter()
        .filter(|e| e.is_lead)
        .filter_map(|e| e.external_id.clone())
        .collect();
    let edits = exps.iter().filter(|e| e.same_lead_as.is_some()).count();
    wait_until("every lead and every edit is delivered", || {
        let all = events(dir.path());
        let has = |id: &String| all.iter().any(|e| e["data"]["external_id"] == id.as_str());
        lead_ids.iter().all(has) && count(&all, "lead.updated") >= edits
    })
    .await;

    let all = events(dir.path());
    let mut problems = Vec::new();
    let mut matching = 0;
    for (exp, key) in exps.iter().zip(&keys) {
        let found = if exp.is_lead {
            let id = exp.external_id.as_deref().unwrap_or_default();
            let of_lead: Vec<&Value> = all
                .iter()
                .filter(|e| e["data"]["external_id"] == id)
                .collect();
            let mut found = Vec::new();
            if of_lead
                .iter()
                .filter(|e| e["type"] == "lead.created")
                .count()
                != 1
            {
                found.push(format!(
                    "{}: not exactly one lead.created for {id}",
                    exp.file
                ));
            }
            match of_lead.last() {
                Some(latest) => found.extend(check_lead(exp, &latest["data"])),
                None => found.push(format!("{}: no lead", exp.file)),
            }
            found
        } else {
            match item_with_key(&inbound, key) {
                Some(item) => {
                    let reason = item["reason"].as_str().unwrap_or("(none)");
                    let external_id = key.strip_prefix("message:");
                    check_not_lead(exp, reason, external_id)
                }
                None => vec![format!("{}: not stored", exp.file)],
            }
        };
        matching += usize::from(found.is_empty());
        problems.extend(found);
    }
    let leads = count(&all, "lead.created");
    let expected_leads = lead_ids
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if leads != expected_leads {
        problems.push(format!(
            "{leads} leads delivered, {expected_leads} expected"
        ));
    }
    println!(
        "telegram through the bot: {matching}/{} samples match expected.json",
        exps.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    daemon.stop().await;
}

#[test]
fn the_commented_example_is_a_valid_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/examples/telegram.toml");
    let path = dir.path().join("leadgate.toml");
    std::fs::copy(example, &path).expect("copy the example");
    std::fs::write(dir.path().join("routing.toml"), "").expect("write");
    let env = |k: &str| (k == "TELEGRAM_BOT_TOKEN").then(|| "123456789:AAF-example".to_string());
    let raw = leadgate::config::load_raw(&path, &env).expect("the example reads");
    let config = leadgate::config::validate(raw, &path).expect("the example is valid");
    let bots = config
        .sources
        .of::<leadgate::sources::telegram::TelegramSource>();
    assert_eq!(bots.len(), 1);
    assert_eq!(bots[0].id, "tg-bot");
}
