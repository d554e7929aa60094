//! leadgate: a lead-capture gateway.
#![doc = include_str!("../README.md")]

pub mod lead;
