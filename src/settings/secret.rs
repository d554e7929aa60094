//! A secret from the config (tokens, signing keys, passwords) that never prints itself.

use super::Scope;
use serde::{Deserialize, Deserializer};

/// A secret value. `Debug` and `Display` print `***`, so a secret cannot reach a log line or an
/// error message by accident; [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from the config or the environment.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that needs it (a signature, a comparison, a login).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Compares a presented token with the configured one in constant time (no early exit on the
/// first differing byte, so response times do not leak the token).
pub fn tokens_match(presented: &[u8], expected: &Secret) -> bool {
    use subtle::ConstantTimeEq;
    let expected = expected.expose().as_bytes();
    presented.len() == expected.len() && bool::from(presented.ct_eq(expected))
}

/// A source's secret against what its provider can prove: `provider` names the provider when
/// it can send one (a connector with `[verify]`, VK's Callback API secret).
pub fn check_source_secret(
    p: &mut Scope<'_>,
    secret: Option<&Secret>,
    provider: Option<&str>,
    allow_unsigned: bool,
) {
    match (secret, provider) {
        (Some(s), _) if s.expose().is_empty() => p.add(
            "secret",
            "is empty, so anyone could post to this source",
            Some("set the secret the provider sends, best as \"${SECRET_VARIABLE}\""),
        ),
        (None, Some(provider)) if !allow_unsigned => p.add(
            "secret",
            format!("is missing: {provider} can prove its posts, and without a secret anyone could post leads"),
            Some("set the secret configured at the provider, or write allow_unsigned = true to accept unproven posts (warned at every start)"),
        ),
        (Some(_), _) if allow_unsigned => p.add(
            "allow_unsigned",
            "is true while a secret is set",
            Some("remove allow_unsigned: with a secret every post is checked"),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_value() {
        let s = Secret::new("whsec_topsecret");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
    }

    #[test]
    fn token_comparison() {
        let s = Secret::new("abc123");
        assert!(tokens_match(b"abc123", &s));
        assert!(!tokens_match(b"abc124", &s));
        assert!(!tokens_match(b"abc12", &s));
    }
}
