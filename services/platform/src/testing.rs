//! Throwaway databases for tests: a fresh database per test on SQLite, PostgreSQL or MariaDB.
//!
//! PostgreSQL and MariaDB are found at `BOOKSTORE_TEST_POSTGRES_URL` / `BOOKSTORE_TEST_MYSQL_URL`
//! (default: the standard loopback ports). A test whose server is not reachable fails, or is
//! skipped and says so under `BOOKSTORE_SKIP_MISSING_BACKENDS=1` ([`skip_or_fail`]); it never
//! runs on another backend than the one it is named after.

mod missing;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

pub use missing::{REQUIRE_REAL_BACKENDS, SKIP_MISSING_BACKENDS, WhenMissing, skip_or_fail};

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
                std::env::var("BOOKSTORE_TEST_MYSQL_URL")
                    .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/mysql".into()),
            ),
        }
    }

    /// The server, as a test that needs it names it.
    fn server(self, admin_url: &str) -> String {
        match self {
            Self::Sqlite => "SQLite".into(),
            Self::Postgres => format!(
                "PostgreSQL at {admin_url} (BOOKSTORE_TEST_POSTGRES_URL; .ci/run starts it)"
            ),
            Self::Mysql => {
                format!("MariaDB at {admin_url} (BOOKSTORE_TEST_MYSQL_URL; .ci/run starts it)")
            }
        }
    }

    /// Whether this backend's server answers, for a test that needs it: always for SQLite. When
    /// it does not answer the test fails, or under the opt-out it is skipped and this is false
    /// ([`skip_or_fail`]).
    pub async fn available(self) -> bool {
        let Some(admin_url) = self.admin_url() else {
            return true;
        };
        match connect_admin(self, &admin_url).await {
            Some(admin) => {
                admin.close().await.ok();
                true
            }
            None => false,
        }
    }
}

/// A connection to the administrative database at `admin_url`; `None` when the server does not
/// answer and the test is skipped (see [`skip_or_fail`], which fails it otherwise).
async fn connect_admin(backend: Backend, admin_url: &str) -> Option<DatabaseConnection> {
    match Database::connect(admin_url).await {
        Ok(admin) => Some(admin),
        Err(err) => {
            skip_or_fail(&backend.server(admin_url), err);
            None
        }
    }
}

/// Polls `condition` until it holds, every few milliseconds; fails the test, naming `what`, when
/// it still does not hold after `within`. How a test waits for something to happen, rather than
/// sleeping for a while and hoping it did.
#[track_caller]
pub fn eventually(
    what: &str,
    within: Duration,
    mut condition: impl AsyncFnMut() -> bool,
) -> impl Future<Output = ()> {
    let caller = std::panic::Location::caller();
    async move {
        let deadline = Instant::now() + within;
        while !condition().await {
            assert!(
                Instant::now() < deadline,
                "{caller}: not within {within:?}: {what}"
            );
            tokio::time::sleep(POLL_EVERY).await;
        }
    }
}

/// How often [`eventually`] checks its condition.
const POLL_EVERY: Duration = Duration::from_millis(20);

/// How long a test watches for something that must not happen (a second delivery, a message
/// that should not arrive), once everything it waited for has happened. Absence cannot be waited
/// for as a condition, so the check is bounded: long enough for a delivery in process or over
/// loopback, which takes milliseconds, to show up; short enough to keep the suites quick.
pub const QUIET_PERIOD: Duration = Duration::from_millis(300);

/// A fresh bucket on the S3-compatible server of the tests (`BOOKSTORE_TEST_S3_ENDPOINT`,
/// `http://127.0.0.1:9000` by default: the moto server `.ci/run` starts). Everything the code
/// under test does goes through its S3 client; only the bucket is made here, as an operator
/// would make it.
#[derive(Debug, Clone)]
pub struct TestBucket {
    pub endpoint: String,
    pub name: String,
}

impl TestBucket {
    /// A new empty bucket. When no server answers the test fails, or under the opt-out it is
    /// skipped and this is `None` ([`skip_or_fail`]).
    pub async fn create() -> Option<Self> {
        let endpoint = std::env::var("BOOKSTORE_TEST_S3_ENDPOINT")
            .unwrap_or_else(|_| "http://127.0.0.1:9000".into());
        let name = format!(
            "bookstore-test-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        let made = reqwest::Client::new()
            .put(format!("{endpoint}/{name}"))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status);
        match made {
            Ok(_) => Some(Self { endpoint, name }),
            Err(err) => {
                skip_or_fail(
                    &format!(
                        "an S3-compatible server at {endpoint} (BOOKSTORE_TEST_S3_ENDPOINT; \
                         `moto_server -H 127.0.0.1 -p 9000`, which .ci/run starts)"
                    ),
                    err,
                );
                None
            }
        }
    }

    /// The keys in the bucket, as the server lists them.
    pub async fn keys(&self) -> Vec<String> {
        let url = format!("{}/{}?list-type=2", self.endpoint, self.name);
        let listed = match reqwest::get(&url).await {
            Ok(response) => response.error_for_status(),
            Err(err) => Err(err),
        };
        let listing = match listed {
            Ok(response) => response.text().await,
            Err(err) => Err(err),
        }
        .unwrap_or_else(|err| panic!("cannot list {url}: {err}"));
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split_once("</Key>").map(|(key, _)| key.to_owned()))
            .collect()
    }
}

/// A `multipart/form-data` body with one file field, as a browser sends it: the `Content-Type`
/// header's value and the body.
pub fn file_form(
    field: &str,
    file_name: &str,
    declared_type: &str,
    bytes: &[u8],
) -> (String, Vec<u8>) {
    let boundary = "----bookstore-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {declared_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
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
    /// Creates an empty database on `backend`. When its server does not answer the test fails,
    /// or under the opt-out it is skipped and this is `None` ([`skip_or_fail`]): a test never
    /// runs on another backend than the one it asked for. A server that answers but cannot make
    /// the database fails the test.
    pub async fn create(backend: Backend) -> Option<Self> {
        let name = format!(
            "bookstore_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let Some(admin_url) = backend.admin_url() else {
            return Some(Self::sqlite(name));
        };
        let admin = connect_admin(backend, &admin_url).await?;
        let create = match backend {
            Backend::Mysql => {
                format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            }
            _ => format!("CREATE DATABASE {name}"),
        };
        if let Err(err) = admin.execute_unprepared(&create).await {
            panic!("cannot create the test database {name} at {admin_url}: {err}");
        }
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url)
            .unwrap_or_else(|err| panic!("bad admin URL {admin_url}: {err}"));
        url.set_path(&name);
        Some(Self {
            url: url.to_string(),
            backend,
            name,
            admin_url: Some(admin_url),
        })
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
                let Ok(admin) = Database::connect(admin_url.as_str()).await else {
                    return;
                };
                let drop = match self.backend {
                    Backend::Postgres => {
                        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
                    }
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

impl Clone for TestDatabase {
    fn clone(&self) -> Self {
        Self {
            url: self.url.clone(),
            backend: self.backend,
            name: self.name.clone(),
            admin_url: self.admin_url.clone(),
        }
    }
}

/// Runs `test` against a fresh database on `backend`, and drops the database afterwards even
/// when the test panics. Without the backend's server the test fails, or is skipped and says so
/// ([`TestDatabase::create`]).
pub async fn run_on<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future<Output = ()>,
{
    use futures::FutureExt;
    let Some(db) = TestDatabase::create(backend).await else {
        return;
    };
    let outcome = std::panic::AssertUnwindSafe(test(db.clone()))
        .catch_unwind()
        .await;
    db.drop_database().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Declares each test three times, in modules `sqlite`, `postgres` and `mysql`, each run on a
/// fresh database of that backend:
///
/// ```text
/// platform::backend_tests! {
///     async fn registers_a_customer(db) { /* db: TestDatabase */ }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block)*) => {
        $crate::backend_tests!(@module sqlite, Sqlite, $($(#[$meta])* async fn $name($db) $body)*);
        $crate::backend_tests!(@module postgres, Postgres, $($(#[$meta])* async fn $name($db) $body)*);
        $crate::backend_tests!(@module mysql, Mysql, $($(#[$meta])* async fn $name($db) $body)*);
    };
    (@module $module:ident, $backend:ident, $($(#[$meta:meta])* async fn $name:ident($db:ident) $body:block)*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                $(#[$meta])*
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testing::run_on($crate::testing::Backend::$backend, |$db: $crate::testing::TestDatabase| async move $body).await;
                }
            )*
        }
    };
}

/// A server started for a test on a random loopback port.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub metrics: crate::metrics::Metrics,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Serves `routes` with the shared middleware, as production does.
    pub async fn start(routes: axum::Router, databases: Vec<DatabaseConnection>) -> Self {
        let metrics = crate::metrics::Metrics::new();
        let ctx = crate::http::HttpContext::new(metrics.clone(), databases);
        let app = crate::http::finish(routes, &ctx);
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("cannot bind a test port: {err}"),
        };
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("no local address: {err}"));
        let task = tokio::spawn(async move {
            let _ = crate::http::serve(
                listener,
                app,
                ctx.draining.clone(),
                std::time::Duration::ZERO,
                crate::http::ConnectionLimits::default(),
                std::future::pending(),
            )
            .await;
        });
        Self {
            base: format!("http://{addr}"),
            addr,
            metrics,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How a [`FaultProxy`] treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Pass bytes both ways.
    Forward,
    /// Close new connections at once, and cut the open ones: the server looks down.
    Down,
    /// Answer every HTTP request `503 Service Unavailable` without reaching the server.
    Unavailable,
}

/// A TCP proxy a test puts between a component and a server it depends on, to take the server
/// "down" or make it fail without touching the real one (which other tests share).
pub struct FaultProxy {
    pub addr: std::net::SocketAddr,
    mode: std::sync::Arc<std::sync::Mutex<FaultMode>>,
    generation: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Starts forwarding a random loopback port to `target`.
    pub async fn start(target: std::net::SocketAddr) -> Self {
        use std::sync::{Arc, Mutex};
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(err) => panic!("cannot bind the proxy: {err}"),
        };
        let addr = listener
            .local_addr()
            .unwrap_or_else(|err| panic!("no proxy address: {err}"));
        let mode = Arc::new(Mutex::new(FaultMode::Forward));
        let (generation, _) = tokio::sync::watch::channel(0u64);
        let generation = Arc::new(generation);
        let (task_mode, task_generation) = (mode.clone(), generation.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let current = *task_mode.lock().unwrap_or_else(|p| p.into_inner());
                let mut cut = task_generation.subscribe();
                tokio::spawn(async move {
                    match current {
                        FaultMode::Down => drop(client),
                        FaultMode::Unavailable => answer_unavailable(client).await,
                        FaultMode::Forward => {
                            let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                                return;
                            };
                            // Without it, Nagle's algorithm holds back the small messages
                            // the proxy forwards until the peer's delayed acknowledgement,
                            // some 40 ms per exchange.
                            if client.set_nodelay(true).is_err()
                                || server.set_nodelay(true).is_err()
                            {
                                return;
                            }
                            let (mut client, mut server) = (client, server);
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                                _ = cut.changed() => {}
                            }
                        }
                    }
                });
            }
        });
        Self {
            addr,
            mode,
            generation,
            task,
        }
    }

    /// Switches mode; `Down` and `Unavailable` also cut every open connection.
    pub fn set(&self, mode: FaultMode) {
        *self.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
        if mode != FaultMode::Forward {
            self.generation.send_modify(|g| *g += 1);
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer_unavailable(mut client: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Read the request head (enough for the small requests services send), then refuse it.
    let mut buffer = vec![0; 64 * 1024];
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), client.read(&mut buffer)).await;
    let body = r#"{"type":"urn:bookstore:problem:unavailable","title":"Service unavailable","status":503,"code":"unavailable"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// An HTTP answer as the API tests read it: status, content type and JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    /// The JSON body; `Null` when empty.
    pub body: serde_json::Value,
}

impl Reply {
    /// Reads an answer, whatever its status; a body that is not JSON fails the test.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response
            .bytes()
            .await
            .unwrap_or_else(|err| panic!("{status}: cannot read the body: {err}"));
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!("{status}: not JSON: {}", String::from_utf8_lossy(&bytes))
            })
        };
        Self {
            status,
            content_type,
            body,
        }
    }

    /// Fails the test on a server error: no request, however bad, may cause one.
    #[track_caller]
    pub fn assert_no_server_error(&self) {
        assert!(
            !self.status.is_server_error(),
            "server error {}: {}",
            self.status,
            self.body
        );
    }

    /// Asserts a problem+json answer with `status` and `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: reqwest::StatusCode, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "content type {:?}: {}",
            self.content_type,
            self.body
        );
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["status"], status.as_u16());
        assert!(
            self.body["type"].is_string() && self.body["title"].is_string(),
            "body: {}",
            self.body
        );
    }

    /// The fields or parameters a problem names in `errors`, in name order.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_object()
            .map(|errors| errors.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The body as `T`.
    #[track_caller]
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_value(self.body.clone()).unwrap_or_else(|err| {
            panic!(
                "{}: not a {} ({err}): {}",
                self.status,
                std::any::type_name::<T>(),
                self.body
            )
        })
    }
}

/// The sum of the samples in Prometheus text `exposition` whose line starts with `prefix` (a
/// metric name, or a name with the start of its labels); 0 when there is none.
pub fn metric_sum(exposition: &str, prefix: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| line.starts_with(prefix))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        // Not `sum()`: a float sum of nothing is -0, which prints as "-0".
        .fold(0.0, |total, value| total + value)
}

/// A loopback port nothing listens on right now, for a process a test starts; never the same
/// port twice in one test process, so tests running side by side cannot both be handed a port
/// in the moment between one of them asking and its process listening.
///
/// Ports come from below the system's ephemeral range: a port from inside it can be taken, in
/// that same moment, as the local end of any outgoing connection (a service connecting to
/// PostgreSQL or RabbitMQ), and the process the test starts then cannot listen on it.
pub fn free_port() -> u16 {
    static HANDED_OUT: std::sync::Mutex<BTreeSet<u16>> = std::sync::Mutex::new(BTreeSet::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (first, end) = (FIRST_TEST_PORT, ephemeral_ports_start());
    let span = end.saturating_sub(first).max(1);
    // Test processes started one after another begin at different places.
    let offset = std::process::id() % span;
    let port = (0..span)
        .map(|i| u16::try_from(first + (offset + i) % span).unwrap_or(u16::MAX))
        .find(|&port| {
            !handed_out.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        })
        .unwrap_or_else(|| panic!("no free loopback port in {first}..{end}"));
    handed_out.insert(port);
    port
}

/// The lowest port [`free_port`] hands out.
const FIRST_TEST_PORT: u32 = 20_000;

/// Where the system's ephemeral ports begin (Linux's default when it cannot be read).
fn ephemeral_ports_start() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_listenable_and_below_the_ephemeral_range() {
        let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
        let distinct: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        for port in ports {
            assert!(
                u32::from(port) >= FIRST_TEST_PORT && u32::from(port) < ephemeral_ports_start(),
                "{port}"
            );
            assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_ok());
        }
    }

    #[test]
    fn a_missing_server_fails_the_test_unless_skipping_is_asked_for_and_not_forbidden() {
        use WhenMissing::{Fail, Skip};
        let on = ["1", "true", " 1 "];
        let off = [None, Some(""), Some("0"), Some("false")];
        for require in off {
            for skip in off {
                assert_eq!(
                    WhenMissing::from_values(require, skip),
                    Ok(Fail),
                    "{require:?} {skip:?}"
                );
            }
            for skip in on {
                assert_eq!(
                    WhenMissing::from_values(require, Some(skip)),
                    Ok(Skip),
                    "{require:?} {skip:?}"
                );
            }
        }
        // CI's variable wins: a run that must be real stays strict whatever else is set.
        for require in on {
            for skip in off {
                assert_eq!(WhenMissing::from_values(Some(require), skip), Ok(Fail));
            }
            for skip in on {
                assert_eq!(
                    WhenMissing::from_values(Some(require), Some(skip)),
                    Ok(Fail)
                );
            }
        }
    }

    #[test]
    fn a_switch_set_to_something_else_is_an_error_naming_the_variable() {
        let err = WhenMissing::from_values(None, Some("yes")).unwrap_err();
        assert!(
            err.contains("BOOKSTORE_SKIP_MISSING_BACKENDS=\"yes\""),
            "{err}"
        );
        let err = WhenMissing::from_values(Some("on"), Some("1")).unwrap_err();
        assert!(
            err.contains("BOOKSTORE_REQUIRE_REAL_BACKENDS=\"on\""),
            "{err}"
        );
    }

    #[test]
    fn a_skipped_test_says_which_test_it_is_and_what_it_needs() {
        let test = missing::current_test();
        assert_eq!(
            test,
            "testing::tests::a_skipped_test_says_which_test_it_is_and_what_it_needs"
        );
        let skipped = missing::verdict(
            WhenMissing::Skip,
            &test,
            "RabbitMQ at 127.0.0.1:5672",
            &"connection refused",
        );
        assert_eq!(
            skipped,
            Ok(format!(
                "SKIPPED: {test} needs RabbitMQ at 127.0.0.1:5672: connection refused"
            ))
        );
    }

    #[test]
    fn a_failing_test_names_what_is_missing_and_how_to_skip_instead() {
        let failure = missing::verdict(
            WhenMissing::Fail,
            "postgres::a_test",
            "PostgreSQL at postgres://127.0.0.1:5432",
            &"refused",
        )
        .unwrap_err();
        for part in [
            "postgres::a_test needs PostgreSQL at postgres://127.0.0.1:5432",
            "refused",
            "BOOKSTORE_SKIP_MISSING_BACKENDS=1",
        ] {
            assert!(failure.contains(part), "{part:?} not in {failure:?}");
        }
    }

    #[tokio::test]
    async fn eventually_returns_once_the_condition_holds() {
        let mut checks = 0;
        eventually("the third check", Duration::from_secs(5), async || {
            checks += 1;
            checks == 3
        })
        .await;
        assert_eq!(checks, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "not within 50ms: what never happens")]
    async fn eventually_fails_the_test_after_its_deadline() {
        eventually(
            "what never happens",
            Duration::from_millis(50),
            async || false,
        )
        .await;
    }
}
