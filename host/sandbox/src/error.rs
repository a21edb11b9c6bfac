//! Typed errors for loading and calling connectors.
//!
//! Callers branch on these: the scheduler retries [`CallErrorKind::Vendor`]
//! rate limits and outages, and records sandbox violations against the
//! connector. Every message names the connector and the call, and says what
//! to do where there is something to do.

use crate::contract::types;
use crate::egress::Denial;
use crate::guest_output::OutputViolation;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Why a connector says a call failed, as far as the vendor is concerned:
/// the contract's `connector-error`, as the host keeps it once the sandbox
/// has clipped and redacted its message (see `wit/connector.wit` for what
/// each case means).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnectorError {
    /// The vendor rejected the credentials (HTTP 401).
    Unauthorized(String),
    /// The credentials lack a right or a licence the call needs (HTTP 403).
    Forbidden(String),
    /// The account or resource does not exist (HTTP 404).
    NotFound(String),
    /// The vendor asks to slow down, with how long to wait in milliseconds
    /// when it says.
    RateLimited(Option<u32>),
    /// The vendor failed or could not be reached; worth retrying.
    Unavailable(String),
    /// The vendor answered something the connector cannot read.
    InvalidResponse(String),
    /// The vendor or the tenant's plan does not offer this operation.
    Unsupported(String),
    /// The connection's settings are wrong.
    Config(String),
}

impl From<types::ConnectorError> for ConnectorError {
    fn from(err: types::ConnectorError) -> Self {
        use types::ConnectorError as Wit;
        match err {
            Wit::Unauthorized(m) => ConnectorError::Unauthorized(m),
            Wit::Forbidden(m) => ConnectorError::Forbidden(m),
            Wit::NotFound(m) => ConnectorError::NotFound(m),
            Wit::RateLimited(wait) => ConnectorError::RateLimited(wait),
            Wit::Unavailable(m) => ConnectorError::Unavailable(m),
            Wit::InvalidResponse(m) => ConnectorError::InvalidResponse(m),
            Wit::Unsupported(m) => ConnectorError::Unsupported(m),
            Wit::Config(m) => ConnectorError::Config(m),
        }
    }
}

/// Why a call into a connector failed.
#[derive(Debug)]
pub struct CallError {
    /// `name@version` of the connector.
    pub connector: String,
    /// The WIT function, e.g. `list-users`.
    pub call: &'static str,
    /// What went wrong; callers branch on it (e.g. to retry a vendor's rate limit).
    pub kind: CallErrorKind,
    /// What the guest wrote to stderr during the call (panic messages land here).
    pub stderr: String,
    /// Outbound requests the sandbox refused during the call.
    pub denials: Vec<Denial>,
}

/// The cause of a [`CallError`].
#[derive(Debug)]
pub enum CallErrorKind {
    /// The connector returned its own typed error (vendor or configuration).
    Vendor(ConnectorError),
    /// Guest code ran longer than its CPU budget.
    CpuBudget(Duration),
    /// Guest memory would have grown past its limit.
    MemoryLimit {
        /// The linear memory one instance may grow to, in bytes.
        limit: usize,
        /// The total size, in bytes, the refused growth would have taken memory to.
        requested: usize,
    },
    /// The call, including time waiting on the vendor, passed its deadline.
    Deadline(Duration),
    /// The guest trapped: a panic, an `unreachable`, an out-of-bounds access.
    Trap(String),
    /// The host could not set the call up (e.g. credentials, instantiation).
    Host(String),
    /// The connector returned a field over the host's maximum for it.
    Output(OutputViolation),
}

impl CallError {
    /// Whether the failure is the vendor's or the connection's (as opposed
    /// to the connector misbehaving in the sandbox).
    pub fn vendor_error(&self) -> Option<&ConnectorError> {
        match &self.kind {
            CallErrorKind::Vendor(err) => Some(err),
            _ => None,
        }
    }

    /// A short, stable name for the failure, as recorded in job results:
    /// the connector's error case (`rate-limited`, `unauthorized`, ...) or
    /// the sandbox's (`cpu-budget`, `memory-limit`, `deadline`, `trap`, `host`).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            CallErrorKind::Vendor(err) => match err {
                ConnectorError::Unauthorized(_) => "unauthorized",
                ConnectorError::Forbidden(_) => "forbidden",
                ConnectorError::NotFound(_) => "not-found",
                ConnectorError::RateLimited(_) => "rate-limited",
                ConnectorError::Unavailable(_) => "unavailable",
                ConnectorError::InvalidResponse(_) => "invalid-response",
                ConnectorError::Unsupported(_) => "unsupported",
                ConnectorError::Config(_) => "config",
            },
            CallErrorKind::CpuBudget(_) => "cpu-budget",
            CallErrorKind::MemoryLimit { .. } => "memory-limit",
            CallErrorKind::Deadline(_) => "deadline",
            CallErrorKind::Trap(_) => "trap",
            CallErrorKind::Host(_) => "host",
            CallErrorKind::Output(_) => "oversized-output",
        }
    }
}

fn seconds(d: &Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 && s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn vendor_text(err: &ConnectorError) -> String {
    match err {
        ConnectorError::Unauthorized(m) => {
            format!("unauthorized: {m} (check the connection's credential)")
        }
        ConnectorError::Forbidden(m) => {
            format!("forbidden: {m} (the credential lacks a right or licence)")
        }
        ConnectorError::NotFound(m) => format!("not found: {m}"),
        ConnectorError::RateLimited(Some(ms)) => {
            format!("rate limited by the vendor; retry after {ms} ms")
        }
        ConnectorError::RateLimited(None) => "rate limited by the vendor".to_string(),
        ConnectorError::Unavailable(m) => format!("vendor unavailable: {m}"),
        ConnectorError::InvalidResponse(m) => format!("invalid vendor response: {m}"),
        ConnectorError::Unsupported(m) => format!("unsupported: {m}"),
        ConnectorError::Config(m) => format!("configuration error: {m}"),
    }
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connector {}: {} ", self.connector, self.call)?;
        match &self.kind {
            CallErrorKind::Vendor(err) => write!(f, "failed: {}", vendor_text(err))?,
            CallErrorKind::CpuBudget(budget) => {
                write!(f, "exceeded its {} CPU budget", seconds(budget))?
            }
            CallErrorKind::MemoryLimit { limit, requested } => write!(
                f,
                "exceeded its memory limit of {} MiB (it asked for {} MiB)",
                limit / (1024 * 1024),
                requested.div_ceil(1024 * 1024)
            )?,
            CallErrorKind::Deadline(deadline) => {
                write!(f, "passed its {} deadline", seconds(deadline))?
            }
            CallErrorKind::Trap(detail) => write!(f, "trapped: {detail}")?,
            CallErrorKind::Host(detail) => write!(f, "could not run: {detail}")?,
            CallErrorKind::Output(violation) => write!(f, "{violation}")?,
        }
        for denial in &self.denials {
            write!(f, "; sandbox refused a request: {denial}")?;
        }
        if !self.stderr.is_empty() {
            write!(f, "; guest stderr: {}", self.stderr)?;
        }
        Ok(())
    }
}

impl std::error::Error for CallError {}

/// Why a component could not be loaded as a connector.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("cannot read connector {path}: {source}")]
    Read {
        /// The file that was to be read.
        path: PathBuf,
        /// Why reading it failed.
        source: std::io::Error,
    },
    /// The bytes do not start with the WebAssembly header (`\0asm`).
    #[error("{source_name} is not a WebAssembly file (no \\0asm header)")]
    NotWasm {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
    },
    /// A core WebAssembly module, where a component was expected.
    #[error(
        "{source_name} is a core WebAssembly module, not a component; build it with `cargo build --target wasm32-wasip2` (or componentize it)"
    )]
    CoreModule {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
    },
    /// The component did not compile, or its exports do not match the contract.
    #[error("{source_name} is not a valid WebAssembly component: {detail}")]
    Invalid {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// What the compiler or the export check reported.
        detail: String,
    },
    /// The component does not export the connector interface at all.
    #[error(
        "{source_name} is not a Seatwarden connector: it does not export {expected}@{version}; it exports [{found}]. Build it against the `connector` world in wit/"
    )]
    WrongWorld {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// The interface every connector exports, without version.
        expected: &'static str,
        /// The contract version this host speaks.
        version: &'static str,
        /// What the component exports instead, comma-separated.
        found: String,
    },
    /// The component exports a version of the contract this host does not load.
    #[error(
        "{source_name} was built for {found}, but this host speaks {expected}@{version} (compatible: {compatible}); rebuild the connector against this host's wit/ or run a host that supports {found}"
    )]
    IncompatibleVersion {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// The interface every connector exports, without version.
        expected: &'static str,
        /// The contract version this host speaks.
        version: &'static str,
        /// The versions this host loads, e.g. `0.2.x`.
        compatible: &'static str,
        /// The interface and version the component exports.
        found: String,
    },
    /// The component imports something the sandbox does not provide.
    #[error(
        "{source_name} needs an import the sandbox does not provide: {detail}. Connectors may import wasi:http/outgoing-handler, seatwarden:connector/log and the WASI 0.2 basics only"
    )]
    Imports {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// The linker's account of the import it could not satisfy.
        detail: String,
    },
    /// The connector's `describe` failed while it was being loaded.
    #[error("{source_name}: its describe() failed: {source}")]
    Describe {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// How the `describe` call failed.
        source: Box<CallError>,
    },
    /// What `describe` returned fails the host's checks.
    #[error("{source_name}: its descriptor is invalid: {detail}")]
    Descriptor {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// Which check the descriptor failed, and why.
        detail: String,
    },
    /// The engine failed in a way none of the other cases covers.
    #[error("{source_name}: {detail}")]
    Engine {
        /// The path or name the component was loaded from, as messages name it.
        source_name: String,
        /// What the engine reported.
        detail: String,
    },
}
