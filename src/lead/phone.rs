//! Phone numbers: raw strings as people write them into E.164.
//!
//! Validation is libphonenumber's (the `phonenumber` port), with one guard: version 0.3.10
//! strips the leading `8` of Russian area codes (`812` St Petersburg, `800` toll-free) when it
//! parses a `+7` number, turning valid numbers into invalid ones (whisperfish/rust-phonenumber#76).
//! Numbers under +7 whose national part starts with 8 are therefore checked here directly.
//!
//! A number written with its country code is read by that country's own rules, not the
//! default region's: the library strips a national trunk prefix only by the metadata of the
//! region it was given, so `+375 (029) 703-18-46` or `+49 (0) 176 ...` (the trunk prefix people
//! keep after the country code) came out invalid under the RU default. After the country code,
//! the number as written is tried first, then without the country's trunk prefix, then without
//! a leading `0` (written from habit where the country has none, `+48 (0) 22 ...`): the first
//! valid one wins, so a number that is valid as written (Italy's `+39 06 ...`) keeps its `0`.

use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, country};

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
        // 15 digits of E.164, plus an international `00` and a trunk prefix written after
        // the country code.
        if digits.len() < 5 || digits.len() > 18 {
            return None;
        }
        let start = raw.trim_start();
        let international = start.starts_with('+') || start.starts_with("00");
        if let Some(national) = self.russian_8xx(&digits, international) {
            return Some(format!("+7{national}"));
        }
        if international {
            let after_plus = digits
                .strip_prefix("00")
                .filter(|_| !start.starts_with('+'));
            let digits = after_plus.unwrap_or(&digits);
            let read = without_bracketed_zero(start, digits)
                .and_then(|d| with_country_code(&d))
                .or_else(|| with_country_code(digits));
            if read.is_some() {
                return read;
            }
        }
        let number = phonenumber::parse(Some(self.region), raw).ok()?;
        e164_if_valid(&number)
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

/// The E.164 form of a number given as its digits after `+` (country code first), read by
/// its own country's rules: as written, then without the country's trunk prefix, then without
/// a leading `0`; `None` when none of them is valid.
fn with_country_code(digits: &str) -> Option<String> {
    // Country codes are prefix-free: the first length that names a country is the code.
    let (code, national, regions) = (1..=3).find_map(|len| {
        let code = digits.get(..len)?.parse::<u16>().ok()?;
        let regions = DATABASE.by_code(&code)?;
        Some((code, &digits[len..], regions))
    })?;
    let trunks = regions.iter().filter_map(|m| m.national_prefix());
    let stripped = trunks
        .chain(["0"])
        .filter_map(|trunk| national.strip_prefix(trunk));
    std::iter::once(national)
        .chain(stripped)
        .filter(|n| n.len() >= 4)
        .find_map(|n| {
            let number = phonenumber::parse(None, format!("+{code}{n}")).ok()?;
            e164_if_valid(&number)
        })
}

/// `digits` without the `0` of a `(0)` written right after the country code (`+39 (0) 6
/// ...`, `+44 (0)20 ...`): the notation says "left out when dialled from abroad", so it is left
/// out even where a leading 0 would make another valid number. `None` when there is none.
fn without_bracketed_zero(written: &str, digits: &str) -> Option<String> {
    let at = written.find("(0)")?;
    let before: String = written[..at].chars().filter(char::is_ascii_digit).collect();
    let code = match written.starts_with('+') {
        true => before.as_str(),
        false => before.strip_prefix("00")?,
    };
    // Only right after a country code (1 to 3 digits), never inside the number.
    let zero_follows = digits.as_bytes().get(code.len()) == Some(&b'0');
    if !(1..=3).contains(&code.len()) || !digits.starts_with(code) || !zero_follows {
        return None;
    }
    Some(format!("{code}{}", &digits[code.len() + 1..]))
}

fn e164_if_valid(number: &PhoneNumber) -> Option<String> {
    phonenumber::is_valid(number).then(|| number.format().mode(Mode::E164).to_string())
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
/// tax or registration id label (`ИНН 7714123456`) are skipped. The first
/// [`super::limits::MAX_FOUND`].
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
        // An international number may carry `00` and a trunk prefix beyond E.164's 15 digits.
        let international = candidate.starts_with('+') || candidate.starts_with("00");
        let max_digits = if international { 18 } else { 15 };
        // Glued to a word or to another id ("7714123456/771401001", "№2611").
        let preceded_by_word = i > 0
            && (chars[i - 1].1.is_alphanumeric()
                || matches!(chars[i - 1].1, '/' | '\\' | '№' | '#'));
        if (7..=max_digits).contains(&digits)
            && !preceded_by_word
            && !is_date(candidate)
            && !labelled_as_not_phone(&text[..start])
        {
            found.push(candidate.trim().to_string());
            if found.len() == super::limits::MAX_FOUND {
                break;
            }
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

    /// The countries the business's clients write from: the CIS first, then Europe and the
    /// usual destinations beyond it.
    const CLIENT_COUNTRIES: [&str; 53] = [
        "RU", "KZ", "BY", "UA", "UZ", "KG", "TJ", "TM", "AM", "AZ", "GE", "MD", "DE", "AT", "CH",
        "GB", "IE", "FR", "BE", "NL", "LU", "IT", "ES", "PT", "PL", "CZ", "SK", "HU", "RO", "BG",
        "RS", "HR", "SI", "GR", "CY", "FI", "SE", "NO", "DK", "EE", "LV", "LT", "ME", "MK", "BA",
        "AL", "IL", "TR", "AE", "CN", "MN", "TH", "VN",
    ];

    /// `(country code, national number, E.164)` of each country's example mobile and
    /// fixed-line numbers (libphonenumber's own), each checked valid as written.
    fn examples() -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for id in CLIENT_COUNTRIES {
            let meta = DATABASE
                .by_id(id)
                .unwrap_or_else(|| panic!("{id} is known"));
            let d = meta.descriptors();
            for desc in [d.mobile(), d.fixed_line()].into_iter().flatten() {
                let Some(example) = desc.example() else {
                    continue;
                };
                let code = meta.country_code().to_string();
                let e164 = format!("+{code}{example}");
                let plain = ru().to_e164(&format!("+{code} {example}"));
                assert_eq!(plain.as_deref(), Some(e164.as_str()), "{id} example");
                out.push((code, example.to_string(), e164));
            }
        }
        out
    }

    /// The trunk prefixes people write after a country code: the country's own (`8` in
    /// Belarus, `06` in Hungary) and `0`, which many write from habit wherever it is dialled.
    fn trunks(code: &str) -> Vec<String> {
        let regions = DATABASE
            .by_code(&code.parse::<u16>().expect("a code"))
            .expect("a known code");
        let mut out: Vec<String> = regions
            .iter()
            .filter_map(|m| m.national_prefix().map(str::to_string))
            .collect();
        out.push("0".into());
        out.dedup();
        out
    }

    /// Every way of writing a trunk prefix after the country code the table checks.
    fn spellings(code: &str, trunk: &str, national: &str) -> Vec<String> {
        let (area, rest) = national.split_at(2.min(national.len()));
        vec![
            format!("+{code} ({trunk}) {national}"),
            format!("+{code} ({trunk}){national}"),
            format!("+{code}({trunk}){national}"),
            format!("+{code} ({trunk}{area}) {rest}"),
            format!("+{code}-({trunk}{area})-{rest}"),
            format!("+{code} {trunk}{area} {rest}"),
            format!("+{code} {trunk} {national}"),
            format!("00{code} ({trunk}) {national}"),
            format!("00 {code} ({trunk}{area}) {rest}"),
        ]
    }

    #[test]
    fn a_trunk_prefix_after_the_country_code_is_dropped_in_every_client_country() {
        let mut problems = Vec::new();
        let mut checked = 0;
        for (code, national, e164) in examples() {
            for trunk in trunks(&code) {
                // Where the trunk and the number make another valid number (Italy's numbers
                // really start with 0: "+39 031 ..." is Como), only "(0)" alone says to drop it.
                let merged = ru().to_e164(&format!("+{code} {trunk}{national}"));
                let ambiguous = merged.is_some_and(|m| m != e164);
                for written in spellings(&code, &trunk, &national) {
                    if ambiguous && !written.contains(&format!("({trunk})")) {
                        continue;
                    }
                    if ambiguous && trunk != "0" {
                        continue;
                    }
                    checked += 1;
                    let got = ru().to_e164(&written);
                    if got.as_deref() != Some(e164.as_str()) {
                        problems.push(format!("{written:?} -> {got:?}, want {e164}"));
                    }
                    let text = format!("Добрый день! Мой номер {written}, звоните после 18.");
                    let found: Vec<_> = find_phones(&text)
                        .iter()
                        .filter_map(|p| ru().to_e164(p))
                        .collect();
                    if found != [e164.clone()] {
                        problems.push(format!("in text {written:?} -> {found:?}, want {e164}"));
                    }
                }
            }
        }
        assert!(checked > 1000, "{checked} spellings");
        assert!(
            problems.is_empty(),
            "{} of {checked}:\n{}",
            problems.len(),
            problems.join("\n")
        );
    }

    #[test]
    fn the_reported_numbers_come_out_in_e164() {
        for (written, want) in [
            ("+375 (029) 703-18-46", "+375297031846"),
            ("+49 (0) 176 2345 6789", "+4917623456789"),
            ("+44 (0)20 7946 0958", "+442079460958"),
            ("+380 (044) 123-45-67", "+380441234567"),
            ("+38 (044) 123-45-67", "+380441234567"),
            ("+7 (727) 350-11-22", "+77273501122"),
            ("+998 (090) 123-45-67", "+998901234567"),
            ("+996 (0555) 12-34-56", "+996555123456"),
            ("+374 (091) 12-34-56", "+37491123456"),
            ("+994 (050) 123-45-67", "+994501234567"),
            ("+995 (0) 555 12 34 56", "+995555123456"),
            ("+373 (069) 12-34-56", "+37369123456"),
            ("+993 (8) 65 12-34-56", "+99365123456"),
            ("+370 (8) 612 34567", "+37061234567"),
            ("+36 (06) 20 123 4567", "+36201234567"),
            ("+48 (0) 22 123 45 67", "+48221234567"),
            ("0049 (0) 176 23456789", "+4917623456789"),
            ("8 10 375 29 703 18 46", "+375297031846"),
            ("+39 (0) 312 345 6789", "+393123456789"),
            ("+39 (0)6 1234 5678", "+390612345678"),
        ] {
            assert_eq!(ru().to_e164(written).as_deref(), Some(want), "{written}");
        }
    }

    #[test]
    fn a_number_valid_as_written_keeps_its_zero() {
        assert_eq!(
            ru().to_e164("+39 06 1234 5678").as_deref(),
            Some("+390612345678")
        );
        assert_eq!(ru().to_e164("+375 (029) 703"), None, "too short either way");
    }

    proptest::proptest! {
        #[test]
        fn any_grouping_of_a_trunk_prefixed_number_reads_the_same(
            pick in proptest::sample::select(CLIENT_COUNTRIES.to_vec()),
            cuts in proptest::collection::vec((1usize..4, 0usize..5), 1..6),
            paren in proptest::bool::ANY,
        ) {
            let meta = DATABASE.by_id(pick).expect("known");
            let Some(national) = meta.descriptors().mobile().and_then(|d| d.example()) else {
                return Ok(());
            };
            let code = meta.country_code().to_string();
            let want = format!("+{code}{national}");
            // The national number cut into groups by random separators.
            let mut grouped = String::new();
            let mut rest = national;
            for (len, sep) in cuts {
                if rest.is_empty() { break; }
                let (head, tail) = rest.split_at(len.min(rest.len()));
                grouped.push_str(head);
                grouped.push_str([" ", "-", ".", " - ", "\u{a0}"][sep]);
                rest = tail;
            }
            grouped.push_str(rest);
            let trunk = if paren { "(0)" } else { "0" };
            let written = format!("+{code} {trunk} {}", grouped.trim_end_matches([' ', '-', '.', '\u{a0}']));
            let as_written = ru().to_e164(&format!("+{code} 0{national}"));
            // Where "0" + the number is itself a valid number, only "(0)" says to drop the 0.
            proptest::prop_assume!(paren || as_written.is_none() || as_written == Some(want.clone()));
            proptest::prop_assert_eq!(ru().to_e164(&written), Some(want));
        }
    }

    #[test]
    fn unknown_region_is_an_error() {
        assert!(PhoneNormaliser::new("XX").is_err());
    }
}
