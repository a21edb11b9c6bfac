//! Entitlements: the rights a tenant bought for a software model (how
//! many, at what unit cost, for which term). Reconciliation compares them
//! with the rights in use.
//!
//! Money is a decimal (`rust_decimal`), never a float, so sums over a
//! million subscriptions do not drift; amounts keep their currency and
//! figures of different currencies are never added together.

use crate::models::SoftwareModel;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;
use std::fmt;

/// An amount in one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Money {
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
    Month,
    Year,
}

impl Period {
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Year => "year",
        }
    }

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
    pub model: SoftwareModel,
    pub quantity: u32,
    /// The cost of one right per `period`.
    pub unit_cost: Money,
    pub period: Period,
    pub start: Date,
    pub end: Date,
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
