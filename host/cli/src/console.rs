//! `seatwarden console sign-in`: a one-time token that opens the web
//! console for one person of a tenant, printed once on stdout (alone, or
//! as a link when --url names the server).

use anyhow::{Result, bail};
use clap::Subcommand;
use seatwarden_app::App;
use seatwarden_app::console_sessions::{self, SIGN_IN_MS};
use seatwarden_domain::access::Scope;
use secrecy::ExposeSecret;

#[derive(Debug, Subcommand)]
pub(crate) enum ConsoleCommand {
    /// Make a one-time sign-in token for the tenant's web console.
    SignIn {
        /// Who signs in with it, as the audit log will name them.
        #[arg(long)]
        person: String,
        /// read, operate (decide, reclaim, run jobs) or admin (also the
        /// profiles' lifecycle).
        #[arg(long, default_value = "operate")]
        scope: String,
        /// How long it may wait to be used, in minutes (1 to 1440).
        #[arg(long, default_value_t = SIGN_IN_MS / 60_000)]
        valid_minutes: i64,
        /// The server's address (e.g. http://127.0.0.1:8080): prints a
        /// sign-in link instead of the bare token.
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
}

pub(crate) async fn run(
    app: &App,
    tenant: Option<&str>,
    actor: &str,
    command: ConsoleCommand,
) -> Result<()> {
    match command {
        ConsoleCommand::SignIn {
            person,
            scope,
            valid_minutes,
            url,
        } => {
            let Some(scope) = Scope::parse(&scope).filter(|s| s.is_tenant_scope()) else {
                bail!("--scope {scope:?}: use read, operate or admin");
            };
            let (tenant_name, tenant_id) = app.tenant(tenant).await?;
            let token = console_sessions::issue_sign_in(
                app,
                tenant_id,
                &person,
                scope,
                valid_minutes.saturating_mul(60_000),
                actor,
            )
            .await?;
            crate::say_err!(
                "console sign-in for {person:?} of tenant {tenant_name} (scope {scope}), good once within {valid_minutes} minutes:"
            );
            match url {
                Some(url) => crate::say!("{}", sign_in_link(&url, token.expose_secret())),
                None => crate::say!("{}", token.expose_secret()),
            }
        }
    }
    Ok(())
}

/// The console's sign-in link on the server at `base`.
pub fn sign_in_link(base: &str, token: &str) -> String {
    format!(
        "{}/console/sign-in?token={token}",
        base.trim_end_matches('/')
    )
}
