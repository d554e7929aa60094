//! `POST /hooks/crm/{sink_id}`: the CRM's own outgoing webhooks about the leads leadgate sent
//! it (owner or status changed, lead closed). Verified the way the sink's preset says its CRM
//! signs them (`[hook]`, with the sink's `hook_secret`), read into reports and applied before
//! the answer, so a `2xx` means leadgate has acted. A lead leadgate did not make is answered
//! `200` all the same (CRMs switch off webhooks that keep failing).

use super::AppState;
use super::error::ApiError;
use crate::crm::{self, HookError, HookRequest, Reported};
use crate::deliver::SinkKind;
use crate::sla::{ActionError, ReportOutcome, ReportingSink};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Takes one webhook of the CRM behind sink `sink_id`.
pub async fn hook(
    State(app): State<AppState>,
    Path(sink_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let found = app.config.sinks.iter().find_map(|s| match &s.kind {
        SinkKind::Webhook(w) if s.id == sink_id => Some(w),
        _ => None,
    });
    let Some((w, preset, spec, secret)) = found.and_then(|w| {
        let preset = w.preset.as_ref()?;
        Some((w, preset, preset.hook.as_ref()?, w.hook_secret.as_ref()?))
    }) else {
        return ApiError::not_found(
            "CRM webhook endpoint (a sink with a preset's [hook] and hook_secret)",
        )
        .into_response();
    };
    // The sink is known, and what proof its CRM gives outside the body checked, before a byte
    // of the body is read (docs/security.md).
    let before = HookRequest {
        headers: &headers,
        query: query.as_deref(),
        body: &[],
        sink_host: w.url.host_str(),
    };
    if let Err(e) = crm::proof_before_body(spec.format, secret, &before) {
        return refused(&sink_id, e);
    }
    let held = match app
        .bodies
        .read(&headers, body, super::HOOK_BODY_LIMIT)
        .await
    {
        Ok(b) => b,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let body = held.bytes.clone();
    let request = HookRequest {
        headers: &headers,
        query: query.as_deref(),
        body: &body,
        sink_host: w.url.host_str(),
    };
    let reports = match crm::read(spec.format, secret, app.clock.now(), &request) {
        Ok(Reported::Reports(r)) => r,
        Ok(Reported::ReadBack(ids)) => {
            let mut reports = Vec::new();
            for id in ids {
                match crm::fetch_bitrix24_lead(&w.url, &id, w.timeout).await {
                    Ok(r) => reports.push(r),
                    Err(e) => return refused(&sink_id, e),
                }
            }
            reports
        }
        Err(e) => return refused(&sink_id, e),
    };
    let from = ReportingSink {
        id: &sink_id,
        preset: Some(preset.name.as_str()),
        hook: spec,
    };
    let (mut applied, mut ignored) = (0, 0);
    for report in &reports {
        match app.actions.crm_report(from, report).await {
            Ok(ReportOutcome::UnknownLead) => {
                ignored += 1;
                tracing::info!(sink = %sink_id, lead = ?report.lead, "The CRM reported on a lead leadgate did not send it; ignored.");
            }
            Ok(ReportOutcome::Lead {
                id,
                reassigned_to,
                unknown_owner,
                taken,
                closed,
            }) => {
                applied += 1;
                if let Some(owner) = unknown_owner {
                    tracing::warn!(sink = %sink_id, lead = %id, crm_user_id = %owner, "The CRM gave the lead to a user no manager has as crm_user_id for this sink.");
                }
                tracing::info!(sink = %sink_id, lead = %id, reassigned_to = ?reassigned_to, taken, closed, "The CRM reported on a lead.");
            }
            Err(ActionError::Store(e)) => {
                return ApiError::store_failed(&e).into_response();
            }
            Err(e) => {
                tracing::warn!(sink = %sink_id, error = %e, "A CRM report could not be applied.");
                ignored += 1;
            }
        }
    }
    (app.metrics
        .counter("leadgate_crm_reports_total", &[("sink", &sink_id)]))
    .increment(applied);
    (
        StatusCode::OK,
        axum::Json(json!({"status": "ok", "applied": applied, "ignored": ignored})),
    )
        .into_response()
}

/// A refused webhook: `401` for a wrong secret, `400` for a body that is not this CRM's,
/// `502` when reading the lead back from the CRM failed.
fn refused(sink: &str, e: HookError) -> Response {
    tracing::warn!(sink = %sink, error = %e, "A CRM webhook was refused.");
    let (status, code) = match &e {
        HookError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
        HookError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed"),
        HookError::Upstream(_) => (StatusCode::BAD_GATEWAY, "crm_unavailable"),
    };
    ApiError::new(status, code, e.to_string()).into_response()
}
