//! The two clocks services run on. Every service takes the time from the
//! [`App`](crate::App)'s clock, never from the wall directly, so a test can
//! drive a whole schedule (sync, refresh, notice, reclaim, undo window) on a
//! [`ManualClock`] without sleeping, and the lease heartbeat keeps the same
//! time as the jobs it guards. The trait itself is the domain's.
//!
//! What stays on tokio's monotonic timer: limits that bound resources (a
//! call's wall time, a run's `run_time`, retry backoff between attempts).
//! They measure how long something really took, and a clock a test moves
//! (or one that jumps) must not stretch or shrink them.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::sync::watch;

pub use seatwarden_domain::clock::Clock;

/// The wall clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }

    fn sleep_until(&self, at: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let wait = Duration::from_millis(u64::try_from(at - self.now()).unwrap_or(0));
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told to: for tests.
#[derive(Debug)]
pub struct ManualClock {
    now: watch::Sender<i64>,
}

impl ManualClock {
    /// A clock standing at `start_ms` (milliseconds since the epoch).
    pub fn new(start_ms: i64) -> ManualClock {
        ManualClock {
            now: watch::Sender::new(start_ms),
        }
    }

    /// Moves time to `at` (never backwards), waking every sleeper it passes.
    pub fn set(&self, at: i64) {
        self.now.send_modify(|now| *now = (*now).max(at));
    }

    /// Moves time forward by `by`, waking every sleeper it passes.
    pub fn advance(&self, by: Duration) {
        self.set(self.now() + by.as_millis() as i64);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        *self.now.borrow()
    }

    fn sleep_until(&self, at: i64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut receiver = self.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; an error cannot happen
            // while `self` is borrowed.
            let _ = receiver.wait_for(|now| *now >= at).await;
        })
    }
}
