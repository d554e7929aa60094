//! The Bot API over the crate's own reqwest client: `getUpdates` and `sendMessage` for the
//! customer-facing bots, any method for the managers' bot.
//!
//! Not teloxide: its `GetUpdates` answers typed `Update`s, and the store must keep the Update
//! JSON exactly as Telegram sent it (the parser reads it back later, new fields included).
//! The token is part of every URL (`{api_url}/bot{token}/{method}`), so no URL and no reqwest
//! error with its URL ever reaches a log line or `/readyz`.

use super::ParseError;
use crate::settings::Secret;
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// A Bot API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request did not get an answer (connection, timeout, body); never carries the URL.
    #[error("cannot reach the Bot API: {0}")]
    Http(reqwest::Error),
    /// The Bot API answered with an error (`401 Unauthorized` for a wrong token, `409
    /// Conflict` while a webhook is set).
    #[error("the Bot API answered {status}: {description}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Telegram's `description`, or a note that the answer was not the Bot API's JSON.
        description: String,
        /// `parameters.retry_after` of a 429: the seconds to wait.
        retry_after: Option<u64>,
    },
    /// The answer is not what the Bot API documents.
    #[error("the Bot API's answer does not parse: {0}")]
    Answer(#[from] ParseError),
}

impl From<reqwest::Error> for ApiError {
    fn from(e: reqwest::Error) -> ApiError {
        ApiError::Http(e.without_url())
    }
}

/// `sendMessage`'s parameters, as the Bot API documents them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SendMessage {
    /// The chat to write to.
    pub chat_id: i64,
    /// The text.
    pub text: String,
    /// A custom keyboard, when the bot asks for something.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<ReplyKeyboardMarkup>,
}

/// The Bot API's `ReplyKeyboardMarkup`: buttons shown instead of the person's keyboard.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReplyKeyboardMarkup {
    /// Rows of buttons.
    pub keyboard: Vec<Vec<KeyboardButton>>,
    /// Fit the keyboard to its buttons instead of half the screen.
    pub resize_keyboard: bool,
    /// Hide the keyboard once a button is pressed.
    pub one_time_keyboard: bool,
}

/// The Bot API's `KeyboardButton`; `request_contact` makes pressing it share the person's
/// phone number with the bot.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct KeyboardButton {
    /// The label.
    pub text: String,
    /// Share the phone number when pressed (private chats only).
    pub request_contact: bool,
}

/// How long a call other than a long poll may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// One bot's Bot API client.
#[derive(Debug, Clone)]
pub struct BotApi {
    client: reqwest::Client,
    base: String,
    token: Secret,
}

impl BotApi {
    /// A client for the bot with `token` at `api_url` (without `/bot...`).
    pub fn new(api_url: &reqwest::Url, token: Secret) -> Result<BotApi, ApiError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(BotApi {
            client,
            base: api_url.as_str().trim_end_matches('/').to_string(),
            token,
        })
    }

    /// `getUpdates`: waits up to `timeout` for updates from `offset` on (confirming every update
    /// below it), and returns the answer's body as Telegram sent it.
    pub async fn get_updates(
        &self,
        offset: Option<i64>,
        timeout: Duration,
        limit: u8,
    ) -> Result<Vec<u8>, ApiError> {
        let mut params = serde_json::json!({"timeout": timeout.as_secs(), "limit": limit});
        if let Some(offset) = offset {
            params["offset"] = offset.into();
        }
        self.call("getUpdates", &params, super::recovery::call_bound(timeout))
            .await
    }

    /// `sendMessage`.
    pub async fn send_message(&self, message: &SendMessage) -> Result<(), ApiError> {
        let params = serde_json::to_value(message).map_err(ParseError::Json)?;
        self.call("sendMessage", &params, CALL_TIMEOUT).await?;
        Ok(())
    }

    /// Any Bot API method with JSON parameters; the answer's `result`.
    pub async fn call_method(
        &self,
        method: &str,
        params: &Value,
        wait: Duration,
    ) -> Result<Value, ApiError> {
        let body = self.call(method, params, wait).await?;
        let mut answer: Value = serde_json::from_slice(&body).map_err(ParseError::Json)?;
        Ok(answer
            .get_mut("result")
            .map(Value::take)
            .unwrap_or(Value::Null))
    }

    async fn call(
        &self,
        method: &str,
        params: &Value,
        wait: Duration,
    ) -> Result<Vec<u8>, ApiError> {
        let url = format!("{}/bot{}/{method}", self.base, self.token.expose());
        let response = self
            .client
            .post(url)
            .timeout(wait)
            .json(params)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let answer = serde_json::from_slice::<Value>(&body).ok();
        let description = answer
            .as_ref()
            .and_then(|v| v.get("description")?.as_str().map(str::to_string))
            // A proxy's HTML error page is not the Bot API's answer: say so, not its markup.
            .unwrap_or_else(|| "an answer that is not the Bot API's JSON".to_string());
        let retry_after = answer
            .as_ref()
            .and_then(|v| v.pointer("/parameters/retry_after")?.as_u64());
        Err(ApiError::Refused {
            status: status.as_u16(),
            description,
            retry_after,
        })
    }
}
