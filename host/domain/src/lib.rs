//! Seatwarden's domain: what a subscription is, how the rules judge one,
//! the states a removal candidate moves through, software models,
//! entitlements and money, cron schedules, profile settings and the clock.
//!
//! Everything here is pure: no async runtime, database, HTTP or
//! WebAssembly in its dependency tree (`cargo xtask test` checks that), so
//! it can be reasoned about and tested on its own, and the store, the
//! sandbox and the services all build on the same types.

pub mod access;
pub mod account;
pub mod activity_overlay;
pub mod candidate_state;
pub mod clock;
pub mod cron;
pub mod database;
pub mod entitlements;
pub mod plausible;
pub mod profile_settings;
pub mod reconciliation;
pub mod refresh;
pub mod rules;
pub mod software_models;
pub mod subscription;
pub mod text;
