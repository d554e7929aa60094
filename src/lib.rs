//! leadgate: a lead-capture gateway. Every channel in; each lead normalised, classified and
//! routed by manager level; delivered to the CRM at least once, signed.
//!
//! [`run`] is the whole daemon as a library function, so tests start it on a random port.

pub mod answer;
pub mod clock;
pub mod config;
pub mod connectors;
pub mod crm;
pub mod deliver;
pub mod digest;
pub mod files;
pub mod health;
pub mod http;
pub mod intake;
pub mod language;
pub mod lead;
pub mod leases;
pub mod notify;
pub mod privacy;
pub mod process;
pub mod routing;
pub mod settings;
pub mod shared;
pub mod sla;
pub mod sources;
pub mod store;
pub mod telegram;
pub mod telemetry;
pub mod tls;

mod daemon;

pub use daemon::{RunOptions, run};
