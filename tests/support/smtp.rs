//! An SMTP server on `127.0.0.1:0` that speaks RFC 5321 as a real relay does (greeting,
//! EHLO/HELO with its extensions, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP,
//! QUIT; commands out of order get 503) and keeps every accepted mail. It can refuse the next
//! mails with a transient `451` to show retries. With a certificate it speaks TLS from the
//! first byte (port 465 style) or offers STARTTLS (RFC 3207: a new EHLO after the handshake).

use super::certs::TestCa;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One accepted mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (CRLF line ends, dot-unstuffed).
    pub data: Vec<u8>,
    /// Whether it came over TLS.
    pub tls: bool,
}

/// How the catcher secures its sessions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain text only.
    Plain,
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// Plain first, `STARTTLS` offered (`smtp://...?tls=required`).
    StartTls,
}

impl Mail {
    /// The message parsed.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.data)
            .expect("a parseable mail")
    }
}

#[derive(Default)]
struct Inner {
    mails: Vec<Mail>,
    refuse_next: u32,
    /// TLS handshakes that failed (a client that does not trust the certificate).
    handshake_failures: u32,
}

/// The catcher; clones share it.
#[derive(Clone)]
pub struct SmtpCatcher {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    security: Security,
    inner: Arc<Mutex<Inner>>,
}

impl SmtpCatcher {
    /// Starts it, plain text only.
    pub async fn start() -> SmtpCatcher {
        SmtpCatcher::start_secured(Security::Plain, None).await
    }

    /// Starts it with the certificate of `ca` (for `localhost`), secured as `security` says.
    pub async fn start_tls(security: Security, ca: &TestCa) -> SmtpCatcher {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&ca.server_cert)
            .expect("the server certificate")
            .collect::<Result<_, _>>()
            .expect("PEM certificates");
        let key = PrivateKeyDer::from_pem_file(&ca.server_key).expect("the server key");
        let config = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("a server TLS config");
        SmtpCatcher::start_secured(security, Some(TlsAcceptor::from(Arc::new(config)))).await
    }

    async fn start_secured(security: Security, tls: Option<TlsAcceptor>) -> SmtpCatcher {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (shared, tls) = (shared.clone(), tls.clone());
                tokio::spawn(async move {
                    let _ = serve(stream, security, tls, shared).await;
                });
            }
        });
        SmtpCatcher {
            addr,
            security,
            inner,
        }
    }

    /// The URL for `[notify.email] url` (`localhost`, which the certificate names, when
    /// secured).
    pub fn url(&self) -> String {
        let port = self.addr.port();
        match self.security {
            Security::Plain => format!("smtp://{}", self.addr),
            Security::Tls => format!("smtps://localhost:{port}"),
            Security::StartTls => format!("smtp://localhost:{port}?tls=required"),
        }
    }

    /// How many TLS handshakes failed.
    pub fn handshake_failures(&self) -> u32 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .handshake_failures
    }

    /// Every mail accepted so far.
    pub fn mails(&self) -> Vec<Mail> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .mails
            .clone()
    }

    /// Answers the next `n` DATA transactions with `451` (try again later).
    pub fn refuse_next(&self, n: u32) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .refuse_next = n;
    }
}

/// One connection: TLS first, or plain with STARTTLS and then the rest over TLS.
async fn serve(
    stream: tokio::net::TcpStream,
    security: Security,
    tls: Option<TlsAcceptor>,
    shared: Arc<Mutex<Inner>>,
) -> std::io::Result<()> {
    let accept = |stream, shared: Arc<Mutex<Inner>>| {
        let tls = tls.clone();
        async move {
            let acceptor = tls.ok_or_else(|| std::io::Error::other("no certificate"))?;
            let secured = acceptor.accept(stream).await;
            if secured.is_err() {
                shared
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .handshake_failures += 1;
            }
            secured
        }
    };
    match security {
        Security::Plain => session(stream, Stage::Plain, shared).await.map(|_| ()),
        Security::Tls => {
            let secured = accept(stream, shared.clone()).await?;
            session(secured, Stage::Tls, shared).await.map(|_| ())
        }
        Security::StartTls => {
            if let Some(plain) = session(stream, Stage::BeforeStartTls, shared.clone()).await? {
                let secured = accept(plain, shared.clone()).await?;
                session(secured, Stage::AfterStartTls, shared).await?;
            }
            Ok(())
        }
    }
}

/// Where a session is in securing its connection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Plain text, nothing offered.
    Plain,
    /// TLS from the first byte.
    Tls,
    /// Plain text, STARTTLS offered.
    BeforeStartTls,
    /// TLS after STARTTLS: no new greeting, the client says EHLO again.
    AfterStartTls,
}

/// Speaks SMTP on `stream`; on `STARTTLS` (when offered) answers 220 and hands the stream
/// back for the handshake.
async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    stage: Stage,
    shared: Arc<Mutex<Inner>>,
) -> std::io::Result<Option<S>> {
    let mut lines = BufReader::new(stream);
    if stage != Stage::AfterStartTls {
        lines
            .get_mut()
            .write_all(b"220 catcher.test ESMTP ready\r\n")
            .await?;
    }
    let secure = matches!(stage, Stage::Tls | Stage::AfterStartTls);
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO ") {
            greeted = true;
            if stage == Stage::BeforeStartTls {
                b"250-catcher.test\r\n250-8BITMIME\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n"
            } else {
                b"250-catcher.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n"
            }
        } else if upper == "STARTTLS" {
            if stage == Stage::BeforeStartTls {
                lines
                    .get_mut()
                    .write_all(b"220 2.0.0 Ready to start TLS\r\n")
                    .await?;
                return Ok(Some(lines.into_inner()));
            }
            b"454 4.7.0 TLS not available\r\n"
        } else if upper.starts_with("HELO ") {
            greeted = true;
            b"250 catcher.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            if !greeted {
                b"503 5.5.1 EHLO first\r\n"
            } else {
                from = Some(address(&command[10..]));
                to.clear();
                b"250 2.1.0 Ok\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            if from.is_none() {
                b"503 5.5.1 MAIL first\r\n"
            } else {
                to.push(address(&command[8..]));
                b"250 2.1.5 Ok\r\n"
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                b"503 5.5.1 RCPT first\r\n"
            } else {
                lines
                    .get_mut()
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if lines.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(None);
                    }
                    if l == b".\r\n" || l == b".\n" {
                        break;
                    }
                    let l = if l.starts_with(b"..") {
                        &l[1..]
                    } else {
                        &l[..]
                    };
                    data.extend_from_slice(l);
                }
                let refused = {
                    let mut inner = shared.lock().unwrap_or_else(|e| e.into_inner());
                    if inner.refuse_next > 0 {
                        inner.refuse_next -= 1;
                        true
                    } else {
                        inner.mails.push(Mail {
                            from: from.take().unwrap_or_default(),
                            to: std::mem::take(&mut to),
                            data,
                            tls: secure,
                        });
                        false
                    }
                };
                from = None;
                to.clear();
                if refused {
                    b"451 4.3.0 Try again later\r\n"
                } else {
                    b"250 2.0.0 Ok: queued\r\n"
                }
            }
        } else if upper == "RSET" {
            from = None;
            to.clear();
            b"250 2.0.0 Ok\r\n"
        } else if upper == "NOOP" {
            b"250 2.0.0 Ok\r\n"
        } else if upper == "QUIT" {
            lines.get_mut().write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(None);
        } else {
            b"502 5.5.2 Command not recognized\r\n"
        };
        lines.get_mut().write_all(reply).await?;
    }
}

/// `<a@b> SIZE=...` → `a@b`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    let inner = arg
        .strip_prefix('<')
        .and_then(|a| a.split_once('>'))
        .map_or(arg, |(a, _)| a);
    inner.to_string()
}
