//! A `UID FETCH` that answers without a message's content must not let the watermark pass
//! it: the batch commits up to the last UID before the first one missing, and the mailbox
//! asks again from there. A message that is expunged meanwhile is no longer listed the next
//! time; one that keeps coming back empty is reported, and once it has been asked for over
//! the source's `unreadable_after`, it is set aside (kept as a not-lead naming its UID) so
//! the messages after it are taken. Pure, so it is unit-tested.

use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// How many passes in a row may find the same UID missing before the mailbox reports it.
pub const MISSING_LIMIT: u32 = 3;

/// The UIDs of `batch` (ascending) that the watermark may pass: those before the first one
/// that did not come back with its content; and that first one, if any.
pub fn stored_prefix<'a>(batch: &'a [u32], fetched: &HashSet<u32>) -> (&'a [u32], Option<u32>) {
    match batch.iter().position(|uid| !fetched.contains(uid)) {
        Some(i) => (&batch[..i], Some(batch[i])),
        None => (batch, None),
    }
}

/// A UID the passes found missing: how many passes in a row, since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    /// The message's UID.
    pub uid: u32,
    /// Passes in a row that found it so.
    pub times: u32,
    /// When the first of them did.
    pub since: DateTime<Utc>,
}

/// The UID found missing at the end of the last passes (across reconnects).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Gaps {
    missing: Option<Gap>,
}

impl Gaps {
    /// Records how a pass ended at `now` (`None`: nothing missing); returns the gap, if any.
    pub fn record(&mut self, missing: Option<u32>, now: DateTime<Utc>) -> Option<Gap> {
        self.missing = match (missing, self.missing) {
            (None, _) => None,
            (Some(uid), Some(gap)) if uid == gap.uid => Some(Gap {
                times: gap.times.saturating_add(1),
                ..gap
            }),
            (Some(uid), _) => Some(Gap {
                uid,
                times: 1,
                since: now,
            }),
        };
        self.missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_stops_before_the_first_gap() {
        let batch = [10, 11, 12, 15, 16];
        let fetched: HashSet<u32> = [10, 11, 15, 16].into();
        assert_eq!(stored_prefix(&batch, &fetched), (&batch[..2], Some(12)));
        let first_missing: HashSet<u32> = [11, 12, 15, 16].into();
        assert_eq!(
            stored_prefix(&batch, &first_missing),
            (&batch[..0], Some(10))
        );
        let all: HashSet<u32> = batch.into();
        assert_eq!(stored_prefix(&batch, &all), (&batch[..], None));
    }

    #[test]
    fn the_same_gap_is_counted_from_its_first_sight_and_a_clean_pass_forgets_it() {
        let t = |s| DateTime::<Utc>::from_timestamp(s, 0).expect("time");
        let seen = |gap: Option<Gap>| gap.map(|g| (g.uid, g.times, g.since));
        let mut gaps = Gaps::default();
        assert_eq!(seen(gaps.record(Some(12), t(100))), Some((12, 1, t(100))));
        assert_eq!(seen(gaps.record(Some(12), t(160))), Some((12, 2, t(100))));
        assert_eq!(
            seen(gaps.record(Some(14), t(170))),
            Some((14, 1, t(170))),
            "a new gap starts over"
        );
        assert_eq!(gaps.record(None, t(180)), None);
        assert_eq!(seen(gaps.record(Some(14), t(190))), Some((14, 1, t(190))));
    }
}
