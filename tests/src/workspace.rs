//! A scratch directory with a configuration file and owner-only credential
//! files, as an operator would lay them out, for tests that drive the host
//! through [`App`] (profiles, the scheduler) rather than single calls.

use crate::fixtures::{guest, repo_root};
use seatwarden_app::wiring::App;
use seatwarden_config::Config;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

/// One test's directory under `target/test-tmp`.
pub struct Workspace {
    pub dir: PathBuf,
    /// The PostgreSQL database its configuration names, made at the first
    /// `write_config` when the tests run on PostgreSQL.
    postgres: std::sync::OnceLock<String>,
}

impl Workspace {
    /// A fresh, empty directory named after the test and this process.
    pub fn new(name: &str) -> Workspace {
        let dir = repo_root()
            .join("target/test-tmp")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the test directory");
        Workspace {
            dir,
            postgres: std::sync::OnceLock::new(),
        }
    }

    /// Writes a credential file readable by its owner only.
    pub fn secret(&self, file: &str, value: &str) {
        let path = self.dir.join(file);
        std::fs::write(&path, value).expect("writing a credential file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    }

    /// `seatwarden.toml` in this directory.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("seatwarden.toml")
    }

    /// Writes the configuration file (the database is `seatwarden.db` beside
    /// it, or a database of its own on the tests' PostgreSQL server when
    /// they run on PostgreSQL, unless the text says otherwise).
    pub fn write_config(&self, body: &str) {
        let text = if body.contains("database =") {
            body.to_string()
        } else {
            format!("database = \"{}\"\n\n{body}", self.database())
        };
        std::fs::write(self.config_path(), text).expect("writing the configuration");
    }

    /// The database the configuration names unless its text says otherwise.
    pub fn database(&self) -> String {
        match crate::postgres::configured_engine() {
            seatwarden_store::Engine::Sqlite => "seatwarden.db".into(),
            seatwarden_store::Engine::Postgres => self
                .postgres
                .get_or_init(|| crate::postgres::shared().new_database())
                .clone(),
        }
    }

    /// Every byte the database holds, for tests that prove a secret is not
    /// among them: the SQLite file with its write-ahead log, or a
    /// `pg_dump` of the PostgreSQL database (every row as text).
    pub fn database_bytes(&self) -> Vec<u8> {
        match crate::postgres::configured_engine() {
            seatwarden_store::Engine::Sqlite => {
                let db = self.dir.join("seatwarden.db");
                let mut bytes = std::fs::read(&db).expect("reading the database file");
                for suffix in ["-wal", "-shm"] {
                    let mut side = db.as_os_str().to_owned();
                    side.push(suffix);
                    if let Ok(more) = std::fs::read(&side) {
                        bytes.extend(more);
                    }
                }
                bytes
            }
            seatwarden_store::Engine::Postgres => crate::postgres::dump(&self.database()),
        }
    }

    /// Runs `statement` (one or several, `;`-separated) on the database
    /// directly, as someone with access to it (not through Seatwarden) would.
    pub async fn execute_sql(&self, statement: &str) {
        use sqlx::Connection;
        let statement = sqlx::AssertSqlSafe(statement.to_string());
        match crate::postgres::configured_engine() {
            seatwarden_store::Engine::Sqlite => {
                let url = format!("sqlite://{}", self.dir.join("seatwarden.db").display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            seatwarden_store::Engine::Postgres => {
                let url = crate::postgres::as_admin(&self.database());
                let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }

    /// Loads the configuration and opens the host on it, as the CLI does.
    pub async fn app(&self) -> anyhow::Result<Arc<App>> {
        let config = Config::load(&self.config_path())?;
        let cache = Some(repo_root().join("target/test-compile-cache"));
        Ok(Arc::new(App::open(config, cache).await?))
    }
}

/// A `[connections.NAME]` table for the SmartRecruiters connector on a
/// loopback fake, reading its key from `key_file`.
pub fn smartrecruiters_connection(name: &str, tenant: &str, url: &str, key_file: &str) -> String {
    loopback_connection(name, tenant, "smartrecruiters", url, key_file)
}

/// A `[connections.NAME]` table for one of the built connectors on a
/// loopback fake, reading its credential from `key_file`.
pub fn loopback_connection(
    name: &str,
    tenant: &str,
    connector: &str,
    url: &str,
    key_file: &str,
) -> String {
    format!(
        r#"[connections.{name}]
tenant = "{tenant}"
connector = "{}"
base_url = "{url}"
private_targets = "allow-loopback"
credential = {{ file = "{key_file}" }}
"#,
        guest(connector).display()
    )
}
