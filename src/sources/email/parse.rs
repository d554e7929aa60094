//! The entry point: raw RFC 5322 bytes to a lead draft, or the reason the mail is not a lead.
//!
//! Pure and total: no I/O, no clock, no panics on any input, so the IMAP side only has to
//! hand over the bytes it fetched and store what comes back.

use super::form_notice::{self, FormNotice};
use super::mime::{self, Mail};
use super::{noise, quote, signature};
use crate::lead::{
    LeadDraft, NotLead, NotLeadReason, Parsed, RawContact, Thread, find_emails, find_phones,
};
use serde_json::{Map, Value, json};

/// The header leadgate puts on every mail it sends, so that its own notifications coming
/// back into a watched mailbox are recognised and never become leads.
pub const LOOP_HEADER: &str = "X-Leadgate-Notification";

/// The `meta` key of a message kept by its header only, for being over the source's
/// `max_message`: `{"size": bytes as the server gave them, "max_message": the limit}`.
pub const META_TOO_LARGE: &str = "too_large";

/// What the parser needs to know about the mailbox it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContext {
    /// The loop-protection header name (any case); [`LOOP_HEADER`] unless configured.
    pub loop_header: String,
}

impl Default for EmailContext {
    fn default() -> Self {
        EmailContext {
            loop_header: LOOP_HEADER.to_string(),
        }
    }
}

/// Pure: raw RFC 5322 bytes -> a lead draft or the reason it is not a lead. Never panics.
pub fn parse_email(raw: &[u8], ctx: &EmailContext) -> Parsed {
    let Some(mail) = mime::read(raw) else {
        return Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: "not an RFC 5322 message".to_string(),
            external_id: None,
        });
    };
    if let Some((reason, detail)) = noise::classify(&mail, &ctx.loop_header) {
        return Parsed::NotLead(NotLead {
            reason,
            detail,
            external_id: mail.message_id,
        });
    }
    Parsed::Lead(draft(mail))
}

/// Pure: a stored message as the mailbox kept it. A message over `max_message` was kept by
/// its header only (`meta.too_large`): it is a not-lead (`too_large`) saying its size and
/// subject, so the admin sees what it was; anything else is [`parse_email`].
pub fn parse_stored_email(raw: &[u8], meta: &Value, ctx: &EmailContext) -> Parsed {
    let Some(too_large) = meta.get(META_TOO_LARGE) else {
        return parse_email(raw, ctx);
    };
    let number = |key: &str| too_large.get(key).and_then(Value::as_u64);
    let mail = mime::read(raw);
    let subject = mail
        .as_ref()
        .and_then(|m| m.subject.clone())
        .unwrap_or_default();
    let size =
        number("size").map_or_else(|| "an unknown size".to_string(), |n| format!("{n} bytes"));
    let limit = number("max_message").map_or_else(String::new, |n| format!(" ({n} bytes)"));
    Parsed::NotLead(NotLead {
        reason: NotLeadReason::TooLarge,
        detail: format!(
            "a message of {size}, over max_message{limit}: only its header is kept; subject: {subject:?}"
        ),
        external_id: mail.and_then(|m| m.message_id),
    })
}

fn draft(mail: Mail) -> LeadDraft {
    let unquoted = quote::cut_quote(&mail.body);
    let own_words = unquoted.as_str();
    let from_robot = mail
        .from
        .as_ref()
        .is_some_and(|f| form_notice::is_robot(&f.address));
    let mut draft = LeadDraft {
        external_id: mail.message_id.clone(),
        subject: mail.subject.clone(),
        thread: Thread {
            replies_to: mail.replies_to.clone(),
            ..Thread::default()
        },
        ..LeadDraft::default()
    };
    match form_notice::read(own_words, from_robot) {
        Some(notice) => fill_from_notice(&mut draft, notice),
        None => fill_from_letter(&mut draft, &mail, own_words, from_robot),
    }
    for reply_to in &mail.reply_to {
        push_unique(&mut draft.contact.emails, &reply_to.address);
    }
    if !mail.attachments.is_empty() {
        let list = mail
            .attachments
            .iter()
            .map(|a| json!({"name": a.name, "type": a.mime_type, "size": a.size}))
            .collect();
        draft
            .fields
            .insert("attachments".to_string(), Value::Array(list));
    }
    draft
}

/// An ordinary letter: the sender is the person, the text is above the signature, and the
/// contacts are wherever the person wrote them (body or signature, never the quote).
fn fill_from_letter(draft: &mut LeadDraft, mail: &Mail, own_words: &str, from_robot: bool) {
    let (words, sig) = signature::split(own_words);
    draft.text = words.trim().to_string();
    let mut contact = RawContact::default();
    if let Some(from) = mail.from.as_ref().filter(|_| !from_robot) {
        // A display name that is only the address again ("ivan@mail.ru" <ivan@mail.ru>) is no name.
        contact.name = from.name.clone().filter(|n| !n.contains('@'));
        push_unique(&mut contact.emails, &from.address);
    }
    for email in find_emails(own_words) {
        push_unique(&mut contact.emails, &email);
    }
    for phone in find_phones(own_words) {
        push_unique(&mut contact.phones, &phone);
    }
    draft.contact = contact;
    let details = signature::details(sig);
    let found = [
        ("company", details.company),
        ("inn", details.inn),
        ("kpp", details.kpp),
        ("phone_extension", details.phone_extension),
    ];
    insert_fields(
        &mut draft.fields,
        found
            .into_iter()
            .filter_map(|(k, v)| Some((k.to_string(), v?))),
    );
}

/// A website form notification: the visitor in the fields is the person, not the robot.
fn fill_from_notice(draft: &mut LeadDraft, notice: FormNotice) {
    draft.text = notice.text;
    draft.contact = RawContact {
        name: notice.name,
        emails: notice.emails,
        phones: notice.phones,
        ..RawContact::default()
    };
    for (label, value) in &notice.utm {
        draft.utm.set(label, value);
    }
    draft.page_url = notice.page_url;
    let company = notice.company.map(|c| ("company".to_string(), c));
    insert_fields(&mut draft.fields, company.into_iter().chain(notice.fields));
}

/// Adds string fields, the first value of a key winning.
fn insert_fields(
    fields: &mut Map<String, Value>,
    entries: impl IntoIterator<Item = (String, String)>,
) {
    for (key, value) in entries {
        fields.entry(key).or_insert(Value::String(value));
    }
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    let value = value.trim();
    if !value.is_empty() && !list.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        list.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lead(raw: &[u8]) -> LeadDraft {
        match parse_email(raw, &EmailContext::default()) {
            Parsed::Lead(draft) => draft,
            Parsed::NotLead(not) => panic!("not a lead: {not:?}"),
        }
    }

    fn reason(raw: &[u8]) -> Option<NotLeadReason> {
        match parse_email(raw, &EmailContext::default()) {
            Parsed::Lead(_) => None,
            Parsed::NotLead(not) => Some(not.reason),
        }
    }

    const LETTER: &[u8] = b"From: Ivan <ivan@example.ru>\r\nMessage-ID: <m1@example.ru>\r\n\
        In-Reply-To: <kp@teplodom.example>\r\nSubject: Boiler\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\nPrice of a boiler, please.\r\n\
        Call 8 916 123-45-67.\r\n\r\nOn Mon, Pavel wrote:\r\n> Our offer +7 812 600-12-34\r\n";

    #[test]
    fn a_message_kept_by_its_header_is_too_large_with_its_subject() {
        let header = b"From: Ivan <ivan@example.ru>\r\nMessage-ID: <big@example.ru>\r\n\
            Subject: =?UTF-8?B?0KfQtdGA0YLQtdC20Lg=?=\r\n\r\n";
        let meta =
            json!({"uid": 7, META_TOO_LARGE: {"size": 31_457_280, "max_message": 26_214_400}});
        match parse_stored_email(header, &meta, &EmailContext::default()) {
            Parsed::NotLead(n) => {
                assert_eq!(n.reason, NotLeadReason::TooLarge);
                assert_eq!(n.external_id.as_deref(), Some("<big@example.ru>"));
                assert!(n.detail.contains("31457280 bytes"), "{}", n.detail);
                assert!(n.detail.contains("\"Чертежи\""), "{}", n.detail);
            }
            Parsed::Lead(d) => panic!("a lead: {d:?}"),
        }
        let whole = json!({"uid": 8});
        assert!(matches!(
            parse_stored_email(LETTER, &whole, &EmailContext::default()),
            Parsed::Lead(_)
        ));
    }

    #[test]
    fn a_letter_becomes_a_draft() {
        let d = lead(LETTER);
        assert_eq!(d.external_id.as_deref(), Some("<m1@example.ru>"));
        assert_eq!(d.subject.as_deref(), Some("Boiler"));
        assert_eq!(d.contact.name.as_deref(), Some("Ivan"));
        assert_eq!(d.contact.emails, vec!["ivan@example.ru"]);
        assert_eq!(d.contact.phones, vec!["8 916 123-45-67"]);
        assert_eq!(d.thread.replies_to, vec!["<kp@teplodom.example>"]);
        assert!(d.text.starts_with("Price of a boiler"), "{}", d.text);
        assert!(!d.text.contains("Our offer"), "{}", d.text);
    }

    #[test]
    fn own_notifications_are_not_leads_with_any_header_name() {
        let mut raw = b"X-Leadgate-Notification: lead 42\r\n".to_vec();
        raw.extend_from_slice(LETTER);
        assert_eq!(reason(&raw), Some(NotLeadReason::OwnNotification));
        let ctx = EmailContext {
            loop_header: "X-Our-Loop".to_string(),
        };
        let mut raw = b"x-our-loop: 1\r\n".to_vec();
        raw.extend_from_slice(LETTER);
        assert!(
            matches!(parse_email(&raw, &ctx), Parsed::NotLead(n) if n.reason == NotLeadReason::OwnNotification)
        );
    }

    #[test]
    fn empty_input_is_malformed() {
        assert_eq!(reason(b""), Some(NotLeadReason::Malformed));
    }

    #[test]
    fn a_robot_sender_is_never_the_contact() {
        let raw =
            b"From: Site <wordpress@teplodom.example>\r\nReply-To: visitor@example.ru\r\n\r\n\
            \xd0\x98\xd0\xbc\xd1\x8f: Anna\r\nPhone: +7 916 123 45 67\r\nMessage: price?\r\n";
        let d = lead(raw);
        assert_eq!(d.contact.name.as_deref(), Some("Anna"));
        assert_eq!(d.contact.emails, vec!["visitor@example.ru"]);
        assert_eq!(d.text, "price?");
    }

    #[test]
    fn an_html_only_form_notification_is_read_from_its_table() {
        let raw = "From: Wix Forms <no-reply@wix.com>\r\nReply-To: anna@example.ru\r\n\
            Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><table>\
            <tr><td><b>Имя:</b></td><td>Анна</td></tr>\
            <tr><td><b>Телефон:</b></td><td>8 916 123-45-67</td></tr>\
            <tr><td><b>Сообщение:</b></td><td>Нужен котёл на дачу</td></tr>\
            </table><p>Wix Forms</p></body></html>\r\n";
        let d = lead(raw.as_bytes());
        assert_eq!(d.contact.name.as_deref(), Some("Анна"));
        assert_eq!(d.contact.phones, vec!["8 916 123-45-67"]);
        assert_eq!(d.contact.emails, vec!["anna@example.ru"]);
        assert_eq!(d.text, "Нужен котёл на дачу");
    }

    #[test]
    fn attachments_are_listed_not_inlined() {
        let raw = b"From: a@example.ru\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nPhoto of the boiler attached.\r\n\
            --b\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"boiler.jpg\"\r\n\
            Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--b--\r\n";
        let d = lead(raw);
        assert_eq!(
            d.fields["attachments"],
            json!([{"name": "boiler.jpg", "type": "image/jpeg", "size": 6}])
        );
        assert_eq!(d.text, "Photo of the boiler attached.");
    }

    /// Every e-mail sample of the corpus (`LEADGATE_FIXTURES` overrides where it is, as in
    /// the fixture tests), to mutate in the no-panic property below.
    fn samples() -> Vec<Vec<u8>> {
        let dir = std::env::var_os("LEADGATE_FIXTURES")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
            })
            .join("email");
        let mut out: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        out.push(LETTER.to_vec());
        out
    }

    #[test]
    fn the_samples_to_mutate_are_there() {
        assert!(
            samples().len() > 15,
            "the corpus's e-mail samples were not found"
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_email(&raw, &EmailContext::default());
        }

        #[test]
        fn mutated_samples_never_panic(
            pick in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..32),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let all = samples();
            let mut raw = all[pick.index(all.len())].clone();
            for (at, byte, op) in edits {
                if raw.is_empty() { break; }
                let i = at.index(raw.len());
                match op {
                    0 => raw[i] = byte,
                    1 => raw.insert(i, byte),
                    _ => { raw.remove(i); }
                }
            }
            if let Some(cut) = cut.filter(|_| !raw.is_empty()) {
                raw.truncate(cut.index(raw.len()) + 1);
            }
            let _ = parse_email(&raw, &EmailContext::default());
        }
    }
}
