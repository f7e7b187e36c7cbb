//! A split shop for tests and benchmarks: users, catalog, inventory, orders and two workers as
//! separate `bookstore` processes on a fresh PostgreSQL (or MariaDB) database and a RabbitMQ
//! namespace of their own; for tests, with fault proxies in front of the database, RabbitMQ and
//! inventory.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use platform::auth::{KeyPair, ServiceToken};
use platform::messaging::rabbitmq::RabbitBus;
use platform::testing::{Backend, FaultProxy, TestDatabase};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
pub const PASSWORD: &str = "correct horse battery";
pub const ADMIN_EMAIL: &str = "ops@shop.example";
/// Short back-off so that running out of attempts takes about two seconds.
pub const RETRY_DELAYS_MS: &str = "200,400,800";
pub const RETRY_MAX_ATTEMPTS: u32 = 4;

pub fn amqp_url() -> String {
    std::env::var("BOOKSTORE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The broker's address, once RabbitMQ and PostgreSQL (the split shop's database) both answer.
/// When one does not, the test fails, or under `BOOKSTORE_SKIP_MISSING_BACKENDS=1` it is skipped
/// (and says so) and this is `None`.
pub async fn broker() -> Option<std::net::SocketAddr> {
    servers(Backend::Postgres).await
}

/// The broker's address, once RabbitMQ and the server of `backend` both answer; see [`broker`].
pub async fn servers(backend: Backend) -> Option<std::net::SocketAddr> {
    let url = url::Url::parse(&amqp_url()).unwrap();
    let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5672));
    if let Err(err) = tokio::net::TcpStream::connect(&addr).await {
        platform::testing::skip_or_fail(
            &format!("RabbitMQ at {addr} (BOOKSTORE_TEST_AMQP_URL; .ci/run starts it)"),
            err,
        );
        return None;
    }
    if !backend.available().await {
        return None;
    }
    Some(addr.parse().unwrap())
}

pub use platform::testing::free_port;

/// One HTTP request; the body as JSON, or as a JSON string when it is not JSON.
pub async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Signs up at the users service at `users` and returns the access token.
pub async fn register(http: &reqwest::Client, users: &str, email: &str, password: &str) -> String {
    let (status, body) = send(
        http,
        reqwest::Method::POST,
        format!("{users}/api/v1/auth/register"),
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Logs in at the users service at `users` and returns the access token.
pub async fn log_in(http: &reqwest::Client, users: &str, email: &str, password: &str) -> String {
    let (status, body) = send(
        http,
        reqwest::Method::POST,
        format!("{users}/api/v1/auth/login"),
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// Places an order of one line at the orders service at `orders`.
pub async fn place_order(
    http: &reqwest::Client,
    orders: &str,
    token: &str,
    book_id: &str,
    quantity: u32,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let mut request = http
        .post(format!("{orders}/api/v1/orders"))
        .bearer_auth(token)
        .json(&json!({ "lines": [{ "book_id": book_id, "quantity": quantity }] }));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The proxies through which a test stages faults: in front of the database and RabbitMQ
/// (every process's connections) and of inventory (the workers' calls).
pub struct Faults {
    pub database: FaultProxy,
    pub amqp: FaultProxy,
    pub inventory: FaultProxy,
}

/// How the processes reach RabbitMQ and the workers reach inventory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Wiring {
    /// Through fault proxies, so that a test can stage outages.
    ThroughFaultProxies,
    /// Directly, as in a deployment. For benchmarks: a proxy is one more hop, and its copying
    /// runs in the benchmark's own process, next to the load it generates.
    Direct,
}

/// How far a launched process must get before `launch` returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// It listens and answers `/readyz` with 200.
    Ready,
    /// It listens; its readiness may wait for a server the test holds back.
    Listening,
}

/// The command line, extra environment and base URL a process was started with.
#[derive(Clone)]
struct Launch {
    args: Vec<String>,
    extra: Vec<(String, String)>,
    base: String,
}

/// The split shop: its processes, their addresses and the faults a test can stage.
pub struct Cluster {
    pub dir: PathBuf,
    pub db: TestDatabase,
    pub env: Vec<(String, String)>,
    pub processes: HashMap<String, Child>,
    /// How each process was started, to start it again after a kill.
    launches: HashMap<String, Launch>,
    pub urls: HashMap<&'static str, String>,
    faults: Option<Faults>,
    pub bus: RabbitBus,
    pub http: reqwest::Client,
    pub admin: String,
}

impl Cluster {
    pub async fn start(broker: std::net::SocketAddr) -> Self {
        Self::start_with(broker, &[]).await
    }

    /// The shop with more settings in every process's environment.
    pub async fn start_with(broker: std::net::SocketAddr, settings: &[(&str, &str)]) -> Self {
        Self::start_on(broker, Backend::Postgres, settings).await
    }

    /// The shop on a database of `backend`, with more settings in every process's environment.
    pub async fn start_on(
        broker: std::net::SocketAddr,
        backend: Backend,
        settings: &[(&str, &str)],
    ) -> Self {
        Self::start_wired(broker, backend, settings, Wiring::ThroughFaultProxies).await
    }

    /// The shop without fault proxies (benchmarks).
    pub async fn start_direct(broker: std::net::SocketAddr) -> Self {
        Self::start_wired(broker, Backend::Postgres, &[], Wiring::Direct).await
    }

    async fn start_wired(
        broker: std::net::SocketAddr,
        backend: Backend,
        settings: &[(&str, &str)],
        wiring: Wiring,
    ) -> Self {
        let dir =
            std::env::temp_dir().join(format!("bookstore-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        // The caller checked the server with `broker` or `servers`.
        let db = TestDatabase::create(backend)
            .await
            .expect("the database server answered a moment ago");
        let mut database_url = url::Url::parse(&db.url).unwrap();
        let database_addr: std::net::SocketAddr = format!(
            "{}:{}",
            database_url.host_str().unwrap(),
            database_url.port_or_known_default().unwrap()
        )
        .parse()
        .unwrap();
        let keys = KeyPair::generate();
        let (private, public) = (dir.join("jwt.pem"), dir.join("jwt.pub.pem"));
        std::fs::write(&private, keys.to_pem().unwrap()).unwrap();
        std::fs::write(&public, keys.public().to_pem().unwrap()).unwrap();
        // Inventory's port is chosen first: its proxy needs its target.
        let inventory_port = free_port();
        let faults = match wiring {
            Wiring::ThroughFaultProxies => Some(Faults {
                database: FaultProxy::start(database_addr).await,
                amqp: FaultProxy::start(broker).await,
                inventory: FaultProxy::start(
                    format!("127.0.0.1:{inventory_port}").parse().unwrap(),
                )
                .await,
            }),
            Wiring::Direct => None,
        };
        let namespace = format!("e2e-{}.", uuid::Uuid::new_v4().simple());
        let process_amqp_url = {
            let mut url = url::Url::parse(&amqp_url()).unwrap();
            let addr = faults.as_ref().map_or(broker, |faults| faults.amqp.addr);
            url.set_port(Some(addr.port())).unwrap();
            url.set_host(Some(&addr.ip().to_string())).unwrap();
            url.to_string()
        };
        if let Some(faults) = &faults {
            database_url
                .set_port(Some(faults.database.addr.port()))
                .unwrap();
        }
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", database_url.to_string()),
            ("DATABASE_MAX_CONNECTIONS", "10".into()),
            ("AMQP_URL", process_amqp_url),
            ("BOOKSTORE_AMQP_NAMESPACE", namespace.clone()),
            ("BOOKSTORE_RETRY_DELAYS_MS", RETRY_DELAYS_MS.into()),
            (
                "BOOKSTORE_RETRY_MAX_ATTEMPTS",
                RETRY_MAX_ATTEMPTS.to_string(),
            ),
            (
                "BOOKSTORE_JWT_PRIVATE_KEY_FILE",
                private.display().to_string(),
            ),
            (
                "BOOKSTORE_JWT_PUBLIC_KEY_FILE",
                public.display().to_string(),
            ),
            (
                "BOOKSTORE_SERVICE_TOKEN",
                ServiceToken::generate().as_str().to_owned(),
            ),
            ("BOOKSTORE_AUTH_RATE_PER_CLIENT", "100000".into()),
            ("BOOKSTORE_AUTH_RATE_PER_ACCOUNT", "100000".into()),
            // Load tests and benchmarks place thousands of orders for a few customers.
            ("BOOKSTORE_ORDER_MAX_UNITS_PER_BOOK", "1000000".into()),
            ("BOOKSTORE_ORDER_MAX_UNITS", "1000000".into()),
            ("BOOKSTORE_ORDER_MAX_PENDING", "1000000".into()),
            ("BOOKSTORE_ORDER_RATE_PER_MINUTE", "1000000".into()),
            // Uploads in a folder of the test's own; a test may name a bucket instead.
            (
                "BOOKSTORE_OBJECT_STORE_URL",
                dir.join("objects").display().to_string(),
            ),
            ("BOOKSTORE_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "info,sqlx=warn,sea_orm=warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .chain(
            settings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
        .collect();
        let mut topology = contracts::consumers::topology(&namespace);
        for consumer in &mut topology.consumers {
            consumer.retry.delays = RETRY_DELAYS_MS
                .split(',')
                .map(|ms| Duration::from_millis(ms.parse().unwrap()))
                .collect();
            consumer.retry.max_attempts = RETRY_MAX_ATTEMPTS;
        }
        let mut cluster = Self {
            dir,
            db,
            env,
            processes: HashMap::new(),
            launches: HashMap::new(),
            urls: HashMap::new(),
            faults,
            bus: RabbitBus::new(&amqp_url(), topology),
            http: reqwest::Client::new(),
            admin: String::new(),
        };
        cluster.cli(&["migrate", "up"]).await;
        cluster.cli(&["admin", "seed"]).await;
        cluster
            .cli_with(
                &[
                    "admin",
                    "create-user",
                    "--email",
                    ADMIN_EMAIL,
                    "--role",
                    "admin",
                ],
                &[("BOOKSTORE_NEW_USER_PASSWORD", PASSWORD)],
            )
            .await;
        for (name, port) in [
            ("users", free_port()),
            ("catalog", free_port()),
            ("inventory", inventory_port),
            ("orders", free_port()),
        ] {
            cluster
                .urls
                .insert(name, format!("http://127.0.0.1:{port}"));
        }
        let workers_inventory = match &cluster.faults {
            Some(faults) => format!("http://{}", faults.inventory.addr),
            None => cluster.urls["inventory"].clone(),
        };
        cluster.urls.insert("workers-inventory", workers_inventory);
        for name in ["users", "catalog", "inventory", "orders"] {
            cluster.spawn(name, name).await;
        }
        for worker in ["worker-a", "worker-b"] {
            cluster.spawn_worker(worker).await;
        }
        cluster.admin = cluster.login(ADMIN_EMAIL).await;
        cluster
    }

    /// The fault proxies; only a shop started through them has them.
    pub fn faults(&self) -> &Faults {
        self.faults
            .as_ref()
            .expect("this shop was started without fault proxies")
    }

    pub fn url(&self, service: &str, path: &str) -> String {
        format!("{}{path}", self.urls[service])
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .kill_on_drop(true);
        for (k, v) in &self.env {
            command.env(k, v);
        }
        command
    }

    pub async fn cli(&self, args: &[&str]) -> String {
        self.cli_with(args, &[]).await
    }

    pub async fn cli_with(&self, args: &[&str], extra: &[(&str, &str)]) -> String {
        let mut command = self.command(args);
        for (k, v) in extra {
            command.env(k, v);
        }
        let output = command.stdin(Stdio::null()).output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "bookstore {args:?} failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Starts component `command` as process `name` and waits until it is ready.
    pub async fn spawn(&mut self, name: &str, command: &str) {
        let listen = self.urls[command].trim_start_matches("http://").to_owned();
        let args = vec![command.to_owned()];
        let mut extra = vec![("BOOKSTORE_LISTEN".to_owned(), listen)];
        if command == "orders" {
            extra.push(("BOOKSTORE_CATALOG_URL".into(), self.urls["catalog"].clone()));
        }
        if command == "catalog" {
            extra.push(("BOOKSTORE_ORDERS_URL".into(), self.urls["orders"].clone()));
        }
        self.launch(
            name,
            &args,
            extra,
            &self.urls[command].clone(),
            Until::Ready,
        )
        .await;
    }

    /// Starts a worker calling orders directly and inventory through its proxy, if any.
    pub async fn spawn_worker(&mut self, name: &str) {
        let port = free_port();
        let extra = vec![
            ("BOOKSTORE_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            (
                "BOOKSTORE_INVENTORY_URL".to_owned(),
                self.urls["workers-inventory"].clone(),
            ),
            (
                "BOOKSTORE_ORDERS_URL".to_owned(),
                self.urls["orders"].clone(),
            ),
            (
                "BOOKSTORE_CATALOG_URL".to_owned(),
                self.urls["catalog"].clone(),
            ),
            (
                "BOOKSTORE_WORKER_CALL_TIMEOUT_SECONDS".to_owned(),
                "2".into(),
            ),
        ];
        let base = format!("http://127.0.0.1:{port}");
        self.urls.insert(
            if name == "worker-a" {
                "worker-a"
            } else {
                "worker-b"
            },
            base.clone(),
        );
        self.launch(name, &["worker".to_owned()], extra, &base, Until::Ready)
            .await;
    }

    /// Starts a notification gateway as process `name` and returns its base URL.
    pub async fn spawn_gateway(&mut self, name: &'static str) -> String {
        self.spawn_gateway_until(name, Until::Ready).await
    }

    /// Starts a notification gateway and returns once it is as far as `until`.
    pub async fn spawn_gateway_until(&mut self, name: &'static str, until: Until) -> String {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let extra = vec![("BOOKSTORE_LISTEN".to_owned(), format!("127.0.0.1:{port}"))];
        self.urls.insert(name, base.clone());
        self.launch(name, &["notifications".to_owned()], extra, &base, until)
            .await;
        base
    }

    /// An access token signed with the shop's key, as the users service would issue it, valid
    /// for `ttl`.
    pub fn token(&self, user_id: &str, role: platform::auth::Role, ttl: Duration) -> String {
        let pem = std::fs::read_to_string(self.dir.join("jwt.pem")).unwrap();
        let signer =
            platform::auth::TokenSigner::new(&KeyPair::from_pem(&pem).unwrap(), ttl).unwrap();
        signer.sign(user_id, role, "test-session").unwrap()
    }

    /// The id of the account a token belongs to.
    pub async fn user_id(&self, token: &str) -> String {
        let (status, body) = self.get("users", "/api/v1/users/me", Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn launch(
        &mut self,
        name: &str,
        args: &[String],
        extra: Vec<(String, String)>,
        base: &str,
        until: Until,
    ) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let mut command = self.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for (k, v) in &extra {
            command.env(k, v);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        // Ready means this child listens on `base` (its log says so: another process that took
        // the port first would answer `/readyz` too) and answers `/readyz`.
        let listening = format!("\"addr\":\"{}\"", base.trim_start_matches("http://"));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{name} exited with {status}: {}", self.log(name));
            }
            let log =
                std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            if log
                .lines()
                .any(|l| l.contains("\"Listening.\"") && l.contains(&listening))
                && (until == Until::Listening
                    || self
                        .http
                        .get(format!("{base}/readyz"))
                        .send()
                        .await
                        .is_ok_and(|response| response.status() == StatusCode::OK))
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not become ready: {}",
                self.log(name)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.processes.insert(name.to_owned(), child);
        self.launches.insert(
            name.to_owned(),
            Launch {
                args: args.to_vec(),
                extra,
                base: base.to_owned(),
            },
        );
    }

    /// Starts a killed process again, as it was started, and waits until it is ready.
    pub async fn restart(&mut self, name: &str) {
        let launch = self.launches[name].clone();
        self.launch(name, &launch.args, launch.extra, &launch.base, Until::Ready)
            .await;
    }

    pub fn log(&self, name: &str) -> String {
        let text =
            std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
        text.lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Kills a process at once, as the kernel's OOM killer or a node failure would.
    pub async fn kill(&mut self, name: &str) {
        let mut child = self.processes.remove(name).unwrap();
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        send(&self.http, method, url, token, body).await
    }

    pub async fn get(&self, service: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.request(reqwest::Method::GET, self.url(service, path), token, None)
            .await
    }

    pub async fn post(
        &self,
        service: &str,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        self.request(
            reqwest::Method::POST,
            self.url(service, path),
            token,
            Some(body),
        )
        .await
    }

    pub async fn customer(&self, email: &str) -> String {
        register(&self.http, &self.urls["users"], email, PASSWORD).await
    }

    pub async fn login(&self, email: &str) -> String {
        log_in(&self.http, &self.urls["users"], email, PASSWORD).await
    }

    /// A book of the sample catalogue, with `stock` units.
    pub async fn book_with_stock(&self, stock: i64) -> String {
        let (_, page) = self
            .get("catalog", "/api/v1/books?limit=1&sort=price_asc", None)
            .await;
        let id = page["items"][0]["id"].as_str().unwrap().to_owned();
        let (status, body) = self
            .request(
                reqwest::Method::PUT,
                self.url("inventory", &format!("/api/v1/inventory/{id}")),
                Some(&self.admin),
                Some(json!({ "available": stock })),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{body}; inventory log: {}",
            self.log("inventory")
        );
        id
    }

    pub async fn place(
        &self,
        token: &str,
        book_id: &str,
        quantity: u32,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        place_order(
            &self.http,
            &self.urls["orders"],
            token,
            book_id,
            quantity,
            key,
        )
        .await
    }

    pub async fn stock(&self, book_id: &str) -> i64 {
        let (_, body) = self
            .get("inventory", &format!("/api/v1/inventory/{book_id}"), None)
            .await;
        body["available"].as_i64().unwrap()
    }

    /// Every order, as the admin sees them.
    pub async fn all_orders(&self) -> Vec<Value> {
        let mut orders = Vec::new();
        for page in 1.. {
            let (status, body) = self
                .get(
                    "orders",
                    &format!("/api/v1/orders?limit=100&page={page}"),
                    Some(&self.admin),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            orders.extend(body["items"].as_array().unwrap().iter().cloned());
            if body["next_page"].is_null() {
                break;
            }
        }
        orders
    }

    /// Waits until no order is pending, failing after `within`.
    ///
    /// While waiting it asks only whether one order is still pending, so that the wait does not
    /// load the shop it is waiting for (all orders are read once, at the end).
    pub async fn settled(&self, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = self
                .get(
                    "orders",
                    "/api/v1/orders?status=pending&limit=1",
                    Some(&self.admin),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            if body["items"].as_array().unwrap().is_empty() {
                let orders = self.all_orders().await;
                assert!(orders.iter().all(|o| o["status"] != "pending"));
                return orders;
            }
            assert!(
                Instant::now() < deadline,
                "orders still pending, such as {}; worker log: {}",
                body["items"][0]["id"],
                self.log("worker-a")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn status_of(&self, token: &str, order_id: &str) -> String {
        let (_, body) = self
            .get(
                "orders",
                &format!("/api/v1/orders/{order_id}/status"),
                Some(token),
            )
            .await;
        body["status"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn wait_status(&self, token: &str, order_id: &str, status: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.status_of(token, order_id).await != status {
            assert!(
                Instant::now() < deadline,
                "order {order_id} did not become {status}; worker log: {}",
                self.log("worker-a")
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn dead_letters(&self) -> u64 {
        self.dead_letters_of(contracts::consumers::ORDER_PLACED_WORKER)
            .await
    }

    /// How many dead letters `consumer` has, as `bookstore dlq list` counts them.
    pub async fn dead_letters_of(&self, consumer: &str) -> u64 {
        let out = self
            .cli(&["dlq", "list", "--consumer", consumer, "--limit", "0"])
            .await;
        out.split(':')
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The samples of process `name`'s `/metrics` whose line starts with `prefix`, summed.
    pub async fn metric(&self, name: &str, prefix: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.urls[name]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        platform::testing::metric_sum(&text, prefix)
    }

    /// Publishes an `order.placed` whose body is not an order (a poison message) and returns it.
    pub async fn publish_poison(&self) -> platform::messaging::Envelope {
        use contracts::events::Event;
        let mut poison = contracts::events::OrderPlaced {
            order_id: "x".into(),
            user_id: "y".into(),
            lines: vec![],
            placed_at: chrono::Utc::now(),
        }
        .envelope()
        .unwrap();
        poison.payload = b"{\"order_id\": 42, this is not an order".to_vec();
        platform::messaging::Bus::publish(&self.bus, &poison)
            .await
            .unwrap();
        poison
    }

    /// A metric of both workers, summed.
    pub async fn workers_metric(&self, prefix: &str) -> f64 {
        self.metric("worker-a", prefix).await + self.metric("worker-b", prefix).await
    }

    pub async fn stop(mut self) {
        for (_, mut child) in self.processes.drain() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let _ = self.bus.delete_topology().await;
        self.db.drop_database().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
