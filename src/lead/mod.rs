//! The lead record every sink receives (`leadgate.lead.v1`) and the draft a channel parser
//! produces before normalisation.
//!
//! A channel parser only reads its own payload shape and fills a [`LeadDraft`] with what the
//! person wrote, as written. [`normalise`] then applies the rules shared by every channel
//! (E.164 phones, lower-cased e-mails, names) so no channel re-implements them.

mod amount;
mod controls;
mod email;
mod event;
mod labels;
pub mod limits;
mod name;
mod phone;
mod sample;
mod text;

pub use amount::amount_in;
pub use controls::without_controls;
pub use email::{find_emails, normalise_email};
pub use event::{Envelope, EventType};
pub use labels::{LabelRole, VOCABULARY, label_role, normalise_label};
pub use name::normalise_name;
pub use phone::{PhoneNormaliser, find_phones};
pub use sample::{SampleError, sample_lead};
pub use text::{html_to_text, squash_whitespace};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The schema tag sinks use to recognise the record's version.
pub const SCHEMA: &str = "leadgate.lead.v1";

/// Declares [`Channel`] from one entry per channel (its doc, its variant, its name in the
/// record), so a new channel is one entry here, and `ALL` and the names follow.
macro_rules! channels {
    ($($(#[doc = $doc:expr])* $variant:ident = $name:literal,)*) => {
        /// The channel a lead came in through, as it appears in the record and in routing
        /// conditions.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
        pub enum Channel {
            $($(#[doc = $doc])* #[serde(rename = $name)] $variant,)*
        }

        impl Channel {
            /// Every channel, for validating configuration values against.
            pub const ALL: [Channel; [$($name),*].len()] = [$(Channel::$variant),*];

            /// The lower-case name used in the record, in config files and in the store.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Channel::$variant => $name,)*
                }
            }
        }
    };
}

channels! {
    /// A mailbox polled over IMAP.
    Email = "email",
    /// A Telegram bot.
    Telegram = "telegram",
    /// A VK community (messages and wall comments).
    Vk = "vk",
    /// A WhatsApp Business number.
    Whatsapp = "whatsapp",
    /// Blog comments (WordPress REST or an RSS/Atom comment feed).
    Blog = "blog",
    /// A web form posting to leadgate, directly or through a connector.
    Webform = "webform",
}

impl Channel {
    /// Parses the lower-case name; `None` for anything else.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Telegram account as the record carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramAccount {
    /// The user's numeric id (stable; the username can change).
    pub id: i64,
    /// The `@username` without the `@`, when the user has one.
    pub username: Option<String>,
}

/// How to reach the person, after normalisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contact {
    /// The person's name as written (trimmed, title-cased only when all-caps or all-lowercase).
    pub name: Option<String>,
    /// Valid addresses, lower-cased, without duplicates.
    pub emails: Vec<String>,
    /// Valid numbers in E.164, without duplicates.
    pub phones: Vec<String>,
    /// The Telegram account that wrote, for Telegram leads.
    pub telegram: Option<TelegramAccount>,
    /// The VK user id (`from_id`), for VK leads.
    pub vk_id: Option<i64>,
    /// The sender's `wa_id`, for WhatsApp leads.
    pub whatsapp: Option<String>,
}

impl Contact {
    /// Whether there is any way at all to answer the person.
    pub fn is_reachable(&self) -> bool {
        !self.emails.is_empty()
            || !self.phones.is_empty()
            || self.telegram.is_some()
            || self.vk_id.is_some()
            || self.whatsapp.is_some()
    }

    /// Keys that identify this person across leads (`phone:+7...`, `email:...`, `telegram:...`):
    /// a later lead sharing any key is a returning contact.
    pub fn identity_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = Vec::new();
        keys.extend(self.phones.iter().map(|p| format!("phone:{p}")));
        keys.extend(self.emails.iter().map(|e| format!("email:{e}")));
        if let Some(tg) = &self.telegram {
            keys.push(format!("telegram:{}", tg.id));
        }
        if let Some(vk) = self.vk_id {
            keys.push(format!("vk:{vk}"));
        }
        if let Some(wa) = &self.whatsapp {
            keys.push(format!("whatsapp:{wa}"));
        }
        keys
    }
}

/// UTM tags of the visit that produced the lead; all five keys are always present in the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utm {
    /// `utm_source`.
    pub source: Option<String>,
    /// `utm_medium`.
    pub medium: Option<String>,
    /// `utm_campaign`.
    pub campaign: Option<String>,
    /// `utm_content`.
    pub content: Option<String>,
    /// `utm_term`.
    pub term: Option<String>,
}

impl Utm {
    /// Sets the tag named `key` (`utm_source`, `source`, ...) when it is a UTM key; returns
    /// whether it was one, so callers can keep other keys in `fields`.
    pub fn set(&mut self, key: &str, value: &str) -> bool {
        let key = key.trim().to_ascii_lowercase();
        let key = key.strip_prefix("utm_").unwrap_or(&key);
        let slot = match key {
            "source" => &mut self.source,
            "medium" => &mut self.medium,
            "campaign" => &mut self.campaign,
            "content" => &mut self.content,
            "term" => &mut self.term,
            _ => return false,
        };
        let value = value.trim();
        *slot = (!value.is_empty()).then(|| value.to_string());
        true
    }
}

/// What the rules decided about the lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// The name of the rule that decided.
    pub rule: String,
    /// The manager level the lead is for.
    pub level: String,
    /// Tags from scoring entries and the rule.
    pub tags: Vec<String>,
    /// The score the scoring phase gave.
    pub score: i64,
}

/// The manager as the record shows them to a CRM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignedManager {
    /// The manager's id in `routing.toml`.
    pub id: String,
    /// The display name.
    pub name: String,
    /// The manager's e-mail, when configured.
    pub email: Option<String>,
    /// The manager's user id in the receiving CRM (per sink); filled per sink at delivery.
    pub crm_user_id: Option<String>,
}

/// Who has the lead now and until when they must react.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    /// The assigned manager.
    pub manager: AssignedManager,
    /// The strategy that picked them (`round_robin`, `least_loaded`, `weighted`, `previous_manager`).
    pub strategy: String,
    /// When the assignment was made.
    pub assigned_at: DateTime<Utc>,
    /// The SLA deadline to acknowledge.
    pub ack_due_at: Option<DateTime<Utc>>,
    /// 1 for the first assignment, +1 on every pass.
    pub attempt: u32,
}

/// The normalised lead record, `leadgate.lead.v1`, exactly as SPEC.md documents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// UUID v7, stable for the lead's life.
    pub id: String,
    /// When the channel received the item.
    pub received_at: DateTime<Utc>,
    /// The channel.
    pub channel: Channel,
    /// The source id from the config.
    pub source: String,
    /// The provider's id of the item, when it has one.
    pub external_id: Option<String>,
    /// How to reach the person.
    pub contact: Contact,
    /// The subject line (e-mail) or title, when there is one.
    pub subject: Option<String>,
    /// The person's own words.
    pub text: String,
    /// Everything else the person gave.
    pub fields: Map<String, Value>,
    /// UTM tags.
    pub utm: Utm,
    /// The page the lead came from.
    pub page_url: Option<String>,
    /// The page before that.
    pub referrer: Option<String>,
    /// Whether this contact was seen before.
    pub returning: bool,
    /// The previous lead of the same contact.
    pub previous_lead_id: Option<String>,
    /// What the rules decided; `None` only while not yet routed.
    pub classification: Option<Classification>,
    /// Who has it; `None` while held because nobody is eligible.
    pub assignment: Option<Assignment>,
}

/// A Telegram account or other raw contact detail as a channel parser found it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawContact {
    /// The name as written.
    pub name: Option<String>,
    /// Addresses as found (validated and lower-cased by [`normalise`]).
    pub emails: Vec<String>,
    /// Numbers as written (`8 (916) 123-45-67`), turned into E.164 by [`normalise`].
    pub phones: Vec<String>,
    /// The Telegram account.
    pub telegram: Option<TelegramAccount>,
    /// The VK user id.
    pub vk_id: Option<i64>,
    /// The WhatsApp `wa_id`.
    pub whatsapp: Option<String>,
}

/// What a channel parser read out of one inbound item, before the shared normalisation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LeadDraft {
    /// The provider's id of the item, when it has one.
    pub external_id: Option<String>,
    /// Contact details as found.
    pub contact: RawContact,
    /// Subject or title.
    pub subject: Option<String>,
    /// The person's own words, already stripped of markup, quotes and signatures.
    pub text: String,
    /// Everything else the person gave.
    pub fields: Map<String, Value>,
    /// UTM tags.
    pub utm: Utm,
    /// The page the lead came from.
    pub page_url: Option<String>,
    /// The page before that.
    pub referrer: Option<String>,
    /// How this item relates to earlier ones (conversations, replies, edits).
    pub thread: Thread,
}

/// How an item relates to earlier items, so several messages from one person become one lead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    /// A conversation key (`telegram:<chat id>`): items with the same key within the
    /// source's conversation window join one lead.
    pub conversation: Option<String>,
    /// External ids this item replies to (e-mail `In-Reply-To` and `References`): when one of
    /// them belongs to a lead, the item joins that lead.
    pub replies_to: Vec<String>,
    /// The item edits the earlier item with the same `external_id`: it joins the lead that
    /// item made or joined, replacing its text when that was the lead's only message, and no
    /// new lead is made.
    pub edit: bool,
}

/// A normalised draft: the parts of [`Lead`] that come from the item itself.
#[derive(Debug, Clone, PartialEq)]
pub struct NormalisedDraft {
    /// The provider's id of the item.
    pub external_id: Option<String>,
    /// Normalised contact.
    pub contact: Contact,
    /// Subject or title.
    pub subject: Option<String>,
    /// The person's words, whitespace tidied.
    pub text: String,
    /// Other fields.
    pub fields: Map<String, Value>,
    /// UTM tags.
    pub utm: Utm,
    /// The page the lead came from.
    pub page_url: Option<String>,
    /// The page before that.
    pub referrer: Option<String>,
    /// Relation to earlier items.
    pub thread: Thread,
}

/// The business's own addresses and numbers: they appear in quotes, signatures of replies and
/// form notifications, and never belong in a lead's contact.
#[derive(Debug, Clone, Default)]
pub struct OwnContacts {
    /// Lower-cased e-mail addresses.
    pub emails: Vec<String>,
    /// E.164 numbers.
    pub phones: Vec<String>,
}

/// Applies the rules every channel shares: control characters taken out (`controls.rs`),
/// phones to E.164 (invalid ones dropped), e-mails validated and lower-cased, the name tidied,
/// duplicates and the business's own contacts removed, and the whole kept within the record's
/// size limits (`limits.rs`).
pub fn normalise(
    mut draft: LeadDraft,
    phones: &PhoneNormaliser,
    own: &OwnContacts,
) -> NormalisedDraft {
    controls::strip_draft_controls(&mut draft);
    let contact = normalise_contact(draft.contact, phones, own);
    let mut normalised = NormalisedDraft {
        external_id: draft.external_id,
        contact,
        subject: draft
            .subject
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        text: draft.text.trim().to_string(),
        fields: draft.fields,
        utm: draft.utm,
        page_url: draft.page_url.filter(|s| !s.trim().is_empty()),
        referrer: draft.referrer.filter(|s| !s.trim().is_empty()),
        thread: draft.thread,
    };
    if !normalised.fields.contains_key("budget") {
        let said = normalised.subject.iter().chain([&normalised.text]);
        if let Some(roubles) = said.filter_map(|t| amount_in(t)).next() {
            normalised.fields.insert("budget".into(), roubles.into());
        }
    }
    limits::bound_record(&mut normalised);
    normalised
}

/// Whether [`normalise_contact`] would give a contact [`Contact::is_reachable`], found
/// cheaply: a messenger id or a valid e-mail answers at once, and the phones (libphonenumber,
/// about 45,000 instructions a number) are read only when nothing else reaches the person. A
/// form asks this before it answers; processing normalises the whole contact afterwards.
pub fn reaches(raw: &RawContact, phones: &PhoneNormaliser, own: &OwnContacts) -> bool {
    raw.telegram.is_some()
        || raw.vk_id.is_some()
        || raw.whatsapp.is_some()
        || raw
            .emails
            .iter()
            .filter_map(|e| normalise_email(e))
            .any(|e| !own.emails.contains(&e))
        || raw
            .phones
            .iter()
            .filter_map(|p| phones.to_e164(p))
            .any(|p| !own.phones.contains(&p))
}

/// The contact part of [`normalise`]: valid, lower-cased, E.164 and de-duplicated, without
/// the business's own addresses.
fn normalise_contact(raw: RawContact, phones: &PhoneNormaliser, own: &OwnContacts) -> Contact {
    let mut contact = Contact {
        name: raw.name.as_deref().and_then(normalise_name),
        telegram: raw.telegram,
        vk_id: raw.vk_id,
        whatsapp: raw.whatsapp,
        ..Contact::default()
    };
    // Only as many as the record keeps are looked for: a list a provider posted may be long.
    for e in raw.emails.iter().filter_map(|e| normalise_email(e)) {
        if contact.emails.len() == limits::MAX_CONTACTS {
            break;
        }
        if !contact.emails.contains(&e) && !own.emails.contains(&e) {
            contact.emails.push(e);
        }
    }
    for p in raw.phones.iter().filter_map(|p| phones.to_e164(p)) {
        if contact.phones.len() == limits::MAX_CONTACTS {
            break;
        }
        if !contact.phones.contains(&p) && !own.phones.contains(&p) {
            contact.phones.push(p);
        }
    }
    contact
}

impl Lead {
    /// Builds the record for a freshly normalised item, before identity and routing fill in
    /// `returning`, `classification` and `assignment`.
    pub fn unrouted(
        id: String,
        received_at: DateTime<Utc>,
        channel: Channel,
        source: String,
        draft: NormalisedDraft,
    ) -> Lead {
        Lead {
            schema: SCHEMA.to_string(),
            id,
            received_at,
            channel,
            source,
            external_id: draft.external_id,
            contact: draft.contact,
            subject: draft.subject,
            text: draft.text,
            fields: draft.fields,
            utm: draft.utm,
            page_url: draft.page_url,
            referrer: draft.referrer,
            returning: false,
            previous_lead_id: None,
            classification: None,
            assignment: None,
        }
    }
}

/// Why an inbound item is not a lead. Kept with the item for the admin; never delivered.
/// The codes are the ones the acceptance corpus and the admin API use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotLeadReason {
    /// An automatic reply (out of office, `Auto-Submitted`).
    AutoReply,
    /// A delivery status notification.
    Bounce,
    /// A newsletter or mailing list.
    Bulk,
    /// Marked spam by a filter, or link spam.
    Spam,
    /// Written by the business itself.
    Staff,
    /// A messenger group message while group messages do not count.
    GroupMessage,
    /// An update or event without an inbound message (button press, handshake, status).
    NotAMessage,
    /// The web form's honeypot field was filled.
    Honeypot,
    /// A provider's connection test.
    TestPing,
    /// No way to contact the person.
    NoContact,
    /// The body could not be parsed.
    Malformed,
    /// The body is over the limit.
    TooLarge,
    /// leadgate's own notification came back (mail loop protection).
    OwnNotification,
    /// A routing rule dropped it (suppression lists, spam words).
    Dropped,
    /// The store refused to hold what it makes, again and again, while the items after it went
    /// through (`process/isolation.rs`); the detail gives the database's words.
    Unprocessable,
}

impl NotLeadReason {
    /// The snake_case code, as stored and shown to the admin.
    pub fn as_str(self) -> &'static str {
        match self {
            NotLeadReason::AutoReply => "auto_reply",
            NotLeadReason::Bounce => "bounce",
            NotLeadReason::Bulk => "bulk",
            NotLeadReason::Spam => "spam",
            NotLeadReason::Staff => "staff",
            NotLeadReason::GroupMessage => "group_message",
            NotLeadReason::NotAMessage => "not_a_message",
            NotLeadReason::Honeypot => "honeypot",
            NotLeadReason::TestPing => "test_ping",
            NotLeadReason::NoContact => "no_contact",
            NotLeadReason::Malformed => "malformed",
            NotLeadReason::TooLarge => "too_large",
            NotLeadReason::OwnNotification => "own_notification",
            NotLeadReason::Dropped => "dropped",
            NotLeadReason::Unprocessable => "unprocessable",
        }
    }
}

impl std::fmt::Display for NotLeadReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An item that is not a lead: why, and the provider's id when the parser could read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotLead {
    /// The reason code.
    pub reason: NotLeadReason,
    /// A short human explanation (which header, which word), for the admin.
    pub detail: String,
    /// The provider's id, when known.
    pub external_id: Option<String>,
}

/// What a channel parser makes of one inbound item.
// Made once per item and moved straight on: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// A lead to normalise, identify and route.
    Lead(LeadDraft),
    /// Not a lead, with the reason.
    NotLead(NotLead),
}

#[cfg(test)]
mod tests {
    use super::{Channel, OwnContacts, PhoneNormaliser, RawContact, normalise_contact, reaches};

    #[test]
    fn a_contact_reaches_the_person_exactly_when_its_normalised_form_does() {
        let phones = PhoneNormaliser::new("RU").expect("RU");
        let own = OwnContacts {
            emails: vec!["sales@shop.ru".into()],
            phones: vec!["+74951234567".into()],
        };
        let raw = |emails: &[&str], numbers: &[&str]| RawContact {
            emails: emails.iter().map(|e| e.to_string()).collect(),
            phones: numbers.iter().map(|p| p.to_string()).collect(),
            ..RawContact::default()
        };
        let cases = [
            (raw(&["Ivan@Mail.ru"], &[]), true),
            (raw(&["not an address"], &[]), false),
            (raw(&["SALES@shop.ru"], &[]), false),
            (raw(&["SALES@shop.ru"], &["8 (916) 123-45-67"]), true),
            (raw(&[], &["12"]), false),
            (raw(&[], &["+7 495 123-45-67"]), false),
            (
                raw(&["bad@"], &["+7 495 123-45-67", "8 916 123 45 67"]),
                true,
            ),
            (raw(&[], &[]), false),
            (
                RawContact {
                    vk_id: Some(42),
                    ..RawContact::default()
                },
                true,
            ),
            (
                RawContact {
                    whatsapp: Some("79161234567".into()),
                    ..RawContact::default()
                },
                true,
            ),
        ];
        for (contact, expected) in cases {
            let normalised = normalise_contact(contact.clone(), &phones, &own).is_reachable();
            assert_eq!(normalised, expected, "normalised {contact:?}");
            assert_eq!(reaches(&contact, &phones, &own), expected, "{contact:?}");
        }
    }

    #[test]
    fn each_channel_has_one_name_in_the_record_the_config_and_the_store() {
        let mut names = std::collections::HashSet::new();
        for channel in Channel::ALL {
            let name = channel.as_str();
            assert!(names.insert(name), "{name} is two channels' name");
            let json = serde_json::to_string(&channel).expect("serialises");
            assert_eq!(json, format!("\"{name}\""));
            let back: Channel = serde_json::from_str(&json).expect("reads back");
            assert_eq!(back, channel);
            assert_eq!(Channel::parse(name), Some(channel));
        }
        assert_eq!(Channel::parse("Email"), None);
        assert_eq!(names.len(), 6);
    }
}
