//! The JSON error shape every endpoint answers with:
//! `{"error": {"code": "...", "message": "...", "fields": {...}}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code (`malformed`, `too_large`, ...).
    pub code: &'static str,
    /// A sentence for the developer integrating the form.
    pub message: String,
    /// Per-field problems, when there are any.
    pub fields: Map<String, Value>,
    /// Seconds to wait, for 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error without field details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            fields: Map::new(),
            retry_after: None,
        }
    }

    /// Adds a field problem.
    pub fn field(mut self, name: &str, problem: &str) -> ApiError {
        self.fields
            .insert(name.to_string(), Value::String(problem.to_string()));
        self
    }

    /// 404 for an unknown id.
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// 503: the store could not commit; the client should retry.
    pub fn unavailable(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    /// `503` to a public client when the store failed: the error is logged for the admin, the
    /// client is told only to try again (the store's words name files, tables and hosts).
    pub fn store_failed(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(%error, "The store failed; the request was answered 503.");
        let mut e = ApiError::unavailable("the store is unavailable; try again shortly");
        e.retry_after = Some(5);
        e
    }
}

/// The header that names a refusal's code on every answer, a JSON body or a page, so a proxy's
/// log or a test can tell refusals apart without reading the body.
pub const ERROR_HEADER: &str = "x-leadgate-error";

impl ApiError {
    /// Names the code in [`ERROR_HEADER`].
    pub fn mark(&self, response: &mut Response) {
        response
            .headers_mut()
            .insert(ERROR_HEADER, HeaderValue::from_static(self.code));
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"error": {"code": self.code, "message": self.message, "fields": self.fields}});
        let mut response = (self.status, axum::Json(body)).into_response();
        self.mark(&mut response);
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_failure_tells_a_public_client_to_try_again_and_nothing_more() {
        let e = ApiError::store_failed(
            &"error returned from database: unable to open /var/lib/leadgate/leadgate.db",
        );
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!e.message.contains("/var/lib"), "{}", e.message);
        assert!(!e.message.contains("database"), "{}", e.message);
        assert_eq!(e.retry_after, Some(5));
    }
}
