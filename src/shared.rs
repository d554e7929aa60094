//! The handles every long-running component is started with, in one place: a source, a sink
//! or a notifier takes a `&Shared` instead of a bag of its own with the same four fields.

use crate::clock::Clock;
use crate::health::Health;
use crate::intake::Intake;
use crate::store::Store;
use std::sync::Arc;

/// What the daemon shares with each component it starts.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The durable store (cursors, offsets, the outbox).
    pub store: Arc<dyn Store>,
    /// Where received items are committed before anything else happens to them.
    pub intake: Intake,
    /// Business time and ids.
    pub clock: Arc<dyn Clock>,
    /// Where each component reports how it is doing, for `/readyz`.
    pub health: Health,
}
