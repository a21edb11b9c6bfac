//! Accounts and activity as the host works with them: what a connector's
//! `list-users` and `get-activity` pages hold once the sandbox has checked
//! and converted them. They mirror the contract's records field for field,
//! but are the host's own types, so the store, the rules and the services
//! do not change when a new contract version is generated.

/// A vendor account: one person's seat at the vendor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// The vendor's stable id for the account.
    pub id: String,
    /// The e-mail or other principal name that identifies the person
    /// across vendors.
    pub principal: String,
    /// The person's name as the vendor shows it.
    pub display_name: Option<String>,
    /// Whether the account is active (consumes a seat) at the vendor.
    pub active: bool,
    /// License or seat identifiers the account consumes (each maps to a
    /// software model).
    pub subscriptions: Vec<String>,
    /// When the account was created, in epoch milliseconds.
    pub created_at: Option<i64>,
    /// The last activity the vendor reports on the account itself (e.g.
    /// last login), in epoch milliseconds.
    pub last_active_at: Option<i64>,
    /// Other facts rules may look at: role, department, seat type, admin.
    pub attributes: Vec<(String, String)>,
}

/// One page of accounts and where the next one starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountPage {
    /// The accounts on this page, in the vendor's order.
    pub accounts: Vec<Account>,
    /// The cursor for the next page; `None` after the last page.
    pub next_cursor: Option<String>,
}

/// One activity event: an account did something at a time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    /// The `Account::id` of the account that acted.
    pub account_id: String,
    /// When it acted, in epoch milliseconds.
    pub at: i64,
    /// What it did, in the vendor's words.
    pub kind: String,
}

/// One page of activity events and where the next one starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActivityPage {
    /// The events on this page.
    pub events: Vec<Activity>,
    /// The cursor for the next page; `None` when the stream is drained.
    pub next_cursor: Option<String>,
}
