//! The store's errors, typed by what a caller does about them.
//!
//! The command line prints an error and stops; the HTTP API that comes next
//! must answer 404, 409 or 503 instead, and the scheduler retries only what
//! can succeed later. So every store function returns a [`StoreError`]
//! whose variant says which case it is, and whose text is the operator's
//! sentence it always was (what is wrong and what to do).

use crate::Superseded;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// What was asked for does not exist, or belongs to another tenant
    /// (which is reported the same way).
    #[error("{0}")]
    NotFound(String),
    /// The change contradicts what is stored: a decision on a candidate in
    /// a state that does not allow it, an answer link already used, a name
    /// an entitlement from the configuration owns. Retrying does not help;
    /// reading the current state does.
    #[error("{0}")]
    Conflict(String),
    /// A write of a sync attempt that another attempt has resumed (this
    /// process was paused past its lease): nothing of it was stored.
    #[error(transparent)]
    Superseded(#[from] Superseded),
    /// The database could not do it now: another writer held it for longer
    /// than the busy wait, or (PostgreSQL) the server is restarting or out
    /// of reach, every connection was in use for 30 seconds, a statement
    /// ran past its timeout, or the transaction lost a serialization or
    /// deadlock conflict. Nothing of the call was stored; the same call may
    /// succeed later.
    #[error(transparent)]
    Busy(sqlx::Error),
    /// The database failed: disk full, read-only, damaged, I/O.
    #[error(transparent)]
    Database(sqlx::Error),
    /// Anything else, with its context: stored data that does not read
    /// back, a database that cannot be opened or migrated.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A store result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        if is_transient(&err) {
            StoreError::Busy(err)
        } else {
            StoreError::Database(err)
        }
    }
}

/// PostgreSQL's SQLSTATE classes and codes that say "not now" rather than
/// "wrong": connection exceptions (08), serialization failure and
/// deadlock (40001, 40P01), lock wait timeout (55P03), statement timeout
/// (57014), a server shutting down or starting (57P01 to 57P03), too many
/// connections (53300).
const POSTGRES_TRANSIENT: [&str; 8] = [
    "40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300",
];

/// Whether `err` may go away by itself: the same call could succeed later.
fn is_transient(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                code.starts_with("08") || POSTGRES_TRANSIENT.contains(&code.as_ref())
            } else {
                sqlite_code(err).is_some_and(|code| code == SQLITE_BUSY || code == SQLITE_LOCKED)
            }
        }
        _ => false,
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> StoreError {
        StoreError::Other(err.into())
    }
}

impl From<std::num::TryFromIntError> for StoreError {
    fn from(err: std::num::TryFromIntError) -> StoreError {
        StoreError::Other(err.into())
    }
}

impl StoreError {
    /// The driver's error, for the failures that came from the database.
    pub fn database_error(&self) -> Option<&sqlx::Error> {
        match self {
            StoreError::Busy(err) | StoreError::Database(err) => Some(err),
            _ => None,
        }
    }
}

pub(crate) const SQLITE_BUSY: i64 = 5;
pub(crate) const SQLITE_LOCKED: i64 = 6;

/// The primary SQLite result code of a database error (extended codes
/// carry it in their low byte); `None` for another engine's error.
pub(crate) fn sqlite_code(err: &sqlx::Error) -> Option<i64> {
    let sqlx::Error::Database(db) = err else {
        return None;
    };
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
    let code: i64 = db.code()?.parse().ok()?;
    Some(code & 0xff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    /// A real SQLITE_BUSY from the real driver: one connection holds the
    /// file's write lock, another does not wait for it.
    #[tokio::test]
    async fn a_locked_database_is_busy_and_other_failures_are_not() {
        let dir = std::env::temp_dir().join(format!("seatwarden-busy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("busy.db");
        let _ = std::fs::remove_file(&path);
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let open = || options.connect();
        let mut holder = open().await.unwrap();
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .unwrap();
        let mut other = open().await.unwrap();
        let locked = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut other)
            .await
            .unwrap_err();
        let err = StoreError::from(locked);
        assert!(matches!(err, StoreError::Busy(_)), "{err:?}");
        assert!(err.database_error().is_some());

        let missing = sqlx::query("SELECT * FROM no_such_table")
            .execute(&mut holder)
            .await
            .unwrap_err();
        assert!(matches!(StoreError::from(missing), StoreError::Database(_)));
        holder.close().await.unwrap();
        other.close().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
