//! Inbound items as both backends read them.

use super::Read;
use crate::store::values::{channel, parse_json};
use crate::store::{FinishedInbound, InboundRow, StoreResult};
use std::collections::HashMap;

/// A processing transaction's finished items, each once, in the order first finished:
/// finishing an item again keeps its last outcome. Both backends keep them back and write
/// them in one statement at the commit.
#[derive(Debug, Default)]
pub(crate) struct FinishedItems {
    items: Vec<FinishedInbound>,
    /// Where each item's outcome is in `items`.
    at: HashMap<String, usize>,
}

impl FinishedItems {
    /// Keeps `d`, in place of an earlier outcome of the same item.
    pub(crate) fn keep(&mut self, d: &FinishedInbound) {
        match self.at.get(&d.inbound_id) {
            Some(&i) => self.items[i] = d.clone(),
            None => {
                self.at.insert(d.inbound_id.clone(), self.items.len());
                self.items.push(d.clone());
            }
        }
    }

    /// The outcomes, in the order their items were first finished.
    pub(crate) fn items(&self) -> &[FinishedInbound] {
        &self.items
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn an_item_finished_twice_keeps_its_last_outcome() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 15, 2)
            .single()
            .expect("date");
        let mut d = FinishedItems::default();
        d.keep(&FinishedInbound::not_lead("a", "spam", "first".into(), at));
        d.keep(&FinishedInbound::not_lead("b", "spam", "other".into(), at));
        d.keep(&FinishedInbound::lead("a", "lead-a", None, at));
        let outcomes: Vec<(&str, &str)> = (d.items().iter())
            .map(|f| (f.inbound_id.as_str(), f.status))
            .collect();
        assert_eq!(outcomes, [("a", "lead"), ("b", "not_lead")]);
    }
}
