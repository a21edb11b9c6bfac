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

use crate::bindings::types::ConnectorError;
use crate::connection::Connection;
use crate::error::CallError;
use crate::runtime::Connector;
use crate::storage::{ActivityFrom, ProfileId, RunOutcome, Storage, Stream, Trigger};
use crate::{Account, Activity};
use anyhow::{Context, Result};
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
    /// Pages are stored together until they hold this many accounts (or
    /// activity events): one commit per batch instead of per page, which
    /// doubles the storage rate at 100-account pages (BENCHMARKS.md). A
    /// crash loses the uncommitted batch, which the next sync fetches again
    /// (storing an account twice is harmless); 1 commits every page.
    pub items_per_commit: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            download_activity: true,
            activity_from: ActivityFrom::DaysBack(60),
            trigger: Trigger::Manual,
            retry: RetryPolicy::default(),
            cancel: CancellationToken::new(),
            items_per_commit: ITEMS_PER_COMMIT,
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
    Retry(Duration),
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
        let computed = || {
            let exp = self
                .base
                .saturating_mul(1u32 << (attempt - 1).min(20))
                .min(self.cap);
            let jitter = jitter.clamp(0.0, 1.0);
            exp / 2 + exp.mul_f64(jitter / 2.0)
        };
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
}

/// The sync stopped because of a shutdown; its run resumes next time.
#[derive(Debug, thiserror::Error)]
#[error("interrupted by shutdown; the next run resumes at the stored cursor")]
pub struct Interrupted;

/// What a sync reports as it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// A page was stored.
    Page { stream: Stream, items: usize },
    /// A call will be retried after `wait`.
    Retry {
        stream: Stream,
        wait: Duration,
        reason: String,
    },
}

/// How the activity part of a sync went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActivityOutcome {
    Pulled {
        events: i64,
        pages: i64,
        activity_updates: u64,
    },
    /// The connector said the tenant has no activity source.
    Unsupported(String),
    Skipped,
}

/// What a sync did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReport {
    pub accounts: i64,
    pub pages: i64,
    pub resumed: bool,
    pub gone: u64,
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

/// One profile's sync.
pub struct Sync<'a> {
    pub storage: &'a Storage,
    pub connector: &'a Connector,
    pub connection: &'a Connection,
    pub profile: ProfileId,
    pub options: SyncOptions,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl Sync<'_> {
    /// Users, then activity.
    pub async fn run(
        &self,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<SyncReport> {
        let (accounts, pages, resumed, gone) = self.users(progress).await?;
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
            activity,
        })
    }

    /// The subscriptions job alone: pages every account into storage.
    pub async fn run_users(
        &self,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<SyncReport> {
        let (accounts, pages, resumed, gone) = self.users(progress).await?;
        Ok(SyncReport {
            accounts,
            pages,
            resumed,
            gone,
            activity: ActivityOutcome::Skipped,
        })
    }

    /// The activity job alone: pulls activity since the watermark.
    pub async fn run_activity(
        &self,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
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
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<(i64, i64, bool, u64)> {
        let run = self
            .storage
            .begin_or_resume(
                self.profile,
                Stream::Users,
                None,
                self.options.trigger,
                now_ms(),
            )
            .await?;
        let (mut pages, mut items) = (run.pages, run.items);
        let mut cursor = run.cursor.clone();
        let mut batch = Batch::default();
        if !run.exhausted {
            loop {
                let page = self
                    .retrying(Stream::Users, progress, || {
                        self.connector
                            .list_users(self.connection, cursor.as_deref())
                    })
                    .await;
                let page = match page {
                    Ok(page) => page,
                    Err(stop) => {
                        // Keep what arrived: the next sync starts at the
                        // page that failed, not at the start of the batch.
                        let kept = self
                            .store_users(run.run_id, &mut batch, cursor.as_deref(), progress)
                            .await;
                        let stopped = self.stop(run.run_id, stop).await;
                        return Err(match kept {
                            Ok(_) => stopped,
                            Err(err) => err.context(format!("{stopped:#}")),
                        });
                    }
                };
                let next = page.next_cursor.filter(|c| Some(c) != cursor.as_ref());
                batch.push(page.accounts);
                if next.is_none() || batch.holds(self.options.items_per_commit) {
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
        let gone = self
            .storage
            .finish_users_run(self.profile, run.run_id, now_ms())
            .await?;
        Ok((items, pages, run.resumed, gone))
    }

    async fn activity(
        &self,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<ActivityOutcome> {
        let started = now_ms();
        let first_pull = first_activity_since(self.options.activity_from, started);
        let since = self
            .storage
            .activity_since(self.profile)
            .await?
            .unwrap_or(first_pull);
        let run = self
            .storage
            .begin_or_resume(
                self.profile,
                Stream::Activity,
                Some(since),
                self.options.trigger,
                started,
            )
            .await?;
        let since = run.since_ms.unwrap_or(since);
        let (mut pages, mut events, mut updated) = (run.pages, run.items, 0);
        let mut cursor = run.cursor.clone();
        let mut batch = Batch::default();
        if !run.exhausted {
            loop {
                let page = self
                    .retrying(Stream::Activity, progress, || {
                        self.connector
                            .get_activity(self.connection, since, cursor.as_deref())
                    })
                    .await;
                let page = match page {
                    Ok(page) => page,
                    Err(stop) => {
                        // Keep what arrived (see the users loop).
                        let kept = self
                            .store_activity(run.run_id, &mut batch, cursor.as_deref(), progress)
                            .await;
                        if let Err(err) = kept {
                            let stopped = self.stop(run.run_id, stop).await;
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
                                    now_ms(),
                                    Some(detail),
                                )
                                .await?;
                            return Ok(ActivityOutcome::Unsupported(message.clone()));
                        }
                        return Err(self.stop(run.run_id, stop).await);
                    }
                };
                let next = page.next_cursor.filter(|c| Some(c) != cursor.as_ref());
                batch.push(page.events);
                if next.is_none() || batch.holds(self.options.items_per_commit) {
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
        let detail = format!("{events} events, {updated} last-activity updates");
        self.storage
            .finish_activity_run(self.profile, run.run_id, next_since, now_ms(), Some(detail))
            .await?;
        Ok(ActivityOutcome::Pulled {
            events,
            pages,
            activity_updates: updated,
        })
    }

    /// Stores the batch of account pages with the cursor after it; returns
    /// the pages and accounts stored. An empty batch stores nothing.
    async fn store_users(
        &self,
        run_id: i64,
        batch: &mut Batch<Account>,
        next_cursor: Option<&str>,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<(i64, i64)> {
        if batch.is_empty() {
            return Ok((0, 0));
        }
        self.storage
            .upsert_accounts_pages(self.profile, run_id, &batch.pages(), next_cursor, now_ms())
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
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<(i64, i64, u64)> {
        if batch.is_empty() {
            return Ok((0, 0, 0));
        }
        let updated = self
            .storage
            .apply_activity_pages(self.profile, run_id, &batch.pages(), next_cursor)
            .await
            .context("storing pages of activity")?;
        let (pages, events) = batch.stored(Stream::Activity, progress);
        Ok((pages, events, updated))
    }

    async fn stop(&self, run_id: i64, stop: Stop) -> anyhow::Error {
        let (outcome, kind, text) = match &stop {
            Stop::Failed(err) => (RunOutcome::Failed, Some(err.kind_name()), err.to_string()),
            Stop::Cancelled => (RunOutcome::Interrupted, None, Interrupted.to_string()),
        };
        if let Err(store_err) = self
            .storage
            .fail_run(run_id, now_ms(), outcome, kind, &text)
            .await
        {
            tracing::error!(error = %store_err, "could not record the stopped run");
        }
        match stop {
            Stop::Failed(err) => anyhow::Error::new(err)
                .context("the sync stopped; the next sync resumes at the page that failed"),
            Stop::Cancelled => anyhow::Error::new(Interrupted),
        }
    }

    /// Runs `call`, retrying as the policy says, until it succeeds, fails
    /// for good, or the sync is cancelled.
    async fn retrying<T, F, Fut>(
        &self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
        mut call: F,
    ) -> Result<T, Stop>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let cancel = &self.options.cancel;
        let mut attempt = 1;
        loop {
            if cancel.is_cancelled() {
                return Err(Stop::Cancelled);
            }
            let result = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(Stop::Cancelled),
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
                _ = cancel.cancelled() => return Err(Stop::Cancelled),
                _ = tokio::time::sleep(wait) => {}
            }
            attempt += 1;
        }
    }
}

/// Pages received and not yet stored.
struct Batch<T> {
    pages: Vec<Vec<T>>,
    items: usize,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            pages: Vec::new(),
            items: 0,
        }
    }
}

impl<T> Batch<T> {
    fn push(&mut self, page: Vec<T>) {
        self.items += page.len();
        self.pages.push(page);
    }

    fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Whether the batch is due for storing at `items_per_commit`.
    fn holds(&self, items_per_commit: usize) -> bool {
        !self.is_empty() && self.items >= items_per_commit.max(1)
    }

    fn pages(&self) -> Vec<&[T]> {
        self.pages.iter().map(Vec::as_slice).collect()
    }

    /// Empties the batch after it was stored, reporting each page as stored;
    /// returns how many pages and items it held.
    fn stored(
        &mut self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> (i64, i64) {
        let pages = self.pages.len() as i64;
        for page in self.pages.drain(..) {
            progress(Progress::Page {
                stream,
                items: page.len(),
            });
        }
        (pages, std::mem::take(&mut self.items) as i64)
    }
}

/// Why a paging loop stopped early.
enum Stop {
    Failed(CallError),
    Cancelled,
}
