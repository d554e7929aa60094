//! Signed, expiring links to kept files: `/files/{id}?expires=UNIX&sig=TAG`, where TAG is
//! base64url(HMAC-SHA256 of `"{id}.{expires}"`). Whoever has the link may open the file until
//! it expires; nobody can make a link for another file or a later time without the key.

use crate::settings::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::time::Duration;

/// The path files are served under.
pub const FILES_PATH: &str = "/files";

/// Why a link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefused {
    /// Not signed by us for this file and time (403).
    #[error("this link is not valid")]
    Invalid,
    /// Signed by us, past its time (410).
    #[error("this link has expired")]
    Expired,
}

/// Makes and checks file links.
#[derive(Debug, Clone)]
pub struct FileLinks {
    key: Secret,
    base: String,
    ttl: Duration,
}

impl FileLinks {
    /// Links under `base` (no trailing `/`) signed with `key`, working for `ttl`.
    pub fn new(key: Secret, base: &str, ttl: Duration) -> FileLinks {
        FileLinks {
            key,
            base: base.trim_end_matches('/').to_string(),
            ttl,
        }
    }

    fn tag(&self, id: &str, expires: i64) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(format!("{id}.{expires}").as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The link to file `id`, working until `now` plus the configured time.
    pub fn url(&self, id: &str, now: DateTime<Utc>) -> String {
        let expires = now.timestamp() + self.ttl.as_secs() as i64;
        format!(
            "{}{FILES_PATH}/{id}?expires={expires}&sig={}",
            self.base,
            self.tag(id, expires)
        )
    }

    /// Whether a link to `id` with `expires` and `sig` opens the file at `now`. The signature
    /// is checked first, so a made-up expiry is refused as invalid, not as expired.
    pub fn check(
        &self,
        id: &str,
        expires: i64,
        sig: &str,
        now: DateTime<Utc>,
    ) -> Result<(), LinkRefused> {
        let expected = self.tag(id, expires);
        let same = sig.len() == expected.len()
            && bool::from(subtle::ConstantTimeEq::ct_eq(
                sig.as_bytes(),
                expected.as_bytes(),
            ));
        if !same {
            return Err(LinkRefused::Invalid);
        }
        if now.timestamp() >= expires {
            return Err(LinkRefused::Expired);
        }
        Ok(())
    }

    /// Gives every entry of the draft's `fields.attachments` its file id (`{item}.{n}`) and
    /// link, so the lead record and the managers' cards carry them from the start; the file
    /// itself is fetched after the lead is written ([`super::FileKeeper`]).
    pub fn annotate(
        &self,
        fields: &mut serde_json::Map<String, Value>,
        item: &str,
        now: DateTime<Utc>,
    ) {
        let Some(Value::Array(list)) = fields.get_mut("attachments") else {
            return;
        };
        for (n, entry) in list.iter_mut().enumerate() {
            if let Value::Object(entry) = entry {
                let id = file_id(item, n);
                entry.insert("url".into(), Value::String(self.url(&id, now)));
                entry.insert("id".into(), Value::String(id));
            }
        }
    }
}

/// Whether two entries of `fields.attachments` are the same file: every detail the channel
/// gave (name, type, size, its own file id) is equal; the id and link [`FileLinks::annotate`]
/// adds are the item's, and differ for the same file sent again.
pub fn same_file(a: &Value, b: &Value) -> bool {
    let given = |entry: &Value| match entry {
        Value::Object(map) => Value::Object(
            (map.iter())
                .filter(|(k, _)| *k != "id" && *k != "url")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    given(a) == given(b)
}

/// The id of the `n`th file of inbound item `item`.
pub fn file_id(item: &str, n: usize) -> String {
    format!("{item}.{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links() -> FileLinks {
        FileLinks::new(
            Secret::new("a-key-of-enough-length"),
            "https://leads.example.ru/",
            Duration::from_secs(3600),
        )
    }

    fn parts(url: &str) -> (String, i64, String) {
        let u = reqwest::Url::parse(url).unwrap();
        let id = u.path().trim_start_matches("/files/").to_string();
        let q: std::collections::HashMap<_, _> = u.query_pairs().into_owned().collect();
        (id, q["expires"].parse().unwrap(), q["sig"].clone())
    }

    #[test]
    fn a_link_opens_its_file_until_it_expires() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let url = links().url("abc.0", now);
        assert!(url.starts_with("https://leads.example.ru/files/abc.0?expires="));
        let (id, expires, sig) = parts(&url);
        assert_eq!(links().check(&id, expires, &sig, now), Ok(()));
        let later = now + chrono::Duration::seconds(3600);
        assert_eq!(
            links().check(&id, expires, &sig, later),
            Err(LinkRefused::Expired)
        );
        assert_eq!(
            links().check("abc.1", expires, &sig, now),
            Err(LinkRefused::Invalid),
            "another file"
        );
        assert_eq!(
            links().check(&id, expires + 86_400, &sig, now),
            Err(LinkRefused::Invalid),
            "a later expiry"
        );
        let other = FileLinks::new(Secret::new("another-key-entirely"), "x", Duration::ZERO);
        assert_eq!(
            other.check(&id, expires, &sig, now),
            Err(LinkRefused::Invalid)
        );
    }

    #[test]
    fn annotate_gives_each_file_an_id_and_a_link() {
        let mut fields = serde_json::json!({"attachments": [{"name": "a.jpg"}, {"name": "b.pdf"}]})
            .as_object()
            .cloned()
            .unwrap();
        links().annotate(&mut fields, "item1", DateTime::UNIX_EPOCH);
        assert_eq!(fields["attachments"][1]["id"], "item1.1");
        assert!(
            fields["attachments"][0]["url"]
                .as_str()
                .unwrap()
                .contains("/files/item1.0?")
        );
    }

    #[test]
    fn the_same_file_sent_again_is_known_by_what_the_channel_gave() {
        let kept = serde_json::json!({"name": "photo.jpg", "size": 10, "telegram_file_id": "A",
            "id": "item-1.0", "url": "/files/item-1.0?expires=1&sig=x"});
        let again = serde_json::json!({"name": "photo.jpg", "size": 10, "telegram_file_id": "A",
            "id": "item-2.0", "url": "/files/item-2.0?expires=2&sig=y"});
        let other = serde_json::json!({"name": "photo.jpg", "size": 11, "telegram_file_id": "B",
            "id": "item-2.1", "url": "/files/item-2.1?expires=2&sig=z"});
        assert!(same_file(&again, &kept));
        assert!(!same_file(&other, &kept));
    }
}
