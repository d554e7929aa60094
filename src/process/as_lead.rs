//! An item kept out that the admin says is a lead ("this is a lead" in the console): it is
//! read again by its channel's parser with the filters that judged it turned off, and
//! routed without the rules that drop. What no parser can read (malformed, too large, a
//! service message with no person's words) still has nothing to make a lead of.

use super::parse::SourceSettings;
use crate::lead::{Channel, Parsed};
use crate::sources::blog::{self, CommentRules};
use crate::sources::{email, telegram, vk, webform, whatsapp};
use crate::store::InboundRow;

/// The `inbound.meta` key that marks an item the admin turned into a lead: who and when.
pub const META_AS_LEAD: &str = "as_lead";

/// Whether the admin said this item is a lead.
pub fn marked_as_lead(row: &InboundRow) -> bool {
    row.meta.get(META_AS_LEAD).is_some()
}

/// Reads a stored item as a lead: no honeypot, staff, group-message, spam, auto-reply,
/// bounce or bulk verdict. The blog's own "spam" status and what carries no message stay.
pub async fn parse_as_lead(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    match row.channel {
        Channel::Webform => match webform::stored_connector(row, &settings.connectors) {
            Some(connector) => webform::parse_stored(row, None, &connector).await,
            None => super::parse_item(row, settings).await,
        },
        // No community id: nothing is read as the community's own reply.
        Channel::Vk => vk::parse_event(&row.payload, 0),
        Channel::Whatsapp => whatsapp::parse_item(&row.payload),
        Channel::Email if row.meta.get(email::META_TOO_LARGE).is_none() => {
            email::parse_email_as_lead(&row.payload, &settings.email)
        }
        Channel::Email => super::parse_item(row, settings).await,
        Channel::Blog => {
            let rules = CommentRules {
                staff_names: Vec::new(),
                staff_emails: Vec::new(),
                max_links: usize::MAX,
                spam_words: Vec::new(),
            };
            blog::parse_stored(&row.payload, &row.meta, &rules)
        }
        Channel::Telegram => telegram::parse_update(
            &row.payload,
            &telegram::TelegramOptions {
                group_messages: true,
            },
        ),
    }
}
