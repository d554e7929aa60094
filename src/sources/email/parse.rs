//! The entry point: raw RFC 5322 bytes to a lead draft, or the reason the mail is not a lead.
//!
//! Pure and total: no I/O, no clock, no panics on any input, so the IMAP side only has to
//! hand over the bytes it fetched and store what comes back.

use super::form_notice::{self, FormNotice};
use super::mime::{self, Mail, Mailbox};
use super::{forward, noise, quote, signature};
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

/// The `meta` key of a message the server listed but would not give, set aside so the
/// mailbox could go on (`imap/sync.rs`): `{"since": when it was first asked for, "tries"}`.
/// The item has no content; its `uid` and `mailbox` are in `meta` too.
pub const META_UNREADABLE: &str = "unreadable";

/// What the parser needs to know about the mailbox it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContext {
    /// The loop-protection header name (any case); [`LOOP_HEADER`] unless configured.
    pub loop_header: String,
    /// The business's own addresses, lower-case (`[business] own_emails`): a letter of the
    /// business's that a customer forwards back is a quote, not the request.
    pub own_emails: Vec<String>,
}

impl Default for EmailContext {
    fn default() -> Self {
        EmailContext {
            loop_header: LOOP_HEADER.to_string(),
            own_emails: Vec::new(),
        }
    }
}

impl EmailContext {
    fn is_own(&self, address: &str) -> bool {
        let address = address.trim().to_lowercase();
        self.own_emails.contains(&address)
    }
}

/// How deep forwards inside forwards are followed.
const MAX_FORWARDS: usize = 3;

/// Whether the request came as a forwarded letter, and who forwarded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forward {
    /// An ordinary letter.
    No,
    /// Its own sender forwarded it again ("пишу повторно").
    BySender,
    /// Someone else forwarded it (staff from a personal mailbox): the mail's own sender and
    /// Reply-To are theirs, not the customer's.
    ByAnother,
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
    let noise = match noise::classify(&mail, &ctx.loop_header, false) {
        Some((NotLeadReason::AutoReply | NotLeadReason::Bulk, _)) if is_form_notice(&mail) => {
            noise::classify(&mail, &ctx.loop_header, true)
        }
        noise => noise,
    };
    if let Some((reason, detail)) = noise {
        return Parsed::NotLead(NotLead {
            reason,
            detail,
            external_id: mail.message_id,
        });
    }
    Parsed::Lead(draft(mail, ctx))
}

/// Whether `mail` is a site's form notice, by its fields alone (a contact's two fields and
/// three labelled lines, not a robot sender's one: a newsletter's footer names a phone too):
/// a robot sends it for a visitor, and the signs a robot puts on its letters
/// ([`noise::classify`]) do not make the visitor's request an auto-reply or a newsletter.
fn is_form_notice(mail: &Mail) -> bool {
    form_notice::read(&quote::cut_quote(&mail.body), false).is_some()
}

/// Pure: [`parse_email`] without the noise filters (auto-reply, bounce, bulk, spam, leadgate's
/// own notification), for an item the admin said is a lead. A message that is not RFC 5322
/// still has nothing to read.
pub fn parse_email_as_lead(raw: &[u8], ctx: &EmailContext) -> Parsed {
    match mime::read(raw) {
        Some(mail) => Parsed::Lead(draft(mail, ctx)),
        None => parse_email(raw, ctx),
    }
}

/// Pure: a stored message as the mailbox kept it. A message over `max_message` was kept by
/// its header only (`meta.too_large`): it is a not-lead (`too_large`) saying its size and
/// subject, so the admin sees what it was; anything else is [`parse_email`].
pub fn parse_stored_email(raw: &[u8], meta: &Value, ctx: &EmailContext) -> Parsed {
    if let Some(unreadable) = meta.get(META_UNREADABLE) {
        return Parsed::NotLead(unreadable_message(meta, unreadable));
    }
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

/// The not-lead of a message the server would not give: where it is, so the admin can open
/// it in the mailbox.
fn unreadable_message(meta: &Value, unreadable: &Value) -> NotLead {
    let text = |v: &Value, key: &str| {
        v.get(key)
            .map(|x| x.to_string().trim_matches('"').to_string())
    };
    let uid = text(meta, "uid").unwrap_or_else(|| "?".into());
    let mailbox = text(meta, "mailbox").unwrap_or_else(|| "?".into());
    let since = text(unreadable, "since").unwrap_or_else(|| "?".into());
    let tries = text(unreadable, "tries").unwrap_or_else(|| "?".into());
    NotLead {
        reason: NotLeadReason::Malformed,
        detail: format!(
            "the server listed UID {uid} in {mailbox} but did not give its content, {tries} times since {since}: it was left in the mailbox, open it there"
        ),
        external_id: None,
    }
}

fn draft(mail: Mail, ctx: &EmailContext) -> LeadDraft {
    let subject_forward = forward::subject_says_forward(mail.subject.as_deref());
    let from = mail.from.as_ref();
    let (mut draft, forwarded) = match attached_forward(&mail, subject_forward) {
        Some(letter) => read_forward(from, &mail.body, letter.from.as_ref(), &letter.body, ctx, 0),
        None => read_letter(from, &mail.body, subject_forward, ctx, 0),
    };
    draft.external_id = mail.message_id.clone();
    draft.subject = match forwarded {
        Forward::No => mail.subject.clone(),
        _ => mail
            .subject
            .as_deref()
            .map(|s| forward::strip_forward_prefix(s).to_string()),
    };
    draft.thread = Thread {
        replies_to: mail.replies_to.clone(),
        ..Thread::default()
    };
    if forwarded != Forward::ByAnother {
        for reply_to in &mail.reply_to {
            push_unique(&mut draft.contact.emails, &reply_to.address);
        }
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

/// Reads one letter sent by `from`: the mail itself, or (at `depth` > 0) a letter forwarded
/// inside it. A forwarded letter is the request: its text follows the forwarder's note, and
/// its sender and the contacts in it are the person; the forwarder is named in
/// `fields.forwarded_by`, and counts as the person only when they are its sender, or when the
/// forwarded letter gives no name and no way to answer. A letter of the business's own that
/// comes back forwarded is a quote: only the note counts.
fn read_letter(
    from: Option<&Mailbox>,
    body: &str,
    subject_forward: bool,
    ctx: &EmailContext,
    depth: usize,
) -> (LeadDraft, Forward) {
    match forward::find(body, subject_forward).filter(|_| depth < MAX_FORWARDS) {
        Some(fwd) => read_forward(from, fwd.note, fwd.sender.as_ref(), fwd.body, ctx, depth),
        None => (read_own_words(from, body), Forward::No),
    }
}

/// The letter a mail forwards as an attachment (Outlook's and Yandex's "forward as
/// attachment"): under a forward subject, with no forward in the text, the one message
/// attached whole.
fn attached_forward(mail: &Mail, subject_forward: bool) -> Option<&mime::AttachedLetter> {
    let [letter] = mail.attached_letters.as_slice() else {
        return None;
    };
    (subject_forward && forward::find(&mail.body, true).is_none()).then_some(letter)
}

/// A letter from `sender` forwarded by `from` under `note`: see [`read_letter`].
fn read_forward(
    from: Option<&Mailbox>,
    note: &str,
    sender: Option<&Mailbox>,
    body: &str,
    ctx: &EmailContext,
    depth: usize,
) -> (LeadDraft, Forward) {
    if sender.is_some_and(|s| ctx.is_own(&s.address)) {
        return (read_own_words(from, note), Forward::No);
    }
    let (mut letter, _) = read_letter(sender, body, false, ctx, depth + 1);
    let note = read_own_words(from, note);
    let by_sender = same_person(from, sender);
    let unknown = letter.contact.name.is_none()
        && letter.contact.emails.is_empty()
        && letter.contact.phones.is_empty();
    if by_sender || unknown {
        let contact = &mut letter.contact;
        if contact.name.is_none() {
            contact.name = note.contact.name.clone();
        }
        for email in &note.contact.emails {
            push_unique(&mut contact.emails, email);
        }
        for phone in &note.contact.phones {
            push_unique(&mut contact.phones, phone);
        }
        for (key, value) in &note.fields {
            letter.fields.entry(key.clone()).or_insert(value.clone());
        }
    }
    letter.text = [note.text.trim(), letter.text.trim()]
        .into_iter()
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if let Some(from) = from.filter(|f| !f.address.is_empty() || f.name.is_some()) {
        let by = match &from.name {
            Some(name) => format!("{name} <{}>", from.address),
            None => from.address.clone(),
        };
        letter
            .fields
            .insert("forwarded_by".into(), Value::String(by));
    }
    let kind = if by_sender {
        Forward::BySender
    } else {
        Forward::ByAnother
    };
    (letter, kind)
}

/// Whether two mailboxes are one person: the same address, or the same name when an address
/// is missing (Outlook shows only the name of a contact in its address book).
fn same_person(a: Option<&Mailbox>, b: Option<&Mailbox>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return false;
    };
    let address = |m: &Mailbox| m.address.trim().to_lowercase();
    if !address(a).is_empty() && !address(b).is_empty() {
        return address(a) == address(b);
    }
    let name = |m: &Mailbox| m.name.as_deref().map(|n| n.trim().to_lowercase());
    name(a).is_some() && name(a) == name(b)
}

/// A letter's own words and contacts: quotes cut, then read as a form notification or as an
/// ordinary letter.
fn read_own_words(from: Option<&Mailbox>, body: &str) -> LeadDraft {
    let unquoted = quote::cut_quote(body);
    let from_robot = from.is_some_and(|f| form_notice::is_robot(&f.address));
    let mut draft = LeadDraft::default();
    match form_notice::read(&unquoted, from_robot) {
        Some(notice) => fill_from_notice(&mut draft, notice),
        None => fill_from_letter(&mut draft, from, &unquoted, from_robot),
    }
    draft
}

/// An ordinary letter: the sender is the person, the text is above the signature, and the
/// contacts are wherever the person wrote them (body or signature, never the quote).
fn fill_from_letter(
    draft: &mut LeadDraft,
    from: Option<&Mailbox>,
    own_words: &str,
    from_robot: bool,
) {
    let (words, sig) = signature::split(own_words);
    draft.text = words.trim().to_string();
    let mut contact = RawContact::default();
    if let Some(from) = from.filter(|_| !from_robot) {
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

/// Adds `value` unless the list has it (in any case) or already holds
/// [`crate::lead::limits::MAX_FOUND`].
fn push_unique(list: &mut Vec<String>, value: &str) {
    let value = value.trim();
    let room = list.len() < crate::lead::limits::MAX_FOUND;
    if room && !value.is_empty() && !list.iter().any(|v| v.eq_ignore_ascii_case(value)) {
        list.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::limits::MAX_FOUND;
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
    fn a_body_of_countless_addresses_gives_the_sender_and_the_first_found() {
        let mut raw = b"From: Ivan <ivan@example.ru>\r\nMessage-ID: <many@example.ru>\r\n\
            Subject: List\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPrice please.\r\n"
            .to_vec();
        for n in 0..20_000 {
            raw.extend_from_slice(
                format!(
                    "a{n:06}@b.ru +7 916 {:03}-{:02}-{:02}\r\n",
                    n % 1000,
                    n / 1000 % 100,
                    n % 100
                )
                .as_bytes(),
            );
        }
        let draft = lead(&raw);
        assert_eq!(draft.contact.emails.len(), MAX_FOUND);
        assert_eq!(draft.contact.emails[0], "ivan@example.ru");
        assert_eq!(draft.contact.emails[1], "a000000@b.ru");
        assert_eq!(draft.contact.phones.len(), MAX_FOUND);
        assert_eq!(draft.contact.phones[0], "+7 916 000-00-00");
    }

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
    fn a_message_the_server_would_not_give_is_malformed_and_says_where_it_is() {
        let meta = json!({"mailbox": "INBOX", "uid": 42,
            META_UNREADABLE: {"since": "2026-12-06T10:00:00+00:00", "tries": 12}});
        match parse_stored_email(b"", &meta, &EmailContext::default()) {
            Parsed::NotLead(n) => {
                assert_eq!(n.reason, NotLeadReason::Malformed);
                assert_eq!(
                    n.detail,
                    "the server listed UID 42 in INBOX but did not give its content, 12 times \
                     since 2026-12-06T10:00:00+00:00: it was left in the mailbox, open it there"
                );
            }
            Parsed::Lead(d) => panic!("a lead: {d:?}"),
        }
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
            ..EmailContext::default()
        };
        let mut raw = b"x-our-loop: 1\r\n".to_vec();
        raw.extend_from_slice(LETTER);
        assert!(
            matches!(parse_email(&raw, &ctx), Parsed::NotLead(n) if n.reason == NotLeadReason::OwnNotification)
        );
    }

    #[test]
    fn a_form_notice_with_a_robots_headers_is_a_lead_and_a_newsletter_is_not() {
        let notice = |headers: &str| {
            format!(
                "From: Tilda Publishing <noreply@tilda.ws>\r\n{headers}Message-ID: <n1@tilda.ws>\r\n\
                 Subject: New request\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 Name: Ольга Смирнова\r\nPhone: +7 (911) 234-56-78\r\n\
                 Comment: Нужен расчёт отопления\r\n"
            )
        };
        for headers in [
            "Auto-Submitted: auto-generated\r\n",
            "List-Unsubscribe: <mailto:unsubscribe@tilda.ws>\r\n",
            "Precedence: bulk\r\n",
        ] {
            let draft = lead(notice(headers).as_bytes());
            assert_eq!(
                draft.contact.phones,
                vec!["+7 (911) 234-56-78"],
                "{headers}"
            );
        }
        let newsletter =
            b"From: Shop <news@shop.example>\r\nList-Unsubscribe: <mailto:u@shop.example>\r\n\
            Message-ID: <nl@shop.example>\r\nSubject: Sale\r\n\r\nOur winter sale is on.\r\n";
        assert_eq!(reason(newsletter), Some(NotLeadReason::Bulk));
        let vacation = b"From: Ivan <ivan@example.ru>\r\nAuto-Submitted: auto-replied\r\n\
            Message-ID: <ar@example.ru>\r\nSubject: Away\r\n\r\nI am away until Monday.\r\n";
        assert_eq!(reason(vacation), Some(NotLeadReason::AutoReply));
        // An auto-reply that lists a colleague's contacts is still an auto-reply, a robot's
        // newsletter with one phone in its footer still bulk, and a notice marked as spam spam.
        let away = notice("Auto-Submitted: auto-replied\r\n");
        assert_eq!(reason(away.as_bytes()), Some(NotLeadReason::AutoReply));
        let footer =
            b"From: Shop <noreply@shop.example>\r\nList-Unsubscribe: <mailto:u@shop.example>\r\n\
            Message-ID: <nl2@shop.example>\r\nSubject: Sale\r\n\r\nOur winter sale is on.\r\n\
            Phone: 8 800 555-35-35\r\n";
        assert_eq!(reason(footer), Some(NotLeadReason::Bulk));
        let flagged = notice("List-Unsubscribe: <mailto:u@tilda.ws>\r\nX-Spam-Flag: YES\r\n");
        assert_eq!(reason(flagged.as_bytes()), Some(NotLeadReason::Spam));
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

    fn lead_in(raw: &str) -> LeadDraft {
        let ctx = EmailContext {
            own_emails: vec!["sales@teplodom.example".into()],
            ..EmailContext::default()
        };
        match parse_email(raw.as_bytes(), &ctx) {
            Parsed::Lead(draft) => draft,
            Parsed::NotLead(not) => panic!("not a lead: {not:?}"),
        }
    }

    const STAFF_FORWARD: &str = "From: =?UTF-8?B?0JDQvdC90LAg0J/QtdGC0YDQvtCy0LA=?= <anna.petrova@gmail.com>\r\n\
        Reply-To: anna.petrova@gmail.com\r\nSubject: Fwd: =?UTF-8?B?0JrQvtGC0LXQuw==?=\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n\
        Клиент написал мне на личную почту, заведите заявку\r\n\r\n-- \r\nАнна, +7 921 000-00-01\r\n\r\n\
        ---------- Forwarded message ---------\r\nFrom: Сергей Волков <s.volkov@inbox.ru>\r\n\
        Date: Tue, 17 Nov 2026 at 11:03\r\nSubject: Котел\r\nTo: <anna.petrova@gmail.com>\r\n\r\n\
        Нужен котёл на 200 м².\r\n\r\nС уважением,\r\nСергей\r\n+7 911 222-33-44\r\n";

    #[test]
    fn a_letter_forwarded_by_staff_is_the_customers() {
        let d = lead_in(STAFF_FORWARD);
        assert_eq!(d.contact.name.as_deref(), Some("Сергей Волков"));
        assert_eq!(
            d.contact.emails,
            vec!["s.volkov@inbox.ru"],
            "not the forwarder's"
        );
        assert_eq!(
            d.contact.phones,
            vec!["+7 911 222-33-44"],
            "not the forwarder's"
        );
        assert_eq!(
            d.text,
            "Клиент написал мне на личную почту, заведите заявку\n\nНужен котёл на 200 м²."
        );
        assert_eq!(
            d.fields["forwarded_by"],
            "Анна Петрова <anna.petrova@gmail.com>"
        );
        assert_eq!(d.subject.as_deref(), Some("Котел"));
    }

    #[test]
    fn a_customers_own_letter_forwarded_again_keeps_his_contacts() {
        let raw = "From: Ivan <ivan@example.ru>\r\nSubject: Fwd: Boiler\r\n\r\n\
            Пишу повторно, ответа не получил.\r\nМой мобильный 8 916 555-66-77\r\n\r\n\
            -------- Пересылаемое сообщение --------\r\n\
            17.11.2026, 11:03, \"Ivan\" <ivan@example.ru>:\r\n\r\nНужна цена котла.\r\n\
            -------- Конец пересылаемого сообщения --------\r\n";
        let d = lead_in(raw);
        assert_eq!(d.contact.emails, vec!["ivan@example.ru"]);
        assert_eq!(d.contact.phones, vec!["8 916 555-66-77"]);
        assert!(d.text.ends_with("Нужна цена котла."), "{}", d.text);
        assert!(d.text.starts_with("Пишу повторно"), "{}", d.text);
    }

    #[test]
    fn the_business_letter_forwarded_back_is_a_quote() {
        let raw = "From: Ivan <ivan@example.ru>\r\nSubject: Fwd: KP\r\n\r\n\
            Хочу заказать по этому предложению.\r\n\r\n\
            ---------- Forwarded message ---------\r\n\
            From: TeploDom <sales@teplodom.example>\r\nDate: Monday\r\n\r\n\
            Предложение: котёл 35 кВт, 486 300 руб. Тел. +7 812 600-12-34\r\n";
        let d = lead_in(raw);
        assert_eq!(d.contact.emails, vec!["ivan@example.ru"]);
        assert_eq!(d.text, "Хочу заказать по этому предложению.");
        assert!(!d.fields.contains_key("forwarded_by"));
    }

    #[test]
    fn a_forward_of_a_forward_reaches_the_first_letter() {
        let raw = "From: Boss <boss@gmail.com>\r\nSubject: Fwd: Fwd: Boiler\r\n\r\nСрочно\r\n\
            ---------- Forwarded message ---------\r\nFrom: Anna <anna@gmail.com>\r\n\
            Date: Monday\r\n\r\nСмотри\r\n\
            ---------- Forwarded message ---------\r\nFrom: Kate <kate@example.ru>\r\n\
            Date: Sunday\r\n\r\nPrice of a boiler?\r\n";
        let d = lead_in(raw);
        assert_eq!(d.contact.emails, vec!["kate@example.ru"]);
        assert_eq!(d.text, "Срочно\n\nСмотри\n\nPrice of a boiler?");
        assert_eq!(d.fields["forwarded_by"], "Boss <boss@gmail.com>");
    }

    #[test]
    fn a_forwarded_letter_without_any_contact_falls_back_to_the_forwarder() {
        let raw = "From: Anna <anna@gmail.com>\r\nSubject: Fwd: Boiler\r\n\r\n\
            ---------- Forwarded message ---------\r\nDate: Monday\r\n\r\nPrice?\r\n";
        let d = lead_in(raw);
        assert_eq!(d.contact.emails, vec!["anna@gmail.com"]);
        assert_eq!(d.text, "Price?");
    }

    /// How each mail client opens a forwarded letter and names its sender (`{who}`): the
    /// separator or header block, and whether the mail's subject must say "Fwd:" for it.
    const FORWARD_STYLES: [(&str, &str); 12] = [
        (
            "yandex",
            "-------- Пересылаемое сообщение --------\n17.11.2026, 11:03, {who}:\n\n",
        ),
        (
            "mail.ru",
            "\n-------- Пересылаемое сообщение --------\nОт кого: {who}\nКому: anna@mail.ru\nДата: Вторник, 17 ноября 2026, 11:03 +03:00\nТема: Котёл\n\n",
        ),
        (
            "thunderbird ru",
            "-------- Пересылаемое сообщение --------\nТема: \tКотёл\nДата: \tTue, 17 Nov 2026 11:03:00 +0300\nОт: \t{who}\nКому: \tanna@mail.ru,\n boss@mail.ru\n\n\n\n",
        ),
        (
            "thunderbird en",
            "-------- Forwarded Message --------\nSubject: \tBoiler\nDate: \tTue, 17 Nov 2026 11:03:00 +0300\nFrom: \t{who}\nTo: \tanna@mail.ru\n\n",
        ),
        (
            "gmail en",
            "---------- Forwarded message ---------\nFrom: {who}\nDate: Tue, 17 Nov 2026 at 11:03\nSubject: Boiler\nTo: <anna@gmail.com>\n\n\n",
        ),
        (
            "gmail ru",
            "---------- Пересылаемое сообщение ---------\nОт: {who}\nDate: вт, 17 нояб. 2026 г. в 11:03\nSubject: Котёл\nTo: <anna@gmail.com>\n\n\n",
        ),
        (
            "apple en",
            "Begin forwarded message:\n\nFrom: {who}\nSubject: Boiler\nDate: 17 November 2026 at 11:03:00 GMT+3\nTo: anna@icloud.com\n\n",
        ),
        (
            "apple ru",
            "Начало переадресованного сообщения:\n\nОт: {who}\nТема: Котёл\nДата: 17 ноября 2026 г., в 11:03\nКому: anna@icloud.com\n\n",
        ),
        (
            "outlook en",
            "________________________________\nFrom: {who}\nSent: Tuesday, November 17, 2026 11:03 AM\nTo: Anna\nSubject: Boiler\n\n",
        ),
        (
            "outlook ru",
            "________________________________\nОт: {who}\nОтправлено: 17 ноября 2026 г. 11:03\nКому: Анна\nТема: Котёл\n\n",
        ),
        (
            "outlook old",
            "-----Original Message-----\nFrom: {who}\nSent: Tuesday, November 17, 2026 11:03 AM\nTo: Anna\nSubject: Boiler\n\n",
        ),
        (
            "outlook ru old",
            "-----Исходное сообщение-----\nОт: {who}\nОтправлено: 17 ноября 2026 г. 11:03\nКому: Анна\nТема: Котёл\n\n",
        ),
    ];

    /// How a forwarded letter's sender is written (Yandex's attribution quotes the name).
    const SENDER_SPELLINGS: [&str; 5] = [
        "Сергей Волков <s.volkov@inbox.ru>",
        "\"Сергей Волков\" <s.volkov@inbox.ru>",
        "*Сергей Волков* <s.volkov@inbox.ru>",
        "Сергей Волков [mailto:s.volkov@inbox.ru]",
        "s.volkov@inbox.ru",
    ];

    #[test]
    fn every_clients_forward_gives_the_forwarded_letters_request_and_sender() {
        let mut problems = Vec::new();
        let mut checked = 0;
        for (style, block) in FORWARD_STYLES {
            for who in SENDER_SPELLINGS {
                if style == "yandex" && who.starts_with('*') {
                    continue; // Yandex writes its own attribution line, never Gmail's bold.
                }
                for subject in ["Fwd: Котёл", "FW: Котёл", "Пересл: Котёл"] {
                    for note in [
                        "",
                        "Клиент написал мне на личную почту, заведите заявку\n\n-- \nАнна\n+7 921 000-00-01\n\n",
                    ] {
                        for end in ["", "\n-------- Конец пересылаемого сообщения --------\n"]
                        {
                            checked += 1;
                            let body = format!(
                                "{note}{}Добрый день! Нужен котёл на 200 м².\n\nС уважением,\nСергей\n+7 911 222-33-44\n{end}",
                                block.replace("{who}", who)
                            );
                            let raw = format!(
                                "From: Anna <anna.petrova@gmail.com>\r\nSubject: {subject}\r\n\
                                 Content-Type: text/plain; charset=utf-8\r\n\r\n{}",
                                body.replace('\n', "\r\n")
                            );
                            let d = lead_in(&raw);
                            let label = format!(
                                "{style} / {who} / {subject} / note {} / end {}",
                                !note.is_empty(),
                                !end.is_empty()
                            );
                            let mut fail = |what: String| problems.push(format!("{label}: {what}"));
                            if d.contact.emails != ["s.volkov@inbox.ru"] {
                                fail(format!("emails {:?}", d.contact.emails));
                            }
                            if d.contact.phones != ["+7 911 222-33-44"] {
                                fail(format!("phones {:?}", d.contact.phones));
                            }
                            let want_name = (!who.starts_with('s')).then_some("Сергей Волков");
                            if d.contact.name.as_deref() != want_name {
                                fail(format!("name {:?}", d.contact.name));
                            }
                            if !d.text.ends_with("Добрый день! Нужен котёл на 200 м².")
                            {
                                fail(format!("text {:?}", d.text));
                            }
                            if !note.is_empty() && !d.text.starts_with("Клиент написал мне")
                            {
                                fail(format!("the note is lost: {:?}", d.text));
                            }
                            for header in [
                                "From",
                                "От",
                                "Sent",
                                "Тема",
                                "Subject",
                                "------",
                                "____",
                                "переадресованного",
                                "forwarded",
                            ] {
                                if d.text.contains(header) {
                                    fail(format!("{header:?} in the text {:?}", d.text));
                                }
                            }
                            if d.fields.get("forwarded_by")
                                != Some(&json!("Anna <anna.petrova@gmail.com>"))
                            {
                                fail(format!("forwarded_by {:?}", d.fields.get("forwarded_by")));
                            }
                            if d.subject.as_deref() != Some("Котёл") {
                                fail(format!("subject {:?}", d.subject));
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 600, "{checked}");
        assert!(
            problems.is_empty(),
            "{} of {checked}:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }

    #[test]
    fn a_letter_forwarded_as_an_attachment_is_the_request() {
        let raw = "From: Anna <anna@gmail.com>\r\nSubject: FW: Boiler\r\n\
            Content-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nПрошу обработать\r\n\
            --b\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n\
            From: Kate <kate@example.ru>\r\nSubject: Boiler\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
            Нужен котёл, +7 911 222-33-44\r\n--b--\r\n";
        let d = lead_in(raw);
        assert_eq!(d.contact.emails, vec!["kate@example.ru"]);
        assert_eq!(d.contact.phones, vec!["+7 911 222-33-44"]);
        assert_eq!(d.text, "Прошу обработать\n\nНужен котёл, +7 911 222-33-44");
        assert_eq!(d.fields["forwarded_by"], "Anna <anna@gmail.com>");
        assert_eq!(d.fields["attachments"][0]["name"], "Boiler.eml");
        // Without a forward subject an attached letter is only a file.
        let d = lead_in(&raw.replace("FW: Boiler", "Boiler"));
        assert_eq!(d.contact.emails, vec!["anna@gmail.com"]);
    }

    #[test]
    fn a_reply_with_an_outlook_quote_is_not_a_forward() {
        let raw = "From: Ivan <ivan@example.ru>\r\nSubject: RE: KP\r\n\r\nДа, интересно.\r\n\
            From: Kate <kate@example.ru>\r\nSent: Monday\r\n\r\nOld text +7 911 000-00-00\r\n";
        let d = lead_in(raw);
        assert_eq!(d.contact.emails, vec!["ivan@example.ru"]);
        assert!(d.contact.phones.is_empty());
        assert_eq!(d.text, "Да, интересно.");
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
