//! The TOML configuration: tenants, connections and profiles.
//!
//! Read once, validated whole, and turned into checked values; every mistake
//! is reported as `file: key: what is wrong. what to do`. Secrets never
//! appear in the file: a connection names an environment variable or an
//! owner-only file that holds its credential.

mod entitlements;
mod models;
mod notifications;
mod reclamation;
mod sign_on;

pub use entitlements::TenantEntitlement;
pub use models::TenantMapping;
pub use notifications::{NotificationSettings, SmtpSecurity, SmtpSettings};
pub use reclamation::TenantExclusion;
pub use sign_on::{CALLBACK_PATH, SignOnSettings};

use seatwarden_domain::cron::{CronSchedule, SchedulerSettings};
pub use seatwarden_domain::database::Database;
use seatwarden_domain::profile_settings::{ActivityFrom, ProfileSettings};
use seatwarden_domain::rules::ReclamationRule;
use seatwarden_sandbox::credentials::CredentialSource;
use seatwarden_sandbox::egress::{AllowedOrigin, PrivateTargets};
use seatwarden_sandbox::limits::Limits;
use seatwarden_sandbox::oauth::ClientAuthentication;
use seatwarden_sandbox::ratelimit::RateLimit;
use seatwarden_sandbox::trust::TrustedRoots;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shortest lease the configuration accepts: the heartbeat renews at a
/// third of it, and a database under load must manage that in time.
pub const MIN_LEASE: Duration = Duration::from_secs(30);
/// The longest: a crashed owner on another machine blocks its profile this
/// long.
pub const MAX_LEASE: Duration = Duration::from_secs(60 * 60);

/// A configuration mistake, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file the mistake is in.
    pub file: PathBuf,
    /// The dotted key at fault, e.g. `connections.acme.tenant`; empty when no one key is.
    pub key: String,
    /// What is wrong, as a phrase without a closing full stop.
    pub problem: String,
    /// What to do about it; empty when there is no advice to give.
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
    database: Option<String>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    scheduler: RawScheduler,
    #[serde(default)]
    tenants: BTreeMap<String, RawTenant>,
    #[serde(default)]
    connections: BTreeMap<String, RawConnection>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    exclusions: Vec<reclamation::RawExclusion>,
    #[serde(default)]
    models: Vec<models::RawModel>,
    #[serde(default)]
    entitlements: Vec<entitlements::RawEntitlement>,
    notifications: Option<notifications::RawNotifications>,
    #[serde(default)]
    tls: RawTls,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTls {
    #[serde(default)]
    extra_roots: Vec<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawScheduler {
    time_zone: Option<String>,
    max_concurrent_jobs: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    lease: Option<Duration>,
    subscriptions: Option<String>,
    activity: Option<String>,
    reconcile: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    subscriptions: Option<String>,
    activity: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTenant {
    display_name: Option<String>,
    #[serde(default)]
    api_private_targets: PrivateTargets,
    sign_on: Option<sign_on::RawSignOn>,
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
    rate_limit: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    tenant: String,
    connection: String,
    download_subscriptions: Option<bool>,
    #[serde(default = "yes")]
    download_activity: bool,
    #[serde(default)]
    reclaim: bool,
    /// A TOML date (`2026-10-01`) or the same as a string.
    activity_from: Option<toml::Value>,
    activity_from_days: Option<u32>,
    #[serde(default)]
    schedule: RawSchedule,
    /// The profile's reclamation rule; defaults apply when absent.
    #[serde(default)]
    rule: reclamation::RawRule,
    /// An identity-provider profile whose sign-ins count as activity too.
    activity_also_from: Option<RawActivitySource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActivitySource {
    profile: String,
    #[serde(default)]
    principals: BTreeMap<String, String>,
}

/// A second activity source for a profile: an identity-provider profile of
/// the same tenant whose sign-ins count as activity, matched by principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivitySource {
    /// The identity-provider profile (same tenant, not this profile).
    pub profile: String,
    /// Vendor principal → the identity provider's, for people whose
    /// principals differ (any case).
    pub principals: BTreeMap<String, String>,
}

/// A tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantConfig {
    /// The tenant's key under `[tenants]`: lowercase letters, digits and `-`.
    pub name: String,
    /// The name shown to people; the key itself when the file sets none.
    pub display_name: String,
    /// The most a connection this tenant makes over the API may reach
    /// besides public addresses (`deny` unless the operator raises it here:
    /// a tenant's admin must not point the host at its own network).
    pub api_private_targets: PrivateTargets,
    /// How the tenant's people sign in to the console through the
    /// company's identity provider (`[tenants.NAME.sign_on]`); `None`:
    /// only with sign-in tokens.
    pub sign_on: Option<SignOnSettings>,
}

/// Where a connection's credential comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialConfig {
    /// An API key or token.
    Secret(CredentialSource),
    /// HTTP Basic: a user name and a secret.
    Basic {
        /// The user name, written in the file (it is not secret).
        user: String,
        /// Where the password or API key is read from.
        secret: CredentialSource,
    },
    /// OAuth 2.0 client credentials: the secret is the client secret.
    OAuth2 {
        /// The client id, written in the file (it is not secret).
        client_id: String,
        /// Where the client secret is read from.
        secret: CredentialSource,
        /// The token endpoint; its origin must also be on the connection's allowlist.
        token_url: String,
        /// The scope to request; `None` asks for none, leaving the server's default.
        scope: Option<String>,
        /// How the client proves itself at the token endpoint (`client_auth`).
        client_auth: ClientAuthentication,
    },
}

/// A connection to one vendor tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// The connection's key under `[connections]`: lowercase letters, digits and `-`.
    pub name: String,
    /// The tenant it belongs to; always one defined under `[tenants]`.
    pub tenant: String,
    /// The connector component, resolved against the configuration's folder.
    pub connector: PathBuf,
    /// The component's expected sha256, if pinned.
    pub sha256: Option<String>,
    /// The vendor API's URL; `None`: the `region`'s, or else the connector's default.
    pub base_url: Option<String>,
    /// One of the connector's named base URLs, instead of `base_url`.
    pub region: Option<String>,
    /// The auth scheme, for connectors that leave it to the connection.
    pub auth: Option<seatwarden_sandbox::credentials::AuthScheme>,
    /// Where the credential is read from, relative files already resolved;
    /// `None`: the connection has none.
    pub credential: Option<CredentialConfig>,
    /// Origins it may reach besides its base URL's (`scheme://host[:port]`, `*.` allowed).
    pub allowed_hosts: Vec<String>,
    /// Which non-public addresses it may reach; none unless the file says otherwise.
    pub private_targets: PrivateTargets,
    /// Connector-specific options as name and value, in name order; passed to the connector.
    pub options: Vec<(String, String)>,
    /// The vendor's request rate limit for this credential, when the
    /// operator sets one (else the connector's known default, if any).
    pub rate_limit: Option<RateLimit>,
}

/// An integration profile as written in the file (rules-as-code); applied
/// to the database with `seatwarden apply`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileConfig {
    /// The profile's key under `[profiles]`: lowercase letters, digits and `-`.
    pub name: String,
    /// The tenant it acts for; its connection belongs to the same tenant.
    pub tenant: String,
    /// Its connection, what it downloads, whether it reclaims, and its schedule overrides.
    pub settings: ProfileSettings,
    /// Which accounts become reclamation candidates; defaults fill the keys left out.
    pub rule: ReclamationRule,
    /// An identity provider's sign-ins as a second activity signal
    /// (`[profiles.NAME.activity_also_from]`), if set.
    pub activity_also_from: Option<ActivitySource>,
}

/// The whole, validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from: errors name it, and relative paths start at its folder.
    pub path: PathBuf,
    /// The database: a file, resolved like every relative path (default
    /// `seatwarden.db`), or a `postgres://` URL.
    pub database: Database,
    /// Sandbox limits for every connector call (`[limits]`; defaults where not set).
    pub limits: Limits,
    /// Time zone, job concurrency, lease and default schedules (`[scheduler]`).
    pub scheduler: SchedulerSettings,
    /// Every tenant, keyed by name.
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Every connection, keyed by name; each belongs to a defined tenant.
    pub connections: BTreeMap<String, ConnectionConfig>,
    /// Every profile, keyed by name; each uses a connection of its own tenant.
    pub profiles: BTreeMap<String, ProfileConfig>,
    /// User and identifier exclusions, each for one tenant.
    pub exclusions: Vec<TenantExclusion>,
    /// Identifier-to-software-model mappings, each for one tenant.
    pub models: Vec<TenantMapping>,
    /// Rights bought per software model, each for one tenant.
    pub entitlements: Vec<TenantEntitlement>,
    /// How users are told about their candidacy; none: nobody is told.
    pub notifications: Option<NotificationSettings>,
    /// Certificate authorities trusted besides the Mozilla roots, for
    /// vendor hosts and the SMTP relay (`[tls] extra_roots`).
    pub trusted_roots: TrustedRoots,
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
                    // The span of a whole table (a missing field) can start
                    // in the blank lines before its header: start at its
                    // first non-blank character, and look for the header up
                    // to the end of that line. A point (a syntax error)
                    // stays where it is.
                    let from = span.start.min(text.len());
                    let start = if span.end > from + 1 {
                        from + (text[from..].len() - text[from..].trim_start().len())
                    } else {
                        from
                    };
                    let line = text[..start].matches('\n').count() + 1;
                    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
                    let table = text[..line_end]
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
        let database = Database::parse(raw.database.as_deref().unwrap_or("seatwarden.db"), &base)
            .map_err(|problem| {
            err(
                "database",
                problem,
                "give a file path (SQLite) or postgres://user@host:port/database",
            )
        })?;
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
            let sign_on = tenant
                .sign_on
                .map(|raw| {
                    sign_on::sign_on(raw, &format!("tenants.{name}.sign_on"), &err, &resolve)
                })
                .transpose()?;
            tenants.insert(
                name.clone(),
                TenantConfig {
                    display_name: tenant.display_name.unwrap_or_else(|| name.clone()),
                    api_private_targets: tenant.api_private_targets,
                    sign_on,
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
                        client_auth,
                    } => CredentialConfig::OAuth2 {
                        client_id,
                        secret: anchor(secret),
                        token_url,
                        scope,
                        client_auth,
                    },
                });
            let rate_limit = c
                .rate_limit
                .as_deref()
                .map(|text| {
                    text.parse::<RateLimit>().map_err(|problem| {
                        err(
                            &format!("{key}.rate_limit"),
                            problem,
                            "write it as requests per second or minute, e.g. \"10/s\" or \"300/min\"",
                        )
                    })
                })
                .transpose()?;
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
                    rate_limit,
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
            if p.download_subscriptions == Some(false) {
                return Err(err(
                    &format!("{key}.download_subscriptions"),
                    "downloading subscriptions cannot be turned off".into(),
                    "remove the key (it is always on); clear reclaim for a report-only profile",
                ));
            }
            let activity_from = match (p.activity_from, p.activity_from_days) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        &format!("{key}.activity_from"),
                        "both activity_from and activity_from_days are set".into(),
                        "set one of them",
                    ));
                }
                (Some(value), None) => {
                    let date = match value {
                        toml::Value::String(text) => text,
                        toml::Value::Datetime(datetime) => datetime.to_string(),
                        other => other.to_string(),
                    };
                    ActivityFrom::Date(date.parse().map_err(|e| {
                        err(
                            &format!("{key}.activity_from"),
                            format!("{date:?} is not a date: {e}"),
                            "write it as YYYY-MM-DD, at most 60 days in the past",
                        )
                    })?)
                }
                (None, Some(days)) => {
                    if !(1..=60).contains(&days) {
                        return Err(err(
                            &format!("{key}.activity_from_days"),
                            format!("{days} is outside 1..=60"),
                            "activity can be analyzed from at most 60 days back",
                        ));
                    }
                    ActivityFrom::DaysBack(days)
                }
                (None, None) => ActivityFrom::DaysBack(60),
            };
            let cron = |field: &str, text: Option<String>| {
                text.map(|text| {
                    CronSchedule::parse(&text).map(|_| text).map_err(|problem| {
                        err(&format!("{key}.schedule.{field}"), problem, CRON_FIX)
                    })
                })
                .transpose()
            };
            let rule = reclamation::rule(p.rule, &format!("{key}.rule"), &err)?;
            if rule.notify_days.is_some() && raw.notifications.is_none() {
                return Err(err(
                    &format!("{key}.rule.notify_days"),
                    "users are to be told, but there is no [notifications] table".into(),
                    "add [notifications] with from, answer_url, link_key and [notifications.smtp], or remove notify_days",
                ));
            }
            let settings = ProfileSettings {
                connection: p.connection,
                download_activity: p.download_activity,
                reclaim: p.reclaim,
                activity_from,
                subscriptions_cron: cron("subscriptions", p.schedule.subscriptions)?,
                activity_cron: cron("activity", p.schedule.activity)?,
            };
            profiles.insert(
                name.clone(),
                ProfileConfig {
                    name,
                    tenant: p.tenant,
                    settings,
                    rule,
                    activity_also_from: p.activity_also_from.map(|a| ActivitySource {
                        profile: a.profile,
                        principals: a.principals,
                    }),
                },
            );
        }

        for (name, profile) in &profiles {
            let Some(source) = &profile.activity_also_from else {
                continue;
            };
            let key = format!("profiles.{name}.activity_also_from.profile");
            let named = profiles.get(&source.profile);
            if source.profile == *name {
                return Err(err(
                    &key,
                    "names the profile itself".into(),
                    "name the identity-provider profile (Okta, Entra ID) that reads the same people",
                ));
            }
            match named {
                None => {
                    return Err(err(
                        &key,
                        format!("{:?} is not a profile of this file", source.profile),
                        "name a profile under [profiles] whose connection is an identity provider's (Okta, Entra ID)",
                    ));
                }
                Some(other) if other.tenant != profile.tenant => {
                    return Err(err(
                        &key,
                        format!(
                            "{:?} belongs to tenant {:?}, not {:?}",
                            source.profile, other.tenant, profile.tenant
                        ),
                        "a profile reads sign-ins of its own tenant only",
                    ));
                }
                Some(other) if other.activity_also_from.is_some() => {
                    return Err(err(
                        &key,
                        format!(
                            "{:?} takes activity from another profile itself",
                            source.profile
                        ),
                        "name the identity-provider profile directly; sources do not chain",
                    ));
                }
                Some(_) => {}
            }
            for (from, to) in &source.principals {
                if from.trim().is_empty()
                    || to.trim().is_empty()
                    || from.len() > 320
                    || to.len() > 320
                {
                    return Err(err(
                        &format!("profiles.{name}.activity_also_from.principals"),
                        format!("{from:?} = {to:?} is not a pair of principals"),
                        "write \"vendor principal\" = \"identity-provider principal\", each 1 to 320 characters",
                    ));
                }
            }
        }

        let defaults = SchedulerSettings::default();
        let scheduler_cron = |field: &str, text: Option<String>, default: String| {
            text.map_or(Ok(default), |text| {
                CronSchedule::parse(&text)
                    .map(|_| text)
                    .map_err(|problem| err(&format!("scheduler.{field}"), problem, CRON_FIX))
            })
        };
        let time_zone = match raw.scheduler.time_zone {
            None => defaults.time_zone.clone(),
            Some(name) => jiff::tz::TimeZone::get(&name).map_err(|e| {
                err(
                    "scheduler.time_zone",
                    format!("{name:?} is not a time zone: {e}"),
                    "use an IANA name such as \"UTC\" or \"Europe/Berlin\"",
                )
            })?,
        };
        let max_concurrent_jobs = raw
            .scheduler
            .max_concurrent_jobs
            .unwrap_or(defaults.max_concurrent_jobs);
        if max_concurrent_jobs == 0 {
            return Err(err(
                "scheduler.max_concurrent_jobs",
                "0 would never run a job".into(),
                "use 1 or more",
            ));
        }
        let lease = raw.scheduler.lease.unwrap_or(defaults.lease);
        if !(MIN_LEASE..=MAX_LEASE).contains(&lease) {
            return Err(err(
                "scheduler.lease",
                format!(
                    "{} is outside the accepted range",
                    humantime_serde::re::humantime::format_duration(lease)
                ),
                "use between 30s (the heartbeat renews it every third) and 1h (a crashed host blocks its profiles that long)",
            ));
        }
        let scheduler = SchedulerSettings {
            time_zone,
            max_concurrent_jobs,
            lease,
            subscriptions_cron: scheduler_cron(
                "subscriptions",
                raw.scheduler.subscriptions,
                defaults.subscriptions_cron,
            )?,
            activity_cron: scheduler_cron(
                "activity",
                raw.scheduler.activity,
                defaults.activity_cron,
            )?,
            reconcile_cron: scheduler_cron(
                "reconcile",
                raw.scheduler.reconcile,
                defaults.reconcile_cron,
            )?,
        };

        let mut exclusions = Vec::new();
        for (index, raw_exclusion) in raw.exclusions.into_iter().enumerate() {
            let known = |name: &str| tenants.contains_key(name);
            exclusions.push(reclamation::exclusion(raw_exclusion, index, &known, &err)?);
        }
        let known = |name: &str| tenants.contains_key(name);
        let models = models::mappings(raw.models, &known, &err)?;
        let entitlements = entitlements::entitlements(raw.entitlements, &known, &err)?;
        let notifications = raw
            .notifications
            .map(|n| notifications::notifications(n, &err, &resolve))
            .transpose()?;
        let mut trusted_roots = TrustedRoots::none();
        for (index, file) in raw.tls.extra_roots.iter().enumerate() {
            trusted_roots
                .add_pem_file(&resolve(file))
                .map_err(|problem| {
                    err(
                        &format!("tls.extra_roots[{index}]"),
                        problem,
                        "give PEM files holding only CA certificates (\"-----BEGIN CERTIFICATE-----\" blocks); relative paths start at the configuration's folder",
                    )
                })?;
        }
        Ok(Config {
            path: path.to_path_buf(),
            database,
            limits: raw.limits,
            scheduler,
            tenants,
            connections,
            profiles,
            exclusions,
            models,
            entitlements,
            notifications,
            trusted_roots,
        })
    }

    /// A tenant's connection by name, or an error listing the tenant's
    /// connections. A connection of another tenant is "not found" here.
    pub fn connection(&self, tenant: &str, name: &str) -> Result<&ConnectionConfig, ConfigError> {
        match self.connections.get(name) {
            Some(connection) if connection.tenant == tenant => Ok(connection),
            _ => {
                let own: Vec<&str> = self
                    .connections
                    .values()
                    .filter(|c| c.tenant == tenant)
                    .map(|c| c.name.as_str())
                    .collect();
                Err(ConfigError {
                    file: self.path.clone(),
                    key: format!("connections.{name}"),
                    problem: format!(
                        "tenant {tenant:?} has no connection named {name:?} (its connections: {})",
                        if own.is_empty() {
                            "none".to_string()
                        } else {
                            own.join(", ")
                        }
                    ),
                    fix: "add the connection to the configuration, under this tenant".into(),
                })
            }
        }
    }

    /// The tenant a command acts for: the one named, or the only one.
    pub fn tenant(&self, named: Option<&str>) -> Result<&TenantConfig, ConfigError> {
        let err = |problem: String, fix: &str| ConfigError {
            file: self.path.clone(),
            key: "tenants".into(),
            problem,
            fix: fix.into(),
        };
        match named {
            Some(name) => self.tenants.get(name).ok_or_else(|| {
                err(
                    format!(
                        "no tenant named {name:?} (defined: {})",
                        known(&self.tenants)
                    ),
                    "pass one of those with --tenant, or add it to the configuration",
                )
            }),
            None if self.tenants.len() == 1 => {
                Ok(self.tenants.values().next().expect("one tenant"))
            }
            None if self.tenants.is_empty() => Err(err(
                "no tenants are defined".into(),
                "add a [tenants.<name>] table",
            )),
            None => Err(err(
                format!(
                    "several tenants are defined ({}) and none was chosen",
                    known(&self.tenants)
                ),
                "pass --tenant <name> (or set SEATWARDEN_TENANT)",
            )),
        }
    }
}

const CRON_FIX: &str =
    "use a cron expression such as \"0 2 * * *\" (minute hour day-of-month month day-of-week)";

fn known<V>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        "none".into()
    } else {
        map.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// A reclamation rule from another format than the file (the API's JSON),
/// checked by the same code as a profile's `rule` table: the error names
/// the field at fault (`rule.threshold_days`) and says what to do.
pub fn parse_rule<'de, D: serde::Deserializer<'de>>(
    input: D,
) -> Result<ReclamationRule, (String, String)> {
    use serde::Deserialize;
    let raw = reclamation::RawRule::deserialize(input)
        .map_err(|e| ("rule".to_string(), e.to_string()))?;
    let err = |key: &str, problem: String, fix: &str| ConfigError {
        file: PathBuf::new(),
        key: key.to_string(),
        problem,
        fix: fix.to_string(),
    };
    reclamation::rule(raw, "rule", &err).map_err(|e| {
        let message = if e.fix.is_empty() {
            e.problem
        } else {
            format!("{}; {}", e.problem, e.fix)
        };
        (e.key, message)
    })
}

/// Checks a tenant, connection or profile name: 1 to 64 lowercase letters,
/// digits and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
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
            "env" | "file" | "user" | "client_id" | "token_url" | "scope" | "client_auth"
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
    if table.contains_key("client_auth") && !table.contains_key("client_id") {
        return Err(("client_auth is for OAuth 2.0 (with client_id)".into(), FIX));
    }
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
                    client_auth: text("client_auth")?
                        .map(|how| how.parse::<ClientAuthentication>())
                        .transpose()
                        .map_err(|problem| (format!("client_auth: {problem}"), FIX))?
                        .unwrap_or_default(),
                }
            }
            (None, Some(_), None) => return Err(("client_id needs a token_url".into(), FIX)),
            (_, None, Some(_)) => return Err(("token_url needs a client_id".into(), FIX)),
            (None, None, None) => CredentialConfig::Secret(source),
        },
    )
}
