//! Control characters nobody means to write: a NUL, a backspace, an escape, a C1 code.
//!
//! They come from broken charsets, pasted terminal output, or a hostile form post (`%00`,
//! `\u0000`). None of them means anything to a manager or a CRM, and PostgreSQL refuses a NUL
//! in a text column outright: one such character in a name would fail the whole processing
//! batch it is in, and every retry of it, so that no lead from any channel got through. They
//! are taken out of everything a channel read, before anything is stored or routed; line
//! breaks and tabs stay.

use super::{LeadDraft, RawContact, Thread, Utm};
use serde_json::{Map, Value};

/// Whether `c` is a control character nobody means: every one but the line break, the
/// carriage return and the tab.
fn unwanted(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// Takes the unwanted control characters out of `text`, in place; text without any (nearly
/// all of it) is only read.
pub fn strip_controls(text: &mut String) {
    if text.chars().any(unwanted) {
        text.retain(|c| !unwanted(c));
    }
}

/// `text` without unwanted control characters, for a name read outside a draft (a file's).
pub fn without_controls(text: &str) -> String {
    let mut text = text.to_string();
    strip_controls(&mut text);
    text
}

/// Takes them out of every text of a channel's draft: the person's words and name, the
/// subject, fields (their names too), tags, pages and the ids that link items together.
pub fn strip_draft_controls(draft: &mut LeadDraft) {
    let LeadDraft {
        external_id,
        contact,
        subject,
        text,
        fields,
        utm,
        page_url,
        referrer,
        thread,
    } = draft;
    strip_controls(text);
    [external_id, subject, page_url, referrer]
        .into_iter()
        .flatten()
        .for_each(strip_controls);
    strip_contact(contact);
    strip_utm(utm);
    strip_thread(thread);
    strip_fields(fields);
}

fn strip_contact(contact: &mut RawContact) {
    let RawContact {
        name,
        emails,
        phones,
        telegram,
        vk_id: _,
        whatsapp,
    } = contact;
    [name, whatsapp]
        .into_iter()
        .flatten()
        .chain(emails.iter_mut())
        .chain(phones.iter_mut())
        .chain(telegram.iter_mut().filter_map(|t| t.username.as_mut()))
        .for_each(strip_controls);
}

fn strip_utm(utm: &mut Utm) {
    let Utm {
        source,
        medium,
        campaign,
        content,
        term,
    } = utm;
    [source, medium, campaign, content, term]
        .into_iter()
        .flatten()
        .for_each(strip_controls);
}

fn strip_thread(thread: &mut Thread) {
    let Thread {
        conversation,
        replies_to,
        edit: _,
    } = thread;
    conversation
        .iter_mut()
        .chain(replies_to.iter_mut())
        .for_each(strip_controls);
}

/// Fields' names and texts, at any depth. A cleaned name that is left empty, or meets a
/// name already there, gets `_` appended until it is free, so no value is lost and a field
/// written cleanly keeps its name.
fn strip_fields(fields: &mut Map<String, Value>) {
    if fields.keys().any(|k| k.chars().any(unwanted)) {
        let clean: std::collections::HashSet<String> = (fields.keys())
            .filter(|k| !k.chars().any(unwanted))
            .cloned()
            .collect();
        let taken = std::mem::take(fields);
        for (mut key, value) in taken {
            if !clean.contains(&key) {
                strip_controls(&mut key);
                while key.is_empty() || clean.contains(&key) || fields.contains_key(&key) {
                    key.push('_');
                }
            }
            fields.insert(key, value);
        }
    }
    fields.values_mut().for_each(strip_value);
}

fn strip_value(value: &mut Value) {
    match value {
        Value::String(s) => strip_controls(s),
        Value::Array(items) => items.iter_mut().for_each(strip_value),
        Value::Object(map) => strip_fields(map),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::TelegramAccount;
    use serde_json::json;

    #[test]
    fn nul_escape_and_c1_characters_go_and_line_breaks_and_tabs_stay() {
        let mut text = "Иван\u{0}\u{1b}[31m Петров\u{85}\r\n\tзвоните\u{7f}".to_string();
        strip_controls(&mut text);
        assert_eq!(text, "Иван[31m Петров\r\n\tзвоните");
    }

    #[test]
    fn every_text_of_a_draft_is_cleaned() {
        let mut draft = LeadDraft {
            external_id: Some("id\u{0}1".into()),
            contact: RawContact {
                name: Some("Ol\u{0}ga".into()),
                emails: vec!["a\u{0}@b.ru".into()],
                phones: vec!["+7916\u{0}1234567".into()],
                telegram: Some(TelegramAccount {
                    id: 1,
                    username: Some("ol\u{8}ga".into()),
                }),
                vk_id: None,
                whatsapp: Some("7916\u{0}".into()),
            },
            subject: Some("Sub\u{0}ject".into()),
            text: "Нужен\u{0} котёл".into(),
            fields: json!({"city\u{0}": "Mo\u{0}scow", "city": "Tver", "\u{1}": ["a\u{0}", {"k\u{0}": "v\u{0}"}]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            utm: Utm {
                source: Some("ya\u{0}".into()),
                ..Utm::default()
            },
            page_url: Some("https://x.ru/\u{0}".into()),
            referrer: Some("\u{0}r".into()),
            thread: Thread {
                conversation: Some("c\u{0}".into()),
                replies_to: vec!["<m\u{0}@x>".into()],
                edit: false,
            },
        };
        strip_draft_controls(&mut draft);
        let all = serde_json::to_string(&draft).unwrap_or_default();
        assert!(!all.contains("\\u0000"), "{all}");
        assert!(!all.contains("\\u0001") && !all.contains("\\b"), "{all}");
        assert_eq!(draft.contact.name.as_deref(), Some("Olga"));
        assert_eq!(draft.text, "Нужен котёл");
        // The cleaned field name met one already there: both values are kept.
        assert_eq!(draft.fields["city"], "Tver");
        assert_eq!(draft.fields["city_"], "Moscow");
        assert_eq!(draft.fields["_"], json!(["a", {"k": "v"}]));
    }
}
