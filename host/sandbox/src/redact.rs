//! Taking the host's own secrets back out of text that came from elsewhere.
//!
//! The guest never sees a credential, but the vendor does, and a vendor may
//! echo it: an error body quoting the API key, a TRACE-like endpoint that
//! reflects headers, a token endpoint repeating the client secret. Whatever
//! the connector then returns (error messages, log lines, stderr, account
//! fields) would carry the secret into logs, job results, the database and
//! the hash-chained audit log, where it could never be removed. So every
//! piece of connector- or vendor-derived text passes through the
//! connection's [`Redactor`] where it enters the host, and each secret the
//! host holds for that connection is replaced, in every form it travels in:
//! as is, base64 (standard and URL-safe, with or without padding), in an
//! HTTP Basic pair with its user, and percent-encoded. OAuth access tokens
//! are redacted too, as the host fetches them.

use crate::credentials::Credential;
use crate::oauth::OAuthClient;
use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use secrecy::ExposeSecret;
use std::borrow::Cow;
use std::sync::Arc;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for: a two-letter "secret"
/// would blank out ordinary words (such a credential is refused by no vendor,
/// but protects nothing either).
const MIN_SECRET_LEN: usize = 4;

/// Replaces one connection's secrets in text. Cheap to share.
#[derive(Default)]
pub struct Redactor {
    /// Every form of the fixed secrets, longest first (so a Basic pair is
    /// replaced whole before its parts).
    needles: Vec<String>,
    /// The same forms as one automaton: every string of every page passes
    /// through here, so one scan per string instead of one per form.
    automaton: Option<AhoCorasick>,
    /// Tokens this client fetched, looked up at each use (they change).
    oauth: Option<Arc<OAuthClient>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("forms", &self.needles.len())
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor for a connection's credential (none: nothing to redact).
    pub fn for_credential(credential: Option<&Credential>) -> Redactor {
        let mut needles = Vec::new();
        let oauth = match credential {
            None => None,
            Some(Credential::Secret(secret)) => {
                add_forms(&mut needles, secret.expose_secret());
                None
            }
            Some(Credential::Basic { user, secret }) => {
                add_forms(&mut needles, secret.expose_secret());
                add_basic(&mut needles, user, secret.expose_secret());
                None
            }
            Some(Credential::OAuth2(client)) => {
                needles.extend(client.own_redactor().needles.iter().cloned());
                Some(client.clone())
            }
        };
        Redactor::of(needles, oauth)
    }

    /// A redactor for these forms (and, for OAuth, the tokens issued).
    fn of(mut needles: Vec<String>, oauth: Option<Arc<OAuthClient>>) -> Redactor {
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        // Leftmost-longest: where a Basic pair and its secret overlap, the
        // pair is replaced whole.
        let automaton = (!needles.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&needles)
                .expect("a few literal secrets always build an automaton")
        });
        Redactor {
            needles,
            automaton,
            oauth,
        }
    }

    /// The forms of an OAuth client's secret: as is, encoded, and in the
    /// HTTP Basic pair the host authenticates to the token endpoint with
    /// (both raw and form-encoded, RFC 6749 §2.3.1).
    pub(crate) fn for_client(id: &str, secret: &str, id_form: &str, secret_form: &str) -> Redactor {
        let mut needles = Vec::new();
        add_forms(&mut needles, secret);
        add_basic(&mut needles, id, secret);
        add_basic(&mut needles, id_form, secret_form);
        Redactor::of(needles, None)
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let out = match &self.automaton {
            Some(automaton) if automaton.is_match(text) => {
                Cow::Owned(automaton.replace_all(text, &vec![REDACTED; self.needles.len()]))
            }
            _ => Cow::Borrowed(text),
        };
        match &self.oauth {
            Some(client) => replace_all(out, &client.issued_tokens()),
            None => out,
        }
    }

    /// Redacts `text` in place.
    pub fn redact_in_place(&self, text: &mut String) {
        if let Cow::Owned(clean) = self.redact(text) {
            *text = clean;
        }
    }
}

/// `text` with each of `needles` (those long enough) replaced by [`REDACTED`].
pub(crate) fn replace_all<'a>(mut text: Cow<'a, str>, needles: &[String]) -> Cow<'a, str> {
    for needle in needles {
        if needle.len() >= MIN_SECRET_LEN && text.contains(needle.as_str()) {
            text = Cow::Owned(text.replace(needle.as_str(), REDACTED));
        }
    }
    text
}

fn add_forms(needles: &mut Vec<String>, secret: &str) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    needles.push(secret.to_string());
    add_encodings(needles, secret.as_bytes());
    let escaped = percent_encode(secret);
    if escaped != secret {
        // Both hex cases: .NET's UrlEncode writes %2f.
        needles.push(lower_hex(&escaped));
        needles.push(escaped);
    }
    // A JSON encoder that escapes '/' (PHP's does).
    if secret.contains('/') {
        needles.push(secret.replace('/', "\\/"));
    }
}

/// The `user:secret` pair of HTTP Basic, base64-encoded.
fn add_basic(needles: &mut Vec<String>, user: &str, secret: &str) {
    if secret.len() < MIN_SECRET_LEN {
        return;
    }
    add_encodings(needles, format!("{user}:{secret}").as_bytes());
}

/// Padded and unpadded forms (the padded one is replaced first, being longer).
fn add_encodings(needles: &mut Vec<String>, bytes: &[u8]) {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        let encoded = engine.encode(bytes);
        if encoded.len() >= MIN_SECRET_LEN {
            needles.push(encoded);
        }
    }
}

/// `%2F` written as `%2f`: the hex digits after each `%` in lower case.
fn lower_hex(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    let mut after_percent = 0;
    for c in escaped.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters, as a
/// form body or a query string would carry the secret.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_a_key_in_every_form_it_travels_in() {
        let r = Redactor::for_credential(Some(&Credential::secret("k3y/with+chars")));
        let b64 = base64::engine::general_purpose::STANDARD.encode("k3y/with+chars");
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("k3y/with+chars");
        let text = format!("raw k3y/with+chars, b64 {b64}, url {url}, form k3y%2Fwith%2Bchars.");
        let clean = r.redact(&text);
        assert!(!clean.contains("k3y"), "{clean}");
        assert!(!clean.contains(&b64[..b64.len() - 2]), "{clean}");
        assert_eq!(clean.matches(REDACTED).count(), 4, "{clean}");
    }

    #[test]
    fn redacts_the_basic_pair_and_leaves_clean_text_borrowed() {
        let r = Redactor::for_credential(Some(&Credential::Basic {
            user: "svc".into(),
            secret: "pa55word!".to_string().into(),
        }));
        let header = base64::engine::general_purpose::STANDARD.encode("svc:pa55word!");
        assert_eq!(
            r.redact(&format!("echo: Authorization: Basic {header}")),
            format!("echo: Authorization: Basic {REDACTED}")
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
        let none = Redactor::for_credential(None);
        assert!(matches!(none.redact("pa55word!"), Cow::Borrowed(_)));
    }
}
