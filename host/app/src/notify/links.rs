//! Signed, single-use answer links: what lets a user say "keep" or
//! "release" about their own seat without an account in Seatwarden.
//!
//! A link carries the candidate, the answer, an expiry (the reclamation
//! date) and a random nonce, signed with HMAC-SHA256 under the deployment's
//! link key. The signature makes links unforgeable; the expiry ends them at
//! the reclamation date; the nonce makes them single-use: the database keeps
//! only its SHA-256 and clears it when either of a candidate's two links is
//! used, so the pair works once, and a new notice replaces the old pair.

use anyhow::{Result, bail};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use seatwarden_domain::candidate_state::Decision;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::fmt;

/// Shortest link key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// Domain separation: a signature over anything else never verifies here.
const CONTEXT: &[u8] = b"seatwarden answer link v1\n";

/// Signs and checks answer links.
pub struct LinkSigner {
    key: hmac::Key,
    rng: SystemRandom,
}

/// A fresh pair of links for one candidate.
pub struct IssuedLinks {
    /// Stored with the candidate; the links must present the matching nonce.
    pub nonce_hash: String,
    /// The signed token that answers "keep", for the answer URL's `t` parameter.
    pub keep: String,
    /// The signed token that answers "release", for the answer URL's `t` parameter.
    pub release: String,
}

/// What a verified link says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkClaim {
    /// The id of the candidate the link answers for.
    pub candidate: i64,
    /// The answer the link gives: keep the seat or release it.
    pub decision: Decision,
    /// When the link stops working (the reclamation date), in milliseconds since the epoch.
    pub expires_at: i64,
    /// Hex SHA-256 of the link's nonce, to match against the candidate's stored one.
    pub nonce_hash: String,
}

/// Why a link is not accepted. The texts are shown to the person who
/// clicked, so they say what happened without detail an attacker could use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// The token does not decode into a link's fields.
    Malformed,
    /// The token was not signed under this deployment's link key, or was altered.
    BadSignature,
    /// The link was genuine but its expiry (the reclamation date) has passed.
    Expired,
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LinkError::Malformed | LinkError::BadSignature => {
                "this link is not valid; use the link from the message exactly as it was sent"
            }
            LinkError::Expired => {
                "this link has expired: the reclamation date has passed; ask your administrator"
            }
        })
    }
}

impl std::error::Error for LinkError {}

impl LinkSigner {
    /// A signer under `key`, which must be at least [`MIN_KEY_BYTES`] long.
    pub fn new(key: &SecretString) -> Result<LinkSigner> {
        let bytes = key.expose_secret().as_bytes();
        if bytes.len() < MIN_KEY_BYTES {
            bail!(
                "the link key is {} bytes; it must be at least {MIN_KEY_BYTES} (generate one with `openssl rand -base64 32`)",
                bytes.len()
            );
        }
        Ok(LinkSigner {
            key: hmac::Key::new(hmac::HMAC_SHA256, bytes),
            rng: SystemRandom::new(),
        })
    }

    /// A keep link and a release link for `candidate`, valid until
    /// `expires_at` (ms) and only with the returned nonce.
    pub fn issue(&self, candidate: i64, expires_at: i64) -> Result<IssuedLinks> {
        let mut nonce = [0u8; 16];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| anyhow::anyhow!("the system random generator failed"))?;
        let nonce = hex::encode(nonce);
        let token = |decision: Decision| {
            let payload = format!("{candidate}.{}.{expires_at}.{nonce}", decision.as_str());
            let tag = hmac::sign(&self.key, &[CONTEXT, payload.as_bytes()].concat());
            format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(payload),
                URL_SAFE_NO_PAD.encode(tag.as_ref())
            )
        };
        Ok(IssuedLinks {
            nonce_hash: nonce_hash(&nonce),
            keep: token(Decision::Keep),
            release: token(Decision::Release),
        })
    }

    /// Checks a link's signature and expiry at `now`. Whether it was used
    /// already is the database's to say (by its nonce hash).
    pub fn verify(&self, token: &str, now: i64) -> Result<LinkClaim, LinkError> {
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Malformed)?;
        hmac::verify(&self.key, &[CONTEXT, &payload].concat(), &tag)
            .map_err(|_| LinkError::BadSignature)?;
        // Signed by us, so well formed unless the format changed.
        let payload = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
        let mut parts = payload.split('.');
        let (Some(candidate), Some(decision), Some(expires_at), Some(nonce), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(LinkError::Malformed);
        };
        let decision = match decision {
            "keep" => Decision::Keep,
            "release" => Decision::Release,
            _ => return Err(LinkError::Malformed),
        };
        let candidate = candidate.parse().map_err(|_| LinkError::Malformed)?;
        let expires_at: i64 = expires_at.parse().map_err(|_| LinkError::Malformed)?;
        if now >= expires_at {
            return Err(LinkError::Expired);
        }
        Ok(LinkClaim {
            candidate,
            decision,
            expires_at,
            nonce_hash: nonce_hash(nonce),
        })
    }
}

fn nonce_hash(nonce: &str) -> String {
    hex::encode(Sha256::digest(nonce.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(key: &str) -> LinkSigner {
        LinkSigner::new(&SecretString::from(key.to_string())).unwrap()
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn issued_links_verify_until_they_expire() {
        let s = signer(KEY);
        let links = s.issue(42, 1_000).unwrap();
        let keep = s.verify(&links.keep, 999).unwrap();
        assert_eq!(keep.candidate, 42);
        assert_eq!(keep.decision, Decision::Keep);
        assert_eq!(keep.nonce_hash, links.nonce_hash);
        let release = s.verify(&links.release, 0).unwrap();
        assert_eq!(release.decision, Decision::Release);
        assert_eq!(release.nonce_hash, links.nonce_hash, "one nonce per pair");
        assert_eq!(s.verify(&links.keep, 1_000), Err(LinkError::Expired));
    }

    #[test]
    fn forged_or_altered_links_fail() {
        let s = signer(KEY);
        let links = s.issue(42, i64::MAX).unwrap();
        // Another deployment's key.
        let other = signer("another key that is long enough!!");
        assert_eq!(other.verify(&links.keep, 0), Err(LinkError::BadSignature));
        // Turning a keep link into a release link (or another candidate's)
        // breaks the signature.
        let (payload, tag) = links.keep.split_once('.').unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        for altered in [
            text.replace(".keep.", ".release."),
            text.replacen("42", "43", 1),
        ] {
            let token = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(altered));
            assert_eq!(s.verify(&token, 0), Err(LinkError::BadSignature));
        }
        for junk in ["", "abc", "a.b", "....", &links.keep[1..]] {
            assert!(s.verify(junk, 0).is_err(), "{junk:?}");
        }
        // Two issues for the same candidate differ (new nonce).
        let again = s.issue(42, i64::MAX).unwrap();
        assert_ne!(again.nonce_hash, links.nonce_hash);
    }

    #[test]
    fn short_keys_are_refused() {
        let err = LinkSigner::new(&SecretString::from("short".to_string()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("at least 32"), "{err}");
    }
}
