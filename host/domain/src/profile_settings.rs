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
    /// The name of the tenant's connection the profile uses.
    pub connection: String,
    /// Whether the profile downloads activity events from the vendor.
    pub download_activity: bool,
    /// Cleared: report only (candidates are made, nothing is deactivated).
    pub reclaim: bool,
    /// Where the first activity pull starts.
    pub activity_from: ActivityFrom,
    /// Cron expression overriding the default subscriptions download schedule.
    pub subscriptions_cron: Option<String>,
    /// Cron expression overriding the default activity download schedule.
    pub activity_cron: Option<String>,
}
