//! Signing people in to the console through their company's OpenID
//! Connect provider: the authorization code flow with PKCE (RFC 7636),
//! configured per tenant (`[tenants.NAME.sign_on]`).
//!
//! [`begin`] stores the attempt in the database and hands back the
//! provider's authorization URL and the PKCE verifier, which the browser
//! keeps in a cookie; [`finish`] takes the attempt back by its `state`
//! (once), checks the browser holds the verifier the attempt was made
//! with, redeems the code, and accepts the ID token only when
//! `openidconnect` has checked its signature against the provider's keys,
//! its issuer, audience, expiry and nonce. Which scope the person gets
//! comes from the tenant's configuration (groups or a default); a person
//! it grants nothing is refused. Nothing lives in memory between the two
//! requests, so they may land on different server processes.
//!
//! Every request to the provider goes through the host's checked
//! transport: the provider is on the public internet unless the operator
//! said otherwise, answers are capped and no redirect is followed.

use crate::App;
use crate::console_sessions::{Opened, SESSION_MS, open_session};
use crate::tokens::check_name;
use base64::Engine as _;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, TokenResponse,
};
use seatwarden_config::SignOnSettings;
use seatwarden_sandbox::egress::host_fetch;
use seatwarden_sandbox::egress::transport::TransportLimits;
use seatwarden_sandbox::egress::{PrivateTargets, Transport};
use seatwarden_store::{NewSignOn, StoreError, TenantId};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::time::Duration;
use subtle::ConstantTimeEq;

/// How long a person has at the provider before the attempt lapses.
pub const ATTEMPT_MS: i64 = 10 * 60 * 1000;
/// The most attempts one tenant keeps in flight; a new one beyond it
/// pushes out the oldest (a stranger starting sign-ins in a loop delays
/// people at the provider, but cannot lock everyone out).
const MAX_PENDING: i64 = 1_000;
/// The most groups read from an ID token.
const MAX_GROUPS: usize = 1_000;
/// Waits and caps for every request to a provider.
const LIMITS: TransportLimits = TransportLimits {
    connect_timeout: Duration::from_secs(10),
    read_timeout: Duration::from_secs(15),
    response_body_bytes: 1024 * 1024,
};

/// Why a sign-in did not happen.
#[derive(Debug, thiserror::Error)]
pub enum SignOnError {
    /// The tenant does not exist or signs in with tokens only.
    #[error("{0} does not sign in through an identity provider here")]
    NotOffered(String),
    /// The provider could not be reached or answered something unusable:
    /// `step` is for the person at the browser, `detail` (addresses, the
    /// provider's words) for the server's log only.
    #[error("the identity provider failed: {step}")]
    Provider {
        /// What failed, in words that reveal nothing of the setup.
        step: String,
        /// Why, for the operator.
        detail: String,
    },
    /// The callback does not belong to a live attempt of this browser, or
    /// its ID token did not pass the checks.
    #[error("{0}")]
    Refused(String),
    /// The provider vouched for the person, and the tenant grants them nothing.
    #[error("{0}")]
    NotAllowed(String),
    /// Anything else (the database, a missing client secret).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A provider failure: `step` shown, `detail` logged.
fn provider_failed(step: impl Into<String>, detail: impl Into<String>) -> SignOnError {
    SignOnError::Provider {
        step: step.into(),
        detail: detail.into(),
    }
}

impl From<StoreError> for SignOnError {
    fn from(err: StoreError) -> SignOnError {
        SignOnError::Internal(err.into())
    }
}

/// An attempt under way: where to send the browser, and what it keeps.
pub struct Started {
    /// The provider's authorization URL, with state, nonce and challenge.
    pub authorize_url: String,
    /// The PKCE verifier; the browser keeps it (in a cookie) for the callback.
    pub binding: SecretString,
    /// What tells this attempt's cookie from another tab's ([`slot`]).
    pub slot: String,
}

/// A short name for an attempt, from its `state`: the browser keeps each
/// attempt's verifier in a cookie of its own, so a second sign-in started
/// in another tab does not overwrite the first one's.
pub fn slot(state: &str) -> String {
    sha256_hex(state)[..12].to_string()
}

/// What the provider sent the browser back with.
pub struct Callback<'a> {
    /// The `state` parameter.
    pub state: &'a str,
    /// The `code` parameter, or `None` when the provider sent an error.
    pub code: Option<&'a str>,
    /// The `error` and `error_description` parameters, if any.
    pub error: Option<(&'a str, &'a str)>,
    /// The `iss` parameter (RFC 9207), if the provider sends one.
    pub issuer: Option<&'a str>,
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The tenant's id, display name and sign-on settings.
async fn offered(
    app: &App,
    tenant_name: &str,
) -> Result<(TenantId, String, SignOnSettings), SignOnError> {
    let not_offered = || SignOnError::NotOffered(format!("organisation {tenant_name:?}"));
    let tenant = app
        .config
        .tenants
        .get(tenant_name)
        .ok_or_else(not_offered)?;
    let settings = tenant.sign_on.clone().ok_or_else(not_offered)?;
    // A tenant the file configures is created on first use, as `apply` would.
    let id = app
        .storage
        .ensure_tenant(tenant_name, app.now())
        .await
        .map_err(|e| SignOnError::Internal(e.into()))?;
    Ok((id, tenant.display_name.clone(), settings))
}

/// Whether a tenant offers single sign-on, and its display name.
pub fn display_name(app: &App, tenant_name: &str) -> Option<String> {
    app.config
        .tenants
        .get(tenant_name)
        .filter(|t| t.sign_on.is_some())
        .map(|t| t.display_name.clone())
}

/// One provider, discovered, with the client Seatwarden is registered as.
struct Provider {
    client: openidconnect::core::CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    settings: SignOnSettings,
    http: ProviderHttp,
}

/// The HTTP client `openidconnect` sends through: the host's checked
/// transport under the tenant's address policy.
struct ProviderHttp {
    transport: Transport,
    private_targets: PrivateTargets,
}

impl<'c> openidconnect::AsyncHttpClient<'c> for ProviderHttp {
    type Error = FetchError;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<openidconnect::HttpResponse, FetchError>> + Send + 'c>,
    >;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(fetch(&self.transport, self.private_targets, request))
    }
}

/// A provider request failed; the text says where and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct FetchError(String);

impl Provider {
    async fn discover(app: &App, settings: SignOnSettings) -> Result<Provider, SignOnError> {
        let http = ProviderHttp {
            transport: Transport::trusting(&app.config.trusted_roots),
            private_targets: settings.private_targets,
        };
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|e| {
            provider_failed(
                "its issuer is not a URL",
                format!("{}: {e}", settings.issuer),
            )
        })?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| {
                let detail = format!("discovery at {}: {}", settings.issuer, chain(&e));
                if detail.contains("was refused") {
                    provider_failed(
                        "the server's address rules do not allow contacting it (see private_targets)",
                        detail,
                    )
                } else {
                    provider_failed("its discovery document could not be read", detail)
                }
            })?;
        let methods = metadata.token_endpoint_auth_methods_supported().cloned();
        let secret = settings
            .client_secret
            .load()
            .map_err(|e| SignOnError::Internal(e.context("reading the sign-on client secret")))?;
        let redirect = RedirectUrl::new(settings.redirect_uri.clone())
            .map_err(|e| SignOnError::Internal(anyhow::anyhow!("redirect_uri: {e}")))?;
        let mut client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(settings.client_id.clone()),
            Some(ClientSecret::new(secret.expose_secret().to_string())),
        )
        .set_redirect_uri(redirect);
        // HTTP Basic unless the provider only takes the secret in the body.
        if let Some(methods) = methods
            && !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
            && methods.contains(&CoreClientAuthMethod::ClientSecretPost)
        {
            client = client.set_auth_type(AuthType::RequestBody);
        }
        Ok(Provider {
            client,
            settings,
            http,
        })
    }
}

/// One request to the provider through the checked transport.
async fn fetch(
    transport: &Transport,
    private_targets: PrivateTargets,
    request: openidconnect::HttpRequest,
) -> Result<openidconnect::HttpResponse, FetchError> {
    // Everything from the provider decides who signs in (its keys above
    // all): over plain http only to a non-public address, like a credential.
    let carries = true;
    host_fetch::fetch(transport, request, private_targets, carries, LIMITS)
        .await
        .map_err(FetchError)
}

/// An error and its causes, on one line, cut to a readable length.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    plain_excerpt(&text, 300)
}

/// `text` without control or invisible characters, at most `max` characters.
fn plain_excerpt(text: &str, max: usize) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !seatwarden_domain::text::rewrites_display(*c))
        .take(max)
        .collect()
}

/// Starts a sign-in for `tenant_name`: stores the attempt and returns
/// where to send the browser.
pub async fn begin(app: &App, tenant_name: &str) -> Result<Started, SignOnError> {
    let (tenant, _, settings) = offered(app, tenant_name).await?;
    let provider = Provider::discover(app, settings).await?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = provider.client.authorize_url(
        CoreAuthenticationFlow::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for scope in &provider.settings.scopes {
        request = request.add_scope(openidconnect::Scope::new(scope.clone()));
    }
    let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
    let at = app.now();
    app.storage
        .begin_sign_on(
            &NewSignOn {
                state_hash: &sha256_hex(state.secret()),
                tenant,
                binding_hash: &sha256_hex(verifier.secret()),
                nonce: nonce.secret(),
                at,
                expires_at: at + ATTEMPT_MS,
            },
            MAX_PENDING,
        )
        .await?;
    Ok(Started {
        authorize_url: url.to_string(),
        binding: SecretString::from(verifier.secret().clone()),
        slot: slot(state.secret()),
    })
}

/// Finishes a sign-in the provider sent back: opens a session for the
/// person it vouched for, with the scope the tenant grants them.
pub async fn finish(
    app: &App,
    callback: &Callback<'_>,
    binding: Option<&str>,
) -> Result<Opened, SignOnError> {
    let refused = |why: &str| SignOnError::Refused(why.to_string());
    // Taken first, whatever follows: a state is good for one try.
    let pending = app
        .storage
        .take_sign_on(&sha256_hex(callback.state), app.now())
        .await?
        .ok_or_else(|| refused("this sign-in is unknown, already used or expired; start again"))?;
    let binding = binding.ok_or_else(|| {
        refused("this browser did not start this sign-in (its sign-in cookie is missing); start again from the sign-in page")
    })?;
    let matches: bool = sha256_hex(binding)
        .as_bytes()
        .ct_eq(pending.binding_hash.as_bytes())
        .into();
    if !matches {
        return Err(refused(
            "this sign-in was started in another browser; start again from the sign-in page",
        ));
    }
    let (tenant, tenant_name) = pending.tenant;
    let (_, display, settings) = offered(app, &tenant_name).await?;
    if let Some((error, description)) = callback.error {
        return Err(SignOnError::Refused(format!(
            "the identity provider did not sign you in: {} {}",
            plain_excerpt(error, 60),
            plain_excerpt(description, 200)
        )));
    }
    // RFC 9207: a provider that names itself must be the one asked.
    if let Some(issuer) = callback.issuer
        && issuer != settings.issuer
    {
        return Err(refused(
            "the answer came from another identity provider than the one this sign-in went to",
        ));
    }
    let code = callback
        .code
        .ok_or_else(|| refused("the identity provider sent no authorization code"))?;
    let provider = Provider::discover(app, settings).await?;
    let tokens = provider
        .client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| provider_failed("it names no token endpoint", e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(binding.to_string()))
        .request_async(&provider.http)
        .await
        .map_err(|e| provider_failed("the authorization code could not be redeemed", chain(&e)))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| provider_failed("its token response has no ID token", ""))?;
    // The provider's public keys only (never the client secret as an
    // HMAC key): the asymmetric algorithms providers sign with.
    let verifier = provider.client.id_token_verifier().set_allowed_algs([
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let claims = id_token
        .claims(&verifier, &Nonce::new(pending.nonce))
        .map_err(|e| {
            refused(&format!(
                "the ID token did not pass its checks: {}",
                chain(&e)
            ))
        })?;
    let subject = claims.subject().as_str().to_string();
    if let Some(party) = claims.authorized_party()
        && party.as_str() != provider.settings.client_id
    {
        return Err(refused("the ID token was issued to another client"));
    }
    // The token's signature is checked over these very bytes; read the
    // configured claims (any name, the groups a list) from its payload.
    let mut payload = verified_payload(&id_token.to_string())?;
    // A provider may keep them for its userinfo answer (as the spec has
    // it when an access token is issued): ask there for the missing ones
    // (never to replace what the signed token says).
    let wanted: Vec<&String> = [
        &provider.settings.person_claim,
        &provider.settings.groups_claim,
    ]
    .into_iter()
    .chain(provider.settings.required_claims.keys())
    .collect();
    if wanted
        .iter()
        .any(|claim| !payload.contains_key(claim.as_str()))
        && let Some(url) = provider.client.user_info_url()
    {
        let answered = user_info(
            &provider.http,
            url.as_str(),
            tokens.access_token().secret(),
            &subject,
        )
        .await?;
        for claim in wanted {
            if let Some(value) = answered.get(claim.as_str())
                && !payload.contains_key(claim.as_str())
            {
                payload.insert(claim.to_string(), value.clone());
            }
        }
        if let Some(verified) = answered.get("email_verified")
            && !payload.contains_key("email_verified")
        {
            payload.insert("email_verified".into(), verified.clone());
        }
    }
    let person = person(&payload, &provider.settings)?;
    let groups = groups(&payload, &provider.settings.groups_claim);
    let scope = provider.settings.scope_for(&groups).ok_or_else(|| {
        SignOnError::NotAllowed(format!(
            "{person} signed in at the identity provider, and {display}'s Seatwarden grants that account no access (it is in none of the groups the configuration names); ask your administrator"
        ))
    })?;
    let how = format!(
        "by single sign-on through {} (subject {})",
        provider.settings.issuer,
        plain_excerpt(&subject, 120)
    );
    let opened = open_session(app, tenant, &person, scope, SESSION_MS, &how).await?;
    Ok(opened)
}

/// The provider's userinfo answer for the person the ID token named: a
/// JSON object whose `sub` must be the token's (OpenID Connect Core 5.3.2).
async fn user_info(
    http: &ProviderHttp,
    url: &str,
    access_token: &str,
    subject: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, SignOnError> {
    let failed = |why: String| {
        provider_failed(
            "its userinfo answer could not be read",
            format!("userinfo endpoint {url}: {why}"),
        )
    };
    let mut authorization = http::HeaderValue::from_str(&format!("Bearer {access_token}"))
        .map_err(|_| failed("the access token is not a valid header value".into()))?;
    authorization.set_sensitive(true);
    let request = http::Request::get(url)
        .header(http::header::AUTHORIZATION, authorization)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|e| failed(e.to_string()))?;
    let response = fetch(&http.transport, http.private_targets, request)
        .await
        .map_err(|e| failed(e.0))?;
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    let claims: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(response.body()).map_err(|_| {
            failed("the answer is not a JSON object (a signed userinfo answer is not read)".into())
        })?;
    if claims.get("sub").and_then(serde_json::Value::as_str) != Some(subject) {
        return Err(SignOnError::Refused(
            "the identity provider's userinfo answer is about another account than its ID token"
                .into(),
        ));
    }
    Ok(claims)
}

/// The JSON payload of a compact JWS whose signature was already checked.
fn verified_payload(jws: &str) -> Result<serde_json::Map<String, serde_json::Value>, SignOnError> {
    let part = jws
        .split('.')
        .nth(1)
        .ok_or_else(|| provider_failed("its ID token could not be read", "not a compact JWS"))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| {
            provider_failed(
                "its ID token could not be read",
                "the payload is not base64url",
            )
        })?;
    serde_json::from_slice(&bytes).map_err(|_| {
        provider_failed(
            "its ID token could not be read",
            "the payload is not a JSON object",
        )
    })
}

/// The person the token names, by the configured claim, once the claims
/// the configuration requires hold.
fn person(
    payload: &serde_json::Map<String, serde_json::Value>,
    settings: &SignOnSettings,
) -> Result<String, SignOnError> {
    for (claim, wanted) in &settings.required_claims {
        if payload.get(claim).and_then(serde_json::Value::as_str) != Some(wanted.as_str()) {
            return Err(SignOnError::NotAllowed(format!(
                "the identity provider signed in an account outside this organisation (its {claim:?} is not the one the configuration requires)"
            )));
        }
    }
    let claim = &settings.person_claim;
    let value = payload
        .get(claim)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            provider_failed(
                format!("it named no {claim:?} for the person"),
                format!("neither the ID token nor the userinfo answer has a string {claim:?} claim; release it at the provider, or set person_claim"),
            )
        })?;
    // An address the provider has not verified names nobody (and some
    // providers let users set it themselves): only `true` will do.
    if claim == "email" && payload.get("email_verified") != Some(&serde_json::Value::Bool(true)) {
        return Err(SignOnError::NotAllowed(
            "the identity provider does not say this account's e-mail address is verified, so it cannot name you here; ask your administrator (a provider without email_verified, such as Entra ID, is configured with person_claim = \"preferred_username\")".into(),
        ));
    }
    check_name(value).map_err(|_| {
        provider_failed(
            format!("its {claim:?} is not a plain name"),
            format!("the {claim:?} claim has control or invisible characters or is over 200 bytes"),
        )
    })?;
    Ok(value.to_string())
}

/// The groups the token lists under `claim` (strings only, bounded).
fn groups(payload: &serde_json::Map<String, serde_json::Value>, claim: &str) -> Vec<String> {
    match payload.get(claim) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(serde_json::Value::as_str)
            .filter(|g| g.len() <= 256)
            .take(MAX_GROUPS)
            .map(str::to_string)
            .collect(),
        Some(serde_json::Value::String(one)) if one.len() <= 256 => vec![one.clone()],
        _ => Vec::new(),
    }
}
