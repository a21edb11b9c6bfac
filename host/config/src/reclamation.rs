//! The `rule` table of a profile and the `[[exclusions]]` list: reclamation
//! rules as code, validated with the same `file: key: problem. fix` errors
//! as the rest of the configuration.
//!
//! Kept apart from the rest of the file's parsing because these are the
//! settings that decide whose seat is taken away: each limit and each
//! required reason is checked here, in one place.

use super::ConfigError;
use seatwarden_domain::rules::{Exclusion, ReclamationRule};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Builds an error for `key`.
pub(super) type ErrorAt<'a> = &'a dyn Fn(&str, String, &str) -> ConfigError;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    threshold_days: Option<u32>,
    #[serde(default)]
    conditions: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    include_admins: bool,
    #[serde(default)]
    protected: Vec<String>,
    #[serde(default)]
    include_protected: Vec<String>,
    create_candidates: Option<bool>,
    notify_days: Option<u32>,
    breaker_percent: Option<u32>,
    breaker_max: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExclusion {
    tenant: String,
    principal: Option<String>,
    connector: Option<String>,
    identifier: Option<String>,
    reason: Option<String>,
    active: Option<bool>,
}

/// An exclusion and the tenant it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantExclusion {
    /// The tenant whose accounts it spares; always one defined under `[tenants]`.
    pub tenant: String,
    /// The person or identifier spared, the reason, and whether it is in force.
    pub exclusion: Exclusion,
}

/// Longest threshold accepted: ten years.
const MAX_THRESHOLD_DAYS: u32 = 3650;
/// Longest notice accepted.
const MAX_NOTIFY_DAYS: u32 = 90;

pub(super) fn rule(raw: RawRule, key: &str, err: ErrorAt) -> Result<ReclamationRule, ConfigError> {
    let defaults = ReclamationRule::default();
    let threshold_days = raw.threshold_days.unwrap_or(defaults.threshold_days);
    if !(1..=MAX_THRESHOLD_DAYS).contains(&threshold_days) {
        return Err(err(
            &format!("{key}.threshold_days"),
            format!("{threshold_days} is outside 1..={MAX_THRESHOLD_DAYS}"),
            "the default is 60 days without activity",
        ));
    }
    if let Some(days) = raw.notify_days
        && !(1..=MAX_NOTIFY_DAYS).contains(&days)
    {
        return Err(err(
            &format!("{key}.notify_days"),
            format!("{days} is outside 1..={MAX_NOTIFY_DAYS}"),
            "remove it to reclaim without notice, or give the user at least a day",
        ));
    }
    let breaker_percent = raw.breaker_percent.unwrap_or(defaults.breaker_percent);
    if !(1..=100).contains(&breaker_percent) {
        return Err(err(
            &format!("{key}.breaker_percent"),
            format!("{breaker_percent} is outside 1..=100"),
            "the share of a profile's active accounts one reclaim run may deactivate (default 10)",
        ));
    }
    if raw.breaker_max == Some(0) {
        return Err(err(
            &format!("{key}.breaker_max"),
            "0 would refuse every reclaim".into(),
            "remove it, or clear the profile's reclaim toggle for report only",
        ));
    }
    for (attribute, accepted) in &raw.conditions {
        if accepted.is_empty() || accepted.iter().any(|v| v.trim().is_empty()) {
            return Err(err(
                &format!("{key}.conditions.{attribute}"),
                "an empty value would match no account".into(),
                "list the accepted values, e.g. [\"EMPLOYEE\"]",
            ));
        }
    }
    for (field, list) in [
        ("protected", &raw.protected),
        ("include_protected", &raw.include_protected),
    ] {
        if list.iter().any(|p| p.trim().is_empty()) {
            return Err(err(
                &format!("{key}.{field}"),
                "an empty principal".into(),
                "write each account's principal (e-mail)",
            ));
        }
    }
    Ok(ReclamationRule {
        version: defaults.version,
        threshold_days,
        conditions: raw.conditions,
        include_admins: raw.include_admins,
        protected: raw.protected,
        include_protected: raw.include_protected,
        create_candidates: raw.create_candidates.unwrap_or(defaults.create_candidates),
        notify_days: raw.notify_days,
        breaker_percent,
        breaker_max: raw.breaker_max,
    })
}

pub(super) fn exclusion(
    raw: RawExclusion,
    index: usize,
    tenant_known: &dyn Fn(&str) -> bool,
    err: ErrorAt,
) -> Result<TenantExclusion, ConfigError> {
    let key = format!("exclusions[{index}]");
    if !tenant_known(&raw.tenant) {
        return Err(err(
            &format!("{key}.tenant"),
            format!("unknown tenant {:?}", raw.tenant),
            "add it under [tenants] or fix the name",
        ));
    }
    let reason = match raw.reason {
        Some(reason) if !reason.trim().is_empty() => reason,
        _ => {
            return Err(err(
                &format!("{key}.reason"),
                "an exclusion without a reason".into(),
                "say why (reports show it next to every account it spares)",
            ));
        }
    };
    let active = raw.active.unwrap_or(true);
    let exclusion = match (raw.principal, raw.connector, raw.identifier) {
        (Some(principal), None, None) if !principal.trim().is_empty() => Exclusion::User {
            principal,
            active,
            reason,
        },
        (None, Some(connector), Some(identifier))
            if !connector.trim().is_empty() && !identifier.trim().is_empty() =>
        {
            Exclusion::Identifier {
                connector,
                identifier,
                active,
                reason,
            }
        }
        _ => {
            return Err(err(
                &key,
                "an exclusion names either a principal, or a connector and an identifier".into(),
                "write principal = \"jane@example.com\", or connector = \"smartrecruiters\" with identifier = \"ADMINISTRATOR\"",
            ));
        }
    };
    Ok(TenantExclusion {
        tenant: raw.tenant,
        exclusion,
    })
}
