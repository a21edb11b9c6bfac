//! The `[[entitlements]]` list: rights a tenant bought per software model,
//! with quantity, unit cost, currency and term, each checked with a clear
//! error (amounts are decimal strings so nothing passes through a float).

use super::ConfigError;
use super::reclamation::ErrorAt;
use crate::entitlements::{Entitlement, Money, Period, check_currency, parse_amount};
use crate::models::{Metric, SoftwareModel};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntitlement {
    tenant: String,
    name: String,
    publisher: String,
    product: String,
    edition: String,
    quantity: u32,
    unit_cost: toml::Value,
    currency: String,
    period: Option<String>,
    start: String,
    end: String,
    renewal: Option<String>,
}

/// An entitlement and the tenant it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantEntitlement {
    pub tenant: String,
    pub entitlement: Entitlement,
}

pub(super) fn entitlements(
    raw: Vec<RawEntitlement>,
    tenant_known: &dyn Fn(&str) -> bool,
    err: ErrorAt,
) -> Result<Vec<TenantEntitlement>, ConfigError> {
    let mut out: Vec<TenantEntitlement> = Vec::new();
    for (index, raw) in raw.into_iter().enumerate() {
        let key = format!("entitlements[{index}]");
        let at = |field: &str| format!("{key}.{field}");
        if !tenant_known(&raw.tenant) {
            return Err(err(
                &at("tenant"),
                format!("unknown tenant {:?}", raw.tenant),
                "add it under [tenants] or fix the name",
            ));
        }
        for (field, value) in [
            ("name", &raw.name),
            ("publisher", &raw.publisher),
            ("product", &raw.product),
            ("edition", &raw.edition),
        ] {
            if value.trim().is_empty() {
                return Err(err(
                    &at(field),
                    "empty".into(),
                    "name the contract, and the model as `seatwarden report unrecognized` or the built-in models write it",
                ));
            }
        }
        let unit_cost = match &raw.unit_cost {
            toml::Value::String(text) => parse_amount(text)
                .map_err(|problem| err(&at("unit_cost"), problem, "write it like \"12.50\""))?,
            other => {
                return Err(err(
                    &at("unit_cost"),
                    format!("{other} is not a quoted amount"),
                    "quote it, like unit_cost = \"12.50\", so it is read exactly (a bare number would pass through a float)",
                ));
            }
        };
        check_currency(&raw.currency)
            .map_err(|problem| err(&at("currency"), problem, "use e.g. \"EUR\" or \"USD\""))?;
        let period = match raw.period.as_deref() {
            None => Period::Year,
            Some(text) => Period::parse(text).ok_or_else(|| {
                err(
                    &at("period"),
                    format!("unknown period {text:?}"),
                    "use \"month\" or \"year\" (what unit_cost is per)",
                )
            })?,
        };
        let date = |field: &str, text: &str| {
            text.parse::<jiff::civil::Date>().map_err(|e| {
                err(
                    &at(field),
                    format!("{text:?} is not a date: {e}"),
                    "write it as YYYY-MM-DD",
                )
            })
        };
        let start = date("start", &raw.start)?;
        let end = date("end", &raw.end)?;
        if end < start {
            return Err(err(
                &at("end"),
                format!("the term ends ({end}) before it starts ({start})"),
                "swap or fix the dates",
            ));
        }
        let renewal = raw
            .renewal
            .as_deref()
            .map(|r| date("renewal", r))
            .transpose()?;
        if out
            .iter()
            .any(|e| e.tenant == raw.tenant && e.entitlement.name == raw.name)
        {
            return Err(err(
                &at("name"),
                format!(
                    "tenant {} has two entitlements named {:?}",
                    raw.tenant, raw.name
                ),
                "give each entitlement its own name (e.g. the contract or order number)",
            ));
        }
        out.push(TenantEntitlement {
            tenant: raw.tenant,
            entitlement: Entitlement {
                name: raw.name,
                model: SoftwareModel {
                    publisher: raw.publisher,
                    product: raw.product,
                    edition: raw.edition,
                    metric: Metric::PerUser,
                },
                quantity: raw.quantity,
                unit_cost: Money {
                    amount: unit_cost,
                    currency: raw.currency,
                },
                period,
                start,
                end,
                renewal,
            },
        });
    }
    Ok(out)
}
