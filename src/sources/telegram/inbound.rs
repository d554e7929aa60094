//! One Update as intake stores it, the same whether long polling or the webhook brought it
//! (the dedupe key then makes the second delivery of a message a no-op).

use crate::clock::Clock;
use crate::lead::Channel;
use crate::sources::item::Item;
use crate::store::NewInbound;
use serde_json::json;

/// The inbound row for `item` of the Telegram source `source`; `via` (`polling` or `webhook`)
/// is kept in the row's context for the admin.
pub fn inbound(source: &str, item: Item, clock: &dyn Clock, via: &'static str) -> NewInbound {
    NewInbound {
        id: clock.new_id().to_string(),
        source: source.to_string(),
        channel: Channel::Telegram,
        dedupe_key: item.dedupe_key,
        received_at: clock.now(),
        content_type: Some("application/json".into()),
        payload: item.payload,
        meta: json!({"via": via}),
    }
}
