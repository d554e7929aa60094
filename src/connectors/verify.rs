//! How a provider proves a request is its own: a shared token (in a header, the query string
//! or a body field) or an HMAC-SHA256 signature of the raw body. The secret itself is the
//! source's `secret` in the config, never the connector file's.

use super::inbound::FileProblem;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// `[verify]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVerify {
    /// `token` or `hmac-sha256`.
    pub scheme: String,
    /// The header carrying the token or signature.
    pub header: Option<String>,
    /// The query parameter carrying the token (`?key=...` in the webhook URL).
    pub query: Option<String>,
    /// The body field carrying the token (dropped from the lead).
    pub field: Option<String>,
    /// Text before the signature in the header (`sha256=`).
    #[serde(default)]
    pub prefix: String,
    /// `base64` (default) or `hex`.
    pub encoding: Option<String>,
}

/// Where a shared token travels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAt {
    /// A request header.
    Header(String),
    /// A query parameter of the webhook URL.
    Query(String),
    /// A field of the body.
    Field(String),
}

/// A validated verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verify {
    /// The request carries the shared secret as is.
    Token(TokenAt),
    /// A header carries `prefix` + the HMAC-SHA256 of the raw body keyed with the secret.
    HmacSha256 {
        /// The header.
        header: String,
        /// Its prefix.
        prefix: String,
        /// `true` for hex, `false` for base64.
        hex: bool,
    },
}

/// What the request offers for checking.
pub struct Presented<'a> {
    /// A header's value by (case-insensitive) name.
    pub header: &'a dyn Fn(&str) -> Option<String>,
    /// The query string.
    pub query: Option<&'a str>,
    /// The flat body fields.
    pub fields: &'a [(String, serde_json::Value)],
    /// The raw body.
    pub body: &'a [u8],
}

impl Verify {
    /// Validates `[verify]`.
    pub fn from_raw(raw: RawVerify) -> Result<Verify, FileProblem> {
        let problem = |key: &str, message: &str| FileProblem {
            key: format!("verify.{key}"),
            message: message.to_string(),
        };
        match raw.scheme.as_str() {
            "token" => match (raw.header, raw.query, raw.field) {
                (Some(h), None, None) => Ok(Verify::Token(TokenAt::Header(h))),
                (None, Some(q), None) => Ok(Verify::Token(TokenAt::Query(q))),
                (None, None, Some(f)) => Ok(Verify::Token(TokenAt::Field(f))),
                _ => Err(problem(
                    "scheme",
                    "a token travels in exactly one of header, query or field",
                )),
            },
            "hmac-sha256" => {
                let header = raw
                    .header
                    .ok_or_else(|| problem("header", "hmac-sha256 needs the signature's header"))?;
                let hex = match raw.encoding.as_deref() {
                    None | Some("base64") => false,
                    Some("hex") => true,
                    Some(_) => return Err(problem("encoding", "write \"base64\" or \"hex\"")),
                };
                Ok(Verify::HmacSha256 {
                    header,
                    prefix: raw.prefix,
                    hex,
                })
            }
            other => Err(problem(
                "scheme",
                &format!("unknown scheme {other:?}: write \"token\" or \"hmac-sha256\""),
            )),
        }
    }

    /// The body field that carries the token, which is not part of the lead.
    pub fn field(&self) -> Option<&str> {
        match self {
            Verify::Token(TokenAt::Field(f)) => Some(f),
            _ => None,
        }
    }

    /// Whether the request can be refused before its body is read: the token travels in a
    /// header or the query and is wrong, or the signature's header is missing; `false` when
    /// only the body can tell.
    pub fn refuse_before_body(&self, secret: &[u8], p: &Presented<'_>) -> bool {
        match self {
            Verify::Token(TokenAt::Field(_)) => false,
            Verify::Token(_) => !self.check(secret, p),
            Verify::HmacSha256 { header, .. } => (p.header)(header).is_none(),
        }
    }

    /// Whether the request proves knowledge of `secret` (compared in constant time).
    pub fn check(&self, secret: &[u8], p: &Presented<'_>) -> bool {
        match self {
            Verify::Token(at) => {
                let offered = match at {
                    TokenAt::Header(h) => (p.header)(h),
                    TokenAt::Query(q) => p.query.and_then(|qs| {
                        form_urlencoded::parse(qs.as_bytes())
                            .find(|(k, _)| k == q.as_str())
                            .map(|(_, v)| v.into_owned())
                    }),
                    TokenAt::Field(f) => p
                        .fields
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(f))
                        .map(|(_, v)| super::flatten::value_text(v)),
                };
                offered.is_some_and(|o| same(o.as_bytes(), secret))
            }
            Verify::HmacSha256 {
                header,
                prefix,
                hex,
            } => {
                let Some(offered) = (p.header)(header) else {
                    return false;
                };
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
                mac.update(p.body);
                let digest = mac.finalize().into_bytes();
                let encoded = if *hex {
                    digest
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                } else {
                    STANDARD.encode(digest)
                };
                let expected = format!("{prefix}{encoded}");
                same(offered.trim().as_bytes(), expected.as_bytes())
            }
        }
    }
}

/// Constant-time equality, so a guessed token's prefix is not timed.
fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typeform_style_signature() {
        let v = Verify::HmacSha256 {
            header: "Typeform-Signature".into(),
            prefix: "sha256=".into(),
            hex: false,
        };
        let body = br#"{"event_id":"x"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("key");
        mac.update(body);
        let good = format!("sha256={}", STANDARD.encode(mac.finalize().into_bytes()));
        let header = |name: &str| (name == "Typeform-Signature").then(|| good.clone());
        let p = Presented {
            header: &header,
            query: None,
            fields: &[],
            body,
        };
        assert!(v.check(b"s3cret", &p));
        assert!(!v.check(b"other", &p));
    }

    #[test]
    fn query_token() {
        let v = Verify::Token(TokenAt::Query("key".into()));
        let none = |_: &str| None;
        let p = Presented {
            header: &none,
            query: Some("key=abc&x=1"),
            fields: &[],
            body: b"",
        };
        assert!(v.check(b"abc", &p));
        assert!(!v.check(b"abd", &p));
    }
}
