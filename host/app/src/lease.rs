//! The profile lease a running job holds, from taking it to giving it back.
//!
//! Every job of a profile (scheduled or started from the command line) runs
//! under the profile's lease row, so two processes on one database never
//! sync one profile at once. This module owns the three things that make
//! the row exclude for real: an owner id unique to the process (a host name
//! and pid collide in containers where every process is PID 1), a heartbeat
//! that renews the lease while the job runs and cancels the job the moment
//! the lease is lost, and recognising an owner on this machine whose process
//! has died, so a killed `sync` does not block its profile for the whole
//! lease. Storage fences the writes themselves (a run resumed elsewhere
//! refuses the old attempt's pages); the lease keeps the old attempt from
//! trying.

use crate::clock::Clock;
use anyhow::Result;
use seatwarden_store::{ProfileId, Storage};
pub use seatwarden_store::{owner_is_dead, process_owner};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Why a lease could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("{holder} holds its lease until {until}")]
pub struct Busy {
    /// The holder's owner id (`host:pid:scope-nonce`), or `another worker` if it let go
    /// between the two checks.
    pub holder: String,
    /// When the holder's lease runs out, as an RFC 3339 time.
    pub until: String,
}

/// A profile's lease, renewed in the background until released.
pub struct HeldLease {
    storage: Storage,
    profile: ProfileId,
    owner: String,
    lost: Arc<AtomicBool>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl HeldLease {
    /// Takes `profile`'s lease for `owner` for `term`, taking it over from
    /// a dead owner on this machine. While held, a heartbeat renews it
    /// every third of `term`; when renewing finds another owner (or cannot
    /// reach the database until the lease has run out), `on_lost` is
    /// cancelled so the job stops at its next page. Time, the heartbeat's
    /// included, comes from `clock`.
    pub async fn take(
        storage: &Storage,
        profile: ProfileId,
        owner: &str,
        term: Duration,
        clock: Arc<dyn Clock>,
        on_lost: CancellationToken,
    ) -> Result<std::result::Result<HeldLease, Busy>> {
        let term_ms = term.as_millis() as i64;
        let at = clock.now();
        if !storage.try_lease(profile, owner, at, at + term_ms).await? {
            let holder = storage.lease_holder(profile).await?;
            let taken = match &holder {
                // Released between the two statements: try once more.
                None => storage.try_lease(profile, owner, at, at + term_ms).await?,
                Some((holder, _)) => {
                    owner_is_dead(holder)
                        && storage
                            .take_over_lease(profile, holder, owner, at + term_ms)
                            .await?
                }
            };
            if !taken {
                let (holder, until) =
                    holder.unwrap_or_else(|| ("another worker".into(), at + term_ms));
                return Ok(Err(busy(holder, until)));
            }
            if let Some((dead, _)) = holder {
                tracing::warn!(profile = ?profile, %dead, "took over the lease of a process that has ended");
            }
        }
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = tokio::spawn(heartbeat(
            storage.clone(),
            profile,
            owner.to_string(),
            (at, term),
            clock,
            on_lost,
            lost.clone(),
        ));
        Ok(Ok(HeldLease {
            storage: storage.clone(),
            profile,
            owner: owner.to_string(),
            lost,
            heartbeat,
        }))
    }

    /// Whether the lease was lost while held.
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Stops renewing and gives the lease back (if still ours).
    pub async fn release(self) -> Result<()> {
        self.heartbeat.abort();
        Ok(self
            .storage
            .release_lease(self.profile, &self.owner)
            .await?)
    }
}

impl Drop for HeldLease {
    fn drop(&mut self) {
        // Released or not, a dropped lease is renewed no more: it runs out.
        self.heartbeat.abort();
    }
}

/// Renews the lease taken at `taken_at` for `term` every third of the
/// term, counted from the last beat (from `taken_at` at first, not from
/// when this task first runs: time may move before it does).
async fn heartbeat(
    storage: Storage,
    profile: ProfileId,
    owner: String,
    (taken_at, term): (i64, Duration),
    clock: Arc<dyn Clock>,
    on_lost: CancellationToken,
    lost: Arc<AtomicBool>,
) {
    let term_ms = term.as_millis() as i64;
    let mut held_until = taken_at + term_ms;
    let mut last_beat = taken_at;
    loop {
        // On the jobs' own clock: a lease term is business time (the rows
        // compare it with the times other hosts write), and a manual clock
        // in tests renews it exactly when time moves.
        clock.sleep_until(last_beat + term_ms / 3).await;
        let at = clock.now();
        last_beat = at;
        match storage.try_lease(profile, &owner, at, at + term_ms).await {
            Ok(true) => held_until = at + term_ms,
            Ok(false) => {
                let holder = storage
                    .lease_holder(profile)
                    .await
                    .ok()
                    .flatten()
                    .map_or_else(|| "another worker".into(), |(holder, _)| holder);
                tracing::error!(profile = ?profile, %holder, "lost the profile's lease; stopping its job");
                break;
            }
            Err(err) if at >= held_until => {
                tracing::error!(profile = ?profile, error = %err, "could not renew the profile's lease before it ran out; stopping its job");
                break;
            }
            Err(err) => {
                tracing::warn!(profile = ?profile, error = %err, "could not renew the profile's lease; trying again");
            }
        }
    }
    lost.store(true, Ordering::SeqCst);
    on_lost.cancel();
}

fn busy(holder: String, until: i64) -> Busy {
    Busy {
        holder,
        until: jiff::Timestamp::from_millisecond(until)
            .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
            .unwrap_or_else(|_| until.to_string()),
    }
}

/// The error of a job stopped because its lease was lost.
#[derive(Debug, thiserror::Error)]
#[error(
    "stopped at a page boundary: the profile's lease was lost (this process was paused, or the database unreachable, longer than the lease); whoever holds it now continues the run"
)]
pub struct LeaseLost;
