//! Who may do what through the API: the scopes an API token carries.
//!
//! A tenant's token has one of three levels, each including the ones below
//! it: `read` sees the tenant's data, `operate` also decides candidates,
//! reclaims and runs jobs, `admin` also manages connections, profiles,
//! connectors and tokens. An `operator` token belongs to no tenant: it
//! manages tenants and their tokens and sees no tenant's data. Kept here,
//! pure, so the store, the services and the server agree on one order.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What an API token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read the tenant's data: profiles, subscriptions, candidates, jobs, reports, audit.
    Read,
    /// `read`, and decide candidates, reclaim, undo and run jobs.
    Operate,
    /// `operate`, and manage connections, profiles, connectors and tokens.
    Admin,
    /// The deployment's operator: tenants and their tokens, no tenant's data.
    Operator,
}

impl Scope {
    /// Every scope, lowest first.
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Operate, Scope::Admin, Scope::Operator];

    /// The scope's name as stored and as the API and command line take it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Operate => "operate",
            Scope::Admin => "admin",
            Scope::Operator => "operator",
        }
    }

    /// The scope named `text`, if any.
    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == text)
    }

    /// Whether a token of this scope may do what `needed` guards. A
    /// tenant's scopes nest (`admin` includes `operate` includes `read`);
    /// `operator` stands apart: it includes no tenant scope, and no tenant
    /// scope includes it.
    pub fn allows(self, needed: Scope) -> bool {
        match (self, needed) {
            (Scope::Operator, needed) => needed == Scope::Operator,
            (_, Scope::Operator) => false,
            (held, needed) => held.level() >= needed.level(),
        }
    }

    fn level(self) -> u8 {
        match self {
            Scope::Read => 0,
            Scope::Operate => 1,
            Scope::Admin => 2,
            Scope::Operator => 3,
        }
    }

    /// Whether tokens of this scope belong to a tenant.
    pub fn is_tenant_scope(self) -> bool {
        self != Scope::Operator
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn tenant_scopes_nest_and_the_operator_stands_apart() {
        assert!(Scope::Admin.allows(Scope::Read));
        assert!(Scope::Admin.allows(Scope::Operate));
        assert!(Scope::Operate.allows(Scope::Read));
        assert!(!Scope::Read.allows(Scope::Operate));
        assert!(!Scope::Operate.allows(Scope::Admin));
        assert!(!Scope::Admin.allows(Scope::Operator));
        assert!(!Scope::Operator.allows(Scope::Read));
        assert!(Scope::Operator.allows(Scope::Operator));
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("Admin"), None);
    }
}
