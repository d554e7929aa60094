//! What the SQLite and PostgreSQL backends share: statements written once with SQLite's `?N`
//! placeholders (PostgreSQL's `$N` text is made from them on first use), the console's query
//! builder, and the readers that map a row of either database into the same record.
//!
//! A backend still runs each statement with its own pool and sqlx types; only the text, the
//! ordered values to bind and the mapping of a row live here.

pub(super) mod admin;
pub(super) mod console;
pub(super) mod conversations;
pub(super) mod export;
pub(super) mod files;
pub(super) mod inbound;
pub(super) mod leads;
pub(super) mod leases;
pub(super) mod notifications;
pub(super) mod outbox;
pub(super) mod sees;

use super::values::{opt_ts, parse_ts};
use super::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type, TypeInfo, ValueRef};
use std::sync::OnceLock;

/// How a backend writes a statement's placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placeholders {
    /// SQLite: `?`, numbered (`?1`) where a value is used twice.
    Question,
    /// PostgreSQL: `$1`, `$2`, ...
    Numbered,
}

/// A statement both backends run, written once with `?N` placeholders.
#[derive(Debug)]
pub(super) struct Statement {
    text: &'static str,
    numbered: OnceLock<String>,
}

impl Statement {
    /// The statement `text`, with `?1`, `?2`, ... for its values.
    pub(super) const fn new(text: &'static str) -> Statement {
        Statement {
            text,
            numbered: OnceLock::new(),
        }
    }

    /// The text as SQLite takes it.
    pub(super) fn sqlite(&self) -> &'static str {
        self.text
    }

    /// The text as PostgreSQL takes it: each `?N` written `$N` (made once).
    pub(super) fn postgres(&'static self) -> &'static str {
        self.numbered.get_or_init(|| dollars(self.text))
    }
}

/// `?N` written `$N`: SQLite's numbered placeholders as PostgreSQL writes them.
fn dollars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A row of either backend, read by column name as the store keeps values: text, integers,
/// times as RFC 3339 text, payloads as bytes.
pub(super) trait Read {
    /// A text column.
    fn text(&self, column: &str) -> StoreResult<String>;
    /// A text column that may be NULL.
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    /// An integer column.
    fn int(&self, column: &str) -> StoreResult<i64>;
    /// An integer column that may be NULL.
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    /// A binary column.
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;
    /// A long text column a backend may keep deflated ([`super::packed`]: a BLOB there, text
    /// elsewhere); `what` names it in the error.
    fn packed_text(&self, what: &'static str, column: &str) -> StoreResult<String>;

    /// A count or a sum (never negative).
    fn count(&self, column: &str) -> StoreResult<u64> {
        Ok(self.int(column)?.max(0) as u64)
    }

    /// A time column; `what` names it in the error when it does not parse.
    fn time(&self, what: &'static str, column: &str) -> StoreResult<DateTime<Utc>> {
        parse_ts(what, &self.text(column)?)
    }

    /// A time column that may be NULL.
    fn opt_time(&self, what: &'static str, column: &str) -> StoreResult<Option<DateTime<Utc>>> {
        opt_ts(what, self.opt_text(column)?)
    }
}

impl<R> Read for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> StoreResult<String> {
        Ok(self.try_get(column)?)
    }

    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get(column)?)
    }

    fn int(&self, column: &str) -> StoreResult<i64> {
        Ok(self.try_get(column)?)
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get(column)?)
    }

    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get(column)?)
    }

    fn packed_text(&self, what: &'static str, column: &str) -> StoreResult<String> {
        // The column is looked up once; its value is then decoded as what it holds.
        let raw = self.try_get_raw(column)?;
        let corrupt = |e: sqlx::error::BoxDynError| StoreError::Corrupt {
            what,
            detail: e.to_string(),
        };
        if raw.type_info().name() == "BLOB" {
            super::packed::unpack(what, &<Vec<u8>>::decode(raw).map_err(corrupt)?)
        } else {
            String::decode(raw).map_err(corrupt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::dollars;

    #[test]
    fn numbered_placeholders_are_written_with_a_dollar() {
        assert_eq!(
            dollars("UPDATE t SET a = ?2 WHERE id = ?1 AND b = '?' AND c = ?10"),
            "UPDATE t SET a = $2 WHERE id = $1 AND b = '?' AND c = $10"
        );
    }
}
