//! Requests the SDK would never build: any method token, a raw authority
//! (with user info), a body on a GET, method-override headers. Straight on
//! `wasi:http`, so the host's own checks are what stops them.
//!
//! Options: `method` (sent verbatim), `url` (`scheme://authority/path`,
//! authority verbatim), `body` (sent as the request body, also on GET),
//! `override` (sent as `X-HTTP-Method-Override`).

use seatwarden_sdk::bindings::wasi::http::outgoing_handler;
use seatwarden_sdk::bindings::wasi::http::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, Scheme,
};
use seatwarden_sdk::{ConnectorError, Settings, option};

/// Sends the request; the observation is `status` (with the echoed body)
/// or `error`.
pub fn request(settings: &Settings) -> Result<Vec<(String, String)>, ConnectorError> {
    let url = option(settings, "url").unwrap_or(&settings.base_url);
    let (https, rest) = match url.strip_prefix("https://") {
        Some(rest) => (true, rest),
        None => (false, url.strip_prefix("http://").unwrap_or(url)),
    };
    let split = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    let path = if path.is_empty() { "/" } else { path };
    let method = match option(settings, "method").unwrap_or("GET") {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "TRACE" => Method::Trace,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.into()),
    };
    let headers = Fields::new();
    let body = option(settings, "body").map(|b| b.as_bytes().to_vec());
    if let Some(body) = &body {
        let _ = headers.append("content-length", body.len().to_string().as_bytes());
    }
    if let Some(verb) = option(settings, "override") {
        let _ = headers.append("x-http-method-override", verb.as_bytes());
    }
    let request = OutgoingRequest::new(headers);
    let refused = |what: &str| Ok(vec![("error".into(), format!("refused by wasi: {what}"))]);
    if request.set_method(&method).is_err() {
        return refused("method");
    }
    let scheme = if https { Scheme::Https } else { Scheme::Http };
    if request.set_scheme(Some(&scheme)).is_err() {
        return refused("scheme");
    }
    if request.set_authority(Some(authority)).is_err() {
        return refused("authority");
    }
    if request.set_path_with_query(Some(path)).is_err() {
        return refused("path");
    }
    let outgoing = request.body().expect("body taken once");
    let future = match outgoing_handler::handle(request, None) {
        Ok(future) => future,
        Err(code) => return Ok(vec![("error".into(), describe(code))]),
    };
    if let Some(body) = &body {
        let stream = outgoing.write().expect("stream taken once");
        let _ = stream.blocking_write_and_flush(body);
        drop(stream);
    }
    let _ = OutgoingBody::finish(outgoing, None);
    future.subscribe().block();
    let response = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Ok(vec![("error".into(), describe(code))]),
        _ => return Ok(vec![("error".into(), "no response".into())]),
    };
    let status = response.status();
    let incoming = response.consume().expect("body taken once");
    let stream = incoming.stream().expect("stream taken once");
    let mut bytes = Vec::new();
    while let Ok(chunk) = stream.blocking_read(64 * 1024) {
        bytes.extend_from_slice(&chunk);
    }
    Ok(vec![(
        "status".into(),
        format!("{status} {}", String::from_utf8_lossy(&bytes)),
    )])
}

fn describe(code: ErrorCode) -> String {
    match code {
        ErrorCode::HttpRequestDenied => "denied".into(),
        other => format!("{other:?}"),
    }
}
