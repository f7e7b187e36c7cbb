//! Database connections for SQLite, PostgreSQL and MySQL/MariaDB URLs, and what their errors
//! mean: unavailable, a unique violation, or transient (worth another attempt, [`retrying`]).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use sea_orm::sea_query::LikeExpr;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

mod retry;
pub use retry::{ATTEMPTS, Failure, is_transient, retrying, retrying_transient};

/// Ids per `IN (...)` look-up, and rows per multi-row insert: well inside every supported
/// database's limit on the bound parameters of one statement (SQLite's 32,766 is the lowest).
pub const IDS_PER_LOOKUP: usize = 500;
pub const ROWS_PER_INSERT: usize = 100;

/// How long a pooled connection may sit idle before it is checked with a round trip when taken
/// again: long enough that a busy pool does not check (its connections are back in use within
/// milliseconds), short enough that a connection idle through an outage of a second or more is
/// checked before use.
const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(1);

/// Opens a pool for `url`. SQLite files (and their folder) are created when missing; an
/// in-memory SQLite database gets a single connection, since each connection would otherwise see
/// a database of its own.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let (url, max_connections) = match url.strip_prefix("sqlite:") {
        Some(rest) => prepare_sqlite(url, rest, max_connections)?,
        None => (url.to_owned(), max_connections),
    };
    let health = PoolHealth::new();
    let mut options = ConnectOptions::new(url.clone());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(5))
        // Longer than this, a request is better answered 503 (overload, or a database that
        // refuses connections) than kept waiting.
        .acquire_timeout(Duration::from_secs(5))
        // By default every connection taken from the pool is pinged first: one more round trip
        // per statement or transaction, for connections that were in use a moment ago. The
        // hooks below check only those that may have died.
        .test_before_acquire(false)
        .sqlx_logging(false)
        .map_sqlx_postgres_opts(|options| options.options([PLANNED_FOR_THE_VALUES]))
        .map_sqlx_postgres_pool_opts(disabling_nagle)
        .map_sqlx_mysql_pool_opts(disabling_nagle);
    let (postgres, mysql) = (health.clone(), health.clone());
    options
        .map_sqlx_postgres_before_acquire(move |conn, meta| {
            Box::pin(postgres.clone().check(conn, meta.idle_for))
        })
        .map_sqlx_mysql_before_acquire(move |conn, meta| {
            Box::pin(mysql.clone().check(conn, meta.idle_for))
        });
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(&url)))?;
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        db.set_metric_callback(move |statement| {
            if statement.failed {
                health.failed();
            }
        });
    }
    Ok(db)
}

/// What a server database's pool knows of its connections' health: when a statement or a check
/// last failed. A connection lost in an outage (the server restarted, a network cut) is not
/// known to be dead until it is used, so after such a failure every connection that was idle
/// before it is checked with a round trip before it is handed out, and dropped if it does not
/// answer. Together with the check after [`IDLE_BEFORE_CHECK`], no request is given a
/// connection that died while it sat in the pool, unless the connection died in a cut shorter
/// than that during which no statement ran; then the first statement on it fails (503) and
/// the pool checks the rest.
#[derive(Clone)]
struct PoolHealth {
    started: Instant,
    /// Milliseconds from `started` to the last failure, plus one; 0 while none has happened.
    failed_at: Arc<AtomicU64>,
}

impl PoolHealth {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            failed_at: Arc::new(AtomicU64::new(0)),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// A statement or a check failed: the connections idle until now may be dead.
    fn failed(&self) {
        self.failed_at.store(self.now() + 1, Ordering::Release);
    }

    /// Whether a connection idle for `idle_for` must answer a round trip before use.
    fn must_check(&self, idle_for: Duration) -> bool {
        if idle_for >= IDLE_BEFORE_CHECK {
            return true;
        }
        let failed_at = self.failed_at.load(Ordering::Acquire);
        let idle_ms = u64::try_from(idle_for.as_millis()).unwrap_or(u64::MAX);
        failed_at != 0 && self.now().saturating_sub(idle_ms) < failed_at
    }

    /// The pool's check before it hands out an idle connection: an error drops the connection
    /// (without a goodbye to a server that is not there), and the pool takes another.
    async fn check<C: sea_orm::sqlx::Connection>(
        self,
        conn: &mut C,
        idle_for: Duration,
    ) -> Result<bool, sea_orm::sqlx::Error> {
        if !self.must_check(idle_for) {
            return Ok(true);
        }
        if let Err(err) = conn.ping().await {
            self.failed();
            return Err(err);
        }
        Ok(true)
    }
}

/// PostgreSQL plans every statement for the values it is given, never with a plan cached for
/// any values.
///
/// A prepared statement run a few times gets a generic plan that PostgreSQL keeps until the
/// table's statistics change. Planned while a table is nearly empty (a new shop, a new test
/// database), a look-up by key gets a sequential scan, and keeps it while the table grows until
/// autovacuum first analyses it: the inventory's "is this order already reserved" look-up took
/// 1 to 7 ms a call within a minute of a fresh start (docs/benchmarks.md). Every statement here
/// is short and touches few rows, so planning each one costs less than one such scan.
const PLANNED_FOR_THE_VALUES: (&str, &str) = ("plan_cache_mode", "force_custom_plan");

/// Sets TCP_NODELAY on the process's TCP sockets, among them the database connection just made.
///
/// sqlx 0.9.0 no longer sets it on its connections (a regression, fixed upstream after that
/// release). Over TLS, a statement larger than one TLS record (16 KiB: a multi-row insert of
/// outbox events, say) then goes out in several writes, and Nagle's algorithm holds the last one
/// until the server's delayed acknowledgement: about 40 ms for each such statement. sqlx gives no
/// access to its socket, so each TCP socket of the process is reached through a duplicate of its
/// descriptor (`pidfd_getfd` on this very process). Every other TCP client and server here sets
/// the option anyway, so setting it on all of them changes nothing else. Best effort: where the
/// system refuses (a kernel before 5.6, a seccomp filter), connections work as before.
/// Remove when the sqlx in use sets TCP_NODELAY again.
fn disable_nagle() {
    #[cfg(target_os = "linux")]
    for socket in process_sockets() {
        // Fails harmlessly on sockets that are not TCP.
        let _ = rustix::net::sockopt::set_tcp_nodelay(&socket, true);
    }
}

/// A pool that runs [`disable_nagle`] after each connection it makes.
fn disabling_nagle<DB: sea_orm::sqlx::Database>(
    pool: sea_orm::sqlx::pool::PoolOptions<DB>,
) -> sea_orm::sqlx::pool::PoolOptions<DB> {
    pool.after_connect(|_, _| {
        Box::pin(async {
            disable_nagle();
            Ok(())
        })
    })
}

/// Duplicates of the descriptors of this process's sockets, through `pidfd_getfd` on the
/// process itself (no unsafe code). Empty where the system refuses.
#[cfg(target_os = "linux")]
fn process_sockets() -> Vec<std::os::fd::OwnedFd> {
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};
    let (Ok(this_process), Ok(descriptors)) = (
        pidfd_open(getpid(), PidfdFlags::empty()),
        std::fs::read_dir("/proc/self/fd"),
    ) else {
        return Vec::new();
    };
    descriptors
        .flatten()
        .filter(|entry| {
            std::fs::read_link(entry.path())
                .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"))
        })
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter_map(|fd| pidfd_getfd(&this_process, fd, PidfdGetfdFlags::empty()).ok())
        .collect()
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

/// Whether a database error means the database cannot be reached or cannot serve now (the
/// connection was refused, reset or lost, the pool could not get a connection in time, the
/// server is shutting down, starting or out of connections), as opposed to a fault in the
/// statement or the data. Such a request may succeed once the database is back: `503`.
pub fn is_unavailable(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr, sqlx};
    let err = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => err.as_ref(),
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(err) => {
            if let Some(mysql) = err.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
                // Too many connections, server shutdown in progress, shutting down.
                return matches!(mysql.number(), 1040 | 1053 | 1077);
            }
            // PostgreSQL: connection exceptions (class 08), too many connections, the server
            // shutting down, crashed or starting.
            err.code().is_some_and(|code| {
                code.starts_with("08")
                    || matches!(code.as_ref(), "53300" | "57P01" | "57P02" | "57P03")
            })
        }
        _ => false,
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
    fn one_rule_for_ids() {
        let uuid = "0193a5b2-7c1e-7d4a-9f00-123456789abc";
        assert_eq!(check_id(uuid), Ok(uuid.to_owned()));
        // 36 characters, not bytes.
        assert!(check_id(&"é".repeat(36)).is_ok());
        for bad in ["", "a b", "a ", "tab\there", "nul\u{0}", &"x".repeat(37)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
            assert!(!plausible_id(bad), "{bad:?}");
        }
        assert!(plausible_id(uuid));
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:secret@db:5432/shop"),
            "postgres://app:***@db:5432/shop"
        );
        assert_eq!(redact("sqlite://./data/x.db"), "sqlite://./data/x.db");
    }

    /// The local port of the connection a pool hands out, as the server sees it.
    async fn client_port(db: &DatabaseConnection) -> u16 {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = db.get_database_backend();
        let sql = match backend {
            sea_orm::DbBackend::Postgres => "SELECT inet_client_port()::text AS port",
            _ => {
                "SELECT SUBSTRING_INDEX(host, ':', -1) AS port FROM information_schema.processlist \
                 WHERE id = CONNECTION_ID()"
            }
        };
        let row = db
            .query_one_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<String>("", "port").unwrap().parse().unwrap()
    }

    /// Whether this process's TCP socket with local port `port` has TCP_NODELAY set.
    #[cfg(target_os = "linux")]
    fn nodelay_of_local_port(port: u16) -> Option<bool> {
        process_sockets()
            .into_iter()
            .find(|socket| {
                rustix::net::getsockname(socket)
                    .ok()
                    .and_then(|addr| std::net::SocketAddr::try_from(addr).ok())
                    .is_some_and(|addr| addr.port() == port)
            })
            .and_then(|socket| rustix::net::sockopt::tcp_nodelay(&socket).ok())
    }

    /// The database connections of a pool send small writes at once (see `disable_nagle`).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn database_connections_have_nagle_disabled() {
        use crate::testing::{Backend, TestDatabase};
        for backend in [Backend::Postgres, Backend::Mysql] {
            let Some(test_db) = TestDatabase::create(backend).await else {
                continue;
            };
            let db = connect(&test_db.url, 1).await.unwrap();
            let port = client_port(&db).await;
            assert_eq!(
                nodelay_of_local_port(port),
                Some(true),
                "{backend:?}: the connection from local port {port}"
            );
            db.close().await.unwrap();
            test_db.drop_database().await;
        }
    }

    /// Every PostgreSQL connection of a pool plans each statement for its values (see
    /// `PLANNED_FOR_THE_VALUES`), not only the first one.
    #[tokio::test]
    async fn postgres_connections_plan_each_statement_for_its_values() {
        use crate::testing::{Backend, TestDatabase};
        use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
        let Some(test_db) = TestDatabase::create(Backend::Postgres).await else {
            return;
        };
        let db = connect(&test_db.url, 2).await.unwrap();
        // Two transactions open at once hold both of the pool's connections.
        let (first, second) = (db.begin().await.unwrap(), db.begin().await.unwrap());
        let mut backends = std::collections::HashSet::new();
        for txn in [&first, &second] {
            let row = txn
                .query_one_raw(Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT current_setting('plan_cache_mode') AS mode, \
                     pg_backend_pid() AS pid",
                ))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                row.try_get::<String>("", "mode").unwrap(),
                "force_custom_plan"
            );
            backends.insert(row.try_get::<i32>("", "pid").unwrap());
        }
        assert_eq!(backends.len(), 2, "two connections");
        first.rollback().await.unwrap();
        second.rollback().await.unwrap();
        db.close().await.unwrap();
        test_db.drop_database().await;
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

/// The pool gauges `/metrics` shows: connections in use and idle, the pool's maximum, and how
/// long taking a connection takes (sampled).
#[derive(Clone)]
pub struct PoolMetrics {
    connections: prometheus::IntGaugeVec,
    max: prometheus::IntGauge,
    acquire: prometheus::Histogram,
}

impl PoolMetrics {
    pub fn new(registry: &crate::metrics::Metrics) -> Self {
        let metrics = Self {
            connections: crate::metrics::defined(prometheus::IntGaugeVec::new(
                prometheus::Opts::new(
                    "db_pool_connections",
                    "Database connections of the pool, by state (in_use, idle).",
                ),
                &["state"],
            )),
            max: crate::metrics::defined(prometheus::IntGauge::new(
                "db_pool_max_connections",
                "Most connections the pool opens.",
            )),
            acquire: crate::metrics::defined(prometheus::Histogram::with_opts(
                prometheus::HistogramOpts::new(
                    "db_pool_acquire_seconds",
                    "Time to take a connection from the pool, sampled every few seconds.",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
                ]),
            )),
        };
        registry.register(Box::new(metrics.connections.clone()));
        registry.register(Box::new(metrics.max.clone()));
        registry.register(Box::new(metrics.acquire.clone()));
        metrics
    }

    /// Samples the pool of `db` every `interval` until shutdown.
    pub async fn watch(
        self,
        db: DatabaseConnection,
        interval: Duration,
        mut shutdown: crate::shutdown::ShutdownToken,
    ) {
        loop {
            self.sample(&db).await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    async fn sample(&self, db: &DatabaseConnection) {
        use sea_orm::DatabaseConnectionType as Pool;
        // The same three calls on each driver's pool type.
        macro_rules! sample {
            ($pool:expr) => {{
                let pool = $pool;
                let (size, idle) = (pool.size(), pool.num_idle());
                self.max
                    .set(i64::from(pool.options().get_max_connections()));
                let started = std::time::Instant::now();
                let acquired = pool.acquire().await.is_ok();
                if acquired {
                    self.acquire.observe(started.elapsed().as_secs_f64());
                }
                (size, idle)
            }};
        }
        let (size, idle) = match &db.inner {
            Pool::SqlxPostgresPoolConnection(_) => sample!(db.get_postgres_connection_pool()),
            Pool::SqlxMySqlPoolConnection(_) => sample!(db.get_mysql_connection_pool()),
            Pool::SqlxSqlitePoolConnection(_) => sample!(db.get_sqlite_connection_pool()),
            _ => return,
        };
        let idle = i64::try_from(idle).unwrap_or(i64::MAX);
        self.connections
            .with_label_values(&["in_use"])
            .set((i64::from(size) - idle).max(0));
        self.connections.with_label_values(&["idle"]).set(idle);
    }
}

/// `LIKE '%value%'` with LIKE's wildcards (`%`, `_`) and the escape character in `value` taken
/// literally, on every backend.
pub fn contains(value: &str) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(value))).escape('\\')
}

/// `LIKE 'value%'`, with `value` taken literally as in [`contains`].
pub fn starts_with(value: &str) -> LikeExpr {
    LikeExpr::new(format!("{}%", escape_like(value))).escape('\\')
}

fn escape_like(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The longest id: ids are opaque, but stored in 36-character columns (a UUID in text form).
pub const MAX_ID: usize = 36;

/// The one rule for the ids of orders, books, users and reservations: opaque, but 1 to
/// [`MAX_ID`] characters with no spaces or control characters. Whitespace is refused because
/// MariaDB ignores trailing spaces when comparing keys (`"a "` would be `"a"` there), control
/// characters because PostgreSQL refuses a NUL byte with an error rather than finding nothing.
/// `Err` says what is wrong, for a field error.
pub fn check_id(id: &str) -> Result<String, String> {
    if id.is_empty() || id.chars().count() > MAX_ID {
        Err(format!("must be 1 to {MAX_ID} characters"))
    } else if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        Err("must not contain spaces or control characters".into())
    } else {
        Ok(id.to_owned())
    }
}

/// Whether `id` can be the id of a row at all ([`check_id`]). Anything else is simply not
/// found, without asking the database.
pub fn plausible_id(id: &str) -> bool {
    check_id(id).is_ok()
}
