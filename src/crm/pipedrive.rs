//! Pipedrive's webhooks v2 on leads: JSON `{"meta": {"action", "entity": "lead",
//! "entity_id"}, "data": LEAD, "previous": {...}}`, sent with HTTP basic auth (the webhook's
//! `http_auth_user` and `http_auth_password`; the password is the sink's `hook_secret`).
//! A Pipedrive lead has no status, so one is read from it: `archived` (`is_archived`), `seen`
//! (`was_seen`: somebody opened it), `new`, and `deleted` for a delete event.

use super::{CrmReport, HookError, HookRequest, LeadRef, id_text};
use crate::settings::{Secret, tokens_match};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

pub(super) fn read(secret: &Secret, r: &HookRequest<'_>) -> Result<Vec<CrmReport>, HookError> {
    password_given(secret, r)?;
    let body: Value = serde_json::from_slice(r.body)
        .map_err(|e| HookError::Malformed(format!("not JSON: {e}")))?;
    let meta = &body["meta"];
    let entity = meta["entity"].as_str().or(meta["object"].as_str());
    if entity != Some("lead") {
        // Deals, persons, notes: nothing leadgate follows.
        return Ok(Vec::new());
    }
    let data = &body["data"];
    let id = id_text(&meta["entity_id"])
        .or_else(|| id_text(&data["id"]))
        .or_else(|| id_text(&body["previous"]["id"]))
        .ok_or_else(|| HookError::Malformed("no meta.entity_id".into()))?;
    let lead = LeadRef::Crm(id);
    let report = match meta["action"].as_str() {
        Some("delete" | "deleted") => CrmReport {
            lead,
            owner: None,
            previous_owner: None,
            status: Some("deleted".into()),
        },
        Some("change" | "updated" | "create" | "added") => CrmReport {
            lead,
            owner: id_text(&data["owner_id"]),
            previous_owner: id_text(&body["previous"]["owner_id"]),
            status: Some(
                if data["is_archived"] == true {
                    "archived"
                } else if data["was_seen"] == true {
                    "seen"
                } else {
                    "new"
                }
                .into(),
            ),
        },
        _ => return Ok(Vec::new()),
    };
    Ok(vec![report])
}

/// The sink's `hook_secret` as the HTTP auth password: checked before the body is read.
pub(super) fn password_given(secret: &Secret, r: &HookRequest<'_>) -> Result<(), HookError> {
    let password = r
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()));
    if !password.is_some_and(|p| tokens_match(p.as_bytes(), secret)) {
        return Err(HookError::Unauthorized(
            "Pipedrive webhooks carry the sink's hook_secret as the HTTP auth password".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};
    use serde_json::json;

    #[test]
    fn basic_auth_is_checked_and_a_seen_lead_reported() {
        let mut h = HeaderMap::new();
        let auth = format!("Basic {}", STANDARD.encode("leadgate:s3cret"));
        h.insert(
            "authorization",
            HeaderValue::from_str(&auth).expect("header"),
        );
        let body = json!({
            "meta": {"action": "change", "entity": "lead", "entity_id": "adf21080-0e10-11eb-879b-05d71fb426ec", "version": "2.0"},
            "data": {"id": "adf21080-0e10-11eb-879b-05d71fb426ec", "owner_id": 18, "was_seen": true, "is_archived": false},
            "previous": {"owner_id": 17, "was_seen": false}
        })
        .to_string();
        let r = HookRequest {
            headers: &h,
            query: None,
            body: body.as_bytes(),
            sink_host: None,
        };
        let got = read(&Secret::new("s3cret"), &r).expect("read");
        assert_eq!(
            got,
            vec![CrmReport {
                lead: LeadRef::Crm("adf21080-0e10-11eb-879b-05d71fb426ec".into()),
                owner: Some("18".into()),
                previous_owner: Some("17".into()),
                status: Some("seen".into()),
            }]
        );
        assert!(matches!(
            read(&Secret::new("other"), &r),
            Err(HookError::Unauthorized(_))
        ));
    }
}
