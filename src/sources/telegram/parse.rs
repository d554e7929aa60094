//! Bot API updates: split a `getUpdates` answer (or one webhook POST) into stored items at
//! intake, and turn one stored Update into a lead draft at processing.
//!
//! Shapes follow the Bot API's `Update`, `Message`, `User`, `Chat`, `Contact` and
//! `MessageEntity` objects; unknown fields are ignored so new Bot API versions do not break
//! intake.

use crate::lead::{
    LeadDraft, NotLead, NotLeadReason, Parsed, TelegramAccount, Thread, Utm, find_emails,
    find_phones,
};
use crate::sources::item::Item;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Why a Bot API answer or webhook body cannot be taken in (the webhook answers 400, the
/// poller retries without confirming the offset).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// The body is not JSON.
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `getUpdates` answered `"ok": false`.
    #[error("the Bot API refused getUpdates: {0}")]
    Refused(String),
    /// JSON, but not the shape the Bot API documents.
    #[error("not a Bot API {0}")]
    Shape(&'static str),
}

/// What the source's configuration says about which messages count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TelegramOptions {
    /// Whether messages in groups and supergroups are leads (off by default: group chats are
    /// mostly chatter between members).
    pub group_messages: bool,
}

/// Splits a `getUpdates` answer (`{"ok": true, "result": [...]}`) into one item per Update,
/// and returns the highest `update_id` so the poller can confirm `offset = max + 1` once the
/// items are committed.
pub fn split_updates(get_updates_body: &[u8]) -> Result<(Vec<Item>, Option<i64>), ParseError> {
    let answer: Value = serde_json::from_slice(get_updates_body)?;
    if answer.get("ok").and_then(Value::as_bool) != Some(true) {
        let why = answer
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("no description");
        return Err(ParseError::Refused(why.to_string()));
    }
    let updates = answer
        .get("result")
        .and_then(Value::as_array)
        .ok_or(ParseError::Shape("getUpdates answer: no result array"))?;
    let mut items = Vec::with_capacity(updates.len());
    let mut max_id = None;
    for update in updates {
        let (item, id) = item_of(update)?;
        max_id = max_id.max(Some(id));
        items.push(item);
    }
    Ok((items, max_id))
}

/// The item for one Update posted to the bot's webhook.
pub fn update_item(update_json: &[u8]) -> Result<Item, ParseError> {
    let update: Value = serde_json::from_slice(update_json)?;
    Ok(item_of(&update)?.0)
}

/// The dedupe key and stored bytes of one Update, with its `update_id`.
///
/// Messages are keyed by chat and message id (what identifies them whatever delivered them:
/// long polling or the webhook), edits by the edit time too so every edit is stored, anything
/// else by its `update_id`.
fn item_of(update: &Value) -> Result<(Item, i64), ParseError> {
    let id = update
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or(ParseError::Shape("Update: no integer update_id"))?;
    let message_key = |m: &Value| {
        let chat = m.get("chat")?.get("id")?.as_i64()?;
        let message = m.get("message_id")?.as_i64()?;
        Some(format!("{chat}:{message}"))
    };
    let dedupe_key = if let Some(key) = update.get("message").and_then(message_key) {
        format!("message:{key}")
    } else if let Some(edited) = update.get("edited_message")
        && let Some(key) = message_key(edited)
    {
        // The edit's time and words: two edits within one second (a client that saves as
        // the person types) are two versions, and the same update delivered again is one.
        let words = ["text", "caption"]
            .map(|f| edited.get(f).and_then(Value::as_str).unwrap_or(""))
            .join("\u{0}");
        let words = crate::digest::sha256_short(words.as_bytes());
        match edited.get("edit_date").and_then(Value::as_i64) {
            Some(at) => format!("edit:{key}:{at}:{words}"),
            None => format!("edit:{key}:u{id}"),
        }
    } else {
        format!("update:{id}")
    };
    let payload = serde_json::to_vec(update)?;
    Ok((
        Item {
            dedupe_key,
            payload,
        },
        id,
    ))
}

#[derive(Deserialize)]
struct Update {
    message: Option<Message>,
    edited_message: Option<Message>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    from: Option<User>,
    chat: Chat,
    text: Option<String>,
    #[serde(default)]
    entities: Vec<Entity>,
    caption: Option<String>,
    #[serde(default)]
    caption_entities: Vec<Entity>,
    contact: Option<SharedContact>,
    photo: Option<Vec<PhotoSize>>,
    document: Option<Document>,
    #[serde(flatten)]
    other: Map<String, Value>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    #[serde(default)]
    is_bot: bool,
    #[serde(default)]
    first_name: String,
    last_name: Option<String>,
    username: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Entity {
    #[serde(rename = "type")]
    kind: String,
    offset: i64,
    length: i64,
}

#[derive(Deserialize)]
struct SharedContact {
    phone_number: String,
}

#[derive(Deserialize)]
struct PhotoSize {
    file_id: String,
    file_size: Option<u64>,
    #[serde(default)]
    width: u64,
}

#[derive(Deserialize)]
struct Document {
    file_id: String,
    file_name: Option<String>,
    mime_type: Option<String>,
    file_size: Option<u64>,
}

/// Fields of a `Message` that describe it rather than carry what was sent (Bot API 9).
const MESSAGE_METADATA: [&str; 43] = [
    "message_id",
    "message_thread_id",
    "direct_messages_topic",
    "from",
    "sender_chat",
    "sender_boost_count",
    "sender_business_bot",
    "date",
    "business_connection_id",
    "chat",
    "forward_origin",
    "forward_from",
    "forward_from_chat",
    "forward_from_message_id",
    "forward_signature",
    "forward_sender_name",
    "forward_date",
    "is_topic_message",
    "is_automatic_forward",
    "reply_to_message",
    "external_reply",
    "quote",
    "reply_to_story",
    "reply_to_checklist_task_id",
    "via_bot",
    "edit_date",
    "has_protected_content",
    "is_from_offline",
    "is_paid_post",
    "media_group_id",
    "author_signature",
    "paid_star_count",
    "text",
    "entities",
    "link_preview_options",
    "suggested_post_info",
    "effect_id",
    "caption",
    "caption_entities",
    "show_caption_above_media",
    "has_media_spoiler",
    "reply_markup",
    "update_id",
];

/// Service messages: what happened in the chat, not what a person sent (Bot API 9). A message
/// with any other field the parser does not read is a person sending something leadgate does
/// not know yet, and a lead.
const SERVICE_MESSAGES: [&str; 46] = [
    "new_chat_members",
    "left_chat_member",
    "new_chat_title",
    "new_chat_photo",
    "delete_chat_photo",
    "group_chat_created",
    "supergroup_chat_created",
    "channel_chat_created",
    "message_auto_delete_timer_changed",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "pinned_message",
    "invoice",
    "successful_payment",
    "refunded_payment",
    "users_shared",
    "chat_shared",
    "gift",
    "unique_gift",
    "connected_website",
    "write_access_allowed",
    "passport_data",
    "proximity_alert_triggered",
    "boost_added",
    "chat_background_set",
    "checklist_tasks_done",
    "checklist_tasks_added",
    "direct_message_price_changed",
    "forum_topic_created",
    "forum_topic_edited",
    "forum_topic_closed",
    "forum_topic_reopened",
    "general_forum_topic_hidden",
    "general_forum_topic_unhidden",
    "giveaway_created",
    "giveaway_completed",
    "paid_message_price_changed",
    "suggested_post_approved",
    "suggested_post_approval_failed",
    "suggested_post_declined",
    "suggested_post_paid",
    "suggested_post_refunded",
    "video_chat_scheduled",
    "video_chat_started",
    "video_chat_ended",
    "video_chat_participants_invited",
];

/// Turns one stored Update into a lead draft, or says why it is not one: channel posts,
/// service messages, button presses and bots' messages carry no words from a prospect, and
/// group messages count only when `opts` says so.
pub fn parse_update(payload: &[u8], opts: &TelegramOptions) -> Parsed {
    let update: Update = match serde_json::from_slice(payload) {
        Ok(update) => update,
        Err(e) => {
            return not_lead(
                NotLeadReason::Malformed,
                format!("not a Bot API Update: {e}"),
                None,
            );
        }
    };
    if let Some(message) = update.message {
        return parse_message(message, false, opts);
    }
    if let Some(message) = update.edited_message {
        return parse_message(message, true, opts);
    }
    let kind = update
        .other
        .keys()
        .find(|k| k.as_str() != "update_id")
        .map_or("an empty update", String::as_str);
    not_lead(
        NotLeadReason::NotAMessage,
        format!("{kind} carries no inbound message"),
        None,
    )
}

fn parse_message(message: Message, edit: bool, opts: &TelegramOptions) -> Parsed {
    let external_id = format!("{}:{}", message.chat.id, message.message_id);
    let is_group = matches!(message.chat.kind.as_str(), "group" | "supergroup");
    if message.chat.kind == "channel" {
        let detail = "a channel post".to_string();
        return not_lead(NotLeadReason::NotAMessage, detail, Some(external_id));
    }
    let Some(from) = message.from.as_ref().filter(|u| !u.is_bot) else {
        let detail = format!("a {} message not written by a person", message.chat.kind);
        return not_lead(NotLeadReason::NotAMessage, detail, Some(external_id));
    };
    if is_group && !opts.group_messages {
        let detail = format!(
            "a {} message while group messages do not count",
            message.chat.kind
        );
        return not_lead(NotLeadReason::GroupMessage, detail, Some(external_id));
    }
    // What was sent besides text, a caption, a contact, a photo or a document.
    let content = message.other.keys().find(|k| {
        !MESSAGE_METADATA.contains(&k.as_str()) && !SERVICE_MESSAGES.contains(&k.as_str())
    });
    if message.text.is_none()
        && message.caption.is_none()
        && message.contact.is_none()
        && message.photo.is_none()
        && message.document.is_none()
        && content.is_none()
    {
        let kind = message
            .other
            .keys()
            .find(|k| SERVICE_MESSAGES.contains(&k.as_str()))
            .map_or("nothing", String::as_str);
        let detail = format!("a service message ({kind})");
        return not_lead(NotLeadReason::NotAMessage, detail, Some(external_id));
    }

    let mut draft = LeadDraft {
        external_id: Some(external_id),
        thread: Thread {
            conversation: Some(if is_group {
                format!("telegram:{}:{}", message.chat.id, from.id)
            } else {
                format!("telegram:{}", message.chat.id)
            }),
            edit,
            ..Thread::default()
        },
        ..LeadDraft::default()
    };
    let name = match &from.last_name {
        Some(last) => format!("{} {last}", from.first_name),
        None => from.first_name.clone(),
    };
    draft.contact.name = Some(name);
    draft.contact.telegram = Some(TelegramAccount {
        id: from.id,
        username: from.username.clone(),
    });
    if let Some(contact) = &message.contact {
        draft
            .contact
            .phones
            .push(international(&contact.phone_number));
    }

    let (text, entities) = match (&message.text, &message.caption) {
        (Some(text), _) => (text.as_str(), &message.entities),
        (None, Some(caption)) => (caption.as_str(), &message.caption_entities),
        (None, None) => ("", &message.entities),
    };
    for entity in entities {
        let Some(found) = utf16_slice(text, entity.offset, entity.length) else {
            continue;
        };
        match entity.kind.as_str() {
            "phone_number" => draft.contact.phones.push(found.to_string()),
            "email" => draft.contact.emails.push(found.to_string()),
            _ => {}
        }
    }
    draft.contact.phones.extend(find_phones(text));
    draft.contact.emails.extend(find_emails(text));
    match start_payload(text) {
        Some(payload) => decode_start(payload, &mut draft.utm, &mut draft.fields),
        None => draft.text = text.to_string(),
    }
    // A shared contact is read (its number is the content); anything else without words
    // says what arrived.
    if text.trim().is_empty() && message.contact.is_none() {
        draft.text = describe(&message, content.map(String::as_str));
    }
    let attachments = attachments(&message);
    if !attachments.is_empty() {
        draft
            .fields
            .insert("attachments".into(), Value::Array(attachments));
    }
    Parsed::Lead(draft)
}

/// What arrived, for a message without words: `[фото]`, `[стикер 👍]`, `[геопозиция: 59.93,
/// 30.31]`... A kind leadgate does not know is named as the Bot API names it.
fn describe(message: &Message, content: Option<&str>) -> String {
    if message.photo.is_some() {
        return "[фото]".into();
    }
    if message.document.is_some() {
        return "[документ]".into();
    }
    let Some(kind) = content else {
        return "[сообщение без текста]".into();
    };
    let value = &message.other[kind];
    let text_at = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let coordinates = |v: &Value| {
        let number = |key: &str| v.get(key).map_or_else(|| "?".into(), Value::to_string);
        format!("{}, {}", number("latitude"), number("longitude"))
    };
    match kind {
        "sticker" => match text_at("/emoji") {
            Some(emoji) => format!("[стикер {emoji}]"),
            None => "[стикер]".into(),
        },
        "location" => format!("[геопозиция: {}]", coordinates(value)),
        "venue" => {
            let place = [text_at("/title"), text_at("/address")]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
            let at = value.get("location").map(coordinates).unwrap_or_default();
            format!("[место: {place} ({at})]")
        }
        "voice" => "[голосовое сообщение]".into(),
        "audio" => "[аудио]".into(),
        "video" => "[видео]".into(),
        "video_note" => "[видеосообщение]".into(),
        "animation" => "[GIF-анимация]".into(),
        "poll" => match text_at("/question") {
            Some(question) => format!("[опрос: {question}]"),
            None => "[опрос]".into(),
        },
        "dice" => format!(
            "[{} {}]",
            text_at("/emoji").unwrap_or("🎲"),
            value
                .get("value")
                .map_or_else(String::new, Value::to_string)
        ),
        "story" => "[история]".into(),
        "game" => "[игра]".into(),
        "paid_media" => "[платный медиаконтент]".into(),
        "web_app_data" => match text_at("/data") {
            Some(data) => format!("[данные из веб-приложения] {data}"),
            None => "[данные из веб-приложения]".into(),
        },
        other => format!("[сообщение неподдерживаемого типа: {other}]"),
    }
}

fn not_lead(reason: NotLeadReason, detail: String, external_id: Option<String>) -> Parsed {
    Parsed::NotLead(NotLead {
        reason,
        detail,
        external_id,
    })
}

/// Telegram sends a shared contact's number in international form, usually without the `+`.
fn international(phone: &str) -> String {
    let phone = phone.trim();
    if phone.starts_with('+') {
        phone.to_string()
    } else {
        format!("+{phone}")
    }
}

/// The part of `text` an entity covers; entity offsets and lengths count UTF-16 code units.
/// `None` when they do not fall on character boundaries inside the text.
fn utf16_slice(text: &str, offset: i64, length: i64) -> Option<&str> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(length).ok()?)?;
    let (mut byte_start, mut units) = (None, 0usize);
    let boundaries = text
        .char_indices()
        .chain(std::iter::once((text.len(), '\0')));
    for (at, c) in boundaries {
        if units == start {
            byte_start = Some(at);
        }
        if units == end {
            return text.get(byte_start?..at);
        }
        units += c.len_utf16();
    }
    None
}

/// The deep-link payload of a `/start` command (`/start PAYLOAD` or `/start@bot PAYLOAD`),
/// empty for a bare `/start`; `None` when the text is not a `/start` command.
fn start_payload(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix("/start")?;
    let rest = match rest.strip_prefix('@') {
        Some(with_bot) => with_bot.trim_start_matches(|c: char| !c.is_whitespace()),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => rest,
        None => return None,
    };
    Some(rest.trim())
}

/// Decodes a deep-link payload: pairs separated by `__`, key and value by the first `-`
/// (`utm_source-vk__utm_campaign-spring`). UTM keys go to `utm`, other keys to `fields`;
/// parts that are not pairs are kept in `fields.start`.
fn decode_start(payload: &str, utm: &mut Utm, fields: &mut Map<String, Value>) {
    let mut loose = Vec::new();
    for part in payload.split("__").filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((key, value)) if !key.is_empty() => {
                if !utm.set(key, value) {
                    fields.insert(key.to_string(), Value::String(value.to_string()));
                }
            }
            _ => loose.push(part),
        }
    }
    if !loose.is_empty() {
        fields.insert("start".into(), Value::String(loose.join("__")));
    }
}

/// The files the person sent, as `fields.attachments` lists them (name, type, size), with the
/// Bot API file id so a manager's tool can fetch them.
fn attachments(message: &Message) -> Vec<Value> {
    let mut list = Vec::new();
    if let Some(largest) = message.photo.iter().flatten().max_by_key(|p| p.width) {
        list.push(json!({
            "name": "photo.jpg",
            "type": "image/jpeg",
            "size": largest.file_size,
            "telegram_file_id": largest.file_id,
        }));
    }
    if let Some(doc) = &message.document {
        list.push(json!({
            "name": doc.file_name.as_deref().unwrap_or("document"),
            "type": doc.mime_type.as_deref().unwrap_or("application/octet-stream"),
            "size": doc.file_size,
            "telegram_file_id": doc.file_id,
        }));
    }
    // Recordings and clips: the manager hears a voice message through the lead's file link,
    // not only a `[голосовое сообщение]` saying one came.
    for (kind, name, mime) in RECORDINGS {
        let Some(media) = message.other.get(kind) else {
            continue;
        };
        let Some(id) = media.get("file_id").and_then(Value::as_str) else {
            continue;
        };
        let text = |key: &str| media.get(key).and_then(Value::as_str);
        list.push(json!({
            "name": text("file_name").unwrap_or(name),
            "type": text("mime_type").unwrap_or(mime),
            "size": media.get("file_size").and_then(Value::as_u64),
            "telegram_file_id": id,
        }));
    }
    list
}

/// The kinds of recording a message may carry, with the name and type a file gets when the
/// Bot API gives none.
const RECORDINGS: [(&str, &str, &str); 4] = [
    ("voice", "voice.ogg", "audio/ogg"),
    ("audio", "audio.mp3", "audio/mpeg"),
    ("video", "video.mp4", "video/mp4"),
    ("video_note", "video_note.mp4", "video/mp4"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::item::test_support::{byte_mutations, json_mutations};
    use proptest::prelude::*;

    const PRIVATE: &[u8] = include_bytes!("../../../tests/fixtures/telegram/private-text.json");
    const CAPTION: &[u8] = include_bytes!("../../../tests/fixtures/telegram/photo-caption.json");
    const GROUP: &[u8] = include_bytes!("../../../tests/fixtures/telegram/group-message.json");

    fn lead(payload: &[u8], opts: &TelegramOptions) -> LeadDraft {
        match parse_update(payload, opts) {
            Parsed::Lead(draft) => draft,
            Parsed::NotLead(n) => panic!("not a lead: {n:?}"),
        }
    }

    #[test]
    fn entity_offsets_count_utf16_units() {
        let text = "👋 тел. +7 911";
        assert_eq!(utf16_slice(text, 8, 6), Some("+7 911"));
        assert_eq!(
            utf16_slice(text, 1, 1),
            None,
            "inside the emoji's surrogate pair"
        );
        assert_eq!(utf16_slice(text, 8, 99), None);
        assert_eq!(utf16_slice(text, -1, 2), None);
    }

    #[test]
    fn start_commands_are_recognised() {
        assert_eq!(start_payload("/start a-b"), Some("a-b"));
        assert_eq!(start_payload("/start@teplodom_bot a-b"), Some("a-b"));
        assert_eq!(start_payload("/start"), Some(""));
        assert_eq!(start_payload("/started"), None);
        assert_eq!(start_payload("hello /start"), None);
    }

    #[test]
    fn deep_link_keys_go_to_utm_and_fields() {
        let (mut utm, mut fields) = (Utm::default(), Map::new());
        decode_start("utm_source-vk__ref-friend_42__promo", &mut utm, &mut fields);
        assert_eq!(utm.source.as_deref(), Some("vk"));
        assert_eq!(fields["ref"], "friend_42");
        assert_eq!(fields["start"], "promo");
    }

    #[test]
    fn group_messages_count_when_enabled() {
        let draft = lead(
            GROUP,
            &TelegramOptions {
                group_messages: true,
            },
        );
        assert_eq!(draft.contact.telegram.map(|t| t.id), Some(5623344556));
        assert_eq!(
            draft.thread.conversation.as_deref(),
            Some("telegram:-1001987654321:5623344556")
        );
    }

    #[test]
    fn photo_is_listed_as_attachment() {
        let draft = lead(CAPTION, &TelegramOptions::default());
        assert_eq!(draft.fields["attachments"][0]["size"], 183402);
    }

    #[test]
    fn service_messages_and_channel_posts_are_not_leads() {
        let service = br#"{"update_id":1,"message":{"message_id":5,"date":1,
            "chat":{"id":7,"type":"private"},"from":{"id":7,"is_bot":false,"first_name":"A"},
            "pinned_message":{"message_id":4}}}"#;
        let post = br#"{"update_id":2,"channel_post":{"message_id":5,"date":1,
            "chat":{"id":-100,"type":"channel"},"text":"news"}}"#;
        for payload in [&service[..], &post[..]] {
            match parse_update(payload, &TelegramOptions::default()) {
                Parsed::NotLead(n) => assert_eq!(n.reason, NotLeadReason::NotAMessage),
                Parsed::Lead(d) => panic!("lead from {d:?}"),
            }
        }
    }

    fn private(content: &str) -> Vec<u8> {
        format!(
            r#"{{"update_id":1,"message":{{"message_id":5,"date":1,
            "chat":{{"id":7,"type":"private"}},"from":{{"id":7,"is_bot":false,"first_name":"A"}},
            {content}}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn messages_without_words_say_what_arrived() {
        for (content, text) in [
            (
                r#""sticker":{"file_id":"s","emoji":"👍","type":"regular"}"#,
                "[стикер 👍]",
            ),
            (
                r#""location":{"latitude":59.93,"longitude":30.31}"#,
                "[геопозиция: 59.93, 30.31]",
            ),
            (
                r#""venue":{"location":{"latitude":59.9,"longitude":30.3},"title":"Офис","address":"Невский, 1"}"#,
                "[место: Офис, Невский, 1 (59.9, 30.3)]",
            ),
            (
                r#""voice":{"file_id":"v","duration":3}"#,
                "[голосовое сообщение]",
            ),
            (
                r#""photo":[{"file_id":"p","width":90,"height":90}]"#,
                "[фото]",
            ),
            (
                r#""poll":{"id":"1","question":"Какой котёл?","options":[]}"#,
                "[опрос: Какой котёл?]",
            ),
            (r#""dice":{"emoji":"🎲","value":5}"#, "[🎲 5]"),
            (
                r#""checklist":{"title":"x","tasks":[]}"#,
                "[сообщение неподдерживаемого типа: checklist]",
            ),
        ] {
            let draft = lead(&private(content), &TelegramOptions::default());
            assert_eq!(draft.text, text, "{content}");
            assert_eq!(draft.contact.telegram.map(|t| t.id), Some(7));
        }
    }

    /// A voice message, a clip or a round video is listed with its file id, so the file keeper
    /// fetches it and the manager hears it through the lead's link.
    #[test]
    fn recordings_are_listed_as_files() {
        for (content, name, kind) in [
            (
                r#""voice":{"file_id":"AwACAgIAAxkBAAIB","duration":4,"mime_type":"audio/ogg","file_size":20511}"#,
                "voice.ogg",
                "audio/ogg",
            ),
            (
                r#""video_note":{"file_id":"DQACAgIAAxkBAAIC","length":240,"duration":9,"file_size":301211}"#,
                "video_note.mp4",
                "video/mp4",
            ),
            (
                r#""audio":{"file_id":"CQACAgIAAxkBAAID","duration":60,"file_name":"замер.m4a","mime_type":"audio/mp4"}"#,
                "замер.m4a",
                "audio/mp4",
            ),
        ] {
            let draft = lead(&private(content), &TelegramOptions::default());
            let files = draft.fields["attachments"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(files.len(), 1, "{content}");
            assert_eq!(files[0]["name"], name);
            assert_eq!(files[0]["type"], kind);
            assert!(
                files[0]["telegram_file_id"]
                    .as_str()
                    .is_some_and(|id| id.len() > 10)
            );
        }
    }

    #[test]
    fn a_caption_is_the_text_and_a_shared_contact_has_none() {
        let draft = lead(
            &private(r#""voice":{"file_id":"v"},"caption":"Перезвоните""#),
            &TelegramOptions::default(),
        );
        assert_eq!(draft.text, "Перезвоните");
        let draft = lead(
            &private(r#""contact":{"phone_number":"79990001122","first_name":"A"}"#),
            &TelegramOptions::default(),
        );
        assert_eq!(draft.text, "");
    }

    #[test]
    fn refused_get_updates_is_an_error() {
        let refused = br#"{"ok":false,"error_code":409,"description":"Conflict"}"#;
        assert!(matches!(
            split_updates(refused),
            Err(ParseError::Refused(_))
        ));
        assert!(matches!(
            split_updates(b"{\"ok\":true}"),
            Err(ParseError::Shape(_))
        ));
        let (items, max) = split_updates(br#"{"ok":true,"result":[]}"#).expect("empty batch");
        assert!(items.is_empty() && max.is_none());
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_bytes(bytes in byte_mutations(PRIVATE)) {
            let _ = update_item(&bytes);
            let _ = split_updates(&bytes);
            let _ = parse_update(&bytes, &TelegramOptions::default());
        }

        #[test]
        fn parsers_never_panic_on_json(bytes in json_mutations(CAPTION)) {
            let _ = update_item(&bytes);
            let _ = parse_update(&bytes, &TelegramOptions { group_messages: true });
            let batch = [&b"{\"ok\":true,\"result\":["[..], &bytes, b"]}"].concat();
            let _ = split_updates(&batch);
        }
    }
}
