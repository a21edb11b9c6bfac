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
//! [`Auth`], an identity provider's lists its applications with
//! [`IdentityProvider`]; it names what it implements:
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
pub use bindings::exports::seatwarden::connector::identity_provider::Guest as IdentityProvider;
pub use bindings::exports::seatwarden::connector::identity_provider::{
    Application, ApplicationPage,
};
pub use bindings::exports::seatwarden::connector::vendor::Guest as Vendor;
pub use bindings::exports::seatwarden::connector::vendor::{RequestRate, SubscriptionModel};

/// Exports a connector. Name the optional interfaces `T` implements
/// ([`About`], [`Vendor`], [`Auth`], [`IdentityProvider`], in any order);
/// the others are exported empty, which the host reads as "not declared":
/// `export_connector!(T)`, `export_connector!(T, About, Vendor)`,
/// `export_connector!(T, About, Vendor, Auth, IdentityProvider)`.
#[macro_export]
macro_rules! export_connector {
    ($c:ident $(, $optional:ident)* $(,)?) => {
        $crate::export_connector!(@about $c [$($optional)*]);
        $crate::export_connector!(@vendor $c [$($optional)*]);
        $crate::export_connector!(@auth $c [$($optional)*]);
        $crate::export_connector!(@idp $c [$($optional)*]);
        $crate::bindings::export_world!($c);
    };
    (@about $c:ident [About $($rest:ident)*]) => {};
    (@about $c:ident [$other:ident $($rest:ident)*]) => {
        $crate::export_connector!(@about $c [$($rest)*]);
    };
    (@about $c:ident []) => {
        impl $crate::About for $c {
            fn links() -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> {
                ::std::vec::Vec::new()
            }
        }
    };
    (@vendor $c:ident [Vendor $($rest:ident)*]) => {};
    (@vendor $c:ident [$other:ident $($rest:ident)*]) => {
        $crate::export_connector!(@vendor $c [$($rest)*]);
    };
    (@vendor $c:ident []) => {
        impl $crate::Vendor for $c {
            fn rate_limit() -> ::std::option::Option<$crate::RequestRate> {
                ::std::option::Option::None
            }
            fn subscription_models() -> ::std::vec::Vec<$crate::SubscriptionModel> {
                ::std::vec::Vec::new()
            }
        }
    };
    (@auth $c:ident [Auth $($rest:ident)*]) => {};
    (@auth $c:ident [$other:ident $($rest:ident)*]) => {
        $crate::export_connector!(@auth $c [$($rest)*]);
    };
    (@auth $c:ident []) => {
        impl $crate::Auth for $c {
            fn schemes() -> ::std::vec::Vec<$crate::NamedScheme> {
                ::std::vec::Vec::new()
            }
        }
    };
    (@idp $c:ident [IdentityProvider $($rest:ident)*]) => {};
    (@idp $c:ident [$other:ident $($rest:ident)*]) => {
        $crate::export_connector!(@idp $c [$($rest)*]);
    };
    (@idp $c:ident []) => {
        impl $crate::IdentityProvider for $c {
            fn app_option() -> ::std::string::String {
                ::std::string::String::new()
            }
            fn list_applications(
                _settings: $crate::Settings,
                _cursor: ::std::option::Option<::std::string::String>,
            ) -> ::std::result::Result<$crate::ApplicationPage, $crate::ConnectorError> {
                ::std::result::Result::Err($crate::ConnectorError::Unsupported(
                    "this connector does not list an identity provider's applications".into(),
                ))
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
