//! Throwaway databases for tests: a fresh database per test on SQLite, PostgreSQL or MariaDB.
//!
//! PostgreSQL and MariaDB are found at `BOOKSTORE_TEST_POSTGRES_URL` / `BOOKSTORE_TEST_MYSQL_URL`
//! (default: the standard loopback ports). When one is not reachable the test runs against the
//! embedded SQLite instead and says so, unless `BOOKSTORE_REQUIRE_REAL_BACKENDS=1`, where a
//! missing server fails the test.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    fn admin_url(self) -> Option<String> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some(
                std::env::var("BOOKSTORE_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            ),
            Self::Mysql => Some(
                std::env::var("BOOKSTORE_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into()),
            ),
        }
    }
}

/// Whether tests must use the real servers (CI sets `BOOKSTORE_REQUIRE_REAL_BACKENDS=1`).
pub fn require_real_backends() -> bool {
    std::env::var("BOOKSTORE_REQUIRE_REAL_BACKENDS").is_ok_and(|v| v == "1" || v == "true")
}

/// A database made for one test, dropped by [`TestDatabase::drop_database`].
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    name: String,
    admin_url: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl TestDatabase {
    /// Creates an empty database on `backend`.
    pub async fn create(backend: Backend) -> anyhow::Result<Self> {
        let name = format!(
            "bookstore_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let Some(admin_url) = backend.admin_url() else {
            return Ok(Self::sqlite(name));
        };
        let admin = match Database::connect(admin_url.as_str()).await {
            Ok(admin) => admin,
            Err(err) if !require_real_backends() => {
                eprintln!("{backend:?} is not reachable ({err}); this test runs on the embedded SQLite instead");
                return Ok(Self::sqlite(name));
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("{backend:?} is required (BOOKSTORE_REQUIRE_REAL_BACKENDS=1) but not reachable at {admin_url}")
                });
            }
        };
        let create = match backend {
            Backend::Mysql => format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
            _ => format!("CREATE DATABASE {name}"),
        };
        admin.execute_unprepared(&create).await.context("cannot create the test database")?;
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).context("bad admin URL")?;
        url.set_path(&name);
        Ok(Self { url: url.to_string(), backend, name, admin_url: Some(admin_url) })
    }

    fn sqlite(name: String) -> Self {
        let path = std::env::temp_dir().join(format!("{name}.db"));
        Self {
            url: format!("sqlite://{}?mode=rwc", path.display()),
            backend: Backend::Sqlite,
            name,
            admin_url: None,
        }
    }

    /// Removes the database (call after closing every connection to it).
    pub async fn drop_database(self) {
        match &self.admin_url {
            None => {
                let path = std::env::temp_dir().join(format!("{}.db", self.name));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            Some(admin_url) => {
                let Ok(admin) = Database::connect(admin_url.as_str()).await else { return };
                let drop = match self.backend {
                    Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                    _ => format!("DROP DATABASE IF EXISTS {}", self.name),
                };
                if let Err(err) = admin.execute_unprepared(&drop).await {
                    eprintln!("cannot drop test database {}: {err}", self.name);
                }
                admin.close().await.ok();
            }
        }
    }

    /// Opens a pool on the test database.
    pub async fn connect(&self) -> anyhow::Result<DatabaseConnection> {
        crate::db::connect(&self.url, 5).await
    }
}
