//! A real Dovecot for the IMAP tests: started in the foreground as a child process on a free
//! loopback port, with `tests/dovecot/dovecot.conf`, one passwd-file user and the mail in the
//! test's temporary directory. Stopped (SIGTERM, so its children go too) and restarted on the
//! same port to cut the daemon's connection; killed when dropped. [`Dovecot::start_tls`] also
//! serves TLS, with a throw-away certificate for `localhost`: STARTTLS on the IMAP port and an
//! IMAPS port.

use super::certs::{self, Issuer, TestCa};
use async_imap::Session;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The test user.
pub const USER: &str = "sales";
/// Its password.
pub const PASSWORD: &str = "s3cret-pass";

/// A running Dovecot.
pub struct Dovecot {
    /// Its loopback IMAP port (plain, and STARTTLS when it serves TLS).
    pub port: u16,
    /// Its directory (config, users, mail, log).
    pub dir: tempfile::TempDir,
    tls: Option<Tls>,
    binary: PathBuf,
    child: Option<Child>,
}

/// How a Dovecot started with [`Dovecot::start_tls`] serves TLS.
struct Tls {
    /// The loopback IMAPS port (TLS from the first byte).
    imaps_port: u16,
    /// The server's certificate and what to trust for it.
    ca: TestCa,
}

/// Where the dovecot binary is; fails the test (never skips) with how to install it.
fn binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("dovecot"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "Dovecot is not installed, and the IMAP tests need a real server. \
                 Install it with: apt-get install -y dovecot-imapd \
                 (its system service is not needed: the tests start their own)"
            )
        })
}

fn id(args: &[&str]) -> String {
    let out = Command::new("id").args(args).output().expect("run id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Dovecot {
    /// Starts a fresh server with an empty mailbox, without TLS.
    pub async fn start() -> Dovecot {
        Dovecot::start_with(None).await
    }

    /// Starts a fresh server that also serves TLS (STARTTLS on [`Dovecot::port`], and
    /// [`Dovecot::imaps_port`]) with a `localhost` certificate from `issuer`; a client trusts
    /// it with [`Dovecot::ca_file`].
    pub async fn start_tls(issuer: Issuer) -> Dovecot {
        Dovecot::start_with(Some(issuer)).await
    }

    async fn start_with(tls: Option<Issuer>) -> Dovecot {
        let binary = binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let root = id(&["-u"]) == "0";
        // As root, Dovecot runs its processes as its own users (it refuses uid 0 for mail).
        let (internal_user, internal_group, login_user) = if root {
            (
                "dovecot".to_string(),
                "dovecot".to_string(),
                "dovenull".to_string(),
            )
        } else {
            let me = id(&["-un"]);
            (me.clone(), id(&["-gn"]), me)
        };
        let (mail_uid, mail_gid) = if root {
            (id(&["-u", "dovecot"]), id(&["-g", "dovecot"]))
        } else {
            (id(&["-u"]), id(&["-g"]))
        };
        let port = free_port();
        let tls = tls.map(|issuer| Tls {
            imaps_port: free_port(),
            ca: certs::make(&dir.path().join("tls"), issuer),
        });
        let ssl = match &tls {
            Some(tls) => format!(
                "ssl = yes\nssl_cert = <{}\nssl_key = <{}",
                tls.ca.server_cert.display(),
                tls.ca.server_key.display()
            ),
            None => "ssl = no".to_string(),
        };
        let imaps_port = tls.as_ref().map_or(0, |t| t.imaps_port);
        let template = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/dovecot/dovecot.conf"
        ))
        .expect("tests/dovecot/dovecot.conf");
        let d = dir.path().display().to_string();
        let conf = template
            .replace("@DIR@", &d)
            .replace("@PORT@", &port.to_string())
            .replace("@SSL@", &ssl)
            .replace("@IMAPS_PORT@", &imaps_port.to_string())
            .replace("@INTERNAL_USER@", &internal_user)
            .replace("@INTERNAL_GROUP@", &internal_group)
            .replace("@LOGIN_USER@", &login_user)
            .replace("@MAIL_UID@", &mail_uid)
            .replace("@MAIL_GID@", &mail_gid);
        std::fs::write(dir.path().join("dovecot.conf"), conf).expect("write conf");
        std::fs::write(
            dir.path().join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}\n"),
        )
        .expect("write users");
        for sub in ["mail", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("mkdir");
        }
        if root {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            let uid: u32 = mail_uid.parse().expect("uid");
            let gid: u32 = mail_gid.parse().expect("gid");
            for sub in ["mail", "home"] {
                std::os::unix::fs::chown(dir.path().join(sub), Some(uid), Some(gid))
                    .expect("chown");
            }
        }
        let mut dovecot = Dovecot {
            port,
            dir,
            tls,
            binary,
            child: None,
        };
        dovecot.resume().await;
        dovecot
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("dovecot.conf")
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    /// Starts the server (again) on its port and waits until it greets.
    pub async fn resume(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(&self.binary)
            .arg("-F")
            .arg("-c")
            .arg(self.conf())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        self.child = Some(child);
        for _ in 0..250 {
            if let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", self.port)).await {
                let mut buf = vec![0u8; 512];
                let mut seen = Vec::new();
                while let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_secs(2), tcp.read(&mut buf)).await
                {
                    if n == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if String::from_utf8_lossy(&seen).contains("ready") {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        panic!(
            "Dovecot did not start on port {}:\n{}",
            self.port,
            self.log()
        );
    }

    /// Stops the server: SIGTERM to the master, which ends every IMAP process with it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            for _ in 0..250 {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The `[[sources.email]]` table for this server, with `extra` keys.
    pub fn source(&self, id: &str, extra: &str) -> String {
        format!(
            "[[sources.email]]\nid = \"{id}\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"plain\"\n\
             user = \"{USER}\"\npassword = \"{PASSWORD}\"\n{extra}\n",
            self.port
        )
    }

    /// The IMAPS port of a server started with [`Dovecot::start_tls`].
    pub fn imaps_port(&self) -> u16 {
        self.tls
            .as_ref()
            .expect("started with start_tls")
            .imaps_port
    }

    /// The PEM file a client trusts the certificate of a server started with
    /// [`Dovecot::start_tls`] with: the CA's certificate, or the self-signed one.
    pub fn ca_file(&self) -> &Path {
        &self
            .tls
            .as_ref()
            .expect("started with start_tls")
            .ca
            .ca_file
    }

    /// The certificate a server started with [`Dovecot::start_tls`] presents (PEM): what
    /// `tls_certificate` pins.
    pub fn server_cert(&self) -> &Path {
        &self
            .tls
            .as_ref()
            .expect("started with start_tls")
            .ca
            .server_cert
    }

    /// The `[[sources.email]]` table for this server over TLS: `mode` is `tls` (the IMAPS
    /// port) or `starttls` (the IMAP port), the host `localhost` (the name in the certificate).
    pub fn tls_source(&self, id: &str, mode: &str, extra: &str) -> String {
        let port = match mode {
            "tls" => self.imaps_port(),
            "starttls" => self.port,
            other => panic!("{other:?} is not a TLS mode"),
        };
        format!(
            "[[sources.email]]\nid = \"{id}\"\nhost = \"localhost\"\nport = {port}\n\
             tls = \"{mode}\"\nuser = \"{USER}\"\npassword = \"{PASSWORD}\"\n{extra}\n"
        )
    }

    /// A logged-in test client.
    pub async fn client(&self) -> Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("greeting");
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login")
    }

    /// APPENDs each message to `mailbox` over IMAP.
    pub async fn append_all(&self, mailbox: &str, messages: &[Vec<u8>]) {
        let mut session = self.client().await;
        for m in messages {
            session
                .append(mailbox, None, None, m)
                .await
                .expect("append");
        }
        let _ = session.logout().await;
    }

    /// The UIDs in `mailbox` matching an IMAP search.
    pub async fn search(&self, mailbox: &str, query: &str) -> Vec<u32> {
        let mut session = self.client().await;
        session.select(mailbox).await.expect("select");
        let mut uids: Vec<u32> = session
            .uid_search(query)
            .await
            .expect("search")
            .into_iter()
            .collect();
        uids.sort_unstable();
        let _ = session.logout().await;
        uids
    }

    /// The mail directory (for a look at what the server stored).
    pub fn mail_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain lead e-mail, unique by `tag` and `n`.
pub fn lead_mail(tag: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Client {n} <client{n}.{tag}@example.ru>\r\n\
         To: sales@teplodom.example\r\n\
         Subject: Request {n}\r\n\
         Date: Sun, 22 Nov 2026 09:15:02 +0300\r\n\
         Message-ID: <{tag}-{n}@mail.example.ru>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Hello! We need a boiler for a country house, please call me back.\r\n\
         Phone +7 916 {:03}-{:02}-{:02}\r\n",
        n / 10_000 % 1000,
        n / 100 % 100,
        n % 100
    )
    .into_bytes()
}
