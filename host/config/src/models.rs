//! The `[[models]]` list: a tenant's mappings from a connector type's
//! subscription identifier to a software model, for identifiers whose
//! connector declares no model (a custom SmartRecruiters role, any SCIM
//! entitlement) or to replace a declared one.

use super::ConfigError;
use super::reclamation::ErrorAt;
use seatwarden_domain::software_models::{Mapping, Metric, SoftwareModel};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawModel {
    tenant: String,
    connector: String,
    identifier: String,
    publisher: String,
    product: String,
    edition: String,
    metric: Option<String>,
}

/// A mapping and the tenant it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantMapping {
    /// The tenant whose accounts it applies to; always one defined under `[tenants]`.
    pub tenant: String,
    /// The mapping; no other entry of the tenant maps the same connector and identifier.
    pub mapping: Mapping,
}

/// Checks every entry, and that no identifier is mapped twice in a tenant.
pub(super) fn mappings(
    raw: Vec<RawModel>,
    tenant_known: &dyn Fn(&str) -> bool,
    err: ErrorAt,
) -> Result<Vec<TenantMapping>, ConfigError> {
    let mut out: Vec<TenantMapping> = Vec::new();
    for (index, raw) in raw.into_iter().enumerate() {
        let key = format!("models[{index}]");
        if !tenant_known(&raw.tenant) {
            return Err(err(
                &format!("{key}.tenant"),
                format!("unknown tenant {:?}", raw.tenant),
                "add it under [tenants] or fix the name",
            ));
        }
        for (field, value) in [
            ("connector", &raw.connector),
            ("identifier", &raw.identifier),
            ("publisher", &raw.publisher),
            ("product", &raw.product),
            ("edition", &raw.edition),
        ] {
            if value.trim().is_empty() {
                return Err(err(
                    &format!("{key}.{field}"),
                    "empty".into(),
                    "write it as the vendor or your contract does (see `seatwarden report unrecognized` for identifiers)",
                ));
            }
        }
        let metric = match raw.metric.as_deref() {
            None => Metric::PerUser,
            Some(text) => Metric::parse(text).ok_or_else(|| {
                err(
                    &format!("{key}.metric"),
                    format!("unknown licence metric {text:?}"),
                    "use \"per-user\" (the only metric so far)",
                )
            })?,
        };
        if let Some(earlier) = out.iter().position(|m| {
            m.tenant == raw.tenant
                && m.mapping.connector == raw.connector
                && m.mapping.identifier == raw.identifier
        }) {
            return Err(err(
                &key,
                format!(
                    "{}/{} of tenant {} is already mapped by models[{earlier}]",
                    raw.connector, raw.identifier, raw.tenant
                ),
                "keep one mapping per identifier",
            ));
        }
        out.push(TenantMapping {
            tenant: raw.tenant,
            mapping: Mapping {
                connector: raw.connector,
                identifier: raw.identifier,
                model: SoftwareModel {
                    publisher: raw.publisher,
                    product: raw.product,
                    edition: raw.edition,
                    metric,
                },
            },
        });
    }
    Ok(out)
}
