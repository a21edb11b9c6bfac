//! The `[notifications]` table: how users are told that their seat is about
//! to be reclaimed (SMTP), where their answer links point, and the key that
//! signs those links.
//!
//! Kept apart because it carries two secrets (the link key and the SMTP
//! password, both only as references) and one security decision: plaintext
//! SMTP would put the answer links and the password on the wire in clear,
//! so it is accepted only to a relay on the loopback interface.

use super::reclamation::ErrorAt;
use super::{ConfigError, CredentialConfig};
use seatwarden_sandbox::credentials::CredentialSource;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotifications {
    from: String,
    answer_url: String,
    listen: Option<String>,
    link_key: toml::Value,
    smtp: RawSmtp,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: String,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password: Option<toml::Value>,
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    StartTls,
    /// No encryption: only to a loopback relay.
    None,
}

/// The SMTP relay notices go through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The relay's host name or address; only a loopback one may use `SmtpSecurity::None`.
    pub host: String,
    /// The relay's port; when the file sets none, 465, 587 or 25 to suit `security`.
    pub port: u16,
    /// How the connection to the relay is protected; STARTTLS unless the file says otherwise.
    pub security: SmtpSecurity,
    /// The login user name; `None`: notices are sent without logging in.
    pub username: Option<String>,
    /// Where the login password is read from; set exactly when `username` is.
    pub password: Option<CredentialSource>,
}

/// The validated `[notifications]` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationSettings {
    /// The sender, e.g. `Seatwarden <seatwarden@example.com>`.
    pub from: String,
    /// Where `seatwarden serve` answers links, as users reach it, without a
    /// trailing slash (e.g. `https://seatwarden.example.com`).
    pub answer_url: String,
    /// Where `seatwarden serve` listens for answers; none: no link server.
    pub listen: Option<SocketAddr>,
    /// The key that signs answer links (at least 32 bytes).
    pub link_key: CredentialSource,
    /// The relay the notices are sent through.
    pub smtp: SmtpSettings,
}

const KEY_FIX: &str = "use link_key = { env = \"VAR\" } or { file = \"path/to/key\" } holding at least 32 random bytes (e.g. `openssl rand -base64 32`)";

pub(super) fn notifications(
    raw: RawNotifications,
    err: ErrorAt,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<NotificationSettings, ConfigError> {
    // Relative secret files start at the configuration's folder.
    let located = |source: CredentialSource| match source {
        CredentialSource::File(file) => CredentialSource::File(resolve(&file)),
        env => env,
    };
    let key = "notifications";
    raw.from.parse::<lettre::message::Mailbox>().map_err(|e| {
        err(
            &format!("{key}.from"),
            format!("{:?} is not a mail address: {e}", raw.from),
            "use \"Name <address@example.com>\" or a bare address",
        )
    })?;
    let answer_url = raw.answer_url.trim_end_matches('/').to_string();
    if !answer_url_ok(&answer_url) {
        return Err(err(
            &format!("{key}.answer_url"),
            format!(
                "{:?} is not an https URL without query or fragment",
                raw.answer_url
            ),
            "give the https address where users reach `seatwarden serve` (plain http only to 127.0.0.1, localhost or [::1], for tests)",
        ));
    }
    let listen = raw
        .listen
        .map(|l| {
            l.parse::<SocketAddr>().map_err(|e| {
                err(
                    &format!("{key}.listen"),
                    format!("{l:?} is not an address and port: {e}"),
                    "use e.g. \"127.0.0.1:8425\" behind a TLS-terminating proxy",
                )
            })
        })
        .transpose()?;
    let link_key = match super::credential(&raw.link_key) {
        Ok(CredentialConfig::Secret(source)) => located(source),
        Ok(_) => {
            return Err(err(
                &format!("{key}.link_key"),
                "takes only env or file".into(),
                KEY_FIX,
            ));
        }
        Err((problem, _)) => return Err(err(&format!("{key}.link_key"), problem, KEY_FIX)),
    };
    let smtp_key = format!("{key}.smtp");
    let raw_smtp = raw.smtp;
    let security = match raw_smtp.security.as_deref().unwrap_or("starttls") {
        "tls" => SmtpSecurity::Tls,
        "starttls" => SmtpSecurity::StartTls,
        "none" => SmtpSecurity::None,
        other => {
            return Err(err(
                &format!("{smtp_key}.security"),
                format!("unknown security {other:?}"),
                "use \"starttls\" (default), \"tls\" or, to a loopback relay only, \"none\"",
            ));
        }
    };
    let loopback = matches!(raw_smtp.host.as_str(), "localhost" | "127.0.0.1" | "::1");
    if security == SmtpSecurity::None && !loopback {
        return Err(err(
            &format!("{smtp_key}.security"),
            format!(
                "plaintext SMTP to {} would send the answer links and any password in clear",
                raw_smtp.host
            ),
            "use \"starttls\" or \"tls\"; \"none\" is accepted only for a relay on 127.0.0.1/localhost",
        ));
    }
    let password = match (&raw_smtp.username, raw_smtp.password) {
        (Some(_), Some(value)) => match super::credential(&value) {
            Ok(CredentialConfig::Secret(source)) => Some(located(source)),
            Ok(_) => {
                return Err(err(
                    &format!("{smtp_key}.password"),
                    "takes only env or file".into(),
                    "use password = { env = \"VAR\" } or { file = \"path\" }",
                ));
            }
            Err((problem, fix)) => return Err(err(&format!("{smtp_key}.password"), problem, fix)),
        },
        (None, None) => None,
        _ => {
            return Err(err(
                &smtp_key,
                "username and password go together".into(),
                "set both (password as { env = ... } or { file = ... }), or neither",
            ));
        }
    };
    Ok(NotificationSettings {
        from: raw.from,
        answer_url,
        listen,
        link_key,
        smtp: SmtpSettings {
            port: raw_smtp.port.unwrap_or(match security {
                SmtpSecurity::Tls => 465,
                SmtpSecurity::StartTls => 587,
                SmtpSecurity::None => 25,
            }),
            host: raw_smtp.host,
            security,
            username: raw_smtp.username,
            password,
        },
    })
}

/// An answer URL is https, or plain http to loopback itself: the host is
/// parsed and compared exactly (`http://127.0.0.1.attacker.example` is not
/// loopback), with no user info, query or fragment. The links act for
/// whoever holds them, so they never travel in the clear to another host.
fn answer_url_ok(url: &str) -> bool {
    use seatwarden_sandbox::egress::policy::{HostPattern, OriginScheme};
    if url.contains(['?', '#', ' ', '@']) {
        return false;
    }
    let Ok(origin) = seatwarden_sandbox::egress::AllowedOrigin::parse(url) else {
        return false;
    };
    match (origin.scheme, &origin.host) {
        (OriginScheme::Https, HostPattern::Exact(_)) => true,
        (OriginScheme::Http, HostPattern::Exact(host)) => {
            matches!(host.as_str(), "127.0.0.1" | "localhost" | "::1")
        }
        _ => false,
    }
}
