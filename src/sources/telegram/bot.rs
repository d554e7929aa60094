//! Starting the configured bots at daemon start: for each, the Bot API client and either the
//! long-polling loop or what the webhook endpoint needs.

use super::config::{TelegramMode, TelegramSource};
use super::parse::update_item;
use super::poll::Poller;
use crate::lead::Channel;
use crate::settings::{Secret, tokens_match};
use crate::shared::{Shared, StartError};
use crate::sources::webhook::{Posted, Refusal, Webhook};
use crate::telegram::{BotClient, SECRET_HEADER};
use async_trait::async_trait;
use axum::http::HeaderMap;
use std::collections::HashMap;

/// A bot in webhook mode: `POST /hooks/telegram/{id}`, one Update per request, `200` with
/// an empty body once it is committed (a body would be read by Telegram as a method to call).
#[derive(Debug, Clone)]
pub struct WebhookBot {
    /// The source.
    source: String,
    /// The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token`.
    secret: Secret,
}

#[async_trait]
impl Webhook for WebhookBot {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn admit(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let presented = (headers.get(SECRET_HEADER)).map_or(&[][..], |v| v.as_bytes());
        if tokens_match(presented, &self.secret) {
            return Ok(());
        }
        Err(Refusal::unsigned(
            "bad_secret",
            "the X-Telegram-Bot-Api-Secret-Token header is missing or wrong",
        ))
    }

    async fn read(&self, _headers: &HeaderMap, body: &[u8]) -> Result<Posted, Refusal> {
        let item = update_item(body).map_err(|e| Refusal::malformed(e.to_string()))?;
        Ok(Posted {
            items: vec![(self.source.clone(), item)],
            meta: serde_json::json!({"via": "webhook"}),
            answer: String::new(),
        })
    }
}

/// Starts every bot on the shared tasks; returns the bots in webhook mode by source id. The
/// polling loops stop when the tasks are told to, which the daemon does as soon as shutdown
/// begins, before intake drains.
pub fn start(
    sources: &[TelegramSource],
    ctx: &Shared,
) -> Result<HashMap<String, WebhookBot>, StartError> {
    let mut webhooks = HashMap::new();
    for source in sources {
        let api = BotClient::new(&source.api_url, &source.token)
            .map_err(|e| StartError::of(&source.id, e))?;
        match &source.mode {
            TelegramMode::Webhook { secret } => {
                webhooks.insert(
                    source.id.clone(),
                    WebhookBot {
                        source: source.id.clone(),
                        secret: secret.clone(),
                    },
                );
            }
            TelegramMode::Polling => {
                let poller = Poller {
                    source: source.id.clone(),
                    poll_timeout: source.poll_timeout,
                    api,
                    intake: ctx.intake.clone(),
                    store: ctx.store.clone(),
                    clock: ctx.clock.clone(),
                    health: ctx.health.clone(),
                };
                let span = tracing::info_span!("source", id = %source.id, kind = "telegram");
                let lease = format!("telegram:{}", source.id);
                ctx.spawn_once(lease, span, move |stop| poller.clone().run(stop));
            }
        }
    }
    Ok(webhooks)
}
