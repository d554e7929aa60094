//! `POST /forms/{source_id}` and `POST /hooks/{connector}/{source_id}`: web form intake, each
//! form read through its inbound connector. Checks come before anything is stored (origin,
//! rate, size, body, secret or signature, test ping, contact); the answer comes only after the
//! item is committed, in the shape the connector's provider needs.

use super::AppState;
use super::error::ApiError;
use crate::connectors::{Answer, InboundConnector, Presented};
use crate::lead::{Channel, Parsed, reaches};
use crate::settings::tokens_match;
use crate::sources::webform::WebformSource;
use crate::sources::webform::{
    BodyError, BodyKind, FormBody, Limits, META_CONNECTOR, META_LINKED_FILES, RequestContext,
    body_kind, form_to_draft, links_files, read_body,
};
use crate::store::NewInbound;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

/// A configured form with its connector and per-client rate limiter.
#[derive(Debug, Clone)]
pub struct FormRuntime {
    /// The form's settings.
    pub cfg: WebformSource,
    /// The connector that reads its payloads.
    pub connector: Arc<InboundConnector>,
    /// Posts per client address.
    pub limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl FormRuntime {
    /// Builds the limiter from the form's `rate_per_minute` and `rate_burst`, with the
    /// connector the (validated) config names.
    pub fn new(cfg: WebformSource, connector: Arc<InboundConnector>) -> FormRuntime {
        let per_minute = NonZeroU32::new(cfg.rate_per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(cfg.rate_burst).unwrap_or(NonZeroU32::MIN);
        let limiter = Arc::new(RateLimiter::keyed(
            Quota::per_minute(per_minute).allow_burst(burst),
        ));
        FormRuntime {
            cfg,
            connector,
            limiter,
        }
    }
}

/// How a submission arrived: from a browser form (origins checked, CORS) or a provider's
/// server (`/hooks/...`, its secret or signature checked instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// `POST /forms/{id}`.
    Form,
    /// `POST /hooks/{connector}/{id}`.
    Hook,
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a browser origin may post to the form (no `Origin` header: a server or an old
/// browser, allowed; the shared secret guards those when configured). A page leadgate itself
/// served (the demo page, on whatever port it listens) posts from the request's own host.
fn origin_allowed(form: &WebformSource, headers: &HeaderMap) -> bool {
    let Some(origin) = header_str(headers, header::ORIGIN) else {
        return true;
    };
    let same_host = origin
        .split_once("://")
        .zip(header_str(headers, header::HOST))
        .is_some_and(|((_, authority), host)| authority.eq_ignore_ascii_case(host));
    same_host
        || form
            .allowed_origins
            .iter()
            .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
}

/// A refused post: the error, and the form as read when it got that far, so a browser's page
/// can give the person back what they typed.
#[derive(Debug)]
pub struct Refusal {
    /// The answer for a script.
    pub error: ApiError,
    /// The fields the person sent, once read.
    pub typed: Option<FormBody>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Refusal {
        Refusal { error, typed: None }
    }
}

impl From<super::body::BodyReadError> for Refusal {
    fn from(e: super::body::BodyReadError) -> Refusal {
        ApiError::from(e).into()
    }
}

/// Counts and logs a refused post, one line each: which source, what status and why.
pub fn log_refusal(app: &AppState, source: &str, error: &ApiError, ip: Option<IpAddr>) {
    (app.metrics
        .counter("leadgate_form_errors_total", &[("code", error.code)]))
    .increment(1);
    tracing::info!(source, status = error.status.as_u16(), code = error.code, client = ?ip, "A post was refused: {}", error.message);
}

fn cors_headers(response: &mut Response, origin: Option<&str>) {
    if let Some(origin) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// `OPTIONS /forms/{id}`: the CORS preflight, answered per form.
pub async fn preflight(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    preflight_to(&app, &id, &headers)
}

/// The CORS preflight of form `id`, at `/forms/{id}` or at the form's own `path`.
pub fn preflight_to(app: &AppState, id: &str, headers: &HeaderMap) -> Response {
    let Some(form) = app.forms.get(id) else {
        return ApiError::not_found("form").into_response();
    };
    let origin = header_str(headers, header::ORIGIN);
    if origin.is_none() || !origin_allowed(&form.cfg, headers) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin may not post to the form",
        )
        .into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    cors_headers(&mut response, origin);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, accept, x-leadgate-secret"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// `POST /forms/{id}`.
pub async fn submit(
    State(app): State<AppState>,
    Path(id): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    submit_to(app, id, peer, headers, body).await
}

/// A post to form `id`, at `/forms/{id}` or at the form's own `path`.
pub async fn submit_to(
    app: AppState,
    id: String,
    peer: SocketAddr,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let origin = header_str(&headers, header::ORIGIN);
    let form = app.forms.get(&id);
    let mut response = match accept(&app, &id, peer, &headers, None, body, Door::Form).await {
        Ok(r) => r,
        Err(refusal) => {
            let ip = app.config.server.forwarded.client_ip(&headers, peer.ip());
            log_refusal(&app, &id, &refusal.error, Some(ip));
            if wants_json(&headers) {
                refusal.error.into_response()
            } else {
                super::form_page::refused(
                    form.map(|f| &f.cfg),
                    app.config.language,
                    &refusal.error,
                    refusal.typed.as_ref(),
                    header_str(&headers, header::REFERER),
                )
            }
        }
    };
    if let Some(form) = form
        && origin_allowed(&form.cfg, &headers)
    {
        cors_headers(&mut response, origin);
    }
    response
}

/// A script, not a browser's plain form: it asks for JSON (`Accept: application/json`), or
/// it sends JSON, which no HTML form can (a `fetch()` with a JSON body accepts `*/*` unless
/// told otherwise, and must not get a redirect or a thank-you page for its lead's id).
fn wants_json(headers: &HeaderMap) -> bool {
    let asks = header_str(headers, header::ACCEPT).is_some_and(|a| a.contains("application/json"));
    let sends = header_str(headers, header::CONTENT_TYPE).is_some_and(|c| {
        let media = c.split(';').next().unwrap_or_default().trim();
        media.eq_ignore_ascii_case("application/json")
            || media.to_ascii_lowercase().ends_with("+json")
    });
    asks || sends
}

/// Takes one submission through every check, stores it and answers.
pub async fn accept(
    app: &AppState,
    id: &str,
    peer: SocketAddr,
    headers: &HeaderMap,
    query: Option<&str>,
    body: Body,
    door: Door,
) -> Result<Response, Refusal> {
    let form = app
        .forms
        .get(id)
        .ok_or_else(|| ApiError::not_found("form"))?;
    let cfg = &form.cfg;
    let connector = &form.connector;
    if door == Door::Form && !origin_allowed(cfg, headers) {
        tracing::info!(source = %cfg.id, origin = header_str(headers, header::ORIGIN), "A browser on an origin not in allowed_origins posted to the form.");
        return Err(Refusal::from(ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin may not post to the form",
        )));
    }
    let ip = app.config.server.forwarded.client_ip(headers, peer.ip());
    let key = crate::config::rate_key(ip);
    // At the hook door the client is the form builder's server, posting for every visitor:
    // the hooks' own limit counts it (`hook_limit`), not a visitor's.
    if door == Door::Form
        && let Err(wait) = super::hook_limit::take_one(&form.limiter, key)
    {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many submissions from this address; try again shortly",
        );
        e.retry_after = Some(wait);
        return Err(e.into());
    }
    if let Some(secret) = cfg.secret.as_ref().filter(|_| connector.verify.is_none()) {
        let presented = headers
            .get("x-leadgate-secret")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !tokens_match(presented, secret) {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "bad_secret",
                "the X-Leadgate-Secret header is missing or wrong",
            )
            .into());
        }
    }
    if let Some(refused) = proof_refused(form, headers, query, None) {
        return Err(refused.into());
    }
    let content_type = header_str(headers, header::CONTENT_TYPE).map(str::to_string);
    let kind = body_kind(content_type.as_deref()).map_err(body_error)?;
    let limit = if matches!(kind, BodyKind::Multipart(_)) {
        cfg.max_upload
    } else {
        cfg.max_text
    };
    let held = app.bodies.read(headers, body, limit).await?;
    let bytes = held.bytes.clone();
    let limits = Limits {
        text: cfg.max_text,
        upload: cfg.max_upload,
        files: cfg.max_files,
        fields: cfg.max_fields,
    };
    let parsed_form = read_body(&kind, bytes.clone(), limits)
        .await
        .map_err(body_error)?;
    if let Some(refused) = proof_refused(form, headers, query, Some((&parsed_form.fields, &bytes)))
    {
        return Err(refused.into());
    }
    if connector.is_test_ping(&parsed_form.fields) {
        (app.metrics
            .counter("leadgate_test_pings_total", &[("source", &cfg.id)]))
        .increment(1);
        return Ok(provider_answer(connector.answer.as_ref()));
    }
    let referer = header_str(headers, header::REFERER).map(str::to_string);
    let ctx = RequestContext {
        referer: referer.clone(),
    };
    let mut external_id = None;
    let mut linked_files = false;
    if let Parsed::Lead(draft) =
        form_to_draft(&parsed_form, cfg.honeypot.as_deref(), &ctx, connector)
    {
        linked_files = links_files(&draft);
        external_id = draft.external_id;
        if !reaches(&draft.contact, &app.config.phones, &app.config.own_contacts) {
            return Err(Refusal {
                error: ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "no_contact",
                    "give a phone number or an e-mail address so we can answer you",
                )
                .field("phone", "a valid phone number or an e-mail is required")
                .field("email", "a valid e-mail or a phone number is required"),
                typed: Some(parsed_form),
            });
        }
    }
    let item_id = app.clock.new_id().to_string();
    let mut meta = json!({
        "referer": referer,
        "client_ip": ip.to_string(),
        "user_agent": header_str(headers, header::USER_AGENT),
        META_CONNECTOR: connector.name,
    });
    if linked_files {
        meta[META_LINKED_FILES] = json!(true);
    }
    let item = NewInbound {
        id: item_id.clone(),
        source: cfg.id.clone(),
        channel: Channel::Webform,
        // The provider's submission id, when it has one, so its retries are no-ops.
        dedupe_key: external_id.map_or(item_id, |x| format!("external:{x}")),
        received_at: app.clock.now(),
        content_type,
        payload: bytes.to_vec(),
        meta,
    };
    let stored = app
        .intake
        .submit(item)
        .await
        .map_err(|e| ApiError::store_failed(&e))?;
    (app.metrics
        .counter("leadgate_forms_accepted_total", &[("source", &cfg.id)]))
    .increment(1);
    tracing::info!(source = %cfg.id, item = stored.id(), client = %ip, "Form post accepted.");
    app.health
        .success(&format!("source:{}", cfg.id), app.clock.now(), None);
    Ok(match &connector.answer {
        Some(answer) => provider_answer(Some(answer)),
        None => success(app, cfg, headers, stored.id()),
    })
}

/// A form's fields as read, in order.
type FormFields = [(String, serde_json::Value)];

/// The refusal when the connector's proof (a token or a signature) is wrong, for a form with
/// a secret. Without the body (`read: None`) only what the headers and query already show to
/// be wrong is refused, so a forged post is turned away before its body is read.
fn proof_refused(
    form: &FormRuntime,
    headers: &HeaderMap,
    query: Option<&str>,
    read: Option<(&FormFields, &[u8])>,
) -> Option<ApiError> {
    let (Some(verify), Some(secret)) = (&form.connector.verify, &form.cfg.secret) else {
        return None;
    };
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (fields, body): (&FormFields, &[u8]) = read.unwrap_or((&[], &[]));
    let presented = Presented {
        header: &header,
        query,
        fields,
        body,
    };
    let secret = secret.expose().as_bytes();
    let refused = match read {
        None => verify.refuse_before_body(secret, &presented),
        Some(_) => !verify.check(secret, &presented),
    };
    refused.then(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_secret",
            format!(
                "the {} secret or signature is missing or wrong",
                form.connector.name
            ),
        )
    })
}

/// The answer a provider needs (Tilda: `200 OK`), for its submissions and its test ping;
/// `200 OK` for a provider that names none.
fn provider_answer(answer: Option<&Answer>) -> Response {
    let (status, content_type, body) = answer
        .map_or((200, "text/plain; charset=utf-8", "OK"), |a| {
            (a.status, a.content_type.as_str(), a.body.as_str())
        });
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

fn body_error(e: BodyError) -> ApiError {
    match e {
        BodyError::Malformed(m) => ApiError::new(StatusCode::BAD_REQUEST, "malformed", m),
        BodyError::Unsupported(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_type",
            e.to_string(),
        ),
        BodyError::TooLarge { .. } | BodyError::TooMany { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", e.to_string())
        }
    }
}

/// The answer after a commit: JSON for scripts, a redirect or a thank-you page for HTML forms.
fn success(app: &AppState, cfg: &WebformSource, headers: &HeaderMap, id: &str) -> Response {
    if wants_json(headers) {
        return (
            StatusCode::ACCEPTED,
            axum::Json(json!({"id": id, "status": "accepted"})),
        )
            .into_response();
    }
    if let Some(to) = cfg
        .redirect
        .as_deref()
        .and_then(|r| HeaderValue::from_str(r).ok())
    {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response();
    }
    super::form_page::thanks(app.config.language)
}
