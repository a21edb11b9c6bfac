//! The TOML configuration: tenants, connections and profiles.
//!
//! Read once, validated whole, and turned into checked values; every mistake
//! is reported as `file: key: what is wrong. what to do`. Secrets never
//! appear in the file: a connection names an environment variable or an
//! owner-only file that holds its credential.

use crate::credentials::CredentialSource;
use crate::egress::{AllowedOrigin, PrivateTargets};
use crate::limits::Limits;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration mistake, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub key: String,
    pub problem: String,
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file.display())?;
        if !self.key.is_empty() {
            write!(f, "{}: ", self.key)?;
        }
        write!(f, "{}", self.problem)?;
        if !self.fix.is_empty() {
            write!(f, ". {}", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: Option<PathBuf>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    tenants: BTreeMap<String, RawTenant>,
    #[serde(default)]
    connections: BTreeMap<String, RawConnection>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConnection {
    tenant: String,
    connector: PathBuf,
    sha256: Option<String>,
    base_url: Option<String>,
    region: Option<String>,
    auth: Option<String>,
    credential: Option<toml::Value>,
    #[serde(default)]
    allowed_hosts: Vec<String>,
    #[serde(default)]
    private_targets: PrivateTargets,
    #[serde(default)]
    options: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

fn sixty() -> u32 {
    60
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    tenant: String,
    connection: String,
    #[serde(default = "yes")]
    download_activity: bool,
    #[serde(default = "sixty")]
    activity_from_days: u32,
}

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantConfig {
    pub name: String,
    pub display_name: String,
}

/// Where a connection's credential comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialConfig {
    /// An API key or token.
    Secret(CredentialSource),
    /// HTTP Basic: a user name and a secret.
    Basic {
        user: String,
        secret: CredentialSource,
    },
    /// OAuth 2.0 client credentials: the secret is the client secret.
    OAuth2 {
        client_id: String,
        secret: CredentialSource,
        token_url: String,
        scope: Option<String>,
    },
}

/// A connection to one vendor tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionConfig {
    pub name: String,
    pub tenant: String,
    /// The connector component, resolved against the configuration's folder.
    pub connector: PathBuf,
    /// The component's expected sha256, if pinned.
    pub sha256: Option<String>,
    pub base_url: Option<String>,
    /// One of the connector's named base URLs, instead of `base_url`.
    pub region: Option<String>,
    /// The auth scheme, for connectors that leave it to the connection.
    pub auth: Option<crate::credentials::AuthScheme>,
    pub credential: Option<CredentialConfig>,
    pub allowed_hosts: Vec<String>,
    pub private_targets: PrivateTargets,
    pub options: Vec<(String, String)>,
}

/// An integration profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileConfig {
    pub name: String,
    pub tenant: String,
    pub connection: String,
    pub download_activity: bool,
    pub activity_from_days: u32,
}

/// The whole, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub path: PathBuf,
    pub database: PathBuf,
    pub limits: Limits,
    pub tenants: BTreeMap<String, TenantConfig>,
    pub connections: BTreeMap<String, ConnectionConfig>,
    pub profiles: BTreeMap<String, ProfileConfig>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError {
            file: path.to_path_buf(),
            key: String::new(),
            problem: format!("cannot read the configuration: {err}"),
            fix: "pass --config <file> or create seatwarden.toml".into(),
        })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` names it in errors and anchors
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |key: &str, problem: String, fix: &str| ConfigError {
            file: path.to_path_buf(),
            key: key.to_string(),
            problem,
            fix: fix.to_string(),
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().to_string();
            let (key, at) = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let table = before
                        .lines()
                        .rev()
                        .map(str::trim)
                        .find(|l| l.starts_with('[') && l.ends_with(']'))
                        .map(|l| l.trim_matches(['[', ']']).to_string())
                        .unwrap_or_default();
                    (table, format!(" (line {line})"))
                })
                .unwrap_or_default();
            err(
                &key,
                format!("{message}{at}"),
                "see README.md for the configuration format",
            )
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };

        let mut tenants = BTreeMap::new();
        for (name, tenant) in raw.tenants {
            check_name(&name).map_err(|p| {
                err(
                    &format!("tenants.{name}"),
                    p,
                    "use lowercase letters, digits and -",
                )
            })?;
            tenants.insert(
                name.clone(),
                TenantConfig {
                    display_name: tenant.display_name.unwrap_or_else(|| name.clone()),
                    name,
                },
            );
        }

        let mut connections = BTreeMap::new();
        for (name, c) in raw.connections {
            let key = format!("connections.{name}");
            check_name(&name).map_err(|p| err(&key, p, "use lowercase letters, digits and -"))?;
            if !tenants.contains_key(&c.tenant) {
                return Err(err(
                    &format!("{key}.tenant"),
                    format!(
                        "no tenant named {:?} (defined: {})",
                        c.tenant,
                        known(&tenants)
                    ),
                    &format!("add [tenants.{}] or fix the name", c.tenant),
                ));
            }
            let connector = resolve(&c.connector);
            if !connector.is_file() {
                return Err(err(
                    &format!("{key}.connector"),
                    format!("connector file {} does not exist", connector.display()),
                    "build it with `cargo xtask build-guests` or point to the .wasm file (relative paths start at the configuration's folder)",
                ));
            }
            if let Some(sha) = &c.sha256
                && (sha.len() != 64 || !sha.chars().all(|ch| ch.is_ascii_hexdigit()))
            {
                return Err(err(
                    &format!("{key}.sha256"),
                    format!("{sha:?} is not a sha256 digest"),
                    "use the 64 hex digits `seatwarden connector inspect` prints",
                ));
            }
            if c.base_url.is_some() && c.region.is_some() {
                return Err(err(
                    &format!("{key}.region"),
                    "both base_url and region are set".into(),
                    "set one of them",
                ));
            }
            let auth = c
                .auth
                .as_deref()
                .map(|a| {
                    a.parse()
                        .map_err(|problem| err(&format!("{key}.auth"), problem, ""))
                })
                .transpose()?;
            if let Some(url) = &c.base_url {
                AllowedOrigin::parse(url).map_err(|e| {
                    err(
                        &format!("{key}.base_url"),
                        e.to_string(),
                        "use the vendor API's https URL",
                    )
                })?;
            }
            for (i, host) in c.allowed_hosts.iter().enumerate() {
                AllowedOrigin::parse(host)
                    .map_err(|e| err(&format!("{key}.allowed_hosts[{i}]"), e.to_string(), ""))?;
            }
            let anchor = |source: CredentialSource| match source {
                CredentialSource::File(file) => CredentialSource::File(resolve(&file)),
                env => env,
            };
            let credential = c
                .credential
                .as_ref()
                .map(|v| {
                    credential(v)
                        .map_err(|(problem, fix)| err(&format!("{key}.credential"), problem, fix))
                })
                .transpose()?
                .map(|cred| match cred {
                    CredentialConfig::Secret(source) => CredentialConfig::Secret(anchor(source)),
                    CredentialConfig::Basic { user, secret } => CredentialConfig::Basic {
                        user,
                        secret: anchor(secret),
                    },
                    CredentialConfig::OAuth2 {
                        client_id,
                        secret,
                        token_url,
                        scope,
                    } => CredentialConfig::OAuth2 {
                        client_id,
                        secret: anchor(secret),
                        token_url,
                        scope,
                    },
                });
            connections.insert(
                name.clone(),
                ConnectionConfig {
                    name,
                    tenant: c.tenant,
                    connector,
                    sha256: c.sha256.map(|s| s.to_ascii_lowercase()),
                    base_url: c.base_url,
                    region: c.region,
                    auth,
                    credential,
                    allowed_hosts: c.allowed_hosts,
                    private_targets: c.private_targets,
                    options: c.options.into_iter().collect(),
                },
            );
        }

        let mut profiles = BTreeMap::new();
        for (name, p) in raw.profiles {
            let key = format!("profiles.{name}");
            check_name(&name)
                .map_err(|problem| err(&key, problem, "use lowercase letters, digits and -"))?;
            if !tenants.contains_key(&p.tenant) {
                return Err(err(
                    &format!("{key}.tenant"),
                    format!(
                        "no tenant named {:?} (defined: {})",
                        p.tenant,
                        known(&tenants)
                    ),
                    &format!("add [tenants.{}] or fix the name", p.tenant),
                ));
            }
            let Some(connection) = connections.get(&p.connection) else {
                return Err(err(
                    &format!("{key}.connection"),
                    format!(
                        "no connection named {:?} (defined: {})",
                        p.connection,
                        known(&connections)
                    ),
                    &format!("add [connections.{}] or fix the name", p.connection),
                ));
            };
            if connection.tenant != p.tenant {
                return Err(err(
                    &format!("{key}.connection"),
                    format!(
                        "connection {:?} belongs to tenant {:?}, not {:?}",
                        p.connection, connection.tenant, p.tenant
                    ),
                    "a profile may only use a connection of its own tenant",
                ));
            }
            if !(1..=60).contains(&p.activity_from_days) {
                return Err(err(
                    &format!("{key}.activity_from_days"),
                    format!("{} is outside 1..=60", p.activity_from_days),
                    "activity can be analyzed from at most 60 days back",
                ));
            }
            profiles.insert(
                name.clone(),
                ProfileConfig {
                    name,
                    tenant: p.tenant,
                    connection: p.connection,
                    download_activity: p.download_activity,
                    activity_from_days: p.activity_from_days,
                },
            );
        }

        Ok(Config {
            path: path.to_path_buf(),
            database: resolve(
                &raw.database
                    .unwrap_or_else(|| PathBuf::from("seatwarden.db")),
            ),
            limits: raw.limits,
            tenants,
            connections,
            profiles,
        })
    }

    /// A profile and its connection, or an error listing the profiles.
    pub fn profile(&self, name: &str) -> Result<(&ProfileConfig, &ConnectionConfig), ConfigError> {
        let profile = self.profiles.get(name).ok_or_else(|| ConfigError {
            file: self.path.clone(),
            key: format!("profiles.{name}"),
            problem: format!(
                "no such profile (defined: {})",
                if self.profiles.is_empty() {
                    "none".to_string()
                } else {
                    self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                }
            ),
            fix: "pick one of those or add it to the configuration".into(),
        })?;
        Ok((profile, &self.connections[&profile.connection]))
    }
}

fn known<V>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        "none".into()
    } else {
        map.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Ok(())
    } else {
        Err(format!("{name:?} is not a valid name"))
    }
}

fn credential(value: &toml::Value) -> Result<CredentialConfig, (String, &'static str)> {
    const FIX: &str = "use credential = { env = \"VAR\" } or { file = \"path/to/secret\" } (add user = \"...\" for HTTP Basic, or client_id = \"...\" and token_url = \"...\" for OAuth 2.0)";
    let table = match value {
        toml::Value::String(_) => {
            return Err(("secrets are never written in the configuration".into(), FIX));
        }
        toml::Value::Table(table) => table,
        _ => return Err(("must be a table".into(), FIX)),
    };
    for key in table.keys() {
        if !matches!(
            key.as_str(),
            "env" | "file" | "user" | "client_id" | "token_url" | "scope"
        ) {
            return Err((format!("unknown key {key:?}"), FIX));
        }
    }
    let text = |key: &str| -> Result<Option<String>, (String, &'static str)> {
        match table.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
            Some(_) => Err((format!("{key} must be a non-empty string"), FIX)),
        }
    };
    let source = match (text("env")?, text("file")?) {
        (Some(var), None) => {
            if !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err((format!("{var:?} is not an environment variable name"), FIX));
            }
            CredentialSource::Env(var)
        }
        (None, Some(file)) => CredentialSource::File(PathBuf::from(file)),
        (Some(_), Some(_)) => return Err(("set env or file, not both".into(), FIX)),
        (None, None) => return Err(("names no env variable or file".into(), FIX)),
    };
    Ok(
        match (text("user")?, text("client_id")?, text("token_url")?) {
            (Some(_), Some(_), _) => {
                return Err((
                    "set user (HTTP Basic) or client_id (OAuth 2.0), not both".into(),
                    FIX,
                ));
            }
            (Some(user), None, None) => CredentialConfig::Basic {
                user,
                secret: source,
            },
            (None, Some(client_id), Some(token_url)) => {
                AllowedOrigin::parse(&token_url).map_err(|e| (format!("token_url: {e}"), FIX))?;
                CredentialConfig::OAuth2 {
                    client_id,
                    secret: source,
                    token_url,
                    scope: text("scope")?,
                }
            }
            (None, Some(_), None) => return Err(("client_id needs a token_url".into(), FIX)),
            (_, None, Some(_)) => return Err(("token_url needs a client_id".into(), FIX)),
            (None, None, None) => CredentialConfig::Secret(source),
        },
    )
}
