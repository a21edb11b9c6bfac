//! Seatwarden's services: what the command line, the scheduler and the
//! coming HTTP API all call, so that none of them holds business logic of
//! its own.
//!
//! [`wiring`] turns the configuration into an [`App`] (database, runtime,
//! rate limiters, notifier) and a stored profile into a loaded connector
//! plus a live connection. The services on top: [`sync`] (users, then
//! activity, page by page), [`profiles`] (apply, publish, validate),
//! [`reclamation`] (refresh, notice, reclaim, undo, manual deactivation),
//! [`reconciliation`] (gather, then the domain's arithmetic), [`notify`],
//! [`reports`], [`discovery`] (an identity provider's applications), and
//! the [`scheduler`] that runs them on their cron
//! schedules under a per-profile [`lease`].

pub mod answers;
pub mod clock;
pub mod connections;
pub mod console_sessions;
pub mod discovery;
pub mod lease;
pub mod manual;
pub mod notify;
pub mod on_demand;
pub mod output;
pub mod profiles;
pub mod reclamation;
pub mod reconciliation;
pub mod reports;
pub mod scheduler;
pub mod sealing;
pub mod serving;
pub mod sign_on;
pub mod sync;
pub mod tokens;
pub mod wiring;

pub use wiring::{App, ProfileContext};
