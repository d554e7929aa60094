//! What `leadgate export` gives a person besides their leads' journeys, as both backends
//! read it: the items naming them that made no lead of theirs, the messages sent to managers
//! about their leads (the cards quote their words), what the CRMs answered about those leads,
//! and the files they sent.

use super::admin::payload_json;
use super::inbound::inbound_row;
use super::{Read, Statement};
use crate::store::values::parse_json;
use crate::store::{Export, StoreResult};
use serde_json::{Value, json};

/// An item naming a person that made no lead of theirs, as `leadgate export` shows it; the
/// row holds the item's columns, its `status` and its `reason`.
pub(crate) fn exported_item(r: &impl Read) -> StoreResult<Value> {
    let row = inbound_row(r)?;
    Ok(json!({
        "id": row.id, "source": row.source, "channel": row.channel,
        "received_at": row.received_at, "content_type": row.content_type,
        "status": r.text("status")?, "reason": r.opt_text("reason")?,
        "payload": payload_json(row.payload),
    }))
}

/// A lead's notifications, oldest first, as [`notification_json`] reads them: lead id.
static LEAD_NOTIFICATIONS: Statement = Statement::new(
    "SELECT lead_id, recipient, channel, kind, message, status, created_at, sent_at
     FROM notifications WHERE lead_id = ?1 ORDER BY id",
);

/// A message sent (or to be sent) to a manager about a person's lead: the manager by id,
/// never the manager's chat or address.
fn notification_json<R: Read>(r: &R) -> StoreResult<Value> {
    Ok(json!({
        "lead_id": r.opt_text("lead_id")?, "manager": r.text("recipient")?,
        "channel": r.text("channel")?, "kind": r.text("kind")?,
        "message": parse_json::<Value>("notifications.message", &r.text("message")?)?,
        "status": r.text("status")?,
        "created_at": r.time("notifications.created_at", "created_at")?,
        "sent_at": r.opt_time("notifications.sent_at", "sent_at")?,
    }))
}

/// What the CRMs answered about a lead, as [`crm_ref_json`] reads it: lead id.
static LEAD_CRM_REFS: Statement = Statement::new(
    "SELECT sink, lead_id, name, value, captured_at FROM crm_refs WHERE lead_id = ?1
     ORDER BY sink, name",
);

/// A value a CRM answered about a person's lead (its own id for them, say).
fn crm_ref_json<R: Read>(r: &R) -> StoreResult<Value> {
    Ok(json!({
        "sink": r.text("sink")?, "lead_id": r.text("lead_id")?, "name": r.text("name")?,
        "value": parse_json::<Value>("crm_refs.value", &r.text("value")?)?,
        "captured_at": r.time("crm_refs.captured_at", "captured_at")?,
    }))
}

/// A lead's files, as [`file_json`] reads them: lead id.
static LEAD_FILES: Statement = Statement::new(
    "SELECT id, inbound_id, lead_id, name, content_type, size, sha256, status, reason
     FROM attachments WHERE lead_id = ?1 ORDER BY id",
);

/// A file a person sent, as kept: the bytes are in the files folder under its SHA-256.
fn file_json<R: Read>(r: &R) -> StoreResult<Value> {
    Ok(json!({
        "id": r.text("id")?, "item": r.text("inbound_id")?, "lead_id": r.text("lead_id")?,
        "name": r.text("name")?, "type": r.text("content_type")?, "size": r.opt_int("size")?,
        "sha256": r.opt_text("sha256")?, "status": r.text("status")?,
        "reason": r.opt_text("reason")?,
    }))
}

/// The list of an [`Export`] that one of [`lead_extras`]' statements fills.
type ExportList = fn(&mut Export) -> &mut Vec<Value>;

/// How one of [`lead_extras`]' statements' rows (`R`, the backend's row) is read.
type ReadRow<R> = fn(&R) -> StoreResult<Value>;

/// What an export reads for each lead besides its journey: each statement (bound to the
/// lead's id), the reader of its rows (`R`, the backend's row) and the list they go to.
pub(crate) fn lead_extras<R: Read>() -> [(&'static Statement, ReadRow<R>, ExportList); 3] {
    [
        (&LEAD_NOTIFICATIONS, notification_json::<R>, |e| {
            &mut e.notifications
        }),
        (&LEAD_CRM_REFS, crm_ref_json::<R>, |e| &mut e.crm_refs),
        (&LEAD_FILES, file_json::<R>, |e| &mut e.files),
    ]
}
