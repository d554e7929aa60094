//! `leadgate check --connect`: each mailbox account tried once, the way its watcher connects
//! (TCP, TLS or STARTTLS, LOGIN), then each of its folders opened read-only (EXAMINE), within a
//! short timeout. When the server's certificate is refused, the probe says which certificate
//! the server presents (its SHA-256 fingerprint) and the line that would pin it.

use super::ImapError;
use super::connect;
use crate::sources::email::config::{EmailSource, TlsMode};
use crate::sources::email::pin::Fingerprint;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};

/// How long one mailbox may take to connect, log in and open its folders: a server that does
/// not answer in this time would not serve the daemon either.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// What trying one mailbox found; its `Display` is the line (or lines) `check` prints.
#[derive(Debug)]
pub struct Probe {
    id: String,
    host: String,
    port: u16,
    tls: TlsMode,
    user: String,
    /// What a new pin would take the place of in the source's table.
    replaces: Option<&'static str>,
    outcome: Result<Vec<Folder>, Failure>,
}

/// A folder opened, with its message count.
#[derive(Debug)]
struct Folder {
    name: String,
    messages: u32,
}

/// Why a mailbox could not be used.
#[derive(Debug)]
struct Failure {
    /// What went wrong, as the daemon would show it in `/readyz`.
    error: String,
    /// The certificate the server presented, when it was refused.
    refused: Option<Fingerprint>,
}

impl Probe {
    /// Whether the mailbox connected, logged in and opened every folder.
    pub fn is_ok(&self) -> bool {
        self.outcome.is_ok()
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.tls {
            TlsMode::Tls => "tls",
            TlsMode::Starttls => "starttls",
            TlsMode::Plain => "plain",
        };
        write!(
            f,
            "mailbox {:?} ({}:{}, {mode}): ",
            self.id, self.host, self.port
        )?;
        let failure = match &self.outcome {
            Ok(folders) => {
                let counts: Vec<String> = folders
                    .iter()
                    .map(|folder| {
                        let plural = if folder.messages == 1 { "" } else { "s" };
                        format!("{}: {} message{plural}", folder.name, folder.messages)
                    })
                    .collect();
                return write!(f, "ok, logged in as {:?}; {}", self.user, counts.join(", "));
            }
            Err(failure) => failure,
        };
        f.write_str(&failure.error)?;
        let Some(presented) = failure.refused else {
            return Ok(());
        };
        let instead = self
            .replaces
            .map(|key| format!(", in place of {key}"))
            .unwrap_or_default();
        write!(
            f,
            "\n  the server presents the certificate {presented}\
             \n  if that is your server's certificate (on the server: openssl x509 -noout \
             -fingerprint -sha256 -in <its ssl_cert file>), pin it in this mailbox's \
             [[sources.email]] table{instead}:\
             \n    tls_fingerprint = \"{presented}\""
        )
    }
}

/// Tries every source at once; the answers come in the sources' order.
pub async fn probe_all(sources: &[EmailSource], timeout: Duration) -> Vec<Probe> {
    futures_util::future::join_all(sources.iter().map(|source| probe(source, timeout))).await
}

/// Tries one source: connect, log in, EXAMINE each folder, log out, all within `timeout`.
pub async fn probe(source: &EmailSource, timeout: Duration) -> Probe {
    let replaces = if source.pin.is_some() {
        Some("the current pin")
    } else if source.extra_roots.is_some() {
        Some("ca_file")
    } else {
        None
    };
    let mut probe = Probe {
        id: source.id.clone(),
        host: source.host.clone(),
        port: source.port,
        tls: source.tls,
        user: source.user.clone(),
        replaces,
        outcome: Ok(Vec::new()),
    };
    let witness = match connect::verifier(source) {
        Ok(inner) => Arc::new(Witness {
            inner,
            refused: OnceLock::new(),
        }),
        Err(e) => {
            probe.outcome = Err(Failure {
                error: e.to_string(),
                refused: None,
            });
            return probe;
        }
    };
    let attempt = tokio::time::timeout(timeout, folders(source, witness.clone())).await;
    let refused = witness.refused.get().copied();
    probe.outcome = match attempt {
        Ok(Ok(folders)) => Ok(folders),
        Ok(Err(e)) => Err(Failure {
            error: e.to_string(),
            refused,
        }),
        Err(_) => Err(Failure {
            error: format!(
                "no answer within {timeout:?} (connecting, logging in and opening the folders)"
            ),
            refused,
        }),
    };
    probe
}

/// Logs in and opens each folder read-only, so nothing on the server changes.
async fn folders(
    source: &EmailSource,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<Vec<Folder>, ImapError> {
    let mut session = connect::open_with(source, verifier).await?;
    let mut found = Vec::new();
    for name in &source.mailboxes {
        let mailbox = session
            .examine(super::folder_name::on_the_wire(name))
            .await
            .map_err(|e| ImapError::Mailbox(format!("{name:?}: {e}")))?;
        found.push(Folder {
            name: name.clone(),
            messages: mailbox.exists,
        });
    }
    let _ = session.logout().await;
    Ok(found)
}

/// The source's own verifier, noting the certificate it refused.
#[derive(Debug)]
struct Witness {
    inner: Arc<dyn ServerCertVerifier>,
    refused: OnceLock<Fingerprint>,
}

impl ServerCertVerifier for Witness {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let verdict = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if verdict.is_err() {
            let _ = self.refused.set(Fingerprint::of(end_entity));
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::email::config::tests::Checked;
    use std::path::Path;
    use tokio::io::AsyncReadExt;

    fn source(port: u16, tls: &str) -> EmailSource {
        let raw: crate::sources::email::RawEmailSource = toml::from_str(&format!(
            "id = \"sales\"\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"{tls}\"\n\
             user = \"sales\"\npassword = \"pw\"\n"
        ))
        .expect("the table parses");
        raw.checked(Path::new(".")).expect("valid")
    }

    #[tokio::test]
    async fn a_server_that_never_answers_fails_within_the_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        // Accepts and reads, but never greets nor answers the TLS hello.
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut tcp, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = tcp.read(&mut buf).await;
                held.push(tcp);
            }
        });
        let started = tokio::time::Instant::now();
        let probes = probe_all(
            &[source(port, "plain"), source(port, "tls")],
            Duration::from_millis(300),
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(5), "both at once");
        for probe in &probes {
            assert!(!probe.is_ok());
            let text = probe.to_string();
            assert!(
                text.starts_with(&format!("mailbox \"sales\" (127.0.0.1:{port}, ")),
                "{text}"
            );
            assert!(text.contains("no answer within 300ms"), "{text}");
            assert!(!text.contains("tls_fingerprint"), "{text}");
        }
        silent.abort();
    }

    #[tokio::test]
    async fn a_closed_port_says_it_cannot_connect() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        };
        let probe = probe(&source(port, "plain"), PROBE_TIMEOUT).await;
        assert!(!probe.is_ok());
        assert!(
            probe
                .to_string()
                .contains(&format!("cannot connect: 127.0.0.1:{port}")),
            "{probe}"
        );
    }
}
