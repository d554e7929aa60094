//! Web forms: `POST /forms/{source_id}`. The HTTP handler (in `http/forms.rs`) checks limits,
//! origin, rate and contact, stores the raw body and answers; processing re-reads the stored
//! body with the same pure functions.

mod body;
mod config;
mod draft;
mod files;
mod kind;
mod urlencoded;

pub use body::{Attachment, BodyError, BodyKind, FormBody, Limits, body_kind, read_body};
pub use config::{RawWebform, WebformSource};
pub use draft::{RequestContext, UPLOAD_URL, form_to_draft};
pub use files::LinkedFiles;
pub use kind::Kind;

use crate::connectors::{Catalogue, InboundConnector};
use crate::lead::{NotLead, NotLeadReason, Parsed};
use crate::store::InboundRow;

/// The `meta` key under which the handler stores the connector that read a submission, so
/// processing re-reads it with the same mapping even if the source's config changed since.
pub const META_CONNECTOR: &str = "connector";

/// The `meta` key the handler sets when a submission links files its provider keeps, so the
/// file keeper reads again only the submissions that hold files.
pub const META_LINKED_FILES: &str = "linked_files";

/// Whether a draft's `fields.attachments` lists a file by its address.
pub fn links_files(draft: &crate::lead::LeadDraft) -> bool {
    (draft.fields.get("attachments").and_then(|a| a.as_array()))
        .is_some_and(|files| files.iter().any(|f| f.get(UPLOAD_URL).is_some()))
}

/// The connector a stored submission was accepted with (`generic` for items stored before
/// connectors existed).
pub fn stored_connector(
    row: &InboundRow,
    catalogue: &Catalogue,
) -> Option<std::sync::Arc<InboundConnector>> {
    match row.meta.get(META_CONNECTOR).and_then(|v| v.as_str()) {
        Some(name) => catalogue.inbound(name),
        None => catalogue.generic(),
    }
}

/// Parses a stored form submission (processing stage): the same reading the handler did, so a
/// stored item always parses.
pub async fn parse_stored(
    row: &InboundRow,
    honeypot: Option<&str>,
    connector: &InboundConnector,
) -> Parsed {
    let form = match body_kind(row.content_type.as_deref()) {
        Ok(kind) => {
            read_body(
                &kind,
                bytes::Bytes::from(row.payload.clone()),
                Limits::UNLIMITED,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match form {
        Ok(form) => {
            let ctx = RequestContext {
                referer: row
                    .meta
                    .get("referer")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
            };
            form_to_draft(&form, honeypot, &ctx, connector)
        }
        Err(e) => Parsed::NotLead(NotLead {
            reason: NotLeadReason::Malformed,
            detail: e.to_string(),
            external_id: None,
        }),
    }
}
