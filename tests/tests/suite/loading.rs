//! Loading connectors: the compile cache, both allocators, and clear errors
//! for everything that is not a connector this host can run.

use seatwarden_sandbox::Limits;
use seatwarden_sandbox::LoadError;
use seatwarden_sandbox::Runtime;
use seatwarden_sandbox::RuntimeConfig;
use seatwarden_sandbox::cache::CacheOutcome;
use seatwarden_sandbox::engine_config::{AllocatorChoice, AllocatorKind};
use seatwarden_tests::directory_fake::{DirectoryFake, seed_users};
use seatwarden_tests::fixtures::{guest, loopback_connection, repo_root, runtime};

fn fresh_cache(name: &str) -> std::path::PathBuf {
    let dir = repo_root()
        .join("target/test-tmp")
        .join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_connectors_are_cached_on_disk_and_survive_a_corrupt_artifact() {
    let dir = fresh_cache("cache");
    let config = RuntimeConfig {
        cache_dir: Some(dir.clone()),
        ..RuntimeConfig::default()
    };
    let path = guest("fixture_directory");

    let first = Runtime::new(config.clone())
        .unwrap()
        .load_file(&path)
        .await
        .unwrap();
    assert_eq!(first.cache_outcome(), CacheOutcome::Miss);
    let second = Runtime::new(config.clone())
        .unwrap()
        .load_file(&path)
        .await
        .unwrap();
    assert_eq!(second.cache_outcome(), CacheOutcome::Hit);
    assert_eq!(first.digest(), second.digest());

    let artifacts: Vec<_> = walk(&dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 1);
    assert!(artifacts[0].to_string_lossy().contains(first.digest()));
    std::fs::write(&artifacts[0], b"not a compiled component").unwrap();
    let third = Runtime::new(config)
        .unwrap()
        .load_file(&path)
        .await
        .unwrap();
    assert_eq!(
        third.cache_outcome(),
        CacheOutcome::Miss,
        "a corrupt artifact is recompiled"
    );
    assert_eq!(third.descriptor().name, "directory");
    std::fs::remove_dir_all(dir).unwrap();
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path))
        } else {
            out.push(path)
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_allocators_run_calls() {
    let fake = DirectoryFake::start("k", seed_users(5, 0)).await;
    for (choice, kind) in [
        (AllocatorChoice::Pooling, AllocatorKind::Pooling),
        (AllocatorChoice::OnDemand, AllocatorKind::OnDemand),
    ] {
        let runtime = Runtime::new(RuntimeConfig {
            allocator: choice,
            max_concurrent_calls: 8,
            ..RuntimeConfig::default()
        })
        .unwrap();
        assert_eq!(runtime.allocator(), kind);
        let connector = runtime
            .load_file(&guest("fixture_directory"))
            .await
            .unwrap();
        let conn = loopback_connection(&connector, &fake.url(), "k");
        assert_eq!(
            connector
                .list_users(&conn, None)
                .await
                .unwrap()
                .accounts
                .len(),
            5
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_of_another_world_is_refused_with_what_it_exports() {
    let err = runtime(Limits::default())
        .load_file(&guest("fixture-wrong-world"))
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("is not a Seatwarden connector"), "{text}");
    assert!(
        text.contains("seatwarden:connector/connector-api@0.2.3"),
        "{text}"
    );
    assert!(text.contains("wasi:cli/run@0.2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_built_for_an_incompatible_contract_names_both_versions() {
    let err = runtime(Limits::default())
        .load_file(&guest("fixture_future_version"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(err, LoadError::IncompatibleVersion { .. }),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("built for seatwarden:connector/connector-api@0.3.0"),
        "{text}"
    );
    assert!(
        text.contains("this host speaks seatwarden:connector/connector-api@0.2.3"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_modules_garbage_and_missing_files_get_clear_errors() {
    let runtime = runtime(Limits::default());
    let core = runtime
        .load_bytes(b"\0asm\x01\0\0\0", "core.wasm")
        .await
        .err()
        .unwrap();
    assert!(
        core.to_string()
            .contains("core.wasm is a core WebAssembly module, not a component"),
        "{core}"
    );
    let garbage = runtime
        .load_bytes(b"#!/bin/sh\necho hi\n", "script.wasm")
        .await
        .err()
        .unwrap();
    assert!(
        garbage
            .to_string()
            .contains("script.wasm is not a WebAssembly file"),
        "{garbage}"
    );
    let truncated = std::fs::read(guest("fixture_directory")).unwrap();
    let truncated = runtime
        .load_bytes(&truncated[..truncated.len() / 2], "half.wasm")
        .await
        .err()
        .unwrap();
    assert!(
        matches!(truncated, LoadError::Invalid { .. }),
        "{truncated}"
    );
    assert!(
        truncated
            .to_string()
            .starts_with("half.wasm is not a valid WebAssembly component"),
        "{truncated}"
    );
    let missing = runtime
        .load_file(std::path::Path::new("/nonexistent/x.wasm"))
        .await
        .err()
        .unwrap();
    assert!(
        missing
            .to_string()
            .starts_with("cannot read connector /nonexistent/x.wasm"),
        "{missing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_built_for_contract_0_2_0_loads_and_syncs_in_this_0_2_2_host() {
    let runtime = runtime(Limits::default());
    let old = runtime
        .load_file(&guest("fixture_contract_0_2_0"))
        .await
        .expect("a patch-level change to the contract keeps 0.2.0 connectors loading");
    assert_eq!(old.descriptor().label(), "directory-0-2-0@0.2.0");
    assert!(
        old.links().await.unwrap().is_empty(),
        "0.2.0 has no `about`: no links, no error"
    );

    let fake = DirectoryFake::start("old-key", seed_users(150, 0)).await;
    let conn = loopback_connection(&old, &fake.url(), "old-key");
    old.validate(&conn).await.unwrap();
    let (accounts, pages) = seatwarden_tests::fixtures::all_accounts(&old, &conn).await;
    assert_eq!((accounts.len(), pages), (150, 2));
    old.deactivate_user(&conn, "u-00003").await.unwrap();
    assert!(!fake.users()[3].active, "writes work too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_built_for_contract_0_2_1_keeps_its_links_and_declares_no_vendor_terms() {
    let runtime = runtime(Limits::default());
    let old = runtime
        .load_file(&guest("fixture_contract_0_2_1"))
        .await
        .expect("a patch-level change to the contract keeps 0.2.1 connectors loading");
    assert_eq!(old.descriptor().label(), "directory-0-2-1@0.2.1");
    assert_eq!(
        old.links().await.unwrap(),
        [(
            "Fixture home".to_string(),
            "https://directory.example/seatwarden".to_string()
        )],
        "its 0.2.1 `about` is still found by this host"
    );
    assert_eq!(
        old.vendor_terms(),
        &seatwarden_sandbox::declarations::VendorTerms::default(),
        "no `vendor` interface: nothing declared, nothing dropped"
    );
    assert_eq!(old.vendor_terms().host_rate().to_string(), "20/s");

    let fake = DirectoryFake::start("old-key", seed_users(150, 0)).await;
    let conn = loopback_connection(&old, &fake.url(), "old-key");
    old.validate(&conn).await.unwrap();
    let (accounts, pages) = seatwarden_tests::fixtures::all_accounts(&old, &conn).await;
    assert_eq!((accounts.len(), pages), (150, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_built_for_0_2_2_declare_their_vendors_terms() {
    let runtime = runtime(Limits::default());
    let smartsheet = runtime.load_file(&guest("smartsheet")).await.unwrap();
    let terms = smartsheet.vendor_terms();
    assert!(terms.exported);
    assert_eq!(
        terms.rate_limit.map(|r| r.to_string()).as_deref(),
        Some("300/min")
    );
    let identifiers: Vec<&str> = terms.models.iter().map(|m| m.identifier.as_str()).collect();
    assert_eq!(
        identifiers,
        [
            "MEMBER",
            "PROVISIONAL_MEMBER",
            "GUEST",
            "VIEWER",
            "CONTRIBUTOR",
            "LICENSED_SHEET_CREATOR",
            "FREE_COLLABORATOR"
        ]
    );
    assert!(terms.dropped.is_empty(), "{:?}", terms.dropped);

    let hostile = runtime.load_file(&guest("fixture_hostile")).await.unwrap();
    let terms = hostile.vendor_terms();
    assert_eq!(terms.host_rate().to_string(), "20/s", "held to the default");
    assert_eq!(terms.models.len(), 500);
    assert_eq!(terms.models[0].identifier, "SEAT");
    assert_eq!(
        terms.models[0].model.edition, "Seat",
        "the first declaration wins"
    );
    assert!(
        terms
            .models
            .iter()
            .all(|m| { m.identifier.starts_with("ROLE-") || m.identifier == "SEAT" })
    );
    assert_eq!(terms.dropped.len(), 6, "{:?}", terms.dropped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_built_for_0_2_1_may_export_links_for_operators() {
    let runtime = runtime(Limits::default());
    let smartsheet = runtime.load_file(&guest("smartsheet")).await.unwrap();
    let links = smartsheet.links().await.unwrap();
    assert!(
        links
            .iter()
            .any(|(title, url)| title == "Event Reporting" && url.starts_with("https://")),
        "{links:?}"
    );
    let directory = runtime
        .load_file(&guest("fixture_directory"))
        .await
        .unwrap();
    assert!(
        directory.links().await.unwrap().is_empty(),
        "the SDK exports an empty `about` for connectors without links"
    );
}
