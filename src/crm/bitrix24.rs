//! Bitrix24's outbound webhook (`ONCRMLEADUPDATE`, `ONCRMLEADDELETE`): `x-www-form-urlencoded`
//! `event`, `data[FIELDS][ID]` and `auth[application_token]`, the token Bitrix24 shows for the
//! webhook (the sink's `hook_secret`). It names the lead only, so the lead is read back with
//! `crm.lead.get` through the sink's inbound-webhook URL: `ASSIGNED_BY_ID` (the owner),
//! `STATUS_ID`, and `ORIGIN_ID` (leadgate's id, which the preset sent).

use super::{CrmReport, HookError, HookRequest, LeadRef, form, id_text};
use crate::settings::{Secret, tokens_match};
use serde_json::{Value, json};
use std::time::Duration;

/// The most of a `crm.lead.get` answer read: one lead's fields are a few kilobytes.
const MAX_ANSWER: usize = 1 << 20;

/// The status a deleted lead reports.
pub const DELETED: &str = "DELETED";

/// The ids of the leads the webhook names, once its token is checked; a deleted lead's id is
/// prefixed `-` (nothing can be read back about it).
pub(super) fn read(secret: &Secret, r: &HookRequest<'_>) -> Result<Vec<String>, HookError> {
    let fields = form::pairs(r.body);
    let token = form::field(&fields, &["auth", "application_token"]);
    if !token.is_some_and(|t| tokens_match(t.as_bytes(), secret)) {
        return Err(HookError::Unauthorized(
            "auth[application_token] is not the outbound webhook's token (the sink's hook_secret)"
                .into(),
        ));
    }
    let event = form::field(&fields, &["event"])
        .unwrap_or("")
        .to_ascii_uppercase();
    let Some(id) = form::field(&fields, &["data", "FIELDS", "ID"]).filter(|id| !id.is_empty())
    else {
        return Err(HookError::Malformed("no data[FIELDS][ID]".into()));
    };
    match event.as_str() {
        "ONCRMLEADUPDATE" | "ONCRMLEADADD" => Ok(vec![id.to_string()]),
        "ONCRMLEADDELETE" => Ok(vec![format!("-{id}")]),
        // Other events (deals, contacts) leadgate does not follow.
        _ => Ok(Vec::new()),
    }
}

/// Reads lead `id` back with `crm.lead.get` through the sink's URL (`base`),
/// within `timeout`; a `-ID` (deleted) needs no call. The lead is named by its ORIGIN_ID when
/// leadgate made it, else by the CRM's id.
pub async fn fetch(
    base: &reqwest::Url,
    id: &str,
    timeout: Duration,
) -> Result<CrmReport, HookError> {
    if let Some(deleted) = id.strip_prefix('-') {
        return Ok(CrmReport {
            lead: LeadRef::Crm(deleted.to_string()),
            owner: None,
            previous_owner: None,
            status: Some(DELETED.into()),
        });
    }
    // Appended as the deliveries' calls are: the URL Bitrix24 shows may be copied without its
    // last `/`, and a relative join would then drop the token's segment.
    let url = format!("{}/crm.lead.get.json", base.as_str().trim_end_matches('/'));
    let url = reqwest::Url::parse(&url)
        .map_err(|e| HookError::Upstream(format!("the sink's URL: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| HookError::Upstream(e.to_string()))?;
    let response = client
        .post(url)
        .json(&json!({"id": id}))
        .send()
        .await
        // Without the URL: it carries the inbound webhook's token.
        .map_err(|e| HookError::Upstream(format!("crm.lead.get: {}", e.without_url())))?;
    let status = response.status();
    let body = crate::answer::body_within(response, MAX_ANSWER)
        .await
        .map_err(|e| HookError::Upstream(format!("crm.lead.get: {}", e.without_url())))?
        .ok_or_else(|| {
            HookError::Upstream(format!("crm.lead.get answered over {MAX_ANSWER} bytes"))
        })?;
    let body: Value = serde_json::from_slice(&body)
        .map_err(|e| HookError::Upstream(format!("crm.lead.get answered no JSON: {e}")))?;
    if !status.is_success() {
        return Err(HookError::Upstream(format!(
            "crm.lead.get answered {status}: {}",
            body["error_description"].as_str().unwrap_or("")
        )));
    }
    Ok(report_of(id, &body["result"]))
}

/// A `crm.lead.get` result as a report.
fn report_of(id: &str, lead: &Value) -> CrmReport {
    let ours = lead["ORIGINATOR_ID"] == "leadgate";
    CrmReport {
        lead: match lead["ORIGIN_ID"].as_str() {
            Some(origin) if ours && !origin.is_empty() => LeadRef::Leadgate(origin.to_string()),
            _ => LeadRef::Crm(id.to_string()),
        },
        owner: id_text(&lead["ASSIGNED_BY_ID"]),
        previous_owner: None,
        status: id_text(&lead["STATUS_ID"]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn the_token_is_checked_and_the_lead_named() {
        let h = HeaderMap::new();
        let body = "event=ONCRMLEADUPDATE&event_handler_id=5&data%5BFIELDS%5D%5BID%5D=101&ts=1795000000\
                    &auth%5Bdomain%5D=teplo.bitrix24.ru&auth%5Bmember_id%5D=m1&auth%5Bapplication_token%5D=t0ken";
        let r = HookRequest {
            headers: &h,
            query: None,
            body: body.as_bytes(),
            sink_host: None,
        };
        let secret = Secret::new("t0ken");
        assert_eq!(read(&secret, &r).expect("read"), vec!["101".to_string()]);
        assert!(matches!(
            read(&Secret::new("other"), &r),
            Err(HookError::Unauthorized(_))
        ));
        let report = report_of(
            "101",
            &json!({"ID": "101", "ASSIGNED_BY_ID": "18", "STATUS_ID": "IN_PROCESS",
                    "ORIGINATOR_ID": "leadgate", "ORIGIN_ID": "0193b1f0"}),
        );
        assert_eq!(report.lead, LeadRef::Leadgate("0193b1f0".into()));
        assert_eq!(report.owner.as_deref(), Some("18"));
        assert_eq!(report.status.as_deref(), Some("IN_PROCESS"));
        let theirs = report_of(
            "7",
            &json!({"ID": "7", "ORIGIN_ID": "x", "ORIGINATOR_ID": "1c"}),
        );
        assert_eq!(theirs.lead, LeadRef::Crm("7".into()));
    }
}
