//! A failed Bot API call in leadgate's words: whether anyone answered, what the Bot API said,
//! how long it asked to wait, and whether trying again can help.
//!
//! teloxide's own errors are not shown as they are: a reqwest error names its URL, which holds
//! the token (`/bot<token>/<method>`), and an answer that is not JSON (a proxy's HTML error
//! page) is quoted whole. Neither may reach a log line or `/readyz`.

use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;

/// A Bot API call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// No answer (connection, timeout, a body cut off); never carries the URL or the token.
    #[error("cannot reach the Bot API: {0}")]
    Unreachable(String),
    /// The Bot API answered with an error (`401 Unauthorized` for a wrong token, `409
    /// Conflict` while a webhook is set), or something that is not its JSON at all.
    #[error("{}", refused(*status, description))]
    Refused {
        /// The HTTP status, when the call saw it (teloxide's requests do not keep it).
        status: Option<u16>,
        /// Telegram's `description`, or a note that the answer was not the Bot API's JSON.
        description: String,
        /// `parameters.retry_after` of a 429: how long to wait.
        retry_after: Option<Duration>,
    },
    /// The Bot API's JSON, but not what it documents for the method.
    #[error("the Bot API's answer does not parse: {0}")]
    Answer(String),
}

/// The wording of a refusal, with the status when it is known.
fn refused(status: Option<u16>, description: &str) -> String {
    match status {
        Some(status) => format!("the Bot API answered {status}: {description}"),
        None => format!("the Bot API refused: {description}"),
    }
}

/// What a refusal says when the answer is not the Bot API's JSON (an HTML page from a proxy):
/// never its markup.
pub(super) const NOT_BOT_API_JSON: &str = "an answer that is not the Bot API's JSON";

/// The reason phrases a Telegram `description` starts with when the status is a 4xx other
/// than 429 ("Bad Request: chat not found", "Forbidden: bot was blocked by the user").
const FINAL_REASONS: [&str; 6] = [
    "Bad Request",
    "Unauthorized",
    "Forbidden",
    "Not Found",
    "Conflict",
    "Request Entity Too Large",
];

impl ApiError {
    /// Whether trying the same call again cannot help: a 4xx other than 429 (chat not found,
    /// the bot blocked, a wrong token, a text Telegram will not take). Where the status is not
    /// known (teloxide drops `error_code`), the description's reason phrase says it, as
    /// Telegram starts every description with it.
    pub fn is_final(&self) -> bool {
        match self {
            ApiError::Unreachable(_) | ApiError::Answer(_) => false,
            ApiError::Refused {
                retry_after: Some(_),
                ..
            } => false,
            ApiError::Refused {
                status: Some(status),
                ..
            } => (400..500).contains(status) && *status != 429,
            ApiError::Refused {
                status: None,
                description,
                ..
            } => FINAL_REASONS.iter().any(|r| description.starts_with(r)),
        }
    }

    /// How long Telegram asked to wait (a 429's `retry_after`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Refused { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// teloxide's error for a call made with `token`, in leadgate's words.
    pub(super) fn from_request(e: RequestError, token: &str) -> ApiError {
        match e {
            RequestError::Api(api) => {
                let description = match api {
                    teloxide::ApiError::Unknown(text) => text,
                    // Both "Unauthorized" and "Not Found" (the token's path does not exist).
                    teloxide::ApiError::InvalidToken => "Unauthorized: invalid bot token".into(),
                    known => known.to_string(),
                };
                ApiError::Refused {
                    status: None,
                    description: redact(description, token),
                    retry_after: None,
                }
            }
            RequestError::RetryAfter(wait) => ApiError::Refused {
                status: Some(429),
                description: "Too Many Requests".into(),
                retry_after: Some(wait.duration()),
            },
            RequestError::MigrateToChatId(chat) => ApiError::Refused {
                status: None,
                description: format!(
                    "Bad Request: the group was upgraded to a supergroup, chat {}",
                    chat.0
                ),
                retry_after: None,
            },
            RequestError::Network(e) => ApiError::Unreachable(network(e, token)),
            RequestError::InvalidJson { source, raw } => {
                if serde_json::from_str::<serde_json::Value>(&raw).is_ok() {
                    ApiError::Answer(redact(source.to_string(), token))
                } else {
                    ApiError::Refused {
                        status: None,
                        description: NOT_BOT_API_JSON.into(),
                        retry_after: None,
                    }
                }
            }
            RequestError::Io(e) => ApiError::Unreachable(redact(e.to_string(), token)),
        }
    }

    /// A reqwest error of a call made with `token`, without its URL.
    pub(super) fn from_reqwest(e: reqwest::Error, token: &str) -> ApiError {
        ApiError::Unreachable(network(Arc::new(e), token))
    }
}

/// A network error's words and its causes', without the URL (and so without the token).
fn network(e: Arc<reqwest::Error>, token: &str) -> String {
    let top = match Arc::try_unwrap(e) {
        Ok(owned) => owned.without_url(),
        // Shared, so its URL cannot be taken off: its kind says enough.
        Err(shared) => {
            let kind = if shared.is_timeout() {
                "timed out"
            } else if shared.is_connect() {
                "cannot connect"
            } else if shared.is_body() || shared.is_decode() {
                "the answer broke off"
            } else {
                "the request failed"
            };
            return redact(with_causes(kind.into(), shared.as_ref()), token);
        }
    };
    redact(with_causes(top.to_string(), &top), token)
}

/// `text` followed by the error's causes (hyper's and the OS's words: "Connection refused").
fn with_causes(mut text: String, e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `text` with the token replaced, in case some layer quoted a URL after all.
pub(super) fn redact(text: String, token: &str) -> String {
    if token.is_empty() || !text.contains(token) {
        return text;
    }
    text.replace(token, "<token>")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "7012345678:AAH_secret";

    fn invalid_json(raw: &str) -> RequestError {
        let source = serde_json::from_str::<u8>(raw).expect_err("not a u8");
        RequestError::InvalidJson {
            source: Arc::new(source),
            raw: raw.into(),
        }
    }

    #[test]
    fn a_proxy_page_is_reported_without_its_markup() {
        let page = "<html><head><title>502 Bad Gateway</title></head></html>";
        let e = ApiError::from_request(invalid_json(page), TOKEN);
        let text = e.to_string();
        assert!(!text.contains("<html"), "{text}");
        assert!(text.contains(NOT_BOT_API_JSON), "{text}");
        assert!(!e.is_final(), "a proxy's page is worth another try");
    }

    #[test]
    fn json_of_the_wrong_shape_is_an_answer_that_does_not_parse() {
        let e = ApiError::from_request(invalid_json(r#"{"ok":true,"result":{}}"#), TOKEN);
        assert!(matches!(e, ApiError::Answer(_)), "{e:?}");
        assert!(!e.is_final());
    }

    #[test]
    fn retry_after_is_kept_and_is_not_final() {
        let wait = teloxide::types::Seconds::from_seconds(7);
        let e = ApiError::from_request(RequestError::RetryAfter(wait), TOKEN);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        assert!(!e.is_final());
        assert!(e.to_string().contains("429"), "{e}");
    }

    #[test]
    fn client_errors_are_final_and_server_errors_are_not() {
        let blocked =
            ApiError::from_request(RequestError::Api(teloxide::ApiError::BotBlocked), TOKEN);
        assert!(blocked.is_final());
        assert_eq!(
            blocked.to_string(),
            "the Bot API refused: Forbidden: bot was blocked by the user"
        );
        let token =
            ApiError::from_request(RequestError::Api(teloxide::ApiError::InvalidToken), TOKEN);
        assert!(token.is_final());
        let unknown = |text: &str| {
            ApiError::from_request(
                RequestError::Api(teloxide::ApiError::Unknown(text.into())),
                TOKEN,
            )
        };
        assert!(unknown("Bad Request: message is too long").is_final());
        assert!(!unknown("Internal Server Error").is_final());
        assert!(!unknown("Bad Gateway").is_final());
        let with_status = |status| ApiError::Refused {
            status: Some(status),
            description: "x".into(),
            retry_after: None,
        };
        assert!(with_status(401).is_final());
        assert!(!with_status(429).is_final());
        assert!(!with_status(502).is_final());
    }

    #[test]
    fn a_token_quoted_anywhere_is_taken_out() {
        let e = ApiError::from_request(
            RequestError::Api(teloxide::ApiError::Unknown(format!(
                "Not Found: /bot{TOKEN}/sendMessage"
            ))),
            TOKEN,
        );
        assert!(!e.to_string().contains(TOKEN), "{e}");
        assert!(e.to_string().contains("<token>"), "{e}");
    }

    #[tokio::test]
    async fn a_network_error_never_shows_the_url() {
        // Nothing listens on port 9 of the loopback: the connection is refused.
        let url = format!("http://127.0.0.1:9/bot{TOKEN}/getMe");
        let e = reqwest::Client::new()
            .post(url)
            .send()
            .await
            .expect_err("refused");
        let text = ApiError::from_request(RequestError::from(e), TOKEN).to_string();
        assert!(text.starts_with("cannot reach the Bot API"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        assert!(!text.contains("127.0.0.1:9/bot"), "{text}");
    }
}
