//! The host's checked view of what a connector says about itself.
//!
//! `describe` is guest output, so nothing in it is trusted until it has been
//! validated here: the name is a plain identifier, the version is semver, the
//! hosts and base URL parse as origins, and the auth header is a real header
//! name. A connector that fails these checks does not load.

use crate::bindings::types;
use crate::credentials::AuthScheme;
use crate::egress::AllowedOrigin;
use anyhow::{Result, bail};
use serde::Serialize;

/// Optional functions a connector implements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub activity: bool,
    pub deactivate: bool,
    pub reactivate: bool,
}

/// One connector option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionSpec {
    pub name: String,
    pub description: String,
    pub required: bool,
}

/// A validated connector descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    pub name: String,
    pub version: semver::Version,
    pub vendor: String,
    pub summary: String,
    pub capabilities: Capabilities,
    pub auth: AuthScheme,
    pub default_hosts: Vec<AllowedOrigin>,
    pub default_base_url: String,
    /// Named base URLs (`region` name, URL).
    pub regions: Vec<(String, String)>,
    pub options: Vec<OptionSpec>,
}

impl Descriptor {
    /// `name@version`, the connector's label in logs and errors.
    pub fn label(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// Validates what the guest returned from `describe`.
    pub fn from_guest(raw: types::Descriptor) -> Result<Descriptor> {
        let name = raw.name;
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            bail!("name {name:?} must be 1-64 characters of a-z, 0-9 and -");
        }
        let version = semver::Version::parse(&raw.version)
            .map_err(|err| anyhow::anyhow!("version {:?} is not semver: {err}", raw.version))?;
        let auth = match raw.auth {
            types::AuthScheme::None => AuthScheme::None,
            types::AuthScheme::ApiKeyHeader(header) => {
                let name = http::HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    anyhow::anyhow!("auth header {header:?} is not a valid HTTP header name")
                })?;
                AuthScheme::ApiKeyHeader(name)
            }
            types::AuthScheme::BearerToken => AuthScheme::BearerToken,
            types::AuthScheme::Basic => AuthScheme::Basic,
            types::AuthScheme::Oauth2ClientCredentials => AuthScheme::OAuth2ClientCredentials,
            types::AuthScheme::OperatorChoice => AuthScheme::OperatorChoice,
        };
        let default_hosts = raw
            .default_hosts
            .iter()
            .map(|h| AllowedOrigin::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        if !raw.default_base_url.is_empty() {
            AllowedOrigin::parse(&raw.default_base_url)
                .map_err(|err| anyhow::anyhow!("default base URL: {err}"))?;
        }
        for (region, url) in &raw.regions {
            AllowedOrigin::parse(url).map_err(|err| anyhow::anyhow!("region {region:?}: {err}"))?;
        }
        let capabilities = Capabilities {
            activity: raw.capabilities.contains(types::Capabilities::ACTIVITY),
            deactivate: raw.capabilities.contains(types::Capabilities::DEACTIVATE),
            reactivate: raw.capabilities.contains(types::Capabilities::REACTIVATE),
        };
        let clip = |s: String| s.chars().take(200).collect::<String>();
        Ok(Descriptor {
            name,
            version,
            vendor: clip(raw.vendor),
            summary: clip(raw.summary),
            capabilities,
            auth,
            default_hosts,
            default_base_url: raw.default_base_url.trim_end_matches('/').to_string(),
            regions: raw
                .regions
                .into_iter()
                .map(|(name, url)| (clip(name), url.trim_end_matches('/').to_string()))
                .collect(),
            options: raw
                .options
                .into_iter()
                .map(|o| OptionSpec {
                    name: clip(o.name),
                    description: clip(o.description),
                    required: o.required,
                })
                .collect(),
        })
    }
}
