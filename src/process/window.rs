//! How long a conversation stays open for follow-ups, per source: a burst of Telegram messages
//! and a slow e-mail thread do not need the same window, and a form's double click needs only a
//! couple of minutes.

use crate::lead::Contact;
use std::collections::HashMap;
use std::time::Duration;

/// The window since a conversation's last message within which a new message joins its lead.
#[derive(Debug, Clone)]
pub struct ConversationWindows {
    /// For sources without their own setting.
    pub default: Duration,
    /// Sources with their own setting, by source id.
    pub by_source: HashMap<String, Duration>,
}

/// The conversation of a post without one of its own (a form): its first identity key, so the
/// same person posting again within the window joins their lead.
pub fn contact_conversation(contact: &Contact) -> Option<String> {
    (contact.identity_keys().into_iter().next()).map(|k| format!("contact:{k}"))
}

impl ConversationWindows {
    /// The window of `source` (zero: items never join by conversation).
    pub fn of(&self, source: &str) -> Duration {
        self.by_source.get(source).copied().unwrap_or(self.default)
    }

    /// Whether an item of `source` without a conversation of its own (a form, a mail, a
    /// comment) joins the same person's lead within the window: when the source sets one.
    pub fn by_contact(&self, source: &str) -> bool {
        self.by_source.get(source).is_some_and(|w| !w.is_zero())
    }
}

impl Default for ConversationWindows {
    /// Thirty minutes everywhere.
    fn default() -> ConversationWindows {
        ConversationWindows {
            default: Duration::from_secs(30 * 60),
            by_source: HashMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_setting_wins_over_the_default() {
        let windows = ConversationWindows {
            by_source: HashMap::from([("tg".to_string(), Duration::from_secs(60))]),
            ..ConversationWindows::default()
        };
        assert_eq!(windows.of("tg"), Duration::from_secs(60));
        assert_eq!(windows.of("mail"), Duration::from_secs(30 * 60));
    }
}
