//! Throw-away certificates for the TLS tests, made with the `openssl` CLI (it comes with
//! Dovecot): a server certificate for `localhost` (SAN DNS:localhost), signed by a private CA
//! or self-signed; or one made the way most self-signed mail servers' are, which openssl marks
//! as a CA and names by its CN alone. [`fingerprint`] and [`is_ca`] ask openssl about one.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Who signs the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    /// A private CA made for the test.
    PrivateCa,
    /// The certificate itself (not marked as a CA).
    SelfSigned,
    /// The certificate itself, made the usual way: `openssl req -x509` with an RSA key and no
    /// extensions asked for, so openssl's defaults mark it as a CA (`CA:TRUE`); named
    /// `CN=mail.teplodom.example` only, so not `localhost`.
    SelfSignedCa,
}

/// The server's certificate and key, and what a client must trust for it.
pub struct TestCa {
    /// The PEM file a client gives as `ca_file`: the CA's certificate, or the self-signed one
    /// (which `ca_file` cannot trust when it is marked as a CA).
    pub ca_file: PathBuf,
    /// The server's certificate (PEM).
    pub server_cert: PathBuf,
    /// The server's private key (PEM).
    pub server_key: PathBuf,
}

/// Runs `openssl` with `args` in `dir`; fails the test with its output if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run openssl ({e}); it comes with Dovecot: apt-get install -y dovecot-imapd"
            )
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The extensions of the server's certificate.
const SERVER_EXTENSIONS: [&str; 4] = [
    "subjectAltName = DNS:localhost",
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature",
    "extendedKeyUsage = serverAuth",
];

/// A new P-256 key, unencrypted.
const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// Makes a `localhost` server certificate in `dir` (created if needed), signed by `issuer`.
pub fn make(dir: &Path, issuer: Issuer) -> TestCa {
    std::fs::create_dir_all(dir).expect("mkdir");
    let ca_file = match issuer {
        Issuer::PrivateCa => {
            signed_by_a_ca(dir);
            dir.join("ca.pem")
        }
        Issuer::SelfSigned => {
            let mut args = vec!["req", "-x509"];
            args.extend(EC_KEY);
            args.extend(["-keyout", "server.key", "-out", "server.pem", "-days", "2"]);
            args.extend(["-subj", "/CN=localhost"]);
            for ext in SERVER_EXTENSIONS {
                args.extend(["-addext", ext]);
            }
            openssl(dir, &args);
            dir.join("server.pem")
        }
        Issuer::SelfSignedCa => {
            openssl(
                dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.pem",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=mail.teplodom.example",
                ],
            );
            dir.join("server.pem")
        }
    };
    TestCa {
        ca_file,
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    }
}

/// A CA (`ca.pem`) and the server certificate it signed.
fn signed_by_a_ca(dir: &Path) {
    let mut ca = vec!["req", "-x509"];
    ca.extend(EC_KEY);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem", "-days", "2"]);
    ca.extend(["-subj", "/CN=leadgate test CA"]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(EC_KEY);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    std::fs::write(dir.join("server.ext"), SERVER_EXTENSIONS.join("\n")).expect("write");
    let mut sign = vec!["x509", "-req", "-in", "server.csr", "-days", "2"];
    sign.extend(["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]);
    sign.extend(["-extfile", "server.ext", "-out", "server.pem"]);
    openssl(dir, &sign);
}

/// What `openssl x509 -noout -fingerprint -sha256` says of the PEM certificate at `cert`: the
/// hex bytes joined by colons (`AB:CD:...`), without its `sha256 Fingerprint=`.
pub fn fingerprint(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl x509 -fingerprint failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let (_, hex) = text.trim().split_once('=').expect("Fingerprint=...");
    hex.to_string()
}

/// Whether openssl reads the PEM certificate at `cert` as a CA (`CA:TRUE`).
pub fn is_ca(cert: &Path) -> bool {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(cert)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl x509 -text failed");
    String::from_utf8_lossy(&out.stdout).contains("CA:TRUE")
}
