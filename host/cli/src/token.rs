//! `seatwarden token`: make, list and revoke API tokens.
//!
//! A token is printed once, on stdout alone (so `$(seatwarden token create
//! ...)` captures it), and never again: only its hash is stored.

use anyhow::{Result, bail};
use clap::Subcommand;
use seatwarden_app::App;
use seatwarden_app::output::date_time;
use seatwarden_app::tokens;
use seatwarden_domain::access::Scope;
use secrecy::ExposeSecret;

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Make a token for the tenant (--tenant, or the configuration's only
    /// one), or an operator token with --operator; prints it once.
    Create {
        /// What it is for (shown in lists and the audit log).
        #[arg(long)]
        name: String,
        /// read, operate (decide, reclaim, run jobs) or admin (also
        /// profiles, connections, tokens).
        #[arg(long, required_unless_present = "operator")]
        scope: Option<String>,
        /// An operator token: manages tenants, sees no tenant's data.
        #[arg(long, conflicts_with = "scope")]
        operator: bool,
    },
    /// The tenant's tokens (or the operator tokens), without secrets.
    List {
        /// The operator tokens instead of the tenant's.
        #[arg(long)]
        operator: bool,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: it stops working at once.
    Revoke {
        /// The token's id (see `token list`).
        id: i64,
        /// An operator token's id.
        #[arg(long)]
        operator: bool,
    },
}

pub(crate) async fn run(
    app: &App,
    tenant: Option<&str>,
    actor: &str,
    command: TokenCommand,
) -> Result<()> {
    match command {
        TokenCommand::Create {
            name,
            scope,
            operator,
        } => {
            let (tenant_id, scope) = if operator {
                (None, Scope::Operator)
            } else {
                let scope_text = scope.unwrap_or_default();
                let Some(scope) = Scope::parse(&scope_text).filter(|s| s.is_tenant_scope()) else {
                    bail!("--scope {scope_text:?}: use read, operate or admin (or --operator)");
                };
                (Some(app.tenant(tenant).await?.1), scope)
            };
            let issued = tokens::issue(app, tenant_id, &name, scope, actor).await?;
            crate::say_err!(
                "token {} ({name:?}, scope {scope}) made; it is shown this once:",
                issued.id
            );
            crate::say!("{}", issued.token.expose_secret());
        }
        TokenCommand::List { operator, json } => {
            let tenant_id = if operator {
                None
            } else {
                Some(app.tenant(tenant).await?.1)
            };
            let listed = tokens::list(app, tenant_id).await?;
            if json {
                crate::say!("{}", serde_json::to_string_pretty(&listed)?);
                return Ok(());
            }
            if listed.is_empty() {
                crate::say!("(no tokens)");
            }
            for token in listed {
                let state = match token.revoked_at {
                    Some(at) => format!("revoked {}", date_time(at)),
                    None => match token.last_used_at {
                        Some(at) => format!("last used {}", date_time(at)),
                        None => "never used".into(),
                    },
                };
                crate::say!(
                    "{:>4}  {:<8}  {}  ({}; made {} by {})",
                    token.id,
                    token.scope,
                    token.name,
                    state,
                    date_time(token.created_at),
                    token.created_by
                );
            }
        }
        TokenCommand::Revoke { id, operator } => {
            let tenant_id = if operator {
                None
            } else {
                Some(app.tenant(tenant).await?.1)
            };
            let revoked = app
                .storage
                .revoke_token(tenant_id, id, actor, app.now())
                .await?;
            crate::say!("token {id} ({:?}) revoked", revoked.name);
        }
    }
    Ok(())
}
