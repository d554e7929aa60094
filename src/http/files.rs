//! `GET /files/{id}?expires=&sig=`: a kept file, to whoever holds a link leadgate signed and
//! that has not expired. A wrong signature is `403`, an expired link `410`, a file that could
//! not be kept `404` with the reason; never the file. Files are the public's own bytes on
//! leadgate's origin, so only images and PDFs are shown inline, everything is `nosniff` and
//! sandboxed, and anything else downloads.

use super::{ApiError, AppState};
use crate::files::LinkRefused;
use crate::store::FileState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The link's query.
#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    expires: Option<i64>,
    sig: Option<String>,
}

/// Types a browser may show in place (they run no script).
const INLINE: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    // A customer's voice message or clip, played where it opens.
    "audio/ogg",
    "audio/mpeg",
    "audio/mp4",
    "video/mp4",
];

/// What `filename*` leaves as it is (RFC 5987's attr-char, less what some clients mistake).
const FILE_NAME: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'-')
    .remove(b'_');

/// Serves the file the link names.
pub async fn serve(
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<LinkQuery>,
) -> Response {
    let (Some(expires), Some(sig)) = (q.expires, q.sig.as_deref()) else {
        return refused(LinkRefused::Invalid);
    };
    if let Err(why) = app.file_links.check(&id, expires, sig, app.clock.now()) {
        return refused(why);
    }
    let record = match app.files.file(&id).await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "not_kept",
                "this file is not kept: it is fetched right after the lead is made, and removed \
                 after [retention] attachments or an erasure",
            )
            .into_response();
        }
        Err(e) => return ApiError::store_failed(&e).into_response(),
    };
    let sha = match &record.state {
        FileState::Kept { sha256, .. } => sha256,
        FileState::Unavailable(reason) => {
            return ApiError::new(
                StatusCode::NOT_FOUND,
                "unavailable",
                format!("this file could not be kept: {reason}"),
            )
            .into_response();
        }
    };
    let file = match app.shelf.path(sha) {
        Some(path) => tokio::fs::File::open(path).await.ok(),
        None => None,
    };
    let (Some(file), FileState::Kept { size, .. }) = (file, &record.state) else {
        return ApiError::new(StatusCode::NOT_FOUND, "gone", "this file is no longer kept")
            .into_response();
    };
    // Streamed from disk: a few downloads of the largest files do not each hold one in memory.
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let inline = INLINE.iter().find(|t| **t == record.content_type);
    let content_type = inline.copied().unwrap_or("application/octet-stream");
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline.is_some() {
            "inline"
        } else {
            "attachment"
        },
        percent_encoding::utf8_percent_encode(&record.name, FILE_NAME)
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(*size));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    response
}

fn refused(why: LinkRefused) -> Response {
    let (status, code) = match why {
        LinkRefused::Invalid => (StatusCode::FORBIDDEN, "invalid_link"),
        LinkRefused::Expired => (StatusCode::GONE, "expired_link"),
    };
    ApiError::new(status, code, why.to_string()).into_response()
}
