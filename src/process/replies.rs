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

/// The id a message is looked up by among the leads' ids besides the ones it answers: an
/// e-mail's own Message-ID, since the same letter sent to two of the business's mailboxes
/// (To: sales@, Cc: info@) is one item in each, and its second copy joins the lead its first
/// made instead of waking a second manager. It joins only [`same_person`]'s lead: a site's
/// form mailer may give every notice one Message-ID, and another visitor's request is not
/// the first one's copy.
pub(super) fn own_id(channel: Channel, external_id: Option<&String>) -> Option<&String> {
    external_id.filter(|_| channel == Channel::Email)
}

/// Whether a reply whose contact is `reply` joins the lead whose contact is `lead`. On a blog
/// anyone can answer anyone, so a reply joins only when it is [`same_person`]. Elsewhere a
/// reply comes from the chat's or the thread's own people.
pub(super) fn reply_joins(channel: Channel, lead: &Contact, reply: &Contact) -> bool {
    channel != Channel::Blog || same_person(lead, reply)
}

/// Whether two contacts are one person: a phone, an e-mail or the name in common.
pub(super) fn same_person(lead: &Contact, other: &Contact) -> bool {
    let named = |c: &Contact| (c.name.as_deref()).map(|n| n.trim().to_lowercase());
    if named(lead).is_some_and(|n| !n.is_empty() && Some(n) == named(other)) {
        return true;
    }
    let keys = lead.identity_keys();
    other.identity_keys().iter().any(|k| keys.contains(k))
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
    fn only_an_email_is_looked_up_by_its_own_id_and_only_for_the_same_person() {
        let own = "<b@x>".to_string();
        assert_eq!(own_id(Channel::Email, Some(&own)), Some(&own));
        assert_eq!(own_id(Channel::Telegram, Some(&own)), None);
        assert_eq!(own_id(Channel::Email, None), None);
        let olga = contact("Ольга", Some("olga@x.ru"));
        assert!(same_person(&olga, &contact("", Some("olga@x.ru"))));
        assert!(!same_person(&olga, &contact("Пётр", Some("petr@x.ru"))));
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
