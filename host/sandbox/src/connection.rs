//! A connection: where one profile's connector talks to, and with what.
//!
//! Built from the connector's descriptor plus the operator's settings. The
//! allowlist is derived here and only here: the origin of the base URL, plus
//! any hosts the operator added explicitly. The connector's own default hosts
//! never widen it. A connection whose auth scheme needs a secret must have
//! one, and sends it over HTTPS only (plain HTTP to loopback or private
//! targets the connection allows is the one exception).

use crate::contract::types;
use crate::credentials::{AuthScheme, Credential, auth_header};
use crate::descriptor::Descriptor;
use crate::egress::hooks::DenialLog;
use crate::egress::policy::{AddressClass, HostPattern, OriginScheme, classify};
use crate::egress::{AllowedOrigin, EgressPolicy, KeepAlive, PrivateTargets, Tap};
use crate::ratelimit::TokenBucket;
use crate::redact::Redactor;
use anyhow::{Context, Result, bail};
use std::sync::Arc;

/// Settings, allowlist and credential for calls on behalf of one profile.
#[derive(Clone, Debug)]
pub struct Connection {
    pub(crate) settings: types::Settings,
    pub(crate) egress: Arc<EgressPolicy>,
    pub(crate) credential: Option<Credential>,
    /// The effective auth scheme: the connector's, or the connection's
    /// choice when the connector leaves it to the operator.
    pub(crate) auth: AuthScheme,
    pub(crate) denial_log: Option<DenialLog>,
    /// The vendor rate limit of this connection's credential.
    pub(crate) rate_limiter: Option<Arc<TokenBucket>>,
    /// Idle HTTP/1.1 connections kept for the next request (this
    /// connection's alone); `None`: a new connection per request.
    pub(crate) keep_alive: Option<Arc<KeepAlive>>,
    /// The conformance kit's recorder and fault injector, if any.
    pub(crate) tap: Option<Arc<Tap>>,
    /// Takes this connection's secrets out of whatever the connector or
    /// the vendor says.
    pub(crate) redactor: Arc<Redactor>,
}

/// Builds a [`Connection`] from a descriptor and the operator's choices.
#[derive(Clone, Debug, Default)]
pub struct ConnectionBuilder {
    base_url: Option<String>,
    region: Option<String>,
    extra_hosts: Vec<String>,
    private_targets: PrivateTargets,
    credential: Option<Credential>,
    options: Vec<(String, String)>,
    auth: Option<AuthScheme>,
    denial_log: Option<DenialLog>,
    rate_limiter: Option<Arc<TokenBucket>>,
    no_keep_alive: bool,
    tap: Option<Arc<Tap>>,
}

impl Connection {
    /// Starts a connection; without a base URL the connector's default is used.
    pub fn builder() -> ConnectionBuilder {
        ConnectionBuilder::default()
    }

    /// The base URL the connector is given.
    pub fn base_url(&self) -> &str {
        &self.settings.base_url
    }

    /// The auth scheme the host applies on this connection.
    pub fn auth_scheme(&self) -> &AuthScheme {
        &self.auth
    }

    /// The value of one of the connector's options on this connection.
    pub fn option(&self, name: &str) -> Option<&str> {
        self.settings
            .options
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The same connection with option `name` set to `value` (replacing
    /// it where set): an identity provider's connection pointed at another
    /// of its applications, with the same credential, allowlist and pace.
    pub fn with_option(&self, name: &str, value: &str) -> Connection {
        let mut other = self.clone();
        other.settings.options.retain(|(key, _)| key != name);
        other
            .settings
            .options
            .push((name.to_string(), value.to_string()));
        other
    }

    /// The rate its requests are spaced at (per credential), if any.
    pub fn rate_limit(&self) -> Option<crate::ratelimit::RateLimit> {
        self.rate_limiter.as_ref().map(|bucket| bucket.limit())
    }

    /// The origins this connection may reach.
    pub fn allowed_hosts(&self) -> Vec<String> {
        self.egress.allowed()
    }

    /// Where the host sends this connection's credential: every origin it
    /// may reach (the host adds the credential to each admitted request),
    /// and for OAuth the token endpoint; empty when there is no credential.
    pub fn credential_destinations(&self) -> Vec<String> {
        if self.auth == AuthScheme::None {
            return Vec::new();
        }
        let mut origins = self.egress.allowed();
        if let Some(Credential::OAuth2(client)) = &self.credential
            && let Ok(token) = AllowedOrigin::parse(client.token_url())
        {
            let token = token.to_string();
            if !origins.contains(&token) {
                origins.push(format!("{token} (token endpoint)"));
            }
        }
        origins
    }
}

/// Credentials travel over HTTPS. Plain HTTP is accepted only towards
/// loopback or private targets the connection explicitly allows (a test
/// server, an on-premises SCIM endpoint); the transport checks the resolved
/// address again before it sends a credential in the clear.
fn plaintext_permitted(origin: &AllowedOrigin, private: PrivateTargets) -> Result<()> {
    if origin.scheme == OriginScheme::Https {
        return Ok(());
    }
    let fix = "use https://, or for a server on loopback or a private network set private_targets = \"allow-loopback\" or \"allow-private\" (the credential then goes over plain http to such addresses only)";
    match &origin.host {
        HostPattern::Subdomains(_) => {
            bail!("over plain http to a wildcard origin; {fix}")
        }
        HostPattern::Exact(host) => match host.parse::<std::net::IpAddr>() {
            Ok(ip) if classify(ip) == AddressClass::Public => {
                bail!("over plain http to the public address {ip}; use https://")
            }
            Ok(ip) if !private.permits(classify(ip)) => {
                bail!("over plain http to {ip}, which private_targets does not allow; {fix}")
            }
            Ok(_) => Ok(()),
            Err(_) if private == PrivateTargets::Deny => bail!("over plain http; {fix}"),
            Err(_) => Ok(()),
        },
    }
}

impl ConnectionBuilder {
    /// Sets the vendor API's base URL, replacing the connector's default; its origin
    /// joins the allowlist. Not together with [`Self::region`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Picks one of the connector's named base URLs (e.g. `eu`).
    pub fn region(mut self, name: impl Into<String>) -> Self {
        self.region = Some(name.into());
        self
    }

    /// Allows one more origin, e.g. a vendor's separate auth or CDN host.
    pub fn allow_host(mut self, origin: impl Into<String>) -> Self {
        self.extra_hosts.push(origin.into());
        self
    }

    /// Which non-public addresses the connection may reach; [`PrivateTargets::Deny`] if unset.
    pub fn private_targets(mut self, policy: PrivateTargets) -> Self {
        self.private_targets = policy;
        self
    }

    /// The secret the host adds to requests; required unless the auth scheme is `none`.
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = Some(credential);
        self
    }

    /// Adds a connector option; [`Self::build`] fails if an option the descriptor marks
    /// required is missing.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push((name.into(), value.into()));
        self
    }

    /// Chooses the auth scheme, for connectors that leave it to the operator.
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth = Some(scheme);
        self
    }

    /// Whether idle HTTP/1.1 connections stay open for the next request
    /// (the default: a sync's pages then share one connection). Off: a new
    /// connection per request, for a vendor or proxy that mishandles them.
    pub fn keep_alive(mut self, keep: bool) -> Self {
        self.no_keep_alive = !keep;
        self
    }

    /// Also records every request the sandbox refuses on this connection
    /// into `log` (they are always logged), e.g. for a job's result.
    pub fn record_denials(mut self, log: DenialLog) -> Self {
        self.denial_log = Some(log);
        self
    }

    /// Records every admitted request into `tap` and lets it inject vendor
    /// faults: for the conformance kit (`seatwarden connector test`) only.
    pub fn tap(mut self, tap: Arc<Tap>) -> Self {
        self.tap = Some(tap);
        self
    }

    /// Spaces this connection's requests by `bucket` (shared with every
    /// connection using the same credential).
    pub fn rate_limiter(mut self, bucket: Arc<TokenBucket>) -> Self {
        self.rate_limiter = Some(bucket);
        self
    }

    /// Validates everything against the connector's descriptor.
    pub fn build(self, descriptor: &Descriptor) -> Result<Connection> {
        let label = descriptor.label();
        let base_url = match (self.base_url, &self.region) {
            (Some(_), Some(_)) => {
                bail!("the {label} connection sets both a base URL and a region; set one")
            }
            (Some(url), None) => url,
            (None, Some(region)) => {
                match descriptor.regions.iter().find(|(name, _)| name == region) {
                    Some((_, url)) => url.clone(),
                    None => {
                        let known: Vec<&str> =
                            descriptor.regions.iter().map(|(n, _)| n.as_str()).collect();
                        bail!(
                            "connector {label} has no region {region:?} (regions: {})",
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        )
                    }
                }
            }
            (None, None) if descriptor.default_base_url.is_empty() => {
                bail!("connector {label} has no default base URL; the connection must set base_url")
            }
            (None, None) => descriptor.default_base_url.clone(),
        }
        .trim_end_matches('/')
        .to_string();
        let mut allowed = vec![
            AllowedOrigin::parse(&base_url)
                .with_context(|| format!("base URL of the {label} connection"))?,
        ];
        for host in &self.extra_hosts {
            allowed.push(
                AllowedOrigin::parse(host)
                    .with_context(|| format!("allowed host of the {label} connection"))?,
            );
        }
        for spec in descriptor.options.iter().filter(|o| o.required) {
            if !self.options.iter().any(|(name, _)| *name == spec.name) {
                bail!(
                    "connector {label} needs option {:?} ({})",
                    spec.name,
                    spec.description
                );
            }
        }
        let auth = match (&descriptor.auth, self.auth) {
            (_, chosen) if !descriptor.schemes.is_empty() => {
                pick_offered(&descriptor.schemes, chosen)
                    .with_context(|| format!("the auth setting of the {label} connection"))?
            }
            (_, Some(AuthScheme::Named(name))) => bail!(
                "connector {label} names no auth schemes, so the connection cannot choose {name:?}; it authenticates with {}",
                descriptor.auth
            ),
            (AuthScheme::OperatorChoice, Some(AuthScheme::OperatorChoice))
            | (AuthScheme::OperatorChoice, None) => {
                bail!(
                    "connector {label} leaves the auth scheme to the connection: set auth = \"bearer\", \"basic\", \"oauth2\" or \"api-key:<header>\""
                )
            }
            (AuthScheme::OperatorChoice, Some(chosen)) => chosen,
            (fixed, None) => fixed.clone(),
            (fixed, Some(chosen)) if *fixed == chosen => chosen,
            (fixed, Some(chosen)) => bail!(
                "connector {label} authenticates with {fixed}; the connection cannot choose {chosen}"
            ),
        };
        match (&auth, &self.credential) {
            (AuthScheme::None, _) => {}
            (scheme, None) => bail!(
                "connector {label} authenticates with {scheme}, but the connection has no credential"
            ),
            (scheme, Some(credential)) => {
                auth_header(scheme, credential)
                    .with_context(|| format!("credential of the {label} connection"))?;
            }
        }
        if auth != AuthScheme::None {
            for origin in &allowed {
                plaintext_permitted(origin, self.private_targets).with_context(|| {
                    format!("the {label} connection would send its credential to {origin}")
                })?;
            }
        }
        let egress = EgressPolicy::new(allowed, self.private_targets);
        if let Some(Credential::OAuth2(client)) = &self.credential {
            let origin = AllowedOrigin::parse(client.token_url())
                .with_context(|| format!("token URL of the {label} connection"))?;
            plaintext_permitted(&origin, self.private_targets).with_context(|| {
                format!("the token URL of the {label} connection would receive the client secret")
            })?;
            let crate::egress::policy::HostPattern::Exact(host) = &origin.host else {
                bail!("the token URL of the {label} connection may not contain a wildcard");
            };
            egress.check_origin(origin.scheme, host, origin.port).map_err(|denial| {
                anyhow::anyhow!(
                    "the token URL of the {label} connection is not allowed: {denial}; add its origin to allowed_hosts"
                )
            })?;
        }
        let redactor = Arc::new(Redactor::for_credential(self.credential.as_ref()));
        Ok(Connection {
            redactor,
            settings: types::Settings {
                base_url,
                options: self.options,
            },
            egress: Arc::new(egress),
            credential: self.credential,
            auth,
            denial_log: self.denial_log,
            rate_limiter: self.rate_limiter,
            keep_alive: (!self.no_keep_alive).then(Arc::default),
            tap: self.tap,
        })
    }
}

/// The scheme a connection picks among those a connector offers by name:
/// the named one, the one equal to a scheme given directly (`oauth2`), or
/// the first when it picks none.
fn pick_offered(
    offered: &[crate::descriptor::NamedScheme],
    chosen: Option<AuthScheme>,
) -> Result<AuthScheme> {
    let found = match &chosen {
        None => offered.first(),
        Some(AuthScheme::Named(name)) => offered.iter().find(|s| s.name == *name),
        Some(scheme) => offered.iter().find(|s| s.scheme == *scheme),
    };
    match found {
        Some(offer) => Ok(offer.scheme.clone()),
        None => {
            let names: Vec<String> = offered
                .iter()
                .map(|s| format!("{:?} ({})", s.name, s.description))
                .collect();
            bail!(
                "the connector offers no scheme {}; choose one of: {}",
                match chosen {
                    Some(AuthScheme::Named(name)) => format!("{name:?}"),
                    Some(other) => other.to_string(),
                    None => "at all".into(),
                },
                names.join(", ")
            )
        }
    }
}
