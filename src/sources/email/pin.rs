//! `tls_certificate` / `tls_fingerprint`: a mail server's own certificate, pinned. A small
//! business's server often has a self-signed certificate made with `openssl req -x509`, which
//! marks it as a CA; no chain of trust accepts a CA as a server's certificate (rustls:
//! `CaUsedAsEndEntity`), so `ca_file` cannot trust it. A pin trusts that one certificate, as a
//! mail client does when its user accepts a certificate: the server must present exactly it
//! (compared by the SHA-256 of its DER) and prove it holds its key (the handshake signature,
//! verified with the certificate's key). Neither the host name, the dates nor a chain are
//! looked at: the admin trusted this certificate, not a CA that vouches for a name.

use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature,
};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::server::ParsedCertificate;
use tokio_rustls::rustls::{
    CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme,
};

/// The SHA-256 of a certificate's DER: what a pin compares, and what `openssl x509 -noout
/// -fingerprint -sha256` prints.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of `cert`.
    pub fn of(cert: &CertificateDer<'_>) -> Fingerprint {
        Fingerprint(Sha256::digest(cert.as_ref()).into())
    }

    /// Reads `tls_fingerprint`: 64 hex digits, with or without colons between the bytes, in
    /// either case, optionally after `sha256:` (or openssl's `sha256 Fingerprint=`, as pasted
    /// from its output). The error says what is wrong.
    pub fn parse(text: &str) -> Result<Fingerprint, String> {
        let text = text.trim();
        let prefixed = ["sha256:", "sha256 fingerprint="]
            .iter()
            .find_map(|prefix| {
                let head = text.get(..prefix.len())?;
                head.eq_ignore_ascii_case(prefix)
                    .then(|| &text[prefix.len()..])
            });
        let hex = match (prefixed, text.split_once([':', '='])) {
            (Some(hex), _) => hex,
            // A label before the first separator, not a byte: another algorithm's fingerprint.
            (None, Some((label, _))) if label.len() > 2 => {
                let algorithm = label.split_whitespace().next().unwrap_or(label);
                return Err(format!(
                    "is a {algorithm} fingerprint; only SHA-256 fingerprints are taken"
                ));
            }
            (None, _) => text,
        };
        let digits: Vec<u8> = hex.bytes().filter(|&b| b != b':').collect();
        if let Some(bad) = digits.iter().find(|b| !b.is_ascii_hexdigit()) {
            return Err(format!(
                "has {:?}, which is not a hex digit",
                char::from(*bad)
            ));
        }
        if digits.len() != 64 {
            return Err(format!(
                "has {} hex digits; a SHA-256 fingerprint has 64 (32 bytes)",
                digits.len()
            ));
        }
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let text = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            *byte = u8::from_str_radix(text, 16).map_err(|e| e.to_string())?;
        }
        Ok(Fingerprint(bytes))
    }

    /// Reads `tls_certificate`: a PEM file holding the server's own certificate alone. The error
    /// says what is wrong with the file (missing, unreadable, not PEM, no certificate, several,
    /// not a certificate).
    pub fn of_pem_file(path: &Path) -> Result<Fingerprint, String> {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{shown} does not exist"),
            _ => format!("{shown} cannot be read: {e}"),
        })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("{shown} is not a valid PEM file: {e}"))?;
        let cert = match certs.as_slice() {
            [] => {
                return Err(format!(
                    "{shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
                ));
            }
            [one] => one,
            many => {
                return Err(format!(
                    "{shown} holds {} certificates; a pin is the server's own certificate alone",
                    many.len()
                ));
            }
        };
        ParsedCertificate::try_from(cert)
            .map_err(|e| format!("{shown} does not hold a readable certificate: {e}"))?;
        Ok(Fingerprint::of(cert))
    }
}

/// As `openssl x509 -fingerprint -sha256` shows it, after `sha256:`: upper-case hex bytes
/// joined by colons. `Fingerprint::parse` reads it back.
impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sha256:")?;
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why a pinned connection was refused: the server presented another certificate. Carried in
/// rustls' error, so the mailbox's error names both fingerprints.
#[derive(Debug, thiserror::Error)]
#[error("the server presented the certificate {presented}, not the pinned {pinned}")]
pub struct NotThePinned {
    /// What the server presented.
    pub presented: Fingerprint,
    /// What the config pins.
    pub pinned: Fingerprint,
}

/// The rustls verifier of a pinned mailbox: the presented certificate must be the pinned one,
/// and the handshake must be signed with its key.
#[derive(Debug)]
pub struct PinnedVerifier {
    pin: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedVerifier {
    /// Trusts only the certificate `pin`, checking signatures with `algorithms` (the crypto
    /// provider's `signature_verification_algorithms`).
    pub fn new(pin: Fingerprint, algorithms: WebPkiSupportedAlgorithms) -> PinnedVerifier {
        PinnedVerifier { pin, algorithms }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let presented = Fingerprint::of(end_entity);
        if presented == self.pin {
            return Ok(ServerCertVerified::assertion());
        }
        Err(Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(NotThePinned {
                presented,
                pinned: self.pin,
            })),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::TEST_CA;
    use tokio_rustls::rustls::crypto::ring::default_provider;

    /// `openssl x509 -noout -fingerprint -sha256` of `TEST_CA` (a self-signed CA, CA:TRUE).
    const TEST_CA_SHA256: &str = "46:C1:1A:E1:47:36:40:11:B6:2E:D6:EE:A7:B3:F7:27:96:35:21:B4:8F:24:6C:DD:0C:82:B6:6C:D0:43:65:8B";

    fn cert() -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(TEST_CA.as_bytes()).expect("pem")
    }

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn a_fingerprint_is_read_as_openssl_prints_it_and_shown_so() {
        let pin = Fingerprint::of(&cert());
        assert_eq!(pin.to_string(), format!("sha256:{TEST_CA_SHA256}"));
        let bare = TEST_CA_SHA256.replace(':', "");
        for text in [
            format!("sha256:{TEST_CA_SHA256}"),
            format!("SHA256:{}", TEST_CA_SHA256.to_lowercase()),
            TEST_CA_SHA256.to_string(),
            bare.clone(),
            format!(" sha256:{} ", bare.to_lowercase()),
            format!("SHA256 Fingerprint={TEST_CA_SHA256}"),
            format!("sha256 Fingerprint={TEST_CA_SHA256}"),
        ] {
            assert_eq!(Fingerprint::parse(&text), Ok(pin), "{text}");
        }
        assert_eq!(Fingerprint::parse(&pin.to_string()), Ok(pin));
    }

    #[test]
    fn a_fingerprint_that_is_not_32_bytes_of_sha256_says_why() {
        let error = |text: &str| Fingerprint::parse(text).expect_err(text);
        assert!(error("sha1:AB:CD").contains("is a sha1 fingerprint; only SHA-256"));
        assert!(error("SHA1 Fingerprint=AB:CD").contains("is a SHA1 fingerprint"));
        assert!(error(&"AB".repeat(20)).contains("has 40 hex digits"));
        assert!(error(&"AB".repeat(33)).contains("has 66 hex digits"));
        assert!(error("").contains("has 0 hex digits"));
        let bad = format!("sha256:{}", TEST_CA_SHA256.replacen('C', "G", 1));
        assert!(error(&bad).contains("'G'"), "{}", error(&bad));
    }

    #[test]
    fn a_certificate_file_is_one_readable_pem_certificate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pin = Fingerprint::of_pem_file(&write(dir.path(), "mail.pem", TEST_CA));
        assert_eq!(pin, Ok(Fingerprint::of(&cert())));
        let error = |name: &str, text: Option<&str>| {
            let path = match text {
                Some(text) => write(dir.path(), name, text),
                None => dir.path().join(name),
            };
            Fingerprint::of_pem_file(&path).expect_err("refused")
        };
        assert!(error("none.pem", None).ends_with("none.pem does not exist"));
        assert!(error("", None).contains("cannot be read"), "a directory");
        assert!(error("empty.pem", Some("")).contains("holds no PEM certificate"));
        let two = format!("{TEST_CA}{TEST_CA}");
        assert!(error("two.pem", Some(&two)).contains("holds 2 certificates"));
        let cut = TEST_CA.replace("-----END CERTIFICATE-----\n", "");
        assert!(error("cut.pem", Some(&cut)).contains("is not a valid PEM file"));
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(error("junk.pem", Some(junk)).contains("does not hold a readable certificate"));
    }

    #[test]
    fn the_verifier_takes_the_pinned_certificate_whatever_its_name_and_nothing_else() {
        let algorithms = default_provider().signature_verification_algorithms;
        let name = ServerName::try_from("imap.elsewhere.example").expect("name");
        let verify = |pin| {
            PinnedVerifier::new(pin, algorithms).verify_server_cert(
                &cert(),
                &[],
                &name,
                &[],
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(0)),
            )
        };
        assert!(verify(Fingerprint::of(&cert())).is_ok());
        let other = Fingerprint([7; 32]);
        let Err(Error::InvalidCertificate(CertificateError::Other(e))) = verify(other) else {
            panic!("refused with the fingerprints");
        };
        let text = e.to_string();
        assert!(text.contains(&format!(
            "presented the certificate sha256:{TEST_CA_SHA256}"
        )));
        assert!(text.contains(&format!("not the pinned {other}")), "{text}");
    }
}
