//! Guest helper crate for Seatwarden connectors.
//!
//! Every connector needs the same plumbing: bindings for the
//! `seatwarden:connector` world, a small blocking HTTP client over
//! `wasi:http/outgoing-handler`, logging into the host, and a mapping from
//! HTTP statuses to the contract's `connector-error`. Keeping it here means a
//! connector crate holds only vendor logic, and a fix to the plumbing reaches
//! every connector on its next build.
//!
//! A connector implements [`Guest`] and exports it with
//! `seatwarden_sdk::export_connector!(MyConnector);`, which also exports the
//! optional interfaces empty. A connector with links for operators
//! implements [`About`], one that knows its vendor's rate limit and
//! subscription models implements [`Vendor`], one whose vendor takes a
//! credential scheme `descriptor.auth` cannot say (or several) implements
//! [`Auth`], and names what it implements, in that order:
//! `export_connector!(MyConnector, About, Vendor)`.

pub mod http;
pub mod json;
pub mod log;
pub mod time;

/// Bindings generated from `wit/connector.wit` (and the WASI packages it uses).
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "seatwarden:connector/connector-full",
        pub_export_macro: true,
        export_macro_name: "export_world",
        default_bindings_module: "seatwarden_sdk::bindings",
        generate_all,
    });
}

pub use bindings::exports::seatwarden::connector::about::Guest as About;
pub use bindings::exports::seatwarden::connector::auth::Guest as Auth;
pub use bindings::exports::seatwarden::connector::auth::{NamedScheme, PrefixedToken, Scheme};
pub use bindings::exports::seatwarden::connector::connector_api::Guest;
pub use bindings::exports::seatwarden::connector::vendor::Guest as Vendor;
pub use bindings::exports::seatwarden::connector::vendor::{RequestRate, SubscriptionModel};

/// Exports a connector. Name the optional interfaces `T` implements
/// ([`About`], [`Vendor`], [`Auth`], in that order); the others are exported
/// empty, which the host reads as "not declared":
/// `export_connector!(T)`, `export_connector!(T, About)`,
/// `export_connector!(T, About, Vendor)`, `export_connector!(T, About, Vendor, Auth)`
/// and the other combinations in that order.
#[macro_export]
macro_rules! export_connector {
    ($c:ident) => { $crate::export_connector!(@with $c [no_about no_vendor no_auth]); };
    ($c:ident, About) => { $crate::export_connector!(@with $c [no_vendor no_auth]); };
    ($c:ident, Vendor) => { $crate::export_connector!(@with $c [no_about no_auth]); };
    ($c:ident, Auth) => { $crate::export_connector!(@with $c [no_about no_vendor]); };
    ($c:ident, About, Vendor) => { $crate::export_connector!(@with $c [no_auth]); };
    ($c:ident, About, Auth) => { $crate::export_connector!(@with $c [no_vendor]); };
    ($c:ident, Vendor, Auth) => { $crate::export_connector!(@with $c [no_about]); };
    ($c:ident, About, Vendor, Auth) => { $crate::export_connector!(@with $c []); };
    (@with $c:ident [$($empty:ident)*]) => {
        $($crate::export_connector!(@$empty $c);)*
        $crate::bindings::export_world!($c);
    };
    (@no_about $c:ident) => {
        impl $crate::About for $c {
            fn links() -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> {
                ::std::vec::Vec::new()
            }
        }
    };
    (@no_vendor $c:ident) => {
        impl $crate::Vendor for $c {
            fn rate_limit() -> ::std::option::Option<$crate::RequestRate> {
                ::std::option::Option::None
            }
            fn subscription_models() -> ::std::vec::Vec<$crate::SubscriptionModel> {
                ::std::vec::Vec::new()
            }
        }
    };
    (@no_auth $c:ident) => {
        impl $crate::Auth for $c {
            fn schemes() -> ::std::vec::Vec<$crate::NamedScheme> {
                ::std::vec::Vec::new()
            }
        }
    };
}
pub use bindings::seatwarden::connector::types::{
    Account, AccountPage, Activity, ActivityPage, AuthScheme, Capabilities, ConnectorError,
    Descriptor, OptionSpec, Settings, Timestamp, Validated,
};

/// Looks up a connection option by name.
pub fn option<'a>(settings: &'a Settings, name: &str) -> Option<&'a str> {
    settings
        .options
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// For `validate`: an activity probe that says `unsupported` does not fail
/// the validation (the profile then relies on the accounts' last activity);
/// it is logged as a warning. Any other error fails it.
pub fn activity_optional<T>(probe: Result<T, ConnectorError>) -> Result<(), ConnectorError> {
    match probe {
        Ok(_) => Ok(()),
        Err(ConnectorError::Unsupported(message)) => {
            log::warn(&message);
            Ok(())
        }
        Err(err) => Err(err),
    }
}

/// For `validate`: the credentials' own account id, from a probe such as
/// `GET /users/me`. A vendor that will not say (the credentials belong to no
/// user, or lack the scope: 401, 403, 404, `unsupported`, an unreadable
/// answer) does not fail the validation: the answer is `None`, logged as a
/// warning, and the operator names the account in the rule instead. An
/// outage or rate limit fails it, as it would any other call.
pub fn credential_account(
    probe: Result<String, ConnectorError>,
) -> Result<Validated, ConnectorError> {
    let credential_account = match probe {
        Ok(id) => Some(id),
        Err(
            ConnectorError::Unauthorized(message)
            | ConnectorError::Forbidden(message)
            | ConnectorError::NotFound(message)
            | ConnectorError::Unsupported(message)
            | ConnectorError::InvalidResponse(message),
        ) => {
            log::warn(&format!(
                "the vendor does not say whose account the credentials are: {message}"
            ));
            None
        }
        Err(err) => return Err(err),
    };
    Ok(Validated { credential_account })
}
