//! A mailbox's position, kept in the store: which UIDVALIDITY era it is in, the highest UID
//! committed, and the backfill still to do. Pure, so every transition is unit-tested.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The stored position of one mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// The mailbox's UIDVALIDITY the UIDs below belong to.
    pub uidvalidity: u32,
    /// Every message up to this UID is committed (or was before the backfill window).
    pub last_uid: u32,
    /// The first day of the backfill window (IMAP `SINCE`); after the first backfill, moved
    /// on to `backfill` before the last message taken, where a UIDVALIDITY rescan starts.
    pub since: NaiveDate,
    /// While a backfill is under way: the highest UID it covers. Messages above it are new.
    pub backfill_to: Option<u32>,
}

/// Why a mailbox starts with a backfill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// The cursor is valid: go on from it.
    Continue,
    /// Never seen before: read the backfill window.
    FirstSeen,
    /// The server renumbered the mailbox: rescan from the backfill window before the last
    /// message taken (Message-IDs and digests keep it from delivering anything twice).
    ValidityChanged {
        /// The era the old cursor belonged to.
        old: u32,
    },
}

/// The store key of a mailbox's cursor.
pub fn key(source: &str, mailbox: &str) -> String {
    format!("email:{source}:{mailbox}")
}

impl Cursor {
    /// Reads a stored cursor; `None` for a missing or unreadable one (treated as first sight).
    pub fn decode(text: &str) -> Option<Cursor> {
        serde_json::from_str(text).ok()
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What the mailbox's state on the server means for the stored cursor: the cursor to go on
    /// with and why. `uid_next` is the server's UIDNEXT at SELECT (messages below it exist now).
    pub fn resume(
        stored: Option<Cursor>,
        uidvalidity: u32,
        uid_next: u32,
        now: DateTime<Utc>,
        backfill: Duration,
    ) -> (Cursor, Start) {
        let floor = uid_next.saturating_sub(1);
        match stored {
            Some(c) if c.uidvalidity == uidvalidity => (c, Start::Continue),
            Some(c) => (
                Cursor {
                    uidvalidity,
                    last_uid: 0,
                    since: c.since,
                    backfill_to: Some(floor),
                },
                Start::ValidityChanged { old: c.uidvalidity },
            ),
            None => {
                let since = window_start(now, backfill);
                (
                    Cursor {
                        uidvalidity,
                        last_uid: 0,
                        since,
                        backfill_to: Some(floor),
                    },
                    Start::FirstSeen,
                )
            }
        }
    }

    /// The cursor once the messages up to `last` are committed at `now`. Outside a backfill,
    /// the window a rescan would read slides to `backfill` before the mailbox's last taken
    /// message: a new UIDVALIDITY then reads back what came shortly before, not every message
    /// since the mailbox was first seen. That older mail is long taken, and where retention or
    /// `leadgate forget` has since removed it from the store, it would come back as new leads.
    pub fn taken_to(&self, last: u32, now: DateTime<Utc>, backfill: Duration) -> Cursor {
        let mut next = self.clone();
        next.last_uid = next.last_uid.max(last);
        if next.backfill_to.is_none() {
            next.since = next.since.max(window_start(now, backfill));
        }
        next
    }

    /// The IMAP date of the backfill window: `19-Nov-2026`.
    pub fn since_imap(&self) -> String {
        self.since.format("%-d-%b-%Y").to_string()
    }

    /// For `/readyz`.
    pub fn describe(&self) -> String {
        match self.backfill_to {
            Some(to) => format!(
                "uidvalidity {} uid {} (backfill to {to})",
                self.uidvalidity, self.last_uid
            ),
            None => format!("uidvalidity {} uid {}", self.uidvalidity, self.last_uid),
        }
    }
}

/// The first day of a window of `backfill` ending `now`.
fn window_start(now: DateTime<Utc>, backfill: Duration) -> NaiveDate {
    let window = chrono::Duration::from_std(backfill).unwrap_or(chrono::Duration::MAX);
    now.checked_sub_signed(window).unwrap_or(now).date_naive()
}

/// A UID set for a command: ascending UIDs with runs folded (`1:100,102,105:107`).
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.saturating_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 9, 15, 2)
            .single()
            .expect("date")
    }

    const THREE_DAYS: Duration = Duration::from_secs(3 * 86_400);

    #[test]
    fn a_new_mailbox_backfills_up_to_what_exists_now() {
        let (c, start) = Cursor::resume(None, 7, 51, now(), THREE_DAYS);
        assert_eq!(start, Start::FirstSeen);
        assert_eq!((c.uidvalidity, c.last_uid, c.backfill_to), (7, 0, Some(50)));
        assert_eq!(c.since_imap(), "19-Nov-2026");
    }

    #[test]
    fn the_same_era_continues() {
        let stored = Cursor {
            uidvalidity: 7,
            last_uid: 40,
            since: now().date_naive(),
            backfill_to: None,
        };
        let (c, start) = Cursor::resume(Some(stored.clone()), 7, 90, now(), THREE_DAYS);
        assert_eq!((c, start), (stored, Start::Continue));
    }

    #[test]
    fn a_new_era_rescans_the_old_window() {
        let since = NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        let stored = Cursor {
            uidvalidity: 7,
            last_uid: 40,
            since,
            backfill_to: None,
        };
        let (c, start) = Cursor::resume(Some(stored), 8, 12, now(), THREE_DAYS);
        assert_eq!(start, Start::ValidityChanged { old: 7 });
        assert_eq!((c.since, c.last_uid, c.backfill_to), (since, 0, Some(11)));
    }

    #[test]
    fn a_rescan_window_slides_with_the_messages_taken_but_not_during_a_backfill() {
        let first_sight = NaiveDate::from_ymd_opt(2026, 10, 1).expect("date");
        let stored = Cursor {
            uidvalidity: 7,
            last_uid: 40,
            since: first_sight,
            backfill_to: None,
        };
        let next = stored.taken_to(45, now(), THREE_DAYS);
        assert_eq!(
            (next.last_uid, next.since_imap()),
            (45, "19-Nov-2026".into())
        );
        // A rescan after the next renumbering reads from there, not from October.
        let (c, _) = Cursor::resume(Some(next), 8, 12, now(), THREE_DAYS);
        assert_eq!(c.since_imap(), "19-Nov-2026");
        let backfilling = Cursor {
            backfill_to: Some(60),
            ..stored
        };
        let next = backfilling.taken_to(45, now(), THREE_DAYS);
        assert_eq!((next.last_uid, next.since), (45, first_sight));
    }

    #[test]
    fn round_trip_and_garbage() {
        let (c, _) = Cursor::resume(None, 7, 1, now(), THREE_DAYS);
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("17"), None);
        assert_eq!(key("sales", "INBOX"), "email:sales:INBOX");
    }

    #[test]
    fn uid_sets_fold_runs() {
        assert_eq!(uid_set(&[]), "");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }
}
