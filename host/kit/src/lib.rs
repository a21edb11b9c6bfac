//! The connector kit: what a third-party connector author runs. The
//! [`conformance`] suite drives a component through the same sandbox the
//! host uses, against a real vendor account, and reports what the contract
//! expects and what broke; [`new_connector`] writes a new connector's
//! project from the template. It reads the configuration format but never
//! touches the store, so authors need no database.

pub mod conformance;
pub mod new_connector;
