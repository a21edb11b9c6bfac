//! Sending a notice by SMTP through lettre: the transport is built once from
//! `[notifications.smtp]` and reused; TLS (implicit or required STARTTLS)
//! unless the relay is on loopback, verified against the Mozilla roots and
//! the operator's `[tls] extra_roots`.

use anyhow::{Context, Result};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use seatwarden_config::{SmtpSecurity, SmtpSettings};
use seatwarden_sandbox::trust::TrustedRoots;
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
    pub fn new(smtp: &SmtpSettings, from: &str, roots: &TrustedRoots) -> Result<Mailer> {
        let tls = || -> Result<TlsParameters> {
            let mut parameters = TlsParameters::builder(smtp.host.clone())
                .certificate_store(CertificateStore::WebpkiRoots);
            for certificate in roots.certificates() {
                parameters = parameters.add_root_certificate(
                    Certificate::from_der(certificate.to_vec())
                        .context("a certificate of [tls] extra_roots")?,
                );
            }
            parameters
                .build_rustls()
                .context("setting up TLS for the SMTP relay")
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .tls(match smtp.security {
                SmtpSecurity::Tls => Tls::Wrapper(tls()?),
                SmtpSecurity::StartTls => Tls::Required(tls()?),
                SmtpSecurity::None => Tls::None,
            })
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
