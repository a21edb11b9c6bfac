//! The outbound-HTTP hook: every guest request passes through [`EgressHooks`].
//!
//! In the order applied: the per-call request cap, the connection's
//! allowlist (scheme, host, port), the call's method policy (read calls send
//! `GET`/`HEAD` only), then credential injection, then the transport's
//! post-DNS address check. A refusal returns `HttpRequestDenied` to the guest
//! and one log line to the operator naming the destination and the rule.
//! Headers that carry credentials are forbidden to the guest altogether.

use super::policy::{Denial, EgressPolicy, MethodPolicy, OriginScheme};
use super::transport::{Target, Transport, TransportLimits};
use http::{HeaderName, HeaderValue};
use std::sync::{Arc, Mutex};
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

/// Per-call egress state. Built fresh for every call.
pub struct EgressHooks {
    label: Arc<str>,
    call: &'static str,
    policy: Arc<EgressPolicy>,
    methods: MethodPolicy,
    credential_header: Option<(HeaderName, HeaderValue)>,
    forbidden: Arc<Vec<HeaderName>>,
    requests_attempted: u32,
    request_cap: u32,
    transport: Transport,
    limits: TransportLimits,
    denials: DenialLog,
}

/// Everything [`EgressHooks`] needs for one call.
pub struct EgressCall {
    /// `name@version` of the connector, for log lines.
    pub label: Arc<str>,
    /// The WIT function being called.
    pub call: &'static str,
    pub policy: Arc<EgressPolicy>,
    pub methods: MethodPolicy,
    /// The auth header to add to allowed requests, already marked sensitive.
    pub credential_header: Option<(HeaderName, HeaderValue)>,
    /// The connector's declared auth header, forbidden to the guest.
    pub declared_auth_header: Option<HeaderName>,
    pub request_cap: u32,
    pub limits: TransportLimits,
    /// Where refusals are recorded; a fresh log when `None`.
    pub denial_log: Option<DenialLog>,
}

impl EgressHooks {
    pub(crate) fn new(call: EgressCall, transport: Transport) -> Self {
        let mut forbidden: Vec<HeaderName> = DEFAULT_FORBIDDEN_HEADERS.to_vec();
        forbidden.extend(
            CREDENTIAL_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h)),
        );
        forbidden.extend(call.declared_auth_header);
        EgressHooks {
            label: call.label,
            call: call.call,
            policy: call.policy,
            methods: call.methods,
            credential_header: call.credential_header,
            forbidden: Arc::new(forbidden),
            requests_attempted: 0,
            request_cap: call.request_cap,
            transport,
            limits: call.limits,
            denials: call.denial_log.unwrap_or_default(),
        }
    }

    /// The refusals made so far in this call.
    pub fn denials(&self) -> DenialLog {
        self.denials.clone()
    }

    /// The synchronous checks, in order; returns where to connect.
    fn admit(&mut self, request: &http::Request<WasiBody>) -> Result<Target, Denial> {
        self.requests_attempted += 1;
        if self.requests_attempted > self.request_cap {
            return Err(Denial::RequestCap {
                cap: self.request_cap,
            });
        }
        let uri = request.uri();
        let scheme = match uri.scheme_str() {
            Some("https") => OriginScheme::Https,
            Some("http") => OriginScheme::Http,
            other => return Err(Denial::MalformedTarget(format!("scheme {other:?}"))),
        };
        let host = uri
            .host()
            .ok_or_else(|| Denial::MalformedTarget(format!("no host in {uri}")))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(match scheme {
            OriginScheme::Https => 443,
            OriginScheme::Http => 80,
        });
        self.policy.check_origin(scheme, &host, port)?;
        if !self.methods.permits(request.method()) {
            return Err(Denial::WriteInReadCall {
                method: request.method().to_string(),
                call: self.call,
            });
        }
        Ok(Target {
            host,
            port,
            https: scheme == OriginScheme::Https,
            private_targets: self.policy.private_targets(),
        })
    }
}

fn record(
    denials: &DenialLog,
    label: &str,
    call: &str,
    method: &http::Method,
    uri: &str,
    denial: &Denial,
) {
    tracing::warn!(connector = %label, call, %method, uri, rule = %denial, "sandbox refused an outbound request");
    denials
        .lock()
        .expect("denial log poisoned")
        .push(denial.clone());
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
        let target = match self.admit(&request) {
            Ok(target) => target,
            Err(denial) => {
                record(
                    &self.denials,
                    &self.label,
                    self.call,
                    &method,
                    &origin,
                    &denial,
                );
                return Box::new(async { Err(Error::HttpRequestDenied) });
            }
        };
        if let Some((name, value)) = &self.credential_header {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let transport = self.transport.clone();
        let limits = self.limits;
        let denials = self.denials.clone();
        let label = self.label.clone();
        let call = self.call;
        Box::new(async move {
            let on_denial =
                |denial: &Denial| record(&denials, &label, call, &method, &origin, denial);
            let (response, io) = transport
                .send(target, request, options, limits, on_denial)
                .await?;
            Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}
