//! What the parsers need to know, read off the configured sources: the assembler's side of
//! [`SourceSettings`].

use super::Config;
use crate::lead::Channel;
use crate::sources::SourceSettings;
use crate::sources::fetch::{FetcherError, FileAccess};
use crate::sources::replies::{ReplyClients, reply_texts};
use std::collections::HashMap;
use std::time::Duration;

impl Config {
    /// The settings of every configured source.
    pub fn source_settings(&self) -> SourceSettings {
        SourceSettings {
            honeypots: self
                .webforms
                .iter()
                .map(|f| (f.id.clone(), f.honeypot.clone()))
                .collect(),
            vk_groups: self.vk.iter().map(|s| (s.id.clone(), s.group_id)).collect(),
            email: crate::sources::email::EmailContext {
                own_emails: self.own_contacts.emails.clone(),
                ..crate::sources::email::EmailContext::default()
            },
            connectors: self.connectors.clone(),
            blog_rules: self
                .wordpress
                .iter()
                .map(|w| (w.id.clone(), w.rules.clone()))
                .chain(self.feeds.iter().map(|f| (f.id.clone(), f.rules.clone())))
                .collect(),
            telegram: self
                .telegram
                .iter()
                .map(|t| (t.id.clone(), t.options.clone()))
                .collect(),
        }
    }

    /// The clients each configured source's files are fetched with.
    pub fn file_access(&self) -> Result<FileAccess, FetcherError> {
        let vk_hosts = &self.attachments.vk_hosts;
        FileAccess::of(&self.telegram, &self.whatsapp, &self.webforms, vk_hosts)
    }

    /// The answer of every source that answers the person who wrote, by source id.
    pub fn reply_texts(&self) -> HashMap<String, String> {
        reply_texts(&self.whatsapp, &self.vk)
    }

    /// One client per source that answers people; `None` when none does.
    pub fn reply_clients(&self) -> Result<Option<ReplyClients>, String> {
        ReplyClients::of(&self.whatsapp, &self.vk)
    }

    /// Every configured source with its channel and conversation window: the one place that
    /// walks each channel's list, for whatever needs all sources alike (blogs list WordPress
    /// sites before feeds).
    pub fn sources(&self) -> impl Iterator<Item = ConfiguredSource<'_>> {
        use Channel::{Blog, Email, Telegram, Vk, Webform, Whatsapp};
        (self.webforms.iter())
            .map(|s| source(Webform, &s.id, s.conversation_window))
            .chain((self.email.iter()).map(|s| source(Email, &s.id, s.conversation_window)))
            .chain((self.telegram.iter()).map(|s| source(Telegram, &s.id, s.conversation_window)))
            .chain((self.vk.iter()).map(|s| source(Vk, &s.id, s.conversation_window)))
            .chain((self.whatsapp.iter()).map(|s| source(Whatsapp, &s.id, s.conversation_window)))
            .chain((self.wordpress.iter()).map(|s| source(Blog, &s.id, s.conversation_window)))
            .chain((self.feeds.iter()).map(|s| source(Blog, &s.id, s.conversation_window)))
    }

    /// The source a sample of `channel` is read as: the first configured one (for a blog, the
    /// first WordPress site, else the first feed); `None` when there is none, or for e-mail,
    /// whose samples are read without a source.
    pub fn first_source(&self, channel: Channel) -> Option<&str> {
        if channel == Channel::Email {
            return None;
        }
        self.sources().find(|s| s.channel == channel).map(|s| s.id)
    }
}

fn source(channel: Channel, id: &str, conversation_window: Duration) -> ConfiguredSource<'_> {
    ConfiguredSource {
        id,
        channel,
        conversation_window,
    }
}

/// One configured source, whatever its channel.
#[derive(Debug, Clone, Copy)]
pub struct ConfiguredSource<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its channel.
    pub channel: Channel,
    /// How long a second message of the same conversation (or contact) joins its lead.
    pub conversation_window: Duration,
}
