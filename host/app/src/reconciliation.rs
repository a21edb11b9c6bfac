//! Reconciliation: a tenant's licence position per software model and per
//! profile on one day. Rights owned come from the entitlements in force;
//! rights used are the active, non-excluded subscriptions whose
//! identifiers map to the model; open removal candidates are the potential
//! savings and reclaimed rights (candidates closed complete and not undone)
//! the actual savings, by month.
//!
//! Pricing. Every figure is a yearly amount in the entitlements' currency,
//! computed as a whole number of rights times one exact decimal unit price
//! (`rust_decimal`), so nothing drifts however many subscriptions there
//! are. A model's unit price is the yearly unit cost of its newest
//! entitlement in force (latest start; monthly costs times 12): the price a
//! true-up or a renewal would pay. A model with no entitlement in force has
//! no price, and its figures are left empty rather than guessed. Figures in
//! different currencies are totalled separately.
//!
//! A run is kept whole (as JSON) so trends survive later changes to
//! entitlements and mappings.

use crate::wiring::App;
use anyhow::{Context, Result, bail};
use futures_util::{StreamExt, TryStreamExt};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rust_decimal::Decimal;
use seatwarden_domain::entitlements::{Entitlement, Money};
use seatwarden_domain::rules::Exclusion;
use seatwarden_domain::software_models::{Catalog, SoftwareModel};
use seatwarden_store::{
    IdentifierGroup, LiveSubscription, NewReconciliationRun, ProfileId, ProfileRecord, Reclaimed,
    ReconciliationRun, Storage, TenantId, Trigger,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How a model's rights in use compare with the rights owned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compliance {
    /// Exactly as many rights in use as owned.
    Compliant,
    /// More owned than used: the difference is paid for and idle.
    OverLicensed,
    /// More used than owned: a true-up is due.
    UnderLicensed,
    /// In use with no entitlement in force: unpriced.
    NoEntitlement,
}

impl Compliance {
    /// The status's kebab-case name, as serialised and shown in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "compliant",
            Compliance::OverLicensed => "over-licensed",
            Compliance::UnderLicensed => "under-licensed",
            Compliance::NoEntitlement => "no-entitlement",
        }
    }
}

/// One software model's position across the tenant's profiles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPosition {
    /// The software model the figures are for.
    pub model: SoftwareModel,
    /// How the rights in use compare with the rights owned.
    pub status: Compliance,
    /// Rights in the entitlements in force on the day.
    pub owned: u64,
    /// Active subscriptions of the model not spared by an exclusion.
    pub used: u64,
    /// Active subscriptions spared by an exclusion: not counted as used.
    pub excluded: u64,
    /// Owned and not used.
    pub available: u64,
    /// Used beyond what is owned.
    pub shortfall: u64,
    /// Used subscriptions with an open removal candidate.
    pub open_candidates: u64,
    /// The yearly price of one right (see the module docs); `None` without
    /// an entitlement in force, and so are the amounts below.
    pub unit_price: Option<Money>,
    /// `shortfall` rights at the unit price: the cost to become compliant.
    pub true_up_cost: Option<Money>,
    /// `available` rights at the unit price: paid for, not used.
    pub over_licensed: Option<Money>,
    /// `open_candidates` rights at the unit price.
    pub potential_savings: Option<Money>,
    /// `used` rights at the unit price.
    pub annual_cost: Option<Money>,
}

/// One model's use in one profile.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileUsage {
    /// The profile's name.
    pub profile: String,
    /// The name of the connector the profile syncs with.
    pub connector: String,
    /// The software model counted.
    pub model: SoftwareModel,
    /// The profile's active subscriptions of the model not spared by an exclusion.
    pub used: u64,
    /// The profile's active subscriptions of the model spared by an exclusion.
    pub excluded: u64,
    /// Of `used`, the subscriptions with an open removal candidate.
    pub open_candidates: u64,
    /// `used` rights at the model's unit price; `None` without an entitlement in force.
    pub annual_cost: Option<Money>,
    /// `open_candidates` rights at the unit price; `None` without an entitlement in force.
    pub potential_savings: Option<Money>,
}

/// Rights of one model reclaimed in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlySavings {
    /// `YYYY-MM`, in the scheduler's time zone.
    pub month: String,
    /// The software model the reclaimed rights are of.
    pub model: SoftwareModel,
    /// Rights of the model deactivated in the month and not reactivated since.
    pub reclaimed: u64,
    /// The reclaimed rights at today's unit price: what they would cost a year.
    pub annual_savings: Option<Money>,
}

/// The tenant's figures in one currency.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// ISO 4217 code of every amount here, e.g. `EUR`.
    pub currency: String,
    /// The models' `annual_cost` in this currency, summed.
    pub annual_cost: Decimal,
    /// The models' `true_up_cost` in this currency, summed.
    pub true_up_cost: Decimal,
    /// The models' `over_licensed` amounts in this currency, summed.
    pub over_licensed: Decimal,
    /// The models' `potential_savings` in this currency, summed.
    pub potential_savings: Decimal,
    /// The `annual_savings` of every month's reclaimed rights in this currency, summed.
    pub actual_savings: Decimal,
}

/// A tenant's licence position on one day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The day the figures are for, in the scheduler's time zone.
    pub as_of: Date,
    /// Each model owned, in use or excluded on the day, sorted by model.
    pub models: Vec<ModelPosition>,
    /// Each model's use per profile, sorted by profile then model.
    pub profiles: Vec<ProfileUsage>,
    /// Rights reclaimed and not given back, per month and model, oldest month first.
    pub savings: Vec<MonthlySavings>,
    /// The priced figures summed, one entry per currency, sorted by currency.
    pub totals: Vec<Totals>,
    /// Active subscriptions with an identifier no model covers: left out of
    /// every figure until mapped (`seatwarden report unrecognized`).
    pub unrecognized_subscriptions: u64,
}

/// Counts of one model in one profile.
#[derive(Clone, Copy, Default)]
struct Tally {
    used: u64,
    excluded: u64,
    open_candidates: u64,
}

/// Software models met so far, numbered in order of appearance.
#[derive(Default)]
struct Models {
    list: Vec<SoftwareModel>,
    index: HashMap<SoftwareModel, usize>,
}

impl Models {
    fn intern(&mut self, model: SoftwareModel) -> usize {
        if let Some(&i) = self.index.get(&model) {
            return i;
        }
        self.list.push(model.clone());
        self.index.insert(model, self.list.len() - 1);
        self.list.len() - 1
    }
}

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

/// `n` rights at `price`, written with the price's decimal places (a
/// whole number of rights adds none, and 0 rights still reads `0.00`).
fn times(price: &Option<Money>, n: u64) -> Option<Money> {
    price.as_ref().map(|p| {
        let mut amount = p.amount * Decimal::from(n);
        amount.rescale(p.amount.scale());
        Money {
            amount,
            currency: p.currency.clone(),
        }
    })
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
    let prices = unit_prices(&models, &in_force)?;
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    let mut add = |money: &Option<Money>, pick: fn(&mut Totals) -> &mut Decimal| {
        if let Some(m) = money {
            let entry = totals.entry(m.currency.clone()).or_insert_with(|| Totals {
                currency: m.currency.clone(),
                ..Totals::default()
            });
            *pick(entry) += m.amount;
        }
    };

    let mut usage = Vec::new();
    let mut sums = vec![Tally::default(); models.list.len()];
    for (profile, row) in profiles.iter().zip(&tallies) {
        for (m, tally) in row.iter().enumerate() {
            if tally.used + tally.excluded == 0 {
                continue;
            }
            sums[m].used += tally.used;
            sums[m].excluded += tally.excluded;
            sums[m].open_candidates += tally.open_candidates;
            usage.push(ProfileUsage {
                profile: profile.name.clone(),
                connector: profile.connector.name.clone(),
                model: models.list[m].clone(),
                used: tally.used,
                excluded: tally.excluded,
                open_candidates: tally.open_candidates,
                annual_cost: times(&prices[m], tally.used),
                potential_savings: times(&prices[m], tally.open_candidates),
            });
        }
    }

    let mut positions = Vec::new();
    for (m, model) in models.list.iter().enumerate() {
        let owned: u64 = in_force
            .iter()
            .filter(|e| &e.model == model)
            .map(|e| u64::from(e.quantity))
            .sum();
        let Tally {
            used,
            excluded,
            open_candidates,
        } = sums[m];
        if owned + used + excluded == 0 {
            continue; // only reclaimed in the past: it shows under savings
        }
        let available = owned.saturating_sub(used);
        let shortfall = used.saturating_sub(owned);
        let status = if prices[m].is_none() {
            Compliance::NoEntitlement
        } else if shortfall > 0 {
            Compliance::UnderLicensed
        } else if available > 0 {
            Compliance::OverLicensed
        } else {
            Compliance::Compliant
        };
        let position = ModelPosition {
            model: model.clone(),
            status,
            owned,
            used,
            excluded,
            available,
            shortfall,
            open_candidates,
            unit_price: prices[m].clone(),
            true_up_cost: times(&prices[m], shortfall),
            over_licensed: times(&prices[m], available),
            potential_savings: times(&prices[m], open_candidates),
            annual_cost: times(&prices[m], used),
        };
        add(&position.annual_cost, |t| &mut t.annual_cost);
        add(&position.true_up_cost, |t| &mut t.true_up_cost);
        add(&position.over_licensed, |t| &mut t.over_licensed);
        add(&position.potential_savings, |t| &mut t.potential_savings);
        positions.push(position);
    }

    let mut savings = Vec::new();
    for ((month, m), count) in reclaimed {
        let annual_savings = times(&prices[m], count);
        add(&annual_savings, |t| &mut t.actual_savings);
        savings.push(MonthlySavings {
            month,
            model: models.list[m].clone(),
            reclaimed: count,
            annual_savings,
        });
    }

    positions.sort_by(|a, b| a.model.cmp(&b.model));
    usage.sort_by(|a, b| (&a.profile, &a.model).cmp(&(&b.profile, &b.model)));
    savings.sort_by(|a, b| (&a.month, &a.model).cmp(&(&b.month, &b.model)));
    Ok(Position {
        as_of,
        models: positions,
        profiles: usage,
        savings,
        totals: totals.into_values().collect(),
        unrecognized_subscriptions: unrecognized,
    })
}

/// Each model's yearly unit price: that of its newest entitlement in force.
/// Entitlements of one model in different currencies cannot be compared,
/// and are refused.
fn unit_prices(models: &Models, in_force: &[Entitlement]) -> Result<Vec<Option<Money>>> {
    models
        .list
        .iter()
        .map(|model| {
            let mut mine: Vec<&Entitlement> =
                in_force.iter().filter(|e| &e.model == model).collect();
            if let Some(other) = mine
                .iter()
                .find(|e| e.unit_cost.currency != mine[0].unit_cost.currency)
            {
                bail!(
                    "entitlements {:?} ({}) and {:?} ({}) price {model} in different currencies; \
                     reconciliation cannot add them up: enter both in one currency",
                    mine[0].name,
                    mine[0].unit_cost.currency,
                    other.name,
                    other.unit_cost.currency
                );
            }
            mine.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
            Ok(mine.last().map(|newest| Money {
                amount: newest.period.per_year(newest.unit_cost.amount),
                currency: newest.unit_cost.currency.clone(),
            }))
        })
        .collect()
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
