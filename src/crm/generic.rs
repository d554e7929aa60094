//! leadgate's own shape for any other CRM: JSON `{"lead_id", "owner", "status"}` (`lead_id`
//! is leadgate's id, which the CRM got as `data.id`; `owner` and `status` each optional),
//! signed like leadgate's own deliveries (Standard Webhooks: `webhook-id`,
//! `webhook-timestamp`, `webhook-signature` over `id.timestamp.body` with the sink's
//! `whsec_` `hook_secret`), and refused when its timestamp is more than five minutes off.

use super::{CrmReport, HookError, HookRequest, LeadRef, id_text};
use crate::deliver::{decode_signing_secret, sign};
use crate::settings::{Secret, tokens_match};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// How far a webhook's timestamp may be from now (replays of old webhooks are refused).
const TOLERANCE_SECS: i64 = 5 * 60;

pub(super) fn read(
    secret: &Secret,
    now: DateTime<Utc>,
    r: &HookRequest<'_>,
) -> Result<Vec<CrmReport>, HookError> {
    let unauthorized = |why: &str| HookError::Unauthorized(why.to_string());
    let key = decode_signing_secret(secret).map_err(|e| unauthorized(&e))?;
    let id = r
        .header("webhook-id")
        .ok_or_else(|| unauthorized("no webhook-id header"))?;
    let timestamp: i64 = r
        .header("webhook-timestamp")
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| unauthorized("no webhook-timestamp header (unix seconds)"))?;
    // Checked: a timestamp near i64::MIN would overflow the difference.
    let skew = now
        .timestamp()
        .checked_sub(timestamp)
        .map(i64::unsigned_abs);
    if skew.is_none_or(|s| s > TOLERANCE_SECS.unsigned_abs()) {
        return Err(unauthorized(
            "webhook-timestamp is more than five minutes from now",
        ));
    }
    let expected = Secret::new(sign(&key, id, timestamp, r.body));
    let signed = r
        .header("webhook-signature")
        .unwrap_or("")
        .split(' ')
        .any(|s| tokens_match(s.as_bytes(), &expected));
    if !signed {
        return Err(unauthorized(
            "webhook-signature is not v1,<base64 HMAC-SHA256 of id.timestamp.body> with the sink's hook_secret",
        ));
    }
    let body: Value = serde_json::from_slice(r.body)
        .map_err(|e| HookError::Malformed(format!("not JSON: {e}")))?;
    let lead = id_text(&body["lead_id"])
        .ok_or_else(|| HookError::Malformed("no lead_id (leadgate's id of the lead)".into()))?;
    Ok(vec![CrmReport {
        lead: LeadRef::Leadgate(lead),
        owner: id_text(&body["owner"]),
        previous_owner: id_text(&body["previous_owner"]),
        status: id_text(&body["status"]),
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue};

    #[test]
    fn a_timestamp_far_from_now_is_refused_not_overflowed() {
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        for far in [i64::MIN.to_string(), i64::MAX.to_string(), "0".to_string()] {
            let mut h = HeaderMap::new();
            h.insert("webhook-id", HeaderValue::from_static("msg_1"));
            h.insert(
                "webhook-timestamp",
                HeaderValue::from_str(&far).expect("header"),
            );
            h.insert("webhook-signature", HeaderValue::from_static("v1,AAAA"));
            let r = HookRequest {
                headers: &h,
                query: None,
                body: b"{}",
                sink_host: None,
            };
            let now = DateTime::from_timestamp(1_795_000_000, 0).expect("a time");
            let got = read(&secret, now, &r);
            assert!(
                matches!(got, Err(HookError::Unauthorized(_))),
                "{far}: {got:?}"
            );
        }
    }
}
