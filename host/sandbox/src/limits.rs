//! Every limit of the sandbox, per call and per sync run, declared in one place.
//!
//! A connector is untrusted code that runs on behalf of many tenants at once,
//! so each call gets a bounded amount of memory, CPU, wall-clock time, HTTP
//! traffic and log output. The defaults are safe for vendor APIs that page by
//! 100 accounts; operators change them in configuration, never in code.

use serde::Deserialize;
use std::time::Duration;

/// How often the engine's epoch advances: a running guest hands control
/// back to the CPU meter at least this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call into a connector.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Linear memory one instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// CPU time one call may cost: guest code and the host functions it
    /// calls, measured as thread CPU time (waiting on the vendor is not CPU
    /// and is bounded by `wall_clock`).
    #[serde(with = "humantime_serde")]
    pub cpu_budget: Duration,
    /// Wall-clock deadline for the whole call, including instantiation and
    /// time spent waiting on the vendor.
    #[serde(with = "humantime_serde")]
    pub wall_clock: Duration,
    /// Largest response body the host passes to the guest, in bytes.
    pub response_body_bytes: u64,
    /// Outbound requests one call may attempt; beyond it requests are denied.
    pub requests_per_call: u32,
    /// Time allowed to connect (TCP and TLS); a guest may ask for less.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Time allowed until the response head, and between body chunks.
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Log lines one call may write; the rest are counted and dropped.
    pub log_lines_per_call: u32,
    /// Longest log line kept, in bytes; longer lines are cut.
    pub log_line_bytes: usize,
    /// Guest stderr kept per call and attached to errors, in bytes.
    pub stderr_bytes: usize,
    /// Pages one sync run may fetch per stream (users, activity); a run
    /// that needs more is stopped as runaway, as one whose cursor repeats is.
    pub pages_per_run: u64,
    /// Wall-clock time one sync job (one stream of one profile) may take,
    /// retries and rate-limit waits included.
    #[serde(with = "humantime_serde")]
    pub run_time: Duration,
    /// Bytes of received pages a sync holds before it stores them (it also
    /// stores every ~1,000 accounts or events).
    pub batch_bytes: usize,
    /// The largest share of a profile's live accounts, in percent, one
    /// users run may mark gone; a run that would mark more is held until a
    /// later run misses the same accounts or the operator confirms it.
    pub max_gone_percent: u8,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 * 1024 * 1024,
            cpu_budget: Duration::from_secs(5),
            wall_clock: Duration::from_secs(60),
            response_body_bytes: 16 * 1024 * 1024,
            requests_per_call: 8,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            log_lines_per_call: 200,
            log_line_bytes: 2048,
            stderr_bytes: 16 * 1024,
            pages_per_run: 100_000,
            run_time: Duration::from_secs(6 * 3600),
            batch_bytes: 16 * 1024 * 1024,
            max_gone_percent: 10,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_human_durations_and_keeps_defaults() {
        let limits: Limits =
            toml::from_str("cpu_budget = \"250ms\"\nrequests_per_call = 3").unwrap();
        assert_eq!(limits.cpu_budget, Duration::from_millis(250));
        assert_eq!(limits.requests_per_call, 3);
        assert_eq!(limits.wall_clock, Limits::default().wall_clock);
    }

    #[test]
    fn rejects_unknown_keys() {
        let err = toml::from_str::<Limits>("cpu_budgte = \"1s\"").unwrap_err();
        assert!(
            err.to_string().contains("unknown field `cpu_budgte`"),
            "{err}"
        );
    }
}
