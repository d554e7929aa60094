//! Channels: each only turns what arrives from the outside into stored inbound items and, at
//! processing time, parses them back into lead drafts.

pub mod blog;
pub mod email;
pub mod item;
mod parse;
pub mod telegram;
pub mod vk;
pub mod webform;
pub mod whatsapp;

pub use parse::{SourceSettings, parse_item, parse_sample};
