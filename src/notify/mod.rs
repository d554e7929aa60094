//! Managers in the loop, the notification half: cards for newly assigned leads (Telegram with
//! Take/Decline buttons, e-mail with signed take/decline links), follow-ups, notices that a
//! lead moved on, and admin alerts, all through an outbox of their own so that a notification
//! is retried, never lost, and never queued twice for one assignment.
//!
//! Queueing happens inside the transaction that changes the lead ([`Notices`]); sending in
//! [`NotifyWorker`]; taps come back through [`crate::sla::TapListener`], links through `/act/{token}`;
//! incidents are watched by [`AlertMonitor`].

mod alerts;
mod config;
mod email;
mod links;
mod message;
mod pages;
mod people;
mod queue;
mod telegram;
mod worker;

pub use alerts::{AlertMonitor, INCIDENTS_KEY};
pub use config::{
    AlertsConfig, Language, Neighbours, NotifyConfig, NotifyEmail, NotifyTelegram, RawNotify,
};
pub use email::{EmailNotifier, MailError};
pub use links::{LinkAction, LinkClaim, LinkError, LinkSigner};
pub use message::{
    Button, Card, CardButtons, EmailMessage, Labels, Message, PersonMessage, Tap, TelegramMessage,
    reasons_keyboard,
};
pub use pages::{confirm_page, message_page};
pub use people::{NotSent, PERSON, People, Replies};
pub use queue::{LINK_PATH, Notices};
pub use telegram::{TelegramNotifier, no_link_preview};
pub use worker::{HORIZON, NotifyWorker};
