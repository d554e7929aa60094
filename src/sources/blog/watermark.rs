//! Where a WordPress comment stream stands: the `date_gmt` of the newest committed comment and
//! the ids already taken at that second. WordPress dates have one-second precision and its
//! `after` filter is exclusive, so the poller asks for everything from the watermark's second
//! on and skips the ids it already has there: a comment written in the same second as the
//! last one taken is neither lost nor taken twice.

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// A stream's position, kept as JSON in the store's cursors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Watermark {
    /// The newest committed comment's `date_gmt` (or the backfill start).
    pub at: DateTime<Utc>,
    /// Ids of the comments taken at exactly `at`.
    pub ids: BTreeSet<String>,
}

impl Watermark {
    /// Where a stream seen for the first time starts: `backfill` before `now`.
    pub(crate) fn start(now: DateTime<Utc>, backfill: Duration) -> Watermark {
        let back = chrono::Duration::from_std(backfill).unwrap_or(chrono::Duration::MAX);
        Watermark {
            at: now
                .trunc_subsecs(0)
                .checked_sub_signed(back)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
            ids: BTreeSet::new(),
        }
    }

    /// The `after` query value: one second before the watermark, in UTC, so that comments
    /// of the watermark's own second come back too.
    pub(crate) fn after_param(&self) -> String {
        after(self.at)
    }

    /// The `after` query value that reads `window` behind the watermark again (comments of
    /// the window's first second included), or `None` when `window` is zero (no recheck).
    pub(crate) fn recheck_param(&self, window: Duration) -> Option<String> {
        if window.is_zero() {
            return None;
        }
        let back = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        let from = self
            .at
            .checked_sub_signed(back)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        Some(after(from))
    }

    /// Whether a comment written at `at` with this id is already taken.
    pub(crate) fn has(&self, at: DateTime<Utc>, id: &str) -> bool {
        at < self.at || (at == self.at && self.ids.contains(id))
    }

    /// Moves past a committed comment.
    pub(crate) fn advance(&mut self, at: DateTime<Utc>, id: &str) {
        if at > self.at {
            self.at = at;
            self.ids.clear();
        }
        if at == self.at {
            self.ids.insert(id.to_string());
        }
    }
}

/// WordPress's `after` is exclusive: one second before `from`, so that `from`'s own second
/// comes back too.
fn after(from: DateTime<Utc>) -> String {
    from.checked_sub_signed(chrono::Duration::seconds(1))
        .unwrap_or(from)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads WordPress's `date_gmt` (`2026-11-19T18:14:09`, no zone: it is UTC).
pub(crate) fn parse_date_gmt(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        parse_date_gmt(text).expect("a date")
    }

    #[test]
    fn starts_at_the_backfill_window_on_whole_seconds() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T10:00:00.750Z")
            .expect("a time")
            .with_timezone(&Utc);
        let w = Watermark::start(now, Duration::from_secs(7 * 86_400));
        assert_eq!(w.at, at("2026-11-14T10:00:00"));
        assert_eq!(w.after_param(), "2026-11-14T09:59:59Z");
    }

    #[test]
    fn the_recheck_reads_its_window_behind_the_watermark_or_nothing() {
        let mut w = Watermark::start(at("2026-11-19T00:00:00"), Duration::ZERO);
        w.advance(at("2026-11-20T12:00:00"), "5820");
        assert_eq!(
            w.recheck_param(Duration::from_secs(3 * 86_400)).as_deref(),
            Some("2026-11-17T11:59:59Z")
        );
        assert_eq!(w.recheck_param(Duration::ZERO), None, "turned off");
        assert!(w.recheck_param(Duration::MAX).is_some(), "no overflow");
    }

    #[test]
    fn the_same_second_keeps_every_id_and_a_later_one_resets() {
        let mut w = Watermark::start(at("2026-11-19T00:00:00"), Duration::ZERO);
        w.advance(at("2026-11-19T18:14:09"), "5814");
        w.advance(at("2026-11-19T18:14:09"), "5815");
        assert!(w.has(at("2026-11-19T18:14:09"), "5814"));
        assert!(w.has(at("2026-11-19T18:14:09"), "5815"));
        assert!(
            !w.has(at("2026-11-19T18:14:09"), "5816"),
            "same second, new id"
        );
        assert!(w.has(at("2026-11-19T18:14:08"), "1"), "older");
        w.advance(at("2026-11-19T18:14:10"), "5816");
        assert_eq!(w.ids.len(), 1);
        w.advance(at("2026-11-19T10:00:00"), "5000");
        assert_eq!(w.at, at("2026-11-19T18:14:10"), "never moves back");
    }

    #[test]
    fn round_trips_as_json() {
        let mut w = Watermark::start(at("2026-11-19T00:00:00"), Duration::ZERO);
        w.advance(at("2026-11-19T18:14:09"), "5814");
        let text = serde_json::to_string(&w).expect("serialises");
        assert_eq!(serde_json::from_str::<Watermark>(&text).ok(), Some(w));
        assert!(parse_date_gmt("2026-11-19 18:14").is_none());
    }
}
