//! How long polling comes back after an outage: a short backoff that honours Telegram's own
//! `retry_after`, and a bound on each call, so updates written during an outage arrive within
//! seconds of its end instead of after a minute-long backoff or a hung call.

use std::time::Duration;

/// The wait after the first failure; it doubles per failure in a row.
const FIRST: Duration = Duration::from_millis(250);

/// The longest backoff between attempts: an outage's end is noticed within this long.
const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// The most of a 429's `retry_after` honoured (a longer one is a mistake or a ban, and
/// polling once a minute costs Telegram nothing).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// How much longer than the long poll's own `timeout` a `getUpdates` call may take before it
/// is abandoned as hung (network latency and a busy Bot API fit in it).
pub const POLL_MARGIN: Duration = Duration::from_secs(5);

/// The wait before the next `getUpdates` after `failures` failures in a row (at least one):
/// 250 ms doubling to at most 3 s, or Telegram's `retry_after` when it asks for longer.
pub fn next_delay(failures: u32, retry_after: Option<Duration>) -> Duration {
    let doubled = FIRST.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)));
    let backoff = doubled.min(MAX_BACKOFF);
    retry_after.map_or(backoff, |r| r.min(MAX_RETRY_AFTER).max(backoff))
}

/// The longest a `getUpdates` with long-poll `timeout` may take.
pub fn call_bound(timeout: Duration) -> Duration {
    timeout + POLL_MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_quarter_second_to_three() {
        let ms: Vec<u128> = (1..=7).map(|f| next_delay(f, None).as_millis()).collect();
        assert_eq!(ms, [250, 500, 1000, 2000, 3000, 3000, 3000]);
        assert_eq!(next_delay(u32::MAX, None), MAX_BACKOFF);
    }

    #[test]
    fn retry_after_is_honoured_when_longer_and_capped_at_a_minute() {
        let two = Some(Duration::from_secs(2));
        assert_eq!(next_delay(1, two), Duration::from_secs(2));
        assert_eq!(next_delay(9, Some(Duration::from_secs(1))), MAX_BACKOFF);
        assert_eq!(
            next_delay(1, Some(Duration::from_secs(86_400))),
            MAX_RETRY_AFTER
        );
    }

    #[test]
    fn a_call_is_bounded_by_the_poll_timeout_and_a_margin() {
        assert_eq!(call_bound(Duration::from_secs(25)), Duration::from_secs(30));
    }
}
