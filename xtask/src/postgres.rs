//! The PostgreSQL server the tests run against: the machine's own when it
//! has one (15 or newer), else Debian's `postgresql` package, installed
//! here. The tests make and start their clusters under `target/` with it
//! (see `tests/src/postgres.rs`); this stops the shared one after them.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable that tells the tests where the server's programs are.
pub const BIN_DIR_VARIABLE: &str = "SEATWARDEN_TEST_POSTGRES_BIN";

/// The oldest server the store supports.
const OLDEST: u32 = 15;

/// The folder of a PostgreSQL server's programs, installing Debian's
/// package when there is none.
pub fn ensure_server() -> Result<PathBuf> {
    if let Some(found) = find() {
        return Ok(found);
    }
    crate::apt_install(
        &["postgresql"],
        "the store's tests need a PostgreSQL server",
    )?;
    match find() {
        Some(found) => Ok(found),
        None => bail!(
            "Debian's postgresql package installed no server of version {OLDEST} or newer under /usr/lib/postgresql"
        ),
    }
}

/// `pg_config --bindir` when it names a new enough server, else the
/// newest of Debian's `/usr/lib/postgresql/<version>/bin`.
fn find() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if version(&dir).is_some_and(|v| v >= OLDEST) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter_map(|bin| Some((version(&bin)?, bin)))
        .filter(|(v, _)| *v >= OLDEST)
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// The major version of the server in `bin`, from `postgres --version`.
fn version(bin: &Path) -> Option<u32> {
    let out = Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let number = text
        .split_whitespace()
        .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))?;
    number.split('.').next()?.parse().ok()
}

/// Stops the cluster the tests shared, if one is running.
pub fn stop_shared(root: &Path, bin: &Path) {
    // The tests write where they put it (under target/, or elsewhere when
    // the postgres user cannot enter this checkout).
    let Ok(dir) = std::fs::read_to_string(root.join("target/test-postgres/shared.path")) else {
        return;
    };
    let data = PathBuf::from(dir).join("data");
    if !data.join("postmaster.pid").exists() {
        return;
    }
    let mut pg_ctl = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join("pg_ctl"));
        c
    } else {
        Command::new(bin.join("pg_ctl"))
    };
    pg_ctl
        .arg("-D")
        .arg(&data)
        .args(["-w", "-m", "fast", "stop"]);
    if let Err(err) = crate::run(&mut pg_ctl) {
        eprintln!("xtask: the tests' PostgreSQL server did not stop: {err:#}");
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}
