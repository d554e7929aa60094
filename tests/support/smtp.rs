//! An SMTP server on `127.0.0.1:0` that speaks RFC 5321 as a real relay does (greeting,
//! EHLO/HELO with its extensions, MAIL FROM, RCPT TO, DATA with dot-unstuffing, RSET, NOOP,
//! QUIT; commands out of order get 503) and keeps every accepted mail. It can refuse the next
//! mails with a transient `451` to show retries.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One accepted mail.
#[derive(Debug, Clone)]
pub struct Mail {
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (CRLF line ends, dot-unstuffed).
    pub data: Vec<u8>,
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
}

/// The catcher; clones share it.
#[derive(Clone)]
pub struct SmtpCatcher {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl SmtpCatcher {
    /// Starts it.
    pub async fn start() -> SmtpCatcher {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Mutex::new(Inner::default()));
        let shared = inner.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let _ = session(stream, shared).await;
                });
            }
        });
        SmtpCatcher { addr, inner }
    }

    /// The URL for `[notify.email] url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
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

async fn session(stream: tokio::net::TcpStream, shared: Arc<Mutex<Inner>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 catcher.test ESMTP ready\r\n").await?;
    let mut greeted = false;
    let mut from: Option<String> = None;
    let mut to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO ") {
            greeted = true;
            b"250-catcher.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n"
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
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = Vec::new();
                loop {
                    let mut l = Vec::new();
                    if lines.read_until(b'\n', &mut l).await? == 0 {
                        return Ok(());
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
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 Command not recognized\r\n"
        };
        write.write_all(reply).await?;
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
