//! amoCRM's webhooks: `x-www-form-urlencoded` `leads[ACTION][N][FIELD]` fields with
//! `account[subdomain]`. amoCRM does not sign them, so the URL it is given carries the sink's
//! `hook_secret` as `?key=`, and the account must be the sink's when its URL names one.
//!
//! - `leads[responsible][N]`: `id`, `responsible_user_id` (the new owner);
//! - `leads[status][N]`: `id`, `status_id`, `old_status_id` (a move: taken or closed);
//! - `leads[update][N]` and `leads[add][N]`: `id`, `responsible_user_id` (the owner; their
//!   `status_id` is only where the lead stands, not a move);
//! - `leads[delete][N]`: `id` (closed).

use super::{CrmReport, HookError, HookRequest, LeadRef, form};
use crate::settings::{Secret, tokens_match};

/// The status a deleted lead reports (a preset lists it among its closing statuses).
pub const DELETED: &str = "deleted";

pub(super) fn read(secret: &Secret, r: &HookRequest<'_>) -> Result<Vec<CrmReport>, HookError> {
    key_given(secret, r)?;
    let fields = form::pairs(r.body);
    if let Some(expected) = r.sink_host.and_then(account_of) {
        match form::field(&fields, &["account", "subdomain"]) {
            Some(sub) if sub.eq_ignore_ascii_case(expected) => {}
            other => {
                return Err(HookError::Unauthorized(format!(
                    "the webhook is from amoCRM account {other:?}, the sink's is {expected:?}"
                )));
            }
        }
    }
    let entities = form::entities(&fields, "leads");
    // A lead whose change of owner the webhook reports with the owner before it: its other
    // entries' `responsible_user_id` (a status move's) is the same value without that, and
    // must not apply an owner the change's own entry holds back as outdated.
    let owner_changed: Vec<&String> = (entities.iter())
        .filter(|((action, _), f)| {
            action == "responsible" && f.contains_key("old_responsible_user_id")
        })
        .filter_map(|(_, f)| f.get("id"))
        .collect();
    let mut out = Vec::new();
    for ((action, _), f) in &entities {
        let Some(id) = f.get("id").filter(|v| !v.is_empty()) else {
            continue;
        };
        let lead = LeadRef::Crm(id.clone());
        let owner = f
            .get("responsible_user_id")
            .filter(|v| !v.is_empty() && *v != "0")
            .filter(|_| action == "responsible" || !owner_changed.contains(&id))
            .cloned();
        let report = match action.as_str() {
            "status" => CrmReport {
                lead,
                owner,
                previous_owner: None,
                status: f
                    .get("status_id")
                    .filter(|s| f.get("old_status_id") != Some(*s))
                    .cloned(),
            },
            "responsible" | "update" | "add" | "restore" => CrmReport {
                lead,
                owner,
                previous_owner: f
                    .get("old_responsible_user_id")
                    .filter(|v| !v.is_empty() && *v != "0")
                    .cloned(),
                status: None,
            },
            "delete" => CrmReport {
                lead,
                owner: None,
                previous_owner: None,
                status: Some(DELETED.into()),
            },
            _ => continue,
        };
        out.push(report);
    }
    // Contacts, tasks and notes report nothing leadgate follows.
    Ok(out)
}

/// The amoCRM account a sink's URL names (`teplo` in `teplo.amocrm.ru`), if it is one.
fn account_of(host: &str) -> Option<&str> {
    let (sub, domain) = host.split_once('.')?;
    ["amocrm.ru", "amocrm.com", "kommo.com"]
        .contains(&domain)
        .then_some(sub)
}

/// The sink's `hook_secret` as `?key=` in the webhook's URL: checked before the body is read.
pub(super) fn key_given(secret: &Secret, r: &HookRequest<'_>) -> Result<(), HookError> {
    let key = r
        .query
        .map(|q| form::pairs(q.as_bytes()))
        .unwrap_or_default()
        .into_iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v);
    if !key.is_some_and(|k| tokens_match(k.as_bytes(), secret)) {
        return Err(HookError::Unauthorized(
            "amoCRM webhooks carry the sink's hook_secret as ?key= in their URL".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn request<'a>(query: &'a str, body: &'a str, headers: &'a HeaderMap) -> HookRequest<'a> {
        HookRequest {
            headers,
            query: Some(query),
            body: body.as_bytes(),
            sink_host: Some("teplo.amocrm.ru"),
        }
    }

    #[test]
    fn owner_and_status_moves_are_read_and_the_key_and_account_checked() {
        let h = HeaderMap::new();
        let secret = Secret::new("k3y");
        let body = "leads[responsible][0][id]=9774766&leads[responsible][0][responsible_user_id]=18&leads[responsible][0][old_responsible_user_id]=17&leads[responsible][0][status_id]=1001\
                    &leads[status][0][id]=9774766&leads[status][0][status_id]=1002&leads[status][0][old_status_id]=1001&leads[status][0][responsible_user_id]=18\
                    &account[subdomain]=teplo&account[id]=29000001";
        let got = read(&secret, &request("key=k3y", body, &h)).expect("read");
        assert_eq!(
            got,
            vec![
                CrmReport {
                    lead: LeadRef::Crm("9774766".into()),
                    owner: Some("18".into()),
                    previous_owner: Some("17".into()),
                    status: None,
                },
                // The owner comes with the change's own entry, which says who had it before.
                CrmReport {
                    lead: LeadRef::Crm("9774766".into()),
                    owner: None,
                    previous_owner: None,
                    status: Some("1002".into()),
                },
            ]
        );
        assert!(matches!(
            read(&secret, &request("key=nope", body, &h)),
            Err(HookError::Unauthorized(_))
        ));
        let other = body.replace("subdomain]=teplo", "subdomain]=other");
        assert!(matches!(
            read(&secret, &request("key=k3y", &other, &h)),
            Err(HookError::Unauthorized(_))
        ));
        let deleted = read(
            &secret,
            &request(
                "key=k3y",
                "leads[delete][0][id]=5&account[subdomain]=teplo",
                &h,
            ),
        )
        .expect("read");
        assert_eq!(deleted[0].status.as_deref(), Some(DELETED));
    }
}
