//! `seatwarden entitlements [add|remove]`: lists a tenant's entitlements,
//! or adds and removes ones kept in the database rather than the
//! configuration. Both are checked by the same `entitlements::Draft`.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use seatwarden_app::wiring::App;
use seatwarden_domain::entitlements::Draft;
use seatwarden_store::{Source, TenantId};

#[derive(Debug, Subcommand)]
pub enum EntitlementsCommand {
    /// Add (or replace) an entitlement from the command line. `seatwarden
    /// apply` leaves these alone; remove them with `entitlements remove`.
    Add(Box<AddArgs>),
    /// Remove an entitlement added with `entitlements add`.
    Remove {
        /// Its name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// A name unique in the tenant, e.g. the contract or order number.
    #[arg(long)]
    name: String,
    /// The software model's publisher, product and edition, as
    /// `seatwarden report compliance` or `report unrecognized` name them.
    #[arg(long)]
    publisher: String,
    #[arg(long)]
    product: String,
    #[arg(long)]
    edition: String,
    /// How many rights were bought.
    #[arg(long)]
    quantity: u32,
    /// The cost of one right per period, as a decimal ("12.50").
    #[arg(long)]
    unit_cost: String,
    /// ISO 4217 code, e.g. EUR.
    #[arg(long)]
    currency: String,
    /// What the unit cost is per: month or year (default year).
    #[arg(long)]
    period: Option<String>,
    /// The term's first and last day, YYYY-MM-DD.
    #[arg(long)]
    start: String,
    #[arg(long)]
    end: String,
    /// The renewal date, YYYY-MM-DD.
    #[arg(long)]
    renewal: Option<String>,
}

pub async fn run(
    app: &App,
    tenant: TenantId,
    tenant_name: &str,
    actor: &str,
    command: Option<EntitlementsCommand>,
) -> Result<()> {
    match command {
        None => {
            let stored = app.storage.entitlements_with_source(tenant).await?;
            if stored.is_empty() {
                crate::say!(
                    "tenant {tenant_name}: no entitlements (add [[entitlements]] to the configuration and run seatwarden apply, or use seatwarden entitlements add)"
                );
            }
            for (e, source) in stored {
                let from = match source {
                    Source::Config => "",
                    Source::Cli => "  (added on the command line)",
                    Source::Api => "  (added over the API)",
                };
                crate::say!("{}: {}{from}", e.name, e.summary());
            }
        }
        Some(EntitlementsCommand::Add(args)) => {
            let args = *args;
            let draft = Draft {
                name: args.name,
                publisher: args.publisher,
                product: args.product,
                edition: args.edition,
                quantity: args.quantity,
                unit_cost: args.unit_cost,
                currency: args.currency,
                period: args.period,
                start: args.start,
                end: args.end,
                renewal: args.renewal,
            };
            let entitlement = match draft.check() {
                Ok(e) => e,
                Err(p) => bail!("--{}: {} ({})", p.field.replace('_', "-"), p.problem, p.fix),
            };
            match app
                .storage
                .add_entitlement(tenant, &entitlement, Source::Cli, actor, app.now())
                .await?
            {
                Some(change) => crate::say!("tenant {tenant_name}: {change}"),
                None => crate::say!(
                    "tenant {tenant_name}: entitlement {} unchanged",
                    entitlement.name
                ),
            }
        }
        Some(EntitlementsCommand::Remove { name }) => {
            let change = app
                .storage
                .remove_entitlement(tenant, &name, actor, app.now())
                .await?;
            crate::say!("tenant {tenant_name}: {change}");
        }
    }
    Ok(())
}
