//! WhatsApp Business channel (Cloud API webhooks): signature check, webhook bodies into
//! stored items, stored items into lead drafts. The HTTP handler lives elsewhere.

mod config;
mod parse;
mod route;

pub use config::{RawWhatsappSource, WhatsappSource};
mod signature;

pub use parse::{ParseError, parse_item, split_webhook};
pub use route::{phone_number_id_of, source_for};
pub use signature::{signature_header, verify_signature};
