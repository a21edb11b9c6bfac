//! Wiring for one profile: configuration to runtime, connector, connection
//! and storage.
//!
//! Every command that works on a profile starts here, so credential loading,
//! digest pinning and connection checks happen the same way for `sync`,
//! `deactivate` and, later, the scheduler.

use crate::config::{Config, CredentialConfig, ProfileConfig};
use crate::connection::Connection;
use crate::credentials::Credential;
use crate::runtime::{Connector, Runtime, RuntimeConfig};
use crate::storage::{ProfileConnector, ProfileId, Storage};
use crate::sync::now_ms;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

/// Everything needed to act on one profile.
pub struct ProfileContext {
    pub profile: ProfileConfig,
    pub storage: Storage,
    pub runtime: Runtime,
    pub connector: Connector,
    pub connection: Connection,
    pub profile_id: ProfileId,
}

/// Opens storage, loads the connector and builds the connection of `name`.
pub async fn open_profile(
    config: &Config,
    name: &str,
    cache_dir: Option<PathBuf>,
) -> Result<ProfileContext> {
    let (profile, connection) = config.profile(name)?;
    let runtime = Runtime::new(RuntimeConfig {
        limits: config.limits.clone(),
        cache_dir,
        ..RuntimeConfig::default()
    })?;
    let connector = runtime.load_file(&connection.connector).await?;
    if let Some(pinned) = &connection.sha256
        && pinned != connector.digest()
    {
        bail!(
            "{}: connections.{}.sha256: pinned {pinned}, but {} has sha256 {}. Update the pin only if you trust the new component",
            config.path.display(),
            connection.name,
            connection.connector.display(),
            connector.digest()
        );
    }
    let mut builder = Connection::builder().private_targets(connection.private_targets);
    if let Some(url) = &connection.base_url {
        builder = builder.base_url(url);
    }
    if let Some(region) = &connection.region {
        builder = builder.region(region);
    }
    if let Some(auth) = &connection.auth {
        builder = builder.auth_scheme(auth.clone());
    }
    for host in &connection.allowed_hosts {
        builder = builder.allow_host(host);
    }
    for (key, value) in &connection.options {
        builder = builder.option(key, value);
    }
    let context = || {
        format!(
            "{}: connections.{}.credential",
            config.path.display(),
            connection.name
        )
    };
    match &connection.credential {
        Some(CredentialConfig::Secret(source)) => {
            builder = builder.credential(Credential::Secret(source.load().with_context(context)?));
        }
        Some(CredentialConfig::OAuth2 {
            client_id,
            secret,
            token_url,
            scope,
        }) => {
            let client = crate::oauth::OAuthClient::new(
                client_id.clone(),
                secret.load().with_context(context)?,
                token_url.clone(),
                scope.clone(),
            );
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
    let built = builder
        .build(connector.descriptor())
        .with_context(|| format!("{}: connections.{}", config.path.display(), connection.name))?;
    let storage = Storage::open(&config.database).await?;
    let now = now_ms();
    let tenant = storage.ensure_tenant(&profile.tenant, now).await?;
    let descriptor = connector.descriptor();
    let version = descriptor.version.to_string();
    let profile_id = storage
        .ensure_profile(
            tenant,
            &profile.name,
            &ProfileConnector {
                name: &descriptor.name,
                version: &version,
                digest: connector.digest(),
                base_url: built.base_url(),
            },
            now,
        )
        .await?;
    Ok(ProfileContext {
        profile: profile.clone(),
        storage,
        runtime,
        connector,
        connection: built,
        profile_id,
    })
}
