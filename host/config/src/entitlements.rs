//! The `[[entitlements]]` list: rights a tenant bought per software model,
//! with quantity, unit cost, currency and term, each checked with a clear
//! error (amounts are decimal strings so nothing passes through a float).

use super::ConfigError;
use super::reclamation::ErrorAt;
use seatwarden_domain::entitlements::{Draft, Entitlement};
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
    /// The tenant that bought it; always one defined under `[tenants]`.
    pub tenant: String,
    /// The checked entitlement; its name is unique within the tenant.
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
        let unit_cost = match raw.unit_cost {
            toml::Value::String(text) => text,
            other => {
                return Err(err(
                    &at("unit_cost"),
                    format!("{other} is not a quoted amount"),
                    "quote it, like unit_cost = \"12.50\", so it is read exactly (a bare number would pass through a float)",
                ));
            }
        };
        let entitlement = Draft {
            name: raw.name,
            publisher: raw.publisher,
            product: raw.product,
            edition: raw.edition,
            quantity: raw.quantity,
            unit_cost,
            currency: raw.currency,
            period: raw.period,
            start: raw.start,
            end: raw.end,
            renewal: raw.renewal,
        }
        .check()
        .map_err(|p| err(&at(p.field), p.problem, p.fix))?;
        if out
            .iter()
            .any(|e| e.tenant == raw.tenant && e.entitlement.name == entitlement.name)
        {
            return Err(err(
                &at("name"),
                format!(
                    "tenant {} has two entitlements named {:?}",
                    raw.tenant, entitlement.name
                ),
                "give each entitlement its own name (e.g. the contract or order number)",
            ));
        }
        out.push(TenantEntitlement {
            tenant: raw.tenant,
            entitlement,
        });
    }
    Ok(out)
}
