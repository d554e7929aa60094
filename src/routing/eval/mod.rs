//! Deciding: the facts a decision reads from the lead, conditions evaluated, working hours,
//! picking a manager by strategy, and the decision itself. Builds on `model` only.

mod condition;
mod decide;
mod facts;
pub(crate) mod hours;
mod strategy;
