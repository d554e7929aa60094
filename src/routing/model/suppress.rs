//! Suppression lists: files of contacts not to route ("do not contact for a year", blocked
//! senders), one per line, that a rule's `contact_in_list` points to.
//!
//! A line is an e-mail (`name@example.ru`), a whole domain (`*@spam.example`), a phone in
//! international form (`+79161234567`), `telegram:123456` or `telegram:@username`, `vk:123`,
//! or `whatsapp:79161234567`; optionally followed by `until 2027-05-01`. `#` starts a comment.
//! Reading a list is `routing::compile`'s; here is the list and the lookup of a contact.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::lead::Contact;

/// A loaded suppression list.
#[derive(Debug, Clone, Default)]
pub(crate) struct SuppressList {
    /// The path as written in the rules, for traces.
    pub(crate) label: String,
    /// Identity keys (`email:..`, `phone:..`, `telegram:..`, `domain:..`, `tg_user:..`) and
    /// the last day each applies (`None`: for good).
    pub(crate) entries: HashMap<String, Option<NaiveDate>>,
    /// The SHA-256 of the file as read: part of the rules' version.
    pub(crate) digest: String,
}

impl SuppressList {
    /// The entry that matches the contact on `today`, if any, as written in the list.
    pub(crate) fn find(&self, contact: &Contact, today: NaiveDate) -> Option<String> {
        let live = |key: &String| {
            self.entries
                .get(key)
                .is_some_and(|until| until.is_none_or(|u| today <= u))
        };
        let mut keys = contact.identity_keys();
        keys.extend(
            contact
                .emails
                .iter()
                .filter_map(|e| e.split_once('@'))
                .map(|(_, domain)| format!("domain:{domain}")),
        );
        if let Some(name) = contact.telegram.as_ref().and_then(|t| t.username.as_ref()) {
            keys.push(format!("tg_user:{}", name.to_lowercase()));
        }
        keys.into_iter().find(live)
    }
}
