//! The rules engine's decision for one account: excluded, protected, out of
//! the rule's scope, in grace, active, or a removal candidate, and why.
//!
//! This is the part of reclamation that can hurt people if it is wrong, so
//! it is a pure function of its inputs (rule, exclusions, the stored
//! subscription, now) with no I/O: every verdict can be reproduced and
//! explained from what was recorded, and the edges (59/60/61 days, "never
//! logged in" against "stale") are tested without a vendor. The order of
//! the checks is the order of precedence: an exclusion wins over
//! everything, then protection, then the rule's conditions, then grace.

use crate::subscription::StoredSubscription;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// A profile's reclamation rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReclamationRule {
    /// Bumped on every change, and recorded with each candidate.
    pub version: i64,
    /// Days without activity after which an account is a candidate.
    pub threshold_days: u32,
    /// Attribute conditions, all of which must hold for an account to be in
    /// the rule's scope: attribute name -> accepted values.
    pub conditions: BTreeMap<String, Vec<String>>,
    /// Vendor administrators are protected unless this is set.
    pub include_admins: bool,
    /// Principals never reclaimed by this rule (e.g. the integration's own
    /// account, service accounts), unless `include_protected` names them.
    pub protected: Vec<String>,
    /// Protected principals this rule may reclaim after all.
    pub include_protected: Vec<String>,
    /// Cleared: measure only, no candidates are created.
    pub create_candidates: bool,
    /// Tell the user this many days before reclaiming; `None`: no notice.
    pub notify_days: Option<u32>,
    /// Circuit breaker: a reclaim run refuses to deactivate more than this
    /// share (percent) of the profile's active accounts...
    #[serde(default = "default_breaker_percent")]
    pub breaker_percent: u32,
    /// ...or more than this many, when set.
    #[serde(default)]
    pub breaker_max: Option<u32>,
}

fn default_breaker_percent() -> u32 {
    10
}

impl Default for ReclamationRule {
    fn default() -> Self {
        ReclamationRule {
            version: 1,
            threshold_days: 60,
            conditions: BTreeMap::new(),
            include_admins: false,
            protected: Vec::new(),
            include_protected: Vec::new(),
            create_candidates: true,
            notify_days: None,
            breaker_percent: default_breaker_percent(),
            breaker_max: None,
        }
    }
}

/// A user exclusion (across the tenant's profiles) or a subscription
/// identifier exclusion (per connector type).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Exclusion {
    /// Spares one person, by principal, in all of the tenant's profiles.
    User {
        /// The person's principal (matched case-insensitively).
        principal: String,
        /// Whether the exclusion is in force.
        active: bool,
        /// Why the person is excluded, shown in reports.
        reason: String,
    },
    /// Spares accounts holding one subscription identifier, in profiles of
    /// one connector type.
    Identifier {
        /// The connector type it applies to (e.g. `smartsheet`).
        connector: String,
        /// The subscription identifier as the connector reports it.
        identifier: String,
        /// Whether the exclusion is in force.
        active: bool,
        /// Why the identifier is excluded, shown in reports.
        reason: String,
    },
}

impl Exclusion {
    /// Whether it spares accounts (switched-off ones are kept on record).
    pub fn is_active(&self) -> bool {
        match self {
            Exclusion::User { active, .. } | Exclusion::Identifier { active, .. } => *active,
        }
    }

    /// Whether it spares an account of a `connector` profile with this
    /// principal and these subscription identifiers.
    pub fn matches(&self, connector: &str, principal: &str, identifiers: &[String]) -> bool {
        match self {
            Exclusion::User { principal: p, .. } => p.eq_ignore_ascii_case(principal),
            Exclusion::Identifier {
                connector: c,
                identifier,
                ..
            } => c == connector && identifiers.iter().any(|i| i == identifier),
        }
    }

    /// How reports name it.
    pub fn describe(&self) -> String {
        match self {
            Exclusion::User {
                principal, reason, ..
            } => format!("user exclusion {principal} ({reason})"),
            Exclusion::Identifier {
                connector,
                identifier,
                reason,
                ..
            } => format!("identifier exclusion {connector}/{identifier} ({reason})"),
        }
    }
}

/// Why an account is a candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Staleness {
    /// Seen active before, not for `days_inactive` days.
    Stale {
        /// Whole days since the last activity.
        days_inactive: i64,
        /// When the account was last active, in epoch milliseconds.
        last_active_at: i64,
        /// The event or field that set the last activity.
        source: Option<String>,
    },
    /// No activity ever recorded; the account is `days_since_created` old
    /// (or known to Seatwarden that long, when the vendor gives no date).
    NeverLoggedIn {
        /// Whole days since the account was created (or first seen, when the
        /// vendor gives no date).
        days_since_created: i64,
    },
}

/// The decision for one account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    /// Already deactivated at the vendor, or gone.
    NotActive,
    /// An active exclusion spares the account.
    Excluded {
        /// The exclusion that matched, as reports name it.
        by: String,
    },
    /// Protected from reclamation: the profile's own credential account, a
    /// listed principal, a vendor service account or a vendor administrator.
    Protected {
        /// Why it is protected, in words for reports.
        why: String,
    },
    /// A rule condition does not hold.
    OutOfScope {
        /// Which condition fails: the account's value and what the rule accepts.
        condition: String,
    },
    /// Created or re-activated within the threshold.
    Grace {
        /// Whole days since the account was created or re-activated.
        days_old: i64,
    },
    /// Used within the rule's threshold: not a candidate.
    Active {
        /// Whole days since the last activity.
        days_inactive: i64,
    },
    /// A removal candidate, and why.
    Candidate(Staleness),
}

/// Whole days from `from` to `now` (negative clock skew counts as 0).
pub fn days_between(from: i64, now: i64) -> i64 {
    (now - from).max(0) / DAY_MS
}

fn attribute<'a>(account: &'a StoredSubscription, name: &str) -> Option<&'a str> {
    account
        .attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Decides one account of a profile whose connector is `connector` and
/// whose credentials act as the vendor account `credential_account`.
pub fn evaluate(
    rule: &ReclamationRule,
    exclusions: &[Exclusion],
    connector: &str,
    credential_account: Option<&str>,
    account: &StoredSubscription,
    now: i64,
) -> Verdict {
    if !account.active || account.gone_at.is_some() {
        return Verdict::NotActive;
    }
    if let Some(exclusion) = exclusions
        .iter()
        .find(|e| e.is_active() && e.matches(connector, &account.principal, &account.identifiers))
    {
        return Verdict::Excluded {
            by: exclusion.describe(),
        };
    }
    let named = |list: &[String]| {
        list.iter()
            .any(|p| p.eq_ignore_ascii_case(&account.principal))
    };
    if !named(&rule.include_protected) {
        if credential_account == Some(account.account_id.as_str()) {
            return Verdict::Protected {
                why: "the profile's credentials act as this account (reclaiming it would cut off \
                      the integration)"
                    .into(),
            };
        }
        if named(&rule.protected) {
            return Verdict::Protected {
                why: "listed as protected (service or integration account)".into(),
            };
        }
        if attribute(account, "service-account") == Some("true") {
            return Verdict::Protected {
                why: "the vendor marks it as a service account".into(),
            };
        }
        if !rule.include_admins && attribute(account, "admin") == Some("true") {
            return Verdict::Protected {
                why: "vendor administrator (set include_admins to reclaim admins)".into(),
            };
        }
    }
    for (name, accepted) in &rule.conditions {
        let value = attribute(account, name);
        let holds = match value {
            Some(value) => accepted.iter().any(|a| a == value),
            None => false,
        };
        if !holds {
            return Verdict::OutOfScope {
                condition: format!(
                    "{name} is {} (the rule takes {})",
                    value.map_or("not set".to_string(), |v| format!("{v:?}")),
                    accepted.join(", ")
                ),
            };
        }
    }
    let threshold = i64::from(rule.threshold_days);
    // How long the account has existed: the vendor's creation date; without
    // one, the earliest evidence (first sighting or last activity: an
    // account active 80 days ago is at least 80 days old, even if
    // Seatwarden met it today).
    let born = account.created_at.unwrap_or_else(|| {
        account
            .last_active_at
            .map_or(account.first_seen_at, |last| {
                last.min(account.first_seen_at)
            })
    });
    // A re-activated account starts its grace again.
    let born = account.reactivated_at.map_or(born, |again| again.max(born));
    let days_old = days_between(born, now);
    match account.last_active_at {
        Some(last) => {
            let days_inactive = days_between(last, now);
            if days_inactive < threshold {
                Verdict::Active { days_inactive }
            } else if days_old < threshold {
                // Re-created or re-activated lately: activity before that
                // does not count against it.
                Verdict::Grace { days_old }
            } else {
                Verdict::Candidate(Staleness::Stale {
                    days_inactive,
                    last_active_at: last,
                    source: account.last_active_source.clone(),
                })
            }
        }
        None if days_old < threshold => Verdict::Grace { days_old },
        None => Verdict::Candidate(Staleness::NeverLoggedIn {
            days_since_created: days_old,
        }),
    }
}
