//! Software models: what a subscription identifier a connector reports
//! (a SmartRecruiters system role, a Smartsheet seat type, a SCIM
//! entitlement) is commercially: publisher, product, edition and licence
//! metric. Entitlements and reconciliation count rights per model, so an
//! identifier with no model cannot be priced and is reported as
//! unrecognized until an administrator maps it.
//!
//! The shipped connectors' identifiers have built-in models here; a
//! tenant's `[[models]]` (stored by `seatwarden apply`) add to them or
//! replace them. A mapping is looked up when a report runs, so mapping an
//! identifier re-prices all its subscriptions at once.

use serde::{Deserialize, Serialize};
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
    fn per_user(publisher: &str, product: &str, edition: &str) -> SoftwareModel {
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

/// An administrator's mapping of one identifier of one connector type.
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
    /// Shipped with Seatwarden for a shipped connector.
    BuiltIn,
    /// The tenant's `[[models]]`.
    Mapped,
}

/// The built-in model of a shipped connector's identifier.
///
/// SmartRecruiters reports the user's system role id; the built-in roles are
/// `EMPLOYEE`, `RESTRICTED`, `STANDARD`, `EXTENDED` and `ADMINISTRATOR`
/// (custom roles need a mapping). Smartsheet reports the User Subscription
/// Model seat type (`MEMBER`, `PROVISIONAL_MEMBER`, `GUEST`, `VIEWER`,
/// `CONTRIBUTOR`) or, on legacy plans, `LICENSED_SHEET_CREATOR` /
/// `FREE_COLLABORATOR`. SCIM identifiers differ per application: none are
/// built in. See `shared/vendors/vendor-apis.md` §1.2 and §2.8.
pub fn builtin(connector: &str, identifier: &str) -> Option<SoftwareModel> {
    let edition = match (connector, identifier) {
        ("smartrecruiters", "EMPLOYEE") => "Employee",
        ("smartrecruiters", "RESTRICTED") => "Restricted",
        ("smartrecruiters", "STANDARD") => "Standard",
        ("smartrecruiters", "EXTENDED") => "Extended",
        ("smartrecruiters", "ADMINISTRATOR") => "Administrator",
        ("smartsheet", "MEMBER") => "Member",
        ("smartsheet", "PROVISIONAL_MEMBER") => "Provisional Member",
        ("smartsheet", "GUEST") => "Guest",
        ("smartsheet", "VIEWER") => "Viewer",
        ("smartsheet", "CONTRIBUTOR") => "Contributor",
        ("smartsheet", "LICENSED_SHEET_CREATOR") => "Licensed User (legacy plan)",
        ("smartsheet", "FREE_COLLABORATOR") => "Free Collaborator (legacy plan)",
        _ => return None,
    };
    let (publisher, product) = match connector {
        "smartrecruiters" => ("SmartRecruiters", "SmartRecruiters"),
        _ => ("Smartsheet", "Smartsheet"),
    };
    Some(SoftwareModel::per_user(publisher, product, edition))
}

/// A tenant's models: its mappings over the built-ins.
pub struct Catalog {
    mappings: Vec<Mapping>,
}

impl Catalog {
    /// A catalog whose `mappings` take precedence over the built-in models.
    pub fn new(mappings: Vec<Mapping>) -> Catalog {
        Catalog { mappings }
    }

    /// The model of `identifier` as reported by a `connector` connector.
    pub fn model(&self, connector: &str, identifier: &str) -> Option<(SoftwareModel, Source)> {
        if let Some(mapping) = self
            .mappings
            .iter()
            .find(|m| m.connector == connector && m.identifier == identifier)
        {
            return Some((mapping.model.clone(), Source::Mapped));
        }
        builtin(connector, identifier).map(|model| (model, Source::BuiltIn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_identifiers_have_models_and_others_do_not() {
        let sr = builtin("smartrecruiters", "EMPLOYEE").unwrap();
        assert_eq!(sr.to_string(), "SmartRecruiters SmartRecruiters (Employee)");
        assert_eq!(
            builtin("smartsheet", "MEMBER").unwrap().to_string(),
            "Smartsheet Smartsheet (Member)"
        );
        assert_eq!(builtin("smartrecruiters", "CUSTOM_RECRUITER"), None);
        assert_eq!(builtin("scim", "premium"), None);
        // Identifiers are case-sensitive: they are the vendor's ids.
        assert_eq!(builtin("smartsheet", "member"), None);
    }

    #[test]
    fn a_mapping_comes_before_the_built_in_model() {
        let custom = SoftwareModel::per_user("Smartsheet", "Smartsheet", "Business Member");
        let catalog = Catalog::new(vec![Mapping {
            connector: "smartsheet".into(),
            identifier: "MEMBER".into(),
            model: custom.clone(),
        }]);
        assert_eq!(
            catalog.model("smartsheet", "MEMBER"),
            Some((custom, Source::Mapped))
        );
        assert_eq!(
            catalog.model("smartsheet", "GUEST").map(|(_, s)| s),
            Some(Source::BuiltIn)
        );
        assert_eq!(catalog.model("scim", "premium"), None);
    }
}
