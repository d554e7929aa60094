//! The managers' bot in webhook mode (issue 18): nothing polls `getUpdates`; Telegram posts a
//! tap to `POST /hooks/telegram-managers` with the `secret_token` header, and it acknowledges
//! the lead as a polled tap does. A wrong secret is refused and changes nothing.

mod support;
use support::config::{anna, routing};

use serde_json::json;
use std::time::Duration;
use support::bot_api::{BotApiSim, MANAGERS_TOKEN};
use support::daemon::{TestDaemon, eventually};
use support::sink::{Sink, manager_of};

const HOOK_SECRET: &str = "managers-hook-secret_1";

async fn post_tap(daemon: &TestDaemon, secret: &str, update: &serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(daemon.url("/hooks/telegram-managers"))
        .header("x-telegram-bot-api-secret-token", secret)
        .json(update)
        .send()
        .await
        .expect("post")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tap_posted_to_the_managers_webhook_takes_the_lead() {
    let sink = Sink::start(&[]).await;
    let bot = BotApiSim::start_as(MANAGERS_TOKEN).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = format!(
        r#"
[[sources.webform]]
id = "site"

[[sinks.webhook]]
id = "crm"
url = "{}"
timeout = "2s"

[notify.telegram]
token = "{MANAGERS_TOKEN}"
api_url = "{}"
mode = "webhook"
webhook_secret = "{HOOK_SECRET}"
"#,
        sink.url(),
        bot.url()
    );
    let daemon =
        TestDaemon::start_in(dir.path(), &config, &routing(&["junior"], None, &[anna()])).await;
    let lead = daemon.submit_form(&[("phone", "+79161230077")]).await;
    assert_eq!(manager_of(&sink.events(1).await[0]), "anna");
    let card = eventually(Duration::from_secs(10), || async {
        bot.sent_to(501).into_iter().next()
    })
    .await
    .expect("the card is sent to Anna");
    let take =
        card.reply_markup.as_ref().expect("buttons")["inline_keyboard"][0][0]["callback_data"]
            .as_str()
            .expect("take")
            .to_string();
    assert!(take.starts_with(&format!("take:{lead}:")), "{take}");
    let message = bot.message(501, card.message_id).expect("the card");
    let update = json!({"update_id": 1, "callback_query": {
        "id": "cq-1", "from": {"id": 501, "is_bot": false, "first_name": "Анна"},
        "message": message, "chat_instance": "ci-501", "data": take}});

    assert_eq!(post_tap(&daemon, "wrong-secret", &update).await, 401);
    daemon.settled().await;
    assert_eq!(sink.received().len(), 1, "a refused post changes nothing");

    assert_eq!(post_tap(&daemon, HOOK_SECRET, &update).await, 200);
    let got = sink.events(2).await;
    assert_eq!(got[1]["type"], "lead.acknowledged");
    assert!(
        bot.calls("answerCallbackQuery")
            .iter()
            .any(|c| c.params["callback_query_id"] == "cq-1"),
        "the tap is answered"
    );
    assert_eq!(bot.polls(), 0, "in webhook mode nothing polls");
    daemon.stop().await;
}
