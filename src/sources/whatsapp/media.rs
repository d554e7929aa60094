//! A WhatsApp file's bytes: `GET {api_url}/{media_id}` and the `url` it answers, both with the
//! number's `access_token`.

use super::WhatsappSource;
use crate::settings::Secret;
use crate::sources::fetch::{
    Unavailable, download, download_client, failed, network, no_access, too_large,
};
use bytes::Bytes;
use serde_json::Value;
use std::collections::HashMap;

/// The numbers' media endpoints and tokens, by source id (`None`: no `access_token`).
#[derive(Debug, Clone)]
pub struct WhatsappMedia {
    client: reqwest::Client,
    numbers: HashMap<String, Option<(String, Secret)>>,
}

impl WhatsappMedia {
    /// The media access of every configured number; a client that follows no redirect.
    pub fn of(sources: &[WhatsappSource]) -> Result<WhatsappMedia, reqwest::Error> {
        Ok(WhatsappMedia {
            client: download_client(reqwest::redirect::Policy::none())?,
            numbers: (sources.iter())
                .map(|s| {
                    let reply = s.reply.as_ref().map(|r| {
                        let base = r.api_url.trim_end_matches('/').to_string();
                        (base, r.access_token.clone())
                    });
                    (s.id.clone(), reply)
                })
                .collect(),
        })
    }

    /// The bytes of the media `media_id` the number of `source` received, at most `max`.
    pub async fn bytes(
        &self,
        source: &str,
        media_id: &str,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let Some(Some((base, token))) = self.numbers.get(source) else {
            return Err(no_access(
                "the WhatsApp source has no access_token to download media with",
            ));
        };
        if !media_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(no_access("the media id is not one Meta gives"));
        }
        let answer = self
            .client
            .get(format!("{base}/{media_id}"))
            .bearer_auth(token.expose())
            .send()
            .await
            .map_err(|e| network("WhatsApp media", &e))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(failed(
                format!("WhatsApp media answered {status}"),
                status.is_server_error() || status.as_u16() == 429,
            ));
        }
        let body: Value = answer
            .json()
            .await
            .map_err(|_| failed("WhatsApp media answered without its JSON", true))?;
        let size = body["file_size"]
            .as_u64()
            .or_else(|| body["file_size"].as_str().and_then(|s| s.parse().ok()));
        if size.is_some_and(|s| s > max) {
            return Err(too_large(max));
        }
        let url = body["url"]
            .as_str()
            .ok_or_else(|| failed("WhatsApp media gave no url", false))?;
        let request = self.client.get(url).bearer_auth(token.expose());
        download(request, "the WhatsApp media", max).await
    }
}
