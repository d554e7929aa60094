//! What the parsers, the file keeper and the answers need, read off the configured sources.

use super::Config;
use crate::lead::Channel;
use crate::sources::SourceSettings;
use crate::sources::fetch::{FetcherError, FileAccess};
use crate::sources::replies::{ReplyClients, reply_texts};
use std::collections::HashMap;

impl Config {
    /// What the parsers read every configured source with.
    pub fn source_settings(&self) -> SourceSettings {
        SourceSettings {
            sources: self.sources.clone(),
            email: crate::sources::email::EmailContext {
                own_emails: self.own_contacts.emails.clone(),
                ..crate::sources::email::EmailContext::default()
            },
            connectors: self.connectors.clone(),
        }
    }

    /// The clients each configured source's files are fetched with.
    pub fn file_access(&self) -> Result<FileAccess, FetcherError> {
        FileAccess::of(&self.sources, &self.attachments.vk_hosts)
    }

    /// The answer of every source that answers the person who wrote, by source id.
    pub fn reply_texts(&self) -> HashMap<String, String> {
        reply_texts(&self.sources)
    }

    /// One client per source that answers people; `None` when none does.
    pub fn reply_clients(&self) -> Result<Option<ReplyClients>, String> {
        ReplyClients::of(&self.sources)
    }

    /// The source a sample of `channel` is read as (its settings: a form's honeypot, a
    /// community's id): the first configured one (for a blog, the first WordPress site, else
    /// the first feed); `None` when there is none.
    pub fn first_source(&self, channel: Channel) -> Option<&str> {
        self.sources
            .iter()
            .find(|s| s.channel == channel)
            .map(|s| s.id)
    }
}
