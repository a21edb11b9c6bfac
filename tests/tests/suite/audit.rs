//! The audit log's hash chain: every profile change is chained per tenant,
//! `audit verify` finds an edited or removed entry, and `audit export`
//! writes JSON lines that parse back and verify on their own.

use clap::Parser;
use seatwarden_app::profiles::Profiles;
use seatwarden_cli::{Cli, run};
use seatwarden_store::{AuditCheck, AuditEntry, GENESIS, check_chain};
use seatwarden_tests::fixtures::repo_root;
use seatwarden_tests::workspace::{Workspace, smartrecruiters_connection};

/// Two tenants with a profile each. Acme's is validated against the
/// SmartRecruiters fake, published and unpublished, so its chain has five
/// entries; globex's is only created (its connection is never contacted).
async fn setup(
    name: &str,
) -> (
    Workspace,
    seatwarden_tests::smartrecruiters_fake::SmartRecruitersFake,
) {
    use seatwarden_tests::smartrecruiters_fake::{SmartRecruitersFake, SrTenant, seed_tenant};
    let vendor = SmartRecruitersFake::start(SrTenant {
        rate_limit: None,
        ..seed_tenant("DCRA1-audit", 3, seatwarden_tests::fixtures::now_ms())
    })
    .await;
    let ws = Workspace::new(name);
    ws.secret("acme.key", "DCRA1-audit");
    ws.secret("globex.key", "DCRA1-unused");
    ws.write_config(&format!(
        "[tenants.acme]\n[tenants.globex]\n\n{}\n{}\n[profiles.acme-sr]\ntenant = \"acme\"\nconnection = \"acme-sr\"\n\n[profiles.globex-sr]\ntenant = \"globex\"\nconnection = \"globex-sr\"\n",
        smartrecruiters_connection("acme-sr", "acme", &vendor.url(), "acme.key"),
        smartrecruiters_connection("globex-sr", "globex", "http://127.0.0.1:9", "globex.key"),
    ));
    let app = ws.app().await.unwrap();
    for tenant in ["acme", "globex"] {
        let (tenant_name, id) = app.tenant(Some(tenant)).await.unwrap();
        let p = Profiles {
            app: &app,
            tenant: id,
            tenant_name,
            actor: "test".into(),
        };
        p.apply().await.unwrap();
        if tenant == "acme" {
            p.validate("acme-sr").await.unwrap();
            p.publish("acme-sr").await.unwrap();
            p.unpublish("acme-sr").await.unwrap();
        }
    }
    (ws, vendor)
}

async fn seatwarden(ws: &Workspace, args: &[&str]) -> anyhow::Result<()> {
    let cache = repo_root().join("target/test-compile-cache");
    let mut argv = vec![
        "seatwarden".to_string(),
        "--config".into(),
        ws.config_path().display().to_string(),
        "--cache-dir".into(),
        cache.display().to_string(),
    ];
    argv.extend(args.iter().map(|s| s.to_string()));
    run(Cli::parse_from(argv)).await
}

async fn raw(ws: &Workspace, statement: String) {
    ws.execute_sql(&statement).await;
}

async fn acme_entries(ws: &Workspace) -> Vec<AuditEntry> {
    let app = ws.app().await.unwrap();
    let (_, acme) = app.tenant(Some("acme")).await.unwrap();
    app.storage.audit_entries(acme).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_tenant_has_an_intact_chain_and_the_export_verifies_on_its_own() {
    let (ws, _vendor) = setup("audit-intact").await;
    let app = ws.app().await.unwrap();
    let (_, acme) = app.tenant(Some("acme")).await.unwrap();
    let (_, globex) = app.tenant(Some("globex")).await.unwrap();
    let entries = app.storage.audit_entries(acme).await.unwrap();
    assert_eq!(
        entries.len(),
        5,
        "create, rule, validate, publish, unpublish"
    );
    assert_eq!(entries[0].prev_hash, GENESIS);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    match app.storage.verify_audit(acme).await.unwrap() {
        AuditCheck::Intact { entries: n, head } => {
            assert_eq!(n, 5);
            assert_eq!(head, entries[4].hash);
        }
        broken => panic!("{broken:?}"),
    }
    // Globex's chain is its own, starting from the genesis link.
    let theirs = app.storage.audit_entries(globex).await.unwrap();
    assert_eq!(theirs.len(), 2, "create and rule");
    assert_eq!(theirs[0].prev_hash, GENESIS);
    assert!(theirs.iter().all(|e| e.tenant == "globex"));

    seatwarden(&ws, &["--tenant", "acme", "audit", "verify"])
        .await
        .unwrap();
    let out = ws.dir.join("audit.jsonl");
    seatwarden(
        &ws,
        &[
            "--tenant",
            "acme",
            "audit",
            "export",
            "--out",
            out.to_str().unwrap(),
        ],
    )
    .await
    .unwrap();
    let exported: Vec<AuditEntry> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(exported, entries);
    assert!(matches!(check_chain(&exported), AuditCheck::Intact { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_entry_is_found() {
    let (ws, _vendor) = setup("audit-edited").await;
    let entries = acme_entries(&ws).await;
    let target = entries[1].id;
    raw(
        &ws,
        format!("UPDATE audit_log SET detail = 'nothing to see here' WHERE id = {target}"),
    )
    .await;
    let app = ws.app().await.unwrap();
    let (_, acme) = app.tenant(Some("acme")).await.unwrap();
    match app.storage.verify_audit(acme).await.unwrap() {
        AuditCheck::Broken { entry, reason } => {
            assert_eq!(entry, target);
            assert!(reason.contains("edited"), "{reason}");
        }
        intact => panic!("tampering went unnoticed: {intact:?}"),
    }
    let err = format!(
        "{:#}",
        seatwarden(&ws, &["--tenant", "acme", "audit", "verify"])
            .await
            .unwrap_err()
    );
    assert!(err.contains(&format!("broken at entry {target}")), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_entry_is_found() {
    let (ws, _vendor) = setup("audit-removed").await;
    let entries = acme_entries(&ws).await;
    raw(
        &ws,
        format!("DELETE FROM audit_log WHERE id = {}", entries[1].id),
    )
    .await;
    let app = ws.app().await.unwrap();
    let (_, acme) = app.tenant(Some("acme")).await.unwrap();
    match app.storage.verify_audit(acme).await.unwrap() {
        AuditCheck::Broken { entry, reason } => {
            assert_eq!(entry, entries[2].id, "the entry after the gap");
            assert!(reason.contains("removed"), "{reason}");
        }
        intact => panic!("a removed entry went unnoticed: {intact:?}"),
    }
    // An export edited offline is caught the same way.
    let mut forged = entries.clone();
    forged[1].detail = "forged".into();
    assert!(
        matches!(check_chain(&forged), AuditCheck::Broken { entry, .. } if entry == entries[1].id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_from_several_processes_keep_one_chain() {
    let (ws, _vendor) = setup("audit-concurrent").await;
    let before = acme_entries(&ws).await.len();
    // Six operators validate at once, each its own process and connection
    // to the database: every validation appends an entry to acme's chain.
    let children: Vec<std::process::Child> = (0..6)
        .map(|_| {
            seatwarden_tests::fixtures::seatwarden_command(&ws.config_path())
                .args(["--tenant", "acme", "profile", "validate", "acme-sr"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let entries = acme_entries(&ws).await;
    assert_eq!(entries.len(), before + 6);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.action == "profile.validate.passed")
            .count(),
        7,
        "the setup's validation and six more"
    );
    let head = match check_chain(&entries) {
        AuditCheck::Intact { entries: n, head } => {
            assert_eq!(n, before + 6);
            head
        }
        broken => panic!("concurrent writers broke the chain: {broken:?}"),
    };
    assert_eq!(head, entries.last().unwrap().hash);
    // What `audit verify` prints is that head, to keep outside the database.
    let out = seatwarden_tests::fixtures::seatwarden_command(&ws.config_path())
        .args(["--tenant", "acme", "audit", "verify"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains(&format!(
            "audit log of tenant acme: intact, {} entries; head {head}",
            before + 6
        )),
        "{printed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordered_entries_are_found() {
    let (ws, _vendor) = setup("audit-reordered").await;
    let entries = acme_entries(&ws).await;
    let (second, third) = (entries[1].id, entries[2].id);
    // Swap two entries' places in the table (each keeps its own content and
    // hash, so only the order is wrong).
    raw(
        &ws,
        format!(
            "UPDATE audit_log SET id = CASE id WHEN {second} THEN -1 ELSE id END WHERE id = {second};
             UPDATE audit_log SET id = {second} WHERE id = {third};
             UPDATE audit_log SET id = {third} WHERE id = -1"
        ),
    )
    .await;
    let app = ws.app().await.unwrap();
    let (_, acme) = app.tenant(Some("acme")).await.unwrap();
    match app.storage.verify_audit(acme).await.unwrap() {
        AuditCheck::Broken { entry, reason } => {
            assert_eq!(entry, second, "the first entry out of place");
            assert!(reason.contains("reordered"), "{reason}");
        }
        intact => panic!("reordering went unnoticed: {intact:?}"),
    }
    // The same in an export whose lines were shuffled offline.
    let mut shuffled = entries.clone();
    shuffled.swap(3, 4);
    assert!(
        matches!(check_chain(&shuffled), AuditCheck::Broken { entry, .. } if entry == entries[4].id)
    );
}
