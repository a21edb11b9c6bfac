//! A software subscription as the host keeps it: the account a vendor
//! listed, what it holds, and when it was seen and last active. The rules
//! judge these; the store reads and writes them.

use serde::Serialize;

/// One stored software subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredSubscription {
    pub account_id: String,
    pub principal: String,
    pub display_name: Option<String>,
    pub active: bool,
    pub identifiers: Vec<String>,
    pub attributes: Vec<(String, String)>,
    pub created_at: Option<i64>,
    pub last_active_at: Option<i64>,
    pub last_active_source: Option<String>,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
    pub gone_at: Option<i64>,
    /// When the account was last turned back on after being inactive (by
    /// `seatwarden reactivate`, or seen so at the vendor).
    pub reactivated_at: Option<i64>,
}
