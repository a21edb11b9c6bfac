//! Sending a notice by SMTP through lettre: the transport is built once from
//! `[notifications.smtp]` and reused; TLS (implicit or required STARTTLS)
//! unless the relay is on loopback.

use crate::config::{SmtpSecurity, SmtpSettings};
use anyhow::{Context, Result};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::time::Duration;

/// An SMTP relay and the sender address.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl Mailer {
    /// Builds the transport (no connection is made yet); loads the password.
    pub fn new(smtp: &SmtpSettings, from: &str) -> Result<Mailer> {
        let mut builder = match smtp.security {
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host)?,
            SmtpSecurity::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)?
            }
            SmtpSecurity::None => {
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            }
        }
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(30)));
        if let (Some(user), Some(password)) = (&smtp.username, &smtp.password) {
            let password = password.load().context("notifications.smtp.password")?;
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Mailer {
            transport: builder.build(),
            from: from.parse().context("notifications.from")?,
            relay: format!("{}:{}", smtp.host, smtp.port),
        })
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: Mailbox, subject: &str, body: String) -> Result<()> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .context("building the message")?;
        self.transport
            .send(message)
            .await
            .with_context(|| format!("sending to {} through {}", to.email, self.relay))?;
        Ok(())
    }
}
