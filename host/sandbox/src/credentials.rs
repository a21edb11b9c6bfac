//! Connection credentials: where they come from and how they become a header.
//!
//! Secrets live only in the host, inside [`SecretString`], which never prints
//! (its `Debug` is redacted) and is zeroed on drop. They turn into a header
//! value only inside the outbound-HTTP hook, after the request passed the
//! allowlist, and that value is marked sensitive so HTTP tooling does not log
//! it. Nothing here ever formats a secret into an error message.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use http::{HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};

/// How the host authenticates a connector's requests (mirrors the WIT
/// `auth-scheme`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthScheme {
    /// The vendor needs no credential: nothing is added to requests.
    None,
    /// The secret is sent verbatim in this header, e.g. `X-SmartToken`.
    ApiKeyHeader(HeaderName),
    /// `Authorization: Bearer <secret>`.
    BearerToken,
    /// `Authorization: Basic`, from a user name and a secret.
    Basic,
    /// The host fetches a token from the client's token URL and sends it as a bearer token.
    OAuth2ClientCredentials,
    /// The connection picks the scheme (generic protocols such as SCIM).
    OperatorChoice,
    /// The secret after a fixed word in a header, e.g. Okta's
    /// `Authorization: SSWS <token>` (contract 0.2.3's `auth` interface).
    PrefixedToken {
        /// The header.
        header: HeaderName,
        /// The word before the secret.
        prefix: String,
    },
    /// A connection's choice of a scheme the connector offers by name
    /// (`auth = "ssws"`); building the connection resolves it against the
    /// connector's `auth.schemes`, so a built connection never holds it.
    Named(String),
}

impl std::fmt::Display for AuthScheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthScheme::None => f.write_str("none"),
            AuthScheme::ApiKeyHeader(name) => write!(f, "API key in header {name}"),
            AuthScheme::BearerToken => f.write_str("bearer token (Authorization: Bearer)"),
            AuthScheme::Basic => f.write_str("HTTP Basic (user + secret)"),
            AuthScheme::OAuth2ClientCredentials => f.write_str("OAuth 2.0 client credentials"),
            AuthScheme::OperatorChoice => f.write_str("chosen per connection"),
            AuthScheme::PrefixedToken { header, prefix } => {
                write!(f, "token in header {header} after {prefix:?}")
            }
            AuthScheme::Named(name) => write!(f, "the connector's scheme {name:?}"),
        }
    }
}

impl std::str::FromStr for AuthScheme {
    type Err = String;

    /// Parses a connection's `auth` setting: `none`, `bearer`, `basic`,
    /// `oauth2`, `api-key:<header name>`, or the name of a scheme the
    /// connector offers (`ssws`), checked when the connection is built.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(AuthScheme::None),
            "bearer" => Ok(AuthScheme::BearerToken),
            "basic" => Ok(AuthScheme::Basic),
            "oauth2" => Ok(AuthScheme::OAuth2ClientCredentials),
            other => match other.strip_prefix("api-key:") {
                Some(header) => HeaderName::from_bytes(header.as_bytes())
                    .map(AuthScheme::ApiKeyHeader)
                    .map_err(|_| format!("{header:?} is not an HTTP header name")),
                None if !other.is_empty()
                    && other.len() <= 32
                    && other
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
                {
                    Ok(AuthScheme::Named(other.to_string()))
                }
                None => Err(format!(
                    "{other:?} is not an auth scheme (none, bearer, basic, oauth2, api-key:<header>, or a scheme the connector names)"
                )),
            },
        }
    }
}

impl AuthScheme {
    /// The header this scheme sets, which the guest may therefore not set.
    pub fn header_name(&self) -> Option<HeaderName> {
        match self {
            AuthScheme::None | AuthScheme::OperatorChoice | AuthScheme::Named(_) => None,
            AuthScheme::ApiKeyHeader(name) => Some(name.clone()),
            AuthScheme::PrefixedToken { header, .. } => Some(header.clone()),
            _ => Some(http::header::AUTHORIZATION),
        }
    }
}

/// A secret for one connection.
#[derive(Clone, Debug)]
pub enum Credential {
    /// An API key or bearer token.
    Secret(SecretString),
    /// A user name (not secret) and a password or API key.
    Basic {
        /// The user name, joined with `secret` as `user:secret` in the Basic header.
        user: String,
        /// The password or API key paired with `user`; never printed.
        secret: SecretString,
    },
    /// An OAuth 2.0 client registration; the host fetches the tokens.
    OAuth2(std::sync::Arc<crate::oauth::OAuthClient>),
}

impl Credential {
    /// An API key or token.
    pub fn secret(value: impl Into<String>) -> Self {
        Credential::Secret(SecretString::from(value.into()))
    }
}

/// The header for `scheme`, built from `credential`, marked sensitive.
pub fn auth_header(
    scheme: &AuthScheme,
    credential: &Credential,
) -> Result<Option<(HeaderName, HeaderValue)>> {
    let (name, value) = match (scheme, credential) {
        (AuthScheme::None, _) => return Ok(None),
        (AuthScheme::ApiKeyHeader(name), Credential::Secret(secret)) => {
            (name.clone(), secret.expose_secret().to_string())
        }
        (AuthScheme::PrefixedToken { header, prefix }, Credential::Secret(secret)) => (
            header.clone(),
            format!("{prefix} {}", secret.expose_secret()),
        ),
        (AuthScheme::Named(name), _) => {
            bail!("the auth scheme {name:?} was not resolved against the connector's schemes")
        }
        (AuthScheme::BearerToken, Credential::Secret(secret)) => (
            http::header::AUTHORIZATION,
            format!("Bearer {}", secret.expose_secret()),
        ),
        (AuthScheme::Basic, Credential::Basic { user, secret }) => {
            let pair = format!("{user}:{}", secret.expose_secret());
            (
                http::header::AUTHORIZATION,
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            )
        }
        (AuthScheme::OAuth2ClientCredentials, Credential::OAuth2(_)) => return Ok(None),
        (AuthScheme::OAuth2ClientCredentials, _) => {
            bail!("OAuth 2.0 client credentials need client_id, token_url and a secret")
        }
        (scheme, Credential::OAuth2(_)) => {
            bail!("{scheme} cannot use an OAuth 2.0 client registration")
        }
        (AuthScheme::OperatorChoice, _) => {
            bail!(
                "the connection must choose an auth scheme for this connector (auth = \"bearer\", \"basic\" or \"api-key:<header>\")"
            )
        }
        (scheme, Credential::Secret(_)) => {
            bail!("{scheme} needs a user and a secret, but the credential is a single secret")
        }
        (scheme, Credential::Basic { .. }) => {
            bail!("{scheme} needs a single secret, but the credential is a user and a secret")
        }
    };
    // The error from HeaderValue carries no bytes of the value.
    let mut value = HeaderValue::from_str(&value).map_err(|_| {
        anyhow::anyhow!("the credential contains characters not allowed in an HTTP header")
    })?;
    value.set_sensitive(true);
    Ok(Some((name, value)))
}

/// Where a connection's secret is read from. Secrets are never inline in
/// configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// An environment variable of the host process.
    Env(String),
    /// A file readable by the owner only (mode 0600 or stricter).
    File(PathBuf),
    /// A secret the host already holds (a connection made over the API,
    /// its credential unsealed from the database).
    Held(HeldSecret),
}

/// A secret already in host memory, with a label that names where it came
/// from. Its label, never its value, is what it prints as and what it is
/// compared and rate-limited by.
#[derive(Clone)]
pub struct HeldSecret {
    label: String,
    value: SecretString,
}

impl HeldSecret {
    /// A secret known by `label` (e.g. `api connection 3/acme-sr`).
    pub fn new(label: impl Into<String>, value: SecretString) -> HeldSecret {
        HeldSecret {
            label: label.into(),
            value,
        }
    }
}

impl std::fmt::Debug for HeldSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Held({:?})", self.label)
    }
}

impl PartialEq for HeldSecret {
    fn eq(&self, other: &HeldSecret) -> bool {
        self.label == other.label
    }
}

impl Eq for HeldSecret {}

impl CredentialSource {
    /// Reads the secret, trimming one trailing newline.
    pub fn load(&self) -> Result<SecretString> {
        let value = match self {
            CredentialSource::Env(var) => std::env::var(var).with_context(|| {
                format!("credential environment variable {var} is not set (export it before starting seatwarden)")
            })?,
            CredentialSource::File(path) => read_private_file(path)?,
            CredentialSource::Held(held) => return Ok(held.value.clone()),
        };
        let value = value.strip_suffix('\n').unwrap_or(&value);
        let value = value.strip_suffix('\r').unwrap_or(value);
        if value.is_empty() {
            bail!("the credential from {} is empty", self.describe());
        }
        Ok(SecretString::from(value.to_string()))
    }

    fn describe(&self) -> String {
        match self {
            CredentialSource::Env(var) => format!("environment variable {var}"),
            CredentialSource::File(path) => format!("file {}", path.display()),
            CredentialSource::Held(held) => held.label.clone(),
        }
    }
}

fn read_private_file(path: &Path) -> Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read credential file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "credential file {} has mode {mode:o}; it must be readable by its owner only (run: chmod 600 {})",
            path.display(),
            path.display()
        );
    }
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read credential file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_each_header_and_marks_it_sensitive() {
        let key = Credential::secret("DCRA1-abc");
        let (name, value) = auth_header(
            &AuthScheme::ApiKeyHeader(HeaderName::from_static("x-smarttoken")),
            &key,
        )
        .unwrap()
        .unwrap();
        assert_eq!(name, "x-smarttoken");
        assert_eq!(value, "DCRA1-abc");
        assert!(value.is_sensitive());

        let (name, value) = auth_header(&AuthScheme::BearerToken, &key)
            .unwrap()
            .unwrap();
        assert_eq!(name, http::header::AUTHORIZATION);
        assert_eq!(value, "Bearer DCRA1-abc");

        let basic = Credential::Basic {
            user: "ops@example.com".into(),
            secret: SecretString::from("k3y".to_string()),
        };
        let (_, value) = auth_header(&AuthScheme::Basic, &basic).unwrap().unwrap();
        assert_eq!(value, "Basic b3BzQGV4YW1wbGUuY29tOmszeQ==");
        assert!(auth_header(&AuthScheme::None, &key).unwrap().is_none());
    }

    #[test]
    fn mismatched_or_bad_credentials_never_echo_the_secret() {
        let err = auth_header(&AuthScheme::Basic, &Credential::secret("hunter2")).unwrap_err();
        assert!(!format!("{err:#}").contains("hunter2"));
        let err =
            auth_header(&AuthScheme::BearerToken, &Credential::secret("bad\nsecret")).unwrap_err();
        assert!(!format!("{err:#}").contains("secret"), "{err:#}");
        assert!(!format!("{:?}", Credential::secret("hunter2")).contains("hunter2"));
    }

    #[test]
    fn credential_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("seatwarden-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("token");
        std::fs::write(&path, "s3cr3t\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = CredentialSource::File(path.clone())
            .load()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mode 644") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let secret = CredentialSource::File(path).load().unwrap();
        assert_eq!(secret.expose_secret(), "s3cr3t");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_env_var_says_what_to_do() {
        let err = CredentialSource::Env("SEATWARDEN_TEST_UNSET_VAR".into())
            .load()
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("SEATWARDEN_TEST_UNSET_VAR is not set"),
            "{err}"
        );
    }
}
