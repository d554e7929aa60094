//! Answering the person who wrote, on the messenger they wrote from (WhatsApp, VK and
//! Telegram): the answering sources' texts and
//! clients ([`ReplyClients`]) and why a send failed ([`NotSent`]). What the address is and how
//! a message is sent is each channel's kind's (`ChannelKind::reply_address`, `send_reply`); the
//! answers go through the notification outbox (`notify/people.rs`).

use super::clients::Clients;
use super::registry::CHANNELS;
use super::table::Sources;
use std::collections::HashMap;

/// The answer of every configured source that has one, by source id.
pub fn reply_texts(sources: &Sources) -> HashMap<String, String> {
    sources.tables().flat_map(|t| t.reply_texts()).collect()
}

/// The clients the answers are sent through: each channel's own, by type.
#[derive(Debug, Clone, Default)]
pub struct ReplyClients(Clients);

impl ReplyClients {
    /// A client for every source that answers, each channel's kind building its own
    /// ([`crate::sources::registry::ChannelKind::reply_clients`]); `None` when none does.
    pub fn of(sources: &Sources) -> Result<Option<ReplyClients>, String> {
        let mut clients = ReplyClients::default();
        for kind in CHANNELS {
            kind.reply_clients(sources, &mut clients)?;
        }
        Ok((!clients.0.is_empty()).then_some(clients))
    }

    /// Keeps a channel's clients.
    pub fn insert<T: std::any::Any + Send + Sync>(&mut self, client: T) {
        self.0.insert(client);
    }

    /// A channel's clients, when it put them here.
    pub fn get<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get()
    }
}

/// One answer to send.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    /// The source it goes out through.
    pub source: &'a str,
    /// Whom, as the channel's kind gave it (`ChannelKind::reply_address`).
    pub address: &'a str,
    /// What.
    pub text: &'a str,
    /// The lead carried no phone (a Telegram bot then offers its share-contact button).
    pub without_phone: bool,
    /// The notification's id: a resend is the same message where the provider can tell.
    pub row: i64,
}

/// Why an answer was not sent, and whether to try again.
#[derive(Debug)]
pub struct NotSent {
    /// What went wrong.
    pub error: String,
    /// Whether a later attempt can succeed.
    pub transient: bool,
}

/// The source `source` of `channel` has no client to answer with (any more): final.
pub fn no_longer_answers(channel: &str, source: &str) -> NotSent {
    NotSent {
        error: format!("the {channel} source {source:?} no longer answers people"),
        transient: false,
    }
}
