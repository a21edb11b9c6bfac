//! Software models: what a subscription identifier a connector reports
//! (a SmartRecruiters system role, a Smartsheet seat type, a SCIM
//! entitlement) is commercially: publisher, product, edition and licence
//! metric. Entitlements and reconciliation count rights per model, so an
//! identifier with no model cannot be priced and is reported as
//! unrecognized until an administrator maps it.
//!
//! A connector may declare the models of its vendor's identifiers (the
//! contract's `vendor` interface; the host stores them when it loads the
//! connector for a tenant's sync or validation), so the host itself knows
//! no vendor. A tenant's `[[models]]` (stored by `seatwarden apply`) add to
//! them or replace them. Models are looked up when a report runs, so mapping
//! an identifier re-prices all its subscriptions at once.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// How a model's rights are counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// One right per active, non-excluded subscription.
    PerUser,
}

impl Metric {
    /// The metric's name as configuration and storage write it (`per-user`).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::PerUser => "per-user",
        }
    }

    /// Parses a metric name (`per-user`); `None` for anything else.
    pub fn parse(text: &str) -> Option<Metric> {
        (text == "per-user").then_some(Metric::PerUser)
    }
}

/// A licensable product edition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SoftwareModel {
    /// The company that sells it (e.g. `Smartsheet`).
    pub publisher: String,
    /// The product's name.
    pub product: String,
    /// The edition, role or seat type within the product (e.g. `Member`).
    pub edition: String,
    /// How rights to it are counted.
    pub metric: Metric,
}

impl SoftwareModel {
    /// A model counted per user.
    pub fn per_user(publisher: &str, product: &str, edition: &str) -> SoftwareModel {
        SoftwareModel {
            publisher: publisher.into(),
            product: product.into(),
            edition: edition.into(),
            metric: Metric::PerUser,
        }
    }
}

impl fmt::Display for SoftwareModel {
    /// `Smartsheet Smartsheet (Member)`, or `Publisher Product (Edition)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.publisher, self.product, self.edition)
    }
}

/// One identifier of one connector type and its model: an administrator's
/// mapping, or a connector's declaration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mapping {
    /// The connector type that reports the identifier (e.g. `smartsheet`).
    pub connector: String,
    /// The subscription identifier as that connector reports it (case-sensitive).
    pub identifier: String,
    /// The software model it stands for.
    pub model: SoftwareModel,
}

/// Where a subscription's model came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Declared by the connector for its vendor's identifier.
    Declared,
    /// The tenant's `[[models]]`.
    Mapped,
}

/// A tenant's models: its mappings over what its connectors declared.
pub struct Catalog {
    /// connector -> identifier -> model and where it came from.
    models: HashMap<String, HashMap<String, (SoftwareModel, Source)>>,
}

impl Catalog {
    /// A catalog whose `mappings` take precedence over the `declared` models.
    pub fn new(mappings: Vec<Mapping>, declared: Vec<Mapping>) -> Catalog {
        let mut models: HashMap<String, HashMap<String, _>> = HashMap::new();
        for (list, source) in [(declared, Source::Declared), (mappings, Source::Mapped)] {
            for m in list {
                models
                    .entry(m.connector)
                    .or_default()
                    .insert(m.identifier, (m.model, source));
            }
        }
        Catalog { models }
    }

    /// The model of `identifier` as reported by a `connector` connector.
    pub fn model(&self, connector: &str, identifier: &str) -> Option<(SoftwareModel, Source)> {
        self.models.get(connector)?.get(identifier).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(connector: &str, identifier: &str, edition: &str) -> Mapping {
        Mapping {
            connector: connector.into(),
            identifier: identifier.into(),
            model: SoftwareModel::per_user("Smartsheet", "Smartsheet", edition),
        }
    }

    #[test]
    fn a_mapping_comes_before_the_declared_model() {
        let catalog = Catalog::new(
            vec![mapping("smartsheet", "MEMBER", "Business Member")],
            vec![
                mapping("smartsheet", "MEMBER", "Member"),
                mapping("smartsheet", "GUEST", "Guest"),
            ],
        );
        assert_eq!(
            catalog.model("smartsheet", "MEMBER"),
            Some((
                SoftwareModel::per_user("Smartsheet", "Smartsheet", "Business Member"),
                Source::Mapped
            ))
        );
        assert_eq!(
            catalog.model("smartsheet", "GUEST"),
            Some((
                SoftwareModel::per_user("Smartsheet", "Smartsheet", "Guest"),
                Source::Declared
            ))
        );
        assert_eq!(
            SoftwareModel::per_user("Smartsheet", "Smartsheet", "Guest").to_string(),
            "Smartsheet Smartsheet (Guest)"
        );
    }

    #[test]
    fn a_declaration_covers_its_own_connector_and_exact_identifier_only() {
        let catalog = Catalog::new(Vec::new(), vec![mapping("smartsheet", "MEMBER", "Member")]);
        assert!(catalog.model("smartsheet", "MEMBER").is_some());
        // Identifiers are case-sensitive: they are the vendor's ids.
        assert_eq!(catalog.model("smartsheet", "member"), None);
        // Another connector's identically named identifier is not covered.
        assert_eq!(catalog.model("scim", "MEMBER"), None);
    }
}
