//! The size of a lead record is bounded whatever arrived: long texts are cut with a marker that
//! says how much was left out, and fields beyond the record's budget are left out with a note.
//! The raw item keeps everything; the record (what a CRM receives, and every outbox row and
//! card made from it) stays small.

use super::{Lead, NormalisedDraft};
use serde_json::Value;

/// Characters of the person's text kept in the record.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Characters of a subject, name, page address or UTM value.
pub const MAX_LINE_CHARS: usize = 1_000;
/// Characters of a person's name: more than any name has, and few enough that the name's
/// index entry stays within PostgreSQL's limit (about 2.7 KB) in any script.
pub const MAX_NAME_CHARS: usize = 200;
/// Characters of one field's text.
pub const MAX_FIELD_CHARS: usize = 2_000;
/// Bytes of all fields together, as JSON.
pub const MAX_FIELDS_BYTES: usize = 32 * 1024;
/// Phones and e-mails kept each.
pub const MAX_CONTACTS: usize = 10;
/// Phones, and e-mail addresses, a finder returns from free text: more than a record keeps, so
/// that the business's own and the invalid ones dropped later still leave ten, and few enough
/// that a text of a million addresses costs one scan, not a million comparisons per address.
pub const MAX_FOUND: usize = 50;
/// The field that says what the budget left out.
pub const CUT_FIELD: &str = "_cut";

/// Cuts `text` to `max` characters, ending with a marker that says how many were left out.
pub fn cut_text(text: &mut String, max: usize) {
    let Some((end, _)) = text.char_indices().nth(max) else {
        return;
    };
    let left_out = text[end..].chars().count();
    text.truncate(end);
    text.push_str(&format!(" […{left_out} more characters cut]"));
}

/// Keeps the draft within the record's limits.
pub fn bound_record(draft: &mut NormalisedDraft) {
    cut_text(&mut draft.text, MAX_TEXT_CHARS);
    if let Some(name) = &mut draft.contact.name {
        cut_text(name, MAX_NAME_CHARS);
    }
    for line in [
        &mut draft.subject,
        &mut draft.page_url,
        &mut draft.referrer,
        &mut draft.external_id,
    ]
    .into_iter()
    .flatten()
    {
        cut_text(line, MAX_LINE_CHARS);
    }
    for tag in [
        &mut draft.utm.source,
        &mut draft.utm.medium,
        &mut draft.utm.campaign,
        &mut draft.utm.content,
        &mut draft.utm.term,
    ]
    .into_iter()
    .flatten()
    {
        cut_text(tag, MAX_LINE_CHARS);
    }
    draft.contact.phones.truncate(MAX_CONTACTS);
    draft.contact.emails.truncate(MAX_CONTACTS);
    bound_fields(&mut draft.fields);
}

/// Keeps a lead within the same limits after a follow-up joined it: a conversation's text,
/// phones, e-mails and fields stop growing at the record's bounds, however long it runs. The
/// follow-up's own words still reach the CRM (`lead.updated`'s `update`) and the manager, and
/// the raw item keeps everything.
pub fn bound_joined(lead: &mut Lead) {
    cut_text(&mut lead.text, MAX_TEXT_CHARS);
    lead.contact.phones.truncate(MAX_CONTACTS);
    lead.contact.emails.truncate(MAX_CONTACTS);
    bound_fields(&mut lead.fields);
}

/// Cuts each field's text, then keeps fields in order while they fit the budget.
fn bound_fields(fields: &mut serde_json::Map<String, Value>) {
    let mut used = 0usize;
    let mut left_out = 0usize;
    let taken = std::mem::take(fields);
    for (key, mut value) in taken {
        cut_value(&mut value);
        let size = key.len() + serde_json::to_string(&value).map_or(0, |s| s.len());
        if used + size > MAX_FIELDS_BYTES {
            left_out += 1;
            continue;
        }
        used += size;
        fields.insert(key, value);
    }
    if left_out > 0 {
        fields.insert(
            CUT_FIELD.into(),
            Value::String(format!(
                "{left_out} fields left out: over the record's {MAX_FIELDS_BYTES}-byte limit"
            )),
        );
    }
}

fn cut_value(value: &mut Value) {
    match value {
        Value::String(s) => cut_text(s, MAX_FIELD_CHARS),
        Value::Array(items) => items.iter_mut().for_each(cut_value),
        Value::Object(map) => map.values_mut().for_each(cut_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{Contact, Thread, Utm};
    use serde_json::json;

    fn draft(text: String, fields: serde_json::Map<String, Value>) -> NormalisedDraft {
        NormalisedDraft {
            external_id: None,
            contact: Contact::default(),
            subject: Some("Тема".repeat(1_000)),
            text,
            fields,
            utm: Utm::default(),
            page_url: None,
            referrer: None,
            thread: Thread::default(),
        }
    }

    #[test]
    fn long_texts_are_cut_with_a_marker() {
        let mut d = draft("ж".repeat(MAX_TEXT_CHARS + 5), serde_json::Map::new());
        bound_record(&mut d);
        assert!(d.text.starts_with(&"ж".repeat(MAX_TEXT_CHARS)));
        assert!(
            d.text.ends_with(" […5 more characters cut]"),
            "{}",
            &d.text[d.text.len() - 40..]
        );
        let subject = d.subject.expect("subject");
        assert!(subject.ends_with(" […3000 more characters cut]"));
        // A name of four-byte characters stays small enough for PostgreSQL's index on it.
        let mut d = draft(String::new(), serde_json::Map::new());
        d.contact.name = Some("𠀀".repeat(1_000));
        bound_record(&mut d);
        let name = d.contact.name.expect("name");
        assert!(name.starts_with(&"𠀀".repeat(MAX_NAME_CHARS)), "{name}");
        assert!(name.ends_with(" […800 more characters cut]"), "{name}");
        assert!(name.len() < 1_000, "{}", name.len());
        let mut short = "коротко".to_string();
        cut_text(&mut short, 7);
        assert_eq!(short, "коротко");
    }

    #[test]
    fn fields_fit_the_budget_and_say_what_was_left_out() {
        let mut fields = serde_json::Map::new();
        for i in 0..100 {
            fields.insert(format!("f{i:03}"), json!("x".repeat(1_000)));
        }
        fields.insert("long".into(), json!(["y".repeat(5_000)]));
        let mut d = draft("текст".into(), fields);
        bound_record(&mut d);
        let size = serde_json::to_string(&d.fields).expect("json").len();
        assert!(size < MAX_FIELDS_BYTES + 200, "{size}");
        assert!(d.fields.contains_key("f000"));
        let note = d.fields[CUT_FIELD].as_str().expect("note");
        // 32 fields of 1,006 bytes fit; the other 68 and the cut array (2,036 bytes) do not.
        assert!(note.starts_with("69 fields left out"), "{note}");
    }
}
