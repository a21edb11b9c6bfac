//! Where services get the time from. The trait is here, free of any
//! runtime, so domain code and every service can take time from one
//! injected clock; the wall clock and the manual clock tests drive live
//! with the scheduler, which has the async runtime they need.

use std::future::Future;
use std::pin::Pin;

/// Where the scheduler gets the time from.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the epoch.
    fn now(&self) -> i64;
    /// Resolves once `now() >= at`.
    fn sleep_until(&self, at: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}
