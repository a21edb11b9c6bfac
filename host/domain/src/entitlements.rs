//! Entitlements: the rights a tenant bought for a software model (how
//! many, at what unit cost, for which term). Reconciliation compares them
//! with the rights in use.
//!
//! Money is a decimal (`rust_decimal`), never a float, so sums over a
//! million subscriptions do not drift; amounts keep their currency and
//! figures of different currencies are never added together.

use crate::software_models::{Metric, SoftwareModel};
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// The exact decimal amount.
    pub amount: Decimal,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// What a unit cost is per.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    /// Per month.
    Month,
    /// Per year.
    Year,
}

impl Period {
    /// The period's name as configuration writes it (`month` or `year`).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// Parses `month` or `year`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Period> {
        match text {
            "month" => Some(Period::Month),
            "year" => Some(Period::Year),
            _ => None,
        }
    }

    /// The yearly amount of a cost per this period.
    pub fn per_year(self, amount: Decimal) -> Decimal {
        match self {
            Period::Month => amount * Decimal::from(12),
            Period::Year => amount,
        }
    }
}

/// Rights bought for one software model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Entitlement {
    /// The operator's name for it, unique in the tenant (e.g. a contract number).
    pub name: String,
    /// The software model the rights are for.
    pub model: SoftwareModel,
    /// How many rights were bought.
    pub quantity: u32,
    /// The cost of one right per `period`.
    pub unit_cost: Money,
    /// What `unit_cost` is per.
    pub period: Period,
    /// The first day of the term (inclusive).
    pub start: Date,
    /// The last day of the term (inclusive).
    pub end: Date,
    /// The contract's renewal date, if known.
    pub renewal: Option<Date>,
}

impl Entitlement {
    /// One line for change reports and listings.
    pub fn summary(&self) -> String {
        format!(
            "{} x {} at {} per {}, {} to {}{}",
            self.quantity,
            self.model,
            self.unit_cost,
            self.period.as_str(),
            self.start,
            self.end,
            self.renewal
                .map_or(String::new(), |r| format!(", renewal {r}"))
        )
    }

    /// Whether the term covers `day`.
    pub fn in_force(&self, day: Date) -> bool {
        self.start <= day && day <= self.end
    }
}

/// An entitlement as an operator wrote it (configuration or command line),
/// before it is checked.
#[derive(Clone, Debug)]
pub struct Draft {
    /// The entitlement's name, unique in the tenant (e.g. a contract number).
    pub name: String,
    /// The software model's publisher.
    pub publisher: String,
    /// The software model's product.
    pub product: String,
    /// The software model's edition.
    pub edition: String,
    /// How many rights were bought.
    pub quantity: u32,
    /// The cost of one right per period, as a decimal string (e.g. `"12.50"`).
    pub unit_cost: String,
    /// The ISO 4217 currency code of `unit_cost` (e.g. `EUR`).
    pub currency: String,
    /// What `unit_cost` is per (`month` or `year`); `None` means per year.
    pub period: Option<String>,
    /// The first day of the term, as `YYYY-MM-DD`.
    pub start: String,
    /// The last day of the term, as `YYYY-MM-DD`.
    pub end: String,
    /// The renewal date, as `YYYY-MM-DD`, if any.
    pub renewal: Option<String>,
}

/// What is wrong with one field of a [`Draft`], and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldProblem {
    /// The field's configuration name (`unit_cost`, `start`, ...).
    pub field: &'static str,
    /// What is wrong with the value.
    pub problem: String,
    /// How to fix it.
    pub fix: &'static str,
}

impl Draft {
    /// Checks every field; the first problem names its field.
    pub fn check(self) -> Result<Entitlement, FieldProblem> {
        let problem = |field: &'static str, problem: String, fix: &'static str| FieldProblem {
            field,
            problem,
            fix,
        };
        for (field, value) in [
            ("name", &self.name),
            ("publisher", &self.publisher),
            ("product", &self.product),
            ("edition", &self.edition),
        ] {
            if value.trim().is_empty() {
                return Err(problem(
                    field,
                    "empty".into(),
                    "name the contract, and the model as `seatwarden report unrecognized` or `seatwarden connector inspect` writes it",
                ));
            }
        }
        let amount = parse_amount(&self.unit_cost)
            .map_err(|p| problem("unit_cost", p, "write it like \"12.50\""))?;
        check_currency(&self.currency)
            .map_err(|p| problem("currency", p, "use e.g. \"EUR\" or \"USD\""))?;
        let period = match self.period.as_deref() {
            None => Period::Year,
            Some(text) => Period::parse(text).ok_or_else(|| {
                problem(
                    "period",
                    format!("unknown period {text:?}"),
                    "use \"month\" or \"year\" (what unit_cost is per)",
                )
            })?,
        };
        let date = |field: &'static str, text: &str| {
            text.parse::<Date>().map_err(|e| {
                problem(
                    field,
                    format!("{text:?} is not a date: {e}"),
                    "write it as YYYY-MM-DD",
                )
            })
        };
        let start = date("start", &self.start)?;
        let end = date("end", &self.end)?;
        if end < start {
            return Err(problem(
                "end",
                format!("the term ends ({end}) before it starts ({start})"),
                "swap or fix the dates",
            ));
        }
        let renewal = self
            .renewal
            .as_deref()
            .map(|r| date("renewal", r))
            .transpose()?;
        Ok(Entitlement {
            name: self.name,
            model: SoftwareModel {
                publisher: self.publisher,
                product: self.product,
                edition: self.edition,
                metric: Metric::PerUser,
            },
            quantity: self.quantity,
            unit_cost: Money {
                amount,
                currency: self.currency,
            },
            period,
            start,
            end,
            renewal,
        })
    }
}

/// Reads an amount written as a decimal string (`"12.50"`): at most four
/// decimal places, not negative.
pub fn parse_amount(text: &str) -> Result<Decimal, String> {
    let amount: Decimal = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a decimal amount"))?;
    if amount.is_sign_negative() {
        return Err(format!("{text:?} is negative"));
    }
    if amount.scale() > 4 {
        return Err(format!("{text:?} has more than four decimal places"));
    }
    Ok(amount)
}

/// Checks an ISO 4217-shaped currency code (three capital letters).
pub fn check_currency(code: &str) -> Result<(), String> {
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(format!("{code:?} is not an ISO 4217 currency code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_decimals() {
        assert_eq!(parse_amount("12.50").unwrap().to_string(), "12.50");
        // 0.1 + 0.2 is 0.3 here, unlike in floating point.
        let sum = parse_amount("0.1").unwrap() + parse_amount("0.2").unwrap();
        assert_eq!(sum, parse_amount("0.3").unwrap());
        assert!(parse_amount("-1").is_err());
        assert!(parse_amount("1.23456").is_err());
        assert!(parse_amount("twelve").is_err());
        assert_eq!(
            Period::Month
                .per_year(parse_amount("10.05").unwrap())
                .to_string(),
            "120.60"
        );
    }

    #[test]
    fn currencies_are_three_capital_letters() {
        assert!(check_currency("EUR").is_ok());
        assert!(check_currency("eur").is_err());
        assert!(check_currency("EURO").is_err());
    }
}
