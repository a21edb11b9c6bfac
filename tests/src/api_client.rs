//! A plain HTTP/1.1 client for the API tests: one connection per request,
//! the bearer token, a JSON or raw body, and the answer's status, headers
//! and JSON, as any API client would see them on the wire.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

/// One answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `method target` to `127.0.0.1:port` with an optional bearer
/// token and body (sent as `application/json`).
pub async fn call(
    port: u16,
    method: &str,
    target: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let authorization = token.map(|token| format!("Bearer {token}"));
    call_with(port, method, target, authorization.as_deref(), body).await
}

/// Like [`call`], with the `Authorization` header's whole value given.
pub async fn call_with(
    port: u16,
    method: &str,
    target: &str,
    authorization: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let mut headers = Vec::new();
    if let Some(authorization) = authorization {
        headers.push(("authorization", authorization));
    }
    if body.is_some() {
        headers.push(("content-type", "application/json"));
    }
    send(port, method, target, &headers, body).await
}

/// One request with exactly these headers (besides `host`), as a browser
/// or an attacker's page would send it.
pub async fn send(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connecting to the API");
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    tokio::spawn(connection);
    let mut request = http::Request::builder()
        .method(method)
        .uri(target)
        .header("host", format!("127.0.0.1:{port}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the answer's body")
        .to_bytes();
    Answer {
        status,
        headers,
        body,
    }
}
