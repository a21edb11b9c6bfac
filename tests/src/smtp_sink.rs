//! A real SMTP server for the notification tests: `aiosmtpd` from PyPI with
//! its Mailbox handler, which stores every message it accepts in a Maildir,
//! read back with mail-parser.
//!
//! `cargo xtask test` installs it into `target/test-peers`. A message is in
//! the Maildir before the server acknowledges the DATA command, so once the
//! host's send has returned the message can be read, without waiting.
//!
//! It can also speak TLS as a real relay does, with a certificate from a
//! test CA ([`crate::tls`]): STARTTLS, required before any mail, or TLS from
//! the first byte (SMTPS).

use crate::fixtures::repo_root;
use crate::tls::ServerIdentity;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The pinned aiosmtpd version (installed by `cargo xtask test`).
pub const VERSION: &str = "1.4.6";

/// How the sink protects its connections.
#[derive(Clone, Copy)]
pub enum SinkTls<'a> {
    /// Plain SMTP.
    None,
    /// Plain until STARTTLS, which must come before MAIL.
    StartTls(&'a ServerIdentity),
    /// TLS from the first byte.
    Implicit(&'a ServerIdentity),
}

/// A running aiosmtpd; killed when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    maildir: tempdir::Dir,
}

mod tempdir {
    /// A directory removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// One received message: its headers (lower-cased names) and decoded body.
#[derive(Clone, Debug)]
pub struct Mail {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl SmtpSink {
    /// Starts a server on a free loopback port.
    pub fn start() -> Result<SmtpSink> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        SmtpSink::start_on(port)
    }

    /// Starts a server speaking TLS as `tls` says, on a free loopback port.
    pub fn start_tls(tls: SinkTls<'_>) -> Result<SmtpSink> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        SmtpSink::start_with(port, tls)
    }

    /// Starts a server on `port` (e.g. one a test kept closed until now).
    pub fn start_on(port: u16) -> Result<SmtpSink> {
        SmtpSink::start_with(port, SinkTls::None)
    }

    fn start_with(port: u16, tls: SinkTls<'_>) -> Result<SmtpSink> {
        let exe = repo_root().join("target/test-peers/bin/aiosmtpd");
        if !exe.exists() {
            bail!(
                "{} is missing: run `cargo xtask test` (it installs aiosmtpd {VERSION} from PyPI)",
                exe.display()
            );
        }
        let maildir =
            std::env::temp_dir().join(format!("seatwarden-smtp-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&maildir);
        let mut command = Command::new(&exe);
        command.args(["-n", "-l", &format!("127.0.0.1:{port}")]);
        if let SinkTls::StartTls(identity) | SinkTls::Implicit(identity) = tls {
            let keys = std::env::temp_dir().join(format!(
                "seatwarden-smtp-{}-{port}-keys",
                std::process::id()
            ));
            std::fs::create_dir_all(&keys)?;
            let (certificate, key) = (keys.join("cert.pem"), keys.join("key.pem"));
            std::fs::write(&certificate, &identity.certificate_pem)?;
            std::fs::write(&key, &identity.key_pem)?;
            let (cert_flag, key_flag) = match tls {
                SinkTls::StartTls(_) => ("--tlscert", "--tlskey"),
                _ => ("--smtpscert", "--smtpskey"),
            };
            command.arg(cert_flag).arg(&certificate);
            command.arg(key_flag).arg(&key);
        }
        let child = command
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let sink = SmtpSink {
            child,
            port,
            maildir: tempdir::Dir(maildir),
        };
        // Readiness: the server greets with 220, or, speaking TLS from the
        // first byte, accepts connections (bounded wait).
        let ready = || match tls {
            SinkTls::Implicit(_) => std::net::TcpStream::connect(("127.0.0.1", port)).is_ok(),
            _ => greets(port),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if ready() {
                return Ok(sink);
            }
            if Instant::now() > deadline {
                bail!("aiosmtpd did not greet on port {port} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Mail> {
        let dir: PathBuf = self.maildir.0.join("new");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
            .iter()
            .map(|p| parse(&std::fs::read(p).expect("a stored message")))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn greets(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut greeting = [0u8; 3];
    stream.read_exact(&mut greeting).is_ok() && &greeting == b"220"
}

/// Parses a stored message with mail-parser (headers unfolded and decoded,
/// the text body decoded from its transfer encoding).
fn parse(raw: &[u8]) -> Mail {
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parsable message");
    let headers = message
        .headers()
        .iter()
        .map(|h| {
            let value = match h.value() {
                mail_parser::HeaderValue::Text(t) => t.to_string(),
                mail_parser::HeaderValue::Address(a) => a
                    .iter()
                    .filter_map(|a| a.address())
                    .collect::<Vec<_>>()
                    .join(", "),
                other => format!("{other:?}"),
            };
            (h.name().to_ascii_lowercase(), value)
        })
        .collect();
    Mail {
        headers,
        body: message
            .body_text(0)
            .map(|b| b.into_owned())
            .unwrap_or_default(),
    }
}
