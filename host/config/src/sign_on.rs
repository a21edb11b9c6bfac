//! A tenant's `[tenants.NAME.sign_on]` table: the company's OpenID Connect
//! identity provider, through which its people sign in to the console.
//!
//! Kept apart because it carries a secret (the client secret, only as a
//! reference) and the one decision that matters most here: which people
//! the identity provider vouches for get which scope. Nobody gets anything
//! by default; the table must grant a scope to everyone it signs in
//! (`default_scope`) or to named groups.

use super::ConfigError;
use super::reclamation::ErrorAt;
use seatwarden_domain::access::Scope;
use seatwarden_sandbox::credentials::CredentialSource;
use seatwarden_sandbox::egress::PrivateTargets;
use seatwarden_sandbox::egress::host_fetch::is_loopback_host;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The path every redirect URI ends in: where the console takes the
/// provider's answer.
pub const CALLBACK_PATH: &str = "/console/sso/callback";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSignOn {
    issuer: String,
    client_id: String,
    client_secret: toml::Value,
    redirect_uri: String,
    scopes: Option<Vec<String>>,
    person_claim: Option<String>,
    groups_claim: Option<String>,
    #[serde(default)]
    admin_groups: Vec<String>,
    #[serde(default)]
    operate_groups: Vec<String>,
    #[serde(default)]
    read_groups: Vec<String>,
    default_scope: Option<String>,
    #[serde(default)]
    required_claims: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    private_targets: PrivateTargets,
}

/// The validated sign-on table of one tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOnSettings {
    /// The provider's issuer identifier, exactly as its ID tokens name it
    /// (discovery is read from `{issuer}/.well-known/openid-configuration`).
    pub issuer: String,
    /// The client id Seatwarden is registered under at the provider.
    pub client_id: String,
    /// Where the client secret is read from.
    pub client_secret: CredentialSource,
    /// Where the provider sends the browser back: this server's address as
    /// people reach it, ending in [`CALLBACK_PATH`].
    pub redirect_uri: String,
    /// Scopes asked for besides `openid` (default `email` and `profile`).
    pub scopes: Vec<String>,
    /// The ID token claim that names the person (default `email`; an
    /// `email` the provider says is unverified is refused).
    pub person_claim: String,
    /// The ID token claim listing the person's groups (default `groups`).
    pub groups_claim: String,
    /// Groups whose members get each scope, highest first.
    pub group_scopes: Vec<(Scope, Vec<String>)>,
    /// The scope of a person in none of the groups; `None`: refused.
    pub default_scope: Option<Scope>,
    /// Claims the ID token must carry with exactly these values (e.g.
    /// Entra ID's `tid`, Google's `hd`): what keeps a provider that signs in
    /// anyone's account from signing them in here.
    pub required_claims: std::collections::BTreeMap<String, String>,
    /// Which non-public addresses the provider may be at (`deny` unless
    /// the operator says it is on the company network).
    pub private_targets: PrivateTargets,
}

impl SignOnSettings {
    /// The scope a person in `groups` gets: the highest a listed group
    /// grants, else the default; `None`: the person may not sign in.
    pub fn scope_for(&self, groups: &[String]) -> Option<Scope> {
        self.group_scopes
            .iter()
            .find(|(_, granting)| granting.iter().any(|g| groups.contains(g)))
            .map(|(scope, _)| *scope)
            .or(self.default_scope)
    }
}

const SECRET_FIX: &str = "use client_secret = { env = \"VAR\" } or { file = \"path/to/secret\" }";

fn plain(text: &str) -> bool {
    !text.is_empty() && text.len() <= 200 && !text.chars().any(|c| c.is_control() || c == ' ')
}

/// Whether `url` is `https://host[:port][/path]`, or plain http to a
/// loopback host (tests); never a query, fragment or user info.
fn provider_url_ok(url: &str) -> bool {
    if url.contains(['?', '#', ' ', '@']) || url.chars().any(char::is_control) {
        return false;
    }
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let Ok(authority) = authority.parse::<http::uri::Authority>() else {
        return false;
    };
    !authority.host().is_empty() && (https || is_loopback_host(authority.host()))
}

pub(super) fn sign_on(
    raw: RawSignOn,
    key: &str,
    err: ErrorAt,
    resolve: &dyn Fn(&Path) -> PathBuf,
) -> Result<SignOnSettings, ConfigError> {
    // Verbatim: ID tokens must name exactly this issuer, slash and all.
    let issuer = raw.issuer.clone();
    if !provider_url_ok(&issuer) {
        return Err(err(
            &format!("{key}.issuer"),
            format!(
                "{:?} is not an https URL without query or fragment",
                raw.issuer
            ),
            "give the provider's issuer exactly as its discovery document says (e.g. https://acme.okta.com or https://login.microsoftonline.com/TENANT-ID/v2.0; plain http only to 127.0.0.1, localhost or [::1], for tests)",
        ));
    }
    if !plain(&raw.client_id) {
        return Err(err(
            &format!("{key}.client_id"),
            "must be the client id the provider issued: 1 to 200 characters without spaces or control characters".into(),
            "",
        ));
    }
    let client_secret = match super::credential(&raw.client_secret) {
        Ok(super::CredentialConfig::Secret(CredentialSource::File(file))) => {
            CredentialSource::File(resolve(&file))
        }
        Ok(super::CredentialConfig::Secret(source)) => source,
        Ok(_) => {
            return Err(err(
                &format!("{key}.client_secret"),
                "takes only env or file".into(),
                SECRET_FIX,
            ));
        }
        Err((problem, _)) => return Err(err(&format!("{key}.client_secret"), problem, SECRET_FIX)),
    };
    let redirect_ok = raw
        .redirect_uri
        .strip_suffix(CALLBACK_PATH)
        .is_some_and(|origin| origin.matches('/').count() == 2)
        && provider_url_ok(&raw.redirect_uri);
    if !redirect_ok {
        return Err(err(
            &format!("{key}.redirect_uri"),
            format!(
                "{:?} is not this server's https address followed by {CALLBACK_PATH}",
                raw.redirect_uri
            ),
            "give the address people reach the console at, e.g. https://seatwarden.example.com/console/sso/callback, and register the same at the provider",
        ));
    }
    let scopes = raw
        .scopes
        .unwrap_or_else(|| vec!["email".into(), "profile".into()]);
    for (i, scope) in scopes.iter().enumerate() {
        if !plain(scope) || scope.contains('"') {
            return Err(err(
                &format!("{key}.scopes[{i}]"),
                format!("{scope:?} is not a scope name"),
                "list scope names such as \"email\", \"profile\" or \"groups\" (openid is always asked for)",
            ));
        }
    }
    let claim = |name: &str, value: Option<String>, default: &str| {
        let value = value.unwrap_or_else(|| default.to_string());
        if plain(&value) {
            Ok(value)
        } else {
            Err(err(
                &format!("{key}.{name}"),
                format!("{value:?} is not a claim name"),
                "name a claim of the provider's ID tokens, such as \"email\" or \"preferred_username\"",
            ))
        }
    };
    let person_claim = claim("person_claim", raw.person_claim, "email")?;
    let groups_claim = claim("groups_claim", raw.groups_claim, "groups")?;
    let mut group_scopes = Vec::new();
    for (scope, name, groups) in [
        (Scope::Admin, "admin_groups", raw.admin_groups),
        (Scope::Operate, "operate_groups", raw.operate_groups),
        (Scope::Read, "read_groups", raw.read_groups),
    ] {
        let bad = |g: &String| g.is_empty() || g.len() > 200 || g.chars().any(char::is_control);
        if let Some(i) = groups.iter().position(bad) {
            return Err(err(
                &format!("{key}.{name}[{i}]"),
                "is not a group name: 1 to 200 characters without control characters".into(),
                "",
            ));
        }
        if !groups.is_empty() {
            group_scopes.push((scope, groups));
        }
    }
    let default_scope = raw
        .default_scope
        .map(|text| {
            Scope::parse(&text)
                .filter(|s| s.is_tenant_scope())
                .ok_or_else(|| {
                    err(
                        &format!("{key}.default_scope"),
                        format!("{text:?} is not a console scope"),
                        "use \"read\", \"operate\" or \"admin\", or leave it out so only the listed groups may sign in",
                    )
                })
        })
        .transpose()?;
    for (claim, value) in &raw.required_claims {
        if !plain(claim) || value.is_empty() || value.chars().any(char::is_control) {
            return Err(err(
                &format!("{key}.required_claims.{claim}"),
                "must name a claim and the exact text it must have".into(),
                "e.g. required_claims = { tid = \"YOUR-ENTRA-TENANT-ID\" } or { hd = \"acme.com\" }",
            ));
        }
    }
    if group_scopes.is_empty() && default_scope.is_none() {
        return Err(err(
            key,
            "grants no scope to anyone, so nobody could sign in".into(),
            "list groups under admin_groups, operate_groups or read_groups, or set default_scope = \"read\"",
        ));
    }
    Ok(SignOnSettings {
        issuer,
        client_id: raw.client_id,
        client_secret,
        redirect_uri: raw.redirect_uri,
        scopes,
        person_claim,
        groups_claim,
        group_scopes,
        default_scope,
        required_claims: raw.required_claims,
        private_targets: raw.private_targets,
    })
}
