//! Reading a suppression list: each line an identity key, optionally with the last day it
//! applies; every line that is not a contact is a problem with its line number.

use std::collections::HashMap;
use std::path::Path;

use chrono::NaiveDate;

use super::error::{Problem, ProblemKind};
use crate::routing::model::suppress::SuppressList;

/// Why a suppression list cannot be used.
#[derive(Debug)]
pub(crate) enum ListError {
    /// The file cannot be read.
    Unreadable(String),
    /// Lines that are not contacts.
    BadLines(Vec<Problem>),
}

impl SuppressList {
    /// Reads the list at `dir/label`; every bad line is a problem.
    pub(crate) fn load(dir: &Path, label: &str) -> Result<SuppressList, ListError> {
        let path = dir.join(label);
        let problem = |line: usize, message: String| Problem {
            file: path.display().to_string(),
            line,
            column: 1,
            kind: ProblemKind::BadList,
            section: String::new(),
            message,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ListError::Unreadable(format!("cannot read {}: {e}", path.display())))?;
        let mut list = SuppressList {
            label: label.to_string(),
            entries: HashMap::new(),
            digest: crate::digest::sha256_hex(text.as_bytes()),
        };
        let mut problems = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            match parse_line(line) {
                Ok((key, until)) => {
                    list.entries.insert(key, until);
                }
                Err(message) => problems.push(problem(n + 1, message)),
            }
        }
        if problems.is_empty() {
            Ok(list)
        } else {
            Err(ListError::BadLines(problems))
        }
    }
}

fn parse_line(line: &str) -> Result<(String, Option<NaiveDate>), String> {
    let (value, until) = match line.split_once(" until ") {
        Some((v, date)) => {
            let d = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").map_err(|_| {
                format!(
                    "{:?} is not a date: write \"until 2027-05-01\"",
                    date.trim()
                )
            })?;
            (v.trim(), Some(d))
        }
        None => (line, None),
    };
    let lower = value.to_lowercase();
    let key = if let Some(domain) = lower.strip_prefix("*@") {
        format!("domain:{domain}")
    } else if let Some(rest) = lower.strip_prefix("telegram:") {
        match rest.strip_prefix('@') {
            Some(user) => format!("tg_user:{user}"),
            None => format!("telegram:{rest}"),
        }
    } else if lower.starts_with("vk:") || lower.starts_with("whatsapp:") {
        lower
    } else if lower.contains('@') {
        format!("email:{lower}")
    } else if let Some(digits) = lower.strip_prefix('+') {
        let digits: String = digits
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')'))
            .collect();
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(format!(
                "{value:?} is not a phone: write it as +79161234567"
            ));
        }
        format!("phone:+{digits}")
    } else {
        return Err(format!(
            "{value:?} is not a contact: write an e-mail, *@domain, +79161234567, telegram:123 or telegram:@name, vk:123, whatsapp:79161234567"
        ));
    };
    Ok((key, until))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::{Contact, TelegramAccount};

    #[test]
    fn lines_parse_into_identity_keys() {
        assert_eq!(
            parse_line("Ivan@Example.RU"),
            Ok(("email:ivan@example.ru".into(), None))
        );
        assert_eq!(
            parse_line("+7 916 123-45-67"),
            Ok(("phone:+79161234567".into(), None))
        );
        assert_eq!(
            parse_line("telegram:@Spammer"),
            Ok(("tg_user:spammer".into(), None))
        );
        let (_, until) = parse_line("*@spam.example until 2027-05-01").unwrap();
        assert_eq!(until, NaiveDate::from_ymd_opt(2027, 5, 1));
        assert!(
            parse_line("89161234567")
                .unwrap_err()
                .contains("+79161234567")
        );
    }

    #[test]
    fn entries_expire() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.txt"),
            "# blocked\n+79161234567 until 2026-12-31\ntelegram:@spam\n",
        )
        .unwrap();
        let list = SuppressList::load(dir.path(), "s.txt").unwrap();
        let contact = Contact {
            phones: vec!["+79161234567".into()],
            ..Contact::default()
        };
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            list.find(&contact, day(2026, 12, 31)).as_deref(),
            Some("phone:+79161234567")
        );
        assert_eq!(list.find(&contact, day(2027, 1, 1)), None);
        let tg = Contact {
            telegram: Some(TelegramAccount {
                id: 5,
                username: Some("SPAM".into()),
            }),
            ..Contact::default()
        };
        assert!(list.find(&tg, day(2030, 1, 1)).is_some());
    }

    #[test]
    fn bad_lines_are_reported_with_their_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.txt"), "ok@example.ru\nnonsense\n").unwrap();
        let Err(ListError::BadLines(problems)) = SuppressList::load(dir.path(), "s.txt") else {
            panic!("the bad line was accepted");
        };
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        assert_eq!(problems[0].kind, ProblemKind::BadList);
    }
}
