//! Credentials at rest: a connection made over the API keeps its secret in
//! the database only sealed with AES-256-GCM (ring's AEAD) under a key the
//! operator gives the process, never in clear.
//!
//! The key is 32 random bytes, base64, read from the file
//! `SEATWARDEN_CREDENTIAL_KEY_FILE` names (owner-only, like every credential
//! file) or from `SEATWARDEN_CREDENTIAL_KEY` itself. Each sealing draws a
//! fresh 96-bit nonce from the system's random source, and binds the
//! tenant and connection name as associated data: a sealed value copied
//! into another tenant's row, or another connection's, does not open. The
//! sealed value records which key sealed it (a short id derived from the
//! key), so a server started with the wrong key says so instead of
//! reporting a corrupt credential.

use anyhow::{Context, Result, bail};
use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The environment variable naming the key file.
pub const KEY_FILE_VAR: &str = "SEATWARDEN_CREDENTIAL_KEY_FILE";
/// The environment variable holding the key itself (base64).
pub const KEY_VAR: &str = "SEATWARDEN_CREDENTIAL_KEY";

/// The first byte of every sealed value: the format, so a later one can change.
const FORMAT: u8 = 1;

/// What a sealed value is for: its tenant and connection, bound into it.
#[derive(Clone, Copy, Debug)]
pub struct SealedFor<'a> {
    /// The tenant's name.
    pub tenant: &'a str,
    /// The connection's name in that tenant.
    pub connection: &'a str,
}

impl SealedFor<'_> {
    fn aad(&self) -> Vec<u8> {
        format!(
            "seatwarden connection credential\0{}\0{}",
            self.tenant, self.connection
        )
        .into_bytes()
    }
}

/// Why a sealed credential did not open; callers tell the operator what to do.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// It was sealed under another key than this process has.
    #[error(
        "the credential was sealed with key {sealed_with}, but this server has key {have}: start it with the key that sealed it ({KEY_FILE_VAR}), or set the connection's credential again"
    )]
    OtherKey {
        /// The id recorded with the sealed value.
        sealed_with: String,
        /// This process's key id.
        have: String,
    },
    /// The bytes are not a sealed value for this tenant and connection.
    #[error(
        "the stored credential does not open for this tenant and connection (damaged or copied from another row): set the connection's credential again"
    )]
    Damaged,
}

/// The operator's key, ready to seal and open credentials.
pub struct Sealer {
    key: LessSafeKey,
    id: String,
    random: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer(key {})", self.id)
    }
}

impl Sealer {
    /// The key the environment gives, if it gives one: an error says what
    /// is wrong with it (never its value).
    pub fn from_environment() -> Result<Option<Sealer>> {
        if let Some(path) = std::env::var_os(KEY_FILE_VAR) {
            let source = seatwarden_sandbox::credentials::CredentialSource::File(
                Path::new(&path).to_path_buf(),
            );
            let text = source
                .load()
                .with_context(|| format!("{KEY_FILE_VAR}: the credential key file"))?;
            return Sealer::from_base64(text.expose_secret())
                .with_context(|| format!("{KEY_FILE_VAR}: {}", Path::new(&path).display()))
                .map(Some);
        }
        match std::env::var(KEY_VAR) {
            Ok(text) => Sealer::from_base64(&text).context(KEY_VAR).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => bail!("{KEY_VAR} is not base64 text"),
        }
    }

    /// A key from its base64 text (32 bytes).
    pub fn from_base64(text: &str) -> Result<Sealer> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .context(
                "the credential key must be 32 random bytes in base64 (make one with: head -c 32 /dev/urandom | base64)",
            )?;
        Sealer::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Sealer> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| anyhow::anyhow!("the credential key must be 32 bytes"))?;
        let mut id_hash = Sha256::new();
        id_hash.update(b"seatwarden credential key id\0");
        id_hash.update(bytes);
        Ok(Sealer {
            key: LessSafeKey::new(unbound),
            id: hex::encode(&id_hash.finalize()[..8]),
            random: SystemRandom::new(),
        })
    }

    /// The key's id, stored with what it seals (not secret: a hash prefix).
    pub fn key_id(&self) -> &str {
        &self.id
    }

    /// Seals `secret` for one tenant's connection.
    pub fn seal(&self, secret: &SecretString, sealed_for: SealedFor<'_>) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
        let mut sealed = Vec::with_capacity(1 + NONCE_LEN + secret.expose_secret().len() + 16);
        sealed.push(FORMAT);
        sealed.extend_from_slice(&nonce);
        let mut body = secret.expose_secret().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(sealed_for.aad()),
                &mut body,
            )
            .map_err(|_| anyhow::anyhow!("sealing the credential failed"))?;
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// Opens what [`Sealer::seal`] made for the same tenant and connection;
    /// `key_id` is the id stored with it.
    pub fn open(
        &self,
        sealed: &[u8],
        key_id: &str,
        sealed_for: SealedFor<'_>,
    ) -> Result<SecretString, OpenError> {
        if key_id != self.id {
            return Err(OpenError::OtherKey {
                sealed_with: key_id.to_string(),
                have: self.id.clone(),
            });
        }
        let Some((&FORMAT, rest)) = sealed.split_first() else {
            return Err(OpenError::Damaged);
        };
        if rest.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Damaged)?;
        let mut body = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(sealed_for.aad()), &mut body)
            .map_err(|_| OpenError::Damaged)?;
        let text = std::str::from_utf8(plain).map_err(|_| OpenError::Damaged)?;
        Ok(SecretString::from(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::from_bytes(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_tenant_and_connection_under_its_key() {
        let key = sealer(7);
        let here = SealedFor {
            tenant: "acme",
            connection: "acme-sr",
        };
        let secret = SecretString::from("token-123".to_string());
        let sealed = key.seal(&secret, here).unwrap();
        assert!(
            !sealed.windows(9).any(|w| w == b"token-123"),
            "the secret is not in clear"
        );
        assert_eq!(
            key.open(&sealed, key.key_id(), here)
                .unwrap()
                .expose_secret(),
            "token-123"
        );
        let other_tenant = SealedFor {
            tenant: "globex",
            connection: "acme-sr",
        };
        assert!(matches!(
            key.open(&sealed, key.key_id(), other_tenant),
            Err(OpenError::Damaged)
        ));
        let other_connection = SealedFor {
            tenant: "acme",
            connection: "acme-sr2",
        };
        assert!(matches!(
            key.open(&sealed, key.key_id(), other_connection),
            Err(OpenError::Damaged)
        ));
        let other_key = sealer(8);
        assert!(matches!(
            other_key.open(&sealed, key.key_id(), here),
            Err(OpenError::OtherKey { .. })
        ));
        // Lying about the key id does not help either.
        assert!(matches!(
            other_key.open(&sealed, other_key.key_id(), here),
            Err(OpenError::Damaged)
        ));
        let mut flipped = sealed.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(matches!(
            key.open(&flipped, key.key_id(), here),
            Err(OpenError::Damaged)
        ));
        assert!(matches!(
            key.open(&sealed[..5], key.key_id(), here),
            Err(OpenError::Damaged)
        ));
    }

    #[test]
    fn two_sealings_of_one_secret_differ() {
        let key = sealer(7);
        let here = SealedFor {
            tenant: "acme",
            connection: "a",
        };
        let secret = SecretString::from("same".to_string());
        assert_ne!(
            key.seal(&secret, here).unwrap(),
            key.seal(&secret, here).unwrap()
        );
    }

    #[test]
    fn a_key_that_is_not_32_bytes_of_base64_is_refused_with_how_to_make_one() {
        for text in ["", "not base64!", "AAAA"] {
            let err = format!("{:#}", Sealer::from_base64(text).unwrap_err());
            assert!(err.contains("head -c 32 /dev/urandom"), "{err}");
        }
        let good = base64::engine::general_purpose::STANDARD.encode([1u8; 32]);
        assert!(Sealer::from_base64(&format!("{good}\n")).is_ok());
    }
}
