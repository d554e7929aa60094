//! Reading `routing.toml` with its spans (and the suppression lists it points to) and
//! compiling it into [`CompiledRules`](crate::routing::CompiledRules), every mistake reported
//! with file, line and rule. Builds on `model` only.

pub(crate) mod error;
mod read;
mod rules;
mod suppress;
mod when;
