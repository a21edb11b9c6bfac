//! `cargo xtask`: the project's own build, test, demo and bench commands.
//!
//! The native workspace and the wasm workspaces (`components/`,
//! `tests/guests/`) need different targets, so one command has to drive both:
//! it installs the `wasm32-wasip2` target when it is missing, builds the
//! guests, then runs the native step. A fresh machine needs nothing else.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::Command;

mod layers;
mod postgres;

const WASM_TARGET: &str = "wasm32-wasip2";
/// The real third-party peers the tests and the demo run, from PyPI: a SCIM
/// server, an SMTP server (the sink that receives notices) and an API
/// fuzzer that checks the HTTP API against its OpenAPI document.
const TEST_PEERS: [&str; 3] = [
    "scim2-server==0.8.3",
    "aiosmtpd==1.4.6",
    "schemathesis==4.32.5",
];
/// The example connector written in Python (`components/python-directory`),
/// built with componentize-py from PyPI next to the Rust components.
const PYTHON_EXAMPLE: &str = "components/python-directory";
/// Where its build tool (componentize-py, pinned by its build.sh) lives.
const PYTHON_EXAMPLE_VENV: &str = "target/componentize-py";
/// The example connector written in JavaScript, built with jco and
/// componentize-js from the npm registry (versions in its package-lock.json).
const JS_EXAMPLE: &str = "components/js-directory";
/// Where its npm packages are installed.
const JS_EXAMPLE_DEPS: &str = "target/jco";

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Args {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the connector components and the guest test fixtures.
    BuildGuests,
    /// Build everything and run every test (the README's test command).
    Test,
    /// Check that no crate depends on what the layering forbids.
    Layers,
    /// Build everything and run the demo.
    Demo,
    /// Build everything, run the benchmarks and rewrite BENCHMARKS.md.
    Bench {
        /// Run one section alone and print its table instead of rewriting
        /// BENCHMARKS.md: sync, idp, storage, reconcile, fleet, tenants,
        /// languages or api.
        #[arg(long)]
        only: Option<String>,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    let root = repo_root();
    match args.command {
        Task::BuildGuests => build_guests(&root),
        Task::Layers => layers::check(&root),
        Task::Test => {
            check_test_data(&root)?;
            layers::check(&root)?;
            warn_if_disk_is_short(&root);
            build_guests(&root)?;
            ensure_test_peers(&root)?;
            ensure_identity_provider(&root)?;
            ensure_browser()?;
            let postgres = postgres::ensure_server()?;
            eprintln!("xtask: the Python example's unit tests");
            run(Command::new("bash")
                .arg(root.join(PYTHON_EXAMPLE).join("test.sh"))
                .arg(root.join(PYTHON_EXAMPLE_VENV))
                .arg(root.join("wit")))?;
            run(cargo()
                .args([
                    "test",
                    "--quiet",
                    "-p",
                    "seatwarden-sdk",
                    "--target",
                    host_triple()?.as_str(),
                ])
                .current_dir(root.join("components")))?;
            let mut tests = cargo();
            if has_nextest() {
                tests.args([
                    "nextest",
                    "run",
                    "--release",
                    "--workspace",
                    "--no-fail-fast",
                ]);
            } else {
                eprintln!("xtask: cargo-nextest not found; using cargo test");
                tests.args(["test", "--release", "--workspace"]);
            }
            tests
                .current_dir(&root)
                .env(postgres::BIN_DIR_VARIABLE, &postgres);
            let on_sqlite = run(&mut tests);
            // The same suite again with every configured database on
            // PostgreSQL: the store must behave the same on both engines.
            // (The storage tests run on both in either pass.)
            eprintln!("xtask: the suite again, on PostgreSQL");
            let on_postgres = run(tests.env("SEATWARDEN_TEST_DATABASE", "postgres"));
            let outcome = on_sqlite.and(on_postgres);
            // The tests start one shared PostgreSQL server; it ends with them.
            postgres::stop_shared(&root, &postgres);
            outcome
        }
        Task::Demo => {
            build_guests(&root)?;
            ensure_test_peers(&root)?;
            run(cargo()
                .args([
                    "run",
                    "--quiet",
                    "--release",
                    "-p",
                    "seatwarden-tests",
                    "--bin",
                    "demo",
                ])
                .current_dir(&root))
        }
        Task::Bench { only } => {
            build_guests(&root)?;
            ensure_test_peers(&root)?;
            ensure_debian_tools(&["wrk"], &["wrk"], "the API rows load the server with wrk")?;
            // The PostgreSQL rows run on a server of the bench's own, and
            // the fleet rows start the built `seatwarden` as host processes.
            let postgres = postgres::ensure_server()?;
            // Both binaries come out of the very build the test run makes
            // (`cargo test --no-run` is what nextest builds): one set of
            // features for wasmtime, so a bench after the tests (or the
            // tests after a bench) does not compile it again.
            run(cargo()
                .args(["test", "--quiet", "--release", "--workspace", "--no-run"])
                .current_dir(&root))?;
            let mut bench = Command::new(root.join("target/release/bench"));
            bench
                .current_dir(&root)
                .env(postgres::BIN_DIR_VARIABLE, &postgres);
            match only {
                Some(section) => bench.arg(format!("--{section}-only")),
                None => bench.arg(root.join("BENCHMARKS.md")),
            };
            run(&mut bench)
        }
    }
}

/// Files the tests read, all inside the repository (tests/data/README.md
/// says where each came from).
const TEST_DATA: [&str; 1] = ["tests/data/smartsheet-openapi-users-events.json"];

/// Fails before anything is built when a file the tests need is missing.
fn check_test_data(root: &Path) -> Result<()> {
    let missing: Vec<&str> = TEST_DATA
        .iter()
        .copied()
        .filter(|file| !root.join(file).is_file())
        .collect();
    if !missing.is_empty() {
        bail!(
            "the tests need {} and it is missing from this checkout; restore it from git (`git checkout -- tests/data`), see tests/data/README.md for its source",
            missing.join(", ")
        );
    }
    Ok(())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

fn build_guests(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    for workspace in ["components", "tests/guests"] {
        eprintln!("xtask: building {workspace} for {WASM_TARGET}");
        run(cargo()
            .args(["build", "--release"])
            .current_dir(root.join(workspace)))?;
    }
    let out = root.join("target/wasm/wasm32-wasip2/release");
    eprintln!("xtask: building the Python example connector with componentize-py");
    run(Command::new("bash")
        .arg(root.join(PYTHON_EXAMPLE).join("build.sh"))
        .arg(root.join(PYTHON_EXAMPLE_VENV))
        .arg(out.join("directory_python.wasm"))
        .arg(root.join("wit")))?;
    eprintln!("xtask: building the JavaScript example connector with jco (npm)");
    if Command::new("npm").arg("--version").output().is_err() {
        bail!(
            "npm is needed to build {JS_EXAMPLE} (the JavaScript example connector the tests load); install Node.js 20 or later with npm"
        );
    }
    run(Command::new("bash")
        .arg(root.join(JS_EXAMPLE).join("build.sh"))
        .arg(root.join(JS_EXAMPLE_DEPS))
        .env("WIT", root.join("wit"))
        .env("OUT", out.join("directory_js.wasm")))
}

fn ensure_wasm_target() -> Result<()> {
    let output = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (is Rust installed through rustup?)")?;
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    eprintln!("xtask: installing the {WASM_TARGET} target");
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Installs the test peers into `target/test-peers` unless those versions
/// are there.
fn ensure_test_peers(root: &Path) -> Result<()> {
    let venv = root.join("target/test-peers");
    let marker = venv.join("installed.txt");
    // A venv's scripts name its absolute path: one copied or moved with the
    // target directory does not run, so the marker records where it was made.
    let installed = format!("{} {}", TEST_PEERS.join(" "), venv.display());
    if std::fs::read_to_string(&marker).is_ok_and(|v| v.trim() == installed) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {} (a real SCIM server, SMTP server and API fuzzer for the tests) into {}",
        TEST_PEERS.join(" and "),
        venv.display()
    );
    let python = ["python3", "python"]
        .into_iter()
        .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
        .context("python3 is needed to run the SCIM and SMTP servers the tests use; install it (apt-get install python3 python3-venv)")?;
    run(Command::new(python)
        .arg("-m")
        .arg("venv")
        .arg("--clear")
        .arg(&venv))?;
    run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(TEST_PEERS))?;
    std::fs::write(marker, installed)?;
    Ok(())
}

/// The console's single sign-on tests sign in through npm's
/// `oidc-provider`; installs the versions `tests/peers/oidc-provider`'s
/// lock names into `target/test-peers/oidc-provider` unless they are there.
fn ensure_identity_provider(root: &Path) -> Result<()> {
    let source = root.join("tests/peers/oidc-provider");
    let deps = root.join("target/test-peers/oidc-provider");
    let lock = std::fs::read(source.join("package-lock.json"))
        .context("tests/peers/oidc-provider/package-lock.json is missing from this checkout")?;
    // The marker is written after a finished install: it holds the lock installed.
    let marker = deps.join("installed-lock.json");
    if std::fs::read(&marker).is_ok_and(|installed| installed == lock) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing npm's oidc-provider (a real OpenID Connect provider for the sign-in tests) into {}",
        deps.display()
    );
    if Command::new("npm").arg("--version").output().is_err() {
        bail!(
            "npm is needed to install the OpenID Connect provider the sign-in tests use; install Node.js 20 or later with npm"
        );
    }
    std::fs::create_dir_all(&deps)?;
    let _ = std::fs::remove_file(&marker);
    std::fs::copy(source.join("package.json"), deps.join("package.json"))?;
    std::fs::write(deps.join("package-lock.json"), &lock)?;
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&deps))?;
    std::fs::write(marker, &lock)?;
    Ok(())
}

/// The web console's end-to-end tests drive the system's headless
/// Chromium through chromedriver; installs Debian's packages when either is
/// missing (a browser a test tool downloads itself would not run here).
fn ensure_browser() -> Result<()> {
    ensure_debian_tools(
        &["chromium", "chromedriver"],
        &["chromium", "chromium-driver"],
        "the console's browser tests need chromium and chromedriver",
    )
}

/// Installs Debian `packages` when any of `tools` is not on PATH; `why`
/// starts the error that says how to install them by hand.
fn ensure_debian_tools(tools: &[&str], packages: &[&str], why: &str) -> Result<()> {
    let present = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success() || !o.stdout.is_empty() || !o.stderr.is_empty())
    };
    if tools.iter().all(|tool| present(tool)) {
        return Ok(());
    }
    apt_install(packages, why)
}

/// Installs Debian `packages`; `why` starts the error that says how to
/// install them by hand.
fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    eprintln!("xtask: installing Debian's {}", packages.join(" and "));
    let apt = |args: &[&str]| {
        let mut command = Command::new("apt-get");
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut command)
    };
    let mut install = vec!["install", "-y", "-qq"];
    install.extend_from_slice(packages);
    apt(&["update", "-qq"])
        .and_then(|()| apt(&install))
        .with_context(|| {
            format!(
                "{why}; install them (as root: apt-get install {})",
                packages.join(" ")
            )
        })
}

fn host_triple() -> Result<String> {
    let output = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_string)
        .context("rustc -vV printed no host triple")
}

/// What a clean `cargo xtask test` writes under `target/` (measured: the
/// release build ~2 GiB, the guests ~0.6 GiB) plus room for the linker.
const DISK_NEEDED_GIB: u64 = 4;

/// Says so up front when the disk is too full for a clean build: otherwise
/// the first sign is the linker dying with "Bus error" half an hour in.
fn warn_if_disk_is_short(root: &Path) {
    let Ok(output) = Command::new("df").arg("-Pk").arg(root).output() else {
        return;
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let available_kib = text
        .lines()
        .nth(1)
        .and_then(|line| line.split_whitespace().nth(3))
        .and_then(|field| field.parse::<u64>().ok());
    if let Some(kib) = available_kib
        && kib < DISK_NEEDED_GIB * 1024 * 1024
    {
        eprintln!(
            "xtask: warning: only {:.1} GiB free under {}; a clean build and test run needs about \
             {DISK_NEEDED_GIB} GiB. If linking fails with \"Bus error\", free disk space \
             (e.g. `cargo clean`) and run again.",
            kib as f64 / (1024.0 * 1024.0),
            root.display()
        );
    }
}

/// A `cargo` command without the variables `cargo run` set for this
/// xtask. Some build scripts (ring's) track `CARGO_MANIFEST_DIR`; inheriting
/// xtask's value made every build through xtask and every build typed by
/// hand rebuild each other from ring upwards.
pub(crate) fn cargo() -> Command {
    let mut command = Command::new("cargo");
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_by_cargo_run = name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_RUSTC_CURRENT_DIR"
            );
        if set_by_cargo_run {
            command.env_remove(name);
        }
    }
    command
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("starting {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed with {status}");
    }
    Ok(())
}
