//! Delivery to sinks: the event envelope, Standard Webhooks signatures, the retry policy, the
//! webhook and file sinks, and the worker that drives them from the outbox.

mod file;
mod outbox;
mod retry;
mod signature;
mod sink;
mod steps;
mod webhook;
mod worker;

pub use outbox::{SinkRoute, crm_user_id, outbox_rows, update_rows};
pub use retry::{Attempt, LADDER, Verdict, classify, next_delay};
pub use signature::{decode_signing_secret, sign};
pub use sink::{RawFileSink, RawWebhookSink, SinkConfig, SinkKind, WebhookSinkConfig};
pub use worker::SinkWorker;
