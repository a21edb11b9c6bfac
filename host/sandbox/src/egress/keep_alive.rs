//! Idle HTTP/1.1 connections kept open between a connector's requests.
//!
//! A sync asks its vendor for one page after another; opening a TCP (and TLS)
//! connection for each page costs a round trip or three per page, which on a
//! real vendor dwarfs decoding the page. Each [`Connection`](crate::Connection)
//! owns one [`KeepAlive`], so an open connection is only ever reused by the
//! same tenant's profile, to the same origin, under the same address checks
//! it was opened with: never shared between tenants. Connections idle longer
//! than [`IDLE_FOR`] are closed rather than reused (vendors close theirs after
//! about a minute), and only responses read to their end give their
//! connection back. Dropping a connection's `Pooled` closes its socket.

use hyper::client::conn::http1::SendRequest;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;
use wasmtime_wasi_http::WasiBody;

/// Idle connections older than this are closed instead of reused.
pub const IDLE_FOR: Duration = Duration::from_secs(20);
/// At most this many idle connections per origin.
const MAX_IDLE_PER_ORIGIN: usize = 4;

/// Where a kept connection leads.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct Origin {
    pub host: String,
    pub port: u16,
    pub https: bool,
}

/// An open HTTP/1.1 connection: the request half, and the guard that
/// keeps the task driving the socket alive.
pub(crate) struct Pooled {
    pub sender: SendRequest<WasiBody>,
    /// Dropped with the connection: the driving task sees it and closes the
    /// socket.
    pub _close_on_drop: tokio::sync::oneshot::Sender<()>,
}

struct Idle {
    connection: Pooled,
    since: Instant,
}

impl Idle {
    /// Open, and not idle so long that the vendor may have closed it.
    fn usable(&self) -> bool {
        self.since.elapsed() < IDLE_FOR && !self.connection.sender.is_closed()
    }
}

/// One connection's idle HTTP/1.1 connections, by origin.
#[derive(Default)]
pub struct KeepAlive {
    idle: Mutex<HashMap<Origin, Vec<Idle>>>,
}

impl std::fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeepAlive").finish_non_exhaustive()
    }
}

impl KeepAlive {
    /// The most recently idle open connection to `origin`, if any; stale and
    /// closed ones are dropped on the way.
    pub(crate) fn take(&self, origin: &Origin) -> Option<Pooled> {
        let mut idle = self.idle.lock().expect("keep-alive pool poisoned");
        let list = idle.get_mut(origin)?;
        std::iter::from_fn(|| list.pop())
            .find(Idle::usable)
            .map(|entry| entry.connection)
    }

    /// Keeps `connection` for the next request to `origin`, unless it is
    /// closed or the origin already has enough idle connections.
    pub(crate) fn put(&self, origin: Origin, connection: Pooled) {
        if connection.sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().expect("keep-alive pool poisoned");
        let list = idle.entry(origin).or_default();
        list.retain(Idle::usable);
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(Idle {
                connection,
                since: Instant::now(),
            });
        }
    }
}
