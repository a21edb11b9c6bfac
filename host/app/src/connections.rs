//! Connections and connector components a tenant's admin manages over the
//! API, beside the ones the configuration file defines.
//!
//! A component is uploaded first: the host loads it exactly as it would
//! run it (header, compile, contract exports, descriptor checks) and keeps
//! it, by sha256, only when that succeeds; a connection then names an
//! upload by digest, so what runs is pinned from the moment it was
//! accepted. A connection's settings are checked field by field and then
//! by building the live connection against the component's descriptor, the
//! same builder a file connection goes through, before anything is stored.
//! Its credential is sealed under the operator's key ([`crate::sealing`])
//! and never returned; without a key, a connection with a credential is
//! refused rather than stored in clear.
//!
//! Deny by default: such a connection reaches public addresses only,
//! unless the operator raised the tenant's `api_private_targets` in the
//! file. Names the file defines for the tenant belong to the file.

use crate::output::escape as escape_hidden;
use crate::sealing::{OpenError, SealedFor};
use crate::wiring::{App, Connected, connection_builder, fingerprint};
use anyhow::{Context, Result, bail};
use seatwarden_config::{ConnectionConfig, CredentialConfig};
pub use seatwarden_config::{check_name, parse_rule};
use seatwarden_sandbox::credentials::{AuthScheme, CredentialSource, HeldSecret};
use seatwarden_sandbox::egress::{AllowedOrigin, PrivateTargets};
pub use seatwarden_sandbox::oauth::ClientAuthentication;
use seatwarden_sandbox::ratelimit::RateLimit;
use seatwarden_sandbox::runtime::Connector;
use seatwarden_store::{Change, Source, StoredConnection, StoredUpload, TenantId};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The largest component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 32 * 1024 * 1024;
/// The most components one tenant keeps.
const MAX_UPLOADS: usize = 50;
/// Uploads inspected at once by this process.
static INSPECTIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
/// The most options a connection may set.
const MAX_OPTIONS: usize = 64;
/// The most extra origins a connection may allow.
const MAX_ALLOWED_HOSTS: usize = 32;
/// The longest secret accepted, in bytes.
const MAX_SECRET: usize = 8 * 1024;
/// The longest other setting (URL, user, option value), in bytes.
const MAX_SETTING: usize = 2048;

/// Why a request about a connection or component was refused; the server
/// answers each with a status of its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A field of the request is wrong.
    #[error("{field}: {problem}")]
    Field {
        /// The request field at fault, e.g. `credential.token_url`.
        field: String,
        /// What is wrong and what to do.
        problem: String,
    },
    /// The connection is defined in the configuration file.
    #[error(
        "connection {0:?} is defined in the configuration file: change it there and run seatwarden apply"
    )]
    InFile(String),
    /// A credential was given but the server has no key to seal it with.
    #[error(
        "this server has no credential key, so it cannot keep a credential: the operator starts it with SEATWARDEN_CREDENTIAL_KEY_FILE naming a file of 32 random bytes in base64"
    )]
    NoKey,
}

fn field(field: &str, problem: impl Into<String>) -> anyhow::Error {
    Refusal::Field {
        field: field.to_string(),
        problem: problem.into(),
    }
    .into()
}

/// What the host found when it inspected an uploaded component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    /// The vendor, as the component names it.
    pub vendor: String,
    /// What it covers, in its own words.
    pub summary: String,
    /// The auth scheme it asks for (`operator-choice`: the connection picks).
    pub auth: String,
    /// Whether it reads activity.
    pub activity: bool,
    /// Whether it may deactivate accounts.
    pub deactivate: bool,
    /// Whether it may reactivate accounts.
    pub reactivate: bool,
    /// The origins it declares (they never widen a connection's allowlist).
    pub hosts: Vec<String>,
    /// Its default base URL; empty when each connection must set one.
    pub default_base_url: String,
    /// Its named base URLs.
    pub regions: Vec<(String, String)>,
    /// The options it reads: name, whether required, description.
    pub options: Vec<(String, bool, String)>,
}

impl Inspection {
    fn of(connector: &Connector) -> Inspection {
        // Guest text: escaped (no control, bidi or invisible characters
        // reach a reader), cut, and counted.
        const MAX_LISTED: usize = 64;
        let text = |t: &str| sanitize(t, 200);
        let d = connector.descriptor();
        Inspection {
            vendor: text(&d.vendor),
            summary: text(&d.summary),
            auth: text(&d.auth.to_string()),
            activity: d.capabilities.activity,
            deactivate: d.capabilities.deactivate,
            reactivate: d.capabilities.reactivate,
            hosts: d
                .default_hosts
                .iter()
                .take(MAX_LISTED)
                .map(|h| text(&h.to_string()))
                .collect(),
            default_base_url: text(&d.default_base_url),
            regions: d
                .regions
                .iter()
                .take(MAX_LISTED)
                .map(|(n, u)| (text(n), text(u)))
                .collect(),
            options: d
                .options
                .iter()
                .take(MAX_LISTED)
                .map(|o| (text(&o.name), o.required, text(&o.description)))
                .collect(),
        }
    }
}

/// An uploaded component and its inspection.
#[derive(Clone, Debug)]
pub struct Upload {
    /// As stored.
    pub stored: StoredUpload,
    /// What the inspection found.
    pub inspection: Inspection,
}

impl Upload {
    fn from_stored(stored: StoredUpload) -> Upload {
        let inspection = serde_json::from_str(&stored.inspection).unwrap_or(Inspection {
            vendor: String::new(),
            summary: "(its inspection could not be read; upload it again)".into(),
            auth: String::new(),
            activity: false,
            deactivate: false,
            reactivate: false,
            hosts: Vec::new(),
            default_base_url: String::new(),
            regions: Vec::new(),
            options: Vec::new(),
        });
        Upload { stored, inspection }
    }
}

/// A credential as a request gives it.
#[derive(Clone, Debug)]
pub enum CredentialSpec {
    /// An API key or token, sent as the auth scheme says.
    Secret {
        /// The secret.
        secret: SecretString,
    },
    /// HTTP Basic.
    Basic {
        /// The user name.
        user: String,
        /// The password or API key.
        secret: SecretString,
    },
    /// OAuth 2.0 client credentials.
    OAuth2 {
        /// The client id.
        client_id: String,
        /// The client secret.
        secret: SecretString,
        /// The token endpoint; its origin must be allowed too.
        token_url: String,
        /// The scope to ask for, if any.
        scope: Option<String>,
        /// How the client proves itself at the token endpoint.
        client_auth: ClientAuthentication,
    },
}

/// A connection's settings as a request gives them.
#[derive(Clone, Debug, Default)]
pub struct ConnectionSpec {
    /// The sha256 of one of the tenant's uploads.
    pub connector: String,
    /// The vendor API's URL.
    pub base_url: Option<String>,
    /// One of the connector's regions, instead of `base_url`.
    pub region: Option<String>,
    /// The auth scheme, for connectors that leave it to the connection.
    pub auth: Option<String>,
    /// The credential; on a change, `None` keeps the stored one.
    pub credential: Option<CredentialSpec>,
    /// Origins besides the base URL's.
    pub allowed_hosts: Vec<String>,
    /// `deny` (default), `allow-loopback` or `allow-private`, up to the tenant's ceiling.
    pub private_targets: Option<String>,
    /// Connector options.
    pub options: BTreeMap<String, String>,
    /// The vendor's rate limit, e.g. `10/s`.
    pub rate_limit: Option<String>,
}

/// A credential's non-secret shape, as stored and shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CredentialShape {
    /// An API key or token.
    Secret,
    /// HTTP Basic with this user.
    Basic {
        /// The user name.
        user: String,
    },
    /// OAuth 2.0 client credentials.
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// The client id.
        client_id: String,
        /// The token endpoint.
        token_url: String,
        /// The scope asked for.
        scope: Option<String>,
        /// How the client proves itself at the token endpoint (absent in
        /// connections stored before it existed: HTTP Basic).
        #[serde(default)]
        client_auth: ClientAuthentication,
    },
}

/// The stored settings of a connection made over the API (no secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Settings {
    base_url: Option<String>,
    region: Option<String>,
    auth: Option<String>,
    credential: Option<CredentialShape>,
    allowed_hosts: Vec<String>,
    private_targets: String,
    options: BTreeMap<String, String>,
    rate_limit: Option<String>,
}

/// A connection as it is listed: never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Its name in the tenant.
    pub name: String,
    /// `config` (the file) or `api`.
    pub source: Source,
    /// The sha256 it runs (an upload's) or is pinned to (a file's pin); `None`: a file connection without a pin.
    pub connector: Option<String>,
    /// Its base URL, if set.
    pub base_url: Option<String>,
    /// Its region, if set.
    pub region: Option<String>,
    /// Its auth scheme, if set.
    pub auth: Option<String>,
    /// Its credential's kind and non-secret parts.
    pub credential: Option<CredentialShape>,
    /// Origins it may reach besides its base URL's.
    pub allowed_hosts: Vec<String>,
    /// Which non-public addresses it may reach.
    pub private_targets: String,
    /// Its connector options.
    pub options: BTreeMap<String, String>,
    /// Its rate limit, if set.
    pub rate_limit: Option<String>,
    /// When it was made and last changed over the API.
    pub changed: Option<(i64, i64)>,
}

/// Guest text as a reader sees it: control characters escaped, bidi and
/// invisible ones shown as `\uXXXX`, cut to `max` bytes.
fn sanitize(text: &str, max: usize) -> String {
    escape_hidden(&seatwarden_domain::text::sanitize(text, max)).into_owned()
}

/// Plain text of at most `max` bytes: no control, bidi or invisible characters.
fn plain(name: &str, text: &str, max: usize) -> Result<()> {
    if text.is_empty() {
        return Err(field(name, "is empty"));
    }
    if text.len() > max {
        return Err(field(name, format!("is longer than {max} bytes")));
    }
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() || seatwarden_domain::text::rewrites_display(c))
    {
        return Err(field(
            name,
            format!(
                "contains the character U+{:04X}; use plain text",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// Checks every field of `spec` that can be checked without the component,
/// and splits it into stored settings and the secret.
fn check_spec(
    spec: &ConnectionSpec,
    ceiling: PrivateTargets,
) -> Result<(Settings, Option<SecretString>)> {
    use secrecy::ExposeSecret;
    if spec.base_url.is_some() && spec.region.is_some() {
        return Err(field(
            "region",
            "both base_url and region are set: set one of them",
        ));
    }
    if let Some(url) = &spec.base_url {
        plain("base_url", url, MAX_SETTING)?;
        AllowedOrigin::parse(url)
            .map_err(|e| field("base_url", format!("{e}; use the vendor API's https URL")))?;
    }
    if let Some(region) = &spec.region {
        plain("region", region, 64)?;
    }
    if let Some(auth) = &spec.auth {
        plain("auth", auth, 128)?;
        auth.parse::<AuthScheme>().map_err(|e| field("auth", e))?;
    }
    if spec.allowed_hosts.len() > MAX_ALLOWED_HOSTS {
        return Err(field(
            "allowed_hosts",
            format!("more than {MAX_ALLOWED_HOSTS} origins"),
        ));
    }
    for (i, host) in spec.allowed_hosts.iter().enumerate() {
        let name = format!("allowed_hosts[{i}]");
        plain(&name, host, MAX_SETTING)?;
        AllowedOrigin::parse(host).map_err(|e| field(&name, e.to_string()))?;
    }
    let targets = match &spec.private_targets {
        None => PrivateTargets::Deny,
        Some(text) => PrivateTargets::parse(text).ok_or_else(|| {
            field(
                "private_targets",
                format!("{text:?} is not one of deny, allow-loopback, allow-private"),
            )
        })?,
    };
    if targets > ceiling {
        return Err(field(
            "private_targets",
            format!(
                "connections this tenant makes over the API may reach at most {:?}; the operator raises that with api_private_targets under the tenant in the configuration file",
                ceiling.as_str()
            ),
        ));
    }
    if spec.options.len() > MAX_OPTIONS {
        return Err(field("options", format!("more than {MAX_OPTIONS} options")));
    }
    for (key, value) in &spec.options {
        plain("options", key, 200)?;
        plain(&format!("options.{key}"), value, MAX_SETTING)?;
    }
    if let Some(limit) = &spec.rate_limit {
        plain("rate_limit", limit, 64)?;
        limit.parse::<RateLimit>().map_err(|e| {
            field(
                "rate_limit",
                format!("{e}; write it as requests per second or minute, e.g. \"10/s\""),
            )
        })?;
    }
    let secret_ok = |name: &str, secret: &SecretString| -> Result<()> {
        let text = secret.expose_secret();
        if text.is_empty() {
            return Err(field(name, "is empty"));
        }
        if text.len() > MAX_SECRET {
            return Err(field(name, format!("is longer than {MAX_SECRET} bytes")));
        }
        if text.chars().any(|c| c.is_control()) {
            return Err(field(name, "contains a control character"));
        }
        Ok(())
    };
    let (shape, secret) = match &spec.credential {
        None => (None, None),
        Some(CredentialSpec::Secret { secret }) => {
            secret_ok("credential.secret", secret)?;
            (Some(CredentialShape::Secret), Some(secret.clone()))
        }
        Some(CredentialSpec::Basic { user, secret }) => {
            plain("credential.user", user, 256)?;
            if user.contains(':') {
                return Err(field(
                    "credential.user",
                    "contains ':' (HTTP Basic cannot carry it)",
                ));
            }
            secret_ok("credential.secret", secret)?;
            (
                Some(CredentialShape::Basic { user: user.clone() }),
                Some(secret.clone()),
            )
        }
        Some(CredentialSpec::OAuth2 {
            client_id,
            secret,
            token_url,
            scope,
            client_auth,
        }) => {
            plain("credential.client_id", client_id, 512)?;
            plain("credential.token_url", token_url, MAX_SETTING)?;
            if let Some(scope) = scope {
                plain("credential.scope", scope, 1024)?;
            }
            secret_ok("credential.secret", secret)?;
            (
                Some(CredentialShape::OAuth2 {
                    client_id: client_id.clone(),
                    token_url: token_url.clone(),
                    scope: scope.clone(),
                    client_auth: *client_auth,
                }),
                Some(secret.clone()),
            )
        }
    };
    Ok((
        Settings {
            base_url: spec.base_url.clone(),
            region: spec.region.clone(),
            auth: spec.auth.clone(),
            credential: shape,
            allowed_hosts: spec.allowed_hosts.clone(),
            private_targets: targets.as_str().to_string(),
            options: spec.options.clone(),
            rate_limit: spec.rate_limit.clone(),
        },
        secret,
    ))
}

/// The file-shaped settings of a stored connection, with its secret held.
fn as_config(
    tenant_name: &str,
    name: &str,
    digest: &str,
    settings: &Settings,
    secret: Option<SecretString>,
    label: String,
) -> Result<ConnectionConfig> {
    let held = || -> Result<CredentialSource> {
        let secret = secret
            .clone()
            .context("the stored connection has a credential kind but no sealed secret")?;
        Ok(CredentialSource::Held(HeldSecret::new(
            label.clone(),
            secret,
        )))
    };
    let credential = match &settings.credential {
        None => None,
        Some(CredentialShape::Secret) => Some(CredentialConfig::Secret(held()?)),
        Some(CredentialShape::Basic { user }) => Some(CredentialConfig::Basic {
            user: user.clone(),
            secret: held()?,
        }),
        Some(CredentialShape::OAuth2 {
            client_id,
            token_url,
            scope,
            client_auth,
        }) => Some(CredentialConfig::OAuth2 {
            client_id: client_id.clone(),
            secret: held()?,
            token_url: token_url.clone(),
            scope: scope.clone(),
            client_auth: *client_auth,
        }),
    };
    Ok(ConnectionConfig {
        name: name.to_string(),
        tenant: tenant_name.to_string(),
        connector: PathBuf::from(format!("uploaded:sha256:{digest}")),
        sha256: Some(digest.to_string()),
        base_url: settings.base_url.clone(),
        region: settings.region.clone(),
        auth: settings
            .auth
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| anyhow::anyhow!("stored auth: {e}"))?,
        credential,
        allowed_hosts: settings.allowed_hosts.clone(),
        private_targets: PrivateTargets::parse(&settings.private_targets)
            .unwrap_or(PrivateTargets::Deny),
        options: settings
            .options
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        rate_limit: settings
            .rate_limit
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: String| anyhow::anyhow!("stored rate_limit: {e}"))?,
    })
}

fn credential_label(tenant: &str, name: &str) -> String {
    format!("the credential of API connection {name} of tenant {tenant}")
}

impl App {
    /// Loads a tenant's upload exactly as it runs, checking its bytes
    /// still hash to the digest they are kept under.
    async fn load_upload(&self, tenant: TenantId, digest: &str) -> Result<Option<Connector>> {
        let Some(bytes) = self.storage.upload_component(tenant, digest).await? else {
            return Ok(None);
        };
        let connector = self
            .runtime
            .load_bytes(&bytes, &format!("uploaded connector sha256:{digest}"))
            .await?;
        if connector.digest() != digest {
            bail!(
                "the stored component kept as sha256 {digest} hashes to {}: it was changed in the database; upload it again",
                connector.digest()
            );
        }
        Ok(Some(connector))
    }

    /// Builds a connection made over the API: its component from the
    /// database, its credential unsealed with this process's key.
    pub(crate) async fn connect_stored(
        &self,
        tenant: TenantId,
        tenant_name: &str,
        stored: &StoredConnection,
    ) -> Result<Connected> {
        let context = || format!("API connection {}", stored.name);
        let mut settings: Settings = serde_json::from_str(&stored.settings)
            .with_context(|| format!("{}: its stored settings do not read", context()))?;
        // The operator's ceiling holds now, not only when it was saved.
        let ceiling = self
            .config
            .tenants
            .get(tenant_name)
            .map_or(PrivateTargets::Deny, |t| t.api_private_targets);
        let stored_targets =
            PrivateTargets::parse(&settings.private_targets).unwrap_or(PrivateTargets::Deny);
        if stored_targets > ceiling {
            settings.private_targets = ceiling.as_str().to_string();
        }
        let connector = self
            .load_upload(tenant, &stored.connector_digest)
            .await
            .with_context(context)?
            .with_context(|| format!("{}: its component is gone", context()))?;
        let secret = self.unseal(tenant_name, stored).with_context(context)?;
        let config = as_config(
            tenant_name,
            &stored.name,
            &stored.connector_digest,
            &settings,
            secret,
            credential_label(tenant_name, &stored.name),
        )
        .with_context(context)?;
        let connection = connection_builder(
            &config,
            &connector,
            (
                std::path::Path::new("api"),
                &format!("connection {}", stored.name),
            ),
            &self.limiters,
        )?
        .build(connector.descriptor())
        .with_context(context)?;
        let fingerprint = fingerprint(&config, &connector);
        Ok(Connected {
            connector,
            connection,
            fingerprint,
        })
    }

    fn unseal(&self, tenant: &str, stored: &StoredConnection) -> Result<Option<SecretString>> {
        let Some(sealed) = &stored.sealed_credential else {
            return Ok(None);
        };
        let sealer = self.sealer.as_ref().context(Refusal::NoKey)?;
        let secret = sealer
            .open(
                sealed,
                stored.key_id.as_deref().unwrap_or_default(),
                SealedFor {
                    tenant,
                    connection: &stored.name,
                },
            )
            .map_err(|e: OpenError| anyhow::Error::from(e))?;
        Ok(Some(secret))
    }
}

/// Connections and components of one tenant, as its admin manages them.
pub struct Connections<'a> {
    /// The application whose storage, runtime and key the operations use.
    pub app: &'a App,
    /// The tenant's database id.
    pub tenant: TenantId,
    /// The tenant's name in the configuration.
    pub tenant_name: String,
    /// Who acts, for the audit log.
    pub actor: String,
}

impl Connections<'_> {
    fn in_file(&self, name: &str) -> bool {
        self.app
            .config
            .connections
            .get(name)
            .is_some_and(|c| c.tenant == self.tenant_name)
    }

    /// Inspects a component and keeps it for the tenant; answers what was
    /// found and whether it was new.
    pub async fn upload(&self, bytes: &[u8]) -> Result<(Upload, bool)> {
        if bytes.len() > MAX_COMPONENT_BYTES {
            return Err(field(
                "component",
                format!("is larger than {MAX_COMPONENT_BYTES} bytes"),
            ));
        }
        if self.app.storage.uploads(self.tenant).await?.len() >= MAX_UPLOADS {
            bail!(seatwarden_store::StoreError::Conflict(format!(
                "this tenant keeps {MAX_UPLOADS} uploaded components already: delete ones no connection runs (DELETE /api/v1/connectors/{{digest}})"
            )));
        }
        // Compiling a component is seconds of CPU: one at a time per
        // process, on a blocking thread, so uploads cannot stall every
        // other request.
        let _turn = INSPECTIONS.acquire().await?;
        let runtime = self.app.runtime.clone();
        let owned = bytes.to_vec();
        let handle = tokio::runtime::Handle::current();
        let connector = tokio::task::spawn_blocking(move || {
            handle.block_on(runtime.load_bytes(&owned, "the uploaded component"))
        })
        .await?
        .map_err(|e| field("component", e.to_string()))?;
        let descriptor = connector.descriptor();
        let inspection = Inspection::of(&connector);
        let stored = StoredUpload {
            digest: connector.digest().to_string(),
            name: descriptor.name.clone(),
            version: descriptor.version.to_string(),
            size: bytes.len() as u64,
            inspection: serde_json::to_string(&inspection)?,
            uploaded_at: self.app.now(),
            uploaded_by: self.actor.clone(),
        };
        let new = self
            .app
            .storage
            .store_upload(self.tenant, &stored, bytes)
            .await?;
        let stored = self
            .app
            .storage
            .upload(self.tenant, &stored.digest)
            .await?
            .context("the upload just stored is gone")?;
        Ok((Upload::from_stored(stored), new))
    }

    /// The tenant's uploads, newest first.
    pub async fn uploads(&self) -> Result<Vec<Upload>> {
        Ok(self
            .app
            .storage
            .uploads(self.tenant)
            .await?
            .into_iter()
            .map(Upload::from_stored)
            .collect())
    }

    /// The tenant's upload with `digest`, if any.
    pub async fn upload_named(&self, digest: &str) -> Result<Option<Upload>> {
        Ok(self
            .app
            .storage
            .upload(self.tenant, digest)
            .await?
            .map(Upload::from_stored))
    }

    /// Removes an upload no connection runs.
    pub async fn delete_upload(&self, digest: &str) -> Result<()> {
        let detail = format!("connector sha256 {digest} removed");
        self.app
            .storage
            .delete_upload(self.tenant, digest, self.change(&detail))
            .await?;
        Ok(())
    }

    fn change<'c>(&'c self, detail: &'c str) -> Change<'c> {
        Change {
            actor: &self.actor,
            detail,
            at: self.app.now(),
        }
    }

    /// Every connection of the tenant: the file's, then those made over the API.
    pub async fn list(&self) -> Result<Vec<ConnectionInfo>> {
        let mut all: Vec<ConnectionInfo> = self
            .app
            .config
            .connections
            .values()
            .filter(|c| c.tenant == self.tenant_name)
            .map(file_info)
            .collect();
        for stored in self.app.storage.api_connections(self.tenant).await? {
            all.push(api_info(&stored)?);
        }
        Ok(all)
    }

    /// The tenant's connection `name`, if it has one.
    pub async fn get(&self, name: &str) -> Result<Option<ConnectionInfo>> {
        if let Some(c) = self.app.config.connections.get(name)
            && c.tenant == self.tenant_name
        {
            return Ok(Some(file_info(c)));
        }
        match self.app.storage.api_connection(self.tenant, name).await? {
            Some(stored) => Ok(Some(api_info(&stored)?)),
            None => Ok(None),
        }
    }

    /// Makes a connection (`replace` false) or replaces one made over the
    /// API (`replace` true; a spec without a credential keeps the stored one).
    pub async fn save(
        &self,
        name: &str,
        spec: &ConnectionSpec,
        replace: bool,
    ) -> Result<ConnectionInfo> {
        check_name(name)
            .map_err(|p| field("name", format!("{p}: use lowercase letters, digits and -")))?;
        if self.in_file(name) {
            bail!(Refusal::InFile(name.to_string()));
        }
        let ceiling = self
            .app
            .config
            .tenants
            .get(&self.tenant_name)
            .map_or(PrivateTargets::Deny, |t| t.api_private_targets);
        let (mut settings, mut secret) = check_spec(spec, ceiling)?;
        let digest = spec.connector.to_ascii_lowercase();
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(field(
                "connector",
                "is not a sha256 digest: use the digest POST /api/v1/connectors answered",
            ));
        }
        let existing = if replace {
            Some(
                self.app
                    .storage
                    .api_connection(self.tenant, name)
                    .await?
                    .ok_or_else(|| {
                        seatwarden_store::StoreError::NotFound(format!(
                            "this tenant has no connection {name:?} made over the API"
                        ))
                    })?,
            )
        } else {
            None
        };
        let mut sealed = None;
        if spec.credential.is_none()
            && let Some(old) = &existing
        {
            // Keep the stored credential: its shape, and its secret for the
            // check below; but only where it went before. Whoever may change
            // a connection must not be able to send a credential they were
            // never shown to a host of their choosing.
            let old_settings: Settings = serde_json::from_str(&old.settings)?;
            // Everything but the rate limit can steer the credential (a
            // connector may build its host from an option), so everything
            // else must stay as it was.
            let destination = |s: &Settings| Settings {
                rate_limit: None,
                credential: None,
                ..s.clone()
            };
            if old_settings.credential.is_some()
                && (destination(&old_settings) != destination(&settings)
                    || !old.connector_digest.eq_ignore_ascii_case(&spec.connector))
            {
                return Err(field(
                    "credential",
                    "the change could move where the stored credential is sent (anything but rate_limit: base URL, region, allowed hosts, private targets, auth, options or component): give the credential again with it",
                ));
            }
            settings.credential = old_settings.credential;
            secret = self.app.unseal(&self.tenant_name, old)?;
            sealed = old.sealed_credential.clone().zip(old.key_id.clone());
        }
        let connector = self
            .app
            .load_upload(self.tenant, &digest)
            .await?
            .ok_or_else(|| {
                field(
                    "connector",
                    format!("this tenant has no uploaded component with sha256 {digest}: upload it first (POST /api/v1/connectors)"),
                )
            })?;
        let config = as_config(
            &self.tenant_name,
            name,
            &digest,
            &settings,
            secret.clone(),
            credential_label(&self.tenant_name, name),
        )?;
        // The same builder a running profile uses: what it refuses here
        // (a base URL outside the allowlist, a token URL of another origin,
        // a missing required option) would fail every job.
        let limiters = seatwarden_sandbox::ratelimit::RateLimiters::default();
        connection_builder(
            &config,
            &connector,
            (std::path::Path::new("api"), "connection"),
            &limiters,
        )
        .and_then(|builder| builder.build(connector.descriptor()))
        .map_err(|e| field("connection", format!("{e:#}")))?;
        if sealed.is_none()
            && let Some(secret) = &secret
        {
            let sealer = self.app.sealer.as_ref().ok_or(Refusal::NoKey)?;
            let bytes = sealer.seal(
                secret,
                SealedFor {
                    tenant: &self.tenant_name,
                    connection: name,
                },
            )?;
            sealed = Some((bytes, sealer.key_id().to_string()));
        }
        let now = self.app.now();
        let (sealed_credential, key_id) = sealed.unzip();
        let stored = StoredConnection {
            name: name.to_string(),
            connector_digest: digest.clone(),
            settings: serde_json::to_string(&settings)?,
            sealed_credential,
            key_id,
            created_at: existing.as_ref().map_or(now, |e| e.created_at),
            updated_at: now,
        };
        let descriptor = connector.descriptor();
        let detail = format!(
            "connection {name}: connector {}@{} sha256 {digest}, settings {}, credential {}{}",
            descriptor.name,
            descriptor.version,
            serde_json::to_string(&Settings {
                credential: None,
                ..settings.clone()
            })?,
            match &settings.credential {
                None => "none".to_string(),
                Some(CredentialShape::Secret) => "a secret".to_string(),
                Some(CredentialShape::Basic { user }) => format!("HTTP Basic as {user}"),
                Some(CredentialShape::OAuth2 { client_id, .. }) =>
                    format!("OAuth 2.0 client {client_id}"),
            },
            if spec.credential.is_some() {
                " (set anew, sealed)"
            } else {
                ""
            }
        );
        let read_at = existing.as_ref().map(|e| e.updated_at);
        self.app
            .storage
            .save_api_connection(self.tenant, &stored, read_at, self.change(&detail))
            .await?;
        api_info(&stored)
    }

    /// Deletes a connection made over the API that no profile uses.
    pub async fn delete(&self, name: &str) -> Result<()> {
        if self.in_file(name) {
            bail!(Refusal::InFile(name.to_string()));
        }
        let detail = format!("connection {name} deleted");
        self.app
            .storage
            .delete_api_connection(self.tenant, name, self.change(&detail))
            .await?;
        Ok(())
    }
}

fn file_info(c: &ConnectionConfig) -> ConnectionInfo {
    ConnectionInfo {
        name: c.name.clone(),
        source: Source::Config,
        connector: c.sha256.clone(),
        base_url: c.base_url.clone(),
        region: c.region.clone(),
        auth: c.auth.as_ref().map(ToString::to_string),
        credential: c.credential.as_ref().map(|cred| match cred {
            CredentialConfig::Secret(_) => CredentialShape::Secret,
            CredentialConfig::Basic { user, .. } => CredentialShape::Basic { user: user.clone() },
            CredentialConfig::OAuth2 {
                client_id,
                token_url,
                scope,
                client_auth,
                ..
            } => CredentialShape::OAuth2 {
                client_id: client_id.clone(),
                token_url: token_url.clone(),
                scope: scope.clone(),
                client_auth: *client_auth,
            },
        }),
        allowed_hosts: c.allowed_hosts.clone(),
        private_targets: c.private_targets.as_str().to_string(),
        options: c.options.iter().cloned().collect(),
        rate_limit: c.rate_limit.map(|r| r.to_string()),
        changed: None,
    }
}

fn api_info(stored: &StoredConnection) -> Result<ConnectionInfo> {
    let settings: Settings = serde_json::from_str(&stored.settings).with_context(|| {
        format!(
            "API connection {}: its stored settings do not read",
            stored.name
        )
    })?;
    Ok(ConnectionInfo {
        name: stored.name.clone(),
        source: Source::Api,
        connector: Some(stored.connector_digest.clone()),
        base_url: settings.base_url,
        region: settings.region,
        auth: settings.auth,
        credential: settings.credential,
        allowed_hosts: settings.allowed_hosts,
        private_targets: settings.private_targets,
        options: settings.options,
        rate_limit: settings.rate_limit,
        changed: Some((stored.created_at, stored.updated_at)),
    })
}
