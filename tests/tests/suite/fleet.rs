//! Several `seatwarden serve` processes on one PostgreSQL database, as a
//! fleet runs: every due job runs once, by whichever host claims it, and a
//! host killed with SIGKILL in the middle of a sync loses nothing: another
//! host takes its job over and resumes at the stored cursor, storing no
//! account twice. The hosts are real processes of the built binary; the
//! vendor is the SmartRecruiters fake, shared by every profile through one
//! credential.

use seatwarden_store::{JobRun, Storage};
use seatwarden_tests::fixtures::{guest, now_ms, repo_root, seatwarden_command};
use seatwarden_tests::smartrecruiters_fake::{Fault, SmartRecruitersFake, seed_tenant};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "fleet-key";
const TENANTS: [&str; 3] = ["acme", "globex", "initech"];
const USERS: usize = 450;

/// A fleet's configuration: three tenants with two profiles each, all on
/// one vendor account, on a new PostgreSQL database. A hung vendor request
/// stays hung for minutes (not the default 30 s), so a test can find the
/// host it hangs on however slowly the other syncs finish.
struct Fleet {
    dir: PathBuf,
    config: PathBuf,
    url: String,
}

impl Fleet {
    fn new(name: &str, vendor: &SmartRecruitersFake) -> Fleet {
        let dir = repo_root()
            .join("target/test-tmp")
            .join(format!("fleet-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("sr.key");
        std::fs::write(&key, format!("{TOKEN}\n")).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let url = seatwarden_tests::postgres::new_database();
        let mut text = format!(
            "database = \"{url}\"\n\n[scheduler]\nlease = \"30s\"\nmax_concurrent_jobs = 2\n\n[limits]\nread_timeout = \"5m\"\nwall_clock = \"10m\"\n\n"
        );
        for tenant in TENANTS {
            text.push_str(&format!("[tenants.{tenant}]\n\n"));
            for n in 1..=2 {
                text.push_str(&format!(
                    "[connections.{tenant}-{n}]\ntenant = \"{tenant}\"\nconnector = \"{}\"\nbase_url = \"{}\"\nprivate_targets = \"allow-loopback\"\ncredential = {{ file = \"sr.key\" }}\n\n[profiles.{tenant}-{n}]\ntenant = \"{tenant}\"\nconnection = \"{tenant}-{n}\"\n\n",
                    guest("smartrecruiters").display(),
                    vendor.url()
                ));
            }
        }
        let config = dir.join("seatwarden.toml");
        std::fs::write(&config, text).unwrap();
        Fleet { dir, config, url }
    }

    fn profiles() -> Vec<(&'static str, String)> {
        TENANTS
            .iter()
            .flat_map(|t| (1..=2).map(move |n| (*t, format!("{t}-{n}"))))
            .collect()
    }

    /// `apply`, then validates and publishes every profile.
    fn publish(&self) {
        let mut steps = vec![vec!["apply".to_string()]];
        for (tenant, profile) in Fleet::profiles() {
            for step in ["validate", "publish"] {
                steps.push(vec![
                    "--tenant".into(),
                    tenant.into(),
                    "profile".into(),
                    step.into(),
                    profile.clone(),
                ]);
            }
        }
        for step in steps {
            let out = seatwarden_command(&self.config)
                .args(&step)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "seatwarden {step:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// Starts host `n`: `seatwarden serve` with no API, its log in the
    /// fleet's folder.
    fn host(&self, n: usize) -> Host {
        let log = self.dir.join(format!("host-{n}.log"));
        let child = seatwarden_command(&self.config)
            .args(["serve", "--no-listen"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(self.dir.join(format!("host-{n}.err"))).unwrap())
            .spawn()
            .expect("starting seatwarden serve");
        Host { child }
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(&self.dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "log" || e == "err") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                all.push_str(&format!("--- {}\n", path.display()));
                for line in tail.into_iter().rev() {
                    all.push_str(line);
                    all.push('\n');
                }
            }
        }
        all
    }
}

struct Host {
    child: Child,
}

impl Host {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every profile's users runs (scheduled), by profile name.
async fn users_runs(storage: &Storage) -> BTreeMap<String, Vec<JobRun>> {
    let mut runs = BTreeMap::new();
    for tenant in TENANTS {
        let id = storage.find_tenant(tenant).await.unwrap().unwrap();
        for run in storage
            .tenant_job_runs(id, None, false, 1000)
            .await
            .unwrap()
        {
            if run.kind == "subscriptions" {
                runs.entry(run.profile.clone())
                    .or_insert_with(Vec::new)
                    .push(run);
            }
        }
    }
    runs
}

/// Waits until every profile has a succeeded users run, looking at the
/// database (the hosts are other processes: there is nothing to wait on
/// but what they store), for at most `patience`.
async fn until_every_profile_synced(storage: &Storage, fleet: &Fleet, patience: Duration) {
    let deadline = Instant::now() + patience;
    loop {
        let runs = users_runs(storage).await;
        if runs.len() == Fleet::profiles().len()
            && runs
                .values()
                .all(|r| r.iter().any(|run| run.status == "succeeded"))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not every profile synced within {patience:?}: {runs:#?}\n{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the one hung sync is the only run left (every other
/// profile's users run succeeded) and returns its profile and the pid of
/// the host running it.
async fn the_hung_sync(storage: &Storage, fleet: &Fleet) -> (String, u32) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let runs = users_runs(storage).await;
        let running: Vec<(&String, &JobRun)> = runs
            .iter()
            .flat_map(|(p, r)| r.iter().map(move |run| (p, run)))
            .filter(|(_, run)| run.status == "running")
            .collect();
        let done = runs
            .values()
            .filter(|r| r.iter().any(|run| run.status == "succeeded"))
            .count();
        if running.len() == 1 && done == Fleet::profiles().len() - 1 {
            let (profile, run) = running[0];
            return (
                profile.clone(),
                run.owner.as_deref().and_then(owner_pid).unwrap(),
            );
        }
        assert!(
            Instant::now() < deadline,
            "expected one hung sync and the rest done: {runs:#?}\n{}",
            fleet.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The pid in a lease owner id (`host:pid:scope-nonce`).
fn owner_pid(owner: &str) -> Option<u32> {
    owner.split(':').nth(1)?.parse().ok()
}

/// Three hosts start together on one database with six due profiles:
/// each profile's users job runs exactly once, every account is stored
/// once, and the vendor never rate-limits the shared credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_run_each_due_job_once() {
    let vendor = SmartRecruitersFake::start(seed_tenant(TOKEN, USERS, now_ms())).await;
    let fleet = Fleet::new("once", &vendor);
    fleet.publish();
    let hosts: Vec<Host> = (1..=3).map(|n| fleet.host(n)).collect();
    let storage = Storage::connect_postgres(&fleet.url).await.unwrap();
    until_every_profile_synced(&storage, &fleet, Duration::from_secs(180)).await;

    let runs = users_runs(&storage).await;
    let pids: BTreeSet<u32> = hosts.iter().map(Host::pid).collect();
    for (profile, runs) in &runs {
        let scheduled: Vec<&JobRun> = runs.iter().filter(|r| r.trigger == "schedule").collect();
        assert_eq!(scheduled.len(), 1, "{profile}: {scheduled:#?}");
        let run = scheduled[0];
        assert_eq!(run.status, "succeeded", "{run:?}");
        assert_eq!((run.created, run.updated), (USERS as i64, 0), "{run:?}");
        let pid = run.owner.as_deref().and_then(owner_pid);
        assert!(
            pid.is_some_and(|p| pids.contains(&p)),
            "{run:?} ran on a fleet host"
        );
    }
    for (tenant, profile) in Fleet::profiles() {
        let id = storage.find_tenant(tenant).await.unwrap().unwrap();
        let profile = storage.find_profile(id, &profile).await.unwrap().unwrap();
        assert_eq!(storage.subscriptions(profile).await.unwrap().len(), USERS);
    }
    assert_eq!(
        vendor.rate_limited(),
        0,
        "the shared credential stayed within its limit"
    );
    drop(hosts);
}

/// A host killed with SIGKILL while it syncs (its vendor request hangs):
/// the job stays due, another host sees the owner is gone, takes the lease
/// and resumes the run at its stored cursor. Every account is stored once
/// (the attempts together create each exactly once and update none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_killed_mid_sync_has_its_job_taken_over_and_resumed() {
    let vendor = SmartRecruitersFake::start(seed_tenant(TOKEN, USERS, now_ms())).await;
    let fleet = Fleet::new("kill", &vendor);
    fleet.publish();
    // Requests after publishing: the fourth hangs, in the middle of
    // whichever host's sync makes it.
    let before = vendor.server.requests().len();
    vendor.inject([Fault::Pass, Fault::Pass, Fault::Pass, Fault::Hang]);
    let mut hosts: Vec<Host> = (1..=2).map(|n| fleet.host(n)).collect();
    vendor.server.wait_for_requests(before + 4).await;

    let storage = Storage::connect_postgres(&fleet.url).await.unwrap();
    // The hung sync is the one left running once every other profile's
    // users run has succeeded (the hosts' other job slots go on).
    let (victim_profile, victim_pid) = the_hung_sync(&storage, &fleet).await;
    let victim = hosts
        .iter()
        .position(|h| h.pid() == victim_pid)
        .expect("the running sync is a fleet host's");
    // SIGKILL: no shutdown, no lease release, the run stays "running".
    hosts[victim].child.kill().unwrap();
    hosts[victim].child.wait().unwrap();
    hosts.remove(victim);

    until_every_profile_synced(&storage, &fleet, Duration::from_secs(240)).await;
    let runs = users_runs(&storage).await;
    let attempts = &runs[&victim_profile];
    let succeeded: Vec<&JobRun> = attempts
        .iter()
        .filter(|r| r.status == "succeeded")
        .collect();
    assert_eq!(succeeded.len(), 1, "{attempts:#?}");
    let survivor = succeeded[0].owner.as_deref().and_then(owner_pid).unwrap();
    assert_ne!(
        survivor, victim_pid,
        "another host finished it: {attempts:#?}"
    );
    assert!(
        attempts
            .iter()
            .any(|r| r.owner.as_deref().and_then(owner_pid) == Some(victim_pid)),
        "the killed host's attempt stays in the history: {attempts:#?}"
    );
    assert_each_account_stored_once(&runs);
    for (tenant, profile) in Fleet::profiles() {
        let id = storage.find_tenant(tenant).await.unwrap().unwrap();
        let profile = storage.find_profile(id, &profile).await.unwrap().unwrap();
        assert_eq!(storage.subscriptions(profile).await.unwrap().len(), USERS);
    }
}

/// No account stored twice, none lost, over all attempts of every profile:
/// each profile's users runs together created every account once and
/// updated none.
fn assert_each_account_stored_once(runs: &BTreeMap<String, Vec<JobRun>>) {
    for (profile, attempts) in runs {
        let created: i64 = attempts.iter().map(|r| r.created).sum();
        let updated: i64 = attempts.iter().map(|r| r.updated).sum();
        assert_eq!(
            (created, updated),
            (USERS as i64, 0),
            "{profile}: {attempts:#?}"
        );
    }
}

/// Sends SIGTERM, as an operator (or a rolling upgrade) stops a host.
fn terminate(host: &mut Host) -> std::process::ExitStatus {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &host.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {}", host.pid());
    host.child.wait().unwrap()
}

/// A rolling restart: the host whose sync is in flight (its vendor request
/// hangs) is stopped with SIGTERM, as an upgrade stops hosts one at a
/// time. It ends cleanly, records its run as interrupted and gives its
/// lease up, and the other host, idle by then, runs the job again within
/// one lease (30 s here) of the interruption, resuming at the stored
/// cursor: every account stored once, none twice. Then a new host takes
/// the stopped one's place and the other old host is stopped too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_leaves_no_due_job_unrun_for_longer_than_a_lease() {
    const LEASE_MS: i64 = 30_000;
    let vendor = SmartRecruitersFake::start(seed_tenant(TOKEN, USERS, now_ms())).await;
    let fleet = Fleet::new("rolling", &vendor);
    fleet.publish();
    let before = vendor.server.requests().len();
    vendor.inject([Fault::Pass, Fault::Pass, Fault::Pass, Fault::Hang]);
    let mut old_hosts: Vec<Host> = (1..=2).map(|n| fleet.host(n)).collect();
    vendor.server.wait_for_requests(before + 4).await;

    let storage = Storage::connect_postgres(&fleet.url).await.unwrap();
    let (hung_profile, hung_pid) = the_hung_sync(&storage, &fleet).await;
    let first = old_hosts
        .iter()
        .position(|h| h.pid() == hung_pid)
        .expect("the running sync is a fleet host's");
    let mut stopping = old_hosts.remove(first);
    let status = terminate(&mut stopping);
    assert!(
        status.success(),
        "the host stops cleanly on SIGTERM: {status}\n{}",
        fleet.logs()
    );
    // The other old host, still running, takes the job over (its
    // replacement starts only afterwards, so it is the survivor's own look
    // at the schedule that must come in time).
    until_every_profile_synced(&storage, &fleet, Duration::from_secs(240)).await;
    let runs = users_runs(&storage).await;
    let attempts = &runs[&hung_profile];
    let interrupted: Vec<&JobRun> = attempts
        .iter()
        .filter(|r| r.owner.as_deref().and_then(owner_pid) == Some(hung_pid))
        .collect();
    assert_eq!(interrupted.len(), 1, "{attempts:#?}");
    assert_eq!(
        interrupted[0].status, "interrupted",
        "the stopped host recorded its run: {attempts:#?}"
    );
    let stopped_at = interrupted[0]
        .finished_at
        .expect("an interrupted run has an end");
    let succeeded: Vec<&JobRun> = attempts
        .iter()
        .filter(|r| r.status == "succeeded")
        .collect();
    assert_eq!(succeeded.len(), 1, "{attempts:#?}");
    assert_ne!(
        succeeded[0].owner.as_deref().and_then(owner_pid),
        Some(hung_pid)
    );
    assert_eq!(
        succeeded[0].resumes,
        Some(interrupted[0].id),
        "resumed at the stopped run's cursor: {attempts:#?}"
    );
    let unrun_for = succeeded[0].started_at - stopped_at;
    assert!(
        unrun_for <= LEASE_MS,
        "the job waited {unrun_for} ms after its host stopped, more than one lease: {attempts:#?}\n{}",
        fleet.logs()
    );
    assert_each_account_stored_once(&runs);
    // The upgrade goes on: the replacement starts, and the rest of the old
    // fleet stops the same way, cleanly.
    let _replacement = fleet.host(3);
    for mut host in old_hosts {
        let status = terminate(&mut host);
        assert!(status.success(), "{status}\n{}", fleet.logs());
    }
}
