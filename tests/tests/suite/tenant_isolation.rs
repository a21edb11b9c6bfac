//! Tenant isolation enforced by PostgreSQL itself: row-level security on
//! every tenant-owned table, keyed on the transaction's `seatwarden.tenant`.
//! These tests write two tenants through the store, then talk to the
//! database directly as Seatwarden's own role, the way a statement that
//! forgot its tenant filter would, and show the database still keeps the
//! tenants apart. They need PostgreSQL and run in both passes.

use seatwarden_store::{ProfileConnector, ProfileId, Storage, Stream, TenantId, Trigger};
use seatwarden_tests::fixtures::now_ms;
use seatwarden_tests::postgres::{APP_ROLE, as_admin};
use seatwarden_tests::smartrecruiters_fake::{aged_accounts, seed_tenant};
use sqlx::{Connection, PgConnection, Row};

/// A tenant with one profile holding `accounts` stored subscriptions.
async fn tenant_with(storage: &Storage, name: &str, accounts: usize) -> (TenantId, ProfileId) {
    let now = now_ms();
    let tenant = storage.ensure_tenant(name, now).await.unwrap();
    let profile = storage
        .ensure_profile(
            tenant,
            "sr",
            &ProfileConnector {
                name: "smartrecruiters",
                version: "0.1.0",
                digest: "d",
                base_url: "x",
            },
            now,
        )
        .await
        .unwrap();
    let run = storage
        .begin_or_resume(profile, Stream::Users, None, Trigger::Manual, now)
        .await
        .unwrap();
    let users = aged_accounts(&seed_tenant(name, accounts, now).users, 0, now);
    storage
        .upsert_accounts_page(profile, run.run_id, &users, None, now)
        .await
        .unwrap();
    storage
        .finish_users_run(profile, run.run_id, now)
        .await
        .unwrap();
    (tenant, profile)
}

/// The database id of tenant `name`, read as the superuser.
async fn tenant_id(admin: &mut PgConnection, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM tenants WHERE name = $1")
        .bind(name)
        .fetch_one(admin)
        .await
        .unwrap()
}

/// A transaction as Seatwarden's role, working for `tenant` (a tenant id,
/// or `all`), as every transaction of the store starts.
async fn as_tenant(conn: &mut PgConnection, tenant: &str) {
    sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
    sqlx::query("SELECT set_config('seatwarden.tenant', $1, true)")
        .bind(tenant)
        .execute(&mut *conn)
        .await
        .unwrap();
}

async fn count(conn: &mut PgConnection, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Two tenants' rows in one database; statements with no tenant filter at
/// all, run as Seatwarden's role, see and change only the rows of the
/// tenant their transaction works for, cannot write rows for another,
/// and see nothing when the transaction named no tenant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_that_forgets_its_tenant_filter_still_sees_only_its_tenant() {
    let url = seatwarden_tests::postgres::new_database();
    let storage = Storage::connect_postgres(&url).await.unwrap();
    let (_, acme_profile) = tenant_with(&storage, "acme", 30).await;
    let (_, globex_profile) = tenant_with(&storage, "globex", 20).await;

    let mut admin = PgConnection::connect(&as_admin(&url)).await.unwrap();
    let acme = tenant_id(&mut admin, "acme").await;
    let globex = tenant_id(&mut admin, "globex").await;
    assert_eq!(
        count(&mut admin, "subscriptions").await,
        50,
        "both tenants' rows are there"
    );

    let mut app = PgConnection::connect(&url).await.unwrap();
    as_tenant(&mut app, &acme.to_string()).await;
    // No WHERE clause anywhere: only acme's rows come back.
    let tenants: Vec<String> = sqlx::query_scalar("SELECT name FROM tenants")
        .fetch_all(&mut app)
        .await
        .unwrap();
    assert_eq!(tenants, ["acme"]);
    assert_eq!(count(&mut app, "subscriptions").await, 30);
    assert_eq!(count(&mut app, "profiles").await, 1);
    assert_eq!(count(&mut app, "job_runs").await, 1);
    let audit_tenants: Vec<i64> = sqlx::query_scalar("SELECT DISTINCT tenant_id FROM audit_log")
        .fetch_all(&mut app)
        .await
        .unwrap();
    assert!(
        audit_tenants.iter().all(|t| *t == acme),
        "{audit_tenants:?}"
    );
    // A join across tables stays inside the tenant too.
    let joined: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions s JOIN profiles p ON p.id = s.profile_id",
    )
    .fetch_one(&mut app)
    .await
    .unwrap();
    assert_eq!(joined, 30);
    // An update with no filter changes acme's rows only.
    let changed = sqlx::query("UPDATE subscriptions SET display_name = 'touched'")
        .execute(&mut app)
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(changed, 30);
    // Writing a row for globex's profile is refused by the policy.
    let refused = sqlx::query(
        "INSERT INTO sync_cursors (profile_id, stream, cursor, run_id, exhausted) VALUES ($1, 'users', 'c', 1, FALSE)",
    )
    .bind(
        sqlx::query_scalar::<_, i64>("SELECT id FROM profiles WHERE tenant_id = $1")
            .bind(globex)
            .fetch_one(&mut admin)
            .await
            .unwrap(),
    )
    .execute(&mut app)
    .await
    .expect_err("a row for another tenant's profile");
    assert!(
        refused.to_string().contains("row-level security"),
        "{refused}"
    );
    sqlx::query("ROLLBACK").execute(&mut app).await.unwrap();

    // A transaction that named no tenant sees nothing at all.
    sqlx::query("BEGIN").execute(&mut app).await.unwrap();
    assert_eq!(count(&mut app, "subscriptions").await, 0);
    assert_eq!(count(&mut app, "tenants").await, 0);
    sqlx::query("ROLLBACK").execute(&mut app).await.unwrap();

    // Turning row security off does not bypass it: the statement fails.
    sqlx::query("SET row_security = off")
        .execute(&mut app)
        .await
        .unwrap();
    as_tenant(&mut app, &acme.to_string()).await;
    let off = sqlx::query("SELECT COUNT(*) FROM subscriptions")
        .fetch_one(&mut app)
        .await
        .expect_err("row security cannot be switched off by the role");
    assert!(off.to_string().contains("row-level security"), "{off}");
    app.close().await.unwrap();

    // The rolled-back update changed nothing; globex's rows were never reachable.
    let globex_rows = storage.subscriptions(globex_profile).await.unwrap();
    assert_eq!(globex_rows.len(), 20);
    assert!(globex_rows.iter().all(|s| s.display_name.is_none()));
    assert_eq!(storage.subscriptions(acme_profile).await.unwrap().len(), 30);

    // Every table but the two that belong to no tenant (and the migrator's
    // own) has its policy, forced: a table added later without one fails here.
    let unpoliced: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::TEXT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind = 'r'
           AND c.relname NOT IN ('_sqlx_migrations', 'auth_failures', 'rate_slots')
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity
                    AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))
         ORDER BY 1",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(
        unpoliced.is_empty(),
        "tables without a tenant policy: {unpoliced:?}"
    );
    admin.close().await.unwrap();
}

/// The store refuses to work as a role that row-level security does not
/// bind (the superuser here), saying what to connect as instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_refuses_a_role_that_bypasses_row_security() {
    let url = seatwarden_tests::postgres::new_database();
    let err = Storage::connect_postgres(&as_admin(&url))
        .await
        .expect_err("the superuser is refused");
    let text = format!("{err:#}");
    assert!(text.contains("BYPASSRLS"), "{text}");
    assert!(text.contains("\"postgres\""), "{text}");
    assert!(text.contains("Running several hosts"), "{text}");
}

/// The stricter set-up the README describes: one role owns the tables and
/// runs the migrations, the hosts connect as another that may only read
/// and write rows. That role starts on the migrated database, works, and
/// cannot alter a table to switch its policy off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_role_without_ownership_works_and_cannot_switch_the_policies_off() {
    let url = seatwarden_tests::postgres::new_database();
    drop(Storage::connect_postgres(&url).await.unwrap());
    let mut admin = PgConnection::connect(&as_admin(&url)).await.unwrap();
    sqlx::raw_sql(
        "DO $$ BEGIN CREATE ROLE seatwarden_host LOGIN NOSUPERUSER NOBYPASSRLS;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
    )
    .execute(&mut admin)
    .await
    .unwrap();
    admin.close().await.unwrap();
    // The owner grants the host role row access, as the README says.
    let mut owner = PgConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO seatwarden_host;
         GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO seatwarden_host;",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    owner.close().await.unwrap();

    let host_url = url.replacen(
        &format!("postgres://{APP_ROLE}@"),
        "postgres://seatwarden_host@",
        1,
    );
    let storage = Storage::connect_postgres(&host_url).await.unwrap();
    let (_, profile) = tenant_with(&storage, "acme", 12).await;
    assert_eq!(storage.subscriptions(profile).await.unwrap().len(), 12);

    let mut host = PgConnection::connect(&host_url).await.unwrap();
    let err = sqlx::query("ALTER TABLE subscriptions DISABLE ROW LEVEL SECURITY")
        .execute(&mut host)
        .await
        .expect_err("only the owner may alter a table");
    assert!(err.to_string().contains("must be owner"), "{err}");
    let row = sqlx::query(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'subscriptions'",
    )
    .fetch_one(&mut host)
    .await
    .unwrap();
    assert!(row.get::<bool, _>(0) && row.get::<bool, _>(1));
    host.close().await.unwrap();
}
