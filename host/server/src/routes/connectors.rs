//! Connector components a tenant's admin uploads: the bytes of a `.wasm`
//! (`Content-Type: application/wasm` or `application/octet-stream`), inspected by loading them exactly as
//! the host runs them and kept by sha256, which is then the only way a
//! connection can name one. Not a component, not a connector, or a
//! descriptor the host refuses: a 400 naming `component`, nothing kept.

use crate::ApiState;
use crate::auth::{Authed, tenant_of};
use crate::extract::ApiPath;
use crate::problem::{ApiError, ApiResult};
use crate::views::time;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use seatwarden_app::connections::{Connections, MAX_COMPONENT_BYTES, Upload};
use seatwarden_app::tokens::Caller;
use seatwarden_domain::access::Scope;
use serde::Serialize;
use utoipa::ToSchema;

/// A named base URL a connector offers.
#[derive(Serialize, ToSchema)]
pub struct ConnectorRegionView {
    /// The region's name, as a connection's `region` gives it.
    pub name: String,
    /// Its base URL.
    pub url: String,
}

/// An option a connector reads from its connection.
#[derive(Serialize, ToSchema)]
pub struct ConnectorOptionView {
    /// The option's name.
    pub name: String,
    /// Whether a connection must set it.
    pub required: bool,
    /// What it does, in the connector's words.
    pub description: String,
}

/// An uploaded component and what the host's inspection found.
#[derive(Serialize, ToSchema)]
pub struct ConnectorUploadView {
    /// The sha256 of its bytes: what a connection's `connector` names.
    pub digest: String,
    /// The connector's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its size in bytes.
    pub size: u64,
    /// The vendor, in the component's words.
    pub vendor: String,
    /// What it covers, in the component's words.
    pub summary: String,
    /// The auth scheme it asks for (`operator-choice`: the connection picks).
    pub auth: String,
    /// Whether it reads activity.
    pub activity: bool,
    /// Whether it may deactivate accounts.
    pub deactivate: bool,
    /// Whether it may reactivate accounts.
    pub reactivate: bool,
    /// The origins it declares; a connection still allows each itself.
    pub hosts: Vec<String>,
    /// Its default base URL; empty when each connection sets one.
    pub default_base_url: String,
    /// Its named base URLs.
    pub regions: Vec<ConnectorRegionView>,
    /// The options it reads.
    pub options: Vec<ConnectorOptionView>,
    /// When it was uploaded.
    #[schema(format = DateTime)]
    pub uploaded_at: String,
    /// Who uploaded it.
    pub uploaded_by: String,
}

impl From<Upload> for ConnectorUploadView {
    fn from(upload: Upload) -> ConnectorUploadView {
        let (stored, found) = (upload.stored, upload.inspection);
        ConnectorUploadView {
            digest: stored.digest,
            name: stored.name,
            version: stored.version,
            size: stored.size,
            vendor: found.vendor,
            summary: found.summary,
            auth: found.auth,
            activity: found.activity,
            deactivate: found.deactivate,
            reactivate: found.reactivate,
            hosts: found.hosts,
            default_base_url: found.default_base_url,
            regions: found
                .regions
                .into_iter()
                .map(|(name, url)| ConnectorRegionView { name, url })
                .collect(),
            options: found
                .options
                .into_iter()
                .map(|(name, required, description)| ConnectorOptionView {
                    name,
                    required,
                    description,
                })
                .collect(),
            uploaded_at: time(stored.uploaded_at),
            uploaded_by: stored.uploaded_by,
        }
    }
}

pub(crate) fn service<'a>(
    state: &'a ApiState,
    caller: &Caller,
    needed: Scope,
) -> ApiResult<Connections<'a>> {
    let (tenant, tenant_name) = tenant_of(caller, needed)?;
    Ok(Connections {
        app: &state.app,
        tenant,
        tenant_name,
        actor: caller.actor(),
    })
}

/// The tenant's uploaded components, newest first.
#[utoipa::path(get, path = "/api/v1/connectors", tag = "connections",
    responses((status = 200, body = [ConnectorUploadView])),
    security(("token" = [])))]
pub async fn list(
    State(state): State<ApiState>,
    Authed(caller): Authed,
) -> ApiResult<Json<Vec<ConnectorUploadView>>> {
    let uploads = service(&state, &caller, Scope::Read)?.uploads().await?;
    Ok(Json(
        uploads.into_iter().map(ConnectorUploadView::from).collect(),
    ))
}

/// Uploads a connector component (the `.wasm` bytes): the host inspects it
/// as it would run it and keeps it by sha256. 201 when new, 200 when the
/// tenant already had these bytes.
#[utoipa::path(post, path = "/api/v1/connectors", tag = "connections",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The component's bytes (sent as `application/wasm` or `application/octet-stream`)"),
    responses((status = 201, body = ConnectorUploadView), (status = 200, body = ConnectorUploadView, description = "Already uploaded"),
        (status = 400, body = crate::problem::Problem, description = "Not a component, not a connector, or its descriptor is refused")),
    security(("token" = [])))]
pub async fn upload(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<ConnectorUploadView>)> {
    let connections = service(&state, &caller, Scope::Admin)?;
    let wasm = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let v = v.trim();
            v.eq_ignore_ascii_case("application/wasm")
                || v.eq_ignore_ascii_case("application/octet-stream")
        });
    if !wasm {
        return Err(ApiError::UnsupportedMediaType(
            "send the component's bytes with `Content-Type: application/wasm` (or application/octet-stream)".into(),
        ));
    }
    let bytes = axum::body::to_bytes(body, MAX_COMPONENT_BYTES)
        .await
        .map_err(|_| {
            ApiError::TooLarge(format!(
                "a component may be at most {} MiB",
                MAX_COMPONENT_BYTES / (1024 * 1024)
            ))
        })?;
    let (upload, new) = connections.upload(&bytes).await?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(upload.into())))
}

/// One uploaded component.
#[utoipa::path(get, path = "/api/v1/connectors/{digest}", tag = "connections",
    params(("digest" = String, Path, description = "The component's sha256")),
    responses((status = 200, body = ConnectorUploadView), (status = 404, body = crate::problem::Problem)),
    security(("token" = [])))]
pub async fn get(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(digest): ApiPath<String>,
) -> ApiResult<Json<ConnectorUploadView>> {
    let found = service(&state, &caller, Scope::Read)?
        .upload_named(&digest)
        .await?
        .ok_or_else(|| not_found(&digest))?;
    Ok(Json(found.into()))
}

fn not_found(digest: &str) -> ApiError {
    ApiError::NotFound(format!(
        "this tenant has no uploaded component with sha256 {digest:?}"
    ))
}

/// Removes an uploaded component no connection runs.
#[utoipa::path(delete, path = "/api/v1/connectors/{digest}", tag = "connections",
    params(("digest" = String, Path, description = "The component's sha256")),
    responses((status = 204, description = "Removed"), (status = 404, body = crate::problem::Problem),
        (status = 409, body = crate::problem::Problem, description = "A connection runs it")),
    security(("token" = [])))]
pub async fn remove(
    State(state): State<ApiState>,
    Authed(caller): Authed,
    ApiPath(digest): ApiPath<String>,
) -> ApiResult<StatusCode> {
    service(&state, &caller, Scope::Admin)?
        .delete_upload(&digest)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
