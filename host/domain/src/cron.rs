//! When jobs are due: cron expressions in an explicit time zone, and the
//! scheduler's settings.
//!
//! Cron parsing and evaluation are croner's; this module pins down how
//! Seatwarden uses them: times are epoch milliseconds, every expression is
//! read in the configured zone (UTC unless the operator says otherwise, and
//! always printed with the zone), and the next run is the first occurrence
//! strictly after a given instant.

use std::str::FromStr;
use std::time::Duration;

/// How far ahead an expression must fire at least once: 29 February fires
/// every four years (eight across a skipped leap year such as 2100).
pub const HORIZON_DAYS: i64 = 8 * 366;

/// A parsed cron expression (5 fields: minute hour day month weekday).
#[derive(Clone, Debug)]
pub struct CronSchedule(croner::Cron);

impl CronSchedule {
    /// Parses `text`, refusing an expression that never fires (30 February)
    /// or not within [`HORIZON_DAYS`]: it would parse, then leave the
    /// scheduler with no next run for the job.
    pub fn parse(text: &str) -> Result<CronSchedule, String> {
        let cron = croner::Cron::from_str(text)
            .map_err(|e| format!("{text:?} is not a cron expression: {e}"))?;
        let now = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC);
        let fires = cron
            .find_next_occurrence(&now, false)
            .ok()
            .is_some_and(|next| {
                next.timestamp().as_second() - now.timestamp().as_second() <= HORIZON_DAYS * 86_400
            });
        if !fires {
            return Err(format!(
                "{text:?} never fires (no such date, or none within {} years); check the day and month fields",
                HORIZON_DAYS / 365
            ));
        }
        Ok(CronSchedule(cron))
    }

    /// The first occurrence strictly after `after_ms`, in `zone`.
    pub fn next_after(&self, after_ms: i64, zone: &jiff::tz::TimeZone) -> anyhow::Result<i64> {
        let after = jiff::Timestamp::from_millisecond(after_ms)?.to_zoned(zone.clone());
        let next = self.0.find_next_occurrence(&after, false).map_err(|e| {
            anyhow::anyhow!("no next run for {:?}: {e}", self.0.pattern.to_string())
        })?;
        Ok(next.timestamp().as_millisecond())
    }
}

/// How `seatwarden serve` schedules.
#[derive(Clone, Debug)]
pub struct SchedulerSettings {
    /// The zone cron expressions are read in.
    pub time_zone: jiff::tz::TimeZone,
    /// Jobs of different profiles running at once.
    pub max_concurrent_jobs: usize,
    /// How long a profile's lease lasts without renewal. A job renews it
    /// every third of this; a host that crashed blocks its profiles this
    /// long at most (a dead process on the same machine, not at all).
    pub lease: Duration,
    /// Default cron expression of the subscriptions job (daily).
    pub subscriptions_cron: String,
    /// Default cron expression of the activity job (daily).
    pub activity_cron: String,
    /// Cron expression of each tenant's reconciliation (weekly).
    pub reconcile_cron: String,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        SchedulerSettings {
            time_zone: jiff::tz::TimeZone::UTC,
            max_concurrent_jobs: 4,
            lease: Duration::from_secs(2 * 60),
            subscriptions_cron: "0 2 * * *".into(),
            activity_cron: "30 2 * * *".into(),
            reconcile_cron: "0 6 * * 1".into(),
        }
    }
}

impl SchedulerSettings {
    /// The zone's name, for people.
    pub fn zone_name(&self) -> String {
        self.time_zone.iana_name().unwrap_or("UTC").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn next_run_is_strictly_after_and_in_the_zone() {
        let daily = CronSchedule::parse("0 2 * * *").unwrap();
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(
            daily.next_after(ms("2026-11-23T01:59:00Z"), &utc).unwrap(),
            ms("2026-11-23T02:00:00Z")
        );
        assert_eq!(
            daily.next_after(ms("2026-11-23T02:00:00Z"), &utc).unwrap(),
            ms("2026-11-24T02:00:00Z")
        );
        let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
        // 02:00 in Berlin in winter is 01:00 UTC.
        assert_eq!(
            daily
                .next_after(ms("2026-11-23T00:00:00Z"), &berlin)
                .unwrap(),
            ms("2026-11-23T01:00:00Z")
        );
    }

    #[test]
    fn rejects_nonsense() {
        assert!(CronSchedule::parse("every day").is_err());
        assert!(CronSchedule::parse("61 * * * *").is_err());
        let never = CronSchedule::parse("0 6 30 2 *").unwrap_err();
        assert!(never.contains("never fires"), "{never}");
        assert!(
            CronSchedule::parse("0 0 29 2 *").is_ok(),
            "leap days do fire"
        );
    }
}
