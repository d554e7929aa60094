//! Getting the bytes of a file a person sent, whichever channel holds it: why one could not be
//! had ([`Unavailable`]), the clients each channel fetches with ([`FileAccess`]), and a body
//! read up to the per-file limit and never past it ([`download`]). Each channel's own way is
//! in its folder, asked through its kind (`ChannelKind::file`).

use super::clients::Clients;
use super::registry::CHANNELS;
use super::table::Sources;
use crate::connectors::on_hosts;
use crate::settings::Secret;
use bytes::Bytes;
use std::time::Duration;

/// How long one download may take.
pub const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

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

/// A failure, worth another try when `transient`.
pub fn failed(reason: impl Into<String>, transient: bool) -> Unavailable {
    Unavailable::Failed {
        reason: reason.into(),
        transient,
    }
}

/// No way to fetch the file, for the reason `why`.
pub fn no_access(why: &str) -> Unavailable {
    Unavailable::NoAccess(why.to_string())
}

/// Over the per-file limit `max`.
pub fn too_large(max: u64) -> Unavailable {
    Unavailable::TooLarge(format!(
        "over the {max}-byte limit for one file ([attachments] max_file)"
    ))
}

/// A network failure, without the address asked (a Bot API address holds the token).
pub fn network(what: &str, e: &reqwest::Error) -> Unavailable {
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

/// An HTTP client for downloads: bounded connect and total time, redirects as `redirect` says.
pub fn download_client(
    redirect: reqwest::redirect::Policy,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(DOWNLOAD_TIMEOUT)
        .redirect(redirect)
        .build()
}

/// Sends `request` and reads the answer's body (`what` names it in a reason), refusing it as
/// soon as it passes `max`.
pub async fn download(
    request: reqwest::RequestBuilder,
    what: &str,
    max: u64,
) -> Result<Bytes, Unavailable> {
    let answer = request.send().await.map_err(|e| network(what, &e))?;
    read_answer(answer, what, max).await
}

/// Reads a successful answer's body, refusing it as soon as it passes `max`.
async fn read_answer(
    answer: reqwest::Response,
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
    let cap = usize::try_from(max).unwrap_or(usize::MAX);
    match crate::answer::body_within(answer, cap).await {
        Ok(Some(body)) => Ok(Bytes::from(body)),
        Ok(None) => Err(too_large(max)),
        Err(e) => Err(network(what, &e)),
    }
}

/// The hosts a file may come from, what names them (for the reason), and the token the first
/// of them is asked with.
pub struct Hosts<'a> {
    /// Hosts, and their subdomains, lower-case.
    pub allowed: &'a [String],
    /// The setting that lists them.
    pub named_by: &'a str,
    /// Sent as a bearer token to the first host asked.
    pub token: Option<&'a Secret>,
}

/// Redirects a file address may take, each to an allowed host.
const MAX_REDIRECTS: usize = 5;

/// Files at addresses the public gave (a VK callback, a form builder's upload link), fetched
/// only from allowed hosts: redirects are followed by hand, each hop checked against them.
#[derive(Debug, Clone)]
pub struct HostedFiles {
    client: reqwest::Client,
}

impl HostedFiles {
    /// The client (it follows no redirect by itself).
    pub fn new() -> Result<HostedFiles, reqwest::Error> {
        Ok(HostedFiles {
            client: download_client(reqwest::redirect::Policy::none())?,
        })
    }

    /// The bytes at `url` and the redirects it takes, each only from `hosts`; the token goes
    /// to the first host only (a redirect to a storage host carries its own signature).
    pub async fn bytes(
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
}

/// Why the clients files are fetched with could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    /// The HTTP client could not be built.
    #[error("the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A source's own client could not be built.
    #[error("source {id}: {error}")]
    Source {
        /// The source id.
        id: String,
        /// Why.
        error: String,
    },
}

/// What the channels' file clients are built with.
pub struct FileSetup<'a> {
    /// The client for files at addresses the public gave, shared by the channels that have
    /// them.
    pub hosted: HostedFiles,
    /// The hosts VK's files may come from (`[attachments] vk_hosts`).
    pub vk_hosts: &'a [String],
}

/// How each configured source's files are reached: what a channel's kind fetches with, each
/// channel's own clients by type. A channel whose files are in the stored item itself (forms'
/// uploads, e-mail) needs nothing here.
#[derive(Debug, Clone, Default)]
pub struct FileAccess(Clients);

impl FileAccess {
    /// Every channel's file clients for `sources`, each built by its kind
    /// ([`crate::sources::registry::ChannelKind::file_access`]); VK's on `vk_hosts`.
    pub fn of(sources: &Sources, vk_hosts: &[String]) -> Result<FileAccess, FetcherError> {
        let setup = FileSetup {
            hosted: HostedFiles::new()?,
            vk_hosts,
        };
        let mut access = FileAccess::default();
        for kind in CHANNELS {
            kind.file_access(sources, &setup, &mut access)?;
        }
        Ok(access)
    }

    /// Keeps a channel's clients.
    pub fn insert<T: std::any::Any + Send + Sync>(&mut self, client: T) {
        self.0.insert(client);
    }

    /// A channel's clients; a channel that put none has no access to its files.
    pub fn get<T: std::any::Any + Send + Sync>(&self) -> Result<&T, Unavailable> {
        self.0
            .get()
            .ok_or_else(|| no_access("the channel's file clients are not set up"))
    }
}
