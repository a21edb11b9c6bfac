//! Where a stored object came from, and so what may change it: the
//! configuration file (`seatwarden apply` owns it), the command line, or
//! the API. Entitlements, profiles and connections record it.

/// Where a stored object came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The configuration file, mirrored by `seatwarden apply`; change it there.
    Config,
    /// A `seatwarden` command (`entitlements add`, `profile create`).
    Cli,
    /// The HTTP API (or the console, which acts through it).
    Api,
}

impl Source {
    /// The name stored in the database and shown in listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Config => "config",
            Source::Cli => "cli",
            Source::Api => "api",
        }
    }

    /// The source a stored name stands for; `None` for an unknown one.
    pub fn parse(text: &str) -> Option<Source> {
        match text {
            "config" => Some(Source::Config),
            "cli" => Some(Source::Cli),
            "api" => Some(Source::Api),
            _ => None,
        }
    }
}
