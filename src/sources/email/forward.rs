//! Forwarded letters: where the request is a letter inside the letter.
//!
//! A customer re-forwards his own unanswered letter ("пишу повторно, ответа не получил"), or a
//! member of staff forwards a customer's letter from a personal mailbox ("клиент написал мне
//! на личную почту, заведите заявку"). Unlike a quote, the forwarded letter is the request:
//! this finds it, with its sender, below the forwarder's note.
//!
//! A forward starts at a separator line (Yandex, Mail.ru and Thunderbird's "--------
//! Пересылаемое сообщение --------", Gmail's "---------- Forwarded message ---------", Apple
//! Mail's "Begin forwarded message:"), or, in a mail whose subject says it is a forward
//! ("Fwd:", "FW:", "Пересл:"), at an Outlook header block ("From:"/"Sent:", "От:"/
//! "Отправлено:") or an "-----Original Message-----" separator; without such a subject those
//! two are a reply's quote and `quote` cuts them. The forwarded letter's header block ("From:",
//! "От кого:", "Date:", "Тема:"..., or Yandex's `17.11.2026, 11:03, "Иван" <ivan@mail.ru>:`)
//! names its sender; its body runs to an end marker ("-------- Конец пересылаемого сообщения
//! --------") or the end of the text. A letter forwarded as an attachment (message/rfc822) is
//! taken by the parser from the MIME parts instead.

use super::mime::Mailbox;
use crate::lead::find_emails;

/// Separator lines that always open a forwarded letter (lower-case, without the dashes).
const FORWARD_SEPARATORS: [&str; 8] = [
    "пересылаемое сообщение",
    "пересланное сообщение",
    "переадресованное сообщение",
    "forwarded message",
    "forwarded message follows",
    "begin forwarded message",
    "начало переадресованного сообщения",
    "начало пересылаемого сообщения",
];

/// Separators that open the old message of a reply, or a forwarded one when the subject says
/// the mail is a forward.
const ORIGINAL_SEPARATORS: [&str; 3] = [
    "original message",
    "исходное сообщение",
    "оригинальное сообщение",
];

/// Lines that close a forwarded letter (lower-case, without the dashes).
const END_MARKERS: [&str; 5] = [
    "конец пересылаемого сообщения",
    "конец пересланного сообщения",
    "end forwarded message",
    "end of forwarded message",
    "end of forwarded message follows",
];

/// Subject prefixes of a forward (lower-case).
const FORWARD_SUBJECTS: [&str; 7] = [
    "fwd:",
    "fw:",
    "fwd[",
    "пересл:",
    "пересылка:",
    "переслано:",
    "перес:",
];

/// Header names of a forwarded letter's header block (lower-case, without the colon), and
/// which of them name the sender.
const SENDER_HEADERS: [&str; 3] = ["from", "от", "от кого"];
const OTHER_HEADERS: [&str; 14] = [
    "sent",
    "date",
    "to",
    "cc",
    "subject",
    "reply-to",
    "отправлено",
    "дата",
    "кому",
    "копия",
    "тема",
    "ответить",
    "обратный адрес",
    "importance",
];

/// A letter forwarded inside a mail's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarded<'a> {
    /// What the forwarder wrote above it (separator lines left out).
    pub note: &'a str,
    /// The forwarded letter's sender, as its header block names them.
    pub sender: Option<Mailbox>,
    /// The forwarded letter's text, below its header block and above an end marker.
    pub body: &'a str,
}

/// Whether a subject says the mail is a forward ("Fwd: Заявка", "FW: ...", "Пересл: ...").
pub fn subject_says_forward(subject: Option<&str>) -> bool {
    let subject = subject.unwrap_or("").trim_start().to_lowercase();
    FORWARD_SUBJECTS.iter().any(|p| subject.starts_with(p))
}

/// The subject without its forward prefixes ("Fwd: FW: Заявка" → "Заявка").
pub fn strip_forward_prefix(subject: &str) -> &str {
    let mut rest = subject.trim();
    loop {
        let lower = rest.to_lowercase();
        let Some(prefix) = FORWARD_SUBJECTS.iter().find(|p| lower.starts_with(*p)) else {
            return rest;
        };
        // "fwd[2]:" goes up to its colon; the others are their own length (same in bytes,
        // since the lower-case forms of these prefixes keep their lengths).
        let cut = if prefix.ends_with('[') {
            rest.find(':').map_or(rest.len(), |c| c + 1)
        } else {
            prefix.len()
        };
        rest = rest.get(cut..).unwrap_or("").trim_start();
    }
}

/// The first forwarded letter in `body`, or `None` when there is none. `subject_forward`
/// (from [`subject_says_forward`]) lets an Outlook header block or an "Original Message"
/// separator open one.
pub fn find(body: &str, subject_forward: bool) -> Option<Forwarded<'_>> {
    let lines = lines_with_offsets(body);
    let (start, headers_from) = (0..lines.len()).find_map(|i| {
        let line = lines[i].1;
        let bare = bare(line);
        let separator = FORWARD_SEPARATORS.contains(&bare.as_str())
            || (subject_forward
                && line.trim().starts_with("---")
                && ORIGINAL_SEPARATORS.contains(&bare.as_str()));
        if separator {
            return Some((i, i + 1));
        }
        (subject_forward && outlook_block(&lines, i)).then_some((i, i))
    })?;
    let (sender, body_from) = header_block(&lines, headers_from);
    let body_start = lines.get(body_from).map_or(body.len(), |(at, _)| *at);
    let body_end = lines[body_from.min(lines.len())..]
        .iter()
        .find(|(_, line)| END_MARKERS.contains(&bare(line).as_str()))
        .map_or(body.len(), |(at, _)| *at);
    let note_end = lines[start].0;
    let note = body[..note_end]
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '=' | '*'));
    Some(Forwarded {
        note,
        sender,
        body: &body[body_start..body_end.max(body_start)],
    })
}

/// Each line of `text` with the byte offset it starts at.
fn lines_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut at = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let start = at;
            at += line.len();
            (start, line)
        })
        .collect()
}

/// A line lower-cased without the dashes, underscores, colons and spaces around it.
fn bare(line: &str) -> String {
    line.trim()
        .trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c == ':' || c.is_whitespace())
        .to_lowercase()
}

/// `(header name, value)` when `line` is one of a forwarded letter's header lines.
fn header_line(line: &str) -> Option<(&'static str, &str)> {
    // Gmail's plain text bolds with asterisks: "*From:* Иван".
    let line = line.trim().trim_start_matches('*');
    let (name, value) = line.split_once(':')?;
    let name = name.trim().trim_end_matches('*').trim().to_lowercase();
    let value = value.trim().trim_start_matches('*').trim();
    SENDER_HEADERS
        .iter()
        .chain(&OTHER_HEADERS)
        .find(|h| **h == name)
        .map(|h| (*h, value))
}

/// An Outlook header block: a sender line followed, within the next three lines, by a date,
/// "Sent:" or addressee line.
fn outlook_block(lines: &[(usize, &str)], i: usize) -> bool {
    let is_sender = header_line(lines[i].1).is_some_and(|(name, _)| SENDER_HEADERS.contains(&name));
    is_sender
        && lines[i + 1..]
            .iter()
            .take(3)
            .filter_map(|(_, line)| header_line(line))
            .any(|(name, _)| !SENDER_HEADERS.contains(&name))
}

/// Reads the header block starting at line `from` (blank lines before it skipped): the
/// sender, and the first line of the forwarded body.
fn header_block(lines: &[(usize, &str)], from: usize) -> (Option<Mailbox>, usize) {
    let mut i = from;
    while lines.get(i).is_some_and(|(_, l)| l.trim().is_empty()) {
        i += 1;
    }
    let mut sender = None;
    let mut seen_header = false;
    while let Some((_, line)) = lines.get(i) {
        if let Some((name, value)) = header_line(line) {
            seen_header = true;
            if SENDER_HEADERS.contains(&name) && sender.is_none() {
                sender = mailbox(value);
            }
        } else if !seen_header && let Some(found) = attribution(line) {
            // Yandex: `17.11.2026, 11:03, "Иван Петров" <ivan@mail.ru>:` instead of headers.
            sender = Some(found);
            i += 1;
            break;
        } else if seen_header && line.starts_with([' ', '\t']) && !line.trim().is_empty() {
            // A long "To:" or "Кому:" wrapped onto the next line.
        } else {
            break;
        }
        i += 1;
    }
    (sender, i)
}

/// The sender of an attribution line such as `17.11.2026, 11:03, "Иван" <ivan@mail.ru>:`.
fn attribution(line: &str) -> Option<Mailbox> {
    let line = line.trim();
    let inner = line.strip_suffix(':')?;
    if !inner.contains('@') || !inner.contains(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (before, _) = inner.rsplit_once(['<', '[']).unwrap_or((inner, ""));
    let before = before.trim();
    let name = match before.strip_suffix('"') {
        Some(quoted) => quoted.rsplit_once('"').map(|(_, n)| n),
        None => before.rsplit(", ").next(),
    };
    let address = find_emails(inner).into_iter().next()?;
    Some(Mailbox {
        name: name.and_then(person_name),
        address,
    })
}

/// The mailbox a header value names: `Иван <ivan@mail.ru>`, `"Иван" <ivan@mail.ru>`,
/// `Иван [mailto:ivan@mail.ru]`, `ivan@mail.ru`, or only a name (Outlook shows no address for
/// a contact in its address book).
fn mailbox(value: &str) -> Option<Mailbox> {
    let address = find_emails(value).into_iter().next();
    let name_part = value.split(['<', '[', '(']).next().unwrap_or("").trim();
    let name = person_name(name_part);
    match (address, name) {
        (Some(address), name) => Some(Mailbox { name, address }),
        (None, Some(name)) => Some(Mailbox {
            name: Some(name),
            address: String::new(),
        }),
        (None, None) => None,
    }
}

/// A display name without quotes and Gmail's asterisks; `None` when empty or an address.
fn person_name(raw: &str) -> Option<String> {
    let name = raw
        .trim()
        .trim_matches(|c: char| c == '"' || c == '*' || c == '\'')
        .trim();
    (!name.is_empty() && !name.contains('@')).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender<'a>(f: &'a Forwarded<'_>) -> (Option<&'a str>, &'a str) {
        let s = f.sender.as_ref().expect("a sender");
        (s.name.as_deref(), s.address.as_str())
    }

    #[test]
    fn yandex_forward_with_its_attribution_and_end_marker() {
        let body = "Пишу повторно, ответа не получил.\n\n\
            -------- Пересылаемое сообщение --------\n\
            17.11.2026, 11:03, \"Иван Петров\" <ivan.petrov@yandex.ru>:\n\n\
            Нужен котёл на 150 м². Тел. 8 921 111-22-33\n\n\
            -------- Конец пересылаемого сообщения --------\n";
        let f = find(body, false).expect("a forward");
        assert_eq!(f.note, "Пишу повторно, ответа не получил.");
        assert_eq!(sender(&f), (Some("Иван Петров"), "ivan.petrov@yandex.ru"));
        assert_eq!(f.body.trim(), "Нужен котёл на 150 м². Тел. 8 921 111-22-33");
    }

    #[test]
    fn gmail_and_mail_ru_and_thunderbird_header_blocks() {
        for (body, name, address) in [
            (
                "Посмотрите, пожалуйста\n\n---------- Forwarded message ---------\n\
                 From: *Олег Смирнов* <o.smirnov@gmail.com>\nDate: Tue, 17 Nov 2026 at 11:03\n\
                 Subject: Котёл\nTo: <anna@gmail.com>\n\n\nДобрый день! Нужен котёл.\n",
                Some("Олег Смирнов"),
                "o.smirnov@gmail.com",
            ),
            (
                "\n-------- Пересылаемое сообщение --------\nОт кого: Ольга <olga@mail.ru>\n\
                 Кому: sales@teplodom.example\nДата: Вторник, 17 ноября 2026, 11:03 +03:00\n\
                 Тема: Котёл\n\nДобрый день! Нужен котёл.\n",
                Some("Ольга"),
                "olga@mail.ru",
            ),
            (
                "-------- Пересылаемое сообщение --------\nТема: \tКотёл\n\
                 Дата: \tTue, 17 Nov 2026 11:03:00 +0300\nОт: \tПётр <petr@rambler.ru>\n\
                 Кому: \tsales@teplodom.example,\n anna@teplodom.example\n\n\n\nДобрый день! Нужен котёл.\n",
                Some("Пётр"),
                "petr@rambler.ru",
            ),
            (
                "Begin forwarded message:\n\nFrom: Kate Ivanova <kate@icloud.com>\n\
                 Subject: Boiler\nDate: 17 November 2026 at 11:03:00 GMT+3\nTo: me@icloud.com\n\n\
                 Добрый день! Нужен котёл.\n",
                Some("Kate Ivanova"),
                "kate@icloud.com",
            ),
        ] {
            let f = find(body, false).unwrap_or_else(|| panic!("a forward in {body}"));
            assert_eq!(sender(&f), (name, address), "{body}");
            assert_eq!(f.body.trim(), "Добрый день! Нужен котёл.", "{body}");
        }
    }

    #[test]
    fn an_outlook_block_is_a_forward_only_under_a_forward_subject() {
        let body = "Клиент написал мне, заведите заявку\n\n________________________________\n\
            От: Сергей Волков <s.volkov@inbox.ru>\nОтправлено: 17 ноября 2026 г. 11:03\n\
            Кому: Анна Петрова\nТема: Котёл\n\nНужен котёл, тел. +7 911 222-33-44\n";
        assert_eq!(find(body, false), None, "a reply's quote");
        let f = find(body, true).expect("a forward");
        assert_eq!(f.note, "Клиент написал мне, заведите заявку");
        assert_eq!(sender(&f), (Some("Сергей Волков"), "s.volkov@inbox.ru"));
        assert_eq!(f.body.trim(), "Нужен котёл, тел. +7 911 222-33-44");
        let original = "FYI\n-----Original Message-----\nFrom: Kate [mailto:kate@x.example]\n\
            Sent: Monday\nSubject: Boiler\n\nPrice?\n";
        assert_eq!(find(original, false), None);
        let f = find(original, true).expect("a forward");
        assert_eq!(sender(&f), (Some("Kate"), "kate@x.example"));
        assert_eq!(f.body.trim(), "Price?");
    }

    #[test]
    fn a_sender_without_an_address_keeps_the_name() {
        let body =
            "-------- Forwarded Message --------\nFrom: Сергей Волков\nDate: Monday\n\nЦена?\n";
        let f = find(body, false).expect("a forward");
        assert_eq!(sender(&f), (Some("Сергей Волков"), ""));
    }

    #[test]
    fn a_letter_without_a_forward_has_none() {
        assert_eq!(find("Нужен котёл.\n-- \nИван\n", true), None);
        assert_eq!(find("", true), None);
    }

    #[test]
    fn forward_subjects() {
        assert!(subject_says_forward(Some("Fwd: Заявка")));
        assert!(subject_says_forward(Some("FW: Заявка")));
        assert!(subject_says_forward(Some("Пересл: Заявка")));
        assert!(!subject_says_forward(Some("Re: Fwd: Заявка")));
        assert!(!subject_says_forward(None));
        assert_eq!(strip_forward_prefix("Fwd: FW: Заявка"), "Заявка");
        assert_eq!(strip_forward_prefix("Fwd[2]: Заявка"), "Заявка");
        assert_eq!(strip_forward_prefix("Пересл: Заявка"), "Заявка");
        assert_eq!(strip_forward_prefix("Заявка"), "Заявка");
    }
}
