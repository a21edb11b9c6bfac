//! Real PostgreSQL servers for the tests: a cluster under `target/`, made
//! with the machine's own `initdb` and `postgres` (Debian's package, which
//! `cargo xtask test` installs when it is missing), on a loopback port.
//!
//! Most tests share one server, started by the first test that needs it
//! (a lock file keeps two test processes from both starting one) and
//! stopped by `cargo xtask test` when the run ends; each test gets a
//! database of its own on it. A test that stops and starts its server (a
//! database restarting mid-sync) starts a cluster of its own.

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where the shared cluster lives.
fn shared_dir() -> PathBuf {
    clusters_dir().join("shared")
}

/// Where the tests' clusters live: `target/test-postgres`, unless the
/// tests run as root in a checkout the `postgres` user cannot enter (a
/// clone under `/root`): then a folder of this checkout's own under the
/// system's temporary folder. `target/test-postgres/shared.path` names the
/// shared cluster's folder either way (`cargo xtask test` reads it to stop
/// the server).
pub fn clusters_dir() -> PathBuf {
    let under_target = crate::fixtures::repo_root().join("target/test-postgres");
    std::fs::create_dir_all(&under_target).unwrap();
    if !is_root() {
        return under_target;
    }
    let reachable = Command::new("runuser")
        .args(["-u", "postgres", "--", "test", "-x"])
        .arg(&under_target)
        .status()
        .is_ok_and(|status| status.success());
    if reachable {
        return under_target;
    }
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    under_target.hash(&mut hasher);
    let dir =
        std::env::temp_dir().join(format!("seatwarden-test-postgres-{:016x}", hasher.finish()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The folder with `initdb`, `pg_ctl` and `postgres`: where `cargo xtask
/// test` found or installed them, else `pg_config --bindir` when it is on
/// PATH, else the newest of Debian's `/usr/lib/postgresql/<version>/bin`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SEATWARDEN_TEST_POSTGRES_BIN") {
        return PathBuf::from(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).expect(
        "no PostgreSQL server here: run the tests with `cargo xtask test` (it installs Debian's postgresql), or install PostgreSQL 15 or newer",
    )
}

/// When the tests run as root, the server runs as `postgres` (it refuses
/// root), so the files it reads or writes must be that user's: `path`, and
/// everything under it if it is a folder.
fn give_to_postgres(path: &Path) {
    if is_root() {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres"]).arg(path);
        run(chown, "giving a file to the postgres user");
    }
}

/// Whether this process runs as root, where PostgreSQL refuses to run
/// and the tests run its tools as the `postgres` user instead.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// `tool` from the server's folder, as the user PostgreSQL may run as.
fn tool(tool: &str) -> Command {
    let path = bin_dir().join(tool);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL cluster of the tests' own, on a loopback port.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    /// Whether commits reach the disk (`fsync` on, PostgreSQL's defaults),
    /// as in production; the tests' clusters skip it for speed.
    durable: bool,
}

impl Cluster {
    /// Makes a new cluster in `dir` (emptied first) and starts it, with
    /// `fsync` off: a test's data need not survive a power cut.
    pub fn create(dir: &Path) -> Cluster {
        Cluster::make(dir, false)
    }

    /// Makes a new cluster in `dir` (emptied first) and starts it with
    /// PostgreSQL's durable defaults (`fsync`, full page writes,
    /// synchronous commit), as an operator runs it: for measurements.
    pub fn create_durable(dir: &Path) -> Cluster {
        Cluster::make(dir, true)
    }

    fn make(dir: &Path, durable: bool) -> Cluster {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        give_to_postgres(dir);
        let mut initdb = tool("initdb");
        initdb.arg("-D").arg(dir.join("data")).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run(initdb, "initdb");
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            port: free_port(),
            durable,
        };
        std::fs::write(dir.join("port"), cluster.port.to_string()).unwrap();
        cluster.start();
        cluster.ensure_app_role();
        cluster
    }

    /// Creates the role Seatwarden connects as, if it is missing: one that
    /// may log in and own databases but is neither a superuser nor
    /// exempt from row-level security, as the README tells operators.
    fn ensure_app_role(&self) {
        let mut psql = Command::new(bin_dir().join("psql"));
        psql.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "--dbname"])
            .arg(self.admin_url("postgres"))
            .arg("-c")
            .arg(format!(
                "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            ));
        run(psql, "creating the application role");
    }

    /// The cluster in `dir` that another process made and started.
    fn existing(dir: &Path) -> Option<Cluster> {
        let port = std::fs::read_to_string(dir.join("port")).ok()?;
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            port: port.trim().parse().ok()?,
            durable: false,
        };
        if cluster.accepts_within(Duration::ZERO) {
            cluster.ensure_app_role();
            Some(cluster)
        } else {
            // Not ours to stop: whatever is (or was) there, dropping this
            // value must not run `pg_ctl stop` on it.
            std::mem::forget(cluster);
            None
        }
    }

    /// Makes the server accept TCP connections only over TLS, with
    /// `identity` as its certificate (as a managed or hardened server is
    /// set up: `hostssl` lines, a `hostnossl ... reject`), and restarts it.
    /// Connections on its socket stay as they were.
    pub fn require_tls(&self, identity: &crate::tls::ServerIdentity) {
        let data = self.dir.join("data");
        let write_private = |name: &str, text: &str| {
            let path = data.join(name);
            std::fs::write(&path, text).unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            give_to_postgres(&path);
        };
        write_private("server.crt", &identity.certificate_pem);
        write_private("server.key", &identity.key_pem);
        write_private(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n",
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).unwrap();
        self.stop();
        self.start();
    }

    /// Starts the server and waits until it accepts connections.
    pub fn start(&self) {
        let mut pg_ctl = tool("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300{}",
                self.port,
                self.dir.display(),
                if self.durable {
                    // Measurements also want to know where the time goes.
                    " -c shared_preload_libraries=pg_stat_statements"
                } else {
                    " -c fsync=off -c full_page_writes=off"
                }
            ))
            .arg("start");
        run(pg_ctl, "starting PostgreSQL");
        assert!(
            self.accepts_within(Duration::from_secs(30)),
            "PostgreSQL started but refuses connections"
        );
    }

    /// Stops the server (fast shutdown: open sessions are ended, as when
    /// an operator restarts it).
    pub fn stop(&self) {
        let mut pg_ctl = tool("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-w", "-m", "fast", "stop"]);
        run(pg_ctl, "stopping PostgreSQL");
    }

    /// Whether the server accepts connections, asking until `patience` has
    /// passed.
    fn accepts_within(&self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        loop {
            if let Ok(mut stream) = TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.port).into(),
                Duration::from_secs(1),
            ) {
                // A server still starting up closes the connection; one
                // that is up waits for the startup message.
                stream
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut byte = [0u8; 1];
                if matches!(stream.read(&mut byte), Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut)
                {
                    return true;
                }
            }
            if Instant::now() >= deadline {
                return false;
            }
            // Polling a process this crate does not control: nothing to
            // wait on but the port.
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL of database `name` on this server, as Seatwarden's role.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{APP_ROLE}@127.0.0.1:{}/{name}", self.port)
    }

    /// The URL of database `name` as the superuser, which row-level
    /// security does not bind: for tests acting as someone with full
    /// access to the server.
    pub fn admin_url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a new, empty database (with `createdb`: no runtime needed,
    /// so configuration files can name it) and returns its URL.
    pub fn new_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}_{}",
            std::process::id(),
            jiff::Timestamp::now().as_millisecond(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut createdb = Command::new(bin_dir().join("createdb"));
        createdb.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-O",
            APP_ROLE,
            &name,
        ]);
        run(createdb, "createdb");
        self.url(&name)
    }
}

/// Which engine the tests that drive the host through its configuration
/// use: PostgreSQL when `SEATWARDEN_TEST_DATABASE=postgres` (the second
/// pass of `cargo xtask test`), else SQLite.
pub fn configured_engine() -> seatwarden_store::Engine {
    match std::env::var("SEATWARDEN_TEST_DATABASE").as_deref() {
        Ok("postgres") => seatwarden_store::Engine::Postgres,
        _ => seatwarden_store::Engine::Sqlite,
    }
}

impl Drop for Cluster {
    /// A cluster of a test's own stops with the test, even one that failed
    /// (the shared one lives in a static, which is never dropped).
    fn drop(&mut self) {
        if self.dir.join("data/postmaster.pid").exists() {
            let mut pg_ctl = tool("pg_ctl");
            pg_ctl
                .arg("-D")
                .arg(self.dir.join("data"))
                .args(["-w", "-m", "immediate", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let _ = pg_ctl.status();
        }
    }
}

/// The server the tests share, started by the first that asks.
pub fn shared() -> &'static Cluster {
    static SHARED: std::sync::OnceLock<Cluster> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = shared_dir();
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        std::fs::write(
            crate::fixtures::repo_root().join("target/test-postgres/shared.path"),
            dir.as_os_str().as_encoded_bytes(),
        )
        .unwrap();
        let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
        lock.lock().unwrap();
        let cluster = Cluster::existing(&dir).unwrap_or_else(|| Cluster::create(&dir));
        lock.unlock().unwrap();
        cluster
    })
}

/// A new, empty database on the shared server.
pub fn new_database() -> String {
    shared().new_database()
}

/// The role Seatwarden connects as in the tests.
pub const APP_ROLE: &str = "seatwarden";

/// `url` (one of [`Cluster::url`]'s) as the superuser instead.
pub fn as_admin(url: &str) -> String {
    url.replacen(
        &format!("postgres://{APP_ROLE}@"),
        "postgres://postgres@",
        1,
    )
}

/// A superuser URL ([`Cluster::admin_url`]) as Seatwarden's role instead.
pub fn as_app(url: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        &format!("postgres://{APP_ROLE}@"),
        1,
    )
}

/// Every row of the database at `url`, as `pg_dump` writes it (as the
/// superuser, so every tenant's rows).
pub fn dump(url: &str) -> Vec<u8> {
    let out = Command::new(bin_dir().join("pg_dump"))
        .args(["--data-only", "--dbname", &as_admin(url)])
        .stdin(Stdio::null())
        .output()
        .expect("running pg_dump");
    assert!(
        out.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
