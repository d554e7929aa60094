//! A Telegram file's bytes: `getFile` and `{api_url}/file/bot<token>/<file_path>`, through
//! teloxide's `get_file` and `download_file_stream` on the source's bot.

use super::TelegramSource;
use crate::sources::fetch::{
    DOWNLOAD_TIMEOUT, FetcherError, Unavailable, failed, network, no_access, too_large,
};
use crate::telegram::{ApiError, BotClient};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::HashMap;
use teloxide::net::Download;
use teloxide::requests::Requester;
use teloxide::types::FileId;

/// The configured bots' clients, by source id, to fetch their files with.
#[derive(Debug, Clone)]
pub struct TelegramFiles(HashMap<String, BotClient>);

impl TelegramFiles {
    /// A client per configured bot.
    pub fn of(sources: &[TelegramSource]) -> Result<TelegramFiles, FetcherError> {
        let bots = (sources.iter())
            .map(|t| match BotClient::new(&t.api_url, &t.token) {
                Ok(bot) => Ok((t.id.clone(), bot)),
                Err(error) => Err(FetcherError::Source {
                    id: t.id.clone(),
                    error: error.to_string(),
                }),
            })
            .collect::<Result<_, _>>()?;
        Ok(TelegramFiles(bots))
    }

    /// The bytes of the file `file_id` the bot of `source` received, at most `max` of them.
    pub async fn bytes(&self, source: &str, file_id: &str, max: u64) -> Result<Bytes, Unavailable> {
        let bot = self
            .0
            .get(source)
            .ok_or_else(|| no_access("the Telegram source is no longer configured"))?;
        let file = bot
            .call(bot.bot().get_file(FileId(file_id.to_string())))
            .await
            .map_err(get_file_refused)?;
        // teloxide reads a missing `file_size` as `u32::MAX`: the size is then learnt while
        // reading (getFile hands out 20 MB at most).
        if file.meta.size != u32::MAX && u64::from(file.meta.size) > max {
            return Err(too_large(max));
        }
        if file.path.is_empty() {
            return Err(failed("Telegram getFile gave no file_path", false));
        }
        let what = "the Telegram file";
        let read = async {
            let mut chunks = bot.bot().download_file_stream(&file.path);
            let mut body = Vec::new();
            while let Some(chunk) = chunks.next().await {
                let chunk = chunk.map_err(|e| match e.status() {
                    Some(status) => failed(
                        format!("{what} answered {status}"),
                        status.is_server_error() || status.as_u16() == 429,
                    ),
                    None => network(what, &e),
                })?;
                if (body.len() + chunk.len()) as u64 > max {
                    return Err(too_large(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(Bytes::from(body))
        };
        tokio::time::timeout(DOWNLOAD_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| Err(failed(format!("{what} timed out"), true)))
    }
}

/// A refused `getFile` as the record's reason: the Bot API's own description ("Bad Request:
/// file is too big") names no secret, and `ApiError` carries neither the token nor a proxy's
/// page.
fn get_file_refused(e: ApiError) -> Unavailable {
    match &e {
        ApiError::Refused { description, .. } if description.contains("too big") => {
            let description: String = description.chars().take(200).collect();
            Unavailable::TooLarge(format!(
                "Telegram refuses to hand over files this big: {description}"
            ))
        }
        ApiError::Refused { description, .. } => {
            let description: String = description.chars().take(200).collect();
            failed(
                format!("Telegram getFile refused: {description}"),
                !e.is_final(),
            )
        }
        ApiError::Unreachable(_) | ApiError::Answer(_) => {
            failed(format!("Telegram getFile: {e}"), true)
        }
    }
}
