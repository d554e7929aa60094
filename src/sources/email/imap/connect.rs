//! Opening an IMAP session: TCP, then TLS from the first byte, STARTTLS or nothing, then LOGIN.
//! The server's certificate is checked against the roots, or against the pin alone.

use super::ImapError;
use crate::sources::email::config::{EmailSource, TlsMode};
use crate::sources::email::pin::{NotThePinned, PinnedVerifier};
use async_imap::{Client, Session};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::{self, RootCertStore, pki_types::ServerName};

/// A byte stream a session runs on: plain TCP or TLS over it.
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapIo for T {}

/// A logged-in session, whatever the transport.
pub type ImapSession = Session<Box<dyn ImapIo>>;

/// Who decides whether the server's certificate is trusted: the pin alone when the source
/// has one; otherwise the public web PKI roots with the source's `ca_file` roots, and the
/// name must match `host`. Signatures are checked with ring's algorithms either way.
pub(super) fn verifier(source: &EmailSource) -> Result<Arc<dyn ServerCertVerifier>, ImapError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if let Some(pin) = source.pin {
        let algorithms = provider.signature_verification_algorithms;
        return Ok(Arc::new(PinnedVerifier::new(pin, algorithms)));
    }
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(extra) = &source.extra_roots {
        roots.roots.extend_from_slice(extra.anchors());
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| ImapError::Connect(format!("TLS settings: {e}")))?;
    Ok(verifier)
}

/// The TLS client settings: ring, and `verifier` for the server's certificate.
fn tls_connector(verifier: Arc<dyn ServerCertVerifier>) -> Result<TlsConnector, ImapError> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImapError::Connect(format!("TLS settings: {e}")))?
    .dangerous()
    .with_custom_certificate_verifier(verifier)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn wrap_tls(
    tcp: TcpStream,
    source: &EmailSource,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<Box<dyn ImapIo>, ImapError> {
    let host = &source.host;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| ImapError::Connect(format!("{host:?} is not a valid TLS server name")))?;
    let tls = tls_connector(verifier)?
        .connect(name, tcp)
        .await
        .map_err(|e| ImapError::Connect(handshake_error(source, &e)))?;
    Ok(Box::new(tls))
}

/// What a failed handshake means; a refused certificate says what to check.
fn handshake_error(source: &EmailSource, error: &std::io::Error) -> String {
    let host = &source.host;
    let refused = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .and_then(|e| match e {
            rustls::Error::InvalidCertificate(why) => Some(why),
            _ => None,
        });
    let other = refused.and_then(|why| match why {
        rustls::CertificateError::Other(other) => other.0.downcast_ref::<NotThePinned>(),
        _ => None,
    });
    // rustls shows a certificate error it has no variant for as `Other(OtherError(..))`.
    let why = refused.map(|why| match why {
        rustls::CertificateError::Other(other) => other.to_string(),
        why => why.to_string(),
    });
    match (why, other) {
        (_, Some(not_pinned)) => format!(
            "the TLS certificate of {host} is not the pinned one: {not_pinned}; if the server's \
             certificate was replaced, pin the new one (leadgate check --connect shows it)"
        ),
        (Some(why), None) if source.pin.is_some() => format!(
            "the TLS handshake of {host} was refused: the server presented the pinned \
             certificate, but its handshake signature does not verify with that certificate's \
             key ({why})"
        ),
        (Some(why), None) => format!(
            "the TLS certificate of {host} was refused ({why}): it must name {host}, be in \
             date, and chain to a public root or to a root in ca_file; or pin the server's own \
             certificate (tls_certificate or tls_fingerprint)"
        ),
        (None, None) => format!("TLS handshake with {host}: {error}"),
    }
}

/// Reads the server's greeting (`* OK ...`).
async fn greeting<T: ImapIo>(client: &mut Client<T>) -> Result<(), ImapError> {
    match client.read_response().await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ImapError::Connect(
            "the server closed the connection before its greeting".into(),
        )),
        Err(e) => Err(ImapError::Connect(format!("reading the greeting: {e}"))),
    }
}

/// Connects and logs in. The password is sent only over TLS unless the mode is `plain`.
pub async fn open(source: &EmailSource) -> Result<ImapSession, ImapError> {
    open_with(source, verifier(source)?).await
}

/// [`open`] with the certificate checked by `verifier` (the probe's wraps [`verifier`]'s to see
/// what the server presents).
pub(super) async fn open_with(
    source: &EmailSource,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<ImapSession, ImapError> {
    let addr = (source.host.as_str(), source.port);
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| ImapError::Connect(format!("{}:{}: {e}", source.host, source.port)))?;
    let _ = tcp.set_nodelay(true);
    let client: Client<Box<dyn ImapIo>> = match source.tls {
        TlsMode::Tls => {
            let mut client = Client::new(wrap_tls(tcp, source, verifier).await?);
            greeting(&mut client).await?;
            client
        }
        TlsMode::Plain => {
            let mut client = Client::new(Box::new(tcp) as Box<dyn ImapIo>);
            greeting(&mut client).await?;
            client
        }
        TlsMode::Starttls => {
            let mut client = Client::new(tcp);
            greeting(&mut client).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| {
                    ImapError::Connect(format!(
                        "the server refused STARTTLS ({e}); use tls = \"tls\" on port 993"
                    ))
                })?;
            Client::new(wrap_tls(client.into_inner(), source, verifier).await?)
        }
    };
    client
        .login(&source.user, source.password.expose())
        .await
        .map_err(|(e, _)| ImapError::Login(format!("as {:?}: {e}", source.user)))
}
