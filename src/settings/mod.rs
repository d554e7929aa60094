//! The building blocks every component's configuration is made of: secrets, durations and
//! sizes as people write them, and the problems a file can have. A leaf: it imports nothing of
//! leadgate's, so the config assembler, the sources, the sinks and the notifiers all stand on it
//! without importing each other.

mod problems;
mod secret;
mod units;

pub use problems::{ConfigProblem, Problems, Scope, check_id};
pub use secret::{Secret, check_source_secret, tokens_match};
pub use units::{ByteSize, HumanDuration, parse_duration, parse_size};
