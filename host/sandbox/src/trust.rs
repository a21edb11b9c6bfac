//! Which certificate authorities the host trusts when it speaks TLS: the
//! Mozilla roots (webpki-roots), plus the ones the operator names in
//! `[tls] extra_roots` — an internal CA in front of an on-premises SCIM
//! server or the company's SMTP relay.
//!
//! Kept in one place because two clients use it (the egress transport and
//! the SMTP mailer) and because a wrong trust decision is a security bug:
//! every file is read and every certificate checked when the configuration
//! loads, so a typo or a key pasted where a certificate belongs is an error
//! naming the file, not a handshake failure hours later.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::fmt;
use std::path::Path;

/// Extra trust anchors, each checked to be usable as one.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TrustedRoots {
    certificates: Vec<CertificateDer<'static>>,
}

impl fmt::Debug for TrustedRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustedRoots({} extra)", self.certificates.len())
    }
}

impl TrustedRoots {
    /// The Mozilla roots only.
    pub fn none() -> TrustedRoots {
        TrustedRoots::default()
    }

    /// Adds every certificate of a PEM file. The error says what is wrong
    /// with the file; the caller names the setting.
    pub fn add_pem_file(&mut self, path: &Path) -> Result<usize, String> {
        let text =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        self.add_pem(&text)
            .map_err(|problem| format!("{}: {problem}", path.display()))
    }

    /// Adds every certificate of PEM text.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, String> {
        let found: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not valid PEM: {e}"))?;
        if found.is_empty() {
            return Err("holds no \"BEGIN CERTIFICATE\" block".into());
        }
        let mut check = RootCertStore::empty();
        for (index, certificate) in found.iter().enumerate() {
            check.add(certificate.clone()).map_err(|e| {
                format!(
                    "certificate {} of {} cannot be a trust anchor: {e}",
                    index + 1,
                    found.len()
                )
            })?;
        }
        let added = found.len();
        self.certificates.extend(found);
        Ok(added)
    }

    /// The extra certificates (DER), in the order they were added.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// The Mozilla roots with the extra ones.
    pub(crate) fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        for certificate in &self.certificates {
            roots
                .add(certificate.clone())
                .expect("checked when the certificate was added");
        }
        roots
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_a_certificate_is_refused_with_the_reason() {
        let mut roots = TrustedRoots::none();
        assert_eq!(
            roots.add_pem(b"just some text\n").unwrap_err(),
            "holds no \"BEGIN CERTIFICATE\" block"
        );
        let garbage =
            b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";
        assert!(
            roots
                .add_pem(garbage)
                .unwrap_err()
                .starts_with("not valid PEM"),
            "{:?}",
            roots.add_pem(garbage)
        );
        let not_x509 = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(
            roots
                .add_pem(not_x509)
                .unwrap_err()
                .starts_with("certificate 1 of 1 cannot be a trust anchor"),
        );
        assert!(roots.certificates().is_empty());
    }
}
