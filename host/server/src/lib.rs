//! Seatwarden's HTTP API: a front end like the command line, over the same
//! services, for many tenants at once.
//!
//! `/api/v1` answers JSON; errors are RFC 9457 problem documents
//! ([`problem`]); every route but the OpenAPI document needs a bearer
//! token ([`auth`]) whose tenant scopes everything it sees, so another
//! tenant's object is "not found". Lists page by key ([`paging`]). The
//! OpenAPI 3.1 document is generated from the handlers ([`routes::ApiDoc`])
//! and served at `/api/v1/openapi.json`. The server holds no state of its
//! own between requests: tokens, failed sign-ins and everything else live
//! in the database, so several server processes can share one.

pub mod auth;
pub mod console;
pub mod extract;
pub mod paging;
pub mod problem;
pub mod routes;
pub mod views;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use seatwarden_app::App;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

/// The largest JSON body accepted, in bytes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    /// The services, database and runtime.
    pub app: Arc<App>,
    /// How this server was set up.
    pub options: Options,
}

/// How the server is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Failed authentications an address may make per
    /// [`auth::FAILURE_WINDOW_MS`] before it is answered 429.
    pub max_auth_failures: i64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_auth_failures: auth::MAX_FAILURES,
        }
    }
}

/// The OpenAPI document of `/api/v1`, as JSON text (pretty, keys in a
/// stable order): what `/api/v1/openapi.json` serves and `docs/` keeps.
pub fn openapi_json() -> String {
    let mut text = routes::ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|err| format!("{{\"error\": \"{err}\"}}"));
    text.push('\n');
    text
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        openapi_json(),
    )
        .into_response()
}

async fn no_route() -> problem::ApiError {
    problem::ApiError::NotFound("no such endpoint; /api/v1/openapi.json lists them".into())
}

/// Headers every answer carries: nothing is cached (unless the handler
/// said otherwise, as the console's stylesheet does), nothing is sniffed.
async fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The whole API as a router.
pub fn router(app: Arc<App>, options: Options) -> Router {
    routes::table()
        .route("/api/v1/openapi.json", get(openapi))
        .merge(console::routes())
        .fallback(no_route)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(axum::middleware::map_response(harden))
        .with_state(ApiState { app, options })
}

/// Serves the API on `listener` until `stop` is cancelled; requests in
/// flight finish first.
pub async fn serve(listener: TcpListener, app: Arc<App>, stop: CancellationToken) -> Result<()> {
    serve_with(listener, app, Options::default(), stop).await
}

/// [`serve`] with other [`Options`].
pub async fn serve_with(
    listener: TcpListener,
    app: Arc<App>,
    options: Options,
    stop: CancellationToken,
) -> Result<()> {
    axum::serve(
        listener,
        router(app, options).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await })
    .await
    .context("the API server")
}
