//! Starting the configured bots at daemon start: for each, the Bot API client, the answering
//! task, and either the long-polling loop or what the webhook endpoint needs.

use super::answer::{AnswerQueue, Answerer};
use super::config::{TelegramMode, TelegramSource};
use super::poll::Poller;
use crate::settings::Secret;
use crate::shared::{Shared, StartError};
use crate::telegram::BotClient;
use std::collections::HashMap;

/// A bot in webhook mode, as `POST /hooks/telegram/{id}` needs it.
#[derive(Debug, Clone)]
pub struct WebhookBot {
    /// The secret Telegram sends in `X-Telegram-Bot-Api-Secret-Token`.
    pub secret: Secret,
    /// Committed messages waiting for the bot's answer.
    pub answers: AnswerQueue,
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
        let answerer = Answerer {
            source: source.id.clone(),
            reply: source.reply.clone(),
            options: source.options.clone(),
            window: source.conversation_window,
            api: api.clone(),
            store: ctx.store.clone(),
            clock: ctx.clock.clone(),
        };
        let (answers, answering) = answerer.start();
        if let Some(answering) = answering {
            let span = tracing::info_span!("source", id = %source.id, task = "answers");
            ctx.tasks.spawn(span, answering);
        }
        match &source.mode {
            TelegramMode::Webhook { secret } => {
                ctx.health
                    .register(&format!("source:{}", source.id), "source");
                webhooks.insert(
                    source.id.clone(),
                    WebhookBot {
                        secret: secret.clone(),
                        answers,
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
                    answers,
                };
                let span = tracing::info_span!("source", id = %source.id, kind = "telegram");
                let lease = format!("telegram:{}", source.id);
                ctx.spawn_once(lease, span, move |stop| poller.clone().run(stop));
            }
        }
    }
    Ok(webhooks)
}
