//! A mailbox's task (`Mailbox::run`): connect, catch up, wait for the next message (IDLE or a poll), and on any
//! failure log it once, show it in `/readyz`, and reconnect after a growing delay.

use super::ImapError;
use super::backoff::Backoff;
use super::connect::{self, ImapSession};
use super::gap::{Gaps, MISSING_LIMIT};
use super::mailbox::Mailbox;
use super::sync::{Abilities, within};
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// IDLE is re-issued at least this often (servers may drop an IDLE older than 30 minutes).
const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
/// The longest a connect and login may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a polite LOGOUT may take at shutdown.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(2);

/// What ended a wait for new mail.
enum Wake {
    /// Something changed (or it is time to look again).
    Look,
    /// The daemon is stopping.
    Stop,
}

impl Mailbox {
    /// Runs until `stop` is cancelled. A cancel mid-batch is safe: what was committed is
    /// found again under its Message-ID and not stored twice.
    pub async fn run(self, stop: CancellationToken) {
        self.deps.health.register(&self.name, "source");
        let mut backoff = Backoff::default();
        let mut gaps = Gaps::default();
        loop {
            let outcome = tokio::select! {
                outcome = self.session(&stop, &mut backoff, &mut gaps) => outcome,
                () = stop.cancelled() => Ok(()),
            };
            let Err(error) = outcome else { break };
            let delay = backoff.next_delay(fastrand::f64());
            self.deps
                .health
                .failure(&self.name, self.deps.clock.now(), error.to_string());
            tracing::warn!(source = %self.source.id, mailbox = %self.mailbox, %error, retry_in_ms = delay.as_millis() as u64, "Mailbox disconnected; reconnecting after a delay.");
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = stop.cancelled() => break,
            }
        }
        self.deps.health.stopped(&self.name);
        tracing::info!(source = %self.source.id, mailbox = %self.mailbox, "Mailbox watcher stopped.");
    }

    /// One session: connect, then catch up and wait until the daemon stops or the session fails.
    /// A pass that stops before a message the server left out is run again at once; the same
    /// message left out [`MISSING_LIMIT`] passes in a row fails the session (shown in
    /// `/readyz`, asked again after the reconnect delay), until it has been asked for over the
    /// source's `unreadable_after`: then it is set aside (`Mailbox::set_aside_unreadable`) and
    /// the pass goes on past it. The delay only starts over after a pass that took everything.
    async fn session(
        &self,
        stop: &CancellationToken,
        backoff: &mut Backoff,
        gaps: &mut Gaps,
    ) -> Result<(), ImapError> {
        let mut session =
            match tokio::time::timeout(CONNECT_TIMEOUT, connect::open(&self.source)).await {
                Ok(session) => session?,
                Err(_) => return Err(ImapError::Timeout("connect and login")),
            };
        let caps = within("CAPABILITY", session.capabilities()).await?;
        let abilities = Abilities {
            moves: caps.has_str("MOVE"),
            uid_expunge: caps.has_str("UIDPLUS"),
        };
        let idle = self.source.idle && caps.has_str("IDLE");
        let mut cursor = self.open(&mut session).await?;
        tracing::info!(source = %self.source.id, mailbox = %self.mailbox, host = %self.source.host, mode = if idle { "idle" } else { "poll" }, cursor = %cursor.describe(), "Mailbox connected.");
        loop {
            let pass = self.catch_up(&mut session, &mut cursor, abilities).await?;
            if pass.fresh > 0 {
                tracing::debug!(source = %self.source.id, mailbox = %self.mailbox, fresh = pass.fresh, cursor = %cursor.describe(), "New messages taken.");
            }
            let now = self.deps.clock.now();
            match gaps.record(pass.missing, now) {
                Some(gap) if gap.times >= MISSING_LIMIT && self.long_enough(gap, now) => {
                    self.set_aside_unreadable(&mut cursor, gap).await?;
                    continue;
                }
                Some(gap) if gap.times >= MISSING_LIMIT => {
                    return Err(ImapError::MissingContent {
                        uid: gap.uid,
                        times: gap.times,
                    });
                }
                Some(_) => continue,
                None => backoff.reset(),
            }
            let (next, wake) = if idle {
                self.idle(session, stop).await?
            } else {
                let wake = tokio::select! {
                    () = tokio::time::sleep(self.source.poll_interval) => Wake::Look,
                    () = stop.cancelled() => Wake::Stop,
                };
                (session, wake)
            };
            session = next;
            if let Wake::Stop = wake {
                let _ = tokio::time::timeout(LOGOUT_TIMEOUT, session.logout()).await;
                return Ok(());
            }
        }
    }

    /// Waits in IDLE until the server reports a change, the renewal time comes, or the daemon
    /// stops; then ends the IDLE (DONE) and gives the session back.
    async fn idle(
        &self,
        session: ImapSession,
        stop: &CancellationToken,
    ) -> Result<(ImapSession, Wake), ImapError> {
        // A new message reported during an earlier command is in the unsolicited queue, and
        // one arriving as IDLE starts is queued by `init`: either means look again at once.
        let news = session.unsolicited_responses.clone();
        if has_news(|| news.try_recv().ok()) {
            return Ok((session, Wake::Look));
        }
        let mut handle = session.idle();
        within("IDLE", handle.init()).await?;
        if has_news(|| news.try_recv().ok()) {
            let session = within("DONE", handle.done()).await?;
            return Ok((session, Wake::Look));
        }
        let renew = IDLE_RENEW.min(self.source.poll_interval);
        let wake = {
            let (wait, _interrupt) = handle.wait_with_timeout(renew);
            tokio::select! {
                response = wait => match response? {
                    IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt => Wake::Look,
                },
                () = tokio::time::sleep(renew) => Wake::Look,
                () = stop.cancelled() => Wake::Stop,
            }
        };
        let session = within("DONE", handle.done()).await?;
        Ok((session, wake))
    }
}

/// Drains the unsolicited responses; true when one announced new messages.
fn has_news(mut next: impl FnMut() -> Option<UnsolicitedResponse>) -> bool {
    let mut news = false;
    while let Some(response) = next() {
        news |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    news
}
