//! The outbound-HTTP hook: every guest request passes through [`EgressHooks`].
//!
//! In the order applied: the per-call request cap, the connection's
//! allowlist (scheme, host, port), the call's method policy (read calls send
//! `GET`/`HEAD` only), then credential injection, then the transport's
//! post-DNS address check. A refusal returns `HttpRequestDenied` to the guest
//! and one log line to the operator naming the destination and the rule.
//! Headers that carry credentials are forbidden to the guest altogether.

use super::keep_alive::KeepAlive;
use super::policy::{
    Denial, EgressPolicy, KNOWN_METHODS, METHOD_OVERRIDE_HEADERS, MethodPolicy, OriginScheme,
};
use super::tap::Tap;
use super::transport::{Replayable, Target, Transport, TransportLimits};
use crate::oauth::{OAuthClient, token_error};
use crate::ratelimit::TokenBucket;
use crate::redact::Redactor;
use http::{HeaderName, HeaderValue};
use std::sync::{Arc, Mutex};
use wasmtime_wasi_http::p2::bindings::http::types::ErrorCode;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpHooks,
};

/// Headers no guest may set, whatever its auth scheme.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "x-smarttoken",
    "proxy-authorization",
    "cookie",
];

/// Refusals made during one call, shared with the transport's futures.
pub type DenialLog = Arc<Mutex<Vec<Denial>>>;

/// Failures of the host's own work for a call (e.g. fetching an OAuth
/// token), which the guest only sees as a transport error.
pub type HostFailures = Arc<Mutex<Vec<String>>>;

/// What the host adds to allowed requests.
#[derive(Clone, Debug, Default)]
pub enum HostCredential {
    /// Nothing: requests leave without a credential.
    #[default]
    None,
    /// A fixed header (API key, bearer token, HTTP Basic), marked sensitive.
    Static(HeaderName, HeaderValue),
    /// A bearer token the host fetches and refreshes (OAuth 2.0).
    OAuth(Arc<OAuthClient>),
}

/// Per-call egress state. Built fresh for every call.
pub struct EgressHooks {
    label: Arc<str>,
    call: &'static str,
    policy: Arc<EgressPolicy>,
    methods: MethodPolicy,
    credential: HostCredential,
    forbidden: Arc<Vec<HeaderName>>,
    requests_attempted: u32,
    request_cap: u32,
    transport: Transport,
    limits: TransportLimits,
    refusals: Refusals,
    host_failures: HostFailures,
    rate_limiter: Option<Arc<TokenBucket>>,
    keep_alive: Option<Arc<KeepAlive>>,
    tap: Option<Arc<Tap>>,
}

/// Everything [`EgressHooks`] needs for one call.
pub struct EgressCall {
    /// `name@version` of the connector, for log lines.
    pub label: Arc<str>,
    /// The WIT function being called.
    pub call: &'static str,
    /// The connection's allowlist and its policy for non-public addresses.
    pub policy: Arc<EgressPolicy>,
    /// Which methods the call may send: read-only outside the write calls.
    pub methods: MethodPolicy,
    /// What to add to allowed requests.
    pub credential: HostCredential,
    /// The connector's declared auth header, forbidden to the guest.
    pub declared_auth_header: Option<HeaderName>,
    /// Outbound requests the call may attempt; later ones are refused.
    pub request_cap: u32,
    /// Timeouts and the response body cap the transport enforces.
    pub limits: TransportLimits,
    /// Where refusals are recorded; a fresh log when `None`.
    pub denial_log: Option<DenialLog>,
    /// Every admitted request waits for a slot here before it leaves.
    pub rate_limiter: Option<Arc<TokenBucket>>,
    /// The connection's idle HTTP/1.1 connections; `None`: a new connection
    /// per request.
    pub keep_alive: Option<Arc<KeepAlive>>,
    /// The conformance kit's recorder and fault injector, if any.
    pub tap: Option<Arc<Tap>>,
    /// The connection's secrets, taken out of refusals before they are kept.
    pub redactor: Arc<Redactor>,
}

impl EgressHooks {
    /// Hooks for one call; `transport` is shared by all calls of a runtime.
    pub fn new(call: EgressCall, transport: Transport) -> Self {
        let mut forbidden: Vec<HeaderName> = DEFAULT_FORBIDDEN_HEADERS.to_vec();
        forbidden.extend(
            CREDENTIAL_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h)),
        );
        forbidden.extend(call.declared_auth_header);
        EgressHooks {
            refusals: Refusals {
                log: call.denial_log.unwrap_or_default(),
                count: DenialCount::default(),
                label: call.label.clone(),
                call: call.call,
                redactor: call.redactor,
            },
            label: call.label,
            call: call.call,
            policy: call.policy,
            methods: call.methods,
            credential: call.credential,
            forbidden: Arc::new(forbidden),
            requests_attempted: 0,
            request_cap: call.request_cap,
            transport,
            limits: call.limits,
            host_failures: HostFailures::default(),
            rate_limiter: call.rate_limiter,
            keep_alive: call.keep_alive,
            tap: call.tap,
        }
    }

    /// The refusals made so far in this call.
    pub fn denials(&self) -> DenialLog {
        self.refusals.log.clone()
    }

    /// How many requests were refused in this call (listed or not).
    pub fn denied(&self) -> u32 {
        self.refusals
            .count
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The host-side failures recorded so far in this call.
    pub fn host_failures(&self) -> HostFailures {
        self.host_failures.clone()
    }

    /// The synchronous checks, in order; returns where to connect. Sets
    /// the `Host` header to the origin the allowlist matched (the guest's
    /// raw authority never leaves the host).
    fn admit(&mut self, request: &mut http::Request<WasiBody>) -> Result<Target, Denial> {
        self.requests_attempted += 1;
        if self.requests_attempted > self.request_cap {
            return Err(Denial::RequestCap {
                cap: self.request_cap,
            });
        }
        if !KNOWN_METHODS.contains(request.method()) {
            return Err(Denial::UnknownMethod {
                method: crate::call_state::sanitize(request.method().as_str(), 32),
            });
        }
        let uri = request.uri();
        let scheme = match uri.scheme_str() {
            Some("https") => OriginScheme::Https,
            Some("http") => OriginScheme::Http,
            other => return Err(Denial::MalformedTarget(format!("scheme {other:?}"))),
        };
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err(Denial::MalformedTarget(
                "user info in the authority".to_string(),
            ));
        }
        let host = uri
            .host()
            .ok_or_else(|| Denial::MalformedTarget(format!("no host in {uri}")))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(scheme.default_port());
        self.policy.check_origin(scheme, &host, port)?;
        if !self.methods.permits(request.method()) {
            return Err(Denial::WriteInReadCall {
                method: request.method().to_string(),
                call: self.call,
            });
        }
        if self.methods == MethodPolicy::ReadOnly {
            let headers = request.headers();
            if let Some(name) = METHOD_OVERRIDE_HEADERS
                .iter()
                .find(|name| headers.contains_key(**name))
            {
                return Err(Denial::DisguisedWrite {
                    what: format!("header {name}"),
                    call: self.call,
                });
            }
            let declares_body = headers
                .get(http::header::CONTENT_LENGTH)
                .is_some_and(|len| len.as_bytes() != b"0")
                || headers.contains_key(http::header::TRANSFER_ENCODING);
            if declares_body {
                return Err(Denial::DisguisedWrite {
                    what: format!("a request body on {}", request.method()),
                    call: self.call,
                });
            }
        }
        let bracketed = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let authority = if port == scheme.default_port() {
            bracketed
        } else {
            format!("{bracketed}:{port}")
        };
        let host_header = HeaderValue::from_str(&authority)
            .map_err(|_| Denial::MalformedTarget("host is not a valid header value".into()))?;
        request
            .headers_mut()
            .insert(http::header::HOST, host_header);
        Ok(Target {
            host,
            port,
            https: scheme == OriginScheme::Https,
            private_targets: self.policy.private_targets(),
            carries_credential: !matches!(self.credential, HostCredential::None),
        })
    }
}

/// Refusals listed (logged and kept) per call; the rest are only counted,
/// so a guest asking 100,000 times makes 10 log lines and one summary.
pub const LISTED_DENIALS: u32 = 10;

/// Refusals made in one call, listed or not.
pub type DenialCount = Arc<std::sync::atomic::AtomicU32>;

/// Where one call's refusals go, and how its guest text is cleaned first.
#[derive(Clone)]
struct Refusals {
    log: DenialLog,
    count: DenialCount,
    label: Arc<str>,
    call: &'static str,
    redactor: Arc<Redactor>,
}

impl Refusals {
    /// Logs and keeps the first [`LISTED_DENIALS`] refusals of the call,
    /// counts the rest. The origin, method and denial are the guest's words:
    /// redacted and escaped before anything prints or keeps them.
    fn record(&self, method: &http::Method, uri: &str, denial: &Denial) {
        let n = self
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        if n > LISTED_DENIALS {
            return;
        }
        let clean = |text: &str| crate::call_state::sanitize(&self.redactor.redact(text), 256);
        let denial = denial.redacted(clean);
        let (method, uri) = (clean(method.as_str()), clean(uri));
        tracing::warn!(connector = %self.label, call = self.call, method, uri, rule = %denial, "sandbox refused an outbound request");
        self.log.lock().expect("denial log poisoned").push(denial);
    }
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for EgressHooks {
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        let forbidden = self.forbidden.clone();
        Arc::new(move |name| forbidden.contains(name))
    }

    fn is_supported_scheme(&mut self, scheme: &http::uri::Scheme) -> bool {
        *scheme == http::uri::Scheme::HTTP || *scheme == http::uri::Scheme::HTTPS
    }

    fn p2_error_from_connect(&mut self, err: &std::io::Error) -> ErrorCode {
        tracing::debug!(connector = %self.label, call = self.call, error = %err, "connect failed");
        match err.kind() {
            std::io::ErrorKind::TimedOut => ErrorCode::ConnectionTimeout,
            _ => ErrorCode::ConnectionRefused,
        }
    }

    fn p2_error_from_hyper(&mut self, err: &hyper::Error) -> ErrorCode {
        tracing::debug!(connector = %self.label, call = self.call, error = %err, "HTTP protocol error");
        if err.is_timeout() {
            ErrorCode::ConnectionReadTimeout
        } else {
            ErrorCode::HttpProtocolError
        }
    }

    fn p2_error_from_tls(&mut self, err: &std::io::Error) -> ErrorCode {
        tracing::debug!(connector = %self.label, call = self.call, error = %err, "TLS error");
        ErrorCode::TlsProtocolError
    }

    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        let method = request.method().clone();
        // Path and query may carry personal data; the operator sees the origin.
        let origin = format!(
            "{}://{}",
            request.uri().scheme_str().unwrap_or("?"),
            request.uri().authority().map_or("?", |a| a.as_str())
        );
        let target = match self.admit(&mut request) {
            Ok(target) => target,
            Err(denial) => {
                self.refusals.record(&method, &origin, &denial);
                return Box::new(async { Err(Error::HttpRequestDenied) });
            }
        };
        if self.methods == MethodPolicy::ReadOnly {
            // Whatever the guest streams into a GET's body stays here.
            *request.body_mut() =
                http_body_util::BodyExt::boxed_unsync(http_body_util::BodyExt::map_err(
                    http_body_util::Empty::new(),
                    |never| match never {},
                ));
        }
        let credential = self.credential.clone();
        let failures = self.host_failures.clone();
        let token_failed = move |message: String| {
            failures
                .lock()
                .expect("host failure log poisoned")
                .push(message.clone());
            token_error(message)
        };
        if let HostCredential::Static(name, value) = &credential {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let transport = self.transport.clone();
        let limits = self.limits;
        let refusals = self.refusals.clone();
        let call = self.call;
        let rate_limiter = self.rate_limiter.clone();
        let keep_alive = self.keep_alive.clone();
        let tap = self.tap.clone();
        let tapped = (method.clone(), request.uri().clone());
        // The debug log names each request by method and origin (redacted
        // and escaped: the guest chose them), with its status and time.
        let label = self.label.clone();
        let logged_origin =
            crate::call_state::sanitize(&self.refusals.redactor.redact(&origin), 256);
        let logged_method = tapped.0.clone();
        let send = async move {
            if let Some(bucket) = rate_limiter {
                bucket.acquire().await;
            }
            let on_denial = |denial: &Denial| refusals.record(&method, &origin, denial);
            let HostCredential::OAuth(client) = credential else {
                return transport
                    .send(target, request, options, limits, keep_alive, on_denial)
                    .await;
            };
            // OAuth: keep the body so the request can be replayed once with a
            // fresh token if the vendor answers 401 to the cached one.
            let replayable = Replayable::buffer(request).await?;
            let private = target.private_targets;
            let build = |token: &HeaderValue| {
                let mut request = replayable.request();
                request
                    .headers_mut()
                    .insert(http::header::AUTHORIZATION, token.clone());
                request
            };
            let token = client
                .authorization(&transport, private, limits)
                .await
                .map_err(&token_failed)?;
            let response = transport
                .send(
                    target.clone(),
                    build(&token),
                    options,
                    limits,
                    keep_alive.clone(),
                    on_denial,
                )
                .await?;
            if response.status() != http::StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            drop(response);
            client.invalidate(&token);
            let fresh = client
                .authorization(&transport, private, limits)
                .await
                .map_err(&token_failed)?;
            let on_denial = |denial: &Denial| refusals.record(&method, &origin, denial);
            transport
                .send(
                    target,
                    build(&fresh),
                    options,
                    limits,
                    keep_alive,
                    on_denial,
                )
                .await
        };
        Box::new(async move {
            let started = std::time::Instant::now();
            let response = match tap {
                Some(tap) => tap.around(call, (&tapped.0, &tapped.1), send).await,
                None => send.await,
            };
            match &response {
                Ok(answer) => {
                    tracing::debug!(connector = %label, call, method = %logged_method, origin = %logged_origin, status = answer.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "outbound request")
                }
                Err(err) => {
                    tracing::debug!(connector = %label, call, method = %logged_method, origin = %logged_origin, error = %err, elapsed_ms = started.elapsed().as_millis() as u64, "outbound request failed")
                }
            }
            Ok((response?, connection_driven_elsewhere()))
        })
    }
}

/// The future `wasmtime-wasi-http` polls to drive a response's connection:
/// the transport runs each connection on a task of its own (so a kept-alive
/// one outlives the response), which leaves this nothing to do.
fn connection_driven_elsewhere() -> Box<dyn Future<Output = Result<(), Error>> + Send> {
    Box::new(std::future::ready(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::egress::policy::{AllowedOrigin, PrivateTargets};
    use http_body_util::BodyExt;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn hooks(
        allowed: &[&str],
        methods: MethodPolicy,
        cap: u32,
        private: PrivateTargets,
    ) -> EgressHooks {
        let allowed = allowed
            .iter()
            .map(|o| AllowedOrigin::parse(o).unwrap())
            .collect();
        let mut value = HeaderValue::from_static("secret-1");
        value.set_sensitive(true);
        EgressHooks::new(
            EgressCall {
                label: Arc::from("unit@0.1.0"),
                call: "list-users",
                policy: Arc::new(EgressPolicy::new(allowed, private)),
                methods,
                credential: HostCredential::Static(HeaderName::from_static("x-smarttoken"), value),
                declared_auth_header: Some(HeaderName::from_static("x-vendor-key")),
                request_cap: cap,
                limits: TransportLimits {
                    connect_timeout: Duration::from_secs(5),
                    read_timeout: Duration::from_secs(5),
                    response_body_bytes: 1024,
                },
                denial_log: None,
                rate_limiter: None,
                keep_alive: None,
                tap: None,
                redactor: Arc::default(),
            },
            Transport::new(),
        )
    }

    fn request(method: http::Method, uri: &str) -> http::Request<WasiBody> {
        let body = http_body_util::Empty::<bytes::Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync();
        http::Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .unwrap()
    }

    async fn send(
        hooks: &mut EgressHooks,
        request: http::Request<WasiBody>,
    ) -> Result<http::Response<WasiBody>, Error> {
        let future = hooks.send_request(request, None, Box::new(async { Ok(()) }));
        std::pin::Pin::from(future)
            .await
            .map(|(response, _io)| response)
    }

    #[tokio::test]
    async fn denies_origins_methods_and_bursts_with_the_rule_recorded() {
        let mut h = hooks(
            &["https://api.example.com"],
            MethodPolicy::ReadOnly,
            3,
            PrivateTargets::Deny,
        );
        let denied = send(
            &mut h,
            request(http::Method::GET, "https://evil.example.net/x"),
        )
        .await;
        assert!(matches!(denied, Err(Error::HttpRequestDenied)));
        let denied = send(
            &mut h,
            request(http::Method::DELETE, "https://api.example.com/users/1"),
        )
        .await;
        assert!(matches!(denied, Err(Error::HttpRequestDenied)));
        let denied = send(
            &mut h,
            request(http::Method::GET, "http://api.example.com/"),
        )
        .await;
        assert!(
            matches!(denied, Err(Error::HttpRequestDenied)),
            "scheme is part of the origin"
        );
        let denied = send(
            &mut h,
            request(http::Method::GET, "https://api.example.com/"),
        )
        .await;
        assert!(
            matches!(denied, Err(Error::HttpRequestDenied)),
            "fourth request is over the cap of 3"
        );
        let log = h.denials();
        let log = log.lock().unwrap();
        assert!(matches!(log[0], Denial::NotAllowlisted { .. }));
        assert!(matches!(log[1], Denial::WriteInReadCall { .. }));
        assert!(matches!(log[2], Denial::NotAllowlisted { .. }));
        assert_eq!(log[3], Denial::RequestCap { cap: 3 });
    }

    #[tokio::test]
    async fn forbids_credential_headers_and_the_declared_auth_header() {
        let mut h = hooks(
            &["https://api.example.com"],
            MethodPolicy::ReadOnly,
            3,
            PrivateTargets::Deny,
        );
        let filter = h.forbidden_header_filter();
        for name in [
            "authorization",
            "x-smarttoken",
            "proxy-authorization",
            "cookie",
            "x-vendor-key",
            "host",
        ] {
            assert!(filter(&HeaderName::from_static(name)), "{name}");
        }
        assert!(!filter(&HeaderName::from_static("accept")));
    }

    #[tokio::test]
    async fn injects_the_credential_only_after_the_checks_and_connects_to_the_checked_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .await
                .unwrap();
            String::from_utf8(seen).unwrap()
        });
        let origin = format!("http://127.0.0.1:{port}");
        let mut denied = hooks(&[&origin], MethodPolicy::ReadOnly, 3, PrivateTargets::Deny);
        let result = send(
            &mut denied,
            request(http::Method::GET, &format!("{origin}/users")),
        )
        .await;
        assert!(
            matches!(result, Err(Error::HttpRequestDenied)),
            "loopback needs an explicit allowance"
        );
        assert!(matches!(
            denied.denials().lock().unwrap()[0],
            Denial::ForbiddenAddress { .. }
        ));

        let mut allowed = hooks(
            &[&origin],
            MethodPolicy::ReadOnly,
            3,
            PrivateTargets::AllowLoopback,
        );
        let response = send(
            &mut allowed,
            request(http::Method::GET, &format!("{origin}/users?limit=1")),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok");
        let seen = server.await.unwrap().to_ascii_lowercase();
        assert!(
            seen.starts_with("get /users?limit=1 http/1.1\r\n"),
            "origin-form request line: {seen}"
        );
        assert!(seen.contains("x-smarttoken: secret-1\r\n"), "{seen}");
    }
}
