//! A VK file's bytes: the photo's largest size or the document's `url`, only from
//! `[attachments] vk_hosts` (a callback's URL is never a way into the network behind
//! leadgate), redirects followed only within them.

use crate::sources::fetch::{Unavailable, download, download_client, no_access};
use bytes::Bytes;

/// The client for VK's file addresses, and the hosts they may be on.
#[derive(Debug, Clone)]
pub struct VkFiles {
    client: reqwest::Client,
    hosts: Vec<String>,
}

/// Whether `host` is one of `allowed` or a subdomain of one.
fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allowed
        .iter()
        .any(|a| host == *a || host.ends_with(&format!(".{a}")))
}

impl VkFiles {
    /// Files on `hosts` (or their subdomains) only; at most 5 redirects, each within them.
    pub fn of(hosts: &[String]) -> Result<VkFiles, reqwest::Error> {
        let allowed = hosts.to_vec();
        let client = download_client(reqwest::redirect::Policy::custom(move |attempt| {
            let ok = attempt.previous().len() < 5
                && attempt
                    .url()
                    .host_str()
                    .is_some_and(|h| host_allowed(h, &allowed));
            if ok { attempt.follow() } else { attempt.stop() }
        }))?;
        Ok(VkFiles {
            client,
            hosts: hosts.to_vec(),
        })
    }

    /// The bytes at `url`, at most `max` of them.
    pub async fn bytes(&self, url: &str, max: u64) -> Result<Bytes, Unavailable> {
        let parsed = reqwest::Url::parse(url).map_err(|_| no_access("not a file address"))?;
        let allowed = matches!(parsed.scheme(), "http" | "https")
            && parsed
                .host_str()
                .is_some_and(|h| host_allowed(h, &self.hosts));
        if !allowed {
            return Err(no_access(
                "the file address is not on one of [attachments] vk_hosts",
            ));
        }
        download(self.client.get(parsed), "the VK file", max).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vk_hosts_match_themselves_and_their_subdomains_only() {
        let allowed = vec!["userapi.com".to_string()];
        assert!(host_allowed("sun9-1.userapi.com", &allowed));
        assert!(host_allowed("userapi.com", &allowed));
        assert!(!host_allowed("evil-userapi.com", &allowed));
        assert!(!host_allowed("userapi.com.evil.ru", &allowed));
    }
}
