//! What an administrator sets on an integration profile: its connection,
//! whether it downloads activity and may reclaim, where the first activity
//! pull starts, and its schedules. The configuration produces these and the
//! store keeps them.

use serde::Serialize;

/// Where the first activity pull starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityFrom {
    /// A fixed day (UTC midnight).
    Date(jiff::civil::Date),
    /// This many days before the first pull.
    DaysBack(u32),
}

impl std::fmt::Display for ActivityFrom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ActivityFrom::Date(date) => write!(f, "{date}"),
            ActivityFrom::DaysBack(days) => write!(f, "{days} days back"),
        }
    }
}

/// What an administrator sets on a profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProfileSettings {
    pub connection: String,
    pub download_activity: bool,
    /// Cleared: report only (candidates are made, nothing is deactivated).
    pub reclaim: bool,
    pub activity_from: ActivityFrom,
    /// Cron expressions overriding the default schedules.
    pub subscriptions_cron: Option<String>,
    pub activity_cron: Option<String>,
}
