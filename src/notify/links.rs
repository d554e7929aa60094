//! The take/decline links in managers' mail: signed (HMAC-SHA256 with `[notify.email]
//! link_secret`), expiring, and single-use (the nonce is consumed in the store when used).
//!
//! A token is `base64url(JSON claim) "." base64url(HMAC of the first part)`: readable by
//! nobody's database but ours, and useless once changed or expired.

use crate::settings::Secret;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkAction {
    /// Take the lead.
    Take,
    /// Decline it.
    Decline,
}

/// What a link says: who may do what to which assignment, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkClaim {
    /// The lead id.
    pub lead: String,
    /// The manager the link was sent to.
    pub manager: String,
    /// The assignment's attempt number (a link of an earlier assignment is stale).
    pub attempt: u32,
    /// Take or decline.
    pub action: LinkAction,
    /// Unix seconds after which the link no longer works.
    pub expires: i64,
    /// Unique per link, consumed on use.
    pub nonce: String,
}

/// Why a link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token of ours (cut, changed, or made up).
    #[error("this link is not valid")]
    Invalid,
    /// Past its time.
    #[error("this link has expired")]
    Expired,
}

/// Signs and checks link tokens.
#[derive(Debug, Clone)]
pub struct LinkSigner {
    key: Secret,
}

impl LinkSigner {
    /// A signer with the configured key.
    pub fn new(key: Secret) -> LinkSigner {
        LinkSigner { key }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }

    /// The token for `claim`.
    pub fn sign(&self, claim: &LinkClaim) -> String {
        let json = serde_json::to_vec(claim).expect("a claim serialises");
        let payload = URL_SAFE_NO_PAD.encode(json);
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// The claim of a token signed by us and not expired at `now` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<LinkClaim, LinkError> {
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Invalid)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Invalid)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| LinkError::Invalid)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Invalid)?;
        let claim: LinkClaim = serde_json::from_slice(&json).map_err(|_| LinkError::Invalid)?;
        if now > claim.expires {
            return Err(LinkError::Expired);
        }
        Ok(claim)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> LinkClaim {
        LinkClaim {
            lead: "0193b1f0-0000-7000-8000-000000000001".into(),
            manager: "anna".into(),
            attempt: 2,
            action: LinkAction::Take,
            expires: 1_800_000_000,
            nonce: "n1".into(),
        }
    }

    #[test]
    fn a_signed_claim_reads_back_until_it_expires() {
        let s = LinkSigner::new(Secret::new("k".repeat(32)));
        let token = s.sign(&claim());
        assert_eq!(s.verify(&token, 1_799_999_999), Ok(claim()));
        assert_eq!(s.verify(&token, 1_800_000_001), Err(LinkError::Expired));
    }

    #[test]
    fn changed_or_foreign_tokens_are_refused() {
        let s = LinkSigner::new(Secret::new("k".repeat(32)));
        let token = s.sign(&claim());
        let other = LinkSigner::new(Secret::new("x".repeat(32)));
        assert_eq!(other.verify(&token, 0), Err(LinkError::Invalid));
        let mut forged = claim();
        forged.manager = "boris".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).expect("json"));
        let tag = token.split_once('.').expect("two parts").1;
        assert_eq!(
            s.verify(&format!("{forged_payload}.{tag}"), 0),
            Err(LinkError::Invalid)
        );
        assert_eq!(s.verify("garbage", 0), Err(LinkError::Invalid));
        assert_eq!(s.verify("a.b", 0), Err(LinkError::Invalid));
    }
}
