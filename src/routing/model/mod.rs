//! The data of routing: the compiled rules and what they hold (managers and their hours,
//! values, strategies, the conditions' tree and programs, suppression lists, the words the
//! text tests look for), what a decision takes and gives, and the trace with its compact
//! record. Every other layer of `routing` builds on these; they import none of them.

pub(crate) mod condition;
pub(crate) mod decision;
pub(crate) mod hours;
pub(crate) mod label;
pub(crate) mod manager;
pub(crate) mod outcome;
pub(crate) mod record;
pub(crate) mod rules;
pub(crate) mod steps;
pub(crate) mod strategy;
pub(crate) mod suppress;
pub(crate) mod text;
pub(crate) mod trace;
pub(crate) mod values;
pub(crate) mod words;
