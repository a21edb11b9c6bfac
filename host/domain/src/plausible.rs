//! Which timestamps from a vendor the host believes.
//!
//! Rules decide on last activity: one event dated in year 9999 (or at
//! `i64::MAX`) would make an account active forever, and `i64::MIN` would
//! wrap the arithmetic that measures idleness. A connector or a vendor can
//! return either, by bug or on purpose. So each timestamp is held to
//! [`EARLIEST`, now + [`FUTURE_SKEW_MS`]] where it enters a sync: an
//! account's `created-at` or `last-active-at` outside it is dropped (the
//! host then knows nothing rather than something false), and an event
//! outside it, or before the window the host asked for, is not applied.
//! Every one is counted, and the counts appear in the job's result.

use crate::account::{Account, Activity};

/// 2000-01-01T00:00:00Z in milliseconds: older is not a SaaS timestamp.
pub const EARLIEST: i64 = 946_684_800_000;
/// How far ahead of the host's clock a vendor's clock may run.
pub const FUTURE_SKEW_MS: i64 = 15 * 60 * 1000;

/// What a sync set aside as implausible.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Discarded {
    /// Account timestamps (`created-at`, `last-active-at`) dropped.
    pub account_timestamps: u64,
    /// Events dated before the window the host asked for (or before 2000).
    pub events_before_window: u64,
    /// Events dated after now (plus the skew).
    pub events_in_future: u64,
}

impl Discarded {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: Discarded) {
        self.account_timestamps += other.account_timestamps;
        self.events_before_window += other.events_before_window;
        self.events_in_future += other.events_in_future;
    }

    /// Words for a job result; empty when nothing was discarded.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.account_timestamps > 0 {
            parts.push(format!(
                "{} account timestamps out of range ignored",
                self.account_timestamps
            ));
        }
        if self.events_before_window > 0 {
            parts.push(format!(
                "{} events before the requested window dropped",
                self.events_before_window
            ));
        }
        if self.events_in_future > 0 {
            parts.push(format!(
                "{} events dated in the future dropped",
                self.events_in_future
            ));
        }
        parts.join(", ")
    }
}

fn plausible(at: i64, now: i64) -> bool {
    (EARLIEST..=now.saturating_add(FUTURE_SKEW_MS)).contains(&at)
}

/// Drops the accounts' timestamps that cannot be true at `now`.
pub fn accounts(accounts: &mut [Account], now: i64) -> Discarded {
    let mut discarded = Discarded::default();
    for account in accounts {
        for at in [&mut account.created_at, &mut account.last_active_at] {
            if at.is_some_and(|t| !plausible(t, now)) {
                *at = None;
                discarded.account_timestamps += 1;
            }
        }
    }
    discarded
}

/// Keeps the events dated in [`since`, now + skew] (and after 2000).
pub fn events(events: &mut Vec<Activity>, since: i64, now: i64) -> Discarded {
    let mut discarded = Discarded::default();
    events.retain(|event| {
        if event.at < since.max(EARLIEST) {
            discarded.events_before_window += 1;
            false
        } else if !plausible(event.at, now) {
            discarded.events_in_future += 1;
            false
        } else {
            true
        }
    });
    discarded
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn event(at: i64) -> Activity {
        Activity {
            account_id: "a".into(),
            at,
            kind: "LOGIN".into(),
        }
    }

    #[test]
    fn events_outside_the_window_or_in_the_future_are_dropped_and_counted() {
        let since = NOW - 86_400_000;
        let mut list = vec![
            event(i64::MAX),
            event(i64::MIN),
            event(253_402_300_799_000),
            event(since - 1),
            event(since),
            event(NOW + FUTURE_SKEW_MS),
        ];
        let discarded = events(&mut list, since, NOW);
        assert_eq!(
            list.iter().map(|e| e.at).collect::<Vec<_>>(),
            vec![since, NOW + FUTURE_SKEW_MS]
        );
        assert_eq!(
            discarded,
            Discarded {
                account_timestamps: 0,
                events_before_window: 2,
                events_in_future: 2
            }
        );
        assert_eq!(
            discarded.describe(),
            "2 events before the requested window dropped, 2 events dated in the future dropped"
        );
    }
}
