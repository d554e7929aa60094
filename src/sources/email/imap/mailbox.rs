//! One watched mailbox of a source: what its task knows. The task itself is in `watch.rs`
//! (connect, wait, reconnect) and `sync.rs` (a catch-up pass).

use crate::shared::Shared;
use crate::sources::email::config::EmailSource;
use std::sync::Arc;

/// One watched mailbox of a source.
#[derive(Debug, Clone)]
pub struct Mailbox {
    /// The account.
    pub(super) source: Arc<EmailSource>,
    /// The folder.
    pub(super) mailbox: String,
    /// The daemon's shared parts.
    pub(super) deps: Shared,
    /// The component name in `/readyz` (also the cursor key).
    pub(super) name: String,
}

impl Mailbox {
    /// The task for `mailbox` of `source`.
    pub fn new(source: Arc<EmailSource>, mailbox: String, deps: Shared) -> Mailbox {
        let name = super::cursor::key(&source.id, &mailbox);
        Mailbox {
            source,
            mailbox,
            deps,
            name,
        }
    }
}
