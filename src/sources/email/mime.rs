//! MIME to parts: what the rest of the e-mail parser needs out of one RFC 5322 message.
//!
//! mail-parser does the heavy lifting (charsets, RFC 2047 words, quoted-printable, base64,
//! RFC 2231 file names); this file only picks the pieces a lead is made of and gives them
//! plain owned types, so the other steps never touch the library's API.

use super::rfc2231;
use crate::lead::html_to_text;
use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

/// One mailbox of an address header: the display name (decoded) and the address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, when there is one.
    pub name: Option<String>,
    /// The address as written.
    pub address: String,
}

/// A file attached to the message, listed in the lead's `fields.attachments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The decoded file name (`attachment` when the sender gave none).
    pub name: String,
    /// The MIME type, `type/subtype`.
    pub mime_type: String,
    /// The decoded size in bytes.
    pub size: usize,
}

/// A message attached whole (`message/rfc822`: Outlook's and Yandex's "forward as
/// attachment"): its sender, subject and readable body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachedLetter {
    /// Its first `From` mailbox.
    pub from: Option<Mailbox>,
    /// Its decoded subject.
    pub subject: Option<String>,
    /// Its readable body, as [`Mail::body`].
    pub body: String,
}

/// What the parser uses of one message, decoded and owned.
#[derive(Debug, Clone, Default)]
pub struct Mail {
    /// `Message-ID` with its angle brackets, as the corpus and the store key on it.
    pub message_id: Option<String>,
    /// The decoded subject.
    pub subject: Option<String>,
    /// The first `From` mailbox.
    pub from: Option<Mailbox>,
    /// Every `Reply-To` mailbox.
    pub reply_to: Vec<Mailbox>,
    /// Top-level headers as `(lower-case name, unfolded raw value)`, for the noise checks.
    pub headers: Vec<(String, String)>,
    /// The top-level `type/subtype`, lower-case.
    pub content_type: String,
    /// The top-level `report-type` parameter (`delivery-status` for bounces), lower-case.
    pub report_type: Option<String>,
    /// The readable body: text/plain when there is one, else the HTML as clean text.
    pub body: String,
    /// Files attached to the message.
    pub attachments: Vec<Attachment>,
    /// Messages attached whole (each is also one of `attachments`).
    pub attached_letters: Vec<AttachedLetter>,
    /// Ids from `In-Reply-To` then `References`, with angle brackets, without duplicates.
    pub replies_to: Vec<String>,
}

impl Mail {
    /// The unfolded raw value of the first top-level header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Decodes `raw`; `None` when it is not a message at all (empty or no header block).
pub fn read(raw: &[u8]) -> Option<Mail> {
    let message = MessageParser::default().parse(raw)?;
    let root = message.root_part();
    let (content_type, report_type) = match root.content_type() {
        Some(ct) => (
            format!(
                "{}/{}",
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase()
            ),
            ct.attribute("report-type").map(str::to_ascii_lowercase),
        ),
        None => ("text/plain".to_string(), None),
    };
    let mut replies_to = Vec::new();
    for value in [message.in_reply_to(), message.references()] {
        for id in message_ids(value) {
            if !replies_to.contains(&id) {
                replies_to.push(id);
            }
        }
    }
    Some(Mail {
        message_id: message.message_id().map(bracketed),
        subject: message.subject().map(str::to_string),
        from: message
            .from()
            .and_then(mailboxes)
            .and_then(|m| m.into_iter().next()),
        reply_to: message.reply_to().and_then(mailboxes).unwrap_or_default(),
        headers: message
            .headers_raw()
            .map(|(name, value)| (name.to_ascii_lowercase(), unfold(value)))
            .collect(),
        content_type,
        report_type,
        body: body(&message),
        attachments: message
            .attachments()
            .map(|part| attachment(part, &message.raw_message))
            .collect(),
        attached_letters: message
            .attachments()
            .filter_map(MessagePart::message)
            .map(|letter| AttachedLetter {
                from: letter
                    .from()
                    .and_then(mailboxes)
                    .and_then(|m| m.into_iter().next()),
                subject: letter.subject().map(str::to_string),
                body: body(letter),
            })
            .collect(),
        replies_to,
    })
}

/// The key a letter is known by wherever it is found (a rescan, another folder): its
/// Message-ID, then a digest of the headers every copy of it carries unchanged (From,
/// Reply-To, Date, Subject). The Message-ID alone is not enough: a site's form mailer may give
/// every notice the same one, and the next visitor's request would be taken for a copy of the
/// first and never kept. `None` for a letter without a Message-ID. [`letter_id`] reads the
/// Message-ID back.
pub(super) fn letter_key(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse_headers(raw)?;
    let id = own_id(&message)?;
    let headers: Vec<String> = [
        HeaderName::From,
        HeaderName::ReplyTo,
        HeaderName::Date,
        HeaderName::Subject,
    ]
    .into_iter()
    .map(|name| {
        let value = message.header_raw(name).unwrap_or_default();
        value.split_whitespace().collect::<Vec<_>>().join(" ")
    })
    .collect();
    let digest = crate::digest::sha256_short(headers.join("\n").as_bytes());
    Some(format!("{id} {digest}"))
}

/// The Message-ID a [`letter_key`] starts with (a key kept before the headers' digest was
/// added is the Message-ID alone).
pub(super) fn letter_id(key: &str) -> &str {
    key.rsplit_once(' ').map_or(key, |(id, _)| id)
}

/// The Message-ID in the header section, bracketed as [`read`] gives it.
fn own_id(message: &Message<'_>) -> Option<String> {
    message
        .message_id()
        .filter(|id| !id.trim().is_empty())
        .map(bracketed)
}

/// Puts back the angle brackets mail-parser strips from message ids.
fn bracketed(id: &str) -> String {
    format!(
        "<{}>",
        id.trim().trim_start_matches('<').trim_end_matches('>')
    )
}

fn message_ids(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(id) => vec![bracketed(id)],
        HeaderValue::TextList(ids) => ids.iter().map(|id| bracketed(id)).collect(),
        _ => Vec::new(),
    }
}

fn mailboxes(address: &Address<'_>) -> Option<Vec<Mailbox>> {
    let list: Vec<Mailbox> = address
        .iter()
        .filter_map(|a| {
            Some(Mailbox {
                name: a
                    .name()
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string),
                address: a.address()?.trim().to_string(),
            })
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The inline text bodies joined: plain text as sent (format=flowed joined), HTML as clean text.
fn body(message: &Message<'_>) -> String {
    let texts: Vec<String> = message
        .text_bodies()
        .filter_map(|part| match &part.body {
            PartType::Text(text) if is_flowed(part) => Some(unflow(text, is_delsp(part))),
            PartType::Text(text) => Some(text.replace("\r\n", "\n")),
            PartType::Html(html) => Some(html_to_text(html)),
            _ => None,
        })
        .collect();
    texts.join("\n\n")
}

/// The part's file name from its raw headers when it is sent in RFC 2231 continuations
/// (`rfc2231`), which mail-parser decodes piece by piece.
fn continued_file_name(part: &MessagePart<'_>, raw: &[u8]) -> Option<String> {
    let raw_header = |name: HeaderName<'_>| {
        let header = part.headers.iter().find(|h| h.name == name)?;
        raw.get(header.offset_start as usize..header.offset_end as usize)
    };
    raw_header(HeaderName::ContentDisposition)
        .and_then(|value| rfc2231::continued_param(value, "filename"))
        .or_else(|| {
            raw_header(HeaderName::ContentType)
                .and_then(|value| rfc2231::continued_param(value, "name"))
        })
}

/// The decoded bytes of the `n`th attachment of `raw` (in the order [`Mail::attachments`]
/// lists them), for the file keeper.
pub fn attachment_bytes(raw: &[u8], n: usize) -> Option<Vec<u8>> {
    let message = MessageParser::default().parse(raw)?;
    let part = message.attachments().nth(n)?;
    Some(part.contents().to_vec())
}

fn attachment(part: &MessagePart<'_>, raw: &[u8]) -> Attachment {
    let mime_type = part.content_type().map_or_else(
        || "application/octet-stream".to_string(),
        |ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
    );
    let name = continued_file_name(part, raw)
        .or_else(|| {
            part.attachment_name()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
        })
        .or_else(|| {
            part.message()
                .and_then(Message::subject)
                .map(|s| format!("{s}.eml"))
        })
        .unwrap_or_else(|| "attachment".to_string());
    Attachment {
        name,
        mime_type,
        size: part.len(),
    }
}

fn content_type_param<'a>(part: &'a MessagePart<'_>, name: &str) -> Option<&'a str> {
    part.content_type()?.attribute(name)
}

fn is_flowed(part: &MessagePart<'_>) -> bool {
    content_type_param(part, "format").is_some_and(|f| f.eq_ignore_ascii_case("flowed"))
}

fn is_delsp(part: &MessagePart<'_>) -> bool {
    content_type_param(part, "delsp").is_some_and(|d| d.eq_ignore_ascii_case("yes"))
}

/// RFC 3676: a line ending in a space continues on the next one (the signature separator
/// `-- ` excepted); with `delsp=yes` that space is not part of the text.
fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.replace("\r\n", "\n").split('\n') {
        let soft = line.ends_with(' ') && line != "-- " && !line.starts_with('>');
        if soft {
            out.push_str(if delsp { &line[..line.len() - 1] } else { line });
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_get_their_brackets_back() {
        let raw = b"Message-ID: <a.b@c.example>\r\nIn-Reply-To: <x@y>\r\nReferences: <w@z> <x@y>\r\n\r\nhi\r\n";
        let mail = read(raw).expect("a message");
        assert_eq!(mail.message_id.as_deref(), Some("<a.b@c.example>"));
        assert_eq!(
            mail.replies_to,
            vec!["<x@y>".to_string(), "<w@z>".to_string()]
        );
    }

    #[test]
    fn a_letter_is_keyed_by_its_message_id_and_the_headers_every_copy_keeps() {
        let letter = |extra: &str, reply_to: &str| {
            format!(
                "Received: by mx{extra}\r\nFrom: Site <robot@site.example>\r\nReply-To: {reply_to}\r\n\
                 Subject: Request\r\nDate: Thu, 19 Nov 2026 11:02:58 +0300\r\n\
                 Message-ID: <form@site.example>\r\n\r\nbody {extra}\r\n"
            )
        };
        let key = |raw: String| letter_key(raw.as_bytes()).expect("a key");
        let first = key(letter("1", "olga@x.ru"));
        assert!(first.starts_with("<form@site.example> "), "{first}");
        assert_eq!(letter_id(&first), "<form@site.example>");
        assert_eq!(letter_id("<old@key>"), "<old@key>");
        // Another copy of the same letter (another relay, another folder): the same key.
        assert_eq!(key(letter("2", "olga@x.ru")), first);
        assert_eq!(
            key(letter("1", "olga@x.ru").replace("Subject: Request", "Subject:  Request")),
            first
        );
        // Another visitor's notice under the same Message-ID: another key.
        assert_ne!(key(letter("1", "petr@x.ru")), first);
        assert_eq!(letter_key(b"From: a@b\r\n\r\nno id\r\n"), None);
    }

    #[test]
    fn flowed_lines_join_and_the_signature_separator_stays() {
        assert_eq!(unflow("one \ntwo\n-- \nsig", false), "one two\n-- \nsig\n");
        assert_eq!(unflow("one \ntwo", true), "onetwo\n");
    }

    #[test]
    fn a_file_name_cut_inside_a_character_is_whole() {
        let raw = b"From: a@example.ru\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
            --b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n\
            --b\r\nContent-Type: application/pdf;\r\n name*0*=utf-8''%D0%97%D0%B0%D1%8F%D0%B2%D0%BA%D0%B0_%D0%BE%D1;\r\n name*1*=%82%D0%BE%D0%BF%D0%BB%D0%B5%D0%BD%D0%B8%D0%B5.pdf\r\n\
            Content-Disposition: attachment;\r\n filename*0*=utf-8''%D0%97%D0%B0%D1%8F%D0%B2%D0%BA%D0%B0_%D0%BE%D1;\r\n filename*1*=%82%D0%BE%D0%BF%D0%BB%D0%B5%D0%BD%D0%B8%D0%B5.pdf\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
        let mail = read(raw).expect("a message");
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].name, "Заявка_отопление.pdf");
        // What the library alone makes of it.
        let message = MessageParser::default().parse(&raw[..]).expect("parses");
        let library = message
            .attachments()
            .next()
            .and_then(|p| p.attachment_name());
        assert_ne!(library, Some("Заявка_отопление.pdf"));
    }

    #[test]
    fn html_only_body_becomes_text() {
        let raw = b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello&nbsp;<b>there</b></p><style>p{color:red}</style>\r\n";
        let mail = read(raw).expect("a message");
        assert!(mail.body.contains("Hello there"), "{:?}", mail.body);
        assert!(!mail.body.contains("color"), "{:?}", mail.body);
    }
}
