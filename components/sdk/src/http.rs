//! A small blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! Connectors make a handful of sequential requests per call, so a blocking
//! client is the simplest thing that works: no async runtime in the guest, no
//! extra crate between the connector and the WASI interface the host polices.
//! The host decides where requests may go and adds credentials itself; this
//! client only builds requests and reads responses, and reports the host's
//! refusals ([`HttpError::Denied`], [`HttpError::HeaderRefused`]) as such.

use crate::ConnectorError;
use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, HeaderError, IncomingBody, Method as WasiMethod, OutgoingBody,
    OutgoingRequest, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;

/// The largest response body this client reads (the host enforces its own cap).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The HTTP methods connectors use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

/// An outgoing request.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets a JSON body and its content type.
    pub fn json_body(mut self, body: Vec<u8>) -> Self {
        self.headers
            .push(("content-type".to_string(), "application/json".to_string()));
        self.body = Some(body);
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        send(self)
    }
}

/// A response with its body read in full.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// A short, printable excerpt of the body for error messages.
    pub fn body_excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// Why a request failed before a response arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// The URL is not absolute `http(s)://host[:port]/path`.
    InvalidUrl(String),
    /// The host refused to set a header (credentials headers are the host's).
    HeaderRefused { name: String, reason: String },
    /// The host's sandbox refused the request (destination, method or count).
    Denied(String),
    /// Network, TLS, timeout or protocol failure, or a body over the cap.
    Transport(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::InvalidUrl(url) => write!(f, "invalid URL {url:?}"),
            HttpError::HeaderRefused { name, reason } => {
                write!(f, "the host refused header {name:?}: {reason}")
            }
            HttpError::Denied(what) => write!(f, "the sandbox refused the request: {what}"),
            HttpError::Transport(what) => write!(f, "HTTP transport error: {what}"),
        }
    }
}

impl From<HttpError> for ConnectorError {
    fn from(err: HttpError) -> Self {
        match err {
            HttpError::InvalidUrl(_) | HttpError::Denied(_) | HttpError::HeaderRefused { .. } => {
                ConnectorError::Config(err.to_string())
            }
            HttpError::Transport(_) => ConnectorError::Unavailable(err.to_string()),
        }
    }
}

/// Maps a non-success status to the contract's error; passes 2xx (and 3xx,
/// which the connector must handle itself) through.
pub fn error_for_status(response: Response) -> Result<Response, ConnectorError> {
    let status = response.status;
    let detail = || format!("HTTP {status}: {}", response.body_excerpt());
    match status {
        200..=399 => Ok(response),
        401 => Err(ConnectorError::Unauthorized(detail())),
        403 => Err(ConnectorError::Forbidden(detail())),
        404 => Err(ConnectorError::NotFound(detail())),
        429 => Err(ConnectorError::RateLimited(retry_after_ms(&response))),
        500..=599 => Err(ConnectorError::Unavailable(detail())),
        _ => Err(ConnectorError::InvalidResponse(detail())),
    }
}

/// The wait a 429 response asks for, from `Retry-After` (seconds), in ms.
pub fn retry_after_ms(response: &Response) -> Option<u32> {
    let seconds: u32 = response.header("retry-after")?.trim().parse().ok()?;
    Some(seconds.saturating_mul(1000))
}

/// Up to 200 characters of a body, lossily decoded, control characters removed.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.len() > 200 {
        out.push('…');
    }
    out
}

/// Percent-encodes a path segment or query value (everything but RFC 3986
/// unreserved characters).
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A parsed absolute URL: scheme, `host[:port]`, and path with query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub authority: String,
    pub path_with_query: String,
}

impl Url {
    /// Parses `http(s)://authority[/path][?query]`.
    pub fn parse(url: &str) -> Result<Url, HttpError> {
        let invalid = || HttpError::InvalidUrl(url.to_string());
        let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(invalid());
        };
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() || authority.contains('@') {
            return Err(invalid());
        }
        let path_with_query = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        Ok(Url {
            https,
            authority: authority.to_string(),
            path_with_query,
        })
    }
}

/// Sends a request and reads the whole response body.
pub fn send(request: Request) -> Result<Response, HttpError> {
    let url = Url::parse(&request.url)?;
    let headers = Fields::new();
    // A known length rather than chunked framing: many servers (and
    // proxies in front of them) do not read chunked request bodies.
    if let Some(body) = &request.body {
        headers
            .append("content-length", body.len().to_string().as_bytes())
            .map_err(|err| HttpError::HeaderRefused {
                name: "content-length".into(),
                reason: header_error_text(&err),
            })?;
    }
    for (name, value) in &request.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|err| HttpError::HeaderRefused {
                name: name.clone(),
                reason: header_error_text(&err),
            })?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let method = match request.method {
        Method::Get => WasiMethod::Get,
        Method::Head => WasiMethod::Head,
        Method::Post => WasiMethod::Post,
        Method::Put => WasiMethod::Put,
        Method::Patch => WasiMethod::Patch,
        Method::Delete => WasiMethod::Delete,
    };
    let scheme = if url.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let invalid = || HttpError::InvalidUrl(request.url.clone());
    outgoing.set_method(&method).map_err(|()| invalid())?;
    outgoing.set_scheme(Some(&scheme)).map_err(|()| invalid())?;
    outgoing
        .set_authority(Some(&url.authority))
        .map_err(|()| invalid())?;
    outgoing
        .set_path_with_query(Some(&url.path_with_query))
        .map_err(|()| invalid())?;

    let body = outgoing
        .body()
        .map_err(|()| HttpError::Transport("request body already taken".into()))?;
    let future = outgoing_handler::handle(outgoing, None).map_err(transport_or_denied)?;
    write_body(body, request.body.as_deref())?;

    let pollable = future.subscribe();
    pollable.block();
    let incoming = match future.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(transport_or_denied(code)),
        Some(Err(())) | None => {
            return Err(HttpError::Transport(
                "response future in a bad state".into(),
            ));
        }
    };
    let status = incoming.status();
    let headers = incoming
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let body = incoming
        .consume()
        .map_err(|()| HttpError::Transport("response body already taken".into()))?;
    let body = read_body(body)?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn write_body(body: OutgoingBody, bytes: Option<&[u8]>) -> Result<(), HttpError> {
    if let Some(bytes) = bytes {
        let stream = body
            .write()
            .map_err(|()| HttpError::Transport("request body stream already taken".into()))?;
        for chunk in bytes.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|err| HttpError::Transport(format!("writing request body: {err:?}")))?;
        }
        drop(stream);
    }
    OutgoingBody::finish(body, None).map_err(transport_or_denied)
}

fn read_body(body: IncomingBody) -> Result<Vec<u8>, HttpError> {
    let stream = body
        .stream()
        .map_err(|()| HttpError::Transport("response body stream already taken".into()))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() > MAX_BODY_BYTES {
                    return Err(HttpError::Transport(format!(
                        "response body larger than {MAX_BODY_BYTES} bytes"
                    )));
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(err)) => {
                return Err(HttpError::Transport(format!(
                    "reading response body: {}",
                    err.to_debug_string()
                )));
            }
        }
    }
    drop(stream);
    drop(IncomingBody::finish(body));
    Ok(bytes)
}

fn transport_or_denied(code: ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => {
            HttpError::Denied("destination, method or request count not allowed".into())
        }
        other => HttpError::Transport(format!("{other:?}")),
    }
}

fn header_error_text(err: &HeaderError) -> String {
    match err {
        HeaderError::InvalidSyntax => "invalid syntax".into(),
        HeaderError::Forbidden => "forbidden: the host sets this header itself".into(),
        HeaderError::Immutable => "headers are immutable".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_components() {
        assert_eq!(
            encode_component("a b/c?d=e&f+g"),
            "a%20b%2Fc%3Fd%3De%26f%2Bg"
        );
        assert_eq!(encode_component("60f8-18_62.54~"), "60f8-18_62.54~");
    }

    #[test]
    fn parses_urls() {
        let url = Url::parse("https://api.example.com:8443/v1/users?limit=5").unwrap();
        assert!(url.https);
        assert_eq!(url.authority, "api.example.com:8443");
        assert_eq!(url.path_with_query, "/v1/users?limit=5");
        assert_eq!(Url::parse("http://h").unwrap().path_with_query, "/");
        assert_eq!(Url::parse("http://h?x=1").unwrap().path_with_query, "/?x=1");
        assert!(Url::parse("ftp://h/").is_err());
        assert!(Url::parse("https://user@h/").is_err());
        assert!(Url::parse("https:///x").is_err());
    }
}
