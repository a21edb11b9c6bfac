//! The database a bench run stores into, SQLite or PostgreSQL, so that the
//! same measurement runs against both engines side by side.
//!
//! A run gets a scratch store of its own: a fresh SQLite file under
//! `target/bench-tmp`, or a fresh database on the bench's PostgreSQL server
//! (made as its superuser, owned by the application role, dropped after).
//! Child processes are told the engine as one argument: `sqlite`, or the
//! server's superuser URL.

use anyhow::{Context, Result};
use seatwarden_store::Storage;
use seatwarden_tests::fixtures::repo_root;
use seatwarden_tests::postgres::{APP_ROLE, Cluster};
use sqlx::Connection;
use std::path::PathBuf;

/// Where a run's scratch store lives.
#[derive(Clone, Debug)]
pub enum Engine {
    Sqlite,
    /// The server's superuser URL, ending in its `postgres` database.
    Postgres(String),
}

impl Engine {
    /// PostgreSQL on the bench's own server.
    pub fn postgres(server: &Cluster) -> Engine {
        Engine::Postgres(server.admin_url("postgres"))
    }

    /// The engine's name in a table.
    pub fn label(&self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres(_) => "PostgreSQL",
        }
    }

    /// The engine as one command-line argument of a child run.
    pub fn arg(&self) -> String {
        match self {
            Engine::Sqlite => "sqlite".into(),
            Engine::Postgres(url) => url.clone(),
        }
    }

    /// Reads [`Engine::arg`] back.
    pub fn from_arg(arg: &str) -> Result<Engine> {
        match arg {
            "sqlite" => Ok(Engine::Sqlite),
            url if url.starts_with("postgres://") => Ok(Engine::Postgres(url.into())),
            other => anyhow::bail!("unknown engine {other:?}: sqlite or a postgres:// URL"),
        }
    }
}

/// A fresh store of one run, removed by [`Scratch::discard`].
pub struct Scratch {
    pub storage: Storage,
    place: Place,
}

enum Place {
    File(PathBuf),
    Database { admin: String, name: String },
}

impl Scratch {
    /// A fresh, migrated store named after `what` and this process.
    pub async fn open(engine: &Engine, what: &str) -> Result<Scratch> {
        match engine {
            Engine::Sqlite => {
                let dir = repo_root().join("target/bench-tmp");
                std::fs::create_dir_all(&dir)?;
                let path = dir.join(format!("{what}-{}.db", std::process::id()));
                let storage = Storage::open(&path).await?;
                Ok(Scratch {
                    storage,
                    place: Place::File(path),
                })
            }
            Engine::Postgres(admin) => {
                let name = database_name(what);
                create_database(admin, &name, None).await?;
                let storage = Storage::connect_postgres(&app_url(admin, &name)).await?;
                Ok(Scratch {
                    storage,
                    place: Place::Database {
                        admin: admin.clone(),
                        name,
                    },
                })
            }
        }
    }

    /// Closes the store and removes its file or database.
    pub async fn discard(self) -> Result<()> {
        drop(self.storage);
        match self.place {
            Place::File(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                Ok(())
            }
            Place::Database { admin, name } => drop_database(&admin, &name).await,
        }
    }
}

/// A new database's name: `what` made an identifier, this process, a count.
pub fn database_name(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let what: String = what
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "bench_{what}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Database `name` on the server of `admin`, as the superuser.
pub fn admin_url(admin: &str, name: &str) -> String {
    let server = admin
        .strip_suffix("/postgres")
        .expect("the superuser URL names the postgres database");
    format!("{server}/{name}")
}

/// Database `name` on the server of `admin`, as the application role.
pub fn app_url(admin: &str, name: &str) -> String {
    seatwarden_tests::postgres::as_app(&admin_url(admin, name))
}

/// Creates database `name` for the application role, empty or as a copy
/// of `template` (whose sessions are ended first: a template must be idle).
pub async fn create_database(admin: &str, name: &str, template: Option<&str>) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .with_context(|| format!("connecting to {admin}"))?;
    let statement = match template {
        None => format!("CREATE DATABASE {name} OWNER {APP_ROLE}"),
        Some(template) => {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
            )
            .bind(template)
            .execute(&mut conn)
            .await?;
            format!("CREATE DATABASE {name} OWNER {APP_ROLE} TEMPLATE {template}")
        }
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut conn)
        .await
        .with_context(|| format!("creating database {name}"))?;
    conn.close().await?;
    Ok(())
}

/// Drops database `name` (ending any session still on it).
pub async fn drop_database(admin: &str, name: &str) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .with_context(|| format!("dropping database {name}"))?;
    conn.close().await?;
    Ok(())
}
