//! The host's checked view of what a connector says about itself.
//!
//! `describe` is guest output, so nothing in it is trusted until it has been
//! validated here: the name is a plain identifier, the version is semver, the
//! hosts parse as origins, every base URL it offers (default and regions)
//! names one exact host inside those declared origins, and the auth header is
//! a real header name. A connector that fails these checks does not load.

use crate::contract::{self, types};
use crate::credentials::AuthScheme;
use crate::egress::AllowedOrigin;
use crate::egress::policy::HostPattern;
use anyhow::{Result, bail};
use serde::Serialize;

/// Optional functions a connector implements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// `get-activity` returns activity events.
    pub activity: bool,
    /// `deactivate-user` is implemented.
    pub deactivate: bool,
    /// `reactivate-user` is implemented.
    pub reactivate: bool,
}

/// One connector option.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OptionSpec {
    /// The option's name in the connection's `options`, cut to 200 characters.
    pub name: String,
    /// One sentence for the operator: what it does, which values it takes (cut to 200 characters).
    pub description: String,
    /// Whether a connection must set it; building a connection without it fails.
    pub required: bool,
}

/// A validated connector descriptor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// The connector's identifier: 1-64 characters of `a-z`, `0-9` and `-`.
    pub name: String,
    /// The connector's own version.
    pub version: semver::Version,
    /// The vendor's name as people write it, cut to 200 characters.
    pub vendor: String,
    /// One line for operators on what the connector covers, cut to 200 characters.
    pub summary: String,
    /// Which optional functions it implements.
    pub capabilities: Capabilities,
    /// How the host authenticates its requests; `OperatorChoice` leaves it to the connection.
    pub auth: AuthScheme,
    /// The origins it declares; every base URL it offers lies inside them. They never
    /// widen a connection's allowlist.
    pub default_hosts: Vec<AllowedOrigin>,
    /// The base URL for connections that set none; empty when each must set its own.
    pub default_base_url: String,
    /// Named base URLs (`region` name, URL).
    pub regions: Vec<(String, String)>,
    /// The options it reads from a connection's settings.
    pub options: Vec<OptionSpec>,
    /// The schemes it offers through the optional `auth` interface (0.2.3),
    /// the default first; empty when it offers none, and `auth` applies.
    pub schemes: Vec<NamedScheme>,
}

/// A credential scheme a connector offers by name (`auth.schemes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedScheme {
    /// What the connection's `auth` setting calls it, e.g. `ssws`.
    pub name: String,
    /// What the host does for it.
    pub scheme: AuthScheme,
    /// When to pick it, for the operator (cut to 200 characters).
    pub description: String,
}

/// A base URL a connector offers is where the host sends the credential
/// when the operator picks it: it must name one exact host, inside the
/// origins the connector declares (which `connector inspect` shows), so a
/// component cannot steer the credential with a region nobody reviewed.
fn check_base_url(what: &str, url: &str, declared: &[AllowedOrigin]) -> Result<()> {
    let origin = AllowedOrigin::parse(url).map_err(|err| anyhow::anyhow!("{what}: {err}"))?;
    let HostPattern::Exact(host) = &origin.host else {
        bail!("{what} {url:?} has a wildcard host; a base URL must name one exact host");
    };
    if !declared
        .iter()
        .any(|d| d.matches(origin.scheme, host, origin.port))
    {
        let declared: Vec<String> = declared.iter().map(ToString::to_string).collect();
        bail!(
            "{what} {url:?} lies outside the connector's declared default-hosts [{}]; every base URL a connector offers must be inside its own declared origins",
            declared.join(", ")
        );
    }
    Ok(())
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
        let auth = standard_scheme(raw.auth)?;
        let default_hosts = raw
            .default_hosts
            .iter()
            .map(|h| AllowedOrigin::parse(h))
            .collect::<Result<Vec<_>, _>>()?;
        if !raw.default_base_url.is_empty() {
            check_base_url("default base URL", &raw.default_base_url, &default_hosts)?;
        }
        for (region, url) in &raw.regions {
            check_base_url(&format!("region {region:?}"), url, &default_hosts)?;
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
            schemes: Vec::new(),
        })
    }

    /// Adds what the optional `auth` interface declared, checked: at most
    /// eight schemes, each name a plain identifier given once, no
    /// `operator-choice` among them, header names and prefixes that make a
    /// well-formed header. An empty list changes nothing.
    pub fn with_schemes(mut self, raw: Vec<contract::auth::NamedScheme>) -> Result<Descriptor> {
        if raw.len() > MAX_SCHEMES {
            bail!(
                "auth.schemes lists {} schemes; at most {MAX_SCHEMES} are allowed",
                raw.len()
            );
        }
        let mut schemes: Vec<NamedScheme> = Vec::with_capacity(raw.len());
        for named in raw {
            let name = named.name;
            if name.is_empty()
                || name.len() > 32
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                bail!("auth scheme name {name:?} must be 1-32 characters of a-z, 0-9 and -");
            }
            if schemes.iter().any(|s| s.name == name) {
                bail!("auth scheme {name:?} is listed twice");
            }
            let scheme = match named.scheme {
                contract::auth::Scheme::Standard(types::AuthScheme::OperatorChoice) => {
                    bail!("auth scheme {name:?} is operator-choice, which names no scheme")
                }
                contract::auth::Scheme::Standard(standard) => standard_scheme(standard)?,
                contract::auth::Scheme::PrefixedToken(token) => {
                    let header =
                        http::HeaderName::from_bytes(token.header.as_bytes()).map_err(|_| {
                            anyhow::anyhow!(
                                "auth scheme {name:?}: header {:?} is not a valid HTTP header name",
                                token.header
                            )
                        })?;
                    let prefix = token.prefix;
                    if prefix.is_empty()
                        || prefix.len() > 32
                        || !prefix
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                    {
                        bail!(
                            "auth scheme {name:?}: prefix {prefix:?} must be 1-32 letters, digits, - or _"
                        );
                    }
                    AuthScheme::PrefixedToken { header, prefix }
                }
            };
            schemes.push(NamedScheme {
                name,
                scheme,
                description: named.description.chars().take(200).collect(),
            });
        }
        self.schemes = schemes;
        Ok(self)
    }
}

/// The most schemes a connector may offer.
const MAX_SCHEMES: usize = 8;

/// A scheme of the 0.2.0 `auth-scheme`, checked.
fn standard_scheme(raw: types::AuthScheme) -> Result<AuthScheme> {
    Ok(match raw {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(hosts: &[&str], base: &str, regions: &[(&str, &str)]) -> types::Descriptor {
        types::Descriptor {
            name: "smartsheet".into(),
            version: "1.0.0".into(),
            vendor: "Smartsheet".into(),
            summary: String::new(),
            capabilities: types::Capabilities::empty(),
            auth: types::AuthScheme::BearerToken,
            default_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            default_base_url: base.into(),
            regions: regions
                .iter()
                .map(|(n, u)| (n.to_string(), u.to_string()))
                .collect(),
            options: vec![],
        }
    }

    #[test]
    fn base_urls_must_lie_inside_the_declared_origins_without_wildcards() {
        let hosts = ["https://api.smartsheet.com", "https://*.smartsheet.eu"];
        assert!(Descriptor::from_guest(raw(&hosts, "https://api.smartsheet.com/2.0", &[])).is_ok());
        let steered = Descriptor::from_guest(raw(
            &hosts,
            "https://api.smartsheet.com/2.0",
            &[("eu", "https://collector.attacker.example/2.0")],
        ))
        .unwrap_err();
        assert_eq!(
            steered.to_string(),
            "region \"eu\" \"https://collector.attacker.example/2.0\" lies outside the connector's declared default-hosts [https://api.smartsheet.com:443, https://*.smartsheet.eu:443]; every base URL a connector offers must be inside its own declared origins"
        );
        let wildcard =
            Descriptor::from_guest(raw(&hosts, "https://*.smartsheet.eu/2.0", &[])).unwrap_err();
        assert!(wildcard.to_string().contains("wildcard host"), "{wildcard}");
        let other_port =
            Descriptor::from_guest(raw(&hosts, "https://api.smartsheet.com:8443/2.0", &[]))
                .unwrap_err();
        assert!(other_port.to_string().contains("outside"), "{other_port}");
        let downgrade =
            Descriptor::from_guest(raw(&hosts, "http://api.smartsheet.com/2.0", &[])).unwrap_err();
        assert!(downgrade.to_string().contains("outside"), "{downgrade}");
    }

    fn named(name: &str, scheme: contract::auth::Scheme) -> contract::auth::NamedScheme {
        contract::auth::NamedScheme {
            name: name.into(),
            scheme,
            description: "how".into(),
        }
    }

    fn prefixed(header: &str, prefix: &str) -> contract::auth::Scheme {
        contract::auth::Scheme::PrefixedToken(contract::auth::PrefixedToken {
            header: header.into(),
            prefix: prefix.into(),
        })
    }

    #[test]
    fn offered_schemes_are_checked_before_any_secret_goes_near_them() {
        let base =
            || Descriptor::from_guest(raw(&["https://api.smartsheet.com"], "", &[])).unwrap();
        let ok = base()
            .with_schemes(vec![
                named("ssws", prefixed("authorization", "SSWS")),
                named(
                    "oauth2",
                    contract::auth::Scheme::Standard(types::AuthScheme::Oauth2ClientCredentials),
                ),
            ])
            .unwrap();
        assert_eq!(
            ok.schemes[0].scheme,
            AuthScheme::PrefixedToken {
                header: http::header::AUTHORIZATION,
                prefix: "SSWS".into()
            }
        );
        assert!(base().with_schemes(vec![]).unwrap().schemes.is_empty());
        let refused = |schemes: Vec<contract::auth::NamedScheme>| {
            base().with_schemes(schemes).unwrap_err().to_string()
        };
        // A prefix that would smuggle a second header line.
        assert!(
            refused(vec![named(
                "x",
                prefixed("authorization", "SSWS\r\nX-Evil: 1")
            )])
            .contains("prefix")
        );
        assert!(refused(vec![named("x", prefixed("bad header", "SSWS"))]).contains("header"));
        assert!(
            refused(vec![
                named("x", prefixed("authorization", "A")),
                named("x", prefixed("authorization", "B"))
            ])
            .contains("listed twice")
        );
        assert!(refused(vec![named("Has Space", prefixed("authorization", "A"))]).contains("1-32"));
        assert!(
            refused(vec![named(
                "x",
                contract::auth::Scheme::Standard(types::AuthScheme::OperatorChoice)
            )])
            .contains("names no scheme")
        );
        let many = (0..9)
            .map(|i| named(&format!("s{i}"), prefixed("authorization", "A")))
            .collect();
        assert!(refused(many).contains("at most 8"));
    }
}
