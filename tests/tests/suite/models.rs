//! Software models: connectors declare their vendors' identifiers' models
//! (stored per tenant when a connector is loaded for it, and carried over
//! from the former built-in catalogue by the schema-13 migration), others
//! are reported as unrecognized (identifier, profiles,
//! number of active subscriptions) until `[[models]]` maps them, and
//! mapping, re-mapping or removing a mapping through `seatwarden apply`
//! changes every subscription with that identifier at once, with an audit
//! entry each time. The report's JSON and CSV parse back to the same rows.

use seatwarden_app::profiles::{Applied, Profiles};
use seatwarden_app::reports::{OutputFormat, Unrecognized, unrecognized, write_unrecognized};
use seatwarden_app::wiring::App;
use seatwarden_store::TenantId;
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::published::Published;
use seatwarden_tests::smartrecruiters_fake::{
    SmartRecruitersFake, SrTenant, aged_accounts, seed_users_only,
};

const KEY: &str = "DCRA1-models";

fn mapping(identifier: &str, edition: &str) -> String {
    format!(
        "\n[[models]]\ntenant = \"acme\"\nconnector = \"smartrecruiters\"\nidentifier = \"{identifier}\"\npublisher = \"SmartRecruiters\"\nproduct = \"SmartRecruiters\"\nedition = \"{edition}\"\n"
    )
}

/// Rewrites the configuration's tail (after the profile) and applies it
/// as an operator would, with a freshly loaded configuration.
async fn apply_with(profile: &Published, base: &str, models: &str) -> Vec<String> {
    std::fs::write(profile.ws.config_path(), format!("{base}{models}")).unwrap();
    let app: std::sync::Arc<App> = profile.ws.app().await.unwrap();
    let (tenant_name, tenant): (String, TenantId) = app.tenant(Some("acme")).await.unwrap();
    let applied = Profiles {
        app: &app,
        tenant,
        tenant_name,
        actor: "ops@acme.com".into(),
    }
    .apply()
    .await
    .unwrap();
    applied
        .into_iter()
        .filter_map(|a| match a {
            Applied::TenantSetting(line) => Some(line),
            _ => None,
        })
        .collect()
}

fn row(identifier: &str, subscriptions: usize) -> Unrecognized {
    Unrecognized {
        connector: "smartrecruiters".into(),
        identifier: identifier.into(),
        profiles: vec!["smartrecruiters".into()],
        subscriptions,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unrecognized_identifiers_are_listed_until_mapped() {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(KEY, 20, now_ms())
    })
    .await;
    // Four users hold custom roles; one of them is deactivated already.
    vendor.edit(|t| {
        for user in &mut t.users[..3] {
            user.role = "TALENT_SOURCER".into();
        }
        t.users[3].role = "AGENCY_RECRUITER".into();
    });
    let profile = Published::plain("models-sr", "smartrecruiters", &vendor.url(), KEY).await;
    let now = now_ms();
    let mut accounts = aged_accounts(&vendor.users(), 0, now);
    accounts[2].active = false;
    profile.store(&accounts, now).await;
    let tenant = profile.record().await.tenant;
    let storage = &profile.app.storage;

    let before = unrecognized(storage, tenant).await.unwrap();
    assert_eq!(
        before,
        vec![row("TALENT_SOURCER", 2), row("AGENCY_RECRUITER", 1)]
    );

    // JSON and CSV carry the same rows.
    let mut json = Vec::new();
    write_unrecognized(&before, OutputFormat::Json, &mut json).unwrap();
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&json).unwrap();
    assert_eq!(parsed[0]["identifier"], "TALENT_SOURCER");
    assert_eq!(parsed[0]["subscriptions"], 2);
    assert_eq!(
        parsed[1]["profiles"],
        serde_json::json!(["smartrecruiters"])
    );
    let mut csv_text = Vec::new();
    write_unrecognized(&before, OutputFormat::Csv, &mut csv_text).unwrap();
    let mut reader = csv::Reader::from_reader(&csv_text[..]);
    assert_eq!(
        reader.headers().unwrap(),
        vec!["connector", "identifier", "subscriptions", "profiles"]
    );
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(
        records,
        vec![
            vec!["smartrecruiters", "TALENT_SOURCER", "2", "smartrecruiters"],
            vec![
                "smartrecruiters",
                "AGENCY_RECRUITER",
                "1",
                "smartrecruiters"
            ],
        ]
    );

    // Mapping one identifier takes all its subscriptions out of the list.
    let base = std::fs::read_to_string(profile.ws.config_path()).unwrap();
    let sourcer = mapping("TALENT_SOURCER", "Sourcer");
    let changes = apply_with(&profile, &base, &sourcer).await;
    assert_eq!(
        changes,
        vec!["model of smartrecruiters/TALENT_SOURCER: SmartRecruiters SmartRecruiters (Sourcer)"]
    );
    assert_eq!(
        unrecognized(storage, tenant).await.unwrap(),
        vec![row("AGENCY_RECRUITER", 1)]
    );
    assert!(
        apply_with(&profile, &base, &sourcer).await.is_empty(),
        "idempotent"
    );

    // Re-mapping says what changed; removing the mapping brings it back.
    let changes = apply_with(&profile, &base, &mapping("TALENT_SOURCER", "Recruiter")).await;
    assert_eq!(
        changes,
        vec![
            "model of smartrecruiters/TALENT_SOURCER: SmartRecruiters SmartRecruiters (Sourcer) -> SmartRecruiters SmartRecruiters (Recruiter)"
        ]
    );
    let changes = apply_with(&profile, &base, "").await;
    assert_eq!(changes.len(), 1);
    assert!(
        changes[0].ends_with("removed (no longer in the configuration)"),
        "{changes:?}"
    );
    assert_eq!(unrecognized(storage, tenant).await.unwrap(), before);

    let mapped: Vec<String> = storage
        .audit_entries(tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "model.map")
        .map(|e| e.actor)
        .collect();
    assert_eq!(mapped, vec!["ops@acme.com"; 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entitlements_are_stored_by_apply_exactly_and_audited() {
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_users_only(KEY, 5, now_ms())
    })
    .await;
    let profile = Published::plain("entitlements-sr", "smartrecruiters", &vendor.url(), KEY).await;
    let tenant = profile.record().await.tenant;
    let base = std::fs::read_to_string(profile.ws.config_path()).unwrap();
    let contract = |quantity: u32, cost: &str| {
        format!(
            "\n[[entitlements]]\ntenant = \"acme\"\nname = \"SR-2026\"\npublisher = \"SmartRecruiters\"\nproduct = \"SmartRecruiters\"\nedition = \"Standard\"\nquantity = {quantity}\nunit_cost = \"{cost}\"\ncurrency = \"EUR\"\nperiod = \"month\"\nstart = \"2026-01-01\"\nend = \"2026-12-31\"\n"
        )
    };
    let changes = apply_with(&profile, &base, &contract(40, "35.10")).await;
    assert_eq!(
        changes,
        vec![
            "entitlement SR-2026: 40 x SmartRecruiters SmartRecruiters (Standard) at 35.10 EUR per month, 2026-01-01 to 2026-12-31"
        ]
    );
    let stored = profile.app.storage.entitlements(tenant).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].unit_cost.amount.to_string(),
        "35.10",
        "kept exactly"
    );
    assert!(
        apply_with(&profile, &base, &contract(40, "35.10"))
            .await
            .is_empty()
    );
    let changes = apply_with(&profile, &base, &contract(45, "35.10")).await;
    assert!(
        changes[0].contains("40 x") && changes[0].contains("-> 45 x"),
        "{changes:?}"
    );
    // What `seatwarden entitlements` lists is what was applied.
    assert_eq!(
        profile.printed(&["entitlements"]),
        "SR-2026: 45 x SmartRecruiters SmartRecruiters (Standard) at 35.10 EUR per month, 2026-01-01 to 2026-12-31\n"
    );
    let changes = apply_with(&profile, &base, "").await;
    assert!(
        changes[0].starts_with("entitlement SR-2026: removed"),
        "{changes:?}"
    );
    assert!(
        profile
            .app
            .storage
            .entitlements(tenant)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        profile
            .printed(&["entitlements"])
            .starts_with("tenant acme: no entitlements"),
        "{}",
        profile.printed(&["entitlements"])
    );
    let audited = profile
        .app
        .storage
        .audit_entries(tenant)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "entitlement.apply")
        .count();
    assert_eq!(audited, 3);
}

/// A database as the last host with a vendor catalogue of its own left it
/// (schema 12): tenant acme with a Smartsheet and a SCIM profile, tenant
/// globex with no profile.
async fn database_at_schema_12(name: &str) -> std::path::PathBuf {
    let path = seatwarden_tests::fixtures::fresh_database(name);
    let migrations = path.with_extension("migrations-v12");
    let _ = std::fs::remove_dir_all(&migrations);
    std::fs::create_dir_all(&migrations).unwrap();
    let root = seatwarden_tests::fixtures::repo_root().join("host/store/migrations/sqlite");
    for entry in std::fs::read_dir(&root).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0013" {
            std::fs::copy(&file, migrations.join(&name)).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let migrator = sqlx::migrate::Migrator::new(migrations.as_path())
        .await
        .unwrap();
    assert_eq!(migrator.iter().map(|m| m.version).max(), Some(12));
    migrator.run(&pool).await.unwrap();
    for statement in [
        "INSERT INTO tenants (id, name, created_at) VALUES (1, 'acme', 0), (2, 'globex', 0)",
        "INSERT INTO profiles (id, tenant_id, name, connector_name, connector_version, connector_digest, base_url, created_at)
         VALUES (1, 1, 'sheets', 'smartsheet', '0.1.0', 'old', 'http://old', 0),
                (2, 1, 'sheets-eu', 'smartsheet', '0.1.0', 'old', 'http://old', 0),
                (3, 1, 'wiki', 'scim', '0.1.0', 'old', 'http://old', 0)",
        "INSERT INTO job_runs (id, profile_id, kind, status, started_at, finished_at, pages, items)
         VALUES (1, 1, 'users', 'succeeded', 0, 1, 1, 3)",
        "INSERT INTO subscriptions (profile_id, account_id, principal, active, identifiers, attributes,
            first_seen_at, last_seen_at, last_seen_run)
         VALUES (1, 'u1', 'a@acme.example', 1, '[\"MEMBER\"]', '[]', 0, 0, 1),
                (1, 'u2', 'b@acme.example', 1, '[\"GUEST\"]', '[]', 0, 0, 1),
                (1, 'u3', 'c@acme.example', 1, '[\"ENTERPRISE_ADMIN\"]', '[]', 0, 0, 1),
                (3, 'w1', 'a@acme.example', 1, '[\"MEMBER\"]', '[]', 0, 0, 1)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_from_schema_12_keeps_the_models_the_host_used_to_know() {
    let path = database_at_schema_12("models-upgrade").await;
    let storage = seatwarden_store::Storage::open(&path).await.unwrap();
    assert_eq!(storage.schema_version().await.unwrap(), 20);
    let acme = storage.find_tenant("acme").await.unwrap().unwrap();
    let globex = storage.find_tenant("globex").await.unwrap().unwrap();

    // The Smartsheet seat types are still priced after the upgrade, once
    // per tenant however many Smartsheet profiles it has; SCIM never had
    // built-in models, and a custom seat type stays unrecognized.
    let declared = storage.declared_models(acme).await.unwrap();
    assert_eq!(declared.len(), 7, "{declared:?}");
    assert!(declared.iter().all(|m| m.connector == "smartsheet"));
    assert_eq!(
        declared
            .iter()
            .find(|m| m.identifier == "MEMBER")
            .unwrap()
            .model
            .to_string(),
        "Smartsheet Smartsheet (Member)"
    );
    assert!(storage.declared_models(globex).await.unwrap().is_empty());
    let rows = unrecognized(&storage, acme).await.unwrap();
    let found: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.connector.as_str(), r.identifier.as_str()))
        .collect();
    assert_eq!(
        found,
        [("scim", "MEMBER"), ("smartsheet", "ENTERPRISE_ADMIN")],
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_connector_declares_replaces_its_tenants_models_and_no_other_tenants() {
    use seatwarden_domain::software_models::{Mapping, SoftwareModel};
    let path = database_at_schema_12("models-declared").await;
    let storage = seatwarden_store::Storage::open(&path).await.unwrap();
    let acme = storage.find_tenant("acme").await.unwrap().unwrap();
    let globex = storage.find_tenant("globex").await.unwrap().unwrap();
    let declared = |identifier: &str, edition: &str| Mapping {
        connector: "smartsheet".into(),
        identifier: identifier.into(),
        model: SoftwareModel::per_user("Smartsheet", "Smartsheet", edition),
    };
    // A new component declares MEMBER differently, drops GUEST and the
    // legacy types, and adds ENTERPRISE_ADMIN.
    let wanted = [
        declared("MEMBER", "Business Member"),
        declared("PROVISIONAL_MEMBER", "Provisional Member"),
        declared("VIEWER", "Viewer"),
        declared("CONTRIBUTOR", "Contributor"),
        declared("ENTERPRISE_ADMIN", "Enterprise Admin"),
    ];
    let changes = storage
        .record_declared_models(acme, "smartsheet", &"d".repeat(64), &wanted, 5)
        .await
        .unwrap();
    assert_eq!(
        changes.len(),
        5,
        "MEMBER, ENTERPRISE_ADMIN, GUEST and the two legacy types: {changes:?}"
    );
    assert!(changes.contains(
        &"model of smartsheet/MEMBER declared by the connector (sha256 dddddddddddd): Smartsheet Smartsheet (Member) -> Smartsheet Smartsheet (Business Member)".to_string()
    ));
    let mut stored = storage.declared_models(acme).await.unwrap();
    stored.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    let mut expected = wanted.to_vec();
    expected.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    assert_eq!(stored, expected);
    assert_eq!(
        unrecognized(&storage, acme).await.unwrap().len(),
        2,
        "GUEST is unrecognized now, ENTERPRISE_ADMIN is priced, scim's MEMBER still is not"
    );
    // The same declaration again writes nothing.
    assert!(
        storage
            .record_declared_models(acme, "smartsheet", &"d".repeat(64), &wanted, 6)
            .await
            .unwrap()
            .is_empty()
    );
    // Another tenant's connector of the same name changes only that tenant.
    storage
        .record_declared_models(globex, "smartsheet", &"e".repeat(64), &wanted[..1], 7)
        .await
        .unwrap();
    assert_eq!(storage.declared_models(acme).await.unwrap().len(), 5);
    assert_eq!(storage.declared_models(globex).await.unwrap().len(), 1);
}
