//! `[[sources.email]]`: a mailbox account read over IMAP, as written and as validated.

use super::pin::Fingerprint;
use crate::lead::Channel;
use crate::settings::{ByteSize, HumanDuration, Scope, Secret};
use crate::sources::table::{RawSource, Source, TableContext};
use crate::tls::ExtraRoots;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The source as written in the config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmailSource {
    /// The source id: the lead's `source` and part of each mailbox's cursor key.
    pub id: String,
    /// The IMAP server's host name (also the name its TLS certificate must carry, unless the
    /// certificate is pinned).
    pub host: String,
    /// The port; default 993 with `tls`, 143 otherwise.
    pub port: Option<u16>,
    /// `tls` (default), `starttls` or `plain` (tests and local servers only).
    pub tls: Option<TlsMode>,
    /// A PEM file of extra trusted roots (a private CA, or the server's self-signed
    /// certificate when it is not marked as a CA), relative to the config file; the public
    /// web PKI roots stay trusted.
    pub ca_file: Option<PathBuf>,
    /// The server's own certificate (PEM, relative to the config file), pinned: only it is
    /// trusted, whatever its name, issuer or dates.
    pub tls_certificate: Option<PathBuf>,
    /// The SHA-256 fingerprint of the server's own certificate, pinned like `tls_certificate`.
    pub tls_fingerprint: Option<String>,
    /// The login.
    pub user: String,
    /// The password (or an app password); keep it in `${ENV_VAR}`.
    pub password: Secret,
    /// The folders watched; default `["INBOX"]`.
    pub mailboxes: Option<Vec<String>>,
    /// Wait with IMAP IDLE where the server offers it; default true.
    pub idle: Option<bool>,
    /// How often to look for new mail without IDLE (and as a safety net); default `60s`.
    pub poll_interval: Option<HumanDuration>,
    /// What to do with a message once it is stored: `leave` (default), `seen` or `move`.
    pub after: Option<AfterIngest>,
    /// The folder `after = "move"` moves messages to.
    pub move_to: Option<String>,
    /// How far back a mailbox seen for the first time is read; default `3d`.
    pub backfill: Option<HumanDuration>,
    /// Messages fetched and committed per batch; default 100.
    pub batch_size: Option<u32>,
    /// The largest message taken whole; a larger one is kept as a not-lead (`too_large`) with
    /// its header only. Default `25MiB`.
    pub max_message: Option<ByteSize>,
    /// A second message from the same address this soon after the last, not a reply to it,
    /// joins its lead; default `"off"` (a reply always joins, by its `In-Reply-To`).
    pub conversation_window: Option<String>,
    /// How long a message the server lists but will not give is asked for before it is kept
    /// as a not-lead naming its UID, so the messages after it are taken; default `30m`.
    pub unreadable_after: Option<HumanDuration>,
}

/// `max_message` when the config says nothing: what most mail servers accept.
pub const DEFAULT_MAX_MESSAGE: u64 = 25 * 1024 * 1024;

/// The smallest `max_message`: a header alone can take a few KiB.
const MIN_MAX_MESSAGE: u64 = 16 * 1024;

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS, port 993).
    Tls,
    /// Plain connect, then `STARTTLS` (port 143); refused when the server does not offer it.
    Starttls,
    /// No encryption: the password crosses the network in the clear. Tests only.
    Plain,
}

/// What happens to a message on the server after it is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterIngest {
    /// Nothing: the mailbox stays as the people reading it left it.
    Leave,
    /// Flag it `\Seen`.
    Seen,
    /// Move it to `move_to`.
    Move,
}

/// What to do after ingesting, with its folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterAction {
    /// Leave the message.
    Leave,
    /// Mark it `\Seen`.
    MarkSeen,
    /// Move it to this folder.
    MoveTo(String),
}

/// The validated source.
#[derive(Debug, Clone)]
pub struct EmailSource {
    /// The source id.
    pub id: String,
    /// The server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is secured.
    pub tls: TlsMode,
    /// The roots of `ca_file`, trusted beside the public ones.
    pub extra_roots: Option<ExtraRoots>,
    /// The pinned certificate (`tls_certificate` or `tls_fingerprint`): when set, the only
    /// certificate trusted, and neither the roots nor the name are looked at.
    pub pin: Option<Fingerprint>,
    /// The login.
    pub user: String,
    /// The password, never printed.
    pub password: Secret,
    /// The folders watched, one task each.
    pub mailboxes: Vec<String>,
    /// Whether to use IDLE when the server has it.
    pub idle: bool,
    /// How often to look without IDLE.
    pub poll_interval: Duration,
    /// What to do after a message is stored.
    pub after: AfterAction,
    /// How far back a new mailbox is read.
    pub backfill: Duration,
    /// Messages per batch.
    pub batch_size: u32,
    /// The largest message taken whole, in bytes.
    pub max_message: u64,
    /// A message from the same sender this soon after the last joins its lead; zero: never.
    pub conversation_window: Duration,
    /// How long a message the server will not give is asked for before it is set aside.
    pub unreadable_after: Duration,
}

impl RawEmailSource {
    /// Checks every value and applies the defaults, reporting every problem into `p`; `None`
    /// when there was one. A relative `ca_file` is read from `base`, the config file's
    /// directory.
    pub fn validate(self, base: &Path, p: &mut Scope<'_>) -> Option<EmailSource> {
        let before = p.found();
        let conversation_window = crate::sources::conversation_window(
            p,
            self.conversation_window.as_deref(),
            Duration::ZERO,
        );
        let mut add = |key, message: &str, hint| p.add(key, message, hint);
        if self.host.trim().is_empty() {
            add(
                "host",
                "is empty",
                Some("the IMAP server, like \"imap.yandex.ru\""),
            );
        }
        if self.user.trim().is_empty() {
            add("user", "is empty", Some("the mailbox login"));
        }
        if self.port == Some(0) {
            add(
                "port",
                "must be 1 to 65535",
                Some("993 for tls, 143 otherwise"),
            );
        }
        let mailboxes = self.mailboxes.unwrap_or_else(|| vec!["INBOX".to_string()]);
        if mailboxes.is_empty() || mailboxes.iter().any(|m| m.trim().is_empty()) {
            add(
                "mailboxes",
                "needs at least one folder name, none empty",
                Some("like [\"INBOX\"]"),
            );
        }
        let mut seen = std::collections::HashSet::new();
        if mailboxes.iter().any(|m| !seen.insert(m)) {
            add("mailboxes", "names a folder twice", None);
        }
        let after = match (self.after.unwrap_or(AfterIngest::Leave), self.move_to) {
            (AfterIngest::Move, Some(folder)) if !folder.trim().is_empty() => {
                if mailboxes.contains(&folder) {
                    add(
                        "move_to",
                        "is one of the watched mailboxes",
                        Some("move to a folder that is not watched, like \"Processed\""),
                    );
                }
                AfterAction::MoveTo(folder)
            }
            (AfterIngest::Move, _) => {
                add(
                    "move_to",
                    "is needed with after = \"move\"",
                    Some("the folder to move messages to, like \"Processed\""),
                );
                AfterAction::Leave
            }
            (_, Some(_)) => {
                add(
                    "move_to",
                    "is only used with after = \"move\"",
                    Some("set after = \"move\" or remove move_to"),
                );
                AfterAction::Leave
            }
            (AfterIngest::Leave, None) => AfterAction::Leave,
            (AfterIngest::Seen, None) => AfterAction::MarkSeen,
        };
        let unreadable_after =
            (self.unreadable_after).map_or(Duration::from_secs(30 * 60), |d| d.0);
        if unreadable_after.is_zero() {
            add(
                "unreadable_after",
                "must be longer than zero: a message the server lists would be set aside at once",
                Some("like \"30m\""),
            );
        }
        let poll_interval = self.poll_interval.map_or(Duration::from_secs(60), |d| d.0);
        if poll_interval.is_zero() {
            add(
                "poll_interval",
                "must be longer than zero",
                Some("like \"60s\""),
            );
        }
        let batch_size = self.batch_size.unwrap_or(100);
        if batch_size == 0 {
            add(
                "batch_size",
                "must be at least 1",
                Some("100 suits most servers"),
            );
        }
        let max_message = self.max_message.map_or(DEFAULT_MAX_MESSAGE, |b| b.0 as u64);
        if max_message < MIN_MAX_MESSAGE {
            add(
                "max_message",
                "must be at least 16KiB",
                Some("25MiB suits most mailboxes"),
            );
        }
        let tls = self.tls.unwrap_or(TlsMode::Tls);
        let extra_roots = match &self.ca_file {
            Some(_) if tls == TlsMode::Plain => {
                add(
                    "ca_file",
                    "is only used with tls = \"tls\" or \"starttls\"",
                    Some("remove ca_file, or secure the connection"),
                );
                None
            }
            Some(file) => match ExtraRoots::load(&base.join(file)) {
                Ok(roots) => Some(roots),
                Err(message) => {
                    add(
                        "ca_file",
                        &message,
                        Some(
                            "a PEM file with the CA certificate that signed the server's certificate, relative to this config file; a self-signed server's own certificate is pinned with tls_certificate instead",
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        let pin = match (&self.tls_certificate, &self.tls_fingerprint) {
            (Some(_), Some(_)) => {
                add(
                    "tls_fingerprint",
                    "cannot be given with tls_certificate",
                    Some("pin the server's certificate one way: its file or its fingerprint"),
                );
                None
            }
            (Some(file), None) => match Fingerprint::of_pem_file(&base.join(file)) {
                Ok(pin) => Some(("tls_certificate", pin)),
                Err(message) => {
                    add(
                        "tls_certificate",
                        &message,
                        Some(
                            "a PEM file with the server's own certificate (on Dovecot, the file of its ssl_cert), relative to this config file",
                        ),
                    );
                    None
                }
            },
            (None, Some(text)) => match Fingerprint::parse(text) {
                Ok(pin) => Some(("tls_fingerprint", pin)),
                Err(message) => {
                    add(
                        "tls_fingerprint",
                        &message,
                        Some(
                            "like \"sha256:AB:CD:...\" (32 bytes), as `leadgate check --connect` or `openssl x509 -noout -fingerprint -sha256` print it",
                        ),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        if let Some((key, _)) = pin {
            if tls == TlsMode::Plain {
                add(
                    key,
                    "is only used with tls = \"tls\" or \"starttls\"",
                    Some("remove the pin, or secure the connection"),
                );
            }
            if self.ca_file.is_some() {
                add(
                    "ca_file",
                    "cannot be given with a pinned certificate",
                    Some("trust a CA with ca_file, or pin the server's own certificate, not both"),
                );
            }
        }
        if p.found() > before {
            return None;
        }
        Some(EmailSource {
            id: self.id,
            host: self.host,
            port: self
                .port
                .unwrap_or(if tls == TlsMode::Tls { 993 } else { 143 }),
            tls,
            extra_roots,
            pin: pin.map(|(_, pin)| pin),
            user: self.user,
            password: self.password,
            mailboxes,
            idle: self.idle.unwrap_or(true),
            poll_interval,
            after,
            backfill: self
                .backfill
                .map_or(Duration::from_secs(3 * 86_400), |d| d.0),
            batch_size,
            max_message,
            conversation_window,
            unreadable_after,
        })
    }
}

impl RawSource for RawEmailSource {
    const KEY: &'static str = "email";
    type Source = EmailSource;
    type Seen = ();

    fn id(&self) -> &str {
        &self.id
    }

    /// Its `ca_file` is read against the config file's directory.
    fn validate(
        self,
        p: &mut Scope<'_>,
        context: &TableContext<'_>,
        _: &mut (),
    ) -> Option<EmailSource> {
        RawEmailSource::validate(self, context.base, p)
    }
}

impl Source for EmailSource {
    const CHANNEL: Channel = Channel::Email;

    fn id(&self) -> &str {
        &self.id
    }

    fn conversation_window(&self) -> Duration {
        self.conversation_window
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::settings::{ConfigProblem, Problems};

    /// `validate` as a result: the source, or every problem it reported.
    pub(crate) trait Checked {
        fn checked(self, base: &Path) -> Result<EmailSource, Vec<ConfigProblem>>;
    }

    impl Checked for RawEmailSource {
        fn checked(self, base: &Path) -> Result<EmailSource, Vec<ConfigProblem>> {
            let mut p = Problems::new(Path::new("leadgate.toml"));
            let source = self.validate(base, &mut p.scope(""));
            source.ok_or(p.list)
        }
    }

    fn raw(extra: &str) -> RawEmailSource {
        toml::from_str(&format!(
            "id = \"sales\"\nhost = \"imap.example.ru\"\nuser = \"sales\"\npassword = \"pw\"\n{extra}"
        ))
        .expect("the table parses")
    }

    #[test]
    fn defaults() {
        let s = raw("").checked(Path::new(".")).expect("valid");
        assert_eq!(s.port, 993);
        assert_eq!(s.tls, TlsMode::Tls);
        assert_eq!(s.mailboxes, ["INBOX"]);
        assert!(s.idle);
        assert_eq!(s.poll_interval, Duration::from_secs(60));
        assert_eq!(s.after, AfterAction::Leave);
        assert_eq!(s.backfill, Duration::from_secs(3 * 86_400));
        assert_eq!(s.batch_size, 100);
        assert_eq!(s.max_message, 25 * 1024 * 1024);
        let s = raw("tls = \"starttls\"\nafter = \"seen\"")
            .checked(Path::new("."))
            .expect("valid");
        assert_eq!((s.port, s.after), (143, AfterAction::MarkSeen));
    }

    #[test]
    fn move_needs_an_unwatched_folder() {
        let keys = |extra| -> Vec<String> {
            raw(extra)
                .checked(Path::new("."))
                .expect_err("invalid")
                .into_iter()
                .map(|p| p.key)
                .collect()
        };
        assert_eq!(keys("after = \"move\""), ["move_to"]);
        assert_eq!(keys("after = \"move\"\nmove_to = \"INBOX\""), ["move_to"]);
        assert_eq!(keys("move_to = \"Done\""), ["move_to"]);
        assert_eq!(
            keys("batch_size = 0\nmailboxes = []"),
            ["mailboxes", "batch_size"]
        );
        assert_eq!(keys("max_message = \"1KiB\""), ["max_message"]);
        let s = raw("max_message = \"64KiB\"")
            .checked(Path::new("."))
            .expect("valid");
        assert_eq!(s.max_message, 65_536);
        let s = raw("after = \"move\"\nmove_to = \"Done\"")
            .checked(Path::new("."))
            .expect("valid");
        assert_eq!(s.after, AfterAction::MoveTo("Done".into()));
    }

    #[test]
    fn unknown_keys_and_modes_are_refused() {
        let bad: Result<RawEmailSource, _> = toml::from_str(
            "id = \"s\"\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\npasword = \"p\"",
        );
        assert!(bad.is_err());
        let bad: Result<RawEmailSource, _> = toml::from_str(
            "id = \"s\"\nhost = \"h\"\nuser = \"u\"\npassword = \"p\"\ntls = \"ssl\"",
        );
        assert!(bad.is_err());
    }

    #[test]
    fn ca_file_is_read_from_the_config_directory_and_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mail-ca.pem"), crate::tls::TEST_CA).expect("write");
        let s = raw("tls = \"starttls\"\nca_file = \"mail-ca.pem\"")
            .checked(dir.path())
            .expect("valid");
        assert_eq!(s.extra_roots.map(|r| r.anchors().len()), Some(1));
        let problems = raw("ca_file = \"other.pem\"")
            .checked(dir.path())
            .expect_err("missing");
        assert_eq!(problems[0].key, "ca_file");
        assert!(problems[0].message.ends_with("other.pem does not exist"));
        let problems = raw("tls = \"plain\"\nca_file = \"mail-ca.pem\"")
            .checked(dir.path())
            .expect_err("plain");
        assert_eq!(problems[0].key, "ca_file");
    }

    #[test]
    fn a_pin_is_a_certificate_file_or_a_fingerprint_checked_at_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mail.pem"), crate::tls::TEST_CA).expect("write");
        let by_file = raw("tls_certificate = \"mail.pem\"")
            .checked(dir.path())
            .expect("valid")
            .pin
            .expect("pinned");
        let text = by_file
            .to_string()
            .replace(':', "")
            .replace("sha256", "sha256:");
        let by_fingerprint = raw(&format!("tls = \"starttls\"\ntls_fingerprint = \"{text}\""))
            .checked(dir.path())
            .expect("valid");
        assert_eq!(by_fingerprint.pin, Some(by_file));
        assert_eq!(by_fingerprint.extra_roots.map(|r| r.anchors().len()), None);
        assert_eq!(raw("").checked(dir.path()).expect("valid").pin, None);
        let problems = |extra: &str| -> Vec<(String, String)> {
            raw(extra)
                .checked(dir.path())
                .expect_err("invalid")
                .into_iter()
                .map(|p| (p.key, p.message))
                .collect()
        };
        let both = problems(&format!(
            "tls_certificate = \"mail.pem\"\ntls_fingerprint = \"{text}\""
        ));
        assert_eq!(both[0].0, "tls_fingerprint");
        assert!(both[0].1.contains("cannot be given with tls_certificate"));
        let with_ca = problems("tls_certificate = \"mail.pem\"\nca_file = \"mail.pem\"");
        assert_eq!(with_ca.len(), 1, "{with_ca:?}");
        assert_eq!(with_ca[0].0, "ca_file");
        let plain = problems(&format!("tls = \"plain\"\ntls_fingerprint = \"{text}\""));
        assert_eq!(plain[0].0, "tls_fingerprint");
        let missing = problems("tls_certificate = \"other.pem\"");
        assert_eq!(missing[0].0, "tls_certificate");
        assert!(missing[0].1.ends_with("other.pem does not exist"));
        let short = problems("tls_fingerprint = \"sha256:AB:CD\"");
        assert_eq!(short[0].0, "tls_fingerprint");
        assert!(short[0].1.contains("has 4 hex digits"), "{short:?}");
    }

    #[test]
    fn the_password_never_prints() {
        let s = raw("").checked(Path::new(".")).expect("valid");
        assert!(!format!("{s:?}").contains("pw"));
    }
}
