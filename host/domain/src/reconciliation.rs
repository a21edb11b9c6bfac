//! Reconciliation arithmetic: from the rights counted per profile and
//! model, the rights reclaimed per month and the entitlements in force, a
//! tenant's licence position on one day. The app gathers the counts from
//! the store; everything decided here is pure, so the figures are tested
//! without a database.
//!
//! Pricing. Every figure is a yearly amount in the entitlements' currency,
//! computed as a whole number of rights times one exact decimal unit price
//! (`rust_decimal`), so nothing drifts however many subscriptions there
//! are. A model's unit price is the yearly unit cost of its newest
//! entitlement in force (latest start; monthly costs times 12): the price a
//! true-up or a renewal would pay. A model with no entitlement in force has
//! no price, and its figures are left empty rather than guessed. Figures in
//! different currencies are totalled separately.

use crate::entitlements::{Entitlement, Money};
use crate::software_models::SoftwareModel;
use jiff::civil::Date;
use rust_decimal::Decimal;
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Active subscriptions not spared by an exclusion.
    pub used: u64,
    /// Active subscriptions spared by an exclusion.
    pub excluded: u64,
    /// Of `used`, those with an open removal candidate.
    pub open_candidates: u64,
}

/// Software models met so far, numbered in order of appearance: tallies
/// and prices are indexed by these numbers.
#[derive(Debug, Default)]
pub struct Models {
    list: Vec<SoftwareModel>,
    index: HashMap<SoftwareModel, usize>,
}

impl Models {
    /// The models, by number.
    pub fn list(&self) -> &[SoftwareModel] {
        &self.list
    }

    /// The number of `model`, given it if it is new.
    pub fn intern(&mut self, model: SoftwareModel) -> usize {
        if let Some(&i) = self.index.get(&model) {
            return i;
        }
        self.list.push(model.clone());
        self.index.insert(model, self.list.len() - 1);
        self.list.len() - 1
    }
}

/// `n` rights at `price`, written with the price's decimal places (a
/// whole number of rights adds none, and 0 rights still reads `0.00`).
pub fn times(price: &Option<Money>, n: u64) -> Option<Money> {
    price.as_ref().map(|p| {
        let mut amount = p.amount * Decimal::from(n);
        amount.rescale(p.amount.scale());
        Money {
            amount,
            currency: p.currency.clone(),
        }
    })
}

/// One profile's counts, by model number.
#[derive(Clone, Copy, Debug)]
pub struct ProfileTally<'a> {
    /// The profile's name.
    pub profile: &'a str,
    /// The name of the connector it syncs with.
    pub connector: &'a str,
    /// Its counts, indexed by model number (shorter when later models are absent).
    pub tallies: &'a [Tally],
}

/// One model priced by entitlements in two currencies: reconciliation
/// cannot add them up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MixedCurrencies {
    /// The model.
    pub model: SoftwareModel,
    /// One entitlement's name and currency.
    pub first: (String, String),
    /// Another's, in a different currency.
    pub second: (String, String),
}

impl std::fmt::Display for MixedCurrencies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entitlements {:?} ({}) and {:?} ({}) price {} in different currencies; \
             reconciliation cannot add them up: enter both in one currency",
            self.first.0, self.first.1, self.second.0, self.second.1, self.model
        )
    }
}

impl std::error::Error for MixedCurrencies {}

/// The position on `as_of`: every model owned, used or excluded, each
/// profile's use, the savings per month (`reclaimed`: rights per month and
/// model number), and the totals per currency. `in_force` are the
/// entitlements in force on the day, their models already numbered.
pub fn position(
    as_of: Date,
    models: &Models,
    profiles: &[ProfileTally<'_>],
    reclaimed: BTreeMap<(String, usize), u64>,
    in_force: &[Entitlement],
    unrecognized: u64,
) -> Result<Position, Box<MixedCurrencies>> {
    let prices = unit_prices(models, in_force)?;
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
    let mut sums = vec![Tally::default(); models.list().len()];
    for profile in profiles {
        for (m, tally) in profile.tallies.iter().enumerate() {
            if tally.used + tally.excluded == 0 {
                continue;
            }
            sums[m].used += tally.used;
            sums[m].excluded += tally.excluded;
            sums[m].open_candidates += tally.open_candidates;
            usage.push(ProfileUsage {
                profile: profile.profile.to_string(),
                connector: profile.connector.to_string(),
                model: models.list()[m].clone(),
                used: tally.used,
                excluded: tally.excluded,
                open_candidates: tally.open_candidates,
                annual_cost: times(&prices[m], tally.used),
                potential_savings: times(&prices[m], tally.open_candidates),
            });
        }
    }

    let mut positions = Vec::new();
    for (m, model) in models.list().iter().enumerate() {
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
            model: models.list()[m].clone(),
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
pub fn unit_prices(
    models: &Models,
    in_force: &[Entitlement],
) -> Result<Vec<Option<Money>>, Box<MixedCurrencies>> {
    models
        .list()
        .iter()
        .map(|model| {
            let mut mine: Vec<&Entitlement> =
                in_force.iter().filter(|e| &e.model == model).collect();
            if let Some(other) = mine
                .iter()
                .find(|e| e.unit_cost.currency != mine[0].unit_cost.currency)
            {
                return Err(Box::new(MixedCurrencies {
                    model: model.clone(),
                    first: (mine[0].name.clone(), mine[0].unit_cost.currency.clone()),
                    second: (other.name.clone(), other.unit_cost.currency.clone()),
                }));
            }
            mine.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
            Ok(mine.last().map(|newest| Money {
                amount: newest.period.per_year(newest.unit_cost.amount),
                currency: newest.unit_cost.currency.clone(),
            }))
        })
        .collect()
}
