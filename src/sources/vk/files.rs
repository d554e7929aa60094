//! A VK file's bytes: the photo's largest size or the document's `url`, only from
//! `[attachments] vk_hosts` (a callback's URL is never a way into the network behind
//! leadgate), redirects followed only within them.

use crate::sources::fetch::{HostedFiles, Hosts, Unavailable};
use bytes::Bytes;

/// The client for VK's file addresses, and the hosts they may be on.
#[derive(Debug, Clone)]
pub struct VkFiles {
    hosted: HostedFiles,
    hosts: Vec<String>,
}

impl VkFiles {
    /// Files on `hosts` (or their subdomains) only, fetched with `hosted`.
    pub fn of(hosts: &[String], hosted: HostedFiles) -> VkFiles {
        VkFiles {
            hosted,
            hosts: hosts.to_vec(),
        }
    }

    /// The bytes at `url`, at most `max` of them.
    pub async fn bytes(&self, url: &str, max: u64) -> Result<Bytes, Unavailable> {
        let hosts = Hosts {
            allowed: &self.hosts,
            named_by: "[attachments] vk_hosts",
            token: None,
        };
        self.hosted.bytes(url, &hosts, "the VK file", max).await
    }
}
