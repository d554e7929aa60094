//! An HTTP answer's body read up to a cap: a peer (a CRM, a feed, a file host, a bot API) that answers
//! without end is refused once past the cap, not buffered until memory runs out.

/// The body of `response`, or `None` once it passes `cap` bytes (a `Content-Length` over it
/// is refused before anything is read).
pub async fn body_within(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}
