//! Charging a connector call for all the CPU it makes the host spend.
//!
//! Counting epoch ticks observed by guest code charges only guest
//! execution: a guest that spends its time *in host calls* (lifting huge
//! strings into `log`, asking for denied requests by the thousand) makes the
//! host work on its behalf and was charged one tick per call however long
//! the call took. So the budget is charged in thread CPU time instead,
//! measured around every poll of the call's future: the guest's own code,
//! every synchronous host function it calls, and the instantiation, all run
//! inside those polls, on the polling thread. Time spent waiting (for the
//! vendor, for a rate-limit slot) is not CPU and is bounded by the
//! wall-clock deadline instead. The engine's epoch callback yields every
//! tick, so even a guest that never calls the host returns to this meter at
//! least every 10 ms.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// The CPU time this thread has used (user and system), from the kernel.
#[allow(unsafe_code)]
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a pointer to a
    // live, properly aligned local; CLOCK_THREAD_CPUTIME_ID needs nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The call used up its CPU budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CpuExhausted;

/// A future charged for the thread CPU time of each of its polls; it stops
/// (dropping the call, which unwinds the guest) once the budget is spent.
pub(crate) struct Charged<F> {
    inner: Pin<Box<F>>,
    used: Duration,
    budget: Duration,
}

impl<F: Future> Charged<F> {
    pub(crate) fn new(inner: F, budget: Duration) -> Self {
        Charged {
            inner: Box::pin(inner),
            used: Duration::ZERO,
            budget,
        }
    }
}

impl<F: Future> Future for Charged<F> {
    type Output = Result<F::Output, CpuExhausted>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let start = thread_cpu_time();
        let polled = self.inner.as_mut().poll(cx);
        let spent = thread_cpu_time().saturating_sub(start);
        self.used += spent;
        match polled {
            Poll::Ready(value) => Poll::Ready(Ok(value)),
            Poll::Pending if self.used > self.budget => Poll::Ready(Err(CpuExhausted)),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Burns CPU for `cpu` in one synchronous stretch, then yields once.
    async fn busy(cpu: Duration) {
        let start = thread_cpu_time();
        while thread_cpu_time() - start < cpu {
            std::hint::black_box(0u64);
        }
        tokio::task::yield_now().await;
    }

    #[tokio::test]
    async fn charges_cpu_spent_inside_one_poll_and_stops_past_the_budget() {
        let budget = Duration::from_millis(20);
        let over = Charged::new(
            async {
                busy(Duration::from_millis(30)).await;
                busy(Duration::from_millis(30)).await;
            },
            budget,
        )
        .await;
        assert_eq!(over, Err(CpuExhausted));
        let within = Charged::new(busy(Duration::from_millis(5)), budget).await;
        assert_eq!(within, Ok(()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cpu_spent_elsewhere_while_waiting_is_not_charged() {
        let (done, waiting) = tokio::sync::oneshot::channel();
        // Another task burns 50 ms of CPU on its own thread, then answers.
        let other = tokio::task::spawn_blocking(move || {
            let start = thread_cpu_time();
            while thread_cpu_time() - start < Duration::from_millis(50) {
                std::hint::black_box(0u64);
            }
            done.send(()).unwrap();
        });
        let waited = Charged::new(waiting, Duration::from_millis(5)).await;
        assert!(matches!(waited, Ok(Ok(()))));
        other.await.unwrap();
    }
}
