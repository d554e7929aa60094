//! Getting a file's bytes: from the stored item itself (a form's multipart body, an e-mail's
//! MIME part), or from the messenger that holds it (Telegram `getFile` and its file URL,
//! through teloxide; WhatsApp's media endpoint and the URL it gives, a VK file address), read
//! up to the per-file limit and never past it.

use super::AttachmentsConfig;
use crate::connectors::on_hosts;
use crate::lead::Channel;
use crate::settings::Secret;
use crate::sources::email;
use crate::sources::telegram::TelegramSource;
use crate::sources::webform::{self, WebformSource};
use crate::sources::whatsapp::WhatsappSource;
use crate::store::InboundRow;
use crate::telegram::{ApiError, BotClient};
use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;
use teloxide::net::Download;
use teloxide::requests::Requester;
use teloxide::types::FileId;

/// How long one download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a file was not kept; its text is the record's reason (no secret, no server's words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    /// Over the per-file or per-lead limit.
    #[error("{0}")]
    TooLarge(String),
    /// The source has no way to fetch it (no token configured, a source no longer there).
    #[error("{0}")]
    NoAccess(String),
    /// The messenger or the network failed; `transient` ones are tried again once.
    #[error("{reason}")]
    Failed {
        /// What happened.
        reason: String,
        /// Worth another try.
        transient: bool,
    },
}

fn failed(reason: impl Into<String>, transient: bool) -> Unavailable {
    Unavailable::Failed {
        reason: reason.into(),
        transient,
    }
}

/// Why the fetcher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A Telegram source's Bot API client could not be built.
    #[error("Telegram source {id}: {error}")]
    Telegram {
        /// The source id.
        id: String,
        /// Why.
        error: ApiError,
    },
}

/// How to reach each source's files.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    telegram: HashMap<String, BotClient>,
    whatsapp: HashMap<String, Option<(String, Secret)>>,
    vk_hosts: Vec<String>,
    forms: HashMap<String, (Vec<String>, Option<Secret>)>,
}

/// Redirects a file address may take, each to an allowed host.
const MAX_REDIRECTS: usize = 5;

impl Fetcher {
    /// The fetcher for the configured Telegram bots, WhatsApp numbers and web forms, with the
    /// attachments' settings.
    pub fn of(
        telegram: &[TelegramSource],
        whatsapp: &[WhatsappSource],
        webforms: &[WebformSource],
        attachments: &AttachmentsConfig,
    ) -> Result<Fetcher, FetcherError> {
        // Redirects are followed by hand, each checked against the hosts allowed.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(DOWNLOAD_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Fetcher {
            client,
            telegram: (telegram.iter())
                .map(|t| match BotClient::new(&t.api_url, &t.token) {
                    Ok(bot) => Ok((t.id.clone(), bot)),
                    Err(error) => Err(FetcherError::Telegram {
                        id: t.id.clone(),
                        error,
                    }),
                })
                .collect::<Result<_, _>>()?,
            whatsapp: (whatsapp.iter())
                .map(|s| {
                    let reply = s.reply.as_ref().map(|r| {
                        let base = r.api_url.trim_end_matches('/').to_string();
                        (base, r.access_token.clone())
                    });
                    (s.id.clone(), reply)
                })
                .collect(),
            vk_hosts: attachments.vk_hosts.clone(),
            forms: (webforms.iter())
                .map(|f| (f.id.clone(), (f.file_hosts.clone(), f.file_token.clone())))
                .collect(),
        })
    }

    /// The bytes of the file `entry` (one of the item's `fields.attachments`, the `n`th),
    /// at most `max` of them.
    pub async fn bytes(
        &self,
        row: &InboundRow,
        n: usize,
        entry: &Value,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let text = |key: &str| entry.get(key).and_then(Value::as_str);
        let bytes = match row.channel {
            Channel::Webform => match text(webform::UPLOAD_URL) {
                Some(url) => self.linked_file(&row.source, url, max).await?,
                None => form_file(row, n).await?,
            },
            Channel::Email => email::attachment_bytes(&row.payload, n)
                .map(Bytes::from)
                .ok_or_else(|| no_access("the message no longer holds this file"))?,
            Channel::Telegram => {
                let id = text("telegram_file_id").ok_or_else(|| no_access("no file id"))?;
                self.telegram_file(&row.source, id, max).await?
            }
            Channel::Whatsapp => {
                let id = text("whatsapp_media_id").ok_or_else(|| no_access("no media id"))?;
                self.whatsapp_media(&row.source, id, max).await?
            }
            Channel::Vk => {
                let url = text("vk_url").ok_or_else(|| no_access("no file address"))?;
                self.vk_file(url, max).await?
            }
            Channel::Blog => return Err(no_access("blog comments carry no files")),
        };
        if bytes.len() as u64 > max {
            return Err(too_large(max));
        }
        Ok(bytes)
    }

    async fn telegram_file(
        &self,
        source: &str,
        file_id: &str,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let bot = self
            .telegram
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

    async fn whatsapp_media(
        &self,
        source: &str,
        media_id: &str,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let Some(Some((base, token))) = self.whatsapp.get(source) else {
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
        self.download(request, "the WhatsApp media", max).await
    }

    async fn vk_file(&self, url: &str, max: u64) -> Result<Bytes, Unavailable> {
        let hosts = Hosts {
            allowed: &self.vk_hosts,
            named_by: "[attachments] vk_hosts",
            token: None,
        };
        self.hosted(url, &hosts, "the VK file", max).await
    }

    /// A file a form's provider keeps (a Tilda or Typeform upload), from the hosts the form's
    /// connector and `file_hosts` allow, and nowhere else: the address is the public's input.
    async fn linked_file(&self, source: &str, url: &str, max: u64) -> Result<Bytes, Unavailable> {
        let Some((allowed, token)) = self.forms.get(source) else {
            return Err(no_access("the form is no longer configured"));
        };
        let hosts = Hosts {
            allowed,
            named_by: "the form's file_hosts or its connector's [files] hosts",
            token: token.as_ref(),
        };
        self.hosted(url, &hosts, "the linked file", max).await
    }

    /// Downloads `url` and the redirects it takes, each only from an allowed host; the token
    /// goes to the first host only (a redirect to a storage host carries its own signature).
    async fn hosted(
        &self,
        url: &str,
        hosts: &Hosts<'_>,
        what: &str,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let mut at = reqwest::Url::parse(url).map_err(|_| no_access("not a file address"))?;
        let first_host = at.host_str().map(str::to_string);
        for _ in 0..=MAX_REDIRECTS {
            let allowed = matches!(at.scheme(), "http" | "https")
                && at.host_str().is_some_and(|h| on_hosts(h, hosts.allowed));
            if !allowed {
                return Err(no_access(&format!(
                    "the file address is not on one of {}",
                    hosts.named_by
                )));
            }
            let mut request = self.client.get(at.clone());
            if let Some(token) = hosts
                .token
                .filter(|_| at.host_str() == first_host.as_deref())
            {
                request = request.bearer_auth(token.expose());
            }
            let answer = request.send().await.map_err(|e| network(what, &e))?;
            if !answer.status().is_redirection() {
                return read_answer(answer, what, max).await;
            }
            let next = (answer.headers().get(reqwest::header::LOCATION))
                .and_then(|l| l.to_str().ok())
                .and_then(|l| at.join(l).ok());
            at = next.ok_or_else(|| failed(format!("{what} redirected nowhere"), false))?;
        }
        Err(failed(format!("{what} redirected too often"), false))
    }

    /// Sends `request` and reads the answer's body, refusing it as soon as it passes `max`.
    async fn download(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
        max: u64,
    ) -> Result<Bytes, Unavailable> {
        let answer = request.send().await.map_err(|e| network(what, &e))?;
        read_answer(answer, what, max).await
    }
}

/// The hosts a file may come from, what names them (for the reason), and the token the first
/// of them is asked with.
struct Hosts<'a> {
    allowed: &'a [String],
    named_by: &'a str,
    token: Option<&'a Secret>,
}

/// Reads a successful answer's body, refusing it as soon as it passes `max`.
async fn read_answer(
    mut answer: reqwest::Response,
    what: &str,
    max: u64,
) -> Result<Bytes, Unavailable> {
    let status = answer.status();
    if !status.is_success() {
        return Err(failed(
            format!("{what} answered {status}"),
            status.is_server_error() || status.as_u16() == 429,
        ));
    }
    if answer.content_length().is_some_and(|l| l > max) {
        return Err(too_large(max));
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| network(what, &e))? {
        if (body.len() + chunk.len()) as u64 > max {
            return Err(too_large(max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
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

fn no_access(why: &str) -> Unavailable {
    Unavailable::NoAccess(why.to_string())
}

fn too_large(max: u64) -> Unavailable {
    Unavailable::TooLarge(format!(
        "over the {max}-byte limit for one file ([attachments] max_file)"
    ))
}

/// A network failure, without the address asked (a Bot API address holds the token).
fn network(what: &str, e: &reqwest::Error) -> Unavailable {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not be reached"
    } else if e.is_redirect() {
        "redirected somewhere not allowed"
    } else {
        "failed in transit"
    };
    failed(format!("{what} {kind}"), !e.is_redirect())
}

/// The `n`th file of a stored multipart form.
async fn form_file(row: &InboundRow, n: usize) -> Result<Bytes, Unavailable> {
    let kind = webform::body_kind(row.content_type.as_deref())
        .map_err(|_| no_access("the form's body holds no files"))?;
    let body = Bytes::from(row.payload.clone());
    let form = webform::read_body(&kind, body, webform::Limits::UNLIMITED)
        .await
        .map_err(|_| no_access("the form's body no longer reads"))?;
    form.files
        .into_iter()
        .nth(n)
        .map(|f| f.data)
        .ok_or_else(|| no_access("the form's body no longer holds this file"))
}
