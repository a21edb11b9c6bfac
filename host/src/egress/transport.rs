//! The host's HTTP transport for guest requests: resolve, check, connect.
//!
//! `wasmtime-wasi-http`'s default sender connects by name, so the address it
//! reaches is not the address anyone checked. This transport resolves the
//! name itself, keeps only the addresses the connection's [`PrivateTargets`]
//! permits, and connects to one of exactly those, so DNS cannot be rebound
//! between the check and the connect. It follows no redirects, clamps the
//! guest's timeouts to the host's, and cuts response bodies at the cap.

use super::policy::{Denial, PrivateTargets, classify};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
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
}

/// Timeouts and caps the transport enforces.
#[derive(Clone, Copy, Debug)]
pub struct TransportLimits {
    pub connect_timeout: Duration,
    pub read_timeout: Duration,
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
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
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

    /// Resolves, checks and connects, then sends `request` over HTTP/1.1.
    pub(crate) async fn send(
        &self,
        target: Target,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        limits: TransportLimits,
        on_denial: impl FnOnce(&Denial) + Send,
    ) -> Result<(http::Response<WasiBody>, ResponseIo), Error> {
        let clamp = |guest: Option<Duration>, host: Duration| guest.map_or(host, |g| g.min(host));
        let connect_timeout = clamp(
            options.and_then(|o| o.connect_timeout),
            limits.connect_timeout,
        );
        let first_byte_timeout = clamp(
            options.and_then(|o| o.first_byte_timeout),
            limits.read_timeout,
        );
        let between_bytes_timeout = clamp(
            options.and_then(|o| o.between_bytes_timeout),
            limits.read_timeout,
        );

        let addresses = resolve(&target, connect_timeout).await?;
        let permitted: Vec<SocketAddr> = addresses
            .iter()
            .filter(|addr| target.private_targets.permits(classify(addr.ip())))
            .copied()
            .collect();
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

        // Origin-form request line: the authority travels in the Host header.
        let path = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        *request.uri_mut() = path.parse().map_err(|_| Error::HttpRequestUriInvalid)?;

        if target.https {
            let name = server_name(&target.host)?;
            let tls = tokio::time::timeout(connect_timeout, self.tls.connect(name, stream))
                .await
                .map_err(|_| Error::ConnectionTimeout)?
                .map_err(Error::Tls)?;
            exchange(
                tls,
                request,
                connect_timeout,
                first_byte_timeout,
                between_bytes_timeout,
                limits,
            )
            .await
        } else {
            exchange(
                stream,
                request,
                connect_timeout,
                first_byte_timeout,
                between_bytes_timeout,
                limits,
            )
            .await
        }
    }
}

/// Drives the connection after the response head arrived.
pub(crate) type ResponseIo = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

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

async fn exchange<S>(
    stream: S,
    request: http::Request<WasiBody>,
    connect_timeout: Duration,
    first_byte_timeout: Duration,
    between_bytes_timeout: Duration,
    limits: TransportLimits,
) -> Result<(http::Response<WasiBody>, ResponseIo), Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, conn) = tokio::time::timeout(
        connect_timeout,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;
    let mut conn = Box::pin(conn);
    let mut conn_finished = false;
    let send = tokio::time::timeout(first_byte_timeout, sender.send_request(request));
    tokio::pin!(send);
    // Poll the connection while waiting for the head; if it ends first, the
    // head is either already buffered or the exchange failed.
    let response = tokio::select! {
        biased;
        response = &mut send => response,
        finished = &mut conn => {
            conn_finished = true;
            finished?;
            send.await
        }
    };
    let response = response.map_err(|_| Error::ConnectionReadTimeout)??;
    let io: ResponseIo = Box::pin(async move {
        // A finished connection must not be polled again.
        if conn_finished {
            Ok(())
        } else {
            conn.await.map_err(Error::from)
        }
    });
    let response = response.map(|incoming| {
        http_body_util::BodyExt::boxed_unsync(CappedBody {
            inner: incoming,
            seen: 0,
            cap: limits.response_body_bytes,
            between_bytes: between_bytes_timeout,
            idle: Box::pin(tokio::time::sleep(between_bytes_timeout)),
        })
    });
    Ok((response, io))
}

/// A response body that fails once it exceeds the cap, or stalls too long.
struct CappedBody {
    inner: hyper::body::Incoming,
    seen: u64,
    cap: u64,
    between_bytes: Duration,
    idle: Pin<Box<Sleep>>,
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
            Poll::Ready(None) => Poll::Ready(None),
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
