//! The sync engine: pages a profile's users and activity into storage.
//!
//! The host drives paging. Each page goes to storage in one transaction with
//! the cursor after it, so a crash or a failed call leaves a resumable run
//! behind and the next sync continues at the next page. Vendor rate limits
//! and outages are retried with backoff (the wait the vendor asks for when it
//! says one); everything else stops the sync with the connector's typed error.

use crate::bindings::types::ConnectorError;
use crate::connection::Connection;
use crate::error::CallError;
use crate::runtime::Connector;
use crate::storage::{ProfileId, Storage, Stream};
use anyhow::{Context, Result};
use std::time::Duration;

const DAY_MS: i64 = 86_400_000;
/// The activity watermark trails the run's start by this much, so events the
/// vendor records late are still seen (re-applying one is harmless).
const WATERMARK_OVERLAP_MS: i64 = 3_600_000;

/// How a sync behaves.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Pull activity after users (when the connector offers it).
    pub download_activity: bool,
    /// How far back the first activity pull starts, in days.
    pub activity_window_days: u32,
    /// First retry wait for rate limits without a vendor-given wait, and
    /// for outages; doubles per attempt.
    pub retry_base: Duration,
    /// Longest single wait.
    pub retry_cap: Duration,
    /// Attempts per page before the sync gives up.
    pub max_attempts: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            download_activity: true,
            activity_window_days: 60,
            retry_base: Duration::from_millis(500),
            retry_cap: Duration::from_secs(60),
            max_attempts: 6,
        }
    }
}

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

    async fn users(
        &self,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
    ) -> Result<(i64, i64, bool, u64)> {
        let run = self
            .storage
            .begin_or_resume(self.profile, Stream::Users, None, now_ms())
            .await?;
        let (mut pages, mut items) = (run.pages, run.items);
        let mut cursor = run.cursor.clone();
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
                    Err(err) => return Err(self.fail(run.run_id, err).await),
                };
                let next = page.next_cursor.filter(|c| Some(c) != cursor.as_ref());
                self.storage
                    .upsert_accounts_page(
                        self.profile,
                        run.run_id,
                        &page.accounts,
                        next.as_deref(),
                        now_ms(),
                    )
                    .await
                    .context("storing a page of accounts")?;
                pages += 1;
                items += page.accounts.len() as i64;
                progress(Progress::Page {
                    stream: Stream::Users,
                    items: page.accounts.len(),
                });
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
        let first_pull = started - i64::from(self.options.activity_window_days) * DAY_MS;
        let since = self
            .storage
            .activity_since(self.profile)
            .await?
            .unwrap_or(first_pull);
        let run = self
            .storage
            .begin_or_resume(self.profile, Stream::Activity, Some(since), started)
            .await?;
        let since = run.since_ms.unwrap_or(since);
        let (mut pages, mut events, mut updated) = (run.pages, run.items, 0);
        let mut cursor = run.cursor.clone();
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
                    Err(err) => {
                        if let Some(ConnectorError::Unsupported(message)) = err.vendor_error() {
                            let message = message.clone();
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
                            return Ok(ActivityOutcome::Unsupported(message));
                        }
                        return Err(self.fail(run.run_id, err).await);
                    }
                };
                let next = page.next_cursor.filter(|c| Some(c) != cursor.as_ref());
                updated += self
                    .storage
                    .apply_activity_page(self.profile, run.run_id, &page.events, next.as_deref())
                    .await
                    .context("storing a page of activity")?;
                pages += 1;
                events += page.events.len() as i64;
                progress(Progress::Page {
                    stream: Stream::Activity,
                    items: page.events.len(),
                });
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

    async fn fail(&self, run_id: i64, err: CallError) -> anyhow::Error {
        if let Err(store_err) = self
            .storage
            .fail_run(run_id, now_ms(), &err.to_string())
            .await
        {
            tracing::error!(error = %store_err, "could not record the failed run");
        }
        anyhow::Error::new(err)
            .context("the sync stopped; the next sync resumes at the page that failed")
    }

    async fn retrying<T, F, Fut>(
        &self,
        stream: Stream,
        progress: &(dyn Fn(Progress) + Send + std::marker::Sync),
        mut call: F,
    ) -> Result<T, CallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut backoff = self.options.retry_base;
        let mut attempt = 1;
        loop {
            let err = match call().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let wait = match err.vendor_error() {
                Some(ConnectorError::RateLimited(Some(ms))) => {
                    Duration::from_millis(u64::from(*ms))
                }
                Some(ConnectorError::RateLimited(None)) | Some(ConnectorError::Unavailable(_)) => {
                    backoff
                }
                _ => return Err(err),
            };
            if attempt >= self.options.max_attempts {
                return Err(err);
            }
            let wait = wait.min(self.options.retry_cap);
            progress(Progress::Retry {
                stream,
                wait,
                reason: err.to_string(),
            });
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(self.options.retry_cap);
            attempt += 1;
        }
    }
}
