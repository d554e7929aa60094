//! The managers' bot listening: Take / Decline taps on cards (`callback_query`) become
//! acknowledgements and declines (Decline first turns the buttons into reasons to pick, or
//! Back), the card is edited to show what happened, and the tap is answered; `/start` tells a manager the chat id the admin needs for `routing.toml`.
//!
//! The update offset is stored after each batch is handled; a batch handled again after a
//! crash is harmless, since a second Take of the same lead is answered "already taken". In
//! webhook mode (`[notify.telegram] mode = "webhook"`) nothing polls: Telegram posts each
//! update to `POST /hooks/telegram-managers` (`http/telegram.rs`), handled the same way.

use super::{Action, ActionError, Actions};
use crate::clock::Clock;
use crate::health::Health;
use crate::notify::{
    Button, CardButtons, Labels, Tap, TelegramNotifier, no_link_preview, reasons_keyboard,
};
use crate::routing::RulesHandle;
use crate::store::Store;
use crate::telegram::CALL_TIMEOUT;
use std::sync::Arc;
use std::time::Duration;
use teloxide::payloads::{AnswerCallbackQuerySetters, EditMessageTextSetters, GetUpdatesSetters};
use teloxide::requests::Requester;
use teloxide::types::{
    AllowedUpdate, CallbackQuery, CallbackQueryId, ChatId, InlineKeyboardMarkup,
    MaybeInaccessibleMessage, Message, Update, UpdateKind,
};
use tokio_util::sync::CancellationToken;

/// The cursor the bot's update offset is kept under.
pub const OFFSET_KEY: &str = "notify.telegram.offset";

/// The component name in `/readyz`.
const NAME: &str = "notify:telegram";

/// What the listener needs.
#[derive(Clone)]
pub struct TapListener {
    /// The managers' bot.
    pub bot: TelegramNotifier,
    /// Acknowledge and decline.
    pub actions: Actions,
    /// The rules (who has which chat).
    pub rules: RulesHandle,
    /// The store (the offset).
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The words of the answers.
    pub labels: &'static Labels,
    /// The long-poll wait.
    pub poll_timeout: Duration,
}

impl TapListener {
    /// Polls until `shutdown`.
    pub async fn run(self, health: Health, shutdown: CancellationToken) {
        health.register(NAME, "notify");
        let mut failures = 0u32;
        while !shutdown.is_cancelled() {
            let polled = tokio::select! {
                r = self.poll_once() => r,
                () = shutdown.cancelled() => break,
            };
            match polled {
                Ok(offset) => {
                    failures = 0;
                    health.success(NAME, self.clock.now(), offset.map(|o| o.to_string()));
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, "The managers' bot cannot fetch taps; retrying.");
                    health.failure(NAME, self.clock.now(), e);
                    let wait = Duration::from_secs(1 << failures.min(5));
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = shutdown.cancelled() => {}
                    }
                }
            }
        }
        health.stopped(NAME);
    }

    /// One `getUpdates`: handles what came, stores the next offset; returns it.
    async fn poll_once(&self) -> Result<Option<i64>, String> {
        let offset = self
            .store
            .get_cursor(OFFSET_KEY)
            .await
            .map_err(|e| e.to_string())?
            .and_then(|s| s.parse::<i64>().ok());
        let api = self.bot.api();
        let mut request = api
            .bot()
            .get_updates()
            .timeout(u32::try_from(self.poll_timeout.as_secs()).unwrap_or(u32::MAX))
            .allowed_updates([AllowedUpdate::CallbackQuery, AllowedUpdate::Message]);
        if let Some(o) = offset {
            let o = i32::try_from(o)
                .map_err(|_| format!("the stored offset {o} is not a Bot API update offset"))?;
            request = request.offset(o);
        }
        let updates = api
            .call_within(request, self.poll_timeout + CALL_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let mut next = offset;
        for u in &updates {
            self.on_update(u).await;
            let id = i64::from(u.id.0);
            next = Some(next.map_or(id + 1, |n: i64| n.max(id + 1)));
        }
        if next != offset
            && let Some(n) = next
        {
            self.store
                .set_cursor(OFFSET_KEY, &n.to_string(), self.clock.now())
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(next)
    }

    /// One update, polled or posted to the webhook: a tap on a card, or a message.
    pub async fn on_update(&self, u: &Update) {
        match &u.kind {
            UpdateKind::CallbackQuery(cq) => self.on_tap(cq).await,
            UpdateKind::Message(m) => self.on_message(m).await,
            UpdateKind::Error(raw) => {
                let keys: Vec<&String> =
                    raw.as_object().into_iter().flat_map(|o| o.keys()).collect();
                tracing::warn!(
                    update_id = u.id.0,
                    ?keys,
                    "An update to the managers' bot is not what the Bot API documents; ignored."
                );
            }
            _ => {}
        }
    }

    /// `/start` (or anything) in a private chat: the chat id, for the admin.
    async fn on_message(&self, m: &Message) {
        let chat = m.chat.id.0;
        let known = self
            .rules
            .current()
            .managers()
            .iter()
            .any(|x| x.telegram_chat_id == Some(chat));
        let text = if known {
            format!("leadgate: chat {chat} is connected; lead cards arrive here.")
        } else {
            format!(
                "leadgate: this chat's id is {chat}. Give it to your admin for telegram_chat_id in routing.toml."
            )
        };
        let api = self.bot.api();
        if let Err(e) = api.call(api.bot().send_message(ChatId(chat), text)).await {
            tracing::debug!(error = %e, "Could not answer a message to the managers' bot.");
        }
    }

    async fn on_tap(&self, cq: &CallbackQuery) {
        let id = &cq.id;
        let data = cq.data.as_deref().unwrap_or_default();
        let message = cq.message.as_ref();
        let chat = message
            .map(|m| m.chat().id.0)
            .or_else(|| i64::try_from(cq.from.id.0).ok());
        let (Some(tap), Some(chat)) = (Tap::parse(data), chat) else {
            self.answer(id, "?", false).await;
            return;
        };
        let rules = self.rules.current();
        let Some(manager) = rules
            .managers()
            .iter()
            .find(|m| m.telegram_chat_id == Some(chat))
        else {
            self.answer(id, "This chat is not a manager's in routing.toml.", true)
                .await;
            return;
        };
        let l = self.labels;
        let message_id = message.map(|m| i64::from(m.id().0));
        let (action, done) = match tap.button {
            Button::Take => (Action::Acknowledge, l.taken_by_you.to_string()),
            Button::Because(reason) => (
                Action::Decline(format!("{} (Telegram)", reason.label(l))),
                format!("{}: {}", l.declined_by_you, reason.label(l)),
            ),
            // Decline asks why first; Back puts Take and Decline back: nothing is acted on.
            Button::Decline => {
                let reasons = reasons_keyboard(l, &tap.lead, tap.attempt);
                return self
                    .swap_buttons(id, l.why_decline, chat, message_id, reasons)
                    .await;
            }
            Button::Back => {
                let card = CardButtons::new(l, &tap.lead, tap.attempt).keyboard();
                return self.swap_buttons(id, "", chat, message_id, card).await;
            }
        };
        let (answer, status, alert) = match self
            .actions
            .act_on_assignment(&tap.lead, &manager.id, tap.attempt, action)
            .await
        {
            Ok(_) => (done.clone(), Some(done), false),
            Err(ActionError::NotCurrent { current }) => {
                let text = format!("{} {current}", l.already_passed);
                (text.clone(), Some(text), true)
            }
            Err(ActionError::AlreadyTaken { by }) => {
                let text = format!("{} {by}", l.already_taken);
                (text.clone(), Some(text), true)
            }
            Err(ActionError::Stale { .. }) => (l.stale.to_string(), None, true),
            Err(ActionError::NotFound) => ("?".into(), None, true),
            Err(ActionError::Store(e)) => {
                tracing::error!(error = %e, "A tap could not be recorded; the manager is asked to try again.");
                ("⏳ Try again in a moment.".into(), None, true)
            }
        };
        self.answer(id, &answer, alert).await;
        if let (Some(status), Some(m)) = (status, message) {
            self.edit_card(chat, m, &status).await;
        }
    }

    /// Answers a tap that acts on nothing (Decline asks why, Back) and shows `keyboard` on
    /// the card instead of its buttons.
    async fn swap_buttons(
        &self,
        id: &CallbackQueryId,
        toast: &str,
        chat: i64,
        message_id: Option<i64>,
        keyboard: InlineKeyboardMarkup,
    ) {
        self.answer(id, toast, false).await;
        if let Some(message_id) = message_id {
            self.bot.set_buttons(chat, message_id, keyboard).await;
        }
    }

    /// `answerCallbackQuery`: the tap's spinner stops, with a toast or an alert.
    async fn answer(&self, id: &CallbackQueryId, text: &str, alert: bool) {
        let api = self.bot.api();
        let request = api
            .bot()
            .answer_callback_query(id.clone())
            .text(text)
            .show_alert(alert);
        if let Err(e) = api.call(request).await {
            tracing::debug!(error = %e, "A tap could not be answered.");
        }
    }

    /// The card with `status` below it and no buttons; its formatting is kept by sending its
    /// entities back (a status appended at the end does not move their offsets).
    async fn edit_card(&self, chat: i64, message: &MaybeInaccessibleMessage, status: &str) {
        let card = message.regular_message();
        let text = card.and_then(Message::text).unwrap_or_default();
        let api = self.bot.api();
        let mut request = api
            .bot()
            .edit_message_text(ChatId(chat), message.id(), format!("{text}\n\n{status}"))
            .reply_markup(InlineKeyboardMarkup::default())
            .link_preview_options(no_link_preview());
        if let Some(entities) = card.and_then(Message::entities) {
            request = request.entities(entities.to_vec());
        }
        if let Err(e) = api.call(request).await {
            tracing::debug!(error = %e, "The card could not be edited after a tap.");
        }
    }
}
