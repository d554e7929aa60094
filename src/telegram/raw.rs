//! `getUpdates` for the leads' bots, made by hand: the answer's bytes as Telegram sent them.
//!
//! teloxide's `GetUpdates` answers typed `Update`s, which keep only the fields teloxide knows
//! (and turn an Update it cannot read into an error value). Intake stores each Update exactly as
//! it arrived, so that the parser sees new fields too and a lead can be re-read later; so this
//! one call posts the same JSON teloxide would, to the same URL, with the same client, and
//! returns the body. A refusal is read here, with the HTTP status teloxide does not keep.

use super::client::{BotClient, no_answer_within};
use super::error::{ApiError, NOT_BOT_API_JSON, redact};
use serde_json::{Value, json};
use std::time::Duration;

/// The largest `getUpdates` answer read: a hundred updates of the Bot API's largest are a
/// fraction of it, so a bigger one is a server that is not the Bot API, not updates to keep.
const MAX_ANSWER: usize = 16 << 20;

impl BotClient {
    /// `getUpdates`: waits up to `timeout` for updates from `offset` on (confirming every
    /// update below it), at most `limit` of them; returns the answer's body as Telegram sent it.
    /// The call is abandoned after `wait`.
    pub async fn get_updates_raw(
        &self,
        offset: Option<i64>,
        timeout: Duration,
        limit: u8,
        wait: Duration,
    ) -> Result<Vec<u8>, ApiError> {
        let mut params = json!({"timeout": timeout.as_secs(), "limit": limit});
        if let Some(offset) = offset {
            params["offset"] = offset.into();
        }
        let bot = self.bot();
        let token = bot.token();
        let mut url = bot.api_url();
        if let Ok(mut path) = url.path_segments_mut() {
            path.push(&format!("bot{token}")).push("getUpdates");
        }
        let call = async {
            let response = bot.client().post(url).json(&params).send().await?;
            let status = response.status();
            let body = crate::answer::body_within(response, MAX_ANSWER).await?;
            Ok::<_, reqwest::Error>((status, body))
        };
        let (status, body) = match tokio::time::timeout(wait, call).await {
            Err(_) => return Err(no_answer_within(wait)),
            Ok(Err(e)) => return Err(ApiError::from_reqwest(e, token)),
            Ok(Ok((status, Some(body)))) => (status, body),
            Ok(Ok((status, None))) => {
                return Err(ApiError::Refused {
                    status: Some(status.as_u16()),
                    description: format!("the answer is over {MAX_ANSWER} bytes"),
                    retry_after: None,
                });
            }
        };
        if status.is_success() {
            return Ok(body);
        }
        let answer = serde_json::from_slice::<Value>(&body).ok();
        let description = answer
            .as_ref()
            .and_then(|v| v.get("description")?.as_str().map(str::to_string))
            // A proxy's HTML error page is not the Bot API's answer: say so, not its markup.
            .unwrap_or_else(|| NOT_BOT_API_JSON.to_string());
        // A server or proxy that quotes the request's path back would quote the token.
        let description = redact(description, token);
        let retry_after = answer
            .as_ref()
            .and_then(|v| v.pointer("/parameters/retry_after")?.as_u64())
            .map(Duration::from_secs);
        Err(ApiError::Refused {
            status: Some(status.as_u16()),
            description,
            retry_after,
        })
    }
}
