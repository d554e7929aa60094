//! The webhook sink: one signed call at a time (a POST of the envelope, or a preset's call),
//! redirects never followed.

use super::retry::Attempt;
use super::signature::{decode_signing_secret, sign};
use crate::connectors::{Auth, Rendered};
use crate::deliver::WebhookSinkConfig;
use crate::settings::Secret;
use chrono::{DateTime, Utc};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, RETRY_AFTER, USER_AGENT};
use std::time::Duration;

/// A CRM endpoint receiving Standard Webhooks, or a CRM API shaped by a preset.
#[derive(Debug, Clone)]
pub struct WebhookSink {
    client: reqwest::Client,
    url: reqwest::Url,
    key: Option<Vec<u8>>,
    auth: Option<(String, Secret)>,
}

/// The outcome of one call, with what went wrong in words for the admin.
#[derive(Debug, Clone)]
pub struct PostResult {
    /// What happened, for the retry policy.
    pub attempt: Attempt,
    /// The HTTP status, if the sink answered.
    pub status: Option<u16>,
    /// An error message, when it was not a 2xx.
    pub error: Option<String>,
    /// The answer's body, when it was a 2xx and the caller asked to keep it.
    pub answer: Option<Vec<u8>>,
}

/// The largest answer kept for a preset's `capture`.
const MAX_ANSWER: usize = 1 << 20;

impl PostResult {
    /// An attempt that ended before any call: not ready yet, unsendable, or nothing left.
    pub fn without_call(attempt: Attempt, error: Option<String>) -> PostResult {
        PostResult {
            attempt,
            status: None,
            error,
            answer: None,
        }
    }
}

impl WebhookSink {
    /// Builds the client: the sink's timeout, no redirects (a redirect dead-letters: the
    /// receiver must give its final URL), rustls.
    pub fn new(cfg: &WebhookSinkConfig) -> Result<WebhookSink, String> {
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let key = cfg.secret.as_ref().map(decode_signing_secret).transpose()?;
        let auth = match (cfg.preset.as_ref().map(|p| &p.auth), &cfg.token) {
            (Some(Auth::Bearer), Some(t)) => Some((
                AUTHORIZATION.as_str().to_string(),
                Secret::new(format!("Bearer {}", t.expose())),
            )),
            (Some(Auth::Header(h)), Some(t)) => Some((h.clone(), t.clone())),
            _ => None,
        };
        Ok(WebhookSink {
            client,
            url: cfg.url.clone(),
            key,
            auth,
        })
    }

    /// Makes one call for the event `event_id`, signed for this attempt's timestamp; keeps a
    /// 2xx answer's body when `keep_answer`.
    pub async fn post(
        &self,
        event_id: &str,
        call: &Rendered,
        keep_answer: bool,
        now: DateTime<Utc>,
    ) -> PostResult {
        let timestamp = now.timestamp();
        let mut headers = HeaderMap::new();
        if !call.body.is_empty() {
            headers.insert(
                CONTENT_TYPE,
                "application/json".parse().expect("static header"),
            );
        }
        headers.insert(
            USER_AGENT,
            concat!("leadgate/", env!("CARGO_PKG_VERSION"))
                .parse()
                .expect("static header"),
        );
        let (method, url) = match target(&self.url, call) {
            Ok(target) => target,
            Err(error) => return PostResult::without_call(Attempt::Unsendable, Some(error)),
        };
        for (name, value) in &call.headers {
            if let (Ok(n), Ok(v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        }
        if let Some((name, value)) = &self.auth
            && let (Ok(n), Ok(mut v)) = (
                reqwest::header::HeaderName::from_bytes(name.as_bytes()),
                reqwest::header::HeaderValue::from_str(value.expose()),
            )
        {
            v.set_sensitive(true);
            headers.insert(n, v);
        }
        let mut request = self
            .client
            .request(method, url)
            .headers(headers)
            .header("webhook-id", event_id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(key) = &self.key {
            request = request.header(
                "webhook-signature",
                sign(key, event_id, timestamp, call.body.as_bytes()),
            );
        }
        if !call.body.is_empty() {
            request = request.body(call.body.clone());
        }
        match request.send().await {
            Ok(response) => {
                let code = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now));
                let success = response.status().is_success();
                let mut result = PostResult {
                    attempt: Attempt::Status(code, retry_after),
                    status: Some(code),
                    error: (!success).then(|| format!("HTTP {code}")),
                    answer: None,
                };
                if success && keep_answer {
                    match read_answer(response).await {
                        Ok(answer) => result.answer = Some(answer),
                        // A search changed nothing: cut short, it is asked again, as after a
                        // network error.
                        Err(Unread::Cut(e)) if call.method == "GET" => {
                            result.attempt = Attempt::Network;
                            result.error = Some(format!(
                                "HTTP {code}, but the answer could not be read ({e})"
                            ));
                        }
                        // Too large it will be again, searched or made.
                        Err(Unread::TooLarge) => {
                            result.attempt = Attempt::Unsendable;
                            result.error = Some(format!(
                                "HTTP {code}, but the answer is over {MAX_ANSWER} bytes; the record may exist in the CRM"
                            ));
                        }
                        Err(Unread::Cut(e)) => {
                            // The CRM took the call: retrying it could make a second record.
                            result.attempt = Attempt::Unsendable;
                            result.error = Some(format!(
                                "HTTP {code}, but the answer could not be read ({e}); the record may exist in the CRM"
                            ));
                        }
                    }
                }
                result
            }
            Err(e) if e.is_timeout() => {
                PostResult::without_call(Attempt::Timeout, Some("timed out".into()))
            }
            // Without the URL: it may carry a token (Bitrix24 webhook URLs do).
            Err(e) => PostResult::without_call(
                Attempt::Network,
                Some(format!("network error: {}", e.without_url())),
            ),
        }
    }
}

/// Why a 2xx answer's body was not read.
enum Unread {
    /// It is over [`MAX_ANSWER`]: it will be again.
    TooLarge,
    /// The connection failed while it came.
    Cut(String),
}

/// A 2xx answer's body, up to [`MAX_ANSWER`].
async fn read_answer(response: reqwest::Response) -> Result<Vec<u8>, Unread> {
    match crate::answer::body_within(response, MAX_ANSWER).await {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(Unread::TooLarge),
        Err(e) => Err(Unread::Cut(e.without_url().to_string())),
    }
}

/// A call's method and URL: its path appended to the sink's URL (one `/` between).
fn target(base: &reqwest::Url, call: &Rendered) -> Result<(reqwest::Method, reqwest::Url), String> {
    let method = reqwest::Method::from_bytes(call.method.as_bytes())
        .map_err(|_| format!("{:?} is not an HTTP method", call.method))?;
    if call.path.is_empty() {
        return Ok((method, base.clone()));
    }
    let joined = format!(
        "{}/{}",
        base.as_str().trim_end_matches('/'),
        call.path.trim_start_matches('/')
    );
    let url = reqwest::Url::parse(&joined)
        .map_err(|e| format!("the preset's path does not make a URL: {e}"))?;
    Ok((method, url))
}

/// `Retry-After` as seconds or an HTTP date.
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value.trim())
        .ok()?
        .with_timezone(&Utc);
    (at - now).to_std().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_forms() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:02:00 GMT", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    /// A sink at a local server that answers `200` saying `length` bytes and sends a few.
    async fn answering(length: usize) -> WebhookSink {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut c, _)) = listener.accept().await {
                let mut request = [0u8; 4096];
                let _ = c.read(&mut request).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {length}\r\n\r\n{{\"data\": ["
                );
                let _ = c.write_all(head.as_bytes()).await;
            }
        });
        WebhookSink {
            client: reqwest::Client::new(),
            url: format!("http://{addr}/").parse().expect("url"),
            key: None,
            auth: None,
        }
    }

    /// A CRM that answers `200` with a body cut short (the connection drops mid-answer):
    /// a search is asked again, a call that may have made a record is not; an answer over
    /// the cap is not asked again either, search or not: it would be over it again.
    #[tokio::test]
    async fn an_answer_cut_short_retries_a_search_only() {
        let sink = answering(100).await;
        let call = |method: &str| Rendered {
            method: method.into(),
            path: "contacts".into(),
            headers: Vec::new(),
            body: if method == "GET" { "" } else { "{}" }.into(),
        };
        let now = Utc
            .with_ymd_and_hms(2026, 11, 22, 9, 0, 0)
            .single()
            .expect("valid");
        let search = sink.post("e1", &call("GET"), true, now).await;
        assert_eq!(search.attempt, Attempt::Network, "{:?}", search.error);
        let made = sink.post("e1", &call("POST"), true, now).await;
        assert_eq!(made.attempt, Attempt::Unsendable, "{:?}", made.error);
        let huge = answering(MAX_ANSWER + 1).await;
        let search = huge.post("e1", &call("GET"), true, now).await;
        assert_eq!(search.attempt, Attempt::Unsendable, "{:?}", search.error);
    }
}
