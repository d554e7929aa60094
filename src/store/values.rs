//! How values are kept as text in every backend: times as fixed-width RFC 3339 UTC (so they
//! compare as strings, and a day is their first ten characters), JSON as its text, channels by
//! name.

use super::{StoreError, StoreResult};
use crate::lead::Channel;
use chrono::{DateTime, SecondsFormat, Utc};

/// Fixed-width RFC 3339 UTC, so stored times compare as strings.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A stored time read back.
pub(super) fn parse_ts(what: &'static str, s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt {
            what,
            detail: format!("{s:?}: {e}"),
        })
}

/// A stored time that may be absent, read back.
pub(super) fn opt_ts(what: &'static str, s: Option<String>) -> StoreResult<Option<DateTime<Utc>>> {
    s.map(|s| parse_ts(what, &s)).transpose()
}

/// A stored JSON value read back, as `T` (a [`serde_json::Value`] unless the caller says otherwise).
pub(super) fn parse_json<T: serde::de::DeserializeOwned>(
    what: &'static str,
    s: &str,
) -> StoreResult<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        what,
        detail: e.to_string(),
    })
}

/// A stored channel name read back.
pub(super) fn channel(s: &str) -> StoreResult<Channel> {
    Channel::parse(s).ok_or_else(|| StoreError::Corrupt {
        what: "channel",
        detail: s.to_string(),
    })
}
