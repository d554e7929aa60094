//! When to retry a delivery: a pure classification of what happened and a pure schedule, so
//! both are table-tested without a network.

use std::time::Duration;

/// What one attempt ran into.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The sink answered with this status (and `Retry-After`, when given).
    Status(u16, Option<Duration>),
    /// No answer within the timeout.
    Timeout,
    /// The connection failed (refused, reset, DNS, TLS).
    Network,
    /// Not sent yet: a preset step needs a value an earlier call captures, or the store could
    /// not give or keep a step's progress.
    NotReady,
    /// Can never be sent as it is: its preset could not render it, or the CRM's 2xx answer
    /// lacked a value to capture.
    Unsendable,
    /// Nothing was left to send: an earlier attempt had done every step.
    Completed,
}

/// What to do about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Delivered: done.
    Delivered,
    /// Try again, no sooner than `at_least`: the receiver's `Retry-After`, and at least 60 s
    /// after a timeout or a 429 so a struggling receiver is not hammered.
    Retry {
        /// The minimum wait.
        at_least: Option<Duration>,
    },
    /// Give up now (other 4xx, 410 Gone): dead-letter.
    Dead,
}

/// The longest `Retry-After` honoured; a receiver asking for more is retried after this.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Classifies an attempt: 2xx (and nothing left to send) delivered; network errors, timeouts,
/// 408, 429, 5xx and steps not ready retried; every other status (including 3xx, since
/// redirects are not followed) and an unsendable row dead-lettered.
pub fn classify(attempt: &Attempt) -> Verdict {
    const MIN_AFTER_OVERLOAD: Duration = Duration::from_secs(60);
    let asked = |r: &Option<Duration>| r.map(|d| d.min(MAX_RETRY_AFTER));
    match attempt {
        Attempt::Status(code, _) if (200..300).contains(code) => Verdict::Delivered,
        Attempt::Status(429, retry_after) => Verdict::Retry {
            at_least: Some(
                asked(retry_after)
                    .unwrap_or_default()
                    .max(MIN_AFTER_OVERLOAD),
            ),
        },
        Attempt::Status(code, retry_after) if *code == 408 || (500..600).contains(code) => {
            Verdict::Retry {
                at_least: asked(retry_after),
            }
        }
        Attempt::Status(_, _) => Verdict::Dead,
        Attempt::Timeout => Verdict::Retry {
            at_least: Some(MIN_AFTER_OVERLOAD),
        },
        Attempt::Network | Attempt::NotReady => Verdict::Retry { at_least: None },
        Attempt::Unsendable => Verdict::Dead,
        Attempt::Completed => Verdict::Delivered,
    }
}

/// The Standard Webhooks ladder: the wait after the 1st, 2nd, ... failed attempt; the last
/// step repeats until the horizon.
pub const LADDER: [Duration; 9] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// The wait after `failed_attempts` failures (1-based): the ladder's step with ±20 % jitter
/// (`jitter` in `[-1, 1]` picks where in that band), or longer when the verdict asks for it.
pub fn next_delay(failed_attempts: u32, at_least: Option<Duration>, jitter: f64) -> Duration {
    let index = (failed_attempts.max(1) as usize - 1).min(LADDER.len() - 1);
    let jittered = LADDER[index].mul_f64(1.0 + 0.2 * jitter.clamp(-1.0, 1.0));
    jittered.max(at_least.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let retry = |c| matches!(classify(&Attempt::Status(c, None)), Verdict::Retry { .. });
        let dead = |c| classify(&Attempt::Status(c, None)) == Verdict::Dead;
        assert_eq!(classify(&Attempt::Status(200, None)), Verdict::Delivered);
        assert_eq!(classify(&Attempt::Status(204, None)), Verdict::Delivered);
        for code in [408, 429, 500, 502, 503, 599] {
            assert!(retry(code), "{code} should be retried");
        }
        for code in [301, 302, 400, 401, 403, 404, 410, 422] {
            assert!(dead(code), "{code} should dead-letter");
        }
        for waits in [Attempt::Network, Attempt::NotReady] {
            assert_eq!(classify(&waits), Verdict::Retry { at_least: None });
        }
        assert_eq!(classify(&Attempt::Unsendable), Verdict::Dead);
        assert_eq!(classify(&Attempt::Completed), Verdict::Delivered);
        assert_eq!(
            classify(&Attempt::Timeout),
            Verdict::Retry {
                at_least: Some(Duration::from_secs(60))
            }
        );
    }

    #[test]
    fn retry_after_is_honoured_on_429_and_503() {
        assert_eq!(
            classify(&Attempt::Status(429, Some(Duration::from_secs(120)))),
            Verdict::Retry {
                at_least: Some(Duration::from_secs(120))
            }
        );
        assert_eq!(
            classify(&Attempt::Status(429, Some(Duration::from_secs(1)))),
            Verdict::Retry {
                at_least: Some(Duration::from_secs(60))
            }
        );
        assert_eq!(
            classify(&Attempt::Status(
                503,
                Some(Duration::from_secs(10 * 86_400))
            )),
            Verdict::Retry {
                at_least: Some(MAX_RETRY_AFTER)
            }
        );
        assert_eq!(
            classify(&Attempt::Status(503, Some(Duration::from_secs(7)))),
            Verdict::Retry {
                at_least: Some(Duration::from_secs(7))
            }
        );
    }

    #[test]
    fn the_ladder_with_jitter() {
        assert_eq!(next_delay(1, None, 0.0), Duration::from_secs(5));
        assert_eq!(next_delay(2, None, 0.0), Duration::from_secs(300));
        assert_eq!(next_delay(9, None, 0.0), Duration::from_secs(86_400));
        assert_eq!(next_delay(40, None, 0.0), Duration::from_secs(86_400));
        assert_eq!(next_delay(1, None, 1.0), Duration::from_secs(6));
        assert_eq!(next_delay(1, None, -1.0), Duration::from_secs(4));
        assert_eq!(
            next_delay(2, None, 5.0),
            Duration::from_secs(360),
            "jitter is clamped"
        );
    }

    #[test]
    fn a_longer_wait_asked_for_wins_over_the_ladder() {
        assert_eq!(
            next_delay(1, Some(Duration::from_secs(120)), 0.0),
            Duration::from_secs(120)
        );
        assert_eq!(
            next_delay(2, Some(Duration::from_secs(2)), 0.0),
            Duration::from_secs(300)
        );
    }
}
