//! One hardened way to serve HTTP: the answer pages now, the API and console next.
//!
//! `axum::serve` sets no header-read timeout (hyper's needs a timer, which it
//! never gets), no request timeout and no connection cap, and its graceful
//! shutdown waits for the slowest client. In the process that also runs
//! every tenant's schedule, one client that sends half a request keeps a
//! connection (and a file descriptor) forever and keeps SIGTERM from
//! stopping anything. So every server of the host goes through [`serve`]:
//!
//! - hyper's header-read timer runs from the moment a connection waits for
//!   a request head, so it bounds both a slow head and an idle kept-alive
//!   connection ([`ServeLimits::header_read`]);
//! - each request, its body included, is answered within
//!   [`ServeLimits::request`] or gets 408;
//! - at most [`ServeLimits::max_connections`] connections are served at
//!   once, each for at most [`ServeLimits::max_connection_age`] (a client
//!   that stalls hyper by never reading its answers is not held by the
//!   header-read timer); further clients wait in the kernel's backlog;
//! - once shutdown is asked for, no connection is accepted, in-flight
//!   requests get [`ServeLimits::shutdown_grace`], then connections are
//!   dropped;
//! - every response the router produces, the framework's own 400, 404, 405,
//!   408, 413, 414, 415 and 422 included, carries the same security headers
//!   (no caching, a closed CSP, no sniffing, no framing, no referrer).
//!
//! What hyper answers itself, before the router sees a request (a head it
//! cannot parse, or larger than its buffer), has no body and none of those
//! headers; nothing of the request is in it.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// The bounds every server of the host runs under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServeLimits {
    /// Time a client has to send a request's head; the same timer closes a
    /// kept-alive connection that stays idle this long.
    pub header_read: Duration,
    /// Time to handle one request, reading its body included (408 after).
    pub request: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long in-flight requests may finish after shutdown was asked for.
    pub shutdown_grace: Duration,
    /// Largest request body (413 beyond).
    pub max_body_bytes: usize,
    /// Longest request target, path and query (414 beyond).
    pub max_uri_bytes: usize,
    /// Longest life of one connection: a client that keeps it busy (or
    /// stalls hyper by never reading its answers) loses it then.
    pub max_connection_age: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            max_connections: 256,
            shutdown_grace: Duration::from_secs(5),
            max_body_bytes: 64 * 1024,
            max_uri_bytes: 8 * 1024,
            max_connection_age: Duration::from_secs(300),
        }
    }
}

/// The pause after a failed accept, so a full descriptor table does not
/// turn the accept loop into a busy loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The headers every response carries unless the handler set its own.
const SECURITY_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
];

async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// Refuses over-long targets and bounds the time to answer.
async fn bounded(limits: ServeLimits, request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > limits.max_uri_bytes {
        return (StatusCode::URI_TOO_LONG, "request target too long").into_response();
    }
    match tokio::time::timeout(limits.request, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut response =
                (StatusCode::REQUEST_TIMEOUT, "request took too long").into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

/// `router` with the limits and the security headers applied to every
/// response, the framework's included.
pub fn harden(router: Router, limits: ServeLimits) -> Router {
    router
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            bounded(limits, request, next)
        }))
        .layer(middleware::map_response(security_headers))
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes,
/// then stops within `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = harden(router, limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Out of descriptors, or a connection reset before it
                    // was accepted: log it, give the process a moment (an
                    // exhausted descriptor table fails every accept at
                    // once), and take the next one.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(app.clone());
        let mut stopped = stopped.clone();

        connections.spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            let stop_asked = async move {
                // Drop the watch guard here: it may not be held across awaits.
                let _ = stopped.wait_for(|stop| *stop).await.map(|_| ());
            };
            // Shutdown, or the connection's age: in-flight requests get the
            // grace, then the connection is dropped.
            let finished = tokio::select! {
                _ = connection.as_mut() => true,
                _ = stop_asked => false,
                _ = tokio::time::sleep(limits.max_connection_age) => false,
            };
            if !finished {
                connection.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(limits.shutdown_grace, connection).await;
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = stop.send(true);
    // Each connection finishes within the grace itself; this bound only
    // guards against one that does not, and dropping the set aborts it.
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(limits.shutdown_grace * 2, drained).await;
    Ok(())
}
