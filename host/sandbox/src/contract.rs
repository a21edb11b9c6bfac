//! Host bindings for the `seatwarden:connector/connector` world.
//!
//! Generated from `wit/` at build time, so the contract third parties read
//! and the types the host uses cannot drift apart. The WASI packages map onto
//! wasmtime-wasi's and wasmtime-wasi-http's own bindings, so their resource
//! types are shared with the linker functions those crates add.
#![allow(missing_docs)] // generated code: the contract's docs are in wit/connector.wit

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "seatwarden:connector/connector",
    exports: { default: async },
    additional_derives: [PartialEq],
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use exports::seatwarden::connector::connector_api;
pub use seatwarden::connector::log;
pub use seatwarden::connector::types;

/// The contract version this host speaks; connectors must export
/// `seatwarden:connector/connector-api@0.2.x` (before 1.0, a minor version
/// is a breaking one and a patch version a compatible one). 0.2.0 added
/// `validated` (the credentials' account); 0.2.1 the optional `about`; 0.2.2
/// the optional `vendor`; 0.2.3 the optional `auth`.
pub const CONTRACT_VERSION: &str = "0.2.3";

/// The versions this host loads, as error messages name them.
pub const CONTRACT_COMPATIBLE: &str = "0.2.x";

/// The name of the interface every connector exports, without version.
pub const CONTRACT_INTERFACE: &str = "seatwarden:connector/connector-api";

/// The optional interface of 0.2.1 (links for operators), without version.
pub const ABOUT_INTERFACE: &str = "seatwarden:connector/about";

/// The optional interface of 0.2.2 (the vendor's rate limit and
/// subscription models), without version.
pub const VENDOR_INTERFACE: &str = "seatwarden:connector/vendor";

/// The optional interface of 0.2.3 (credential schemes beyond
/// `descriptor.auth`, and a choice among several), without version.
pub const AUTH_INTERFACE: &str = "seatwarden:connector/auth";

/// The records of the optional `auth` interface, written out like those of
/// `vendor` below.
pub mod auth {
    use super::types;
    use wasmtime::component::{ComponentType, Lift};

    /// `auth.prefixed-token`.
    #[derive(ComponentType, Lift, Clone, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct PrefixedToken {
        /// The header's name.
        pub header: String,
        /// The word before the secret.
        pub prefix: String,
    }

    /// `auth.scheme`.
    #[derive(ComponentType, Lift, Clone, Debug, PartialEq)]
    #[component(variant)]
    pub enum Scheme {
        /// A scheme of `types.auth-scheme`.
        #[component(name = "standard")]
        Standard(types::AuthScheme),
        /// A secret after a fixed word in a header.
        #[component(name = "prefixed-token")]
        PrefixedToken(PrefixedToken),
    }

    /// `auth.named-scheme`.
    #[derive(ComponentType, Lift, Clone, Debug, PartialEq)]
    #[component(record)]
    pub struct NamedScheme {
        /// The name an operator picks it by.
        pub name: String,
        /// What the host does for it.
        pub scheme: Scheme,
        /// When to pick it.
        pub description: String,
    }
}

/// The optional interface of 0.2.3 (an identity provider's applications),
/// without version.
pub const IDENTITY_PROVIDER_INTERFACE: &str = "seatwarden:connector/identity-provider";

/// The records of the optional `identity-provider` interface, written out
/// like those of `vendor` below.
pub mod identity_provider {
    use wasmtime::component::{ComponentType, Lift};

    /// `identity-provider.application`.
    #[derive(ComponentType, Lift, Clone, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct Application {
        /// Its id, as the app option takes it.
        pub id: String,
        /// Its administrators' name for it.
        pub label: String,
        /// Whether people can sign in to it.
        pub active: bool,
    }

    /// `identity-provider.application-page`.
    #[derive(ComponentType, Lift, Clone, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct ApplicationPage {
        /// The applications on this page.
        pub applications: Vec<Application>,
        /// The next page's cursor.
        #[component(name = "next-cursor")]
        pub next_cursor: Option<String>,
    }
}

/// The records of the optional `vendor` interface. The world the host is
/// generated from does not export it (a connector need not), so these are
/// written out to the contract's field names and looked up by name.
pub mod vendor {
    use wasmtime::component::{ComponentType, Lift};

    /// `vendor.request-rate`.
    #[derive(ComponentType, Lift, Clone, Copy, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct RequestRate {
        /// How many requests.
        pub requests: u32,
        /// In how many seconds.
        #[component(name = "per-seconds")]
        pub per_seconds: u32,
    }

    /// `vendor.subscription-model`.
    #[derive(ComponentType, Lift, Clone, Debug, PartialEq, Eq)]
    #[component(record)]
    pub struct SubscriptionModel {
        /// The identifier as the connector reports it.
        pub identifier: String,
        /// Who sells the product.
        pub publisher: String,
        /// The product.
        pub product: String,
        /// The edition, role or seat type.
        pub edition: String,
    }
}

/// The contract's records become the host's own types at the sandbox's
/// edge: nothing generated from WIT travels further than the runtime.
mod into_domain {
    use super::types;
    use seatwarden_domain::account;

    impl From<types::Account> for account::Account {
        fn from(a: types::Account) -> Self {
            account::Account {
                id: a.id,
                principal: a.principal,
                display_name: a.display_name,
                active: a.active,
                subscriptions: a.subscriptions,
                created_at: a.created_at,
                last_active_at: a.last_active_at,
                attributes: a.attributes,
            }
        }
    }

    impl From<types::AccountPage> for account::AccountPage {
        fn from(page: types::AccountPage) -> Self {
            account::AccountPage {
                accounts: page.accounts.into_iter().map(Into::into).collect(),
                next_cursor: page.next_cursor,
            }
        }
    }

    impl From<types::Activity> for account::Activity {
        fn from(a: types::Activity) -> Self {
            account::Activity {
                account_id: a.account_id,
                at: a.at,
                kind: a.kind,
            }
        }
    }

    impl From<types::ActivityPage> for account::ActivityPage {
        fn from(page: types::ActivityPage) -> Self {
            account::ActivityPage {
                events: page.events.into_iter().map(Into::into).collect(),
                next_cursor: page.next_cursor,
            }
        }
    }
}
