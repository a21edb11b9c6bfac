//! OAuth 2.0 client credentials (RFC 6749 §4.4), done by the host.
//!
//! The host, never the guest, exchanges the connection's client id and
//! secret for an access token at the token URL (which must be on the
//! connection's allowlist and passes the same address checks as guest
//! traffic), caches it until shortly before it expires, and fetches a new
//! one when the vendor answers 401 to a request that carried the cached
//! token. Concurrent calls share one fetch.

use crate::egress::policy::{AllowedOrigin, OriginScheme, PrivateTargets};
use crate::egress::transport::{Target, Transport, TransportLimits};
use crate::redact::Redactor;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use wasmtime_wasi_http::Error;

/// Tokens are renewed this long before the expiry the server announced.
const EXPIRY_MARGIN: Duration = Duration::from_secs(30);
/// The longest token lifetime believed (a day), whatever the endpoint says.
const MAX_LIFETIME_SECS: u64 = 86_400;
/// Used when the token response has no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// How the client proves itself at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuthentication {
    /// `Authorization: Basic` over the form-encoded id and secret
    /// (`client_secret_basic`): the RFC's default.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body
    /// (`client_secret_post`): what Microsoft's identity platform documents.
    Post,
}

impl ClientAuthentication {
    /// The word the configuration uses: `basic` or `post`.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuthentication::Basic => "basic",
            ClientAuthentication::Post => "post",
        }
    }
}

impl std::str::FromStr for ClientAuthentication {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "basic" => Ok(ClientAuthentication::Basic),
            "post" => Ok(ClientAuthentication::Post),
            other => Err(format!(
                "{other:?} is not a client authentication: use \"basic\" (HTTP Basic, the default) or \"post\" (client_secret in the form body)"
            )),
        }
    }
}

struct Cached {
    header: http::HeaderValue,
    expires_at: Instant,
}

/// A client registration and its token cache, shared by every call on a connection.
pub struct OAuthClient {
    client_id: String,
    client_secret: SecretString,
    token_url: String,
    scope: Option<String>,
    client_authentication: ClientAuthentication,
    cache: Mutex<Option<Cached>>,
    fetch: tokio::sync::Mutex<()>,
    fetches: std::sync::atomic::AtomicU32,
    /// The client secret in every form it travels in, for redaction.
    own: Redactor,
    /// The newest access tokens issued, for redaction (a vendor may echo
    /// one after it was replaced).
    issued: Mutex<std::collections::VecDeque<SecretString>>,
}

/// Access tokens remembered for redaction.
const ISSUED_KEPT: usize = 4;

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .field("scope", &self.scope)
            .field("client_authentication", &self.client_authentication)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: Option<String>,
    expires_in: Option<u64>,
}

impl OAuthClient {
    /// A client for one registration, asking for `scope` if given. No token is fetched
    /// before the first request needs one.
    pub fn new(
        client_id: String,
        client_secret: SecretString,
        token_url: String,
        scope: Option<String>,
    ) -> Self {
        let own = Redactor::for_client(
            &client_id,
            client_secret.expose_secret(),
            &form_encode(&client_id),
            &form_encode(client_secret.expose_secret()),
        );
        OAuthClient {
            client_id,
            client_secret,
            token_url,
            scope,
            client_authentication: ClientAuthentication::Basic,
            cache: Mutex::new(None),
            fetch: tokio::sync::Mutex::new(()),
            fetches: Default::default(),
            own,
            issued: Mutex::default(),
        }
    }

    /// The same client, proving itself at the token endpoint as `how` says.
    pub fn with_client_authentication(mut self, how: ClientAuthentication) -> Self {
        self.client_authentication = how;
        self
    }

    /// The client secret's redaction forms (without the issued tokens).
    pub(crate) fn own_redactor(&self) -> &Redactor {
        &self.own
    }

    /// The access tokens issued lately, for redaction only.
    pub(crate) fn issued_tokens(&self) -> Vec<String> {
        self.issued
            .lock()
            .expect("issued tokens poisoned")
            .iter()
            .map(|t| t.expose_secret().to_string())
            .collect()
    }

    /// `message` without the client secret or an issued token in it.
    fn redacted(&self, message: String) -> String {
        let own = self.own.redact(&message);
        crate::redact::replace_all(own, &self.issued_tokens()).into_owned()
    }

    /// The token endpoint, for the allowlist check.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }

    /// How many tokens were fetched so far.
    pub fn fetches(&self) -> u32 {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn cached(&self) -> Option<http::HeaderValue> {
        let cache = self.cache.lock().expect("token cache poisoned");
        cache
            .as_ref()
            .filter(|c| Instant::now() + EXPIRY_MARGIN < c.expires_at)
            .map(|c| c.header.clone())
    }

    /// Drops the cached token if it is still `stale` (a 401 answered it).
    pub fn invalidate(&self, stale: &http::HeaderValue) {
        let mut cache = self.cache.lock().expect("token cache poisoned");
        if cache.as_ref().is_some_and(|c| c.header == *stale) {
            *cache = None;
        }
    }

    /// The `Authorization: Bearer` value to send, fetching a token if needed.
    pub(crate) async fn authorization(
        &self,
        transport: &Transport,
        private_targets: PrivateTargets,
        limits: TransportLimits,
    ) -> Result<http::HeaderValue, String> {
        if let Some(header) = self.cached() {
            return Ok(header);
        }
        let _one_fetch = self.fetch.lock().await;
        if let Some(header) = self.cached() {
            return Ok(header);
        }
        let (header, lifetime) = self
            .fetch_token(transport, private_targets, limits)
            .await
            .map_err(|message| self.redacted(message))?;
        *self.cache.lock().expect("token cache poisoned") = Some(Cached {
            header: header.clone(),
            expires_at: Instant::now() + lifetime,
        });
        Ok(header)
    }

    async fn fetch_token(
        &self,
        transport: &Transport,
        private_targets: PrivateTargets,
        limits: TransportLimits,
    ) -> Result<(http::HeaderValue, Duration), String> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let origin = AllowedOrigin::parse(&self.token_url).map_err(|e| e.to_string())?;
        let crate::egress::policy::HostPattern::Exact(host) = origin.host else {
            return Err("the token URL may not contain a wildcard".into());
        };
        let target = Target {
            host,
            port: origin.port,
            https: origin.scheme == OriginScheme::Https,
            private_targets,
            carries_credential: true,
        };
        let mut form = String::from("grant_type=client_credentials");
        if let Some(scope) = &self.scope {
            form.push_str("&scope=");
            form.push_str(&form_encode(scope));
        }
        // One client authentication method per request, never two
        // (RFC 6749 §2.3).
        let authorization = match self.client_authentication {
            ClientAuthentication::Basic => {
                let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    form_encode(&self.client_id),
                    form_encode(self.client_secret.expose_secret())
                ));
                let mut value =
                    http::HeaderValue::from_str(&format!("Basic {basic}")).map_err(|_| {
                        "the client id or secret contains characters not allowed in a header"
                            .to_string()
                    })?;
                value.set_sensitive(true);
                Some(value)
            }
            ClientAuthentication::Post => {
                form.push_str("&client_id=");
                form.push_str(&form_encode(&self.client_id));
                form.push_str("&client_secret=");
                form.push_str(&form_encode(self.client_secret.expose_secret()));
                None
            }
        };
        let authority = self
            .token_url
            .split("://")
            .nth(1)
            .and_then(|r| r.split(['/', '?']).next())
            .unwrap_or_default();
        let mut request =
            http::Request::post(&self.token_url).header(http::header::HOST, authority);
        if let Some(authorization) = authorization {
            request = request.header(http::header::AUTHORIZATION, authorization);
        }
        let request = request
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(
                Full::new(Bytes::from(form))
                    .map_err(|never| match never {})
                    .boxed_unsync(),
            )
            .map_err(|e| format!("building the token request: {e}"))?;
        let refused = |denial: &crate::egress::Denial| {
            tracing::warn!(token_url = %self.token_url, rule = %denial, "sandbox refused the OAuth token request");
        };
        let response = transport
            .send(target, request, None, limits, None, refused)
            .await
            .map_err(|e| format!("the token request to {} failed: {e}", self.token_url))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_TOKEN_RESPONSE)
            .collect()
            .await
            .map_err(|e| format!("reading the token response from {}: {e}", self.token_url))?
            .to_bytes();
        if !status.is_success() {
            // Redacted whole, then cut: a cut could split an echoed secret
            // into a piece no redaction recognises.
            let excerpt: String = self
                .redacted(String::from_utf8_lossy(&body).into_owned())
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            return Err(format!(
                "the token endpoint {} answered {status} (check the client id and secret): {excerpt}",
                self.token_url
            ));
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            format!(
                "the token endpoint {} answered no access_token: {e}",
                self.token_url
            )
        })?;
        if token
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(format!(
                "the token endpoint issued a {:?} token; only bearer tokens are supported",
                token.token_type
            ));
        }
        let mut header = http::HeaderValue::from_str(&format!("Bearer {}", token.access_token))
            .map_err(|_| {
                "the access token contains characters not allowed in a header".to_string()
            })?;
        header.set_sensitive(true);
        {
            let mut issued = self.issued.lock().expect("issued tokens poisoned");
            if issued.len() == ISSUED_KEPT {
                issued.pop_front();
            }
            issued.push_back(SecretString::from(token.access_token));
        }
        // The endpoint's number is capped: `Instant + u64::MAX s` would panic.
        let lifetime = token.expires_in.map_or(DEFAULT_LIFETIME, |secs| {
            Duration::from_secs(secs.min(MAX_LIFETIME_SECS))
        });
        Ok((header, lifetime))
    }
}

/// `application/x-www-form-urlencoded` for one value (also what RFC 6749
/// §2.3.1 asks for the client id and secret inside HTTP Basic).
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Whether the error from a token fetch should become the guest-visible code.
pub(crate) fn token_error(message: String) -> Error {
    tracing::warn!(error = %message, "OAuth token fetch failed");
    Error::InternalError(Some(message))
}
