//! WhatsApp Business channel (Cloud API webhooks): signature check, webhook bodies into
//! stored items, stored items into lead drafts. The HTTP handler lives elsewhere.

mod config;
mod parse;

pub use config::{RawWhatsappSource, WhatsappSource};
mod signature;

pub use parse::{ParseError, parse_item, split_webhook};
pub use signature::{signature_header, verify_signature};
