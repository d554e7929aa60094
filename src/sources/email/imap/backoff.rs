//! Reconnect delays: doubling from half a second to five minutes, with ±20 % jitter so many
//! mailboxes on one server do not reconnect in step.

use std::time::Duration;

/// The first delay after a failure.
const FIRST: Duration = Duration::from_millis(500);
/// The longest delay.
const MAX: Duration = Duration::from_secs(300);

/// Consecutive failures and the delay they earn.
#[derive(Debug, Default, Clone)]
pub struct Backoff {
    failures: u32,
}

impl Backoff {
    /// Records a failure and returns how long to wait before the next attempt; `jitter` in
    /// [0, 1) (a random draw) spreads it by ±20 %.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let doubled = FIRST.saturating_mul(1u32 << self.failures.min(16));
        self.failures = self.failures.saturating_add(1);
        doubled.min(MAX).mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
    }

    /// A session that worked resets the ladder.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::default();
        let delays: Vec<_> = (0..12).map(|_| b.next_delay(0.5)).collect();
        assert_eq!(delays[0], Duration::from_millis(500));
        assert_eq!(delays[1], Duration::from_secs(1));
        assert_eq!(delays[4], Duration::from_secs(8));
        assert_eq!(delays[11], MAX);
        b.reset();
        assert_eq!(b.next_delay(0.0), Duration::from_millis(400));
        assert_eq!(b.next_delay(1.0), Duration::from_millis(1200));
    }
}
