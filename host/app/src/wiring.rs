//! Wiring: configuration, database, runtime and rate limiters, and how a
//! stored profile becomes a loaded connector plus a live connection.
//!
//! Every command and the scheduler start here, so credential loading, digest
//! pinning, rate limiting and the fingerprint a validation is checked against
//! are computed the same way everywhere. Profiles are looked up through their
//! tenant only; a connection of another tenant is "not found".

use crate::clock::{Clock, SystemClock};
use crate::notify::Notifier;
use crate::sealing::Sealer;
use anyhow::{Context, Result, bail};
use seatwarden_config::{Config, ConnectionConfig, CredentialConfig};
use seatwarden_domain::software_models::Mapping;
use seatwarden_sandbox::connection::{Connection, ConnectionBuilder};
use seatwarden_sandbox::credentials::Credential;
use seatwarden_sandbox::ratelimit::{RateLimiters, SlotLedger};
use seatwarden_sandbox::runtime::{Connector, Runtime, RuntimeConfig};
use seatwarden_store::{ConnectorIdentity, ProfileRecord, Storage, TenantId};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The parts every command shares. Cloning shares them (one database
/// pool, one compile cache, one set of rate limiters).
#[derive(Clone)]
pub struct App {
    /// The parsed configuration file; it does not change while the app runs.
    pub config: Config,
    /// The database; its own notion of now follows `clock`.
    pub storage: Storage,
    /// The WebAssembly runtime connectors are loaded into, with its compile cache.
    pub runtime: Runtime,
    /// One rate-limit bucket per credential, shared by every profile that uses it.
    pub limiters: RateLimiters,
    /// Set when the configuration has `[notifications]`.
    pub notifier: Option<Arc<Notifier>>,
    /// Where every service takes the time from: the wall clock, or a
    /// [`ManualClock`](crate::clock::ManualClock) a test moves by hand.
    pub clock: Arc<dyn Clock>,
    /// The operator's key for credentials kept in the database (connections
    /// made over the API); `None`: this process was given none.
    pub sealer: Option<Arc<Sealer>>,
}

/// A connection, built and ready for calls.
pub struct Connected {
    /// The connector, loaded from the connection's file and checked against its pin, if any.
    pub connector: Connector,
    /// Settings, allowlist, credential and rate limit for calls through the connector.
    pub connection: Connection,
    /// What a validation is recorded against: the connector (name, version,
    /// digest) and the connection's settings, never the secret.
    pub fingerprint: String,
}

impl Connected {
    /// The connector identity stored on the profile.
    pub fn identity(&self) -> ConnectorIdentity {
        let descriptor = self.connector.descriptor();
        ConnectorIdentity {
            name: descriptor.name.clone(),
            version: descriptor.version.to_string(),
            digest: self.connector.digest().to_string(),
            base_url: self.connection.base_url().to_string(),
        }
    }
}

/// A stored profile with its connector loaded and its connection built.
pub struct ProfileContext {
    /// The profile as stored, looked up through its tenant.
    pub record: ProfileRecord,
    /// The connector and connection its `connection` setting names, ready for calls.
    pub connected: Connected,
}

impl App {
    /// Opens the database and starts a runtime for `config`.
    pub async fn open(config: Config, cache_dir: Option<PathBuf>) -> Result<App> {
        let storage = Storage::open_database(&config.database).await?;
        let limiters = RateLimiters::shared(Arc::new(StoredSlots(storage.clone())));
        Self::with_storage(config, cache_dir, storage, limiters)
    }

    /// Like [`App::open`], with the database opened read-only (see
    /// [`Storage::open_read_only`]).
    pub async fn open_read_only(config: Config, cache_dir: Option<PathBuf>) -> Result<App> {
        let storage = Storage::open_database_read_only(&config.database).await?;
        // Nothing read-only talks to vendors; its limits stay its own.
        Self::with_storage(config, cache_dir, storage, RateLimiters::default())
    }

    fn with_storage(
        config: Config,
        cache_dir: Option<PathBuf>,
        storage: Storage,
        limiters: RateLimiters,
    ) -> Result<App> {
        let runtime = Runtime::new(RuntimeConfig {
            limits: config.limits.clone(),
            cache_dir,
            trusted_roots: config.trusted_roots.clone(),
            ..RuntimeConfig::default()
        })?;
        let notifier = config
            .notifications
            .as_ref()
            .map(|settings| Notifier::new(settings, &config.trusted_roots).map(Arc::new))
            .transpose()
            .with_context(|| format!("{}: [notifications]", config.path.display()))?;
        Ok(App {
            config,
            storage,
            runtime,
            limiters,
            notifier,
            clock: Arc::new(SystemClock),
            sealer: Sealer::from_environment()?.map(Arc::new),
        })
    }

    /// The same host (database, runtime, rate limiters, notifier) on
    /// another clock: tests drive whole schedules on a manual one.
    pub fn on_clock(&self, clock: Arc<dyn Clock>) -> App {
        let now = clock.clone();
        App {
            storage: self.storage.clone().with_clock(Arc::new(move || now.now())),
            clock,
            ..self.clone()
        }
    }

    /// The same host with `sealer` as its credential key (tests, and
    /// front ends that read the key some other way).
    pub fn with_sealer(mut self, sealer: Sealer) -> App {
        self.sealer = Some(Arc::new(sealer));
        self
    }

    /// Milliseconds since the epoch, by the app's clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The tenant a command acts for (see [`Config::tenant`]), created in
    /// the database on first use.
    pub async fn tenant(&self, named: Option<&str>) -> Result<(String, TenantId)> {
        let tenant = self.config.tenant(named)?;
        let id = if self.storage.is_read_only() {
            self.storage
                .find_tenant(&tenant.name)
                .await?
                .with_context(|| {
                    format!(
                        "tenant {} has nothing stored yet: run `seatwarden apply` first",
                        tenant.name
                    )
                })?
        } else {
            self.storage.ensure_tenant(&tenant.name, self.now()).await?
        };
        Ok((tenant.name.clone(), id))
    }

    /// Loads a tenant's connection's connector and builds the connection:
    /// the file's, or one made over the API.
    pub async fn connect(&self, tenant: &str, connection: &str) -> Result<Connected> {
        let tenant_id = self.storage.find_tenant(tenant).await?;
        let stored = match tenant_id {
            Some(id) => self.storage.api_connection(id, connection).await?,
            None => None,
        };
        let settings = match (
            self.config.connection(tenant, connection),
            stored,
            tenant_id,
        ) {
            (Ok(_), Some(_), _) => bail!(
                "tenant {tenant} has a connection {connection:?} both in {} and made over the API: delete the API one (DELETE /api/v1/connections/{connection}) or rename the file's",
                self.config.path.display()
            ),
            (Ok(settings), None, _) => settings,
            (Err(_), Some(stored), Some(id)) => {
                return self.connect_stored(id, tenant, &stored).await;
            }
            (Err(err), _, _) => return Err(err.into()),
        };
        let connector = self.runtime.load_file(&settings.connector).await?;
        if let Some(pinned) = &settings.sha256
            && pinned != connector.digest()
        {
            bail!(
                "{}: connections.{}.sha256: pinned {pinned}, but {} has sha256 {}. Update the pin only if you trust the new component",
                self.config.path.display(),
                settings.name,
                settings.connector.display(),
                connector.digest()
            );
        }
        let connection = self.build_connection(settings, &connector)?;
        let fingerprint = fingerprint(settings, &connector);
        Ok(Connected {
            connector,
            connection,
            fingerprint,
        })
    }

    /// Stores the subscription models `connector` declares (contract
    /// 0.2.2's `vendor` interface) as the tenant's models for its connector
    /// type, so reports, which never load a connector, can price them. A
    /// component that declares nothing (without the interface, or with the
    /// SDK's empty one) leaves what is stored as it is.
    pub async fn remember_declared_models(
        &self,
        tenant: TenantId,
        connector: &Connector,
    ) -> Result<()> {
        let terms = connector.vendor_terms();
        if !terms.declares_anything() {
            return Ok(());
        }
        let name = &connector.descriptor().name;
        let declared: Vec<Mapping> = terms
            .models
            .iter()
            .map(|declared| Mapping {
                connector: name.clone(),
                identifier: declared.identifier.clone(),
                model: declared.model.clone(),
            })
            .collect();
        let changes = self
            .storage
            .record_declared_models(tenant, name, connector.digest(), &declared, self.now())
            .await
            .with_context(|| format!("storing the subscription models {name} declares"))?;
        for change in changes {
            tracing::info!(tenant = ?tenant, "{change}");
        }
        Ok(())
    }

    /// A tenant's stored profile, connected.
    pub async fn open_profile(
        &self,
        tenant: TenantId,
        tenant_name: &str,
        name: &str,
    ) -> Result<ProfileContext> {
        let record = self.find_profile(tenant, tenant_name, name).await?;
        let connected = self
            .connect(tenant_name, &record.settings.connection)
            .await
            .with_context(|| format!("profile {name}"))?;
        Ok(ProfileContext { record, connected })
    }

    /// A tenant's stored profile, or an error that lists the tenant's
    /// profiles and says how to create one.
    pub async fn find_profile(
        &self,
        tenant: TenantId,
        tenant_name: &str,
        name: &str,
    ) -> Result<ProfileRecord> {
        if let Some(record) = self.storage.profile(tenant, name).await? {
            return Ok(record);
        }
        let known: Vec<String> = self
            .storage
            .profiles(tenant)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        let hint = if self
            .config
            .profiles
            .get(name)
            .is_some_and(|p| p.tenant == tenant_name)
        {
            format!(
                "it is in {} but not applied yet: run `seatwarden apply`",
                self.config.path.display()
            )
        } else {
            "create it with `seatwarden profile create` or add it to the configuration and run `seatwarden apply`".to_string()
        };
        bail!(
            "tenant {tenant_name} has no profile {name:?} (its profiles: {}); {hint}",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )
    }

    fn build_connection(
        &self,
        settings: &ConnectionConfig,
        connector: &Connector,
    ) -> Result<Connection> {
        let table = format!("connections.{}", settings.name);
        let builder = connection_builder(
            settings,
            connector,
            (&self.config.path, &table),
            &self.limiters,
        )?;
        builder.build(connector.descriptor()).with_context(|| {
            format!(
                "{}: connections.{}",
                self.config.path.display(),
                settings.name
            )
        })
    }
}

/// The fingerprint of a connection and its connector: a sha256 over the
/// connector's name, version and digest and every connection setting that
/// changes what the connector talks to or how (credential references, not
/// values).
pub fn fingerprint(settings: &ConnectionConfig, connector: &Connector) -> String {
    let descriptor = connector.descriptor();
    let text = format!(
        "{}\n{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{}",
        descriptor.name,
        descriptor.version,
        connector.digest(),
        settings.base_url,
        settings.region,
        settings.auth.as_ref().map(ToString::to_string),
        settings.credential,
        settings.allowed_hosts,
        settings.private_targets,
        settings.options,
        settings.connector.display(),
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A connection builder from a `[connections.<name>]` table: base URL or
/// region, auth, allowed hosts, options, the credential loaded from its
/// source, and the rate limit (the operator's, else the vendor's published
/// one) from `limiters`. `config_path` and `table` (e.g.
/// `connections.acme-sr`) name the file and the table in errors.
pub fn connection_builder(
    settings: &ConnectionConfig,
    connector: &Connector,
    (config_path, table): (&Path, &str),
    limiters: &RateLimiters,
) -> Result<ConnectionBuilder> {
    let mut builder = Connection::builder().private_targets(settings.private_targets);
    if let Some(url) = &settings.base_url {
        builder = builder.base_url(url);
    }
    if let Some(region) = &settings.region {
        builder = builder.region(region);
    }
    if let Some(auth) = &settings.auth {
        builder = builder.auth_scheme(auth.clone());
    }
    for host in &settings.allowed_hosts {
        builder = builder.allow_host(host);
    }
    for (key, value) in &settings.options {
        builder = builder.option(key, value);
    }
    let context = || format!("{}: {table}.credential", config_path.display());
    match &settings.credential {
        Some(CredentialConfig::Secret(source)) => {
            builder = builder.credential(Credential::Secret(source.load().with_context(context)?));
        }
        Some(CredentialConfig::OAuth2 {
            client_id,
            secret,
            token_url,
            scope,
            client_auth,
        }) => {
            let client = seatwarden_sandbox::oauth::OAuthClient::new(
                client_id.clone(),
                secret.load().with_context(context)?,
                token_url.clone(),
                scope.clone(),
            )
            .with_client_authentication(*client_auth);
            builder = builder.credential(Credential::OAuth2(std::sync::Arc::new(client)));
        }
        Some(CredentialConfig::Basic { user, secret }) => {
            builder = builder.credential(Credential::Basic {
                user: user.clone(),
                secret: secret.load().with_context(context)?,
            });
        }
        None => {}
    }
    // The operator's limit first, then the one the connector declares for
    // its vendor (held to the host's default).
    let limit = settings
        .rate_limit
        .unwrap_or_else(|| connector.vendor_terms().host_rate());
    // One bucket per credential: its source names it (never its value).
    // A connection without one has a bucket of its own: a component can
    // claim any name, and must not share (or set) another tenant's limit.
    let key = match &settings.credential {
        Some(credential) => format!("{}:{credential:?}", connector.descriptor().name),
        None => format!(
            "{}:no credential:{}/{}",
            connector.descriptor().name,
            settings.tenant,
            settings.name
        ),
    };
    builder = builder.rate_limiter(limiters.bucket(&key, limit));
    Ok(builder)
}

/// The database as the rate limits' shared ledger: every host on it spaces
/// its requests on a credential with the others'.
struct StoredSlots(Storage);

impl SlotLedger for StoredSlots {
    fn reserve<'a>(
        &'a self,
        key: &'a str,
        interval_us: i64,
        now_us: i64,
        max_wait_us: i64,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<i64, String>> + Send + 'a>> {
        Box::pin(async move {
            self.0
                .reserve_rate_slot(key, interval_us, now_us, max_wait_us)
                .await
                .map_err(|err| err.to_string())
        })
    }
}
