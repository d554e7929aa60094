//! Website form notifications (Tilda, Wix, Contact Form 7, Bitrix site forms, any generic
//! "Field: value" layout, Russian or English labels).
//!
//! Such a mail is sent by a robot on the visitor's behalf: the person is whoever the fields
//! name, never the robot's address; the visitor's message is the lead's text and every other
//! field goes to `fields`.

use crate::lead::{LabelRole, label_role, normalise_label};

/// What a field is about, from its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Name,
    Phone,
    Email,
    /// "От: Иван <ivan@example.ru>" (Contact Form 7's default template): name and e-mail.
    Sender,
    Message,
    Company,
    Utm,
    Other,
}

/// Labels of the sender line Contact Form 7's default template writes ("От: Иван
/// <ivan@example.ru>"), after `lead::normalise_label`; every other label is read with the
/// shared list of field names (`lead::VOCABULARY`).
const SENDER_LABELS: [&str; 3] = ["from", "от", "от кого"];

/// Sender domains of form services (lower-case suffixes).
const ROBOT_DOMAINS: [&str; 7] = [
    "tilda.ws",
    "tilda.cc",
    "wix.com",
    "wixforms.com",
    "bitrix24.ru",
    "bitrix24.com",
    "marquiz.ru",
];

/// Local parts robots send from (lower-case prefixes).
const ROBOT_LOCAL_PARTS: [&str; 8] = [
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "wordpress",
    "robot",
    "mailer",
    "forms",
];

/// The visitor's details read out of a form notification.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormNotice {
    /// The visitor's name.
    pub name: Option<String>,
    /// Phones as written in the fields.
    pub phones: Vec<String>,
    /// E-mails as written in the fields.
    pub emails: Vec<String>,
    /// The visitor's message (every message-like field, in order).
    pub text: String,
    /// The company field, when there is one.
    pub company: Option<String>,
    /// `utm_*` fields, as `(label, value)`.
    pub utm: Vec<(String, String)>,
    /// Every other field, as `(label as written, value)`.
    pub fields: Vec<(String, String)>,
    /// The first bare URL line: the page the form was on.
    pub page_url: Option<String>,
}

/// Whether `address` looks like a form robot's (`noreply@tilda.ws`, `wordpress@site`).
pub fn is_robot(address: &str) -> bool {
    let address = address.trim().to_ascii_lowercase();
    let (local, domain) = address.split_once('@').unwrap_or((&address, ""));
    ROBOT_DOMAINS
        .iter()
        .any(|d| domain == *d || domain.ends_with(&format!(".{d}")))
        || ROBOT_LOCAL_PARTS.iter().any(|p| local.starts_with(p))
}

/// Reads `body` as a form notification; `None` when it is an ordinary letter. `from_robot`
/// says the sender is a form service, which makes one labelled contact field enough.
pub fn read(body: &str, from_robot: bool) -> Option<FormNotice> {
    let lines: Vec<&str> = body.lines().map(str::trim).collect();
    let mut notice = FormNotice::default();
    let (mut contact_fields, mut labelled, mut free) = (0, 0, 0);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        if line.starts_with("--") || line.starts_with("__") {
            break;
        }
        if line.starts_with("http://") || line.starts_with("https://") {
            notice.page_url.get_or_insert_with(|| line.to_string());
            continue;
        }
        let Some((label, role, value)) = labelled_line(line) else {
            free += usize::from(!line.is_empty());
            continue;
        };
        labelled += 1;
        // A value may go on over the next lines until the next field; over blank lines too
        // for a message written below its label ("Сообщение:" alone, Contact Form 7's way).
        let through_blanks = role == Role::Message && value.is_empty();
        let mut value = value.to_string();
        let mut blank = false;
        while i < lines.len() {
            let next = lines[i];
            let ends = next.starts_with("--")
                || next.starts_with("http://")
                || next.starts_with("https://")
                || labelled_line(next).is_some()
                || (next.is_empty() && !through_blanks);
            if ends {
                break;
            }
            if next.is_empty() {
                blank = true;
            } else {
                if !value.is_empty() {
                    value.push_str(if blank { "\n\n" } else { "\n" });
                }
                value.push_str(next);
                blank = false;
            }
            i += 1;
        }
        if matches!(role, Role::Name | Role::Phone | Role::Email | Role::Sender) {
            contact_fields += 1;
        }
        notice.add(label, role, value.trim());
    }
    let is_form = if from_robot {
        contact_fields >= 1
    } else {
        contact_fields >= 2 && labelled >= 3 && free < labelled
    };
    is_form.then_some(notice)
}

impl FormNotice {
    fn add(&mut self, label: &str, role: Role, value: &str) {
        if value.is_empty() {
            return;
        }
        match role {
            // "Имя: Иван" and "Фамилия: Петров" are one name.
            Role::Name => match &mut self.name {
                Some(name) if !name.contains(value) => {
                    name.push(' ');
                    name.push_str(value);
                }
                Some(_) => {}
                None => self.name = Some(value.to_string()),
            },
            Role::Phone => self.phones.push(value.to_string()),
            Role::Email => self.emails.push(value.to_string()),
            Role::Sender => {
                let (name, email) = match value.split_once('<') {
                    Some((name, rest)) => (name.trim(), rest.trim_end_matches('>').trim()),
                    None if value.contains('@') => ("", value),
                    None => (value, ""),
                };
                if !name.is_empty() {
                    self.name
                        .get_or_insert_with(|| name.trim_matches('"').to_string());
                }
                if !email.is_empty() {
                    self.emails.push(email.to_string());
                }
            }
            Role::Message => {
                if !self.text.is_empty() {
                    self.text.push_str("\n\n");
                }
                self.text.push_str(value);
            }
            Role::Company => {
                self.company.get_or_insert_with(|| value.to_string());
            }
            Role::Utm => self.utm.push((label.to_string(), value.to_string())),
            Role::Other => self.fields.push((label.to_string(), value.to_string())),
        }
    }
}

/// `(label, role, value)` when `line` is `Label: value` (or a known `Label:` alone).
fn labelled_line(line: &str) -> Option<(&str, Role, &str)> {
    let (label, value) = line.split_once(':')?;
    let label = label.trim();
    let value = value.trim();
    let ok_label = !label.is_empty()
        && label.chars().count() <= 40
        && label.chars().next().is_some_and(char::is_alphabetic)
        && !label.ends_with(|c: char| c.is_ascii_digit())
        && label
            .chars()
            .all(|c| c.is_alphanumeric() || " ._-/()№*".contains(c));
    if !ok_label {
        return None;
    }
    let role = role_of(label);
    // An unknown label must look like a field: a space after the colon, and a value.
    let spaced = line[line.find(':').map_or(0, |p| p + 1)..].starts_with([' ', '\t']);
    if role == Role::Other && (value.is_empty() || !spaced || label.split_whitespace().count() > 4)
    {
        return None;
    }
    Some((label, role, value))
}

fn role_of(label: &str) -> Role {
    let bare = normalise_label(label);
    if bare.starts_with("utm ") {
        return Role::Utm;
    }
    if SENDER_LABELS.contains(&bare.as_str()) {
        return Role::Sender;
    }
    match label_role(label) {
        Some(LabelRole::Name) => Role::Name,
        Some(LabelRole::Phone) => Role::Phone,
        Some(LabelRole::Email) => Role::Email,
        Some(LabelRole::Message) => Role::Message,
        Some(LabelRole::Company) => Role::Company,
        // A notice's "Тема" is the form's topic, kept as a field beside the mail's subject.
        Some(LabelRole::Subject) | None => Role::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TILDA: &str = "Новая заявка\n\nName: ольга\nPhone: +7 (911) 234-56-78\nEmail: O@Y.ru\n\
        Comment: Нужен расчёт. Перезвоните после 17:00.\n\nRequest ID: 44:72\n\
        https://teplodom.example/raschet\n\n-----\nTilda Publishing\n";

    #[test]
    fn tilda_fields_are_read() {
        let n = read(TILDA, true).expect("a form");
        assert_eq!(n.name.as_deref(), Some("ольга"));
        assert_eq!(n.phones, vec!["+7 (911) 234-56-78"]);
        assert_eq!(n.emails, vec!["O@Y.ru"]);
        assert_eq!(n.text, "Нужен расчёт. Перезвоните после 17:00.");
        assert_eq!(
            n.fields,
            vec![("Request ID".to_string(), "44:72".to_string())]
        );
        assert_eq!(
            n.page_url.as_deref(),
            Some("https://teplodom.example/raschet")
        );
    }

    #[test]
    fn contact_form_7_layout_with_a_multiline_message() {
        let body = "От: Иван Петров <ivan@example.ru>\nТема: Котёл\n\nСообщение:\nСколько стоит?\n\nС монтажом.\n\n-- \nОтправлено с сайта\n";
        let n = read(body, true).expect("a form");
        assert_eq!(n.name.as_deref(), Some("Иван Петров"));
        assert_eq!(n.emails, vec!["ivan@example.ru"]);
        assert_eq!(n.text, "Сколько стоит?\n\nС монтажом.");
        assert_eq!(n.fields, vec![("Тема".to_string(), "Котёл".to_string())]);
    }

    #[test]
    fn an_ordinary_letter_with_contacts_at_the_end_is_not_a_form() {
        let body = "Добрый день!\nНужен котёл для дома.\nКогда можете приехать?\n\nТелефон: +7 916 000 00 00\nE-mail: a@b.ru\n";
        assert_eq!(read(body, false), None);
    }

    #[test]
    fn a_generic_layout_without_a_robot_is_a_form() {
        let body = "Имя: Олег\nТелефон: 8 916 000-00-00\nКомпания: ООО Ромашка\nВопрос: цена?\nutm_source: yandex\n";
        let n = read(body, false).expect("a form");
        assert_eq!(n.company.as_deref(), Some("ООО Ромашка"));
        assert_eq!(
            n.utm,
            vec![("utm_source".to_string(), "yandex".to_string())]
        );
    }

    #[test]
    fn labels_are_read_with_the_shared_list() {
        let body = "Ваше имя: Иван\nФамилия: Петров\nКонтактный телефон: 8 916 000-00-00\n\
            Адрес электронной почты: i@p.ru\nОписание задачи: котёл\n";
        let n = read(body, true).expect("a form");
        assert_eq!(n.name.as_deref(), Some("Иван Петров"));
        assert_eq!(n.phones, vec!["8 916 000-00-00"]);
        assert_eq!(n.emails, vec!["i@p.ru"]);
        assert_eq!(n.text, "котёл");
    }

    #[test]
    fn robots_are_recognised() {
        assert!(is_robot("noreply@tilda.ws"));
        assert!(is_robot("wordpress@teplodom.example"));
        assert!(is_robot("forms@mail.wix.com"));
        assert!(!is_robot("irina@mail.ru"));
    }
}
