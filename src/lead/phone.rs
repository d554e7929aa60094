//! Phone numbers: raw strings as people write them into E.164.
//!
//! Validation is libphonenumber's (the `phonenumber` port), with one guard: version 0.3.10
//! strips the leading `8` of Russian area codes (`812` St Petersburg, `800` toll-free) when it
//! parses a `+7` number, turning valid numbers into invalid ones (whisperfish/rust-phonenumber#76).
//! Numbers under +7 whose national part starts with 8 are therefore checked here directly.

use phonenumber::{Mode, country};

/// Turns raw phone strings into E.164 with a configurable default region.
#[derive(Debug, Clone)]
pub struct PhoneNormaliser {
    region: country::Id,
}

/// The default region is not an ISO 3166 code libphonenumber knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown phone region {0:?}: use a two-letter ISO 3166 code such as \"RU\"")]
pub struct UnknownRegion(pub String);

impl PhoneNormaliser {
    /// A normaliser for numbers written without a country code in `region` (e.g. `"RU"`).
    pub fn new(region: &str) -> Result<PhoneNormaliser, UnknownRegion> {
        let region = region
            .trim()
            .to_ascii_uppercase()
            .parse::<country::Id>()
            .map_err(|_| UnknownRegion(region.to_string()))?;
        Ok(PhoneNormaliser { region })
    }

    /// The E.164 form of `raw`, or `None` when it is not a valid number. Extensions
    /// (`доб. 214`, `ext. 5`) are not part of E.164 and are cut first.
    pub fn to_e164(&self, raw: &str) -> Option<String> {
        let raw = cut_extension(raw);
        let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
        if digits.len() < 5 || digits.len() > 15 {
            return None;
        }
        let international = raw.trim_start().starts_with('+') || raw.trim_start().starts_with("00");
        if let Some(national) = self.russian_8xx(&digits, international) {
            return Some(format!("+7{national}"));
        }
        let number = phonenumber::parse(Some(self.region), raw).ok()?;
        if !phonenumber::is_valid(&number) {
            return None;
        }
        Some(number.format().mode(Mode::E164).to_string())
    }

    /// The national part of a +7 number whose area code starts with 8 (the numbers the
    /// library mangles), written as `+7 8xx`, `7 8xx`, `8 8xx` (trunk prefix) or, in the RU
    /// region, `8xx` with ten digits.
    fn russian_8xx(&self, digits: &str, international: bool) -> Option<String> {
        let national = if international {
            digits
                .strip_prefix("007")
                .or_else(|| digits.strip_prefix('7'))?
        } else if digits.len() == 11 && (digits.starts_with('7') || digits.starts_with('8')) {
            if self.region != country::Id::RU && self.region != country::Id::KZ {
                return None;
            }
            &digits[1..]
        } else if digits.len() == 10 && self.region == country::Id::RU {
            digits
        } else {
            return None;
        };
        let code = national.get(..3)?;
        (national.len() == 10 && RUSSIAN_8XX_CODES.contains(&code)).then(|| national.to_string())
    }
}

/// Russian area codes starting with 8 (non-geographic 800-809 and the regions), from the
/// Rossvyaz numbering plan: the numbers the library mangles.
const RUSSIAN_8XX_CODES: [&str; 49] = [
    "800", "801", "802", "803", "804", "808", "809", "811", "812", "813", "814", "815", "816",
    "817", "818", "820", "821", "831", "833", "834", "835", "836", "840", "841", "842", "843",
    "844", "845", "846", "847", "848", "851", "855", "861", "862", "863", "865", "866", "867",
    "869", "871", "872", "873", "877", "878", "879", "881", "882", "883",
];

/// Cuts an extension written after the number: `доб. 214`, `доб 214`, `ext. 5`, `x123`.
fn cut_extension(raw: &str) -> &str {
    let lower = raw.to_lowercase();
    for marker in ["доб", "ext", " x", "вн."] {
        if let Some(pos) = lower.find(marker) {
            // `to_lowercase` keeps byte offsets for these ASCII/Cyrillic markers' prefixes only
            // when lengths match; find the same position in the original by char count.
            let chars = lower[..pos].chars().count();
            let cut = raw.char_indices().nth(chars).map_or(raw.len(), |(i, _)| i);
            return raw[..cut].trim_end_matches([',', ';', ' ', '(']);
        }
    }
    raw
}

/// Words that, right before a number, say it is not a phone: tax and registration ids, bank
/// accounts, order numbers.
const NOT_PHONE_PREFIXES: [&str; 19] = [
    "инн",
    "кпп",
    "огрн",
    "огрнип",
    "бик",
    "окпо",
    "окато",
    "октмо",
    "снилс",
    "р/с",
    "к/с",
    "счет",
    "счёт",
    "заказ",
    "договор",
    "inn",
    "kpp",
    "order",
    "invoice",
];

/// Finds phone-like runs in free text (signatures, comments, messages) and returns them as
/// written, extension included so [`PhoneNormaliser::to_e164`] can cut it. Runs introduced by a
/// tax or registration id label (`ИНН 7714123456`) are skipped.
pub fn find_phones(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !(c.is_ascii_digit() || c == '+') {
            i += 1;
            continue;
        }
        // A run of digits and the separators people put inside numbers.
        let mut j = i;
        let mut digits = 0;
        let mut last_digit_end = start;
        while j < chars.len() {
            let (pos, ch) = chars[j];
            if ch.is_ascii_digit() {
                digits += 1;
                last_digit_end = pos + ch.len_utf8();
            } else if !(matches!(ch, ' ' | '-' | '(' | ')' | '.' | '\u{a0}' | '–')
                || (ch == '+' && j == i))
            {
                break;
            }
            j += 1;
        }
        let candidate = &text[start..last_digit_end];
        // Glued to a word or to another id ("7714123456/771401001", "№2611").
        let preceded_by_word = i > 0
            && (chars[i - 1].1.is_alphanumeric()
                || matches!(chars[i - 1].1, '/' | '\\' | '№' | '#'));
        if (7..=15).contains(&digits)
            && !preceded_by_word
            && !is_date(candidate)
            && !labelled_as_not_phone(&text[..start])
        {
            found.push(candidate.trim().to_string());
        }
        i = j.max(i + 1);
    }
    found
}

/// `27.11.2026`, `1.2.26`: a date, which has the digits of a short phone number.
fn is_date(candidate: &str) -> bool {
    let parts: Vec<&str> = candidate.split('.').collect();
    let digits = |p: &str, lens: std::ops::RangeInclusive<usize>| {
        lens.contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit())
    };
    parts.len() == 3
        && digits(parts[0], 1..=2)
        && digits(parts[1], 1..=2)
        && digits(parts[2], 2..=4)
}

fn labelled_as_not_phone(before: &str) -> bool {
    let tail: String = before
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let tail = tail.to_lowercase();
    let word = tail
        .trim_end_matches(|c: char| c.is_whitespace() || c == ':' || c == '№' || c == '#')
        .rsplit(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '(')
        .next()
        .unwrap_or("");
    // "ИНН/КПП 7714123456/771401001": any part of a compound label counts.
    NOT_PHONE_PREFIXES.contains(&word)
        || word
            .split('/')
            .any(|part| NOT_PHONE_PREFIXES.contains(&part))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ru() -> PhoneNormaliser {
        PhoneNormaliser::new("RU").expect("RU is a region")
    }

    #[test]
    fn russian_mobile_written_with_trunk_prefix() {
        assert_eq!(
            ru().to_e164("8 (916) 123-45-67").as_deref(),
            Some("+79161234567")
        );
        assert_eq!(
            ru().to_e164("+7 981 1234567").as_deref(),
            Some("+79811234567")
        );
        assert_eq!(ru().to_e164("89052223344").as_deref(), Some("+79052223344"));
    }

    #[test]
    fn area_codes_starting_with_8_are_not_mangled() {
        assert_eq!(
            ru().to_e164("+7 (812) 335-47-10").as_deref(),
            Some("+78123354710")
        );
        assert_eq!(
            ru().to_e164("8 (812) 407-33-90").as_deref(),
            Some("+78124073390")
        );
        assert_eq!(
            ru().to_e164("8-800-555-35-35").as_deref(),
            Some("+78005553535")
        );
    }

    #[test]
    fn other_countries_keep_their_code() {
        assert_eq!(
            ru().to_e164("+375 (29) 612-34-56").as_deref(),
            Some("+375296123456")
        );
        assert_eq!(
            ru().to_e164("+7 (727) 350-11-22").as_deref(),
            Some("+77273501122")
        );
    }

    #[test]
    fn incomplete_numbers_are_dropped() {
        assert_eq!(ru().to_e164("8 916 12-34"), None);
        assert_eq!(ru().to_e164(""), None);
        assert_eq!(ru().to_e164("call me"), None);
    }

    #[test]
    fn extensions_are_cut() {
        assert_eq!(
            ru().to_e164("+7 (495) 123-45-67 доб. 214").as_deref(),
            Some("+74951234567")
        );
    }

    #[test]
    fn tax_ids_are_not_phones() {
        let found = find_phones("ООО Ромашка, ИНН 7714123456, тел. +7 (495) 123-45-67 доб. 214");
        assert_eq!(found, vec!["+7 (495) 123-45-67".to_string()]);
    }

    #[test]
    fn compound_tax_ids_and_dates_are_not_phones() {
        let found =
            find_phones("ИНН/КПП: 7714123456/771401001, КП до 27.11.2026, моб. 8-920-011-22-33");
        assert_eq!(found, vec!["8-920-011-22-33".to_string()]);
    }

    #[test]
    fn unknown_region_is_an_error() {
        assert!(PhoneNormaliser::new("XX").is_err());
    }
}
