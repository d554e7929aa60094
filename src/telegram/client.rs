//! One bot's client: teloxide's `Bot` at the configured Bot API base URL (Telegram's, a local
//! Bot API server, or the tests' simulator), and every call bounded in time.

use super::error::ApiError;
use crate::settings::Secret;
use std::future::IntoFuture;
use std::time::Duration;
use teloxide::{Bot, RequestError};

/// The default Bot API base URL.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// How long a call other than a long poll may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// How long connecting to the Bot API may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One bot: teloxide's `Bot` for its requests, and the bound each call gets.
///
/// The reqwest client has no overall timeout of its own (teloxide's default is 17 s, shorter
/// than a long poll): each call is bounded by the caller instead, and abandoned when it runs
/// over. Redirects are not followed, since the token is in every path.
#[derive(Clone)]
pub struct BotClient {
    bot: Bot,
}

/// Not derived: teloxide's `Bot` prints its token.
impl std::fmt::Debug for BotClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotClient")
            .field("api_url", &self.bot.api_url().as_str())
            .finish_non_exhaustive()
    }
}

impl BotClient {
    /// A client for the bot with `token` at `api_url` (without `/bot...`; requests go to
    /// `{api_url}/bot{token}/{method}`).
    pub fn new(api_url: &reqwest::Url, token: &Secret) -> Result<BotClient, ApiError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::from_reqwest(e, token.expose()))?;
        // teloxide appends `bot<token>/<method>` as path segments: a trailing slash would
        // leave an empty segment before them.
        let mut base = api_url.clone();
        if let Ok(mut path) = base.path_segments_mut() {
            path.pop_if_empty();
        }
        let bot = Bot::with_client(token.expose(), client).set_api_url(base);
        Ok(BotClient { bot })
    }

    /// teloxide's `Bot`, to build requests with (`Requester`'s methods); send them with
    /// [`BotClient::call`].
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// Sends `request`, abandoning it after [`CALL_TIMEOUT`].
    pub async fn call<R, T>(&self, request: R) -> Result<T, ApiError>
    where
        R: IntoFuture<Output = Result<T, RequestError>>,
    {
        self.call_within(request, CALL_TIMEOUT).await
    }

    /// Sends `request`, abandoning it after `wait` (a long poll's own wait plus a margin).
    pub async fn call_within<R, T>(&self, request: R, wait: Duration) -> Result<T, ApiError>
    where
        R: IntoFuture<Output = Result<T, RequestError>>,
    {
        match tokio::time::timeout(wait, request.into_future()).await {
            Ok(answer) => answer.map_err(|e| ApiError::from_request(e, self.bot.token())),
            Err(_) => Err(no_answer_within(wait)),
        }
    }
}

/// A call abandoned after `wait`.
pub(super) fn no_answer_within(wait: Duration) -> ApiError {
    ApiError::Unreachable(format!("no answer within {} s", wait.as_secs_f32()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> BotClient {
        let url = reqwest::Url::parse(url).expect("a URL");
        BotClient::new(&url, &Secret::new("1:abc")).expect("a client")
    }

    #[test]
    fn debug_output_never_shows_the_token() {
        let shown = format!("{:?}", client("http://127.0.0.1:8081"));
        assert!(!shown.contains("1:abc"), "{shown}");
    }

    #[test]
    fn the_base_url_keeps_its_path_and_loses_a_trailing_slash() {
        assert_eq!(
            client("http://127.0.0.1:8081").bot().api_url().as_str(),
            "http://127.0.0.1:8081/"
        );
        assert_eq!(
            client("https://proxy.example/telegram/")
                .bot()
                .api_url()
                .as_str(),
            "https://proxy.example/telegram"
        );
    }
}
