//! The TLS roots leadgate trusts, a leaf every TLS client stands on (the mailboxes' IMAP and
//! the managers' SMTP). `ca_file`: extra trusted roots for a mail server with a private CA (or a self-signed
//! certificate not marked as a CA; the usual one is, and is pinned instead: `pin`), read and
//! checked when the config is loaded. They are trusted beside the public web PKI roots, never
//! instead of them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::RootCertStore;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, TrustAnchor};

/// The certificates of a `ca_file`, each one checked to be usable as a trust anchor.
#[derive(Clone)]
pub struct ExtraRoots {
    path: PathBuf,
    anchors: Arc<[TrustAnchor<'static>]>,
}

impl std::fmt::Debug for ExtraRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ExtraRoots({}: {} certificates)",
            self.path.display(),
            self.anchors.len()
        )
    }
}

impl ExtraRoots {
    /// Reads every `CERTIFICATE` block of the PEM file at `path`; the error says what is wrong
    /// with the file (missing, unreadable, not PEM, no certificate, an unusable certificate).
    pub fn load(path: &Path) -> Result<ExtraRoots, String> {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{shown} does not exist"),
            _ => format!("{shown} cannot be read: {e}"),
        })?;
        let mut store = RootCertStore::empty();
        for (n, cert) in CertificateDer::pem_slice_iter(&pem).enumerate() {
            let cert = cert.map_err(|e| format!("{shown} is not a valid PEM file: {e}"))?;
            store.add(cert).map_err(|e| {
                format!(
                    "certificate {} in {shown} cannot be a trusted root: {e}",
                    n + 1
                )
            })?;
        }
        if store.is_empty() {
            return Err(format!(
                "{shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
            ));
        }
        Ok(ExtraRoots {
            path: path.to_path_buf(),
            anchors: store.roots.into(),
        })
    }

    /// The trust anchors, to add to the public roots.
    pub fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

/// A self-signed CA certificate (ECDSA P-256, CN "leadgate test CA"), made with the openssl CLI.
#[cfg(test)]
pub(crate) const TEST_CA: &str = "-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUCDt0XD+d4+ycyo9zoh557ylBG4EwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQbGVhZGdhdGUgdGVzdCBDQTAgFw0yNjEyMDEyMzUyMTdaGA8y
MTI2MTEwNzIzNTIxN1owGzEZMBcGA1UEAwwQbGVhZGdhdGUgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABApYTVi9lk5eVH3VBU9g6DzvJVzo6mizN1Na
1BeLpXD6I6vt36d3K36CEM8mS9W+z69jx3hiCI5/986AfLTWbD2jUzBRMB0GA1Ud
DgQWBBT27kjZ6TF75gg3JdGTs30VVqnM0TAfBgNVHSMEGDAWgBT27kjZ6TF75gg3
JdGTs30VVqnM0TAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQC8
3gfECacIZ2FbiGRFYS0B14Y5tdo3V9yA1KZ4Qyad1AIgYgX6TqHg79kg4FEWxtuQ
HnMFRXqycXFlNwcD172JJPw=
-----END CERTIFICATE-----
";

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = TEST_CA;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn every_certificate_of_a_pem_file_is_a_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let two = format!("# our CA\n{CA}\n{CA}");
        let roots = ExtraRoots::load(&write(dir.path(), "ca.pem", &two)).expect("valid");
        assert_eq!(roots.anchors().len(), 2);
        assert!(format!("{roots:?}").ends_with("ca.pem: 2 certificates)"));
    }

    #[test]
    fn a_missing_unreadable_or_wrong_file_says_what_is_wrong() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error = |name: &str, text: Option<&str>| {
            let path = match text {
                Some(text) => write(dir.path(), name, text),
                None => dir.path().join(name),
            };
            ExtraRoots::load(&path).expect_err("refused")
        };
        assert!(error("none.pem", None).ends_with("none.pem does not exist"));
        assert!(error("", None).contains("cannot be read"), "a directory");
        assert!(error("empty.pem", Some("")).contains("holds no PEM certificate"));
        let key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        assert!(error("key.pem", Some(key)).contains("holds no PEM certificate"));
        let cut = CA.replace("-----END CERTIFICATE-----\n", "");
        assert!(error("cut.pem", Some(&cut)).contains("is not a valid PEM file"));
        let junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(error("junk.pem", Some(junk)).contains("certificate 1 in"));
    }
}
