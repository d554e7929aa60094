//! The bot's answer to the person: once an update is committed, a private message that is a
//! lead gets the configured acknowledgement, with a share-contact button when it carries no
//! phone. Once per conversation, not once per message: a per-chat cursor in the store keeps
//! the time of the conversation's last message, so a burst of messages (or a restart in the
//! middle of one) is answered once.
//!
//! Answers run on their own task behind a bounded queue, so a slow or failing Bot API never
//! holds up intake; a failed answer is logged and the lead is unaffected.

use super::config::ReplySettings;
use super::{TelegramOptions, parse_update};
use crate::clock::Clock;
use crate::lead::Parsed;
use crate::store::Store;
use crate::telegram::BotClient;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use teloxide::payloads::SendMessageSetters;
use teloxide::requests::Requester;
use teloxide::types::{ButtonRequest, ChatId, KeyboardButton, KeyboardMarkup};
use tokio::sync::mpsc;

/// Committed updates waiting for their answer; beyond this many, answers are skipped (logged)
/// rather than slowing intake down.
const QUEUE: usize = 1024;

/// Where intake hands committed updates to be answered.
#[derive(Debug, Clone)]
pub struct AnswerQueue {
    source: String,
    tx: Option<mpsc::Sender<Vec<u8>>>,
}

impl AnswerQueue {
    /// Offers a newly committed Update (its stored bytes) for an answer; never waits.
    pub fn offer(&self, payload: Vec<u8>) {
        if let Some(tx) = &self.tx
            && let Err(e) = tx.try_send(payload)
        {
            let why = match e {
                mpsc::error::TrySendError::Full(_) => "the answer queue is full",
                mpsc::error::TrySendError::Closed(_) => "the answering task has stopped",
            };
            tracing::warn!(source = %self.source, error = why, "A Telegram message is not acknowledged.");
        }
    }
}

/// Everything the answering task needs for one bot.
#[derive(Debug, Clone)]
pub struct Answerer {
    /// The source id (cursor keys, logs).
    pub source: String,
    /// What to answer.
    pub reply: ReplySettings,
    /// Which messages are leads.
    pub options: TelegramOptions,
    /// How long a conversation stays open after its last message.
    pub window: Duration,
    /// The bot.
    pub api: BotClient,
    /// Where the per-chat cursors live.
    pub store: Arc<dyn Store>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl Answerer {
    /// The queue and the task answering from it. The task ends once every queue handle is
    /// dropped (the poller has stopped, the HTTP server has drained), after answering what was
    /// queued. Without a reply text there is no task and offers are no-ops.
    pub fn start(
        self,
    ) -> (
        AnswerQueue,
        Option<impl Future<Output = ()> + Send + 'static>,
    ) {
        if self.reply.text.is_none() {
            let queue = AnswerQueue {
                source: self.source,
                tx: None,
            };
            return (queue, None);
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        let queue = AnswerQueue {
            source: self.source.clone(),
            tx: Some(tx),
        };
        (queue, Some(self.run(rx)))
    }

    async fn run(self, mut rx: mpsc::Receiver<Vec<u8>>) {
        while let Some(payload) = rx.recv().await {
            self.answer(&payload).await;
        }
    }

    async fn answer(&self, payload: &[u8]) {
        let (Some(text), Some(target)) = (&self.reply.text, target(payload, &self.options)) else {
            return;
        };
        let key = format!("telegram:{}:conversation:{}", self.source, target.chat_id);
        let last = match self.store.get_cursor(&key).await {
            Ok(last) => last,
            Err(e) => {
                tracing::warn!(source = %self.source, error = %e, "Cannot read the chat's conversation cursor; not answering, so nobody is answered twice.");
                return;
            }
        };
        let now = self.clock.now();
        let open = conversation_open(last.as_deref(), now, self.window);
        let stamp = now.to_rfc3339_opts(SecondsFormat::Micros, true);
        if let Err(e) = self.store.set_cursor(&key, &stamp, now).await {
            tracing::warn!(source = %self.source, error = %e, "Cannot record the chat's conversation cursor; not answering, so nobody is answered twice.");
            return;
        }
        if open {
            return;
        }
        let mut message = self.api.bot().send_message(ChatId(target.chat_id), text);
        if let Some(keyboard) = contact_keyboard(&self.reply, &target) {
            message = message.reply_markup(keyboard);
        }
        match self.api.call(message).await {
            Ok(_) => tracing::debug!(source = %self.source, "Acknowledged a Telegram message."),
            Err(e) => {
                tracing::warn!(source = %self.source, error = %e, "Cannot send the acknowledgement to the person; the lead is not affected.");
            }
        }
    }
}

/// Whom to answer, and whether the phone is already known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    chat_id: i64,
    has_phone: bool,
}

#[derive(Deserialize)]
struct Probe {
    message: Option<ProbeMessage>,
}

#[derive(Deserialize)]
struct ProbeMessage {
    chat: ProbeChat,
}

#[derive(Deserialize)]
struct ProbeChat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
}

/// The chat to answer for one stored Update: only a new private message that is a lead
/// (button presses, service messages, edits and group chats get no answer; a share-contact
/// button only works in private chats anyway).
fn target(payload: &[u8], options: &TelegramOptions) -> Option<Target> {
    let Parsed::Lead(draft) = parse_update(payload, options) else {
        return None;
    };
    if draft.thread.edit {
        return None;
    }
    let chat = serde_json::from_slice::<Probe>(payload).ok()?.message?.chat;
    (chat.kind == "private").then_some(Target {
        chat_id: chat.id,
        has_phone: !draft.contact.phones.is_empty(),
    })
}

/// Whether the chat's conversation (last message at `last`) is still open at `now`.
fn conversation_open(last: Option<&str>, now: DateTime<Utc>, window: Duration) -> bool {
    let Some(last) = last.and_then(|l| DateTime::parse_from_rfc3339(l).ok()) else {
        return false;
    };
    let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
    now.signed_duration_since(last.with_timezone(&Utc)) < window
}

/// The share-contact button under the acknowledgement to `target`, when the bot should ask:
/// one button, the keyboard fitted to it and hidden once pressed.
fn contact_keyboard(reply: &ReplySettings, target: &Target) -> Option<KeyboardMarkup> {
    (reply.ask_contact && !target.has_phone).then(|| {
        let button = KeyboardButton::new(&reply.contact_button).request(ButtonRequest::Contact);
        KeyboardMarkup::new([[button]])
            .resize_keyboard()
            .one_time_keyboard()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &[u8] = include_bytes!("../../../tests/fixtures/telegram/private-text.json");
    const CONTACT: &[u8] = include_bytes!("../../../tests/fixtures/telegram/contact-shared.json");
    const EDIT: &[u8] = include_bytes!("../../../tests/fixtures/telegram/edited-message.json");
    const CALLBACK: &[u8] = include_bytes!("../../../tests/fixtures/telegram/callback-query.json");
    const GROUP: &[u8] = include_bytes!("../../../tests/fixtures/telegram/group-message.json");

    fn reply(ask_contact: bool) -> ReplySettings {
        ReplySettings {
            text: Some("Спасибо!".into()),
            ask_contact,
            contact_button: "Номер".into(),
        }
    }

    #[test]
    fn only_new_private_leads_are_answered() {
        let opts = TelegramOptions::default();
        assert_eq!(
            target(PRIVATE, &opts),
            Some(Target {
                chat_id: 5123456701,
                has_phone: false
            })
        );
        assert!(target(CONTACT, &opts).is_some_and(|t| t.has_phone));
        assert_eq!(target(EDIT, &opts), None, "an edit is not a new message");
        assert_eq!(target(CALLBACK, &opts), None);
        assert_eq!(target(GROUP, &opts), None);
        let groups = TelegramOptions {
            group_messages: true,
        };
        assert_eq!(target(GROUP, &groups), None, "a group lead gets no answer");
    }

    #[test]
    fn the_button_is_attached_only_without_a_phone() {
        let without = Target {
            chat_id: 7,
            has_phone: false,
        };
        let with = Target {
            has_phone: true,
            ..without
        };
        let asked = contact_keyboard(&reply(true), &without).expect("a keyboard");
        // The Bot API's ReplyKeyboardMarkup, as teloxide sends it.
        assert_eq!(
            serde_json::to_value(&asked).expect("JSON"),
            serde_json::json!({
                "keyboard": [[{"text": "Номер", "request_contact": true}]],
                "resize_keyboard": true,
                "one_time_keyboard": true,
            })
        );
        assert_eq!(contact_keyboard(&reply(true), &with), None);
        assert_eq!(contact_keyboard(&reply(false), &without), None);
    }

    #[test]
    fn a_conversation_stays_open_for_the_window_since_its_last_message() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let window = Duration::from_secs(30 * 60);
        assert!(!conversation_open(None, now, window));
        assert!(conversation_open(
            Some("2026-11-22T09:31:00.000000Z"),
            now,
            window
        ));
        assert!(!conversation_open(
            Some("2026-11-22T09:29:59.000000Z"),
            now,
            window
        ));
        assert!(!conversation_open(Some("garbage"), now, window));
    }
}
