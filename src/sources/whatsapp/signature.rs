//! `X-Hub-Signature-256`: Meta signs every webhook POST with the app secret, as
//! `sha256=<hex HMAC-SHA256 of the raw body>`. A body whose signature does not verify is
//! refused before anything is stored.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Whether `header` is the app secret's signature of exactly these body bytes. The
/// comparison is constant-time; a missing or garbled header is simply not valid.
pub fn verify_signature(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex) = header
        .map(str::trim)
        .and_then(|h| h.strip_prefix("sha256="))
    else {
        return false;
    };
    let Some(tag) = decode_hex(hex) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

/// The header value Meta would send for `body`: for tests and simulators that post samples.
pub fn signature_header(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(app_secret).expect("HMAC takes keys of any length");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digits = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(digits, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        let header = signature_header(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            header,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            Some(&header)
        ));
        assert!(verify_signature(
            b"Jefe",
            b"what do ya want for nothing?",
            Some(&header.to_uppercase().replace("SHA256=", "sha256="))
        ));
    }

    #[test]
    fn wrong_missing_or_garbled_signatures_fail() {
        let header = signature_header(b"secret", b"body");
        assert!(!verify_signature(b"other", b"body", Some(&header)));
        assert!(!verify_signature(b"secret", b"body!", Some(&header)));
        assert!(!verify_signature(b"secret", b"body", None));
        assert!(!verify_signature(b"secret", b"body", Some(&header[7..])));
        assert!(!verify_signature(b"secret", b"body", Some("sha256=abc")));
        assert!(!verify_signature(b"secret", b"body", Some("sha256=zz")));
    }

    proptest! {
        #[test]
        fn never_panics(secret in any::<Vec<u8>>(), body in any::<Vec<u8>>(), header in ".{0,80}") {
            let _ = verify_signature(&secret, &body, Some(&header));
            let signed = signature_header(&secret, &body);
            prop_assert!(verify_signature(&secret, &body, Some(&signed)));
        }
    }
}
