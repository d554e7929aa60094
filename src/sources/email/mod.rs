//! The e-mail channel: sales mailboxes read over IMAP.
//!
//! This part is pure: [`parse_email`] turns one fetched message into a lead draft or the
//! reason it is not a lead. Each step has its own file: `mime` decodes the message, `noise`
//! recognises bounces, auto-replies, bulk mail, spam and leadgate's own mail, `quote` and
//! `signature` cut everything that is not the person's own words, `forward` finds the
//! request inside a forwarded letter, and `form_notice` reads website form notifications;
//! `rfc2231` joins a file name sent in pieces.
//!
//! The I/O part is `imap`: one task per configured mailbox (`config`) feeding intake, trusting
//! the public roots and those of the source's `ca_file` (`crate::tls`), or only the server's own
//! certificate when it is pinned (`pin`); `imap::probe` tries each mailbox once for `leadgate
//! check --connect`.

pub mod config;
mod form_notice;
mod forward;
pub mod imap;
mod kind;
mod mime;
mod noise;
mod parse;
pub mod pin;
mod quote;
mod rfc2231;
mod signature;

pub use config::{EmailSource, RawEmailSource};
pub use kind::Kind;
pub use mime::attachment_bytes;
pub use parse::{
    EmailContext, LOOP_HEADER, META_TOO_LARGE, META_UNREADABLE, parse_email, parse_email_as_lead,
    parse_stored_email,
};
