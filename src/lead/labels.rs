//! What a form calls its fields: the names people and form builders give the name, phone,
//! e-mail and message fields, in Russian and English, with their common variants.
//!
//! One list for every place a field is known only by its label: a direct form's field names,
//! the labels a connector's payload carries (Wix's submission labels, Google Forms' question
//! titles, Tilda's variable names), and the `Label: value` lines of a form notification mail.
//! `docs/connectors.md` lists it for the admin; a test keeps the two the same.

/// What a labelled field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelRole {
    /// The person's name, or a part of it (first name, surname).
    Name,
    /// A phone number.
    Phone,
    /// An e-mail address.
    Email,
    /// The person's own words.
    Message,
    /// A subject or topic.
    Subject,
    /// The person's company.
    Company,
}

/// Every known label, after [`normalise_label`], and its role.
pub const VOCABULARY: [(&str, LabelRole); 111] = [
    // Name
    ("name", LabelRole::Name),
    ("full name", LabelRole::Name),
    ("fullname", LabelRole::Name),
    ("first name", LabelRole::Name),
    ("firstname", LabelRole::Name),
    ("last name", LabelRole::Name),
    ("lastname", LabelRole::Name),
    ("surname", LabelRole::Name),
    ("contact name", LabelRole::Name),
    ("contact person", LabelRole::Name),
    ("client name", LabelRole::Name),
    ("customer name", LabelRole::Name),
    ("fio", LabelRole::Name),
    ("imya", LabelRole::Name),
    ("familiya", LabelRole::Name),
    ("имя", LabelRole::Name),
    ("фио", LabelRole::Name),
    ("ф и о", LabelRole::Name),
    ("фамилия", LabelRole::Name),
    ("отчество", LabelRole::Name),
    ("имя фамилия", LabelRole::Name),
    ("имя и фамилия", LabelRole::Name),
    ("фамилия имя", LabelRole::Name),
    ("фамилия и имя", LabelRole::Name),
    ("фамилия имя отчество", LabelRole::Name),
    ("имя отчество", LabelRole::Name),
    ("контактное лицо", LabelRole::Name),
    ("как к вам обращаться", LabelRole::Name),
    ("как вас зовут", LabelRole::Name),
    ("представьтесь", LabelRole::Name),
    // Phone
    ("phone", LabelRole::Phone),
    ("phone number", LabelRole::Phone),
    ("tel", LabelRole::Phone),
    ("telephone", LabelRole::Phone),
    ("mobile", LabelRole::Phone),
    ("mobile phone", LabelRole::Phone),
    ("cell", LabelRole::Phone),
    ("cell phone", LabelRole::Phone),
    ("contact phone", LabelRole::Phone),
    ("whatsapp", LabelRole::Phone),
    ("telefon", LabelRole::Phone),
    ("телефон", LabelRole::Phone),
    ("тел", LabelRole::Phone),
    ("моб", LabelRole::Phone),
    ("номер телефона", LabelRole::Phone),
    ("мобильный", LabelRole::Phone),
    ("мобильный телефон", LabelRole::Phone),
    ("сотовый", LabelRole::Phone),
    ("сотовый телефон", LabelRole::Phone),
    ("контактный телефон", LabelRole::Phone),
    ("телефон для связи", LabelRole::Phone),
    ("номер для связи", LabelRole::Phone),
    // Email
    ("email", LabelRole::Email),
    ("e mail", LabelRole::Email),
    ("mail", LabelRole::Email),
    ("email address", LabelRole::Email),
    ("e mail address", LabelRole::Email),
    ("contact email", LabelRole::Email),
    ("pochta", LabelRole::Email),
    ("почта", LabelRole::Email),
    ("эл почта", LabelRole::Email),
    ("электронная почта", LabelRole::Email),
    ("адрес электронной почты", LabelRole::Email),
    ("электронный адрес", LabelRole::Email),
    ("эл адрес", LabelRole::Email),
    ("e mail адрес", LabelRole::Email),
    ("емейл", LabelRole::Email),
    ("емэйл", LabelRole::Email),
    ("имейл", LabelRole::Email),
    ("мейл", LabelRole::Email),
    // Message
    ("message", LabelRole::Message),
    ("message text", LabelRole::Message),
    ("comment", LabelRole::Message),
    ("comments", LabelRole::Message),
    ("text", LabelRole::Message),
    ("question", LabelRole::Message),
    ("description", LabelRole::Message),
    ("details", LabelRole::Message),
    ("request", LabelRole::Message),
    ("inquiry", LabelRole::Message),
    ("enquiry", LabelRole::Message),
    ("notes", LabelRole::Message),
    ("soobshchenie", LabelRole::Message),
    ("kommentariy", LabelRole::Message),
    ("vopros", LabelRole::Message),
    ("сообщение", LabelRole::Message),
    ("текст", LabelRole::Message),
    ("текст сообщения", LabelRole::Message),
    ("комментарий", LabelRole::Message),
    ("комментарии", LabelRole::Message),
    ("вопрос", LabelRole::Message),
    ("описание", LabelRole::Message),
    ("описание задачи", LabelRole::Message),
    ("задача", LabelRole::Message),
    ("пожелания", LabelRole::Message),
    ("примечание", LabelRole::Message),
    ("заявка", LabelRole::Message),
    ("обращение", LabelRole::Message),
    // Subject
    ("subject", LabelRole::Subject),
    ("topic", LabelRole::Subject),
    ("тема", LabelRole::Subject),
    ("тема сообщения", LabelRole::Subject),
    ("тема обращения", LabelRole::Subject),
    // Company
    ("company", LabelRole::Company),
    ("company name", LabelRole::Company),
    ("organization", LabelRole::Company),
    ("organisation", LabelRole::Company),
    ("компания", LabelRole::Company),
    ("организация", LabelRole::Company),
    ("название компании", LabelRole::Company),
    ("название организации", LabelRole::Company),
];

/// Words that only ask for the field ("Ваш телефон", "Укажите e-mail", "Your name"), dropped
/// from the start of a label.
const PROMPTS: [&str; 10] = [
    "ваш",
    "ваша",
    "ваше",
    "ваши",
    "укажите",
    "введите",
    "your",
    "enter",
    "please",
    "пожалуйста",
];

/// A label as the vocabulary spells it: the part in the last `[...]` of a PHP-style name
/// (`contact[phone]`), lower-case, `ё` as `е`, `_`, `-`, `.` and `/` as spaces, without `*`,
/// `:`, `?`, an explanation in brackets, or the prompt words in front (`Ваше имя*` → `имя`).
pub fn normalise_label(label: &str) -> String {
    let label = label.trim();
    let label = match label.strip_suffix(']').and_then(|l| l.rsplit_once('[')) {
        Some((_, inner)) if !inner.trim().is_empty() => inner,
        _ => label,
    };
    let lower = label.to_lowercase().replace('ё', "е");
    // "Телефон (с кодом города)": what is in brackets only explains the field.
    let mut depth = 0usize;
    let spaced: String = lower
        .chars()
        .filter_map(|c| match c {
            '(' => {
                depth += 1;
                None
            }
            ')' => {
                depth = depth.saturating_sub(1);
                Some(' ')
            }
            _ if depth > 0 => None,
            '_' | '-' | '.' | '/' | '\u{a0}' | '*' | ':' | '?' => Some(' '),
            c => Some(c),
        })
        .collect();
    let mut words: Vec<&str> = spaced.split_whitespace().collect();
    while words.len() > 1 && PROMPTS.contains(&words[0]) {
        words.remove(0);
    }
    words.join(" ")
}

/// What a field labelled `label` holds, when the label is a known one.
pub fn label_role(label: &str) -> Option<LabelRole> {
    let label = normalise_label(label);
    VOCABULARY
        .iter()
        .find(|(known, _)| *known == label)
        .map(|(_, role)| *role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_and_english_labels_with_their_variants() {
        for (label, role) in [
            ("Ваше имя", LabelRole::Name),
            ("Ваше имя*", LabelRole::Name),
            ("Имя:", LabelRole::Name),
            ("Ф.И.О.", LabelRole::Name),
            ("Фамилия", LabelRole::Name),
            ("your-name", LabelRole::Name),
            ("First_Name", LabelRole::Name),
            ("Телефон", LabelRole::Phone),
            ("Ваш телефон", LabelRole::Phone),
            ("Укажите ваш телефон", LabelRole::Phone),
            ("Тел.", LabelRole::Phone),
            ("phone_number", LabelRole::Phone),
            ("contact[phone]", LabelRole::Phone),
            ("Электронная почта", LabelRole::Email),
            ("Эл. почта", LabelRole::Email),
            ("E-mail", LabelRole::Email),
            ("Your E-mail", LabelRole::Email),
            ("Комментарий", LabelRole::Message),
            ("Сообщение", LabelRole::Message),
            ("Ваш вопрос?", LabelRole::Message),
            ("Телефон (с кодом города)", LabelRole::Phone),
            ("Тема", LabelRole::Subject),
            ("Название компании", LabelRole::Company),
        ] {
            assert_eq!(label_role(label), Some(role), "{label}");
        }
    }

    #[test]
    fn other_labels_are_not_guessed() {
        for label in [
            "Город",
            "Адрес",
            "Бюджет",
            "Площадь дома",
            "Ваш",
            "name2",
            "Номер заказа",
        ] {
            assert_eq!(label_role(label), None, "{label}");
        }
    }

    #[test]
    fn the_vocabulary_is_normalised_and_has_no_duplicates() {
        let mut seen = std::collections::BTreeSet::new();
        for (label, _) in VOCABULARY {
            assert_eq!(
                normalise_label(label),
                label,
                "{label} is written normalised"
            );
            assert!(seen.insert(label), "{label} is listed twice");
        }
    }

    #[test]
    fn the_documented_list_is_the_vocabulary() {
        let doc = include_str!("../../docs/connectors.md");
        let section = doc
            .split("<!-- labels -->")
            .nth(1)
            .expect("docs/connectors.md has the labels section");
        for (label, role) in VOCABULARY {
            let line = section
                .lines()
                .find(|l| l.starts_with(&format!("| {role:?} ")))
                .unwrap_or_else(|| panic!("no {role:?} row in docs/connectors.md"));
            assert!(
                line.contains(&format!("`{label}`")),
                "docs/connectors.md's {role:?} row lacks `{label}`"
            );
        }
    }
}
