//! Personal data has an end (152-FZ, GDPR): `[retention]` says how long each kind is kept,
//! and the sweeper removes what is older; `leadgate forget` and `leadgate export` (through
//! [`crate::store::PrivacyStore`]) answer a person's erasure and access requests.

mod retention;
mod sweeper;

pub use retention::{RawRetention, Retention};
pub use sweeper::Sweeper;
