//! VK API's calls for a community with its access token: `messages.send` (the answer to
//! the person) and `users.get` (the person's name).
//! VK's bot keyboards have no button that shares the person's phone (its action types are
//! text, open_link, location, vkpay, open_app and callback), so the answer is text only.

use crate::settings::Secret;
use serde_json::Value;
use std::time::Duration;

/// The VK API base leadgate calls unless `api_url` says otherwise.
pub const DEFAULT_VK_API_URL: &str = "https://api.vk.com/method";

/// The API version leadgate speaks.
pub const VK_API_VERSION: &str = "5.199";

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// Every answering community's client, by source id: the answers go through it, and its
/// webhook reads the writers' names with it.
#[derive(Debug, Clone, Default)]
pub struct VkClients(pub std::collections::HashMap<String, VkApi>);

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum VkSendError {
    /// No answer (connection, timeout); never carries the URL (it holds the token).
    #[error("cannot reach the VK API: {0}")]
    Http(#[from] reqwest::Error),
    /// VK answered `{"error": {...}}` (5: the token; 901: the person does not allow messages).
    #[error("the VK API refused ({code}): {message}")]
    Refused {
        /// `error_code`.
        code: i64,
        /// `error_msg`.
        message: String,
    },
    /// An answer that is not the VK API's JSON.
    #[error("the VK API answered {0} with something that is not its JSON")]
    Answer(u16),
}

impl VkSendError {
    /// Whether trying again later can help: an outage, a rate limit (6, 9) or VK's internal
    /// error (1, 10) can; a bad token (5), no permission to write (7, 901) or a bad
    /// parameter (100) cannot.
    pub fn is_transient(&self) -> bool {
        match self {
            VkSendError::Http(_) | VkSendError::Answer(_) => true,
            VkSendError::Refused { code, .. } => matches!(code, 1 | 6 | 9 | 10),
        }
    }
}

/// A community's client.
#[derive(Debug, Clone)]
pub struct VkApi {
    client: reqwest::Client,
    base: String,
    token: Secret,
}

impl VkApi {
    /// A client with the community's `token` at `api_url`.
    pub fn new(api_url: &str, token: Secret) -> Result<VkApi, VkSendError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(reqwest::Error::without_url)?;
        Ok(VkApi {
            client,
            base: api_url.trim_end_matches('/').to_string(),
            token,
        })
    }

    /// `messages.send` to `peer_id`; `random_id` makes a resend of the same answer a no-op at
    /// VK. The sent message's id.
    pub async fn send_message(
        &self,
        peer_id: i64,
        random_id: i64,
        text: &str,
    ) -> Result<i64, VkSendError> {
        let form = [
            ("peer_id", peer_id.to_string()),
            ("random_id", random_id.to_string()),
            ("message", text.to_string()),
        ];
        let (status, answer) = self.call("messages.send", &form, CALL_TIMEOUT).await?;
        answer
            .get("response")
            .and_then(Value::as_i64)
            .ok_or(VkSendError::Answer(status))
    }

    /// `users.get` for the person `user_id`: their name as VK shows it (first and last), in
    /// Russian, waiting at most `wait`.
    pub async fn user_name(&self, user_id: i64, wait: Duration) -> Result<String, VkSendError> {
        let form = [
            ("user_ids", user_id.to_string()),
            ("lang", "ru".to_string()),
        ];
        let (status, answer) = self.call("users.get", &form, wait).await?;
        let user = answer
            .pointer("/response/0")
            .ok_or(VkSendError::Answer(status))?;
        let part = |key: &str| user.get(key).and_then(Value::as_str).unwrap_or("").trim();
        let name = format!("{} {}", part("first_name"), part("last_name"));
        Ok(name.trim().to_string())
    }

    /// Calls `method` with `form`, the token and the version; the answer, or VK's refusal.
    async fn call(
        &self,
        method: &str,
        form: &[(&str, String)],
        wait: Duration,
    ) -> Result<(u16, Value), VkSendError> {
        let mut form = form.to_vec();
        form.push(("access_token", self.token.expose().to_string()));
        form.push(("v", VK_API_VERSION.to_string()));
        let response = self
            .client
            .post(format!("{}/{method}", self.base))
            .timeout(wait)
            .form(&form)
            .send()
            .await
            .map_err(reqwest::Error::without_url)?;
        let status = response.status().as_u16();
        let answer: Value = response
            .json()
            .await
            .map_err(|_| VkSendError::Answer(status))?;
        if let Some(error) = answer.get("error") {
            return Err(VkSendError::Refused {
                code: error.get("error_code").and_then(Value::as_i64).unwrap_or(0),
                message: error
                    .get("error_msg")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
            });
        }
        Ok((status, answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: i64) -> VkSendError {
        VkSendError::Refused {
            code,
            message: String::new(),
        }
    }

    #[test]
    fn a_bad_token_or_no_permission_is_final_a_rate_limit_is_not() {
        assert!(!refused(5).is_transient());
        assert!(!refused(901).is_transient());
        assert!(refused(9).is_transient());
        assert!(refused(10).is_transient());
    }
}
