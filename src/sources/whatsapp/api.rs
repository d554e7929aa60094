//! The WhatsApp Cloud API's sending side: `POST /{phone_number_id}/messages` with a text body,
//! under the number's access token. A business may write freely only inside the 24-hour
//! customer-service window after the person's last message; outside it the API refuses with
//! error code 131047.

use crate::settings::Secret;
use serde_json::{Value, json};
use std::time::Duration;

/// Every answering number's client, by source id.
#[derive(Debug, Clone, Default)]
pub struct WhatsappClients(pub std::collections::HashMap<String, WhatsappApi>);

/// The Graph API base leadgate sends through unless `api_url` says otherwise.
pub const DEFAULT_GRAPH_URL: &str = "https://graph.facebook.com/v21.0";

/// The Cloud API's code for a message outside the 24-hour customer-service window.
pub const OUTSIDE_WINDOW: i64 = 131_047;

/// How long one send may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No answer (connection, timeout); never carries the URL.
    #[error("cannot reach the WhatsApp Cloud API: {0}")]
    Http(#[from] reqwest::Error),
    /// The API answered with an error.
    #[error("the WhatsApp Cloud API answered {status} (code {code:?}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The Graph API's `error.code` (131047: outside the 24-hour window; 190: the token).
        code: Option<i64>,
        /// The Graph API's `error.message`.
        message: String,
    },
}

impl SendError {
    /// Whether trying again later can help: a network failure, a 5xx or a rate limit can; a
    /// refusal of this message (outside the window, a bad token, a bad number) cannot.
    pub fn is_transient(&self) -> bool {
        match self {
            SendError::Http(_) => true,
            SendError::Refused { status, code, .. } => {
                *status >= 500 || *status == 429 || matches!(code, Some(4 | 80_007 | 130_429))
            }
        }
    }
}

/// One number's sending client.
#[derive(Debug, Clone)]
pub struct WhatsappApi {
    client: reqwest::Client,
    messages_url: String,
    token: Secret,
}

impl WhatsappApi {
    /// A client for the number `phone_number_id` at `api_url` (the Graph API's versioned base).
    pub fn new(
        api_url: &str,
        phone_number_id: &str,
        token: Secret,
    ) -> Result<WhatsappApi, SendError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(WhatsappApi {
            client,
            messages_url: format!(
                "{}/{phone_number_id}/messages",
                api_url.trim_end_matches('/')
            ),
            token,
        })
    }

    /// Sends `text` to the WhatsApp user `to` (their `wa_id`); the sent message's `wamid`.
    pub async fn send_text(&self, to: &str, text: &str) -> Result<String, SendError> {
        let body = json!({
            "messaging_product": "whatsapp", "recipient_type": "individual", "to": to,
            "type": "text", "text": {"preview_url": false, "body": text},
        });
        let response = self
            .client
            .post(&self.messages_url)
            .bearer_auth(self.token.expose())
            .timeout(SEND_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(reqwest::Error::without_url)?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .map_err(reqwest::Error::without_url)
            .unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(answer
                .pointer("/messages/0/id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string());
        }
        Err(SendError::Refused {
            status: status.as_u16(),
            code: answer.pointer("/error/code").and_then(Value::as_i64),
            message: answer
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("an answer that is not the Graph API's JSON")
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: i64) -> SendError {
        SendError::Refused {
            status,
            code: Some(code),
            message: String::new(),
        }
    }

    #[test]
    fn outside_the_window_and_a_bad_token_are_final_an_outage_is_not() {
        assert!(!refused(400, OUTSIDE_WINDOW).is_transient());
        assert!(!refused(401, 190).is_transient());
        assert!(refused(500, 1).is_transient());
        assert!(refused(400, 130_429).is_transient());
    }
}
