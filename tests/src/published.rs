//! A published profile on a loopback vendor fake, for the tests of what
//! happens after a sync: candidates, decisions, reclaiming, undo,
//! notifications.
//!
//! The profile goes through the real lifecycle (apply, validate against the
//! fake, publish). Downloads are stored through the same storage calls a
//! sync makes, with the ages each test chooses, so no test waits for days.

use crate::fixtures::now_ms;
use crate::workspace::{Workspace, loopback_connection};
use seatwarden_app::profiles::Profiles;
use seatwarden_app::reclamation::{
    ReclaimOutcome, ReclaimPlan, Refreshed, execute_reclaim, plan_reclaim, refresh,
};
use seatwarden_app::wiring::{App, ProfileContext};
use seatwarden_domain::account::Account;
use seatwarden_domain::rules::ReclamationRule;
use seatwarden_store::{ProfileId, ProfileRecord, Storage, Stream, Trigger};
use std::sync::Arc;

/// The tenant every published profile here belongs to.
pub const TENANT: &str = "acme";

/// One published profile named `profile` in tenant `acme`.
pub struct Published {
    pub app: Arc<App>,
    pub ws: Workspace,
    pub profile: String,
}

/// Where the profile connects, and what else the configuration says.
pub struct Setup<'a> {
    /// The workspace directory's name (unique per test).
    pub name: &'a str,
    /// The built connector to use (`smartrecruiters`, `smartsheet`, ...).
    pub connector: &'a str,
    pub base_url: &'a str,
    pub credential: &'a str,
    pub reclaim: bool,
    /// More configuration: `[profiles.P.rule]`, `[notifications]`...
    pub extra: &'a str,
    /// More secret files (name, content) the configuration refers to.
    pub secrets: &'a [(&'a str, &'a str)],
}

impl Published {
    /// Writes the configuration, then applies, validates and publishes the
    /// profile (named after the connector).
    pub async fn start(setup: Setup<'_>) -> Published {
        let ws = Workspace::new(setup.name);
        ws.secret("vendor.key", setup.credential);
        for (file, value) in setup.secrets {
            ws.secret(file, value);
        }
        let profile = setup.connector.to_string();
        let config = format!(
            "[tenants.{TENANT}]\napi_private_targets = \"allow-loopback\"\n\n{}\n[profiles.{profile}]\ntenant = \"{TENANT}\"\nconnection = \"{profile}\"\nreclaim = {}\n\n{}",
            loopback_connection(
                &profile,
                TENANT,
                setup.connector,
                setup.base_url,
                "vendor.key"
            ),
            setup.reclaim,
            setup.extra,
        );
        Published::configured(ws, &profile, &config).await
    }

    /// Writes `config` (whole) into `ws`, then applies, validates and
    /// publishes `profile` of the tenant [`TENANT`]: for a connection
    /// `start` cannot write (an OAuth 2.0 credential, say).
    pub async fn configured(ws: Workspace, profile: &str, config: &str) -> Published {
        ws.write_config(config);
        let app = ws.app().await.unwrap();
        let published = Published {
            app,
            ws,
            profile: profile.to_string(),
        };
        let p = published.profiles("test").await;
        p.apply().await.unwrap();
        let validation = p.validate(&published.profile).await.unwrap();
        assert!(validation.passed, "{validation:?}");
        p.publish(&published.profile).await.unwrap();
        published
    }

    /// A profile with reclaim on and nothing more in the configuration.
    pub async fn plain(name: &str, connector: &str, base_url: &str, credential: &str) -> Published {
        Published::start(Setup {
            name,
            connector,
            base_url,
            credential,
            reclaim: true,
            extra: "",
            secrets: &[],
        })
        .await
    }

    /// The tenant's profiles, acting as `actor`.
    pub async fn profiles(&self, actor: &str) -> Profiles<'_> {
        let (tenant_name, tenant) = self.app.tenant(Some(TENANT)).await.unwrap();
        Profiles {
            app: &self.app,
            tenant,
            tenant_name,
            actor: actor.into(),
        }
    }

    pub async fn record(&self) -> ProfileRecord {
        self.record_of(&self.profile).await
    }

    /// Another profile of the tenant (one the test's `extra` configured).
    pub async fn record_of(&self, profile: &str) -> ProfileRecord {
        let (tenant_name, tenant) = self.app.tenant(Some(TENANT)).await.unwrap();
        self.app
            .find_profile(tenant, &tenant_name, profile)
            .await
            .unwrap()
    }

    pub async fn context(&self) -> ProfileContext {
        let record = self.record().await;
        self.app
            .open_profile(record.tenant, TENANT, &self.profile)
            .await
            .unwrap()
    }

    /// Stores `accounts` as one complete users download made at `now`.
    pub async fn store(&self, accounts: &[Account], now: i64) {
        self.store_in(&self.profile, accounts, now).await;
    }

    /// Stores `accounts` as one complete users download of `profile`.
    pub async fn store_in(&self, profile: &str, accounts: &[Account], now: i64) {
        let record = self.record_of(profile).await;
        store_download(&self.app.storage, record.id, accounts, now).await;
    }

    /// Plans a reclaim run under `rule` and executes it (refused plans are
    /// recorded and come back as errors).
    pub async fn reclaim(
        &self,
        rule: &ReclamationRule,
    ) -> (ReclaimPlan, anyhow::Result<ReclaimOutcome>) {
        let ctx = self.context().await;
        let storage = &self.app.storage;
        let plan = plan_reclaim(storage, &ctx.record, rule).await.unwrap();
        let outcome = execute_reclaim(
            &self.app,
            &ctx.record,
            &ctx.connected.connector,
            &ctx.connected.connection,
            &plan,
            Trigger::Manual,
            "test",
        )
        .await;
        (plan, outcome)
    }

    /// Runs a `seatwarden` command line in-process on this workspace's
    /// configuration (as the operator would, with its own database pool).
    pub async fn cli(&self, args: &[&str]) -> anyhow::Result<()> {
        use clap::Parser;
        let cache = crate::fixtures::repo_root().join("target/test-compile-cache");
        let mut argv = vec![
            "seatwarden".to_string(),
            "--config".into(),
            self.ws.config_path().display().to_string(),
            "--cache-dir".into(),
            cache.display().to_string(),
        ];
        argv.extend(args.iter().map(|s| s.to_string()));
        seatwarden_cli::run(seatwarden_cli::Cli::parse_from(argv)).await
    }

    /// Runs the built binary on this workspace's configuration, as an
    /// operator reading its output would: its standard output, or a panic
    /// with its standard error.
    pub fn printed(&self, args: &[&str]) -> String {
        let out = crate::fixtures::seatwarden_command(&self.ws.config_path())
            .args(args)
            .output()
            .expect("seatwarden runs");
        assert!(
            out.status.success(),
            "seatwarden {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Refreshes the candidates now, as the scheduler does after a sync.
    pub async fn refresh(&self) -> Refreshed {
        self.refresh_at(now_ms()).await
    }

    pub async fn refresh_at(&self, now: i64) -> Refreshed {
        let record = self.record().await;
        refresh(&self.app, &record, Trigger::Manual, "test", now)
            .await
            .unwrap()
    }
}

/// Stores `accounts` as one complete users download of `profile`, through
/// the storage calls a sync makes.
pub async fn store_download(storage: &Storage, profile: ProfileId, accounts: &[Account], now: i64) {
    let run = storage
        .begin_or_resume(profile, Stream::Users, None, Trigger::Manual, now)
        .await
        .unwrap();
    storage
        .upsert_accounts_page(profile, run.run_id, accounts, None, now)
        .await
        .unwrap();
    storage
        .finish_users_run(profile, run.run_id, now)
        .await
        .unwrap();
}
