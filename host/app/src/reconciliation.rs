//! Reconciliation: a tenant's licence position per software model and per
//! profile on one day. Rights owned come from the entitlements in force;
//! rights used are the active, non-excluded subscriptions whose
//! identifiers map to the model; open removal candidates are the potential
//! savings and reclaimed rights (candidates closed complete and not undone)
//! the actual savings, by month.
//!
//! This module gathers those counts from the store (and the views that
//! need each account, like spend by attribute); the arithmetic and the
//! pricing rules are the domain's (`seatwarden_domain::reconciliation`).
//!
//! A run is kept whole (as JSON) so trends survive later changes to
//! entitlements and mappings.

use crate::wiring::App;
use anyhow::{Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use seatwarden_domain::entitlements::{Entitlement, Money};
pub use seatwarden_domain::reconciliation::{
    Compliance, ModelPosition, MonthlySavings, Position, ProfileUsage, Totals,
};
use seatwarden_domain::reconciliation::{
    Models, ProfileTally, Tally, position, times, unit_prices,
};
use seatwarden_domain::rules::Exclusion;
use seatwarden_domain::software_models::Catalog;
use seatwarden_store::{
    IdentifierGroup, LiveSubscription, NewReconciliationRun, ProfileId, ProfileRecord, Reclaimed,
    ReconciliationRun, Storage, TenantId, Trigger,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Identifier-to-model lookups, cached per connector type and identifier.
struct Lookup {
    catalog: Catalog,
    cache: HashMap<String, HashMap<String, Option<usize>>>,
}

impl Lookup {
    /// The tenant's mappings over its connectors' declared models, nothing cached yet.
    async fn of_tenant(storage: &Storage, tenant: TenantId) -> Result<Lookup> {
        Ok(Lookup {
            catalog: Catalog::new(
                storage.model_mappings(tenant).await?,
                storage.declared_models(tenant).await?,
            ),
            cache: HashMap::new(),
        })
    }

    /// Puts the models `identifiers` map to into `found`, each once;
    /// returns whether any identifier has no model.
    fn models_of(
        &mut self,
        connector: &str,
        identifiers: &[String],
        models: &mut Models,
        found: &mut Vec<usize>,
    ) -> bool {
        found.clear();
        let mut unmapped = false;
        for identifier in identifiers {
            match self.model_of(connector, identifier, models) {
                Some(m) if !found.contains(&m) => found.push(m),
                Some(_) => {}
                None => unmapped = true,
            }
        }
        unmapped
    }

    fn model_of(
        &mut self,
        connector: &str,
        identifier: &str,
        models: &mut Models,
    ) -> Option<usize> {
        if let Some(found) = self.cache.get(connector).and_then(|c| c.get(identifier)) {
            return *found;
        }
        let found = self
            .catalog
            .model(connector, identifier)
            .map(|(model, _)| models.intern(model));
        self.cache
            .entry(connector.to_string())
            .or_default()
            .insert(identifier.to_string(), found);
        found
    }
}

/// One live subscription as reconciliation sees it.
struct Seen<'a, 'r> {
    subscription: &'a LiveSubscription<'r>,
    /// The models its identifiers map to, each once.
    models: &'a [usize],
    /// Spared by an active exclusion: not a right in use.
    excluded: bool,
}

/// The tenant's exclusions that are switched on.
async fn active_exclusions(storage: &Storage, tenant: TenantId) -> Result<Vec<Exclusion>> {
    Ok(storage
        .exclusions(tenant)
        .await?
        .into_iter()
        .filter(Exclusion::is_active)
        .collect())
}

/// Streams every live subscription of every profile of the tenant that has
/// a model through `each`, with its models and whether an exclusion spares
/// it (for views that need each account, like spend by attribute).
async fn walk(
    storage: &Storage,
    tenant: TenantId,
    profiles: &[ProfileRecord],
    models: &mut Models,
    mut each: impl FnMut(Seen<'_, '_>),
) -> Result<()> {
    let mut lookup = Lookup::of_tenant(storage, tenant).await?;
    let exclusions = active_exclusions(storage, tenant).await?;
    let mut row_models: Vec<usize> = Vec::new();
    for profile in profiles {
        let connector = profile.connector.name.as_str();
        storage
            .scan_live_subscriptions(profile.id, |sub| {
                lookup.models_of(connector, &sub.identifiers, models, &mut row_models);
                if !row_models.is_empty() {
                    let excluded = exclusions
                        .iter()
                        .any(|e| e.matches(connector, sub.principal, &sub.identifiers));
                    each(Seen {
                        subscription: &sub,
                        models: &row_models,
                        excluded,
                    });
                }
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// The entitlements in force on `day`, their models interned.
async fn in_force(
    storage: &Storage,
    tenant: TenantId,
    day: Date,
    models: &mut Models,
) -> Result<Vec<Entitlement>> {
    let in_force: Vec<Entitlement> = storage
        .entitlements(tenant)
        .await?
        .into_iter()
        .filter(|e| e.in_force(day))
        .collect();
    for e in &in_force {
        models.intern(e.model.clone());
    }
    Ok(in_force)
}

/// How many profiles reconciliation reads at once (the pool has four
/// connections).
const CONCURRENT_READS: usize = 4;

/// What reconciliation reads of one profile.
struct ProfileReading {
    /// Live subscriptions spared by a user exclusion, by identifier group:
    /// (subscriptions, of which with an open candidate).
    spared: HashMap<String, (u64, u64)>,
    groups: Vec<IdentifierGroup>,
    reclaimed: Vec<Reclaimed>,
}

impl ProfileReading {
    async fn of(
        storage: &Storage,
        profile: ProfileId,
        excluded_principals: &[String],
    ) -> Result<ProfileReading> {
        Ok(ProfileReading {
            spared: storage
                .live_subscription_groups(profile, Some(excluded_principals))
                .await?
                .into_iter()
                .map(|g| (g.raw, (g.subscriptions, g.open_candidates)))
                .collect(),
            groups: storage.live_subscription_groups(profile, None).await?,
            reclaimed: storage.reclaimed(profile).await?,
        })
    }
}

/// Computes the tenant's position on `as_of` from what is stored now.
/// Months of reclamations are taken in `zone`.
pub async fn reconcile(
    storage: &Storage,
    tenant: TenantId,
    as_of: Date,
    zone: &TimeZone,
) -> Result<Position> {
    let profiles = storage.profiles(tenant).await?;
    let exclusions = active_exclusions(storage, tenant).await?;
    let excluded_principals: Vec<String> = exclusions
        .iter()
        .filter_map(|e| match e {
            Exclusion::User { principal, .. } => Some(principal.to_ascii_lowercase()),
            Exclusion::Identifier { .. } => None,
        })
        .collect();
    let mut lookup = Lookup::of_tenant(storage, tenant).await?;
    let mut models = Models::default();
    let mut group_models: Vec<usize> = Vec::new();
    let mut unrecognized = 0u64;
    // tallies[profile][model]
    let mut tallies: Vec<Vec<Tally>> = vec![Vec::new(); profiles.len()];
    // The profiles are read a few at a time: SQLite serves concurrent
    // readers, and a tenant may have hundreds of profiles.
    let ids: Vec<ProfileId> = profiles.iter().map(|p| p.id).collect();
    let principals = excluded_principals.as_slice();
    let readings: Vec<ProfileReading> = futures_util::stream::iter(ids)
        .map(|id| ProfileReading::of(storage, id, principals))
        .buffered(CONCURRENT_READS)
        .try_collect()
        .await?;
    for (index, (profile, reading)) in profiles.iter().zip(&readings).enumerate() {
        let connector = profile.connector.name.as_str();
        for group in &reading.groups {
            if lookup.models_of(
                connector,
                &group.identifiers,
                &mut models,
                &mut group_models,
            ) {
                unrecognized += group.subscriptions;
            }
            // Spared by an identifier exclusion: the whole group; by a user
            // exclusion: the accounts the second query found.
            let (excluded, excluded_open) = if exclusions.iter().any(|e| {
                matches!(e, Exclusion::Identifier { .. })
                    && e.matches(connector, "", &group.identifiers)
            }) {
                (group.subscriptions, group.open_candidates)
            } else {
                reading.spared.get(&group.raw).copied().unwrap_or((0, 0))
            };
            let row = &mut tallies[index];
            for &m in &group_models {
                if row.len() <= m {
                    row.resize(m + 1, Tally::default());
                }
                row[m].excluded += excluded;
                row[m].used += group.subscriptions - excluded;
                row[m].open_candidates += group.open_candidates - excluded_open;
            }
        }
    }
    // (month, model index) -> rights reclaimed
    let mut reclaimed: BTreeMap<(String, usize), u64> = BTreeMap::new();
    for (profile, reading) in profiles.iter().zip(&readings) {
        for right in &reading.reclaimed {
            let month = jiff::Timestamp::from_millisecond(right.deactivated_at)?
                .to_zoned(zone.clone())
                .strftime("%Y-%m")
                .to_string();
            lookup.models_of(
                &profile.connector.name,
                &right.identifiers,
                &mut models,
                &mut group_models,
            );
            for &m in &group_models {
                *reclaimed.entry((month.clone(), m)).or_default() += 1;
            }
        }
    }
    let in_force = in_force(storage, tenant, as_of, &mut models).await?;
    let counted: Vec<ProfileTally<'_>> = profiles
        .iter()
        .zip(&tallies)
        .map(|(profile, tallies)| ProfileTally {
            profile: &profile.name,
            connector: &profile.connector.name,
            tallies,
        })
        .collect();
    Ok(position(
        as_of,
        &models,
        &counted,
        reclaimed,
        &in_force,
        unrecognized,
    )?)
}

/// A kept reconciliation run with its position.
#[derive(Clone, Debug)]
pub struct Run {
    /// The run's id in storage.
    pub id: i64,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// When the run finished, in milliseconds since the Unix epoch.
    pub finished_at: i64,
    /// The position it computed, as kept (later changes to entitlements do not alter it).
    pub position: Position,
}

impl Run {
    /// Reads a stored run's position back.
    pub fn read(stored: &ReconciliationRun) -> Result<Run> {
        Ok(Run {
            id: stored.id,
            trigger: stored.trigger.clone(),
            finished_at: stored.finished_at,
            position: serde_json::from_str(&stored.position)
                .with_context(|| format!("reconciliation run {}", stored.id))?,
        })
    }
}

/// The calendar day `now` (epoch ms) falls on in `zone`: the day figures
/// are reconciled as of.
pub fn day(now: i64, zone: &TimeZone) -> Result<Date> {
    Ok(jiff::Timestamp::from_millisecond(now)?
        .to_zoned(zone.clone())
        .date())
}

/// Reconciles the tenant now (by the app's clock) and keeps the run. The
/// day and the months are taken in the scheduler's time zone.
pub async fn run(app: &App, tenant: TenantId, trigger: Trigger) -> Result<Run> {
    let (storage, zone) = (&app.storage, &app.config.scheduler.time_zone);
    let now = app.now();
    let as_of = day(now, zone)?;
    let position = reconcile(storage, tenant, as_of, zone).await?;
    let finished_at = app.now().max(now);
    let json = serde_json::to_string(&position)?;
    let id = storage
        .record_reconciliation(
            tenant,
            &NewReconciliationRun {
                trigger,
                started_at: now,
                finished_at,
                as_of: &as_of.to_string(),
                position: &json,
            },
        )
        .await?;
    Ok(Run {
        id,
        trigger: trigger.as_str().into(),
        finished_at,
        position,
    })
}

/// What the rights in use cost per year, for one value of an attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// The attribute's value; `None` for accounts without it.
    pub value: Option<String>,
    /// Active, non-excluded accounts with at least one modelled identifier.
    pub accounts: u64,
    /// Their rights' yearly cost, one amount per currency.
    pub annual_cost: Vec<Money>,
    /// Their rights of models with no entitlement in force (not in the cost).
    pub unpriced_rights: u64,
}

/// The yearly cost of the rights in use on `as_of`, grouped by the value
/// of the connector attribute `attribute` (its name matched without regard
/// to case), most expensive first.
pub async fn spend_by(
    storage: &Storage,
    tenant: TenantId,
    as_of: Date,
    attribute: &str,
) -> Result<Vec<Spend>> {
    let profiles = storage.profiles(tenant).await?;
    let mut models = Models::default();
    // value -> (accounts, rights by model)
    let mut groups: HashMap<Option<String>, (u64, Vec<u64>)> = HashMap::new();
    let mut failure: Option<anyhow::Error> = None;
    walk(storage, tenant, &profiles, &mut models, |seen| {
        if seen.excluded || failure.is_some() {
            return;
        }
        let attributes: Vec<(String, String)> =
            match serde_json::from_str(seen.subscription.attributes_json) {
                Ok(a) => a,
                Err(e) => {
                    failure = Some(anyhow::anyhow!(
                        "stored attributes of account {}: {e}",
                        seen.subscription.account_id
                    ));
                    return;
                }
            };
        let value = attributes
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(attribute))
            .map(|(_, value)| value);
        let (accounts, rights) = groups.entry(value).or_default();
        *accounts += 1;
        for &m in seen.models {
            if rights.len() <= m {
                rights.resize(m + 1, 0);
            }
            rights[m] += 1;
        }
    })
    .await?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let in_force = in_force(storage, tenant, as_of, &mut models).await?;
    let prices = unit_prices(&models, &in_force)?;
    let mut rows: Vec<Spend> = groups
        .into_iter()
        .map(|(value, (accounts, rights))| {
            let mut cost: BTreeMap<String, Decimal> = BTreeMap::new();
            let mut unpriced_rights = 0;
            for (m, &n) in rights.iter().enumerate().filter(|(_, n)| **n > 0) {
                match times(&prices[m], n) {
                    Some(money) => *cost.entry(money.currency).or_default() += money.amount,
                    None => unpriced_rights += n,
                }
            }
            Spend {
                value,
                accounts,
                annual_cost: cost
                    .into_iter()
                    .map(|(currency, amount)| Money { amount, currency })
                    .collect(),
                unpriced_rights,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        let total = |s: &Spend| s.annual_cost.iter().map(|m| m.amount).sum::<Decimal>();
        total(b)
            .cmp(&total(a))
            .then_with(|| b.accounts.cmp(&a.accounts))
            .then_with(|| a.value.cmp(&b.value))
    });
    Ok(rows)
}
