//! The files a form links: a builder that keeps uploads (Tilda, Typeform) posts their
//! addresses, fetched only from the hosts the form's connector and its `file_hosts` allow,
//! with its `file_token` (the address is the public's input).

use super::WebformSource;
use crate::settings::Secret;
use crate::sources::fetch::{HostedFiles, Hosts, Unavailable, no_access};
use bytes::Bytes;
use std::collections::HashMap;

/// Each form's allowed hosts and token, and the client.
#[derive(Debug, Clone)]
pub struct LinkedFiles {
    hosted: HostedFiles,
    forms: HashMap<String, (Vec<String>, Option<Secret>)>,
}

impl LinkedFiles {
    /// For the configured forms, fetched with `hosted`.
    pub fn of(webforms: &[WebformSource], hosted: HostedFiles) -> LinkedFiles {
        LinkedFiles {
            hosted,
            forms: (webforms.iter())
                .map(|f| (f.id.clone(), (f.file_hosts.clone(), f.file_token.clone())))
                .collect(),
        }
    }

    /// The bytes at `url`, linked from a post to the form `source`, at most `max` of them.
    pub async fn bytes(&self, source: &str, url: &str, max: u64) -> Result<Bytes, Unavailable> {
        let Some((allowed, token)) = self.forms.get(source) else {
            return Err(no_access("the form is no longer configured"));
        };
        let hosts = Hosts {
            allowed,
            named_by: "the form's file_hosts or its connector's [files] hosts",
            token: token.as_ref(),
        };
        self.hosted.bytes(url, &hosts, "the linked file", max).await
    }
}
