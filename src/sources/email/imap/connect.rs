//! Opening an IMAP session: TCP, then TLS from the first byte, STARTTLS or nothing, then LOGIN.

use super::ImapError;
use crate::sources::email::config::{EmailSource, TlsMode};
use async_imap::{Client, Session};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, RootCertStore, pki_types::ServerName};

/// A byte stream a session runs on: plain TCP or TLS over it.
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapIo for T {}

/// A logged-in session, whatever the transport.
pub type ImapSession = Session<Box<dyn ImapIo>>;

/// The TLS client settings: ring, the public web PKI roots and the source's `ca_file` roots.
fn tls_connector(source: &EmailSource) -> Result<TlsConnector, ImapError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(extra) = &source.extra_roots {
        roots.roots.extend_from_slice(extra.anchors());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ImapError::Connect(format!("TLS settings: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn wrap_tls(tcp: TcpStream, source: &EmailSource) -> Result<Box<dyn ImapIo>, ImapError> {
    let host = &source.host;
    let name = ServerName::try_from(host.to_string())
        .map_err(|_| ImapError::Connect(format!("{host:?} is not a valid TLS server name")))?;
    let tls = tls_connector(source)?
        .connect(name, tcp)
        .await
        .map_err(|e| ImapError::Connect(handshake_error(host, &e)))?;
    Ok(Box::new(tls))
}

/// What a failed handshake means; a refused certificate says what to check.
fn handshake_error(host: &str, error: &std::io::Error) -> String {
    let refused = error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .and_then(|e| match e {
            rustls::Error::InvalidCertificate(why) => Some(why),
            _ => None,
        });
    match refused {
        Some(why) => format!(
            "the TLS certificate of {host} was refused ({why}): it must name {host}, be in \
             date, and chain to a public root or to a root in ca_file"
        ),
        None => format!("TLS handshake with {host}: {error}"),
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
    let addr = (source.host.as_str(), source.port);
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| ImapError::Connect(format!("{}:{}: {e}", source.host, source.port)))?;
    let _ = tcp.set_nodelay(true);
    let client: Client<Box<dyn ImapIo>> = match source.tls {
        TlsMode::Tls => {
            let mut client = Client::new(wrap_tls(tcp, source).await?);
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
            Client::new(wrap_tls(client.into_inner(), source).await?)
        }
    };
    client
        .login(&source.user, source.password.expose())
        .await
        .map_err(|(e, _)| ImapError::Login(format!("as {:?}: {e}", source.user)))
}
