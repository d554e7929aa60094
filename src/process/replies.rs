//! Which earlier lead a reply or an edit may join. A message names the message it answers
//! (`In-Reply-To`, a comment's parent, a WhatsApp context) or the one it edits, and that id
//! is looked up among the ids the leads hold. Most such ids mean something only within their
//! own source (a site's comment 7, a chat's message 12), and anyone may answer a public blog
//! comment: a stranger's reply is their own lead, not words and contacts added to someone
//! else's.

use crate::lead::{Channel, Contact};

/// The source whose leads a reply or an edit from `source` is looked up in: its own, except
/// for e-mail, whose Message-IDs are unique everywhere (a customer's reply may reach another
/// mailbox of the business and still belongs to the thread).
pub(super) fn refs_within(channel: Channel, source: &str) -> Option<&str> {
    (channel != Channel::Email).then_some(source)
}

/// The ids a message is looked up by among the leads' ids: the ones it answers, and for an
/// e-mail its own Message-ID too: the same letter sent to two of the business's mailboxes
/// (To: sales@, Cc: info@) is one item in each, and its second copy joins the lead its first
/// made instead of waking a second manager.
pub(super) fn looked_up_by(
    channel: Channel,
    replies_to: &[String],
    external_id: Option<&String>,
) -> Vec<String> {
    let own = external_id.filter(|_| channel == Channel::Email);
    replies_to.iter().chain(own).cloned().collect()
}

/// Whether a reply whose contact is `reply` joins the lead whose contact is `lead`. On a blog
/// anyone can answer anyone, so a reply joins only when it is the same person: a phone, an
/// e-mail or the name in common. Elsewhere a reply comes from the chat's or the thread's own
/// people.
pub(super) fn reply_joins(channel: Channel, lead: &Contact, reply: &Contact) -> bool {
    if channel != Channel::Blog {
        return true;
    }
    let named = |c: &Contact| (c.name.as_deref()).map(|n| n.trim().to_lowercase());
    if named(lead).is_some_and(|n| !n.is_empty() && Some(n) == named(reply)) {
        return true;
    }
    let keys = lead.identity_keys();
    reply.identity_keys().iter().any(|k| keys.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str, email: Option<&str>) -> Contact {
        Contact {
            name: Some(name.to_string()),
            emails: email.into_iter().map(str::to_string).collect(),
            ..Contact::default()
        }
    }

    #[test]
    fn an_email_is_looked_up_by_its_own_message_id_too() {
        let answers = ["<a@x>".to_string()];
        let own = "<b@x>".to_string();
        assert_eq!(
            looked_up_by(Channel::Email, &answers, Some(&own)),
            ["<a@x>", "<b@x>"]
        );
        assert_eq!(
            looked_up_by(Channel::Telegram, &answers, Some(&own)),
            ["<a@x>"]
        );
        assert!(looked_up_by(Channel::Email, &[], None).is_empty());
    }

    #[test]
    fn a_blog_reply_joins_only_the_same_person() {
        let anna = contact("Анна", Some("anna@x.ru"));
        let blog = Channel::Blog;
        assert!(reply_joins(blog, &anna, &contact(" анна ", None)));
        assert!(reply_joins(
            blog,
            &anna,
            &contact("A. K.", Some("anna@x.ru"))
        ));
        assert!(!reply_joins(
            blog,
            &anna,
            &contact("Пётр", Some("petr@x.ru"))
        ));
        assert!(!reply_joins(blog, &contact("", None), &contact("", None)));
        // A mail thread's colleague or a chat's answer joins as before.
        let petr = contact("Пётр", Some("petr@x.ru"));
        assert!(reply_joins(Channel::Email, &anna, &petr));
        assert!(reply_joins(Channel::Whatsapp, &anna, &petr));
    }

    #[test]
    fn only_mail_looks_for_its_thread_in_every_source() {
        assert_eq!(refs_within(Channel::Email, "inbox"), None);
        assert_eq!(refs_within(Channel::Blog, "site"), Some("site"));
        assert_eq!(refs_within(Channel::Telegram, "bot"), Some("bot"));
    }
}
