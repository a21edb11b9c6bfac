//! The host's HTTP transport for guest requests: resolve, check, connect.
//!
//! `wasmtime-wasi-http`'s default sender connects by name, so the address it
//! reaches is not the address anyone checked. This transport resolves the
//! name itself, keeps only the addresses the connection's [`PrivateTargets`]
//! permits, and connects to one of exactly those, so DNS cannot be rebound
//! between the check and the connect. It follows no redirects, clamps the
//! guest's timeouts to the host's, cuts response bodies at the cap, and
//! reuses a connection's idle HTTP/1.1 connections ([`KeepAlive`]).

use super::keep_alive::{KeepAlive, Origin, Pooled};
use super::policy::{AddressClass, Denial, PrivateTargets, classify};
use crate::trust::TrustedRoots;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// Where one checked request goes.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub host: String,
    pub port: u16,
    pub https: bool,
    pub private_targets: PrivateTargets,
    /// The request carries a credential: over plain HTTP it may only go to
    /// loopback or private addresses (which `private_targets` must allow too).
    pub carries_credential: bool,
}

/// Timeouts and caps the transport enforces.
#[derive(Clone, Copy, Debug)]
pub struct TransportLimits {
    /// Longest wait for DNS, the TCP connect and the TLS handshake; a guest may ask for less.
    pub connect_timeout: Duration,
    /// Longest wait for the response head, and between body chunks; a guest may ask for less.
    pub read_timeout: Duration,
    /// Largest response body passed to the guest, in bytes; a longer one fails at the cap.
    pub response_body_bytes: u64,
}

/// Shared, cheap to clone: TLS roots are loaded once per runtime.
#[derive(Clone)]
pub struct Transport {
    tls: tokio_rustls::TlsConnector,
}

impl Default for Transport {
    fn default() -> Self {
        Transport::new()
    }
}

impl Transport {
    /// A transport trusting the Mozilla root store (webpki-roots).
    pub fn new() -> Self {
        Transport::trusting(&TrustedRoots::none())
    }

    /// A transport trusting the Mozilla roots and `extra` ones.
    pub fn trusting(extra: &TrustedRoots) -> Self {
        let roots = extra.root_store();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        Transport {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        }
    }

    /// Sends `request` over HTTP/1.1: on an idle connection of `keep_alive`
    /// to the same origin when there is one and the method is idempotent,
    /// else on a new one (resolved, checked, connected). Without
    /// `keep_alive`, the connection closes once the response is read.
    pub(crate) async fn send(
        &self,
        target: Target,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        limits: TransportLimits,
        keep_alive: Option<Arc<KeepAlive>>,
        on_denial: impl FnOnce(&Denial) + Send,
    ) -> Result<http::Response<WasiBody>, Error> {
        let timeouts = Timeouts::of(options, limits);
        // Origin-form request line: the authority travels in the Host header.
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
        let origin = Origin {
            host: target.host.clone(),
            port: target.port,
            https: target.https,
        };
        let reusable = keep_alive
            .as_ref()
            .filter(|_| is_idempotent(request.method()));
        if let Some(pool) = reusable
            && let Some(kept) = pool.take(&origin)
        {
            // The vendor may close an idle connection just as it is reused:
            // a request that got no answer on it goes again on a new one.
            let replayable = Replayable::buffer(request).await?;
            let back = Some((pool.clone(), origin.clone()));
            match exchange(kept, replayable.request(), timeouts, limits, back).await {
                Ok(answer) => return Ok(answer),
                Err(Error::ConnectionReadTimeout) => return Err(Error::ConnectionReadTimeout),
                Err(err) => {
                    tracing::debug!(host = %origin.host, error = %err, "a kept-alive connection failed; sending on a new one");
                    request = replayable.request();
                }
            }
        }
        let connection = self.connect(&target, timeouts.connect, on_denial).await?;
        let back = keep_alive.map(|pool| (pool, origin));
        exchange(connection, request, timeouts, limits, back).await
    }

    /// Resolves, keeps the permitted addresses, connects to one of them and
    /// (for HTTPS) shakes hands.
    async fn connect(
        &self,
        target: &Target,
        connect_timeout: Duration,
        on_denial: impl FnOnce(&Denial) + Send,
    ) -> Result<Pooled, Error> {
        let addresses = resolve(target, connect_timeout).await?;
        // Plain HTTP with a credential: only to non-public addresses.
        let plaintext = target.carries_credential && !target.https;
        let reachable = |class: AddressClass| target.private_targets.permits(class);
        let permitted: Vec<SocketAddr> = addresses
            .iter()
            .filter(|addr| {
                let class = classify(addr.ip());
                reachable(class) && !(plaintext && class == AddressClass::Public)
            })
            .copied()
            .collect();
        if permitted.is_empty()
            && plaintext
            && addresses.iter().any(|a| reachable(classify(a.ip())))
        {
            on_denial(&Denial::PlaintextCredential {
                host: target.host.clone(),
            });
            return Err(Error::HttpRequestDenied);
        }
        if permitted.is_empty() {
            let denial = Denial::ForbiddenAddress {
                host: target.host.clone(),
                addresses: addresses
                    .iter()
                    .map(|a| (a.ip(), classify(a.ip())))
                    .collect(),
            };
            on_denial(&denial);
            return Err(Error::HttpRequestDenied);
        }
        let stream = connect_first(&permitted, connect_timeout).await?;
        let _ = stream.set_nodelay(true);
        if target.https {
            let name = server_name(&target.host)?;
            let tls = tokio::time::timeout(connect_timeout, self.tls.connect(name, stream))
                .await
                .map_err(|_| Error::ConnectionTimeout)?
                .map_err(|err| {
                    if let Some(problem) = certificate_problem(&err) {
                        on_denial(&Denial::UntrustedCertificate {
                            host: target.host.clone(),
                            problem,
                        });
                    }
                    Error::Tls(err)
                })?;
            handshake(tls, connect_timeout).await
        } else {
            handshake(stream, connect_timeout).await
        }
    }
}

/// What was wrong with the server's certificate, when that is why the
/// handshake failed (other TLS failures are the guest's to report). The
/// names a certificate presents are the server's words: the denial log
/// clips and escapes them like every other text it keeps.
fn certificate_problem(err: &std::io::Error) -> Option<String> {
    use rustls::CertificateError;
    let rustls::Error::InvalidCertificate(problem) =
        err.get_ref()?.downcast_ref::<rustls::Error>()?
    else {
        return None;
    };
    let text = match problem {
        CertificateError::UnknownIssuer => {
            "it was not issued by a certificate authority the host trusts (UnknownIssuer)"
                .to_string()
        }
        other => other.to_string(),
    };
    Some(text)
}

/// Request bodies are buffered, to be sent again, up to this size.
const MAX_REPLAY_BODY: usize = 1024 * 1024;

/// A request held so that it can be sent more than once: again on a new
/// connection when a kept-alive one turns out closed, or again with a fresh
/// OAuth token when the vendor refuses the cached one.
pub(crate) struct Replayable {
    parts: http::request::Parts,
    body: Bytes,
}

impl Replayable {
    /// Reads the body (at most [`MAX_REPLAY_BODY`] bytes).
    pub(crate) async fn buffer(request: http::Request<WasiBody>) -> Result<Replayable, Error> {
        let (parts, body) = request.into_parts();
        let body = http_body_util::Limited::new(body, MAX_REPLAY_BODY)
            .collect()
            .await
            .map_err(|_| Error::HttpRequestBodySize(Some(MAX_REPLAY_BODY as u64)))?
            .to_bytes();
        Ok(Replayable { parts, body })
    }

    /// A copy of the request, ready to send.
    pub(crate) fn request(&self) -> http::Request<WasiBody> {
        http::Request::from_parts(
            self.parts.clone(),
            http_body_util::Full::new(self.body.clone())
                .map_err(|never| match never {})
                .boxed_unsync(),
        )
    }
}

/// Methods a server may receive twice without harm (RFC 9110, 9.2.2): only
/// these reuse an idle connection, because only these are sent again when
/// it turns out to be closed.
fn is_idempotent(method: &http::Method) -> bool {
    use http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .contains(method)
}

/// The guest's timeouts clamped to the host's.
#[derive(Clone, Copy)]
struct Timeouts {
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

impl Timeouts {
    fn of(options: Option<RequestOptions>, limits: TransportLimits) -> Timeouts {
        let clamp = |guest: Option<Duration>, host: Duration| guest.map_or(host, |g| g.min(host));
        Timeouts {
            connect: clamp(
                options.and_then(|o| o.connect_timeout),
                limits.connect_timeout,
            ),
            first_byte: clamp(
                options.and_then(|o| o.first_byte_timeout),
                limits.read_timeout,
            ),
            between_bytes: clamp(
                options.and_then(|o| o.between_bytes_timeout),
                limits.read_timeout,
            ),
        }
    }
}

async fn resolve(target: &Target, timeout: Duration) -> Result<Vec<SocketAddr>, Error> {
    if let Ok(ip) = target.host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    match tokio::time::timeout(timeout, lookup).await {
        Err(_) => Err(Error::DnsTimeout),
        Ok(Err(err)) => Err(Error::DnsError {
            rcode: Some(err.to_string()),
            info_code: None,
        }),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(Error::DestinationNotFound)
            } else {
                Ok(addrs)
            }
        }
    }
}

async fn connect_first(addresses: &[SocketAddr], timeout: Duration) -> Result<TcpStream, Error> {
    let mut last = Error::ConnectionRefused;
    for addr in addresses {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(err)) => last = Error::Connect(err),
            Err(_) => last = Error::ConnectionTimeout,
        }
    }
    Err(last)
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(rustls::pki_types::ServerName::from(ip));
    }
    rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|_| Error::HttpRequestUriInvalid)
}

/// Starts HTTP/1.1 on `stream`; a task drives the socket until the
/// connection ends or its [`Pooled`] is dropped.
async fn handshake<S>(stream: S, timeout: Duration) -> Result<Pooled, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = tokio::time::timeout(
        timeout,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;
    let (close_on_drop, dropped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            _ = conn => {}
            _ = dropped => {}
        }
    });
    Ok(Pooled {
        sender,
        _close_on_drop: close_on_drop,
    })
}

/// Sends `request` on `connection` and hands back the response, whose body
/// owns the connection: read to its end, the body gives the connection to
/// `back` (when given) for the next request; dropped early, it closes it.
async fn exchange(
    mut connection: Pooled,
    request: http::Request<WasiBody>,
    timeouts: Timeouts,
    limits: TransportLimits,
    back: Option<(Arc<KeepAlive>, Origin)>,
) -> Result<http::Response<WasiBody>, Error> {
    let response = tokio::time::timeout(timeouts.first_byte, async {
        connection.sender.ready().await?;
        connection.sender.send_request(request).await
    })
    .await
    .map_err(|_| Error::ConnectionReadTimeout)??;
    let response = response.map(|incoming| {
        http_body_util::BodyExt::boxed_unsync(CappedBody {
            inner: incoming,
            seen: 0,
            cap: limits.response_body_bytes,
            between_bytes: timeouts.between_bytes,
            idle: Box::pin(tokio::time::sleep(timeouts.between_bytes)),
            connection: Some(connection),
            back,
        })
    });
    Ok(response)
}

/// A response body that fails once it exceeds the cap, or stalls too long,
/// and gives its connection back for reuse once read to the end.
struct CappedBody {
    inner: hyper::body::Incoming,
    seen: u64,
    cap: u64,
    between_bytes: Duration,
    idle: Pin<Box<Sleep>>,
    connection: Option<Pooled>,
    back: Option<(Arc<KeepAlive>, Origin)>,
}

impl CappedBody {
    /// The response was read to its end: the connection may carry the next
    /// request.
    fn give_back(&mut self) {
        if let (Some(connection), Some((pool, origin))) = (self.connection.take(), self.back.take())
        {
            pool.put(origin, connection);
        }
    }
}

impl Drop for CappedBody {
    fn drop(&mut self) {
        if self.inner.is_end_stream() {
            self.give_back();
        }
    }
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen += data.len() as u64;
                    if this.seen > this.cap {
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(this.cap)))));
                    }
                }
                this.idle
                    .as_mut()
                    .reset(Instant::now() + this.between_bytes);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(Error::from(err)))),
            Poll::Ready(None) => {
                this.give_back();
                Poll::Ready(None)
            }
            Poll::Pending => match this.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Error::ConnectionReadTimeout))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
