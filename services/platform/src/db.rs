//! Database connections for SQLite, PostgreSQL and MySQL/MariaDB URLs.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

/// Opens a pool for `url`. SQLite files (and their folder) are created when missing; an
/// in-memory SQLite database gets a single connection, since each connection would otherwise see
/// a database of its own.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let (url, max_connections) = match url.strip_prefix("sqlite:") {
        Some(rest) => prepare_sqlite(url, rest, max_connections)?,
        None => (url.to_owned(), max_connections),
    };
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(&url)))
}

/// Creates the folder of a SQLite file and asks for the file to be created when missing.
fn prepare_sqlite(url: &str, rest: &str, max_connections: u32) -> anyhow::Result<(String, u32)> {
    let path = rest
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || path == "memory" {
        return Ok((url.to_owned(), 1));
    }
    if let Some(parent) = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the database folder {}", parent.display()))?;
    }
    let url = if url.contains("mode=") {
        url.to_owned()
    } else {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}mode=rwc")
    };
    Ok((url, max_connections))
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Whether a database error is a unique-constraint violation (the same question on every backend).
pub fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/shop"),
            "postgres://app:***@db:5432/shop"
        );
        assert_eq!(redact("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    #[tokio::test]
    async fn sqlite_files_and_folders_are_created() {
        let dir =
            std::env::temp_dir().join(format!("bookstore-db-{}", uuid::Uuid::new_v4().simple()));
        let url = format!("sqlite://{}/nested/shop.db", dir.display());
        let db = connect(&url, 2).await.unwrap();
        db.ping().await.unwrap();
        assert!(dir.join("nested/shop.db").exists());
        drop(db);
        let _ = std::fs::remove_dir_all(dir);
    }
}
