//! Delivery to sinks: the event envelope, Standard Webhooks signatures, the retry policy, the
//! webhook and file sinks, and the worker that drives them from the outbox.

mod event;
mod file;
mod retry;
mod signature;
mod steps;
mod webhook;
mod worker;

pub use event::{EventType, envelope};
pub use retry::{Attempt, LADDER, Verdict, classify, next_delay};
pub use signature::{decode_signing_secret, sign};
pub use worker::SinkWorker;
