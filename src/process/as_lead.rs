//! An item kept out that the admin says is a lead ("this is a lead" in the console): it is
//! read again by its channel's parser with the filters that judged it turned off, and
//! routed without the rules that drop. What no parser can read (malformed, too large, a
//! service message with no person's words) still has nothing to make a lead of.

use crate::lead::Parsed;
use crate::sources::SourceSettings;
use crate::sources::registry::kind;
use crate::store::InboundRow;

/// The `inbound.meta` key that marks an item the admin turned into a lead: who and when.
pub const META_AS_LEAD: &str = "as_lead";

/// Whether the admin said this item is a lead.
pub fn marked_as_lead(row: &InboundRow) -> bool {
    row.meta.get(META_AS_LEAD).is_some()
}

/// Reads a stored item as a lead: no honeypot, staff, group-message, spam, auto-reply,
/// bounce or bulk verdict. The blog's own "spam" status and what carries no message stay.
/// Each channel's kind says how ([`crate::sources::registry::ChannelKind::parse_as_lead`]).
pub async fn parse_as_lead(row: &InboundRow, settings: &SourceSettings) -> Parsed {
    kind(row.channel).parse_as_lead(row, settings).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::Channel;
    use crate::lead::NotLeadReason;

    fn row(channel: Channel, file: &str) -> InboundRow {
        let path = format!("{}/tests/fixtures/{file}", env!("CARGO_MANIFEST_DIR"));
        InboundRow {
            id: "item".into(),
            source: "src".into(),
            channel,
            dedupe_key: "k".into(),
            received_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
            content_type: None,
            payload: std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")),
            meta: serde_json::json!({}),
        }
    }

    fn reason(p: &Parsed) -> Option<NotLeadReason> {
        match p {
            Parsed::NotLead(n) => Some(n.reason),
            Parsed::Lead(_) => None,
        }
    }

    #[tokio::test]
    async fn each_filters_verdict_is_set_aside_and_the_persons_words_kept() {
        let settings = SourceSettings::default();
        let cases = [
            (
                Channel::Email,
                "email/autoreply-auto-submitted.eml",
                NotLeadReason::AutoReply,
            ),
            (
                Channel::Email,
                "email/spam-flagged.eml",
                NotLeadReason::Spam,
            ),
            (
                Channel::Email,
                "email/newsletter-bulk.eml",
                NotLeadReason::Bulk,
            ),
            (
                Channel::Telegram,
                "telegram/group-message.json",
                NotLeadReason::GroupMessage,
            ),
        ];
        for (channel, file, kept_as) in cases {
            let item = row(channel, file);
            let judged = crate::sources::parse_item(&item, &settings).await;
            assert_eq!(reason(&judged), Some(kept_as), "{file}");
            match parse_as_lead(&item, &settings).await {
                Parsed::Lead(draft) => assert!(!draft.text.is_empty(), "{file}"),
                Parsed::NotLead(n) => panic!("{file}: still {n:?}"),
            }
        }
    }

    #[tokio::test]
    async fn what_carries_no_message_stays_out() {
        let settings = SourceSettings::default();
        let item = row(Channel::Telegram, "telegram/callback-query.json");
        let parsed = parse_as_lead(&item, &settings).await;
        assert_eq!(reason(&parsed), Some(NotLeadReason::NotAMessage));
        let mut broken = row(Channel::Email, "email/html-only.eml");
        broken.payload = Vec::new();
        assert!(matches!(
            parse_as_lead(&broken, &settings).await,
            Parsed::NotLead(_)
        ));
    }

    #[test]
    fn an_item_is_marked_by_its_meta() {
        let mut item = row(Channel::Email, "email/html-only.eml");
        assert!(!marked_as_lead(&item));
        item.meta = serde_json::json!({META_AS_LEAD: {"by": "admin API"}});
        assert!(marked_as_lead(&item));
    }
}
