//! A tenant's connections: the file's, read-only, and those its admin
//! makes over the API, each running one of the tenant's uploaded
//! components and holding a credential the server keeps sealed and never
//! answers with. `PUT` makes or replaces one (a replacement without a
//! credential keeps the stored one); `DELETE` removes one no profile uses.

use crate::ApiState;
use crate::auth::Authed;
use crate::extract::{ApiJson, ApiPath};
use crate::problem::{ApiError, ApiResult};
use crate::routes::connectors::service;
use crate::views::time;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use seatwarden_app::connections::{
    ClientAuthentication, ConnectionInfo, ConnectionSpec, CredentialShape, CredentialSpec,
};
use seatwarden_domain::access::Scope;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A credential's kind and its parts that are not secret.
#[derive(Serialize, ToSchema)]
pub struct CredentialView {
    /// `secret`, `basic` or `oauth2`.
    pub kind: String,
    /// The HTTP Basic user.
    pub user: Option<String>,
    /// The OAuth 2.0 client id.
    pub client_id: Option<String>,
    /// The OAuth 2.0 token endpoint.
    pub token_url: Option<String>,
    /// The OAuth 2.0 scope asked for.
    pub scope: Option<String>,
    /// How the OAuth 2.0 client proves itself at the token endpoint:
    /// `basic` (HTTP Basic) or `post` (the secret in the form body).
    pub client_auth: Option<String>,
}

/// A connection, never with its secret.
#[derive(Serialize, ToSchema)]
pub struct ConnectionView {
    /// Its name in the tenant.
    pub name: String,
    /// `config` (the file; change it there) or `api`.
    pub source: String,
    /// The sha256 of the component it runs (an upload's), or a file connection's pin.
    pub connector: Option<String>,
    /// Its base URL, if set.
    pub base_url: Option<String>,
    /// Its region, if set.
    pub region: Option<String>,
    /// Its auth scheme, if set.
    pub auth: Option<String>,
    /// Its credential's kind; the secret is never answered.
    pub credential: Option<CredentialView>,
    /// Origins it may reach besides its base URL's.
    pub allowed_hosts: Vec<String>,
    /// `deny`, `allow-loopback` or `allow-private`.
    pub private_targets: String,
    /// Connector options.
    pub options: BTreeMap<String, String>,
    /// Its rate limit, if set.
    pub rate_limit: Option<String>,
    /// When it was made over the API.
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    /// When it last changed over the API.
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

impl From<ConnectionInfo> for ConnectionView {
    fn from(c: ConnectionInfo) -> ConnectionView {
        ConnectionView {
            name: c.name,
            source: c.source.as_str().to_string(),
            connector: c.connector,
            base_url: c.base_url,
            region: c.region,
            auth: c.auth,
            credential: c.credential.map(|shape| match shape {
                CredentialShape::Secret => CredentialView {
                    kind: "secret".into(),
                    user: None,
                    client_id: None,
                    token_url: None,
                    scope: None,
                    client_auth: None,
                },
                CredentialShape::Basic { user } => CredentialView {
                    kind: "basic".into(),
                    user: Some(user),
                    client_id: None,
                    token_url: None,
                    scope: None,
                    client_auth: None,
                },
                CredentialShape::OAuth2 {
                    client_id,
                    token_url,
                    scope,
                    client_auth,
                } => CredentialView {
                    kind: "oauth2".into(),
                    user: None,
                    client_id: Some(client_id),
                    token_url: Some(token_url),
                    scope,
                    client_auth: Some(client_auth.as_str().to_string()),
                },
            }),
            allowed_hosts: c.allowed_hosts,
            private_targets: c.private_targets,
            options: c.options,
            rate_limit: c.rate_limit,
            created_at: c.changed.map(|(at, _)| time(at)),
            updated_at: c.changed.map(|(_, at)| time(at)),
        }
    }
}

/// A credential to keep: sealed at rest, never answered.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CredentialRequest {
    /// An API key or token.
    Secret {
        /// The secret.
        secret: String,
    },
    /// HTTP Basic.
    Basic {
        /// The user name.
        user: String,
        /// The password or API key.
        secret: String,
    },
    /// OAuth 2.0 client credentials; the token URL's origin must be allowed.
    #[serde(rename = "oauth2")]
    OAuth2 {
        /// The client id.
        client_id: String,
        /// The client secret.
        secret: String,
        /// The token endpoint.
        token_url: String,
        /// The scope to ask for.
        scope: Option<String>,
        /// `basic` (default: HTTP Basic) or `post` (`client_secret` in the
        /// form body, as Microsoft's identity platform documents).
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        client_auth: ClientAuthentication,
    },
}

/// A connection's settings.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "connector": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "base_url": "https://api.smartsheet.com",
    "credential": {"kind": "secret", "secret": "..."}
}))]
pub struct ConnectionRequest {
    /// The sha256 of one of the tenant's uploaded components.
    pub connector: String,
    /// The vendor API's URL.
    pub base_url: Option<String>,
    /// One of the connector's regions, instead of `base_url`.
    pub region: Option<String>,
    /// The auth scheme, for connectors that leave it to the connection.
    pub auth: Option<String>,
    /// The credential; left out of a replacement, the stored one stays.
    pub credential: Option<CredentialRequest>,
    /// Origins besides the base URL's (`https://host[:port]`, `*.` allowed).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// `deny` (default), `allow-loopback` or `allow-private`, up to what the operator allows the tenant.
    pub private_targets: Option<String>,
    /// Connector options.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// The vendor's rate limit for this credential, e.g. `10/s` or `300/min`.
    pub rate_limit: Option<String>,
}

impl From<ConnectionRequest> for ConnectionSpec {
    fn from(r: ConnectionRequest) -> ConnectionSpec {
        let secret = |s: String| SecretString::from(s);
        ConnectionSpec {
            connector: r.connector,
            base_url: r.base_url,
            region: r.region,
            auth: r.auth,
            credential: r.credential.map(|c| match c {
                CredentialRequest::Secret { secret: s } => {
                    CredentialSpec::Secret { secret: secret(s) }
                }
                CredentialRequest::Basic { user, secret: s } => CredentialSpec::Basic {
                    user,
                    secret: secret(s),
                },
                CredentialRequest::OAuth2 {
                    client_id,
                    secret: s,
                    token_url,
                    scope,
                    client_auth,
                } => CredentialSpec::OAuth2 {
                    client_id,
                    secret: secret(s),
                    token_url,
                    scope,
                    client_auth,
                },
            }),
            allowed_hosts: r.allowed_hosts,
            private_targets: r.private_targets,
            options: r.options,
            rate_limit: r.rate_limit,
        }
    }
}

/// The tenant's connections: the file's, then those made over the API.
#[utoipa::path(get, path = "/api/v1/connections", tag = "connections",
    responses((status = 200, body = [ConnectionView])),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ConnectionView>>> {
    let all = service(&state, &caller, Scope::Read)?.list().await?;
    Ok(Json(all.into_iter().map(ConnectionView::from).collect()))
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("this tenant has no connection {name:?}"))
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "The connection's name")),
    responses((status = 200, body = ConnectionView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<ConnectionView>> {
    let found = service(&state, &caller, Scope::Read)?
        .get(&name)
        .await?
        .ok_or_else(|| not_found(&name))?;
    Ok(Json(found.into()))
}

/// Makes the connection (201) or replaces one made over the API (200).
/// Checked field by field and then by building it against its
/// component, as a job would; its credential is sealed before it is stored.
#[utoipa::path(put, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "The connection's name")),
    request_body = ConnectionRequest,
    responses((status = 201, body = ConnectionView, description = "Made"), (status = 200, body = ConnectionView, description = "Replaced"),
        (status = 409, body = crate::problem::Problem, description = "Defined in the configuration file, or the server has no credential key")),
    security(("token" = [])))]
pub async fn put(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
    ApiJson(body): ApiJson<ConnectionRequest>,
) -> ApiResult<(StatusCode, Json<ConnectionView>)> {
    let connections = service(&state, &caller, Scope::Admin)?;
    let exists = state
        .app
        .storage
        .api_connection(connections.tenant, &name)
        .await?
        .is_some();
    let saved = connections.save(&name, &body.into(), exists).await?;
    let status = if exists {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(saved.into())))
}

/// Deletes a connection made over the API that no profile uses.
#[utoipa::path(delete, path = "/api/v1/connections/{name}", tag = "connections",
    params(("name" = String, Path, description = "The connection's name")),
    responses((status = 204, description = "Deleted"), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "In the configuration file, or a profile uses it")),
    security(("token" = [])))]
pub async fn remove(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<StatusCode> {
    service(&state, &caller, Scope::Admin)?
        .delete(&name)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
