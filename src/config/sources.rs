//! What the parsers need to know, read off the configured sources: the assembler's side of
//! [`SourceSettings`].

use super::Config;
use crate::lead::Channel;
use crate::sources::SourceSettings;

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

    /// The source a sample of `channel` is read as: the first configured one (for a blog, the
    /// first WordPress site, else the first feed); `None` when there is none, or for e-mail.
    pub fn first_source(&self, channel: Channel) -> Option<&str> {
        match channel {
            Channel::Webform => self.webforms.first().map(|f| f.id.as_str()),
            Channel::Vk => self.vk.first().map(|s| s.id.as_str()),
            Channel::Whatsapp => self.whatsapp.first().map(|s| s.id.as_str()),
            Channel::Telegram => self.telegram.first().map(|s| s.id.as_str()),
            Channel::Blog => (self.wordpress.iter().map(|w| w.id.as_str()))
                .chain(self.feeds.iter().map(|f| f.id.as_str()))
                .next(),
            Channel::Email => None,
        }
    }
}
