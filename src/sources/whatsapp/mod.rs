//! WhatsApp Business channel (Cloud API webhooks): signature check, webhook bodies into
//! stored items, stored items into lead drafts. The HTTP handler lives elsewhere.

mod api;
mod config;
mod media;
mod parse;
mod route;

pub use api::{DEFAULT_GRAPH_URL, OUTSIDE_WINDOW, SendError, WhatsappApi, WhatsappClients};
pub use config::{Numbers, RawWhatsappSource, WhatsappReply, WhatsappSource};
mod hook;
mod kind;
mod signature;

pub use hook::webhooks;
pub use kind::Kind;
pub use media::WhatsappMedia;
pub use parse::{ParseError, parse_item, split_webhook};
pub use route::{phone_number_id_of, source_for};
pub use signature::{signature_header, verify_signature};
