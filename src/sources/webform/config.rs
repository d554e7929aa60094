//! A web form's table (`[[sources.webform]]`): as written, checked, and as the form's
//! handler runs it.

use crate::connectors::{Catalogue, GENERIC, check_host};
use crate::lead::Channel;
use crate::settings::{ByteSize, Scope, Secret, check_source_secret};
use crate::sources::table::{RawSource, Source, TableContext};
use serde::Deserialize;
use std::time::Duration;

/// `[[sources.webform]]`: a form posting to `POST /forms/{id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWebform {
    /// The source id: the URL path segment and the lead's `source`.
    pub id: String,
    /// Origins allowed to post from a browser (`https://example.ru`); `["*"]` for any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// A hidden field real people leave empty.
    pub honeypot: Option<String>,
    /// Another address the form takes posts at, besides `/forms/{id}`: the action an existing
    /// page's form already has (`/zayavka`, `/send.php`), so the page need not change.
    pub path: Option<String>,
    /// Where a plain HTML form is redirected (303) after a successful post.
    pub redirect: Option<String>,
    /// A shared secret servers posting to the form must send in `X-Leadgate-Secret`.
    pub secret: Option<Secret>,
    /// Serve the demo page at `/` posting to this form.
    pub demo: Option<bool>,
    /// Where a plain HTML form is sent back (303, with `lg_error=<code>`) when a post is
    /// refused, instead of leadgate's own page that shows what to fix.
    pub error_redirect: Option<String>,
    /// Limit for the form's text (urlencoded, JSON, the text parts of multipart); default 64KiB.
    pub max_text: Option<ByteSize>,
    /// Limit for a multipart form with files; default 10MiB.
    pub max_upload: Option<ByteSize>,
    /// Files one post may attach; default 10.
    pub max_files: Option<usize>,
    /// Text fields one post may have; default 200.
    pub max_fields: Option<usize>,
    /// Posts per minute allowed from one client address; default 20.
    pub rate_per_minute: Option<u32>,
    /// Posts allowed in a burst from one client address; default 10.
    pub rate_burst: Option<u32>,
    /// The inbound connector that maps the payload (`tilda`, `wix`, ...); default `generic`.
    pub connector: Option<String>,
    /// Take posts without `secret` although the connector's provider can prove them.
    pub allow_unsigned: Option<bool>,
    /// A second post with the same contact within this long (a double click, a reload) joins
    /// the first lead as an update; default `2m`, `"off"` makes every post a lead.
    pub conversation_window: Option<String>,
    /// More hosts (and their subdomains) files linked from this form's posts are fetched from,
    /// beside the connector's own (a WordPress site's uploads: `example.ru`).
    #[serde(default)]
    pub file_hosts: Vec<String>,
    /// A token sent as `Authorization: Bearer` when fetching a linked file from the first host
    /// asked (Typeform's files need the account's personal token).
    pub file_token: Option<Secret>,
}

/// A web form source.
#[derive(Debug, Clone)]
pub struct WebformSource {
    /// The source id.
    pub id: String,
    /// Browser origins allowed to post; empty means no cross-origin browser posts.
    pub allowed_origins: Vec<String>,
    /// The honeypot field.
    pub honeypot: Option<String>,
    /// The form's own address besides `/forms/{id}` (checked: a plain path no route of
    /// leadgate's has).
    pub path: Option<String>,
    /// The 303 target after a plain form post.
    pub redirect: Option<String>,
    /// The 303 target of a refused plain form post.
    pub error_redirect: Option<String>,
    /// The shared secret server-side posters send.
    pub secret: Option<Secret>,
    /// Whether `/` shows the demo page for this form.
    pub demo: bool,
    /// Text body limit in bytes.
    pub max_text: usize,
    /// Multipart-with-files limit in bytes.
    pub max_upload: usize,
    /// Files one post may attach.
    pub max_files: usize,
    /// Text fields one post may have.
    pub max_fields: usize,
    /// Sustained posts per minute per client address.
    pub rate_per_minute: u32,
    /// Burst per client address.
    pub rate_burst: u32,
    /// The inbound connector mapping its payload (validated to exist).
    pub connector: String,
    /// Posts are taken without the provider's proof although it could send one (warned at
    /// every start).
    pub allow_unsigned: bool,
    /// A post with the same contact this soon after the last joins its lead; zero: never.
    pub conversation_window: Duration,
    /// Hosts (and their subdomains) linked files are fetched from: the connector's and the
    /// form's own, lower-case.
    pub file_hosts: Vec<String>,
    /// The bearer token linked files are fetched with.
    pub file_token: Option<Secret>,
}

/// The routes of leadgate's own a form's `path` may not take or shadow.
const RESERVED: [&str; 9] = [
    "/forms", "/hooks", "/admin", "/api", "/act", "/files", "/healthz", "/readyz", "/metrics",
];

/// Whether `path` can be a form's own address: a plain path (letters, digits, `-`, `_`, `.`,
/// `/`), not `/`, and under none of leadgate's routes.
fn check_path(path: &str) -> Result<(), String> {
    let plain = path.starts_with('/')
        && path.len() > 1
        && !path.contains("//")
        && (path.bytes()).all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b));
    if !plain {
        return Err(format!("{path:?} is not a plain path"));
    }
    let lower = path.to_ascii_lowercase();
    match RESERVED
        .iter()
        .find(|r| lower == **r || lower.starts_with(&format!("{r}/")))
    {
        Some(r) => Err(format!("{path:?} is under leadgate's own {r}")),
        None => Ok(()),
    }
}

impl RawWebform {
    /// Checks the form's table against the connectors it may name, and applies the defaults.
    pub fn validate(self, p: &mut Scope<'_>, cat: &Catalogue) -> WebformSource {
        let f = self;
        let connector = f.connector.unwrap_or_else(|| GENERIC.to_string());
        if cat.inbound(&connector).is_none() && cat.generic().is_some() {
            p.add(
                "connector",
                format!("unknown connector {connector:?}"),
                Some(&format!(
                    "one of {} (or a file in [connectors] dir)",
                    cat.inbound_names()
                )),
            );
        }
        for (i, origin) in f.allowed_origins.iter().enumerate() {
            let ok = origin == "*"
                || reqwest::Url::parse(origin)
                    .is_ok_and(|u| u.path() == "/" && !origin.ends_with('/'));
            if !ok {
                p.add(
                    &format!("allowed_origins[{i}]"),
                    format!("{origin:?} is not an origin"),
                    Some("write scheme and host only, like \"https://example.ru\", or \"*\""),
                );
            }
        }
        for (name, target) in [
            ("redirect", &f.redirect),
            ("error_redirect", &f.error_redirect),
        ] {
            let ok = target.as_deref().is_none_or(|t| {
                (t.starts_with('/') && !t.starts_with("//"))
                    || reqwest::Url::parse(t).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
            });
            if !ok {
                p.add(
                    name,
                    format!("{:?} is not a page address", target.as_deref().unwrap_or("")),
                    Some("write an http(s) URL like \"https://example.ru/thanks/\" or a path like \"/thanks\""),
                );
            }
        }
        if let Some(path) = &f.path
            && let Err(why) = check_path(path)
        {
            p.add(
                "path",
                why,
                Some("write a path of its own, like \"/zayavka\""),
            );
        }
        let allow_unsigned = f.allow_unsigned.unwrap_or(false);
        let provider = cat
            .inbound(&connector)
            .filter(|c| c.verify.is_some())
            .map(|c| c.name.clone());
        check_source_secret(p, f.secret.as_ref(), provider.as_deref(), allow_unsigned);
        let defaults = crate::sources::webform::Limits::default();
        if f.max_fields == Some(0) {
            p.add("max_fields", "must be at least 1", None);
        }
        let per_minute = f.rate_per_minute.unwrap_or(20);
        let burst = f.rate_burst.unwrap_or(10);
        if per_minute == 0 || burst == 0 {
            p.add("rate_per_minute", "rate limits must be at least 1", None);
        }
        let mut file_hosts = (cat.inbound(&connector))
            .map(|c| c.file_hosts.clone())
            .unwrap_or_default();
        for (i, host) in f.file_hosts.iter().enumerate() {
            let host = host.trim().to_ascii_lowercase();
            match check_host(&host) {
                Ok(()) => file_hosts.push(host),
                Err(why) => p.add(&format!("file_hosts[{i}]"), why, None),
            }
        }
        if f.file_token.is_some() && file_hosts.is_empty() {
            p.add(
                "file_token",
                "is set, but no host to fetch linked files from is known",
                Some("name the hosts in file_hosts, or use a connector that names them"),
            );
        }
        let conversation_window = crate::sources::conversation_window(
            p,
            f.conversation_window.as_deref(),
            Duration::from_secs(2 * 60),
        );
        WebformSource {
            conversation_window,
            id: f.id,
            allowed_origins: f.allowed_origins,
            honeypot: f.honeypot.filter(|h| !h.is_empty()),
            path: f.path,
            redirect: f.redirect,
            error_redirect: f.error_redirect,
            secret: f.secret,
            demo: f.demo.unwrap_or(false),
            max_text: f.max_text.map_or(defaults.text, |s| s.0),
            max_upload: f.max_upload.map_or(defaults.upload, |s| s.0),
            max_files: f.max_files.unwrap_or(defaults.files),
            max_fields: f.max_fields.unwrap_or(defaults.fields),
            rate_per_minute: per_minute.max(1),
            rate_burst: burst.max(1),
            connector,
            allow_unsigned,
            file_hosts,
            file_token: f.file_token,
        }
    }
}

impl RawSource for RawWebform {
    const KEY: &'static str = "webform";
    type Source = WebformSource;
    type Seen = ();

    fn id(&self) -> &str {
        &self.id
    }

    fn validate(
        self,
        p: &mut Scope<'_>,
        context: &TableContext<'_>,
        _seen: &mut (),
    ) -> Option<WebformSource> {
        Some(RawWebform::validate(self, p, context.connectors))
    }

    /// The demo page shows one form.
    fn check_all(forms: &[WebformSource], p: &mut Scope<'_>) {
        if forms.iter().filter(|f| f.demo).count() > 1 {
            p.add(
                "",
                "more than one form has demo = true",
                Some("the demo page shows one form"),
            );
        }
    }
}

impl Source for WebformSource {
    const CHANNEL: Channel = Channel::Webform;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> Duration {
        self.conversation_window
    }

    fn warn_if_unsigned(&self) {
        if self.allow_unsigned {
            tracing::warn!(source = %self.id, connector = %self.connector, "allow_unsigned = true: this source accepts posts without the provider's secret; anyone who knows its address can post leads.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn a_forms_own_path_is_plain_and_none_of_leadgates() {
        for ok in ["/zayavka", "/send.php", "/forms-old", "/contact/send"] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for taken in [
            "/forms/site",
            "/hooks/tilda/x",
            "/admin",
            "/ADMIN/x",
            "/healthz",
            "/act/t",
        ] {
            let why = check_path(taken).expect_err(taken);
            assert!(why.contains("under leadgate's own"), "{why}");
        }
        for odd in [
            "/",
            "zayavka",
            "/{id}",
            "/a//b",
            "/a?b=1",
            "/*rest",
            "/заявка",
        ] {
            let why = check_path(odd).expect_err(odd);
            assert!(why.contains("not a plain path"), "{why}");
        }
    }
}
