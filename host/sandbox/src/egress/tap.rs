//! A recording, fault-injecting tap on one connection's egress.
//!
//! `seatwarden connector test` must see what a connector sends and show it
//! what a vendor sends on a bad day, against a fake or a real test tenant,
//! without a proxy process or a certificate of its own. The tap sits inside
//! the host's hook, after the sandbox's checks and the credential injection:
//! it records each admitted request (method, origin and path: no query, no headers) and, when
//! a [`Fault`] is set, answers in the vendor's place (a status), breaks the
//! exchange (a transport error), or forwards the request and rewrites the
//! vendor's body (garbage, truncated, wrong shape, cut mid-stream). Only the
//! conformance kit builds connections with a tap.

use bytes::Bytes;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use std::sync::Mutex;
use wasmtime_wasi_http::{Error, WasiBody};

/// What the tap does to the requests of the calls made while it is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status without contacting the vendor.
    Status {
        /// The HTTP status the guest receives.
        status: u16,
        /// The `Retry-After` header value sent with it, as given; `None` sends none.
        retry_after: Option<String>,
    },
    /// Forward the request, then replace the vendor's body.
    Body(BodyFault),
    /// The exchange fails as the host's transport reports it.
    Transport(TransportFault),
}

/// How a vendor body is spoiled; the status and headers stay the vendor's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFault {
    /// An HTML error page where JSON was expected.
    Garbage,
    /// No bytes at all.
    Empty,
    /// The first half of the vendor's real body.
    Truncated,
    /// Well-formed JSON of the wrong shape (an array of numbers).
    WrongShape,
    /// Half the real body, then the connection breaks.
    CutMidStream,
}

/// A transport failure, as the guest sees it from `wasi:http`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportFault {
    /// The vendor accepted the connection and never answered.
    ReadTimeout,
    /// Nothing listens at the vendor's address.
    ConnectionRefused,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Status {
                status,
                retry_after: Some(after),
            } => write!(f, "HTTP {status} with Retry-After: {after}"),
            Fault::Status { status, .. } => write!(f, "HTTP {status}"),
            Fault::Body(BodyFault::Garbage) => f.write_str("an HTML page instead of JSON"),
            Fault::Body(BodyFault::Empty) => f.write_str("an empty body"),
            Fault::Body(BodyFault::Truncated) => f.write_str("a truncated body"),
            Fault::Body(BodyFault::WrongShape) => f.write_str("JSON of the wrong shape"),
            Fault::Body(BodyFault::CutMidStream) => f.write_str("a connection cut mid-body"),
            Fault::Transport(TransportFault::ReadTimeout) => f.write_str("a read timeout"),
            Fault::Transport(TransportFault::ConnectionRefused) => {
                f.write_str("a refused connection")
            }
        }
    }
}

/// One request the tap saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The connector function that sent it.
    pub call: &'static str,
    /// The HTTP method, as the guest sent it.
    pub method: String,
    /// `scheme://host[:port]`.
    pub origin: String,
    /// The path, without the query (it may carry personal data).
    pub path: String,
    /// The status the guest got; `None` when the exchange failed.
    pub status: Option<u16>,
    /// The fault applied, if any.
    pub fault: Option<Fault>,
}

#[derive(Debug, Default)]
struct State {
    exchanges: Vec<Exchange>,
    fault: Option<Fault>,
}

/// Shared by a connection and the kit that reads it.
#[derive(Debug, Default)]
pub struct Tap {
    state: Mutex<State>,
}

type Response = http::Response<WasiBody>;

impl Tap {
    /// A tap that records and passes everything through.
    pub fn new() -> Tap {
        Tap::default()
    }

    /// Applies `fault` to every request until it is changed; `None` passes
    /// requests through.
    pub fn set_fault(&self, fault: Option<Fault>) {
        self.lock().fault = fault;
    }

    /// The requests seen since the last call, oldest first.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        std::mem::take(&mut self.lock().exchanges)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("tap state poisoned")
    }

    /// Records `request` and runs `send` (the host's own sending) unless the
    /// current fault answers in the vendor's place.
    pub(crate) async fn around(
        &self,
        call: &'static str,
        request: (&http::Method, &http::Uri),
        send: impl Future<Output = Result<Response, Error>>,
    ) -> Result<Response, Error> {
        let (method, uri) = request;
        let (fault, index) = {
            let mut state = self.lock();
            let fault = state.fault.clone();
            state.exchanges.push(Exchange {
                call,
                method: method.to_string(),
                origin: format!(
                    "{}://{}",
                    uri.scheme_str().unwrap_or("?"),
                    uri.authority().map_or("?", |a| a.as_str())
                ),
                path: uri.path().to_string(),
                status: None,
                fault: fault.clone(),
            });
            (fault, state.exchanges.len() - 1)
        };
        let result = match fault {
            None => send.await,
            Some(Fault::Status {
                status,
                retry_after,
            }) => Ok(injected_status(status, retry_after.as_deref())),
            Some(Fault::Transport(TransportFault::ReadTimeout)) => {
                Err(Error::ConnectionReadTimeout)
            }
            Some(Fault::Transport(TransportFault::ConnectionRefused)) => {
                Err(Error::ConnectionRefused)
            }
            Some(Fault::Body(spoil)) => match send.await {
                Ok(response) => spoiled(response, spoil).await,
                Err(err) => Err(err),
            },
        };
        if let Ok(response) = &result
            && let Some(exchange) = self.lock().exchanges.get_mut(index)
        {
            exchange.status = Some(response.status().as_u16());
        }
        result
    }
}

fn full(bytes: impl Into<Bytes>) -> WasiBody {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

fn injected_status(status: u16, retry_after: Option<&str>) -> Response {
    let mut response = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(after) = retry_after {
        response = response.header(http::header::RETRY_AFTER, after);
    }
    let body = format!(
        "{{\"error\":\"HTTP {status} injected by seatwarden connector test\",\"status\":{status}}}"
    );
    response
        .body(full(body))
        .expect("a status and two valid headers make a response")
}

async fn spoiled(response: Response, spoil: BodyFault) -> Result<Response, Error> {
    let (mut parts, body) = response.into_parts();
    let real = body.collect().await?.to_bytes();
    let half = real.slice(..real.len() / 2);
    let body = match spoil {
        BodyFault::Garbage => full(
            "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\
             <body><h1>Bad Gateway</h1><p>The upstream server sent garbage.</p></body></html>",
        ),
        BodyFault::Empty => full(Bytes::new()),
        BodyFault::Truncated => full(half),
        BodyFault::WrongShape => full("[1, 2, 3]"),
        BodyFault::CutMidStream => {
            let frames: Vec<Result<Frame<Bytes>, Error>> =
                vec![Ok(Frame::data(half)), Err(Error::HttpProtocolError)];
            StreamBody::new(futures_util::stream::iter(frames)).boxed_unsync()
        }
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts.headers.remove(http::header::CONTENT_ENCODING);
    parts.headers.remove(http::header::TRANSFER_ENCODING);
    Ok(http::Response::from_parts(parts, body))
}
