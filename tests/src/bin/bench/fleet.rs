//! The fleet rows: many tenants synced through the wasm connector by one,
//! two and three `seatwarden serve` host processes sharing one PostgreSQL
//! database, as a deployment that outgrew one host runs them.
//!
//! Each row gets a fresh database and a configuration of its own: every
//! tenant has one SmartRecruiters connection (its own credential file, so
//! its own rate-limit bucket at the vendor's 10 requests per second) and one
//! profile with activity off. This process applies, validates and publishes
//! every profile through the application's own operations, serves the
//! SmartRecruiters fake all tenants page through, then starts the hosts
//! together and times until every profile's scheduled users run has
//! succeeded. It reads what it reports from the database (runs per host
//! owner, stored subscriptions) and from `/proc` (each host's peak RSS and
//! CPU time, the machine's busy time), so the CPU the database server used
//! is the machine's busy time less the hosts' and this process's.

use anyhow::{Context, Result, bail};
use seatwarden_tests::fixtures::{guest, repo_root};
use seatwarden_tests::postgres::Cluster;
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Tenants and users per tenant (`SEATWARDEN_BENCH_FLEET_TENANTS` and
/// `SEATWARDEN_BENCH_FLEET_USERS` override them for a quicker look).
const TENANTS: usize = 10_000;
const USERS: usize = 1_000;
/// The host counts measured, one row each.
const HOSTS: [usize; 3] = [1, 2, 3];
/// Jobs each host runs at once (`[scheduler] max_concurrent_jobs`).
const JOBS_PER_HOST: usize = 100;
/// How long a row may take before the bench gives up on it.
const PATIENCE: Duration = Duration::from_secs(3 * 3600);
const TOKEN: &str = "fleet-bench-key";

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one row measured.
struct Measured {
    hosts: usize,
    seconds: f64,
    /// Per host: peak RSS (KiB), CPU seconds, users runs it finished.
    per_host: Vec<(u64, f64, u64)>,
    /// CPU seconds of the whole machine while the hosts ran, and of this
    /// process (the fake) over the same time.
    machine_cpu: f64,
    bench_cpu: f64,
    /// Users runs that ended otherwise than succeeded (retried ones).
    not_succeeded: u64,
    database_mib: f64,
}

/// Runs every row and renders the table.
pub async fn table(server: &Cluster) -> Result<String> {
    let tenants = setting("SEATWARDEN_BENCH_FLEET_TENANTS", TENANTS);
    let users = setting("SEATWARDEN_BENCH_FLEET_USERS", USERS);
    let admin = server.admin_url("postgres");
    let vendor = {
        use seatwarden_tests::smartrecruiters_fake::{
            SmartRecruitersFake, SrTenant, seed_users_only,
        };
        SmartRecruitersFake::start(SrTenant {
            rate_limit: None,
            ..seed_users_only(TOKEN, users, seatwarden_tests::fixtures::now_ms())
        })
        .await
    };
    // Applying, validating and publishing thousands of profiles takes
    // minutes: it is done once, into a template every row copies.
    let fleet = FleetDir::create(&vendor.url(), tenants)?;
    let template = crate::engines::database_name("fleet_template");
    create_database(&admin, &template, None).await?;
    let setup_seconds = setup(&fleet, &crate::engines::app_url(&admin, &template), tenants).await;
    let mut rows = Vec::new();
    let result = async {
        let setup_seconds = setup_seconds?;
        for hosts in HOSTS {
            let name = crate::engines::database_name(&format!("fleet{hosts}"));
            create_database(&admin, &name, Some(&template)).await?;
            let config = fleet.config(&crate::engines::app_url(&admin, &name))?;
            let measured = measure(&fleet, &config, hosts, &admin, &name, tenants, users).await;
            crate::engines::drop_database(&admin, &name).await?;
            let measured = measured.with_context(|| format!("the {hosts}-host row"))?;
            eprintln!(
                "fleet: {hosts} host(s): {:.1} s, {:?}",
                measured.seconds, measured.per_host
            );
            rows.push(measured);
        }
        anyhow::Ok(setup_seconds)
    }
    .await;
    crate::engines::drop_database(&admin, &template).await?;
    let setup_seconds = result?;
    let _ = std::fs::remove_dir_all(&fleet.dir);
    Ok(render(&rows, tenants, users, setup_seconds))
}

fn render(rows: &[Measured], tenants: usize, users: usize, setup_seconds: f64) -> String {
    let total = (tenants * users) as f64;
    let mut out = format!(
        "\n### Fleet: {tenants} tenants × {users} users on one PostgreSQL, synced through the wasm connector by 1, 2 and 3 `seatwarden serve` processes (1 run each)\n\n\
         | hosts | total time | users/s | peak RSS per host | users runs per host (balance) | CPU s per host | CPU s: machine / hosts / fake / database (rest) | runs retried | database size |\n\
         |---:|---:|---:|---|---|---|---|---:|---:|\n"
    );
    for row in rows {
        let join = |f: &dyn Fn(&(u64, f64, u64)) -> String| {
            row.per_host.iter().map(f).collect::<Vec<_>>().join(" / ")
        };
        let hosts_cpu: f64 = row.per_host.iter().map(|h| h.1).sum();
        out.push_str(&format!(
            "| {} | {:.0} s | {:.0} | {} | {} | {} | {:.0} / {:.0} / {:.0} / {:.0} | {} | {:.0} MiB |\n",
            row.hosts,
            row.seconds,
            total / row.seconds,
            join(&|h| format!("{} MiB", h.0 / 1024)),
            join(&|h| h.2.to_string()),
            join(&|h| format!("{:.0}", h.1)),
            row.machine_cpu,
            hosts_cpu,
            row.bench_cpu,
            (row.machine_cpu - hosts_cpu - row.bench_cpu).max(0.0),
            row.not_succeeded,
            row.database_mib,
        ));
    }
    out.push_str(&format!(
        "\nBefore the rows, applying, validating (one vendor call each) and publishing the {tenants} profiles through the application took {setup_seconds:.0} s, 8 at a time; each row starts from a copy of that database.\n"
    ));
    out
}

/// The fleet's folder: one credential file per tenant, and a
/// configuration per database.
struct FleetDir {
    dir: PathBuf,
    /// Every table but `database`.
    body: String,
}

impl FleetDir {
    fn create(vendor: &str, tenants: usize) -> Result<FleetDir> {
        let dir = repo_root()
            .join("target/bench-fleet")
            .join(std::process::id().to_string());
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("keys"))?;
        let connector = guest("smartrecruiters");
        let mut body =
            format!("[scheduler]\nmax_concurrent_jobs = {JOBS_PER_HOST}\nlease = \"2m\"\n\n");
        for t in 0..tenants {
            let tenant = format!("t{t:05}");
            let key = dir.join("keys").join(format!("{tenant}.key"));
            std::fs::write(&key, format!("{TOKEN}\n"))?;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
            body.push_str(&format!(
                "[tenants.{tenant}]\n\n\
                 [connections.{tenant}]\ntenant = \"{tenant}\"\nconnector = \"{}\"\nbase_url = \"{vendor}\"\nprivate_targets = \"allow-loopback\"\ncredential = {{ file = \"keys/{tenant}.key\" }}\n\n\
                 [profiles.{tenant}]\ntenant = \"{tenant}\"\nconnection = \"{tenant}\"\ndownload_activity = false\n\n",
                connector.display()
            ));
        }
        Ok(FleetDir { dir, body })
    }

    /// Writes the configuration on database `url` and returns its path.
    fn config(&self, url: &str) -> Result<PathBuf> {
        let name = url.rsplit('/').next().unwrap_or("fleet");
        let path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&path, format!("database = \"{url}\"\n\n{}", self.body))?;
        Ok(path)
    }
}

/// Applies, validates and publishes every tenant's profile, as an
/// operator's `apply`, `profile validate` and `profile publish` do, a few
/// tenants at a time.
async fn setup(fleet: &FleetDir, url: &str, tenants: usize) -> Result<f64> {
    use futures_util::{StreamExt, TryStreamExt};
    use seatwarden_app::profiles::Profiles;
    let config = seatwarden_config::Config::load(&fleet.config(url)?)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("reading the fleet's configuration")?;
    let app = seatwarden_app::wiring::App::open(
        config,
        Some(repo_root().join("target/test-compile-cache")),
    )
    .await?;
    let t = Instant::now();
    futures_util::stream::iter(0..tenants)
        .map(|t| {
            let app = &app;
            async move {
                let (tenant_name, tenant) = app.tenant(Some(&format!("t{t:05}"))).await?;
                let profiles = Profiles {
                    app,
                    tenant,
                    tenant_name: tenant_name.clone(),
                    actor: "bench".into(),
                };
                profiles.apply().await?;
                let validation = profiles.validate(&tenant_name).await?;
                anyhow::ensure!(validation.passed, "{tenant_name}: {:?}", validation.detail);
                profiles.publish(&tenant_name).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    let seconds = t.elapsed().as_secs_f64();
    eprintln!("fleet: {tenants} profiles applied, validated and published in {seconds:.0} s");
    drop(app);
    Ok(seconds)
}

/// Starts `hosts` hosts together and waits until every profile's users
/// run has succeeded; then reads what each host did and stops them.
async fn measure(
    fleet: &FleetDir,
    config: &std::path::Path,
    hosts: usize,
    admin: &str,
    database: &str,
    tenants: usize,
    users: usize,
) -> Result<Measured> {
    let mut conn = sqlx::PgConnection::connect(&crate::engines::admin_url(admin, database)).await?;
    sqlx::raw_sql("SELECT pg_stat_statements_reset()")
        .execute(&mut conn)
        .await?;
    let machine_before = machine_busy_seconds()?;
    let bench_before = cpu_seconds("self")?;
    let t = Instant::now();
    let mut children: Vec<Child> = (1..=hosts)
        .map(|n| start_host(fleet, config, n))
        .collect::<Result<_>>()?;
    let outcome = async {
        loop {
            let done: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM job_runs WHERE kind = 'subscriptions' AND status = 'succeeded'",
            )
            .fetch_one(&mut conn)
            .await?;
            if done as usize >= tenants {
                break;
            }
            for (n, child) in children.iter_mut().enumerate() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "host {} ended ({status}) with {done} of {tenants} synced:\n{}",
                        n + 1,
                        log_tail(fleet, n + 1)
                    );
                }
            }
            if t.elapsed() > PATIENCE {
                bail!("{done} of {tenants} synced after {PATIENCE:?}");
            }
            // The hosts are other processes: nothing to wait on but what
            // they store.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        anyhow::Ok(())
    }
    .await;
    let seconds = t.elapsed().as_secs_f64();
    let machine_cpu = machine_busy_seconds()? - machine_before;
    let bench_cpu = cpu_seconds("self")? - bench_before;
    let mut host_stats = Vec::new();
    for child in &children {
        let pid = child.id().to_string();
        host_stats.push((
            crate::status_kib(&pid, "VmHWM:")?,
            cpu_seconds(&pid)?,
            child.id(),
        ));
    }
    for child in &mut children {
        stop(child);
    }
    outcome?;
    report_statements(&mut conn).await?;
    let mut runs_by_pid: BTreeMap<u32, u64> = BTreeMap::new();
    for row in sqlx::query(
        "SELECT owner, count(*) AS runs FROM job_runs WHERE kind = 'subscriptions' AND status = 'succeeded' GROUP BY owner",
    )
    .fetch_all(&mut conn)
    .await?
    {
        let owner: Option<String> = row.get("owner");
        let pid = owner
            .as_deref()
            .and_then(|o| o.split(':').nth(1))
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        *runs_by_pid.entry(pid).or_default() += row.get::<i64, _>("runs") as u64;
    }
    let not_succeeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM job_runs WHERE kind = 'subscriptions' AND status <> 'succeeded'",
    )
    .fetch_one(&mut conn)
    .await?;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM subscriptions")
        .fetch_one(&mut conn)
        .await?;
    anyhow::ensure!(
        stored as usize == tenants * users,
        "{stored} subscriptions stored, expected {}",
        tenants * users
    );
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(Measured {
        hosts,
        seconds,
        per_host: host_stats
            .into_iter()
            .map(|(rss, cpu, pid)| (rss, cpu, runs_by_pid.get(&pid).copied().unwrap_or(0)))
            .collect(),
        machine_cpu,
        bench_cpu,
        not_succeeded: not_succeeded as u64,
        database_mib: bytes as f64 / 1024.0 / 1024.0,
    })
}

/// The built `seatwarden` beside this bench binary.
fn seatwarden_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let path = exe
        .parent()
        .context("the bench binary's folder")?
        .join("seatwarden");
    anyhow::ensure!(
        path.exists(),
        "{} is missing: `cargo xtask bench` builds it",
        path.display()
    );
    Ok(path)
}

fn start_host(fleet: &FleetDir, config: &std::path::Path, n: usize) -> Result<Child> {
    let log = |ext: &str| std::fs::File::create(fleet.dir.join(format!("host-{n}.{ext}")));
    Command::new(seatwarden_binary()?)
        .arg("--config")
        .arg(config)
        .arg("--cache-dir")
        .arg(repo_root().join("target/test-compile-cache"))
        .args(["serve", "--no-listen"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log("log")?)
        .stderr(log("err")?)
        .spawn()
        .context("starting seatwarden serve")
}

/// SIGTERM, as an operator stops a host, and waits for it to end.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
}

fn log_tail(fleet: &FleetDir, n: usize) -> String {
    let text = std::fs::read_to_string(fleet.dir.join(format!("host-{n}.err"))).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// Creates database `name` (see [`crate::engines::create_database`]) with
/// `pg_stat_statements`, to say where the database's time went.
async fn create_database(admin: &str, name: &str, template: Option<&str>) -> Result<()> {
    crate::engines::create_database(admin, name, template).await?;
    let mut conn = sqlx::PgConnection::connect(&crate::engines::admin_url(admin, name)).await?;
    sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    Ok(())
}

/// The statements that took the database server's time during a row, to
/// standard error: the ten with the most total execution time.
async fn report_statements(conn: &mut sqlx::PgConnection) -> Result<()> {
    let rows = sqlx::query(
        "SELECT calls, total_exec_time, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
         FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
         ORDER BY total_exec_time DESC LIMIT 10",
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in rows {
        eprintln!(
            "fleet: db {:>9} calls {:>9.0} ms  {}",
            row.get::<i64, _>("calls"),
            row.get::<f64, _>("total_exec_time"),
            row.get::<String, _>("query")
        );
    }
    Ok(())
}

/// Clock ticks per second of `/proc`'s times (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;

/// A process's user + system CPU time in seconds.
fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at 3.
    let after = &stat[stat.rfind(')').context("a /proc stat line")? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    Ok(ticks as f64 / TICKS)
}

/// The machine's busy CPU time so far (every core), in seconds.
fn machine_busy_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let cpu = stat.lines().next().context("/proc/stat")?;
    let values: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    let busy: u64 = values
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Ok(busy as f64 / TICKS)
}
