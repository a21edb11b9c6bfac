//! Where the store lives: a SQLite file (the embedded default) or a
//! PostgreSQL server that several hosts share, named by a path or a URL.
//! A URL may carry a password, so it is shown and logged only with the
//! password replaced.

use std::path::{Path, PathBuf};

/// The database a configuration names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file.
    File(PathBuf),
    /// A PostgreSQL database, by its `postgres://` URL.
    Postgres(PostgresUrl),
}

impl Database {
    /// Reads `text` as the configuration's `database`: a `postgres://` or
    /// `postgresql://` URL, or a file (`sqlite:` before it optional),
    /// relative to `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Database, String> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return PostgresUrl::parse(text).map(Database::Postgres);
        }
        if lower.contains("://") && !lower.starts_with("sqlite:") {
            return Err(format!(
                "{:?} is neither a file nor a postgres:// URL: give a path for SQLite or postgres://user@host/database",
                shown(text)
            ));
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        if path.is_empty() {
            return Err("the database path is empty".into());
        }
        Ok(Database::File(base.join(path)))
    }

    /// The database as it may be shown: the file, or the URL without its
    /// password.
    pub fn shown(&self) -> String {
        match self {
            Database::File(path) => path.display().to_string(),
            Database::Postgres(url) => url.to_string(),
        }
    }
}

/// A PostgreSQL URL; `Debug` and `Display` hide its password.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// Checks that `text` is a URL with a host.
    pub fn parse(text: &str) -> Result<PostgresUrl, String> {
        let parsed = url::Url::parse(text)
            .map_err(|err| format!("{:?} is not a URL ({err})", shown(text)))?;
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(format!("{:?} is not a postgres:// URL", shown(text)));
        }
        Ok(PostgresUrl(text.to_string()))
    }

    /// The whole URL, password included, for the driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&shown(&self.0))
    }
}

impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresUrl({})", shown(&self.0))
    }
}

/// `url` as it may be shown: a password in it replaced by `***`, and its
/// parameters (which may carry one too) left out.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        Err(_) => "(a URL that does not parse)".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_postgres_and_hides_its_password() {
        let db = Database::parse(
            "postgres://app:s3cret@db.internal:5432/seatwarden?password=again",
            Path::new("/etc"),
        )
        .unwrap();
        let Database::Postgres(url) = &db else {
            panic!("{db:?}")
        };
        assert!(url.expose().contains("s3cret"));
        for text in [db.shown(), format!("{db:?}"), url.to_string()] {
            assert!(
                !text.contains("s3cret") && !text.contains("again"),
                "{text}"
            );
            assert!(text.contains("db.internal:5432/seatwarden"), "{text}");
        }
    }

    #[test]
    fn a_path_names_a_file_relative_to_the_configuration() {
        assert_eq!(
            Database::parse("data/sw.db", Path::new("/etc/sw")).unwrap(),
            Database::File(PathBuf::from("/etc/sw/data/sw.db"))
        );
        assert_eq!(
            Database::parse("sqlite:/var/sw.db", Path::new("/etc")).unwrap(),
            Database::File(PathBuf::from("/var/sw.db"))
        );
        assert!(Database::parse("mysql://x/y", Path::new("/")).is_err());
        assert!(Database::parse("", Path::new("/")).is_err());
    }
}
