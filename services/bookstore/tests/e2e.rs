//! The black-box end-to-end suite: the split components as separate processes (users, catalog,
//! inventory, orders and two workers) on PostgreSQL and RabbitMQ, driven only through their
//! HTTP APIs and the `bookstore` command line. Fault proxies stand between the components and
//! RabbitMQ, and between the workers and inventory, so outages are staged without touching the
//! shared servers. Each test gets its own database and broker namespace.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use platform::auth::{KeyPair, ServiceToken};
use platform::events::{Event, LineRef, OrderPlaced};
use platform::messaging::Bus;
use platform::messaging::rabbitmq::RabbitBus;
use platform::messaging::topology::Topology;
use platform::testing::{Backend, FaultMode, FaultProxy, TestDatabase};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
const PASSWORD: &str = "correct horse battery";
const ADMIN_EMAIL: &str = "ops@shop.example";
/// Short back-off so that running out of attempts takes about two seconds.
const RETRY_DELAYS_MS: &str = "200,400,800";
const RETRY_MAX_ATTEMPTS: u32 = 4;
const ORDER_WORKER: &str = "worker.order-placed";

fn amqp_url() -> String {
    std::env::var("BOOKSTORE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// The broker's address, when one answers; without it the suite cannot run its components.
async fn broker() -> Option<std::net::SocketAddr> {
    let url = url::Url::parse(&amqp_url()).unwrap();
    let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5672));
    match tokio::net::TcpStream::connect(&addr).await {
        Ok(_) => Some(addr.parse().unwrap()),
        Err(err) => {
            assert!(
                !platform::testing::require_real_backends(),
                "RabbitMQ is required (BOOKSTORE_REQUIRE_REAL_BACKENDS=1) but not reachable at {addr}: {err}"
            );
            eprintln!(
                "RabbitMQ is not reachable at {addr}; the split-component suite needs it and does not run"
            );
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The split shop: its processes, their addresses and the faults a test can stage.
struct Cluster {
    dir: PathBuf,
    db: TestDatabase,
    env: Vec<(String, String)>,
    processes: HashMap<String, Child>,
    urls: HashMap<&'static str, String>,
    amqp: FaultProxy,
    inventory_proxy: FaultProxy,
    bus: RabbitBus,
    http: reqwest::Client,
    admin: String,
}

impl Cluster {
    async fn start(broker: std::net::SocketAddr) -> Self {
        let dir =
            std::env::temp_dir().join(format!("bookstore-e2e-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = TestDatabase::create(Backend::Postgres).await.unwrap();
        let keys = KeyPair::generate();
        let (private, public) = (dir.join("jwt.pem"), dir.join("jwt.pub.pem"));
        std::fs::write(&private, keys.to_pem().unwrap()).unwrap();
        std::fs::write(&public, keys.public().to_pem().unwrap()).unwrap();
        let amqp = FaultProxy::start(broker).await;
        let namespace = format!("e2e-{}.", uuid::Uuid::new_v4().simple());
        let amqp_proxied = {
            let mut url = url::Url::parse(&amqp_url()).unwrap();
            url.set_port(Some(amqp.addr.port())).unwrap();
            url.set_host(Some("127.0.0.1")).unwrap();
            url.to_string()
        };
        let env: Vec<(String, String)> = [
            ("DATABASE_URL", db.url.clone()),
            ("DATABASE_MAX_CONNECTIONS", "10".into()),
            ("AMQP_URL", amqp_proxied),
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
            ("BOOKSTORE_LOG_FORMAT", "json".into()),
            ("RUST_LOG", "info,sqlx=warn,sea_orm=warn".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        // A placeholder until inventory has a port: the proxy needs its target first.
        let inventory_port = free_port();
        let inventory_proxy =
            FaultProxy::start(format!("127.0.0.1:{inventory_port}").parse().unwrap()).await;
        let mut topology = Topology::standard(&namespace);
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
            urls: HashMap::new(),
            amqp,
            inventory_proxy,
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
        cluster.urls.insert(
            "inventory-proxied",
            format!("http://{}", cluster.inventory_proxy.addr),
        );
        for name in ["users", "catalog", "inventory", "orders"] {
            cluster.spawn(name, name).await;
        }
        for worker in ["worker-a", "worker-b"] {
            cluster.spawn_worker(worker).await;
        }
        cluster.admin = cluster.login(ADMIN_EMAIL).await;
        cluster
    }

    fn url(&self, service: &str, path: &str) -> String {
        format!("{}{path}", self.urls[service])
    }

    fn command(&self, args: &[&str]) -> Command {
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

    async fn cli(&self, args: &[&str]) -> String {
        self.cli_with(args, &[]).await
    }

    async fn cli_with(&self, args: &[&str], extra: &[(&str, &str)]) -> String {
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
    async fn spawn(&mut self, name: &str, command: &str) {
        let listen = self.urls[command].trim_start_matches("http://").to_owned();
        let args = vec![command.to_owned()];
        let mut extra = vec![("BOOKSTORE_LISTEN".to_owned(), listen)];
        if command == "orders" {
            extra.push(("BOOKSTORE_CATALOG_URL".into(), self.urls["catalog"].clone()));
        }
        self.launch(name, &args, extra, &self.urls[command].clone())
            .await;
    }

    /// Starts a worker calling orders directly and inventory through its proxy.
    async fn spawn_worker(&mut self, name: &str) {
        let port = free_port();
        let extra = vec![
            ("BOOKSTORE_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            (
                "BOOKSTORE_INVENTORY_URL".to_owned(),
                self.urls["inventory-proxied"].clone(),
            ),
            (
                "BOOKSTORE_ORDERS_URL".to_owned(),
                self.urls["orders"].clone(),
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
        self.launch(name, &["worker".to_owned()], extra, &base)
            .await;
    }

    async fn launch(
        &mut self,
        name: &str,
        args: &[String],
        extra: Vec<(String, String)>,
        base: &str,
    ) {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).unwrap();
        let mut command = self.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        for (k, v) in extra {
            command.env(k, v);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{name} exited with {status}: {}", self.log(name));
            }
            if let Ok(response) = self.http.get(format!("{base}/readyz")).send().await
                && response.status() == StatusCode::OK
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
    }

    fn log(&self, name: &str) -> String {
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
    async fn kill(&mut self, name: &str) {
        let mut child = self.processes.remove(name).unwrap();
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }

    async fn request(
        &self,
        method: reqwest::Method,
        url: String,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, url);
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

    async fn get(&self, service: &str, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.request(reqwest::Method::GET, self.url(service, path), token, None)
            .await
    }

    async fn post(
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

    async fn customer(&self, email: &str) -> String {
        let (status, body) = self
            .post(
                "users",
                "/api/v1/auth/register",
                None,
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn login(&self, email: &str) -> String {
        let (status, body) = self
            .post(
                "users",
                "/api/v1/auth/login",
                None,
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A book of the sample catalogue, with `stock` units.
    async fn book_with_stock(&self, stock: i64) -> String {
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
        assert_eq!(status, StatusCode::OK, "{body}");
        id
    }

    async fn place(
        &self,
        token: &str,
        book_id: &str,
        quantity: u32,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url("orders", "/api/v1/orders"))
            .bearer_auth(token)
            .json(&json!({ "lines": [{ "book_id": book_id, "quantity": quantity }] }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn stock(&self, book_id: &str) -> i64 {
        let (_, body) = self
            .get("inventory", &format!("/api/v1/inventory/{book_id}"), None)
            .await;
        body["available"].as_i64().unwrap()
    }

    /// Every order, as the admin sees them.
    async fn all_orders(&self) -> Vec<Value> {
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
    async fn settled(&self, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let orders = self.all_orders().await;
            if orders.iter().all(|o| o["status"] != "pending") {
                return orders;
            }
            let pending = orders.iter().filter(|o| o["status"] == "pending").count();
            assert!(
                Instant::now() < deadline,
                "{pending} order(s) still pending; worker log: {}",
                self.log("worker-a")
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn status_of(&self, token: &str, order_id: &str) -> String {
        let (_, body) = self
            .get(
                "orders",
                &format!("/api/v1/orders/{order_id}/status"),
                Some(token),
            )
            .await;
        body["status"].as_str().unwrap_or_default().to_owned()
    }

    async fn wait_status(&self, token: &str, order_id: &str, status: &str, within: Duration) {
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

    async fn dead_letters(&self) -> u64 {
        let out = self
            .cli(&["dlq", "list", "--consumer", ORDER_WORKER, "--limit", "0"])
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

    async fn worker_metric(&self, worker: &str, needle: &str) -> u64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.urls[worker]))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|l| l.starts_with(needle))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    async fn stop(mut self) {
        for (_, mut child) in self.processes.drain() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let _ = self.bus.delete_topology().await;
        self.db.drop_database().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_orders_for_ten_units_sell_exactly_ten() {
    let Some(broker) = broker().await else { return };
    let cluster = std::sync::Arc::new(Cluster::start(broker).await);
    let book = cluster.book_with_stock(10).await;
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(cluster.customer(&format!("buyer{i}@shop.example")).await);
    }
    // Stock is sampled while orders are processed: it must never go below zero.
    let watcher = {
        let (cluster, book) = (cluster.clone(), book.clone());
        tokio::spawn(async move {
            let mut lowest = i64::MAX;
            for _ in 0..200 {
                lowest = lowest.min(cluster.stock(&book).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lowest
        })
    };
    let mut placing = tokio::task::JoinSet::new();
    for n in 0..200 {
        let (cluster, token, book) = (cluster.clone(), customers[n % 5].clone(), book.clone());
        placing.spawn(async move {
            cluster
                .place(&token, &book, 1, Some(&format!("order-{n}")))
                .await
        });
    }
    while let Some(result) = placing.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let orders = cluster.settled(Duration::from_secs(90)).await;
    assert_eq!(orders.len(), 200);
    let completed = orders.iter().filter(|o| o["status"] == "completed").count();
    let failed: Vec<&Value> = orders.iter().filter(|o| o["status"] == "failed").collect();
    assert_eq!(completed, 10, "exactly the stock is sold");
    assert_eq!(failed.len(), 190);
    assert!(failed.iter().all(|o| o["reason"] == "out_of_stock"));
    assert_eq!(cluster.stock(&book).await, 0);
    assert!(watcher.await.unwrap() >= 0, "stock went below zero");
    // The catalogue's read model follows inventory.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, view) = cluster
            .get("catalog", &format!("/api/v1/books/{book}"), None)
            .await;
        if view["available"] == 0 && view["in_stock"] == false {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the catalogue still shows {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::sync::Arc::into_inner(cluster).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_killed_mid_processing_lose_nothing_and_apply_nothing_twice() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(1000).await;
    let token = cluster.customer("crash@shop.example").await;
    let mut ids = Vec::new();
    for n in 0..80 {
        let (status, body) = cluster
            .place(&token, &book, 3, Some(&format!("k{n}")))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        ids.push(body["id"].as_str().unwrap().to_owned());
        if n == 40 {
            // Mid-stream, with messages in flight: both workers die without warning.
            cluster.kill("worker-a").await;
            cluster.kill("worker-b").await;
        }
    }
    cluster.spawn_worker("worker-a").await;
    let orders = cluster.settled(Duration::from_secs(60)).await;
    assert_eq!(orders.len(), 80);
    assert!(
        orders.iter().all(|o| o["status"] == "completed"),
        "{orders:?}"
    );
    assert_eq!(
        cluster.stock(&book).await,
        1000 - 80 * 3,
        "each order took its units exactly once"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_are_accepted_while_rabbitmq_is_down_and_processed_once_it_is_back() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(500).await;
    let token = cluster.customer("outage@shop.example").await;
    cluster.amqp.set(FaultMode::Down);
    let outage = Instant::now();
    let mut placed = 0;
    while outage.elapsed() < Duration::from_secs(30) {
        let (status, body) = cluster.place(&token, &book, 1, None).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "the outbox holds orders while the broker is down: {body}"
        );
        placed += 1;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let still_pending = cluster
        .all_orders()
        .await
        .iter()
        .filter(|o| o["status"] == "pending")
        .count();
    assert_eq!(
        still_pending, placed,
        "nothing can be processed without the broker"
    );
    cluster.amqp.set(FaultMode::Forward);
    let orders = cluster.settled(Duration::from_secs(60)).await;
    assert_eq!(orders.len(), placed, "none lost, none duplicated");
    assert!(orders.iter().all(|o| o["status"] == "completed"));
    assert_eq!(cluster.stock(&book).await, 500 - placed as i64);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_message_is_dead_lettered_and_the_worker_keeps_consuming() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let token = cluster.customer("poison@shop.example").await;
    let mut poison = OrderPlaced {
        order_id: "x".into(),
        user_id: "y".into(),
        lines: vec![],
        placed_at: chrono::Utc::now(),
    }
    .envelope()
    .unwrap();
    poison.payload = b"{\"order_id\": 42, this is not an order".to_vec();
    cluster.bus.publish(&poison).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.dead_letters().await < 1 {
        assert!(
            Instant::now() < deadline,
            "the poison message did not reach the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listing = cluster
        .cli(&["dlq", "list", "--consumer", ORDER_WORKER])
        .await;
    assert!(
        listing.contains(&poison.id) && listing.contains("unreadable order.placed payload"),
        "{listing}"
    );
    let (_, order) = cluster.place(&token, &book, 1, None).await;
    cluster
        .wait_status(
            &token,
            order["id"].as_str().unwrap(),
            "completed",
            Duration::from_secs(20),
        )
        .await;
    let purge_dry = cluster
        .cli(&["dlq", "purge", "--consumer", ORDER_WORKER, "--dry-run"])
        .await;
    assert!(purge_dry.contains("Would purge 1"), "{purge_dry}");
    assert_eq!(cluster.dead_letters().await, 1);
    let purged = cluster
        .cli(&["dlq", "purge", "--consumer", ORDER_WORKER])
        .await;
    assert!(purged.contains("Purged 1"), "{purged}");
    assert_eq!(cluster.dead_letters().await, 0);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inventory_failing_for_a_while_delays_orders_and_redrive_completes_exhausted_ones() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let token = cluster.customer("flaky@shop.example").await;

    // A short outage: retries with growing delays carry the order through.
    cluster.inventory_proxy.set(FaultMode::Unavailable);
    let (_, short) = cluster.place(&token, &book, 1, None).await;
    let short = short["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cluster.status_of(&token, &short).await, "pending");
    cluster.inventory_proxy.set(FaultMode::Forward);
    cluster
        .wait_status(&token, &short, "completed", Duration::from_secs(20))
        .await;
    let retries = cluster
        .worker_metric(
            "worker-a",
            "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"retry\"",
        )
        .await
        + cluster
            .worker_metric(
                "worker-b",
                "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"retry\"",
            )
            .await;
    assert!(retries >= 1, "the 503s were retried");

    // A long outage: the attempts run out and the message waits in the dead-letter queue.
    cluster.inventory_proxy.set(FaultMode::Unavailable);
    let (_, long) = cluster.place(&token, &book, 1, None).await;
    let long = long["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.dead_letters().await < 1 {
        assert!(
            Instant::now() < deadline,
            "the exhausted message did not reach the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listing = cluster
        .cli(&["dlq", "list", "--consumer", ORDER_WORKER])
        .await;
    assert!(
        listing.contains(&format!("attempts={RETRY_MAX_ATTEMPTS}")) && listing.contains("503"),
        "{listing}"
    );
    assert_eq!(cluster.status_of(&token, &long).await, "pending");

    cluster.inventory_proxy.set(FaultMode::Forward);
    let dry = cluster
        .cli(&["dlq", "redrive", "--consumer", ORDER_WORKER, "--dry-run"])
        .await;
    assert!(dry.contains("Would redrive 1"), "{dry}");
    assert_eq!(cluster.dead_letters().await, 1, "a dry run moves nothing");
    let redriven = cluster
        .cli(&["dlq", "redrive", "--consumer", ORDER_WORKER])
        .await;
    assert!(redriven.contains("Redrove 1"), "{redriven}");
    cluster
        .wait_status(&token, &long, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(cluster.stock(&book).await, 8);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_requests_and_redelivered_events_change_nothing() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let token = cluster.customer("twice@shop.example").await;
    let (first_status, first) = cluster.place(&token, &book, 2, Some("same-key")).await;
    let (second_status, second) = cluster.place(&token, &book, 2, Some("same-key")).await;
    assert_eq!(
        (first_status, second_status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(first["id"], second["id"]);
    let id = first["id"].as_str().unwrap().to_owned();
    cluster
        .wait_status(&token, &id, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(cluster.stock(&book).await, 8);

    // The same order.placed delivered again (a broker redelivery) finds the work done.
    let acked_before = cluster
        .worker_metric(
            "worker-a",
            "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"ack\"",
        )
        .await
        + cluster
            .worker_metric(
                "worker-b",
                "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"ack\"",
            )
            .await;
    let again = OrderPlaced {
        order_id: id.clone(),
        user_id: String::new(),
        lines: vec![LineRef {
            book_id: book.clone(),
            quantity: 2,
        }],
        placed_at: chrono::Utc::now(),
    };
    cluster
        .bus
        .publish(&again.envelope().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let acked = cluster.worker_metric("worker-a", "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"ack\"").await
            + cluster.worker_metric("worker-b", "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"ack\"").await;
        if acked > acked_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the redelivered event was not handled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.stock(&book).await, 8, "stock was taken once");
    assert_eq!(cluster.status_of(&token, &id).await, "completed");
    assert_eq!(cluster.all_orders().await.len(), 1);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn customers_reach_only_their_own_orders_and_never_internal_endpoints() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let alice = cluster.customer("alice@shop.example").await;
    let bob = cluster.customer("bob@shop.example").await;
    let (_, order) = cluster.place(&bob, &book, 1, None).await;
    let bobs = order["id"].as_str().unwrap().to_owned();
    cluster
        .wait_status(&bob, &bobs, "completed", Duration::from_secs(20))
        .await;

    assert_eq!(
        cluster
            .get("orders", &format!("/api/v1/orders/{bobs}"), Some(&alice))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cluster
            .get(
                "orders",
                &format!("/api/v1/orders/{bobs}/status"),
                Some(&alice)
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cluster
            .post(
                "orders",
                &format!("/api/v1/orders/{bobs}/cancel"),
                Some(&alice),
                json!({})
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = cluster.get("orders", "/api/v1/orders", Some(&alice)).await;
    assert_eq!(list["total"], 0);

    // Internal endpoints and stock changes are not for customers.
    let reserve = json!({ "order_id": "forged", "lines": [{ "book_id": book, "quantity": 10 }] });
    let (status, _) = cluster
        .post(
            "inventory",
            "/api/v1/inventory/reservations",
            Some(&alice),
            reserve,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = cluster
        .post(
            "inventory",
            &format!("/api/v1/inventory/reservations/{bobs}/release"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = cluster
        .request(
            reqwest::Method::PUT,
            cluster.url("inventory", &format!("/api/v1/inventory/{book}")),
            Some(&alice),
            Some(json!({ "available": 1000 })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/status"),
            Some(&alice),
            json!({ "status": "completed" }),
        )
        .await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    assert_eq!(cluster.stock(&book).await, 9);

    // Illegal transitions are refused; an admin's cancel gives the stock back.
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/cancel"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a customer cannot cancel a completed order"
    );
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/status"),
            Some(&cluster.admin),
            json!({ "status": "delivered" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "delivered before shipped");
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/cancel"),
            Some(&cluster.admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.stock(&book).await != 10 {
        assert!(
            Instant::now() < deadline,
            "the cancelled order's stock did not come back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.stop().await;
}
