//! Inbound items as both backends read them.

use super::Read;
use crate::store::values::{channel, parse_json};
use crate::store::{InboundRow, StoreResult};

/// The columns [`inbound_row`] reads.
pub(crate) const INBOUND_COLUMNS: &str =
    "id, source, channel, dedupe_key, received_at, content_type, payload, meta";

/// An item as stored, read back.
pub(crate) fn inbound_row(row: &impl Read) -> StoreResult<InboundRow> {
    Ok(InboundRow {
        id: row.text("id")?,
        source: row.text("source")?,
        channel: channel(&row.text("channel")?)?,
        dedupe_key: row.text("dedupe_key")?,
        received_at: row.time("inbound.received_at", "received_at")?,
        content_type: row.opt_text("content_type")?,
        payload: row.bytes("payload")?,
        meta: parse_json("inbound.meta", &row.text("meta")?)?,
    })
}
