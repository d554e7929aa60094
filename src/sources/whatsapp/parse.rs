//! WhatsApp Cloud API webhooks: split a (verified) webhook body into one stored item per
//! message or status at intake, and turn a stored item into a lead draft at processing.
//!
//! A body is `{"object": "whatsapp_business_account", "entry": [{"changes": [{"field":
//! "messages", "value": {"metadata", "contacts", "messages", "statuses"}}]}]}`. A message's
//! item carries the message together with its sender's `contacts[]` entry (profile name and
//! `wa_id`), so each stored item is enough on its own.

use crate::lead::{LeadDraft, NotLead, NotLeadReason, Parsed, Thread, find_emails, find_phones};
use crate::sources::item::Item;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Why a webhook body cannot be taken in (answered 400, nothing stored).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Not JSON, or not the webhook's documented shape.
    #[error("not a WhatsApp Cloud API webhook: {0}")]
    Json(#[from] serde_json::Error),
    /// A message or status without the `id` that makes its redelivery a no-op.
    #[error("a WhatsApp {0} without an id")]
    NoId(&'static str),
}

#[derive(Deserialize)]
struct Webhook {
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    value: ChangeValue,
}

#[derive(Deserialize, Default)]
struct ChangeValue {
    #[serde(default)]
    metadata: Value,
    #[serde(default)]
    contacts: Vec<Value>,
    #[serde(default)]
    messages: Vec<Value>,
    #[serde(default)]
    statuses: Vec<Value>,
}

/// Splits a webhook body into one item per message (dedupe key: the `wamid`) and one per
/// status update (`status:<wamid>:<status>`, stored and then recorded as not a message).
pub fn split_webhook(body: &[u8]) -> Result<Vec<Item>, ParseError> {
    let webhook: Webhook = serde_json::from_slice(body)?;
    let mut items = Vec::new();
    for value in webhook
        .entry
        .into_iter()
        .flat_map(|e| e.changes)
        .map(|c| c.value)
    {
        for message in value.messages {
            let id = string_at(&message, "id").ok_or(ParseError::NoId("message"))?;
            let from = string_at(&message, "from");
            let contact = value
                .contacts
                .iter()
                .find(|c| from.is_some() && string_at(c, "wa_id") == from)
                .or_else(|| (value.contacts.len() == 1).then(|| &value.contacts[0]))
                .cloned()
                .unwrap_or(Value::Null);
            let stored =
                json!({"metadata": value.metadata, "contact": contact, "message": message});
            items.push(Item {
                dedupe_key: id,
                payload: serde_json::to_vec(&stored)?,
            });
        }
        for status in value.statuses {
            let id = string_at(&status, "id").ok_or(ParseError::NoId("status"))?;
            let state = string_at(&status, "status").unwrap_or_default();
            items.push(Item {
                dedupe_key: format!("status:{id}:{state}"),
                payload: serde_json::to_vec(&json!({"status": status}))?,
            });
        }
    }
    Ok(items)
}

fn string_at(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Message types that are WhatsApp's, not the person's: system notices (the customer
/// changed their number). Every other type, read or not, is a person writing.
const NOT_MESSAGES: [&str; 1] = ["system"];

/// Media types, listed in `fields.attachments` (their captions are the text).
const MEDIA: [&str; 6] = ["image", "video", "document", "audio", "voice", "sticker"];

/// Turns one stored message into a lead draft: the person's words (text, caption, button or
/// list reply), `wa_id` as both the WhatsApp contact and a phone, the profile name. A message
/// without words (a sticker, a location, a reaction, a type the Cloud API or leadgate does not
/// read) is still the person: its text says what arrived (`[стикер]`, `[геопозиция: 59.93,
/// 30.31]`, `[сообщение неподдерживаемого типа]`). Statuses and system notices are not
/// messages.
pub fn parse_item(payload: &[u8]) -> Parsed {
    let stored: Value = match serde_json::from_slice(payload) {
        Ok(value) => value,
        Err(e) => return not_lead(NotLeadReason::Malformed, format!("not JSON: {e}"), None),
    };
    if let Some(status) = stored.get("status") {
        let state = status
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let detail = format!("status update ({state}) of an outgoing message");
        return not_lead(NotLeadReason::NotAMessage, detail, None);
    }
    let Some(message) = stored.get("message") else {
        let detail = "neither a message nor a status".to_string();
        return not_lead(NotLeadReason::Malformed, detail, None);
    };
    let Some(id) = string_at(message, "id") else {
        let detail = "a message without an id".to_string();
        return not_lead(NotLeadReason::Malformed, detail, None);
    };
    let kind = message
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("text");
    if NOT_MESSAGES.contains(&kind) {
        let detail = format!("a {kind} message carries no words from the person");
        return not_lead(NotLeadReason::NotAMessage, detail, Some(id));
    }
    let contact = stored.get("contact").unwrap_or(&Value::Null);
    let Some(wa_id) = string_at(contact, "wa_id").or_else(|| string_at(message, "from")) else {
        let detail = "a message without its sender".to_string();
        return not_lead(NotLeadReason::Malformed, detail, Some(id));
    };

    let text = words(message, kind);
    // A reaction answers the message it reacts to, as a reply does.
    let replies_to = ["/context/id", "/reaction/message_id"]
        .into_iter()
        .filter_map(|p| message.pointer(p).and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    let mut draft = LeadDraft {
        external_id: Some(id),
        thread: Thread {
            conversation: Some(format!("whatsapp:{wa_id}")),
            replies_to,
            ..Thread::default()
        },
        ..LeadDraft::default()
    };
    draft.contact.name = contact
        .pointer("/profile/name")
        .and_then(Value::as_str)
        .map(str::to_string);
    draft
        .contact
        .phones
        .push(format!("+{}", wa_id.trim_start_matches('+')));
    draft.contact.whatsapp = Some(wa_id);
    draft.contact.phones.extend(find_phones(&text));
    draft.contact.emails.extend(find_emails(&text));
    if kind == "contacts" {
        draft.contact.phones.extend(shared_phones(message));
    }
    if kind == "location"
        && let Some(location) = message.get("location")
    {
        draft.fields.insert("location".into(), location.clone());
    }
    if MEDIA.contains(&kind)
        && let Some(media) = message.get(kind)
    {
        draft.fields.insert(
            "attachments".into(),
            Value::Array(vec![attachment(kind, media)]),
        );
    }
    draft.text = match text.is_empty() && kind != "contacts" {
        true => describe(message, kind),
        false => text,
    };
    Parsed::Lead(draft)
}

/// What arrived, for a message without words: `[стикер]`, `[геопозиция: 59.93, 30.31]`,
/// `[реакция: 👍]`... A type leadgate does not know is named as WhatsApp names it.
fn describe(message: &Value, kind: &str) -> String {
    let at = |pointer: &str| message.pointer(pointer);
    let text_at = |pointer: &str| {
        at(pointer)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    match kind {
        "image" => "[фото]".into(),
        "video" => "[видео]".into(),
        "audio" if at("/audio/voice").and_then(Value::as_bool) == Some(true) => {
            "[голосовое сообщение]".into()
        }
        "audio" => "[аудио]".into(),
        "voice" => "[голосовое сообщение]".into(),
        "document" => "[документ]".into(),
        "sticker" => "[стикер]".into(),
        "location" => {
            let number = |p: &str| at(p).map(|v| v.to_string()).unwrap_or_else(|| "?".into());
            let mut parts = vec![number("/location/latitude"), number("/location/longitude")];
            parts.extend(
                ["/location/name", "/location/address"]
                    .into_iter()
                    .filter_map(text_at)
                    .map(str::to_string),
            );
            format!("[геопозиция: {}]", parts.join(", "))
        }
        "reaction" => match text_at("/reaction/emoji") {
            Some(emoji) => format!("[реакция: {emoji}]"),
            None => "[реакция снята]".into(),
        },
        "order" => {
            let items = at("/order/product_items")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            match text_at("/order/text") {
                Some(note) => format!("[заказ из каталога: {items} поз.] {note}"),
                None => format!("[заказ из каталога: {items} поз.]"),
            }
        }
        "interactive" => "[ответ на интерактивное сообщение]".into(),
        "request_welcome" => "[открыл чат с компанией]".into(),
        "ephemeral" => "[исчезающее сообщение]".into(),
        "unsupported" => "[сообщение неподдерживаемого типа]".into(),
        other => format!("[сообщение неподдерживаемого типа: {other}]"),
    }
}

/// The person's own words in a message of `kind`.
fn words(message: &Value, kind: &str) -> String {
    let media_caption = format!("/{kind}/caption");
    let pointers: Vec<&str> = match kind {
        "text" => vec!["/text/body"],
        "button" => vec!["/button/text"],
        "interactive" => vec![
            "/interactive/button_reply/title",
            "/interactive/list_reply/title",
            "/interactive/list_reply/description",
        ],
        _ if MEDIA.contains(&kind) => vec![media_caption.as_str()],
        _ => Vec::new(),
    };
    pointers
        .into_iter()
        .filter_map(|p| message.pointer(p).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Phone numbers of contact cards the person shared.
fn shared_phones(message: &Value) -> Vec<String> {
    let cards = message.get("contacts").and_then(Value::as_array);
    cards
        .into_iter()
        .flatten()
        .filter_map(|card| card.get("phones").and_then(Value::as_array))
        .flatten()
        .filter_map(|phone| {
            let number = phone.get("phone").and_then(Value::as_str);
            number.or_else(|| phone.get("wa_id").and_then(Value::as_str))
        })
        .map(str::to_string)
        .collect()
}

/// One `fields.attachments` entry (name, type, size) with the media id to download it by.
fn attachment(kind: &str, media: &Value) -> Value {
    let mut entry = Map::new();
    let name = media
        .get("filename")
        .and_then(Value::as_str)
        .unwrap_or(kind);
    entry.insert("name".into(), Value::from(name));
    entry.insert(
        "type".into(),
        media.get("mime_type").cloned().unwrap_or(Value::Null),
    );
    entry.insert("size".into(), Value::Null);
    entry.insert(
        "whatsapp_media_id".into(),
        media.get("id").cloned().unwrap_or(Value::Null),
    );
    Value::Object(entry)
}

fn not_lead(reason: NotLeadReason, detail: String, external_id: Option<String>) -> Parsed {
    Parsed::NotLead(NotLead {
        reason,
        detail,
        external_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::item::test_support::{byte_mutations, json_mutations};
    use proptest::prelude::*;

    const TEXT: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/text-message.json");
    const STATUS: &[u8] = include_bytes!("../../../tests/fixtures/whatsapp/status-delivered.json");

    fn body(message: Value) -> Vec<u8> {
        let webhook = json!({"object": "whatsapp_business_account", "entry": [{"changes": [{
            "field": "messages",
            "value": {"contacts": [{"wa_id": "79990001122", "profile": {"name": "Ola"}}],
                      "messages": [message]}}]}]});
        serde_json::to_vec(&webhook).expect("serialises")
    }

    fn lead_of(message: Value) -> LeadDraft {
        let items = split_webhook(&body(message)).expect("a webhook");
        match parse_item(&items[0].payload) {
            Parsed::Lead(draft) => draft,
            Parsed::NotLead(n) => panic!("not a lead: {n:?}"),
        }
    }

    #[test]
    fn statuses_get_their_own_keys() {
        let items = split_webhook(STATUS).expect("a webhook");
        assert_eq!(items.len(), 1);
        assert!(
            items[0].dedupe_key.starts_with("status:wamid.")
                && items[0].dedupe_key.ends_with(":delivered")
        );
    }

    #[test]
    fn captions_and_replies_are_words() {
        let image = lead_of(
            json!({"from": "79990001122", "id": "wamid.1", "type": "image",
            "image": {"id": "m1", "mime_type": "image/jpeg", "caption": "Вот котёл"}}),
        );
        assert_eq!(image.text, "Вот котёл");
        assert_eq!(image.fields["attachments"][0]["whatsapp_media_id"], "m1");
        let button = lead_of(
            json!({"from": "79990001122", "id": "wamid.2", "type": "interactive",
            "context": {"id": "wamid.0"},
            "interactive": {"type": "button_reply", "button_reply": {"id": "b", "title": "Хочу замер"}}}),
        );
        assert_eq!(button.text, "Хочу замер");
        assert_eq!(button.thread.replies_to, vec!["wamid.0".to_string()]);
        assert_eq!(button.contact.name.as_deref(), Some("Ola"));
    }

    #[test]
    fn messages_without_words_say_what_arrived() {
        for (message, text) in [
            (
                json!({"type": "sticker", "sticker": {"id": "s1", "mime_type": "image/webp", "animated": false}}),
                "[стикер]",
            ),
            (
                json!({"type": "location", "location": {"latitude": 59.93, "longitude": 30.31}}),
                "[геопозиция: 59.93, 30.31]",
            ),
            (
                json!({"type": "location", "location": {"latitude": 59.9311, "longitude": 30.3609,
                    "name": "ТЦ Галерея", "address": "Лиговский пр., 30"}}),
                "[геопозиция: 59.9311, 30.3609, ТЦ Галерея, Лиговский пр., 30]",
            ),
            (
                json!({"type": "reaction", "reaction": {"message_id": "wamid.0", "emoji": "👍"}}),
                "[реакция: 👍]",
            ),
            (
                json!({"type": "reaction", "reaction": {"message_id": "wamid.0"}}),
                "[реакция снята]",
            ),
            (
                json!({"type": "unsupported", "errors": [{"code": 131051,
                    "title": "Message type unknown"}]}),
                "[сообщение неподдерживаемого типа]",
            ),
            (
                json!({"type": "poll_answer", "poll_answer": {}}),
                "[сообщение неподдерживаемого типа: poll_answer]",
            ),
            (
                json!({"type": "audio", "audio": {"id": "a1", "mime_type": "audio/ogg", "voice": true}}),
                "[голосовое сообщение]",
            ),
            (
                json!({"type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}}),
                "[фото]",
            ),
        ] {
            let mut message = message;
            message["from"] = json!("79990001122");
            message["id"] = json!("wamid.9");
            let d = lead_of(message);
            assert_eq!(d.text, text);
            assert_eq!(d.contact.whatsapp.as_deref(), Some("79990001122"));
            assert_eq!(d.contact.phones, vec!["+79990001122"]);
        }
    }

    #[test]
    fn a_reaction_answers_the_message_it_reacts_to() {
        let d = lead_of(
            json!({"from": "79990001122", "id": "wamid.3", "type": "reaction",
            "reaction": {"message_id": "wamid.0", "emoji": "👍"}}),
        );
        assert_eq!(d.thread.replies_to, vec!["wamid.0".to_string()]);
        assert_eq!(
            d.thread.conversation.as_deref(),
            Some("whatsapp:79990001122")
        );
    }

    #[test]
    fn system_notices_are_not_messages() {
        let items = split_webhook(&body(json!({"from": "79990001122", "id": "wamid.4",
            "type": "system", "system": {"body": "User changed number", "type": "user_changed_number"}})))
        .expect("a webhook");
        assert!(matches!(
            parse_item(&items[0].payload),
            Parsed::NotLead(NotLead {
                reason: NotLeadReason::NotAMessage,
                ..
            })
        ));
    }

    #[test]
    fn a_message_without_id_is_refused() {
        let no_id = body(json!({"from": "1", "type": "text", "text": {"body": "x"}}));
        assert!(matches!(
            split_webhook(&no_id),
            Err(ParseError::NoId("message"))
        ));
        assert!(split_webhook(b"{\"object\":\"x\"}").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_bytes(bytes in byte_mutations(TEXT)) {
            let _ = split_webhook(&bytes);
            let _ = parse_item(&bytes);
        }

        #[test]
        fn parsers_never_panic_on_json(bytes in json_mutations(TEXT)) {
            for item in split_webhook(&bytes).unwrap_or_default() {
                let _ = parse_item(&item.payload);
            }
            let _ = parse_item(&bytes);
        }
    }
}
