//! A software subscription as the host keeps it: the account a vendor
//! listed, what it holds, and when it was seen and last active. The rules
//! judge these; the store reads and writes them.

use serde::Serialize;

/// One stored software subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredSubscription {
    /// The vendor's stable id for the account.
    pub account_id: String,
    /// The e-mail or other principal name that identifies the person.
    pub principal: String,
    /// The person's name as the vendor shows it.
    pub display_name: Option<String>,
    /// Whether the account is active (holds a seat) at the vendor.
    pub active: bool,
    /// The licence or seat identifiers the account consumes (e.g. a role or seat type).
    pub identifiers: Vec<String>,
    /// Other facts the vendor reports (role, department, admin...) as name/value pairs.
    pub attributes: Vec<(String, String)>,
    /// When the vendor created the account, in epoch milliseconds, if it says.
    pub created_at: Option<i64>,
    /// The latest known activity, in epoch milliseconds; `None` if none was ever recorded.
    pub last_active_at: Option<i64>,
    /// Where `last_active_at` came from (e.g. `vendor:account` or `activity:<kind>`).
    pub last_active_source: Option<String>,
    /// When Seatwarden first listed the account, in epoch milliseconds.
    pub first_seen_at: i64,
    /// When the account was last seen in a vendor listing, in epoch milliseconds.
    pub last_seen_at: i64,
    /// When the account went missing from the vendor's listing, in epoch
    /// milliseconds; `None` while it is listed.
    pub gone_at: Option<i64>,
    /// When the account was last turned back on after being inactive (by
    /// `seatwarden reactivate`, or seen so at the vendor).
    pub reactivated_at: Option<i64>,
}

/// The account attribute an identity provider's connector sets on an
/// account the person holds through a group (contract: `account.attributes`).
pub const GRANTED_BY_GROUP: &str = "granted-by-group";

impl StoredSubscription {
    /// The group (or groups) an identity provider grants this account
    /// through, when it is not a direct assignment. Such an account is
    /// never removed through the connector: a group can grant several
    /// apps, so an administrator removes the person from the group.
    pub fn granted_by_group(&self) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(name, value)| name == GRANTED_BY_GROUP && !value.trim().is_empty())
            .map(|(_, value)| value.as_str())
    }
}
