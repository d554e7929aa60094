//! A decision's trace rendered: as text (`leadgate route`), spelt out as JSON and read back,
//! and stored by index into the rules version's texts. Builds on `model`.

mod text;
mod trace_json;
pub(crate) mod trace_stored;
