//! The bot's answer to the person who wrote. It is queued by processing with a new lead, like
//! the VK and WhatsApp answers (`notify/people.rs`), so a message kept out (spam, a dropping
//! rule such as a "do not contact" list) gets none, and a conversation's later messages
//! (which join its lead) get none either. Only a private chat is answered; a share-contact
//! button goes with the answer when the lead carries no phone and the source asks for one.

use super::TelegramSource;
use super::config::ReplySettings;
use crate::lead::{Channel, Lead};
use crate::sources::replies::{NotSent, Reply, no_longer_answers};
use crate::telegram::BotClient;
use std::collections::HashMap;
use teloxide::payloads::SendMessageSetters;
use teloxide::requests::Requester;
use teloxide::types::{ButtonRequest, ChatId, KeyboardButton, KeyboardMarkup};

/// Every answering bot's client and settings, by source id.
#[derive(Debug, Clone, Default)]
pub struct TelegramReplies(HashMap<String, (BotClient, ReplySettings)>);

impl TelegramReplies {
    /// The bots of `sources` that answer; `None` when none does.
    pub fn of(sources: &[TelegramSource]) -> Result<Option<TelegramReplies>, String> {
        let mut bots = HashMap::new();
        for s in sources.iter().filter(|s| s.reply.text.is_some()) {
            let api = BotClient::new(&s.api_url, &s.token).map_err(|e| e.to_string())?;
            bots.insert(s.id.clone(), (api, s.reply.clone()));
        }
        Ok((!bots.is_empty()).then_some(TelegramReplies(bots)))
    }

    /// Sends `reply` through its source's bot; the sent message's id.
    pub async fn send(&self, reply: &Reply<'_>) -> Result<String, NotSent> {
        let (api, settings) = (self.0.get(reply.source))
            .ok_or_else(|| no_longer_answers(Channel::Telegram.as_str(), reply.source))?;
        let chat = reply.address.parse::<i64>().map_err(|_| NotSent {
            error: format!("{:?} is not a Telegram chat id", reply.address),
            transient: false,
        })?;
        let mut message = api.bot().send_message(ChatId(chat), reply.text);
        if let Some(keyboard) = contact_keyboard(settings, reply.without_phone) {
            message = message.reply_markup(keyboard);
        }
        match api.call(message).await {
            Ok(sent) => Ok(sent.id.0.to_string()),
            Err(e) => Err(NotSent {
                transient: !e.is_final(),
                error: e.to_string(),
            }),
        }
    }
}

/// The chat to answer a lead in: its first message's chat when that is the writer's private
/// chat (a private chat's id is the user's; a group lead gets no answer).
pub fn private_chat(lead: &Lead) -> Option<String> {
    let user = lead.contact.telegram.as_ref()?.id;
    chat_if_private(user, lead.external_id.as_deref()?)
}

/// The chat of a message (`external_id` = `<chat>:<message>`) written by `user`, when it is
/// their private chat with the bot.
fn chat_if_private(user: i64, external_id: &str) -> Option<String> {
    let chat = external_id.split_once(':')?.0;
    (chat.parse::<i64>().ok()? == user).then(|| user.to_string())
}

/// The share-contact button under the answer, when the bot should ask: one button, the
/// keyboard fitted to it and hidden once pressed.
fn contact_keyboard(reply: &ReplySettings, without_phone: bool) -> Option<KeyboardMarkup> {
    (reply.ask_contact && without_phone).then(|| {
        let button = KeyboardButton::new(&reply.contact_button).request(ButtonRequest::Contact);
        KeyboardMarkup::new([[button]])
            .resize_keyboard()
            .one_time_keyboard()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(ask_contact: bool) -> ReplySettings {
        ReplySettings {
            text: Some("Спасибо!".into()),
            ask_contact,
            contact_button: "Номер".into(),
        }
    }

    #[test]
    fn only_a_private_chat_is_answered() {
        let user = 5123456701;
        assert_eq!(
            chat_if_private(user, "5123456701:17").as_deref(),
            Some("5123456701")
        );
        assert_eq!(chat_if_private(user, "-1001234567890:5"), None, "a group");
        assert_eq!(chat_if_private(user, "garbage"), None);
    }

    #[test]
    fn the_button_is_attached_only_without_a_phone() {
        let asked = contact_keyboard(&reply(true), true).expect("a keyboard");
        // The Bot API's ReplyKeyboardMarkup, as teloxide sends it.
        assert_eq!(
            serde_json::to_value(&asked).expect("JSON"),
            serde_json::json!({
                "keyboard": [[{"text": "Номер", "request_contact": true}]],
                "resize_keyboard": true,
                "one_time_keyboard": true,
            })
        );
        assert_eq!(contact_keyboard(&reply(true), false), None);
        assert_eq!(contact_keyboard(&reply(false), true), None);
    }
}
