//! A `UID FETCH` that answers without a message's content must not let the watermark pass
//! it: the batch commits up to the last UID before the first one missing, and the mailbox
//! asks again from there. A message that is expunged meanwhile is no longer listed the next
//! time; one that keeps coming back empty is reported, never skipped. Pure, so it is
//! unit-tested (Dovecot cannot be made to leave a body out).

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

/// The UID found missing at the end of the last passes, and how many passes in a row.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Gaps {
    missing: Option<(u32, u32)>,
}

impl Gaps {
    /// Records how a pass ended (`None`: nothing missing); returns the UID missing and how
    /// many passes in a row found it so.
    pub fn record(&mut self, missing: Option<u32>) -> Option<(u32, u32)> {
        self.missing = match (missing, self.missing) {
            (None, _) => None,
            (Some(uid), Some((last, times))) if uid == last => Some((uid, times.saturating_add(1))),
            (Some(uid), _) => Some((uid, 1)),
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
    fn the_same_gap_is_counted_and_a_clean_pass_forgets_it() {
        let mut gaps = Gaps::default();
        assert_eq!(gaps.record(Some(12)), Some((12, 1)));
        assert_eq!(gaps.record(Some(12)), Some((12, 2)));
        assert_eq!(
            gaps.record(Some(14)),
            Some((14, 1)),
            "a new gap starts over"
        );
        assert_eq!(gaps.record(None), None);
        assert_eq!(gaps.record(Some(14)), Some((14, 1)));
    }
}
