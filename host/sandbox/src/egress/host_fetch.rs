//! Requests the host makes on its own behalf (not a guest's), through the
//! same checked transport guests get.
//!
//! Signing people in to the console talks to an identity provider the
//! operator configured: discovery, its signing keys, the token endpoint.
//! Those requests get the guarantees guest traffic has: the name is
//! resolved once and only addresses the [`PrivateTargets`] policy permits
//! are dialled, a credential never goes over plain HTTP to a public
//! address, no redirect is followed, every wait is bounded and a response
//! body longer than the cap fails instead of filling memory.

use super::policy::{AddressClass, PrivateTargets, classify};
use super::transport::{Target, Transport, TransportLimits};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};

/// Sends `request` (an absolute `http`/`https` URL) and reads the whole
/// answer, at most `limits.response_body_bytes` of body. The error is a
/// sentence for a person: where it went and what failed.
pub async fn fetch(
    transport: &Transport,
    request: http::Request<Vec<u8>>,
    private_targets: PrivateTargets,
    carries_credential: bool,
    limits: TransportLimits,
) -> Result<http::Response<Vec<u8>>, String> {
    let uri = request.uri().clone();
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{uri} is not an http or https URL")),
    };
    let Some(authority) = uri.authority().cloned() else {
        return Err(format!("{uri} names no host"));
    };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let target = Target {
        host,
        port,
        https,
        private_targets,
        carries_credential,
    };
    // Host is the name and port only (never user info a URL may carry).
    let host_header = match authority.port_u16() {
        Some(port) => format!("{}:{port}", authority.host()),
        None => authority.host().to_string(),
    };
    let (mut parts, body) = request.into_parts();
    parts.headers.insert(
        http::header::HOST,
        host_header
            .parse()
            .map_err(|_| format!("{uri}: the host is not a valid header value"))?,
    );
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let request = http::Request::from_parts(parts, body);
    let exchange = async {
        let mut refusal = None;
        let response = transport
            .send(target, request, None, limits, None, |denial| {
                refusal = Some(denial.to_string());
            })
            .await
            .map_err(|err| match &refusal {
                Some(rule) => format!("the request to {uri} was refused: {rule}"),
                None => format!("the request to {uri} failed: {err}"),
            })?;
        let (parts, body) = response.into_parts();
        let body = http_body_util::Limited::new(body, limits.response_body_bytes as usize)
            .collect()
            .await
            .map_err(|err| format!("reading the answer from {uri}: {err}"))?
            .to_bytes()
            .to_vec();
        Ok(http::Response::from_parts(parts, body))
    };
    // The limits bound each wait; this bounds the whole exchange (a server
    // trickling a body just under the read timeout would hold it for long).
    tokio::time::timeout(WHOLE_EXCHANGE, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("{uri} did not answer within {WHOLE_EXCHANGE:?}")))
}

/// The longest one request and its answer may take, all waits together.
const WHOLE_EXCHANGE: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether `host` (a name or an address literal) is a loopback address
/// literal or `localhost`: what plain-http test setups use.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| classify(ip) == AddressClass::Loopback)
}
