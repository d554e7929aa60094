//! Reading a request body into memory with three bounds: the route's own limit, the server's
//! body deadline (a body that trickles in is cut off, `408`), and one budget for all bodies
//! held at once (`[server] body_memory`), so many slow or large posts together cannot take
//! more memory than the budget (`503` with `Retry-After` when it is spent).

use super::error::ApiError;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use bytes::BytesMut;
use futures_util::StreamExt;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bytes of request bodies the server may hold at once, shared by every route.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<Semaphore>,
}

/// A body read into memory, holding its share of the budget until dropped.
#[derive(Debug)]
pub struct HeldBody {
    /// The body.
    pub bytes: Bytes,
    _share: Option<OwnedSemaphorePermit>,
}

/// Why a body could not be read; each is one HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyReadError {
    /// Over the route's limit: `413`.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The client did not finish sending within the deadline: `408`.
    TimedOut,
    /// Other bodies hold the budget: `503`, try again.
    Busy,
    /// The body broke off or its framing is invalid (a bad chunk): `400`.
    Broken(String),
}

impl BodyBudget {
    /// A budget of `bytes` (at most `u32::MAX`, the semaphore's unit).
    pub fn new(bytes: usize) -> BodyBudget {
        let bytes = bytes.min(u32::MAX as usize);
        BodyBudget {
            bytes: Arc::new(Semaphore::new(bytes)),
        }
    }

    /// Bytes not held by any body now.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }

    /// Reads `body` up to `limit` bytes. A `Content-Length` over the limit is refused before
    /// a byte is read; every chunk is charged to the budget as it arrives.
    pub async fn read(
        &self,
        headers: &HeaderMap,
        body: Body,
        limit: usize,
    ) -> Result<HeldBody, BodyReadError> {
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut stream = body.into_data_stream();
        if let Some(n) = announced.filter(|&n| n > limit) {
            if n <= limit.saturating_add(DRAIN_AT_MOST) {
                drain(&mut stream, DRAIN_AT_MOST).await;
            }
            return Err(BodyReadError::TooLarge { limit });
        }
        let mut share: Option<OwnedSemaphorePermit> = None;
        let mut buf = BytesMut::with_capacity(announced.unwrap_or(0).min(64 * 1024));
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(classify)?;
            if buf.len() + chunk.len() > limit {
                drain(&mut stream, DRAIN_AT_MOST).await;
                return Err(BodyReadError::TooLarge { limit });
            }
            let n = u32::try_from(chunk.len()).map_err(|_| BodyReadError::TooLarge { limit })?;
            let more = self
                .bytes
                .clone()
                .try_acquire_many_owned(n)
                .map_err(|_| BodyReadError::Busy)?;
            match share.as_mut() {
                Some(held) => held.merge(more),
                None => share = Some(more),
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(HeldBody {
            bytes: buf.freeze(),
            _share: share,
        })
    }
}

/// How much of a body just over its limit is read and dropped before the `413`: a client
/// still sending when the server closes gets a connection reset instead of the answer (the
/// kernel resets a socket closed with unread data), so a form a little too large would show
/// the visitor a network error rather than what to fix.
const DRAIN_AT_MOST: usize = 256 * 1024;

/// Reads and drops up to `most` bytes of what is left of a body (within the server's body
/// deadline), so the refusal reaches a client that is still sending.
async fn drain(stream: &mut axum::body::BodyDataStream, most: usize) {
    let mut seen = 0usize;
    while seen <= most {
        match stream.next().await {
            Some(Ok(chunk)) => seen += chunk.len(),
            _ => return,
        }
    }
}

/// Sorts a body stream's error: the server's deadline, or a broken body.
fn classify(e: axum::Error) -> BodyReadError {
    let inner = e.into_inner();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(inner.as_ref());
    while let Some(err) = source {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return BodyReadError::TimedOut;
        }
        source = err.source();
    }
    BodyReadError::Broken(inner.to_string())
}

impl From<BodyReadError> for ApiError {
    fn from(e: BodyReadError) -> ApiError {
        match e {
            BodyReadError::TooLarge { limit } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is over the {limit}-byte limit"),
            ),
            BodyReadError::TimedOut => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                "the body was not sent in time",
            ),
            BodyReadError::Busy => {
                let mut e = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is taking too many posts at once; try again shortly",
                );
                e.retry_after = Some(1);
                e
            }
            BodyReadError::Broken(why) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed",
                format!("the body could not be read: {why}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(chunks: Vec<Result<&'static [u8], std::io::Error>>) -> Body {
        Body::from_stream(futures_util::stream::iter(
            chunks.into_iter().map(|c| c.map(Bytes::from_static)),
        ))
    }

    #[tokio::test]
    async fn a_body_holds_its_share_until_dropped() {
        let budget = BodyBudget::new(10);
        let held = budget
            .read(
                &HeaderMap::new(),
                body_of(vec![Ok(b"abcd"), Ok(b"ef")]),
                100,
            )
            .await
            .expect("reads");
        assert_eq!(&held.bytes[..], b"abcdef");
        assert_eq!(budget.available(), 4);
        let refused = budget
            .read(&HeaderMap::new(), body_of(vec![Ok(b"12345")]), 100)
            .await;
        assert_eq!(refused.err(), Some(BodyReadError::Busy));
        assert_eq!(budget.available(), 4, "a refused body gives its share back");
        drop(held);
        assert_eq!(budget.available(), 10);
    }

    #[tokio::test]
    async fn limits_and_broken_bodies_are_told_apart() {
        let budget = BodyBudget::new(1 << 20);
        let over = budget
            .read(
                &HeaderMap::new(),
                body_of(vec![Ok(b"12345"), Ok(b"678")]),
                6,
            )
            .await;
        assert_eq!(over.err(), Some(BodyReadError::TooLarge { limit: 6 }));
        let mut announced = HeaderMap::new();
        announced.insert(header::CONTENT_LENGTH, "1000".parse().expect("value"));
        let early = budget.read(&announced, body_of(vec![]), 6).await;
        assert_eq!(early.err(), Some(BodyReadError::TooLarge { limit: 6 }));
        let broken = budget
            .read(
                &HeaderMap::new(),
                body_of(vec![Ok(b"ab"), Err(std::io::Error::other("bad chunk"))]),
                100,
            )
            .await;
        assert!(
            matches!(broken, Err(BodyReadError::Broken(_))),
            "{broken:?}"
        );
        assert_eq!(budget.available(), 1 << 20);
    }
}
