//! Sending managers' and admins' mail with lettre over SMTP (TLS, STARTTLS, or plain for tests
//! and local relays). Every mail carries `X-Leadgate-Notification` (the email source ignores
//! such mail, so a manager's mailbox that is also a source cannot loop) and
//! `Auto-Submitted: auto-generated` (so auto-responders do not answer it).

use super::config::NotifyEmail;
use super::message::EmailMessage;
use crate::sources::email::LOOP_HEADER;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

/// Why a mail was not sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address or the message cannot be a mail: retrying will not help.
    #[error("cannot build the mail: {0}")]
    Build(String),
    /// The SMTP server refused or could not be reached.
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
}

impl MailError {
    /// Whether sending again later may work (a busy or unreachable server, a 4xx reply).
    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Build(_) => false,
            MailError::Smtp(e) => !e.is_permanent(),
        }
    }
}

/// The SMTP side.
#[derive(Clone)]
pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for EmailNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailNotifier")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// The URL's TLS mode (`smtps`: TLS from the start; `?tls=required` or `opportunistic`:
/// STARTTLS) with the extra roots trusted beside the public ones.
fn tls_with_roots(url: &str, pem: &[u8]) -> Result<Tls, MailError> {
    let url = reqwest::Url::parse(url).map_err(|e| MailError::Build(e.to_string()))?;
    let host = url.host_str().unwrap_or_default().to_string();
    let params = TlsParameters::builder(host)
        .add_root_certificate(Certificate::from_pem(pem)?)
        .build()?;
    let mode = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    Ok(match (url.scheme(), mode.as_deref()) {
        ("smtps", _) => Tls::Wrapper(params),
        (_, Some("opportunistic")) => Tls::Opportunistic(params),
        _ => Tls::Required(params),
    })
}

impl EmailNotifier {
    /// A notifier for the configured server (no connection is made yet).
    pub fn new(cfg: &NotifyEmail) -> Result<EmailNotifier, MailError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(cfg.url.expose())?
            .timeout(Some(Duration::from_secs(30)));
        if let Some(pem) = &cfg.extra_roots {
            builder = builder.tls(tls_with_roots(cfg.url.expose(), pem)?);
        }
        if let Some((user, password)) = &cfg.login {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        Ok(EmailNotifier {
            transport: builder.build(),
            from: cfg.from.clone(),
        })
    }

    /// Sends `message` to `to`; `about` goes into the loop header (the lead id, or `alert`).
    pub async fn send(
        &self,
        to: &str,
        message: &EmailMessage,
        about: &str,
    ) -> Result<(), MailError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| MailError::Build(format!("{to:?}: {e}")))?;
        let mut mail = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&message.subject)
            .multipart(MultiPart::alternative_plain_html(
                message.plain.clone(),
                message.html.clone(),
            ))
            .map_err(|e| MailError::Build(e.to_string()))?;
        let headers = mail.headers_mut();
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str(LOOP_HEADER),
            about.to_string(),
        ));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-generated".into(),
        ));
        self.transport.send(mail).await?;
        Ok(())
    }
}
