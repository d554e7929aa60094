//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed by the
//! base64-decoded part of a `whsec_...` secret.

use crate::settings::Secret;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The key bytes of a `whsec_` secret (the prefix is optional, as receivers' libraries accept).
pub fn decode_signing_secret(secret: &Secret) -> Result<Vec<u8>, String> {
    let text = secret.expose();
    let b64 = text.strip_prefix("whsec_").unwrap_or(text);
    let key = STANDARD
        .decode(b64)
        .map_err(|_| "the signing secret is not base64 after its whsec_ prefix".to_string())?;
    if key.len() < 16 {
        return Err("the signing secret is shorter than 16 bytes".into());
    }
    Ok(key)
}

/// The `webhook-signature` header value for one attempt.
pub fn sign(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The known-answer vector published with the Standard Webhooks reference libraries.
    #[test]
    fn matches_the_published_vector() {
        let key = decode_signing_secret(&Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
            .expect("valid secret");
        let sig = sign(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn bad_secrets_are_refused() {
        assert!(decode_signing_secret(&Secret::new("whsec_!!!")).is_err());
        assert!(decode_signing_secret(&Secret::new("whsec_YWJj")).is_err());
    }
}
