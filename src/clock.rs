//! Time and ids come from here and nowhere else (clippy's `disallowed_methods` enforces it), so
//! tests can run the whole daemon on a clock they move themselves.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::watch;

/// What [`Clock::sleep_until`] returns: boxed, as the stages hold their clock as
/// `Arc<dyn Clock>`.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The source of "now" for every stage.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once the clock reads `at` or later. The stages wait for their next due work
    /// (a retry, a deadline, a sweep) with it, so on a [`ManualClock`] they wake when the test
    /// moves the clock there, not on a real timer.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep;

    /// A fresh UUID v7 stamped with [`Clock::now`], so ids sort by creation time.
    fn new_id(&self) -> uuid::Uuid {
        let now = self.now();
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            now.timestamp().max(0) as u64,
            now.timestamp_subsec_nanos(),
        );
        uuid::Uuid::new_v7(ts)
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place the wall clock is read
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Sleeps on tokio's timer for the time left until `at` as the wall clock reads it now.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let left = (at - self.now()).to_std().unwrap_or_default();
        Box::pin(tokio::time::sleep(left))
    }
}

/// A clock tests set and advance by hand; moving it wakes whoever sleeps until a time it
/// reaches.
#[derive(Debug)]
pub struct ManualClock(watch::Sender<DateTime<Utc>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> ManualClock {
        ManualClock(watch::Sender::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.0.send_modify(|t| *t += by);
    }

    /// Sets the clock.
    pub fn set(&self, at: DateTime<Utc>) {
        self.0.send_replace(at);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.borrow()
    }

    /// Resolves when [`ManualClock::advance`] or [`ManualClock::set`] brings the clock to `at`
    /// or past it (at once when it is there already); never, should the clock be dropped.
    fn sleep_until(&self, at: DateTime<Utc>) -> Sleep {
        let mut moves = self.0.subscribe();
        Box::pin(async move {
            if moves.wait_for(|now| *now >= at).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Long enough for a woken sleeper to run: only the "not woken" case waits it out.
    const LIVENESS: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn a_manual_sleeper_wakes_when_the_clock_reaches_its_time_and_not_before() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .expect("time")
            .to_utc();
        let clock = ManualClock::new(t0);
        let mut sleeper = tokio::spawn(clock.sleep_until(t0 + chrono::Duration::minutes(30)));
        clock.advance(chrono::Duration::minutes(29));
        assert!(
            tokio::time::timeout(LIVENESS, &mut sleeper).await.is_err(),
            "woken a minute early"
        );
        clock.advance(chrono::Duration::minutes(2));
        tokio::time::timeout(LIVENESS * 10, sleeper)
            .await
            .expect("woken once the clock passed its time")
            .expect("the sleeper ran");
        clock.set(t0 - chrono::Duration::hours(1));
        let mut set_back = tokio::spawn(clock.sleep_until(t0));
        assert!(
            tokio::time::timeout(LIVENESS, &mut set_back).await.is_err(),
            "the clock set back before its time: it sleeps on"
        );
        clock.set(t0);
        tokio::time::timeout(LIVENESS * 10, set_back)
            .await
            .expect("woken when the clock is set to its time")
            .expect("the sleeper ran");
    }

    #[tokio::test]
    async fn the_system_clock_sleeps_until_the_time_and_not_for_a_time_past() {
        let clock = SystemClock;
        tokio::time::timeout(
            LIVENESS,
            clock.sleep_until(clock.now() - chrono::Duration::hours(1)),
        )
        .await
        .expect("a past time is no wait");
        let started = tokio::time::Instant::now();
        clock
            .sleep_until(clock.now() + chrono::Duration::milliseconds(50))
            .await;
        assert!(started.elapsed() >= Duration::from_millis(40));
    }
}
