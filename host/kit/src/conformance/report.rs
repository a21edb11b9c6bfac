//! What a conformance run found, for people (a table) and for CI (JSON).
//!
//! A connector passes when no check failed; warnings are mappings the host
//! can live with but an author should look at, skips say what was not run
//! and how to run it.

use serde::Serialize;
use std::fmt::Write as _;

/// How one check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The connector did what the check expects.
    Pass,
    /// The host can live with what it saw, but the author should look at it.
    Warn,
    /// The connector does not conform; the run fails.
    Fail,
    /// The check did not run; `detail` says how to run it.
    Skip,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        }
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked, in words; [`Report::check`] finds a check by it.
    pub name: String,
    /// How the check ended.
    pub outcome: Outcome,
    /// What was seen, or what to fix.
    pub detail: String,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `name@version`.
    pub connector: String,
    /// The component's sha256.
    pub digest: String,
    /// The base URL the connector was given.
    pub base_url: String,
    /// Requests the connector sent during the run (after the sandbox's checks).
    pub requests: usize,
    /// Of those, how many the host answered in the vendor's place (injected
    /// statuses and transport failures): they never reached the vendor.
    pub answered_by_host: usize,
    /// Every check, in the order they ran (skipped ones included).
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed.
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.outcome == Outcome::Fail)
    }

    /// How many checks ended as `outcome`.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    /// The check called `name`, if it ran.
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// A table a person reads in a terminal, with a verdict at the end.
    pub fn table(&self) -> String {
        let width = self
            .checks
            .iter()
            .map(|c| c.name.chars().count())
            .max()
            .unwrap_or(5);
        let mut out = format!(
            "conformance of {} (sha256 {}) against {}\n\n",
            self.connector, self.digest, self.base_url
        );
        let _ = writeln!(out, "result  {:width$}  detail", "check");
        for check in &self.checks {
            let _ = writeln!(
                out,
                "{:6}  {:width$}  {}",
                check.outcome.label(),
                check.name,
                check.detail
            );
        }
        let _ = writeln!(
            out,
            "\n{}: {} passed, {} warnings, {} failed, {} skipped; {} requests",
            if self.passed() { "PASSED" } else { "FAILED" },
            self.count(Outcome::Pass),
            self.count(Outcome::Warn),
            self.count(Outcome::Fail),
            self.count(Outcome::Skip),
            self.requests
        );
        out
    }
}
