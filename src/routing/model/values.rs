//! The small value formats an admin writes: durations (`"30m"`), dates and date ranges
//! (`"2026-07-01..2026-07-14"`), and numbers as people type them (`"500 000 ₽"`).

use std::time::Duration;

use chrono::NaiveDate;

/// Parses `"90s"`, `"30m"`, `"2h"`, `"1d"` or a combination such as `"1h30m"`.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let expected = "write a duration such as \"30s\", \"15m\", \"2h\", \"1d\" or \"1h30m\"";
    let s = s.trim();
    if s.is_empty() {
        return Err(format!("empty duration: {expected}"));
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(format!("unexpected {c:?} in duration {s:?}: {expected}")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("a number must come before {c:?} in {s:?}: {expected}"))?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("duration {s:?} is too long"))?;
        digits.clear();
    }
    if !digits.is_empty() {
        return Err(format!("duration {s:?} lacks a unit: {expected}"));
    }
    Ok(Duration::from_secs(total))
}

/// Writes a duration back the way an admin would (`"1h30m"`), for traces.
pub(crate) fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    if s == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')] {
        if s >= unit {
            out.push_str(&format!("{}{name}", s / unit));
            s %= unit;
        }
    }
    out
}

/// Inclusive date ranges: days off, vacations, the holiday calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DateSet {
    ranges: Vec<(NaiveDate, NaiveDate)>,
}

impl DateSet {
    /// Whether `date` is in one of the ranges.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.ranges.iter().any(|&(a, b)| a <= date && date <= b)
    }

    pub(crate) fn push(&mut self, from: NaiveDate, to: NaiveDate) {
        self.ranges.push((from, to));
    }
}

/// Parses `"2026-01-07"` or `"2026-07-01..2026-07-14"` (both ends included).
pub(crate) fn parse_date_range(s: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let date = |d: &str| {
        NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
            format!(
                "{d:?} is not a date: write \"2026-01-07\" or a range \"2026-07-01..2026-07-14\""
            )
        })
    };
    match s.split_once("..") {
        Some((a, b)) => {
            let (a, b) = (date(a)?, date(b)?);
            if b < a {
                return Err(format!("range {s:?} ends before it starts"));
            }
            Ok((a, b))
        }
        None => {
            let d = date(s)?;
            Ok((d, d))
        }
    }
}

/// Reads a number the way people type it in a form: `"500 000 ₽"`, `"1,5 млн"`, `"300k"`,
/// `"от 200000"`. `None` when there is no number at all.
pub(crate) fn lenient_number(s: &str) -> Option<f64> {
    let chars: Vec<char> = s.chars().collect();
    let start = chars.iter().position(char::is_ascii_digit)?;
    let is_space = |c: char| c == ' ' || c == '\u{a0}' || c == '\u{202f}' || c == '\u{2009}';
    let mut raw = String::new();
    let mut i = start;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || c == ',' || c == '.' || c == '\'' {
            raw.push(c);
            i += 1;
        } else if is_space(c) {
            // A space separates thousands only when exactly three digits follow.
            let group = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            let after = chars.get(i + 1 + group);
            if group == 3 && !after.is_some_and(|c| c.is_ascii_digit()) {
                i += 1;
            } else {
                break;
            }
        } else {
            break;
        }
    }
    let raw = raw.trim_end_matches([',', '.', '\'']).replace('\'', "");
    let value = parse_separators(&raw)?;
    let word: String = chars[i..]
        .iter()
        .skip_while(|c| c.is_whitespace())
        .take_while(|c| c.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    let multiplier = if word.starts_with("млрд") {
        1e9
    } else if word.starts_with("млн") || word == "mln" || word == "m" {
        1e6
    } else if word.starts_with("тыс") || word == "k" || word == "к" {
        1e3
    } else {
        1.0
    };
    Some(value * multiplier)
}

/// `"500,000"` / `"500.000"` are thousands, `"1,5"` is one and a half, `"1.500,50"` both.
fn parse_separators(raw: &str) -> Option<f64> {
    let last_sep = raw.rfind([',', '.']);
    let normal = match last_sep {
        None => raw.to_string(),
        Some(pos) => {
            let decimals = raw.len() - pos - 1;
            let seps = raw.matches([',', '.']).count();
            let mixed = raw.contains(',') && raw.contains('.');
            if mixed || (decimals != 3 && seps == 1) {
                // The last separator is the decimal point; the others group thousands.
                let (int, frac) = raw.split_at(pos);
                format!("{}.{}", int.replace([',', '.'], ""), &frac[1..])
            } else {
                raw.replace([',', '.'], "")
            }
        }
    };
    normal.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_duration("30").unwrap_err().contains("lacks a unit"));
        assert!(parse_duration("30 минут").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn numbers_as_people_type_them() {
        assert_eq!(lenient_number("500 000 ₽"), Some(500_000.0));
        assert_eq!(lenient_number("500\u{a0}000 руб."), Some(500_000.0));
        assert_eq!(lenient_number("500,000"), Some(500_000.0));
        assert_eq!(lenient_number("1,5 млн"), Some(1_500_000.0));
        assert_eq!(lenient_number("300k"), Some(300_000.0));
        assert_eq!(lenient_number("300 тыс. руб"), Some(300_000.0));
        assert_eq!(lenient_number("от 200000 до 300000"), Some(200_000.0));
        assert_eq!(lenient_number("1.500,50"), Some(1500.5));
        assert_eq!(lenient_number("около 2 5"), Some(2.0));
        assert_eq!(lenient_number("договорная"), None);
    }

    #[test]
    fn date_ranges() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            parse_date_range("2026-07-01..2026-07-14"),
            Ok((d("2026-07-01"), d("2026-07-14")))
        );
        assert!(parse_date_range("2026-07-14..2026-07-01").is_err());
        assert!(parse_date_range("14.07.2026").is_err());
    }
}
