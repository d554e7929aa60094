//! VK Callback API: check and split a callback at intake, turn a stored event into a lead
//! draft at processing.
//!
//! A callback is `{"type", "group_id", "event_id", "v", "object", "secret"}`. `message_new`
//! carries `object.message` (API 5.103 and later) or the message itself as `object` (older
//! versions; `message_edit` always so); an edit is kept like a Telegram edit: the person who
//! adds their phone to "сколько стоит?" afterwards is not lost; a comment (`wall_reply_new`, `photo_comment_new`, `video_comment_new`,
//! `market_comment_new`, `board_post_new`) carries it as `object`, with the ids of what it is
//! on: "сколько стоит?" under a product is a lead as much as in a message.

use crate::lead::{LeadDraft, NotLead, NotLeadReason, Parsed, Thread, find_emails, find_phones};
use crate::sources::item::Item;
use serde_json::Value;
use subtle::ConstantTimeEq;

/// Why a callback is refused before anything is stored.
#[derive(Debug, thiserror::Error)]
pub enum VkError {
    /// Not a Callback API body (answer 400).
    #[error("malformed VK callback: {0}")]
    Malformed(String),
    /// The `secret` is missing or differs from the configured one (answer 403).
    #[error("VK callback with a wrong or missing secret")]
    BadSecret,
    /// The callback is for another community than the source's (answer 403).
    #[error("VK callback for community {got}, this source is community {expected}")]
    WrongGroup {
        /// The source's community.
        expected: i64,
        /// The community the callback named.
        got: i64,
    },
}

/// What intake does with a checked callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VkCallback {
    /// The server confirmation handshake: answer with the configured confirmation string.
    Confirmation,
    /// An event to store (then answer `ok`).
    Event(Item),
    /// A type leadgate does not take (its name), answered `ok` without storing.
    Ignored(String),
}

/// Checks a callback against the source's community and secret and, for the event types
/// leadgate takes (`message_new`, `message_edit` and the comments, [`comment_on`]), makes the
/// item to store. The stored
/// payload is the callback without its `secret`, so the store never holds the credential.
pub fn read_callback(
    body: &[u8],
    group_id: i64,
    secret: Option<&str>,
) -> Result<VkCallback, VkError> {
    let mut callback: Value =
        serde_json::from_slice(body).map_err(|e| VkError::Malformed(e.to_string()))?;
    let kind = callback
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| VkError::Malformed("no type".into()))?
        .to_string();
    let got = callback
        .get("group_id")
        .and_then(Value::as_i64)
        .ok_or_else(|| VkError::Malformed("no group_id".into()))?;
    if got != group_id {
        return Err(VkError::WrongGroup {
            expected: group_id,
            got,
        });
    }
    if let Some(expected) = secret {
        let given = callback.get("secret").and_then(Value::as_str).unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(VkError::BadSecret);
        }
    }
    let key = match kind.as_str() {
        "confirmation" => return Ok(VkCallback::Confirmation),
        "message_new" => message(&callback)
            .and_then(message_id)
            .map(|id| format!("message:{id}")),
        "message_edit" => message(&callback).and_then(edit_key),
        // The wall's comments keep the key they always had; the others are `comment:`.
        "wall_reply_new" => (callback.get("object"))
            .and_then(|c| comment_on(&kind, c))
            .map(|c| format!("wall:{}", c.id)),
        _ if COMMENTS.contains(&kind.as_str()) => (callback.get("object"))
            .and_then(|c| comment_on(&kind, c))
            .map(|c| format!("comment:{}", c.id)),
        _ => return Ok(VkCallback::Ignored(kind)),
    };
    let dedupe_key = key.ok_or_else(|| VkError::Malformed(format!("{kind} without its ids")))?;
    if let Some(fields) = callback.as_object_mut() {
        fields.remove("secret");
    }
    let payload = serde_json::to_vec(&callback).map_err(|e| VkError::Malformed(e.to_string()))?;
    Ok(VkCallback::Event(Item {
        dedupe_key,
        payload,
    }))
}

/// The key under which a stored callback keeps the person's name as `users.get` gave it at
/// intake (VK's callbacks carry only their id).
pub const NAME_KEY: &str = "leadgate_name";

/// The person who wrote a stored callback's message or comment, when it is a person (a
/// community's id is negative).
pub fn author(payload: &[u8]) -> Option<i64> {
    let callback: Value = serde_json::from_slice(payload).ok()?;
    let written = match callback.get("type")?.as_str()? {
        "message_new" | "message_edit" => message(&callback)?,
        kind if COMMENTS.contains(&kind) => callback.get("object")?,
        _ => return None,
    };
    written.get("from_id")?.as_i64().filter(|id| *id > 0)
}

/// The community a stored callback names (its `group_id`).
pub fn community_of(payload: &[u8]) -> Option<i64> {
    let callback: Value = serde_json::from_slice(payload).ok()?;
    callback.get("group_id")?.as_i64()
}

/// The stored callback with the person's `name` kept under [`NAME_KEY`].
pub fn with_name(payload: &[u8], name: &str) -> Vec<u8> {
    match serde_json::from_slice::<Value>(payload) {
        Ok(Value::Object(mut callback)) => {
            callback.insert(NAME_KEY.into(), Value::String(name.to_string()));
            serde_json::to_vec(&callback).unwrap_or_else(|_| payload.to_vec())
        }
        _ => payload.to_vec(),
    }
}

/// `edit:<peer_id>:<conversation_message_id>:<update_time>:<digest of the words>`: every
/// version of an edited message is kept (two edits within one second too), and the same
/// edit delivered again is one.
fn edit_key(message: &Value) -> Option<String> {
    let id = message_id(message)?;
    let at = message
        .get("update_time")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let words = message.get("text").and_then(Value::as_str).unwrap_or("");
    let digest = crate::digest::sha256_short(words.as_bytes());
    Some(format!("edit:{id}:{at}:{digest}"))
}

/// The message of a `message_new` or `message_edit` callback, in the new or the old object
/// layout.
fn message(callback: &Value) -> Option<&Value> {
    let object = callback.get("object")?;
    Some(object.get("message").unwrap_or(object))
}

/// `<peer_id>:<conversation_message_id>`.
fn message_id(message: &Value) -> Option<String> {
    let peer = message.get("peer_id")?.as_i64()?;
    let number = message.get("conversation_message_id")?.as_i64()?;
    Some(format!("{peer}:{number}"))
}

/// The callback types that carry a person's comment under something of the community's.
const COMMENTS: [&str; 5] = [
    "wall_reply_new",
    "photo_comment_new",
    "video_comment_new",
    "market_comment_new",
    "board_post_new",
];

/// A comment and what it is on.
struct CommentOn {
    /// `<what><owner>_<item>:<comment id>` (`wall-1_2:3`, `product-1_7:4`): its external id.
    id: String,
    /// What it is on (`wall-1_2`, `topic-1_5`): one thread of comments.
    on: String,
    /// The page it is shown on.
    url: String,
}

/// The ids of a comment of callback type `kind`: the owner's and the item's fields are named
/// per kind (a product's are `market_owner_id` and `item_id`).
fn comment_on(kind: &str, comment: &Value) -> Option<CommentOn> {
    let (what, owner, item) = match kind {
        "wall_reply_new" => ("wall", "owner_id", "post_id"),
        "photo_comment_new" => ("photo", "photo_owner_id", "photo_id"),
        "video_comment_new" => ("video", "video_owner_id", "video_id"),
        "market_comment_new" => ("product", "market_owner_id", "item_id"),
        "board_post_new" => ("topic", "topic_owner_id", "topic_id"),
        _ => return None,
    };
    let owner = comment.get(owner)?.as_i64()?;
    let item = comment.get(item)?.as_i64()?;
    let id = comment.get("id")?.as_i64()?;
    let on = format!("{what}{owner}_{item}");
    let url = match what {
        "wall" => format!("https://vk.com/{on}?reply={id}"),
        "topic" => format!("https://vk.com/{on}?post={id}"),
        _ => format!("https://vk.com/{on}"),
    };
    Some(CommentOn {
        id: format!("{on}:{id}"),
        on,
        url,
    })
}

/// Turns a stored `message_new`, `message_edit` or comment event into a lead draft. Anything the
/// community wrote itself (`from_id == -group_id`) is `staff`; other types carry no message.
pub fn parse_event(payload: &[u8], group_id: i64) -> Parsed {
    let callback: Value = match serde_json::from_slice(payload) {
        Ok(value) => value,
        Err(e) => return not_lead(NotLeadReason::Malformed, format!("not JSON: {e}"), None),
    };
    let kind = callback.get("type").and_then(Value::as_str).unwrap_or("");
    let (written, external_id, conversation, page_url) = match kind {
        "message_new" | "message_edit" => {
            let Some((msg, id)) = message(&callback).and_then(|m| Some((m, message_id(m)?))) else {
                return malformed(kind);
            };
            // A private dialog is one conversation; in a group chat each member is their own.
            let peer = msg.get("peer_id").and_then(Value::as_i64);
            let from = msg.get("from_id").and_then(Value::as_i64);
            let conversation = match (peer, from) {
                (Some(peer), Some(from)) if peer != from => format!("vk:{peer}:{from}"),
                (peer, _) => format!("vk:{}", peer.unwrap_or_default()),
            };
            (msg, id, conversation, None)
        }
        kind if COMMENTS.contains(&kind) => {
            let Some((comment, on)) = callback
                .get("object")
                .and_then(|c| Some((c, comment_on(kind, c)?)))
            else {
                return malformed(kind);
            };
            let from = comment
                .get("from_id")
                .and_then(Value::as_i64)
                .unwrap_or_default();
            let conversation = format!("vk:{}:{from}", on.on);
            (comment, on.id, conversation, Some(on.url))
        }
        other => {
            let detail = format!("VK {other:?} event carries no inbound message");
            return not_lead(NotLeadReason::NotAMessage, detail, None);
        }
    };
    let Some(from_id) = written.get("from_id").and_then(Value::as_i64) else {
        return malformed(kind);
    };
    if Some(from_id) == group_id.checked_neg() {
        let detail = "written by the community itself".to_string();
        return not_lead(NotLeadReason::Staff, detail, Some(external_id));
    }
    let text = written
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Words in messages the person forwarded count as theirs (contacts included); a message
    // without words says what arrived.
    let forwarded = forwarded_texts(written);
    let text = match (text.trim().is_empty(), forwarded.is_empty()) {
        (false, true) => text.to_string(),
        (false, false) => format!(
            "{text}\n\n[пересланное сообщение]\n{}",
            forwarded.join("\n\n")
        ),
        (true, false) => format!("[пересланное сообщение]\n{}", forwarded.join("\n\n")),
        (true, true) => describe(written),
    };
    let text = text.as_str();
    let mut draft = LeadDraft {
        external_id: Some(external_id),
        text: text.to_string(),
        page_url,
        thread: Thread {
            conversation: Some(conversation),
            // An edit's words replace the message's where the lead holds only it, and join
            // its lead as the person's latest words otherwise.
            edit: kind == "message_edit",
            ..Thread::default()
        },
        ..LeadDraft::default()
    };
    draft.contact.vk_id = Some(from_id);
    draft.contact.name = (callback.get(NAME_KEY).and_then(Value::as_str))
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    draft.contact.phones = find_phones(text);
    draft.contact.emails = find_emails(text);
    let files = files(written);
    if !files.is_empty() {
        draft
            .fields
            .insert("attachments".into(), Value::Array(files));
    }
    Parsed::Lead(draft)
}

/// The photos and documents the person sent, as `fields.attachments` lists them (name, type,
/// size), with the address VK serves each from (`vk_url`: a photo's largest size).
fn files(written: &Value) -> Vec<Value> {
    let attachments = written.get("attachments").and_then(Value::as_array);
    let mut list = Vec::new();
    for attachment in attachments.into_iter().flatten() {
        match attachment.get("type").and_then(Value::as_str) {
            Some("photo") => {
                let photo = &attachment["photo"];
                let area = |s: &&Value| {
                    let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
                    n("width") * n("height")
                };
                let largest = photo.get("orig_photo").into_iter().chain(
                    (photo
                        .get("sizes")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten())
                    .max_by_key(area),
                );
                if let Some(url) = largest
                    .filter_map(|s| s.get("url").and_then(Value::as_str))
                    .next()
                {
                    list.push(
                        serde_json::json!({"name": "photo.jpg", "type": "image/jpeg",
                        "size": null, "vk_url": url}),
                    );
                }
            }
            Some("doc") => {
                let doc = &attachment["doc"];
                if let Some(url) = doc.get("url").and_then(Value::as_str) {
                    let title = doc
                        .get("title")
                        .and_then(Value::as_str)
                        .unwrap_or("document");
                    list.push(serde_json::json!({"name": title,
                        "type": "application/octet-stream",
                        "size": doc.get("size").cloned().unwrap_or(Value::Null),
                        "vk_url": url}));
                }
            }
            _ => {}
        }
    }
    list
}

/// The texts of the messages forwarded with this one (`fwd_messages`, nested ones too).
fn forwarded_texts(message: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<&Value> = message
        .get("fwd_messages")
        .and_then(Value::as_array)
        .map(|a| a.iter().rev().collect())
        .unwrap_or_default();
    // Bounded: a hostile body cannot nest without end.
    while let Some(forwarded) = stack.pop().filter(|_| out.len() < 20) {
        let text = forwarded.get("text").and_then(Value::as_str).unwrap_or("");
        if !text.trim().is_empty() {
            out.push(text.trim().to_string());
        }
        if let Some(inner) = forwarded.get("fwd_messages").and_then(Value::as_array) {
            stack.extend(inner.iter().rev());
        }
    }
    out
}

/// What arrived, for a message or comment without words: each attachment (`[фото]`,
/// `[стикер]`, `[голосовое сообщение]`...) and a shared location (`[геопозиция: 59.93,
/// 30.31]`); a type leadgate does not know is named as VK names it.
fn describe(written: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    let attachments = written.get("attachments").and_then(Value::as_array);
    for attachment in attachments.into_iter().flatten() {
        let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
        let part = match kind {
            "photo" => "[фото]".to_string(),
            "video" => "[видео]".to_string(),
            "audio" => "[аудио]".to_string(),
            "audio_message" => "[голосовое сообщение]".to_string(),
            "doc" => "[документ]".to_string(),
            "sticker" => "[стикер]".to_string(),
            "graffiti" => "[граффити]".to_string(),
            "link" => "[ссылка]".to_string(),
            "market" => "[товар]".to_string(),
            "market_album" => "[подборка товаров]".to_string(),
            "wall" => "[запись со стены]".to_string(),
            "wall_reply" => "[комментарий]".to_string(),
            "gift" => "[подарок]".to_string(),
            "poll" => "[опрос]".to_string(),
            "story" => "[история]".to_string(),
            "call" => "[звонок]".to_string(),
            other => format!("[вложение неподдерживаемого типа: {other}]"),
        };
        if !parts.contains(&part) {
            parts.push(part);
        }
    }
    if let Some(coordinates) = written.pointer("/geo/coordinates") {
        let number = |key: &str| {
            coordinates
                .get(key)
                .map_or_else(|| "?".into(), Value::to_string)
        };
        parts.push(format!(
            "[геопозиция: {}, {}]",
            number("latitude"),
            number("longitude")
        ));
    }
    match parts.is_empty() {
        true => "[сообщение без текста]".to_string(),
        false => parts.join(" "),
    }
}

fn malformed(kind: &str) -> Parsed {
    not_lead(
        NotLeadReason::Malformed,
        format!("{kind} without its ids"),
        None,
    )
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

    const GROUP: i64 = 218765432;
    const MESSAGE: &[u8] = include_bytes!("../../../tests/fixtures/vk/message-new.json");
    const WALL: &[u8] = include_bytes!("../../../tests/fixtures/vk/wall-reply-new.json");

    fn event(body: &[u8]) -> Item {
        match read_callback(body, GROUP, Some("Tq7vX2mLp9")) {
            Ok(VkCallback::Event(item)) => item,
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn secret_and_group_are_checked() {
        let wrong = read_callback(MESSAGE, GROUP, Some("other"));
        assert!(matches!(wrong, Err(VkError::BadSecret)));
        let other_group = read_callback(MESSAGE, 1, Some("Tq7vX2mLp9"));
        assert!(matches!(
            other_group,
            Err(VkError::WrongGroup { got: GROUP, .. })
        ));
        assert!(matches!(
            read_callback(b"{}", GROUP, None),
            Err(VkError::Malformed(_))
        ));
        assert!(matches!(
            read_callback(MESSAGE, GROUP, None),
            Ok(VkCallback::Event(_))
        ));
    }

    #[test]
    fn stored_payload_has_no_secret() {
        let item = event(MESSAGE);
        assert_eq!(item.dedupe_key, "message:612345678:34");
        assert!(!String::from_utf8_lossy(&item.payload).contains("Tq7vX2mLp9"));
    }

    #[test]
    fn other_types_are_ignored() {
        let typing = br#"{"type":"message_typing_state","group_id":218765432,"object":{}}"#;
        let read = read_callback(typing, GROUP, None).expect("well formed");
        assert_eq!(read, VkCallback::Ignored("message_typing_state".into()));
    }

    /// A question under a product, a photo, a video or in a discussion is a lead like a wall
    /// comment: the comment's own ids make its key and its external id, the page it is on
    /// its `page_url`, and each person's comments under one thing are one conversation.
    #[test]
    fn comments_under_products_photos_videos_and_topics_are_leads() {
        for (kind, on, key, url) in [
            (
                "market_comment_new",
                r#""market_owner_id":-218765432,"item_id":7001"#,
                "comment:product-218765432_7001:55",
                "https://vk.com/product-218765432_7001",
            ),
            (
                "photo_comment_new",
                r#""photo_owner_id":-218765432,"photo_id":457239017"#,
                "comment:photo-218765432_457239017:55",
                "https://vk.com/photo-218765432_457239017",
            ),
            (
                "video_comment_new",
                r#""video_owner_id":-218765432,"video_id":456239021"#,
                "comment:video-218765432_456239021:55",
                "https://vk.com/video-218765432_456239021",
            ),
            (
                "board_post_new",
                r#""topic_owner_id":-218765432,"topic_id":49012345"#,
                "comment:topic-218765432_49012345:55",
                "https://vk.com/topic-218765432_49012345?post=55",
            ),
        ] {
            let body = format!(
                r#"{{"type":"{kind}","group_id":{GROUP},"event_id":"e1","v":"5.199","secret":"Tq7vX2mLp9",
                    "object":{{"id":55,"from_id":701234567,"date":1795000000,
                               "text":"Сколько стоит с доставкой в Пушкин? +7 921 555-01-02",{on}}}}}"#
            );
            let item = event(body.as_bytes());
            assert_eq!(item.dedupe_key, key, "{kind}");
            assert_eq!(author(&item.payload), Some(701234567), "{kind}");
            let Parsed::Lead(draft) = parse_event(&item.payload, GROUP) else {
                panic!("{kind} is not a lead");
            };
            assert_eq!(draft.page_url.as_deref(), Some(url), "{kind}");
            assert_eq!(
                Some(draft.external_id.as_deref().unwrap_or("")),
                key.strip_prefix("comment:")
            );
            assert_eq!(draft.contact.vk_id, Some(701234567));
            assert_eq!(draft.contact.phones, ["+7 921 555-01-02"], "{kind}");
        }
    }

    #[test]
    fn the_communitys_own_reply_is_staff() {
        let own = String::from_utf8_lossy(WALL).replace("701234567", "-218765432");
        match parse_event(&event(own.as_bytes()).payload, GROUP) {
            Parsed::NotLead(n) => assert_eq!(n.reason, NotLeadReason::Staff),
            Parsed::Lead(d) => panic!("lead from {d:?}"),
        }
    }

    #[test]
    fn the_name_users_get_gave_is_the_contacts() {
        let item = event(MESSAGE);
        let author = author(&item.payload).expect("a person wrote it");
        let named = with_name(&item.payload, "Иван Петров");
        match parse_event(&named, GROUP) {
            Parsed::Lead(d) => {
                assert_eq!(d.contact.name.as_deref(), Some("Иван Петров"));
                assert_eq!(d.contact.vk_id, Some(author));
            }
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
        match parse_event(&item.payload, GROUP) {
            Parsed::Lead(d) => assert_eq!(d.contact.name, None),
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
    }

    #[test]
    fn photos_and_documents_are_listed_with_their_addresses() {
        let body = br#"{"type":"message_new","group_id":218765432,"object":{"message":{"id":5,
            "from_id":42,"peer_id":42,"conversation_message_id":7,"text":"",
            "attachments":[{"type":"photo","photo":{"sizes":[
                {"type":"m","url":"https://sun9-1.userapi.com/m.jpg","width":130,"height":97},
                {"type":"w","url":"https://sun9-1.userapi.com/w.jpg","width":1280,"height":960},
                {"type":"s","url":"https://sun9-1.userapi.com/s.jpg","width":75,"height":56}]}},
              {"type":"doc","doc":{"title":"plan.pdf","size":5120,"url":"https://vk.com/doc42_1"}},
              {"type":"sticker","sticker":{"sticker_id":9}}]}}}"#;
        match parse_event(&event_without_secret(body).payload, GROUP) {
            Parsed::Lead(d) => {
                let files = d.fields["attachments"].as_array().expect("listed").clone();
                assert_eq!(files.len(), 2);
                assert_eq!(files[0]["vk_url"], "https://sun9-1.userapi.com/w.jpg");
                assert_eq!(files[1]["name"], "plan.pdf");
                assert_eq!(files[1]["size"], 5120);
            }
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
    }

    #[test]
    fn old_message_layout_is_read() {
        let old = br#"{"type":"message_new","group_id":218765432,"object":{"id":5,
            "from_id":42,"peer_id":42,"conversation_message_id":7,"text":"hi"}}"#;
        match parse_event(&event_without_secret(old).payload, GROUP) {
            Parsed::Lead(d) => assert_eq!(d.external_id.as_deref(), Some("42:7")),
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
    }

    fn event_without_secret(body: &[u8]) -> Item {
        match read_callback(body, GROUP, None) {
            Ok(VkCallback::Event(item)) => item,
            other => panic!("not an event: {other:?}"),
        }
    }

    fn message_with(fields: &str) -> LeadDraft {
        let body = format!(
            r#"{{"type":"message_new","group_id":218765432,"object":{{"message":{{"from_id":42,
            "peer_id":42,"conversation_message_id":7,"text":"",{fields}}}}}}}"#
        );
        match parse_event(&event_without_secret(body.as_bytes()).payload, GROUP) {
            Parsed::Lead(d) => d,
            Parsed::NotLead(n) => panic!("{n:?}"),
        }
    }

    #[test]
    fn messages_without_words_say_what_arrived() {
        for (fields, text) in [
            (
                r#""attachments":[{"type":"sticker","sticker":{"sticker_id":9}}]"#,
                "[стикер]",
            ),
            (
                r#""attachments":[{"type":"photo","photo":{}},{"type":"photo","photo":{}},{"type":"doc","doc":{}}]"#,
                "[фото] [документ]",
            ),
            (
                r#""attachments":[],"geo":{"type":"point","coordinates":{"latitude":59.93,"longitude":30.31}}"#,
                "[геопозиция: 59.93, 30.31]",
            ),
            (
                r#""attachments":[{"type":"audio_message","audio_message":{}}]"#,
                "[голосовое сообщение]",
            ),
            (
                r#""attachments":[{"type":"widget","widget":{}}]"#,
                "[вложение неподдерживаемого типа: widget]",
            ),
        ] {
            let d = message_with(fields);
            assert_eq!(d.text, text, "{fields}");
            assert_eq!(d.contact.vk_id, Some(42));
        }
    }

    #[test]
    fn forwarded_messages_are_the_persons_words() {
        let d = message_with(
            r#""fwd_messages":[{"from_id":5,"text":"Котёл на 24 кВт, тел. 8 921 444-55-66",
            "fwd_messages":[{"from_id":6,"text":"Нужна установка"}]}]"#,
        );
        assert_eq!(
            d.text,
            "[пересланное сообщение]\nКотёл на 24 кВт, тел. 8 921 444-55-66\n\nНужна установка"
        );
        assert_eq!(d.contact.phones, vec!["8 921 444-55-66"]);
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_bytes(bytes in byte_mutations(MESSAGE)) {
            let _ = read_callback(&bytes, GROUP, Some("Tq7vX2mLp9"));
            let _ = parse_event(&bytes, GROUP);
        }

        #[test]
        fn parsers_never_panic_on_json(bytes in json_mutations(WALL)) {
            let _ = read_callback(&bytes, GROUP, None);
            let _ = parse_event(&bytes, GROUP);
            let _ = parse_event(&bytes, i64::MIN);
        }
    }
}
