//! What to tell an operator when the database itself fails.
//!
//! SQLite's own words (`(code: 13) database or disk is full`, `attempt to
//! write a readonly database`) name neither the file nor what to do. The
//! command line passes every error through [`explain`], which finds a
//! database error in the chain and says which file, what is wrong and the
//! next step. Nothing here retries: a failed write stored nothing (every
//! write is one transaction), and a sync resumes at its last stored page.

use seatwarden_domain::database::Database;
use std::path::Path;

/// `err` with the database's name and the next step added, when a
/// database error is in its chain; otherwise `err` unchanged.
pub fn explain(err: anyhow::Error, database: &Database) -> anyhow::Error {
    match database {
        Database::File(path) => explain_sqlite(err, path),
        // PostgreSQL's own messages name the problem (and the failing
        // statement's context says what was being done); its SQLSTATE
        // codes are not SQLite's result codes.
        Database::Postgres(_) => err,
    }
}

fn explain_sqlite(err: anyhow::Error, path: &Path) -> anyhow::Error {
    let Some(code) = primary_code(&err) else {
        return err;
    };
    let path = path.display();
    let advice = match code {
        SQLITE_FULL => format!(
            "database {path}: the disk that holds it is full. Free space there and run the command again; the failed write stored nothing, and a sync resumes at its last stored page"
        ),
        SQLITE_READONLY => format!(
            "database {path} cannot be written by this process: give the user running seatwarden write access to the file and its directory (or move it off a read-only mount)"
        ),
        SQLITE_CANTOPEN => format!(
            "database {path} cannot be opened: check that its directory exists and that this user may read and write there"
        ),
        SQLITE_BUSY | SQLITE_LOCKED => format!(
            "database {path} stayed locked by another process for longer than the 10-second wait: run the command again when the other writer is done"
        ),
        SQLITE_CORRUPT | SQLITE_NOTADB => format!(
            "database {path} is damaged or is not a Seatwarden database: restore it from a backup"
        ),
        SQLITE_IOERR => format!(
            "database {path}: the operating system failed to read or write it (disk error, full or vanished filesystem): check the disk, then run the command again"
        ),
        _ => return err,
    };
    err.context(advice)
}

use crate::error::{SQLITE_BUSY, SQLITE_LOCKED, StoreError, sqlite_code};

const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_NOTADB: i64 = 26;

/// The primary SQLite result code of the first database error in the chain,
/// whether the driver's error stands in it or a [`StoreError`] carries it.
fn primary_code(err: &anyhow::Error) -> Option<i64> {
    err.chain().find_map(|cause| {
        let driver = cause.downcast_ref::<sqlx::Error>().or_else(|| {
            cause
                .downcast_ref::<StoreError>()
                .and_then(StoreError::database_error)
        })?;
        sqlite_code(driver)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteConnectOptions;
    use sqlx::{ConnectOptions, Connection};

    /// A real SQLITE_FULL from the real driver: a database capped at a few
    /// pages fills up.
    #[tokio::test]
    async fn a_full_database_names_the_file_and_says_to_free_space() {
        let mut db = SqliteConnectOptions::new()
            .in_memory(true)
            .connect()
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (x BLOB)")
            .execute(&mut db)
            .await
            .unwrap();
        sqlx::query("PRAGMA max_page_count = 3")
            .execute(&mut db)
            .await
            .unwrap();
        let full = sqlx::query("INSERT INTO t VALUES (zeroblob(100000))")
            .execute(&mut db)
            .await
            .unwrap_err();
        let err = explain(
            anyhow::Error::new(full).context("storing pages of accounts"),
            &Database::File("/srv/seatwarden.db".into()),
        );
        let text = format!("{err:#}");
        assert!(
            text.starts_with(
                "database /srv/seatwarden.db: the disk that holds it is full. Free space there"
            ),
            "{text}"
        );
        assert!(text.contains("storing pages of accounts"), "{text}");
        db.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_read_only_database_says_who_needs_write_access() {
        let mut db = SqliteConnectOptions::new()
            .in_memory(true)
            .read_only(true)
            .connect()
            .await
            .unwrap();
        let refused = sqlx::query("CREATE TABLE t (x)")
            .execute(&mut db)
            .await
            .unwrap_err();
        let text = format!(
            "{:#}",
            explain(refused.into(), &Database::File("x.db".into()))
        );
        assert!(
            text.starts_with("database x.db cannot be written by this process"),
            "{text}"
        );
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let err = explain(
            anyhow::anyhow!("vendor said no"),
            &Database::File("x.db".into()),
        );
        assert_eq!(format!("{err:#}"), "vendor said no");
    }
}
