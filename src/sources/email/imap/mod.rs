//! The IMAP side of the e-mail channel: one task per configured mailbox keeps a session open,
//! takes every new message into intake exactly once, and waits for the next with IDLE or by
//! polling.
//!
//! `connect` opens a session (TLS, STARTTLS or plain), `cursor` is the stored position and its
//! transitions, `plan` cuts new messages into batches by their sizes, `sync` takes them in
//! committed batches, `gap` keeps the watermark before a message the server left out, `watch`
//! is the task: connect, catch up, wait, reconnect with `backoff`. `probe` tries each mailbox
//! once for `leadgate check --connect`.

mod backoff;
mod connect;
mod cursor;
mod folder_name;
mod gap;
mod mailbox;
mod plan;
pub mod probe;
mod sync;
mod watch;

use crate::intake::IntakeError;
use crate::shared::Shared;
use crate::sources::email::config::EmailSource;
use crate::store::StoreError;
use std::sync::Arc;

/// Why a session ended; the task logs it, shows it in `/readyz` and reconnects. Never holds
/// the password.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The server could not be reached, or TLS failed.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The server refused the login.
    #[error("login refused {0}")]
    Login(String),
    /// The mailbox could not be opened.
    #[error("cannot open the mailbox: {0}")]
    Mailbox(String),
    /// A command failed or the connection dropped.
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
    /// The server did not answer in time.
    #[error("no answer from the server to {0} in time")]
    Timeout(&'static str),
    /// The server keeps listing a message and answering without its content: the watermark
    /// stays before it, and it is asked for again after a delay.
    #[error(
        "UID {uid} came back without its content {times} times in a row; the mailbox stays before it and asks again"
    )]
    MissingContent {
        /// The message's UID.
        uid: u32,
        /// Passes in a row that found it so.
        times: u32,
    },
    /// A message could not be committed: the watermark stays where it was.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// The cursor could not be read or written.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Starts one task per mailbox of every source on the shared tasks; each ends when they are
/// told to stop.
pub fn start(sources: &[EmailSource], shared: &Shared) {
    for source in sources {
        let source = Arc::new(source.clone());
        for mailbox in &source.mailboxes {
            let task = mailbox::Mailbox::new(source.clone(), mailbox.clone(), shared.clone());
            let span = tracing::info_span!("source", id = %source.id, mailbox = %mailbox);
            let lease = format!("imap:{}:{mailbox}", source.id);
            shared.spawn_once(lease, span, move |stop| task.clone().run(stop));
        }
    }
}
