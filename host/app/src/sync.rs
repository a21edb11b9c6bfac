//! The sync engine: pages a profile's users and activity into storage.
//!
//! The host drives paging. Pages go to storage in batches of about
//! [`SyncOptions::items_per_commit`] accounts or events, each batch in one
//! transaction with the cursor after its last page, so a crash leaves a
//! resumable run behind and the next sync fetches at most one batch again; a
//! failed call, or a shutdown, stores the pages it has first, so the next
//! sync continues at the page that failed. Vendor
//! rate limits and outages are retried with backoff (the wait the vendor asks
//! for when it says one); everything else stops the sync with the
//! connector's typed error. [`RetryPolicy::decide`] is the whole retry rule,
//! a pure function so it is tested without a vendor.
//!
//! A connector's paging is not trusted to end: a cursor seen before in the
//! run, more pages than `Limits::pages_per_run` or a job longer than
//! `Limits::run_time` stops the run as [`Runaway`] (a failed job; accounts
//! are never marked gone by it). Batches are bounded in bytes as well as in
//! items, and implausible timestamps are set aside ([`seatwarden_domain::plausible`]).
//! A page holding only accounts already listed in the run is a repeated
//! page and stops the run too. A listing that would mark more than `Limits::max_gone_percent` of the
//! profile's live accounts gone is held ([`seatwarden_store::HeldListing`]):
//! a vendor answering 200 with an empty or shrunken list must not close
//! every candidate.

use crate::clock::Clock;
use anyhow::{Context, Result};
use seatwarden_domain::account::Account;
use seatwarden_domain::account::AccountPage;
use seatwarden_domain::account::Activity;
use seatwarden_domain::account::ActivityPage;
use seatwarden_domain::plausible::{self, Discarded};
use seatwarden_domain::profile_settings::ProfileSettings;
use seatwarden_sandbox::ConnectorError;
use seatwarden_sandbox::connection::Connection;
use seatwarden_sandbox::error::CallError;
use seatwarden_sandbox::runtime::Connector;
use seatwarden_store::{
    ActivityFrom, GoneGuard, ProfileId, RunOutcome, Storage, StoreError, Stream, Trigger,
    UsersRunEnd,
};
use std::collections::HashSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const DAY_MS: i64 = 86_400_000;
/// The default [`SyncOptions::items_per_commit`].
pub const ITEMS_PER_COMMIT: usize = 1_000;
/// The activity watermark trails the run's start by this much, so events the
/// vendor records late are still seen (re-applying one is harmless).
const WATERMARK_OVERLAP_MS: i64 = 3_600_000;

/// How a sync behaves.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Pull activity after users (when the connector offers it).
    pub download_activity: bool,
    /// Where the first activity pull starts (later pulls continue from the
    /// stored watermark). Never more than 60 days back.
    pub activity_from: ActivityFrom,
    /// What started the sync, for the job record.
    pub trigger: Trigger,
    /// Which failures are retried, and how long to wait.
    pub retry: RetryPolicy,
    /// Cancelled on shutdown: the sync stops between pages (an in-flight
    /// call is abandoned; nothing of it was written) and its run is recorded
    /// as interrupted, to resume at its cursor.
    pub cancel: CancellationToken,
    /// Cancelled when the profile's lease is lost (see `lease::HeldLease`):
    /// the sync stops at its next page without writing what it holds, since
    /// whoever took the lease now continues the run.
    pub lease_lost: CancellationToken,
    /// The lease owner the run's attempts are recorded under, so `jobs` can
    /// tell a running attempt from one whose process has ended.
    pub owner: String,
    /// Pages are stored together until they hold this many accounts (or
    /// activity events): one commit per batch instead of per page, which
    /// doubles the storage rate at 100-account pages (BENCHMARKS.md). A
    /// crash loses the uncommitted batch, which the next sync fetches again
    /// (storing an account twice is harmless); 1 commits every page.
    pub items_per_commit: usize,
    /// The operator confirmed that this listing is the truth: mark whatever
    /// it misses gone even beyond `Limits::max_gone_percent`.
    pub accept_gone: bool,
    /// How a batch write the database refused for now (a lost
    /// serialization or deadlock conflict, a timeout, a restart) is tried
    /// again; `max_attempts` 1 never retries. Its transaction rolled back,
    /// so a retried batch is stored whole or not at all.
    pub store_retry: RetryPolicy,
}

impl SyncOptions {
    /// The options a profile's settings decide (whether and from when
    /// activity is pulled), for a sync started by `trigger`; the rest as
    /// [`Default`] gives them.
    pub fn for_profile(settings: &ProfileSettings, trigger: Trigger) -> SyncOptions {
        SyncOptions {
            download_activity: settings.download_activity,
            activity_from: settings.activity_from,
            trigger,
            ..SyncOptions::default()
        }
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            download_activity: true,
            activity_from: ActivityFrom::DaysBack(60),
            trigger: Trigger::Manual,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
            lease_lost: CancellationToken::new(),
            owner: crate::lease::process_owner().to_string(),
            items_per_commit: ITEMS_PER_COMMIT,
            accept_gone: false,
            store_retry: RetryPolicy::store_default(),
        }
    }
}

/// When a failed call is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First wait for outages (5xx, network) and for rate limits that name
    /// no wait; doubles per attempt, with jitter.
    pub base: Duration,
    /// Longest computed wait.
    pub cap: Duration,
    /// Longest wait a vendor may ask for; a longer one stops the sync (it
    /// resumes at the next run) instead of holding a worker.
    pub max_hinted_wait: Duration,
    /// Attempts per page before the sync gives up.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(60),
            max_hinted_wait: Duration::from_secs(300),
            max_attempts: 6,
        }
    }
}

/// What to do after a failed call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Call again after waiting this long.
    Retry(Duration),
    /// Stop the sync with the error: retrying cannot fix it, the attempts ran out, or the
    /// vendor asked for a wait longer than `max_hinted_wait`.
    GiveUp,
}

impl RetryPolicy {
    /// The decision after `attempt` (1-based) failed with `err`. `jitter` is
    /// a number in [0, 1): computed waits are spread over [w/2, w) so many
    /// profiles hitting one outage do not retry in lockstep. A vendor's own
    /// wait is honoured exactly. 4xx-class errors (unauthorized, forbidden,
    /// not found, invalid response, config) and sandbox failures are never
    /// retried: trying again cannot fix them.
    pub fn decide(&self, err: &CallError, attempt: u32, jitter: f64) -> RetryDecision {
        if attempt >= self.max_attempts {
            return RetryDecision::GiveUp;
        }
        let computed = || self.backoff(attempt, jitter);
        match err.vendor_error() {
            Some(ConnectorError::RateLimited(Some(ms))) => {
                let hinted = Duration::from_millis(u64::from(*ms));
                if hinted > self.max_hinted_wait {
                    RetryDecision::GiveUp
                } else {
                    RetryDecision::Retry(hinted)
                }
            }
            Some(ConnectorError::RateLimited(None)) | Some(ConnectorError::Unavailable(_)) => {
                RetryDecision::Retry(computed())
            }
            _ => RetryDecision::GiveUp,
        }
    }

    /// The wait after `attempt` (1-based) failed: `base` doubled per
    /// attempt up to `cap`, spread over [w/2, w) by `jitter` in [0, 1).
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.cap);
        let jitter = jitter.clamp(0.0, 1.0);
        exp / 2 + exp.mul_f64(jitter / 2.0)
    }

    /// How a sync retries a store write the database refused for now
    /// ([`StoreError::Busy`]): four attempts over about ten seconds, which
    /// rides out a lost serialization or deadlock conflict and a quick
    /// failover, and gives up on a longer outage (the job then fails, stays
    /// due, and resumes at its stored cursor).
    pub fn store_default() -> RetryPolicy {
        RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            max_hinted_wait: Duration::ZERO,
            max_attempts: 4,
        }
    }
}

/// The sync stopped because of a shutdown; its run resumes next time.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by shutdown; the next run resumes at the stored cursor")]
pub struct Interrupted;

/// Why a sync stopped a run whose paging would not end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Runaway {
    /// A page's next cursor was one the run had been given before.
    #[error(
        "the connector returned cursor {cursor:?} a second time after {pages} pages: its paging loops; nothing was marked gone (fix the connector, or report it to its author)"
    )]
    CursorRepeated {
        /// The repeated cursor, cut to 64 bytes with control characters escaped.
        cursor: String,
        /// Pages the run had fetched over all its attempts, including the one that repeated it.
        pages: i64,
    },
    /// A page of users listed only accounts the run had already seen.
    #[error(
        "the vendor answered page {page} with only accounts it had already listed in this run: it repeats a page (a server that ignores the paging parameter, or a cursor that does not advance); nothing was marked gone"
    )]
    RepeatedPage {
        /// The repeated page's 1-based number in the run, over all its attempts.
        page: i64,
    },
    /// The run reached the connector's page limit before its paging ended.
    #[error(
        "stopped after {limit} pages, the most one run may fetch (limits.pages_per_run); nothing was marked gone. Raise the limit if the vendor really has this many pages"
    )]
    TooManyPages {
        /// The connector's `pages_per_run` limit.
        limit: u64,
    },
    /// The attempt ran past the connector's run-time limit.
    #[error(
        "stopped after running {} (limits.run_time); nothing was marked gone. Raise the limit if the vendor is this slow", humantime_serde::re::humantime::format_duration(*.limit)
    )]
    TooLong {
        /// The connector's `run_time` limit, timed (monotonic clock) from this attempt's start.
        limit: Duration,
    },
}

impl Runaway {
    /// The short name recorded as the job's error kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Runaway::CursorRepeated { .. } => "cursor-loop",
            Runaway::RepeatedPage { .. } => "repeated-page",
            Runaway::TooManyPages { .. } => "page-limit",
            Runaway::TooLong { .. } => "time-limit",
        }
    }
}

/// What a sync reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A page was stored.
    Page {
        /// Whether the page was of users or of activity.
        stream: Stream,
        /// The accounts or activity events the page held, as stored.
        items: usize,
    },
    /// A call, or a batch write the database refused for now, will be
    /// retried after `wait`.
    Retry {
        /// Whether the failed call or write was for users or for activity.
        stream: Stream,
        /// How long the sync waits before calling again: the vendor's hint or the backoff.
        wait: Duration,
        /// The failed call's error, in words.
        reason: String,
    },
}

/// How the activity part of a sync went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActivityOutcome {
    /// Activity was paged to its end and the watermark moved forward.
    Pulled {
        /// Events stored by the run, over all its attempts when it resumed.
        events: i64,
        /// Pages of events stored by the run, over all its attempts.
        pages: i64,
        /// How many times this attempt's events moved an account's last-activity time later.
        activity_updates: u64,
        /// Events set aside: before the window or dated in the future.
        discarded: Discarded,
    },
    /// The connector said the tenant has no activity source.
    Unsupported(String),
    /// Not pulled: activity download is off, or the connector has no `get-activity`.
    Skipped,
}

impl ActivityOutcome {
    /// "N events in P pages; U last-activity updates", and what was set
    /// aside; empty for outcomes other than [`ActivityOutcome::Pulled`].
    pub fn pulled_summary(&self) -> String {
        let ActivityOutcome::Pulled {
            events,
            pages,
            activity_updates,
            discarded,
        } = self
        else {
            return String::new();
        };
        let mut text =
            format!("{events} events in {pages} pages; {activity_updates} last-activity updates");
        let doubts = discarded.describe();
        if !doubts.is_empty() {
            text.push_str("; ");
            text.push_str(&doubts);
        }
        text
    }
}

/// What a sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    /// Accounts the users run stored, over all its attempts when it resumed.
    pub accounts: i64,
    /// Pages of accounts the users run stored, over all its attempts.
    pub pages: i64,
    /// The users run continued an unfinished earlier attempt at its stored cursor.
    pub resumed: bool,
    /// Live accounts the finished listing missed, now marked gone.
    pub gone: u64,
    /// Account timestamps set aside as implausible.
    pub discarded: Discarded,
    /// How the activity part went; `Skipped` for a users-only sync.
    pub activity: ActivityOutcome,
}

/// The first `since` of a profile's activity: its date or days back, never
/// more than 60 days before `now`.
pub fn first_activity_since(from: ActivityFrom, now: i64) -> i64 {
    let earliest = now - 60 * DAY_MS;
    let since = match from {
        ActivityFrom::DaysBack(days) => now - i64::from(days) * DAY_MS,
        ActivityFrom::Date(date) => date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(earliest),
    };
    since.clamp(earliest, now)
}

/// One profile's sync: its users, then its activity, page by page.
pub struct ProfileSync<'a> {
    /// Where pages, cursors and run records are stored.
    pub storage: &'a Storage,
    /// Where the sync takes the time from (the app's clock).
    pub clock: &'a dyn Clock,
    /// The loaded connector whose `list-users` and `get-activity` are paged.
    pub connector: &'a Connector,
    /// The profile's connection: settings, allowlist and credential for every call.
    pub connection: &'a Connection,
    /// The profile whose subscriptions, cursors and runs are written.
    pub profile: ProfileId,
    /// How this sync behaves: what to pull, retries, cancellation, batching.
    pub options: SyncOptions,
}

impl ProfileSync<'_> {
    /// Users, then activity.
    pub async fn run(&self, progress: &(dyn Fn(Progress) + Send + Sync)) -> Result<SyncReport> {
        let (accounts, pages, resumed, gone, discarded) = self.users(progress).await?;
        let activity = if self.options.download_activity
            && self.connector.descriptor().capabilities.activity
        {
            self.activity(progress).await?
        } else {
            ActivityOutcome::Skipped
        };
        Ok(SyncReport {
            accounts,
            pages,
            resumed,
            gone,
            discarded,
            activity,
        })
    }

    /// The subscriptions job alone: pages every account into storage.
    pub async fn run_users(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<SyncReport> {
        let (accounts, pages, resumed, gone, discarded) = self.users(progress).await?;
        Ok(SyncReport {
            accounts,
            pages,
            resumed,
            gone,
            discarded,
            activity: ActivityOutcome::Skipped,
        })
    }

    /// The activity job alone: pulls activity since the watermark.
    pub async fn run_activity(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<ActivityOutcome> {
        if !self.connector.descriptor().capabilities.activity {
            return Ok(ActivityOutcome::Unsupported(format!(
                "connector {} has no get-activity",
                self.connector.descriptor().label()
            )));
        }
        self.activity(progress).await
    }

    async fn users(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(i64, i64, bool, u64, Discarded)> {
        let run = self
            .storage
            .begin_attempt(
                self.profile,
                Stream::Users,
                None,
                self.options.trigger,
                &self.options.owner,
                self.clock.now(),
            )
            .await?;
        let (mut pages, mut items) = (run.pages, run.items);
        let mut cursor = run.cursor.clone();
        let mut batch = Batch::default();
        let mut guard = PagingGuard::new(self.connector.limits(), cursor.as_deref());
        let mut discarded = Discarded::default();
        if !run.exhausted {
            loop {
                let fetched = pages + batch.pages.len() as i64;
                let page = self
                    .fetch_page(
                        Stream::Users,
                        progress,
                        &mut guard,
                        fetched,
                        |page: &AccountPage| page.next_cursor.as_deref(),
                        || {
                            self.connector
                                .list_users(self.connection, cursor.as_deref())
                        },
                    )
                    .await;
                let mut page = match page {
                    Ok(page) => page,
                    Err(stop) => {
                        // Keep what arrived: the next sync starts at the
                        // page that failed, not at the start of the batch.
                        // A lost lease keeps nothing: the run is no longer
                        // this process's to write.
                        let kept = match stop {
                            Stop::LeaseLost => Ok((0, 0)),
                            _ => {
                                self.store_users(
                                    run.run_id,
                                    &mut batch,
                                    cursor.as_deref(),
                                    progress,
                                )
                                .await
                            }
                        };
                        let stopped = self.stop(Stream::Users, run.run_id, stop).await;
                        return Err(match kept {
                            Ok(_) => stopped,
                            Err(err) => err.context(format!("{stopped:#}")),
                        });
                    }
                };
                if let Err(runaway) = guard.fresh_accounts(&page.accounts, fetched + 1) {
                    let kept = self
                        .store_users(run.run_id, &mut batch, cursor.as_deref(), progress)
                        .await;
                    let stopped = self
                        .stop(Stream::Users, run.run_id, Stop::Runaway(runaway))
                        .await;
                    return Err(match kept {
                        Ok(_) => stopped,
                        Err(err) => err.context(format!("{stopped:#}")),
                    });
                }
                discarded.add(plausible::accounts(&mut page.accounts, self.clock.now()));
                let next = page.next_cursor;
                batch.push(page.accounts);
                if next.is_none() || batch.holds(&self.batch_limits()) {
                    let (p, i) = self
                        .store_users(run.run_id, &mut batch, next.as_deref(), progress)
                        .await?;
                    pages += p;
                    items += i;
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        let end = self
            .storage
            .finish_users_run_guarded(
                self.profile,
                run.run_id,
                self.clock.now(),
                Some(discarded.describe()).filter(|d| !d.is_empty()),
                GoneGuard {
                    max_percent: self.connector.limits().max_gone_percent,
                    accept: self.options.accept_gone,
                },
            )
            .await?;
        let gone = match end {
            UsersRunEnd::Finished { gone } => gone,
            UsersRunEnd::Held(held) => {
                return Err(anyhow::Error::new(held).context("the sync stopped"));
            }
        };
        Ok((items, pages, run.resumed, gone, discarded))
    }

    fn batch_limits(&self) -> BatchLimits {
        BatchLimits {
            items: self.options.items_per_commit,
            bytes: self.connector.limits().batch_bytes,
        }
    }

    async fn activity(
        &self,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<ActivityOutcome> {
        let started = self.clock.now();
        let first_pull = first_activity_since(self.options.activity_from, started);
        let since = self
            .storage
            .activity_since(self.profile)
            .await?
            .unwrap_or(first_pull);
        let run = self
            .storage
            .begin_attempt(
                self.profile,
                Stream::Activity,
                Some(since),
                self.options.trigger,
                &self.options.owner,
                started,
            )
            .await?;
        let since = run.since_ms.unwrap_or(since);
        let (mut pages, mut events, mut updated) = (run.pages, run.items, 0);
        let mut cursor = run.cursor.clone();
        let mut batch = Batch::default();
        let mut guard = PagingGuard::new(self.connector.limits(), cursor.as_deref());
        let mut discarded = Discarded::default();
        if !run.exhausted {
            loop {
                let fetched = pages + batch.pages.len() as i64;
                let page = self
                    .fetch_page(
                        Stream::Activity,
                        progress,
                        &mut guard,
                        fetched,
                        |page: &ActivityPage| page.next_cursor.as_deref(),
                        || {
                            self.connector
                                .get_activity(self.connection, since, cursor.as_deref())
                        },
                    )
                    .await;
                let mut page = match page {
                    Ok(page) => page,
                    Err(stop) => {
                        // Keep what arrived (see the users loop).
                        let kept = match stop {
                            Stop::LeaseLost => Ok((0, 0, 0)),
                            _ => {
                                self.store_activity(
                                    run.run_id,
                                    &mut batch,
                                    cursor.as_deref(),
                                    progress,
                                )
                                .await
                            }
                        };
                        if let Err(err) = kept {
                            let stopped = self.stop(Stream::Activity, run.run_id, stop).await;
                            return Err(err.context(format!("{stopped:#}")));
                        }
                        if let Stop::Failed(err) = &stop
                            && let Some(ConnectorError::Unsupported(message)) = err.vendor_error()
                        {
                            let detail = format!("unsupported: {message}");
                            self.storage
                                .finish_activity_run(
                                    self.profile,
                                    run.run_id,
                                    since,
                                    self.clock.now(),
                                    Some(detail),
                                )
                                .await?;
                            return Ok(ActivityOutcome::Unsupported(message.clone()));
                        }
                        return Err(self.stop(Stream::Activity, run.run_id, stop).await);
                    }
                };
                discarded.add(plausible::events(&mut page.events, since, self.clock.now()));
                let next = page.next_cursor;
                batch.push(page.events);
                if next.is_none() || batch.holds(&self.batch_limits()) {
                    let (p, e, u) = self
                        .store_activity(run.run_id, &mut batch, next.as_deref(), progress)
                        .await?;
                    pages += p;
                    events += e;
                    updated += u;
                }
                match next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        let next_since = since.max(started - WATERMARK_OVERLAP_MS);
        let mut detail = format!("{events} events, {updated} last-activity updates");
        let doubts = discarded.describe();
        if !doubts.is_empty() {
            detail.push_str("; ");
            detail.push_str(&doubts);
        }
        self.storage
            .finish_activity_run(
                self.profile,
                run.run_id,
                next_since,
                self.clock.now(),
                Some(detail),
            )
            .await?;
        Ok(ActivityOutcome::Pulled {
            events,
            pages,
            activity_updates: updated,
            discarded,
        })
    }

    /// Stores the batch of account pages with the cursor after it; returns
    /// the pages and accounts stored. An empty batch stores nothing.
    async fn store_users(
        &self,
        run_id: i64,
        batch: &mut Batch<Account>,
        next_cursor: Option<&str>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(i64, i64)> {
        if batch.is_empty() {
            return Ok((0, 0));
        }
        let pages = batch.pages();
        self.storing(Stream::Users, progress, || {
            self.storage.upsert_accounts_pages(
                self.profile,
                run_id,
                &pages,
                next_cursor,
                self.clock.now(),
            )
        })
        .await
        .context("storing pages of accounts")?;
        Ok(batch.stored(Stream::Users, progress))
    }

    /// Stores the batch of activity pages with the cursor after it; returns
    /// the pages, the events and the last-activity updates stored.
    async fn store_activity(
        &self,
        run_id: i64,
        batch: &mut Batch<Activity>,
        next_cursor: Option<&str>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<(i64, i64, u64)> {
        if batch.is_empty() {
            return Ok((0, 0, 0));
        }
        let pages = batch.pages();
        let updated = self
            .storing(Stream::Activity, progress, || {
                self.storage
                    .apply_activity_pages(self.profile, run_id, &pages, next_cursor)
            })
            .await
            .context("storing pages of activity")?;
        let (pages, events) = batch.stored(Stream::Activity, progress);
        Ok((pages, events, updated))
    }

    async fn stop(&self, stream: Stream, run_id: i64, stop: Stop) -> anyhow::Error {
        let (outcome, kind, text) = match &stop {
            Stop::Failed(err) => (RunOutcome::Failed, Some(err.kind_name()), err.to_string()),
            Stop::Runaway(why) => (RunOutcome::Failed, Some(why.kind_name()), why.to_string()),
            Stop::Cancelled => (RunOutcome::Interrupted, None, Interrupted.to_string()),
            Stop::LeaseLost => (
                RunOutcome::Interrupted,
                Some("lease-lost"),
                crate::lease::LeaseLost.to_string(),
            ),
        };
        if let Err(store_err) = self
            .storage
            .fail_run(self.profile, run_id, self.clock.now(), outcome, kind, &text)
            .await
        {
            tracing::error!(error = %store_err, "could not record the stopped run");
        }
        // A runaway run's cursor would only loop (or stay at the page cap)
        // again: the next sync lists from the start.
        if matches!(stop, Stop::Runaway(_))
            && let Err(store_err) = self.storage.abandon_cursor(self.profile, stream).await
        {
            tracing::error!(error = %store_err, "could not forget the runaway run's cursor");
        }
        match stop {
            Stop::Failed(err) => anyhow::Error::new(err)
                .context("the sync stopped; the next sync resumes at the page that failed"),
            Stop::Runaway(why) => anyhow::Error::new(why).context("the sync stopped"),
            Stop::Cancelled => anyhow::Error::new(Interrupted),
            Stop::LeaseLost => anyhow::Error::new(crate::lease::LeaseLost),
        }
    }

    /// The next page of a run that has `fetched` pages: refused before the
    /// call when the run is out of pages or time, fetched with retries, and
    /// refused after it when its next cursor was seen before in the run.
    async fn fetch_page<T, F, Fut>(
        &self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + Sync),
        guard: &mut PagingGuard,
        fetched: i64,
        next_cursor: impl Fn(&T) -> Option<&str>,
        call: F,
    ) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        guard.check(fetched).map_err(Stop::Runaway)?;
        let page = self.retrying(stream, progress, guard, call).await?;
        guard
            .next(next_cursor(&page), fetched + 1)
            .map_err(Stop::Runaway)?;
        Ok(page)
    }

    /// Runs a store write, trying it again while the database refuses it
    /// for now ([`StoreError::Busy`]) as `store_retry` says: its
    /// transaction rolled back, so the write is whole or absent and the
    /// same write may simply run again. Any other error, the last attempt's
    /// included, is returned as it is; a shutdown or a lost lease ends the
    /// wait (the caller records the run as it always does).
    async fn storing<T, F, Fut>(
        &self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + Sync),
        mut write: F,
    ) -> std::result::Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = std::result::Result<T, StoreError>>,
    {
        let policy = &self.options.store_retry;
        let mut attempt = 1;
        loop {
            let err = match write().await {
                Err(StoreError::Busy(err)) if attempt < policy.max_attempts => err,
                done => return done,
            };
            let wait = policy.backoff(attempt, fastrand::f64());
            tracing::warn!(profile = ?self.profile, attempt, error = %err, "the database refused a batch for now; retrying");
            progress(Progress::Retry {
                stream,
                wait,
                reason: format!(
                    "the database could not store the batch now ({err}); nothing of it was stored"
                ),
            });
            tokio::select! {
                biased;
                _ = self.options.lease_lost.cancelled() => return Err(StoreError::Busy(err)),
                _ = self.options.cancel.cancelled() => return Err(StoreError::Busy(err)),
                _ = tokio::time::sleep(wait) => {}
            }
            attempt += 1;
        }
    }

    /// Runs `call`, retrying as the policy says, until it succeeds, fails
    /// for good, or the sync is cancelled.
    async fn retrying<T, F, Fut>(
        &self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + Sync),
        guard: &PagingGuard,
        mut call: F,
    ) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let cancel = &self.options.cancel;
        let mut attempt = 1;
        loop {
            if self.options.lease_lost.is_cancelled() {
                return Err(Stop::LeaseLost);
            }
            if cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            let result = tokio::select! {
                biased;
                _ = self.options.lease_lost.cancelled() => return Err(Stop::LeaseLost),
                _ = cancel.cancelled() => return Err(Stop::Cancelled),
                _ = tokio::time::sleep_until(guard.deadline) => return Err(Stop::Runaway(guard.too_long())),
                result = call() => result,
            };
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let wait = match self.options.retry.decide(&err, attempt, fastrand::f64()) {
                RetryDecision::Retry(wait) => wait,
                RetryDecision::GiveUp => return Err(Stop::Failed(err)),
            };
            progress(Progress::Retry {
                stream,
                wait,
                reason: err.to_string(),
            });
            tokio::select! {
                biased;
                _ = self.options.lease_lost.cancelled() => return Err(Stop::LeaseLost),
                _ = cancel.cancelled() => return Err(Stop::Cancelled),
                _ = tokio::time::sleep_until(guard.deadline) => return Err(Stop::Runaway(guard.too_long())),
                _ = tokio::time::sleep(wait) => {}
            }
            attempt += 1;
        }
    }
}

/// When a batch of received pages is due for storing.
struct BatchLimits {
    items: usize,
    bytes: usize,
}

/// Roughly how many bytes of host memory a record holds.
trait Weight {
    fn weight(&self) -> usize;
}

impl Weight for Account {
    fn weight(&self) -> usize {
        std::mem::size_of::<Account>()
            + self.id.len()
            + self.principal.len()
            + self.display_name.as_ref().map_or(0, String::len)
            + self
                .subscriptions
                .iter()
                .map(|s| s.len() + std::mem::size_of::<String>())
                .sum::<usize>()
            + self
                .attributes
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2 * std::mem::size_of::<String>())
                .sum::<usize>()
    }
}

impl Weight for Activity {
    fn weight(&self) -> usize {
        std::mem::size_of::<Activity>() + self.account_id.len() + self.kind.len()
    }
}

/// Pages received and not yet stored.
struct Batch<T> {
    pages: Vec<Vec<T>>,
    items: usize,
    bytes: usize,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            pages: Vec::new(),
            items: 0,
            bytes: 0,
        }
    }
}

impl<T: Weight> Batch<T> {
    fn push(&mut self, page: Vec<T>) {
        self.items += page.len();
        self.bytes += page.iter().map(Weight::weight).sum::<usize>();
        self.pages.push(page);
    }

    fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Whether the batch is due for storing: it holds `items` records, or
    /// `bytes` of them.
    fn holds(&self, limits: &BatchLimits) -> bool {
        !self.is_empty() && (self.items >= limits.items.max(1) || self.bytes >= limits.bytes)
    }

    fn pages(&self) -> Vec<&[T]> {
        self.pages.iter().map(Vec::as_slice).collect()
    }

    /// Empties the batch after it was stored, reporting each page as stored;
    /// returns how many pages and items it held.
    fn stored(
        &mut self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> (i64, i64) {
        let pages = self.pages.len() as i64;
        for page in self.pages.drain(..) {
            progress(Progress::Page {
                stream,
                items: page.len(),
            });
        }
        self.bytes = 0;
        (pages, std::mem::take(&mut self.items) as i64)
    }
}

/// Holds one run's paging to an end: no cursor twice, at most
/// `pages_per_run` pages, no longer than `run_time`.
struct PagingGuard {
    /// Digests of every cursor this run was given (kept small: a cursor may
    /// be 8 KiB, and a run may see 100,000 of them).
    seen: HashSet<[u8; 32]>,
    /// Hashes of the account ids listed so far in this run.
    accounts: HashSet<u64>,
    max_pages: u64,
    run_time: Duration,
    deadline: tokio::time::Instant,
}

impl PagingGuard {
    fn new(limits: &seatwarden_sandbox::Limits, resumed_at: Option<&str>) -> PagingGuard {
        let mut guard = PagingGuard {
            seen: HashSet::new(),
            accounts: HashSet::new(),
            max_pages: limits.pages_per_run,
            run_time: limits.run_time,
            // A run time too large to add is as good as none.
            deadline: tokio::time::Instant::now()
                .checked_add(limits.run_time)
                .unwrap_or_else(|| {
                    tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 86_400)
                }),
        };
        if let Some(cursor) = resumed_at {
            guard.seen.insert(digest(cursor));
        }
        guard
    }

    /// Before fetching a page, `pages` having been fetched in this run.
    fn check(&self, pages: i64) -> Result<(), Runaway> {
        if pages >= 0 && pages as u64 >= self.max_pages {
            return Err(Runaway::TooManyPages {
                limit: self.max_pages,
            });
        }
        if tokio::time::Instant::now() >= self.deadline {
            return Err(self.too_long());
        }
        Ok(())
    }

    /// After a page arrived (the `pages`th of the run): its next cursor must
    /// be new.
    fn next(&mut self, cursor: Option<&str>, pages: i64) -> Result<(), Runaway> {
        match cursor {
            Some(cursor) if !self.seen.insert(digest(cursor)) => Err(Runaway::CursorRepeated {
                cursor: seatwarden_domain::text::sanitize(cursor, 64),
                pages,
            }),
            _ => Ok(()),
        }
    }

    /// A page whose accounts were all listed before in this run is a page
    /// the vendor repeated; an overlap (a listing shifting while it is
    /// paged) is not.
    fn fresh_accounts(&mut self, accounts: &[Account], page: i64) -> Result<(), Runaway> {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let hasher = BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        let mut new = false;
        for account in accounts {
            new |= self.accounts.insert(hasher.hash_one(&account.id));
        }
        if accounts.is_empty() || new {
            Ok(())
        } else {
            Err(Runaway::RepeatedPage { page })
        }
    }

    fn too_long(&self) -> Runaway {
        Runaway::TooLong {
            limit: self.run_time,
        }
    }
}

fn digest(cursor: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(cursor.as_bytes()).into()
}

/// Why a paging loop stopped early.
enum Stop {
    Failed(CallError),
    Runaway(Runaway),
    Cancelled,
    LeaseLost,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(attribute: usize) -> Account {
        Account {
            id: "a".into(),
            principal: "a@example.com".into(),
            display_name: None,
            active: true,
            subscriptions: vec![],
            created_at: None,
            last_active_at: None,
            attributes: vec![("bio".into(), "x".repeat(attribute))],
        }
    }

    #[test]
    fn a_batch_is_due_by_bytes_before_it_is_due_by_items() {
        let limits = BatchLimits {
            items: 1000,
            bytes: 1024 * 1024,
        };
        let mut batch = Batch::default();
        batch.push(vec![account(600 * 1024)]);
        assert!(!batch.holds(&limits), "one page of 600 KiB is under 1 MiB");
        batch.push(vec![account(600 * 1024)]);
        assert!(batch.holds(&limits), "two are over it, with only 2 items");
        batch.stored(Stream::Users, &|_| {});
        batch.push(vec![account(10)]);
        assert!(!batch.holds(&limits), "storing empties the byte count too");
    }

    #[test]
    fn a_cursor_seen_anywhere_in_the_run_stops_it() {
        let limits = seatwarden_sandbox::Limits::default();
        let mut guard = PagingGuard::new(&limits, Some("A"));
        assert_eq!(guard.next(Some("B"), 1), Ok(()));
        assert_eq!(guard.next(Some("C"), 2), Ok(()));
        assert_eq!(
            guard.next(Some("A"), 3),
            Err(Runaway::CursorRepeated {
                cursor: "A".into(),
                pages: 3
            })
        );
        assert_eq!(guard.next(None, 4), Ok(()));
    }
}
