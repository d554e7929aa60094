//! Signatures: cut from the lead's text, but read for the contact details they hold.
//!
//! A signature starts at the `-- ` delimiter, at a sign-off line near the end ("С уважением,",
//! "Best regards"), or at a mobile client's footer ("Отправлено из мобильной Почты Mail.ru").
//! Its phones and e-mails still belong to the person; its company and tax ids go to `fields`.

use regex::Regex;
use std::sync::LazyLock;

/// Sign-off phrases (lower-case) that open a signature when they start a short line.
const SIGN_OFFS: [&str; 14] = [
    "с уважением",
    "с наилучшими пожеланиями",
    "всего доброго",
    "всего наилучшего",
    "с благодарностью",
    "заранее спасибо",
    "best regards",
    "kind regards",
    "warm regards",
    "regards",
    "best wishes",
    "sincerely",
    "yours sincerely",
    "thanks and regards",
];

/// Footers mobile and web clients append (lower-case line prefixes).
const CLIENT_FOOTERS: [&str; 6] = [
    "sent from my",
    "sent from mail for",
    "get outlook for",
    "отправлено из",
    "отправлено с ",
    "отправлено через",
];

/// A sign-off only opens a signature when at most this many non-empty lines follow it; further
/// up it is more likely part of the request ("с уважением к вашему времени, ...").
const MAX_SIGNATURE_LINES: usize = 12;

/// A sign-off line longer than this is a sentence, not a sign-off.
const MAX_SIGN_OFF_CHARS: usize = 40;

/// Splits `text` into the person's words and the signature (empty when there is none).
pub fn split(text: &str) -> (&str, &str) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut tail = lines.iter().filter(|l| !l.trim().is_empty()).count();
    let mut offset = 0;
    for line in lines {
        let trimmed = line.trim_end_matches(['\r', '\n']);
        // Non-empty lines after this one.
        tail = tail.saturating_sub(usize::from(!trimmed.trim().is_empty()));
        if trimmed == "-- " || trimmed.trim() == "--" || opens_signature(trimmed, tail) {
            return (&text[..offset], &text[offset..]);
        }
        offset += line.len();
    }
    (text, "")
}

fn opens_signature(line: &str, lines_after: usize) -> bool {
    let lower = line.trim().to_lowercase();
    if lower.is_empty() || lower.chars().count() > MAX_SIGN_OFF_CHARS {
        return false;
    }
    CLIENT_FOOTERS.iter().any(|f| lower.starts_with(f))
        || (lines_after <= MAX_SIGNATURE_LINES && SIGN_OFFS.iter().any(|s| lower.starts_with(s)))
}

/// Details of a signature that are not contacts but belong in the lead's `fields`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    /// The line naming the company (`ООО «СИГ Строй»`).
    pub company: Option<String>,
    /// The tax id (ИНН).
    pub inn: Option<String>,
    /// The tax registration reason code (КПП).
    pub kpp: Option<String>,
    /// A phone extension (`доб. 214`), which E.164 cannot carry.
    pub phone_extension: Option<String>,
}

static COMPANY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s,])((?:ООО|ОАО|ЗАО|ПАО|АО|НАО|ТОО|ИП|LLC|Ltd\.?|GmbH|Inc\.?)\s+\S.*)$")
        .expect("company pattern compiles")
});
static INN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bИНН\s*:?\s*(\d{10}|\d{12})\b").expect("ИНН pattern compiles")
});
static KPP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bКПП\s*:?\s*(\d{9})\b").expect("КПП pattern compiles"));
static EXTENSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:доб\.?|добавочный|ext\.?|вн\.)\s*(\d{1,6})\b")
        .expect("extension pattern compiles")
});

/// Reads the company line, tax ids and a phone extension out of a signature.
pub fn details(signature: &str) -> Details {
    let capture = |re: &Regex| re.captures(signature).map(|c| c[1].to_string());
    Details {
        company: signature
            .lines()
            .find_map(|l| COMPANY.captures(l.trim()).map(|c| c[1].trim().to_string())),
        inn: capture(&INN),
        kpp: capture(&KPP),
        phone_extension: capture(&EXTENSION),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_opens_the_signature() {
        assert_eq!(split("Цена?\n-- \nИрина\n"), ("Цена?\n", "-- \nИрина\n"));
    }

    #[test]
    fn sign_off_near_the_end_opens_it() {
        let (words, sig) = split("Нужен котёл.\n\nС уважением,\nОлег\nТел.: 8 916 000-00-00\n");
        assert_eq!(words, "Нужен котёл.\n\n");
        assert!(sig.starts_with("С уважением"));
    }

    #[test]
    fn sign_off_words_inside_a_sentence_are_kept() {
        let text =
            "С уважением к вашему времени прошу перезвонить по поводу котла завтра.\nИрина\n";
        assert_eq!(split(text), (text, ""));
    }

    #[test]
    fn mobile_footer_is_a_signature() {
        assert_eq!(
            split("Да\nSent from my iPhone\n"),
            ("Да\n", "Sent from my iPhone\n")
        );
    }

    #[test]
    fn company_and_tax_ids_are_read() {
        let d = details(
            "С уважением,\nООО «СИГ Строй»\nИНН 7714123456 / КПП 771401001\nТел.: +7 (495) 984-21-37, доб. 214\n",
        );
        assert_eq!(d.company.as_deref(), Some("ООО «СИГ Строй»"));
        assert_eq!(d.inn.as_deref(), Some("7714123456"));
        assert_eq!(d.kpp.as_deref(), Some("771401001"));
        assert_eq!(d.phone_extension.as_deref(), Some("214"));
    }
}
