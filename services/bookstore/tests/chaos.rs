//! A fault soak: the split shop (users, catalog, inventory, orders, two workers and a
//! notification gateway) on PostgreSQL, then on MariaDB, with RabbitMQ, every connection to the
//! database and the broker through a fault proxy. Customers place orders at a steady rate and
//! read their account and the catalogue, while a fault is staged every few seconds: a component
//! killed (SIGKILL) and started again, the broker cut, or the database cut. Afterwards the
//! invariants must hold:
//!
//! - every accepted order reaches a final status within a bound;
//! - each book's stock equals its initial stock less the units of its completed orders, and
//!   never went below zero;
//! - one order at most per `Idempotency-Key`, however often the client sent it again;
//! - the outboxes are drained and the dead-letter queues are empty;
//! - no client was answered a server error other than `503` with `Retry-After`;
//! - every final status reached the owner's socket, or the socket was told to read again
//!   (`resync`) or reconnected after the order was placed (and so read again on `connect`).
//!
//! `cargo xtask chaos` runs it longer: `BOOKSTORE_CHAOS_SECONDS` (of faults, per database),
//! `BOOKSTORE_CHAOS_SEED` (the fault sequence; printed, so a failure can be replayed),
//! `BOOKSTORE_CHAOS_FAULT_EVERY_MS`.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/socketio.rs"]
mod socketio;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cluster::{Cluster, servers};
use platform::testing::{Backend, FaultMode};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use socketio::Clients;

/// Seconds of faults per database in `cargo test`; `cargo xtask chaos` runs longer.
const DEFAULT_SECONDS: u64 = 45;
const DEFAULT_FAULT_EVERY_MS: u64 = 4000;
/// Customers placing orders, each with a socket of its own.
const CUSTOMERS: usize = 4;
/// Time between two orders of one customer.
const ORDER_EVERY: Duration = Duration::from_millis(300);
/// Books sold, and the stock each starts with: less than is ordered, so some orders fail.
const BOOKS: usize = 4;
const INITIAL_STOCK: i64 = 80;
/// Processes a fault may kill.
const COMPONENTS: [&str; 7] = [
    "users",
    "catalog",
    "inventory",
    "orders",
    "worker-a",
    "worker-b",
    "gateway",
];
/// How long after the last fault every accepted order must be final.
const SETTLE_WITHIN: Duration = Duration::from_secs(90);

/// The soaks share the machine: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_the_split_shop_keeps_its_invariants_through_a_storm_of_faults() {
    let _turn = ONE_AT_A_TIME.lock().await;
    soak(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mariadb_the_split_shop_keeps_its_invariants_through_a_storm_of_faults() {
    let _turn = ONE_AT_A_TIME.lock().await;
    soak(Backend::Mysql).await;
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|value| {
            value
                .parse()
                .unwrap_or_else(|_| panic!("{name}={value:?} is not a number"))
        })
        .unwrap_or(default)
}

/// splitmix64: a small seeded generator, so that a seed replays the same faults.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
}

/// Milliseconds since the epoch, the clock the socket client stamps its lines with.
fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// What the clients saw: each answer's status, keyed by what was asked.
#[derive(Default)]
struct Seen {
    /// Answers by request kind and status ("unreachable": no answer, a process was down).
    answers: BTreeMap<(String, String), u64>,
    /// Server errors other than a 503 with Retry-After, with their bodies.
    server_errors: Vec<String>,
    /// Accepted orders: id, owner's index, when the first attempt was sent (epoch ms), key.
    accepted: Vec<(String, usize, f64, String)>,
    /// Idempotency keys sent, and the order ids their answers named.
    keys: HashMap<String, Vec<String>>,
}

impl Seen {
    fn answer(
        &mut self,
        what: &str,
        result: &Result<(StatusCode, Option<String>, String), String>,
    ) {
        let status = match result {
            Ok((status, retry_after, body)) => {
                if status.is_server_error()
                    && !(*status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_some())
                {
                    self.server_errors.push(format!("{what}: {status} {body}"));
                }
                status.as_u16().to_string()
            }
            Err(_) => "unreachable".to_owned(),
        };
        *self.answers.entry((what.to_owned(), status)).or_default() += 1;
    }
}

/// One request; the status, Retry-After and body, or why there was no answer.
async fn send(
    request: reqwest::RequestBuilder,
) -> Result<(StatusCode, Option<String>, String), String> {
    let response = request.send().await.map_err(|err| err.to_string())?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.text().await.map_err(|err| err.to_string())?;
    Ok((status, retry_after, body))
}

/// Places orders for customer `index` until `stop`, each sent again with the same key until it
/// is answered (as a careful client does), and reads the customer's account and the catalogue
/// between orders.
#[allow(clippy::too_many_arguments)]
async fn customer(
    index: usize,
    token: String,
    orders: String,
    users: String,
    catalog: String,
    books: Vec<String>,
    seen: Arc<Mutex<Seen>>,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut random = Random(index as u64 * 7919 + 1);
    for n in 0.. {
        if *stop.borrow() {
            break;
        }
        let key = format!("customer-{index}-order-{n}");
        let book = &books[random.between(0, BOOKS as u64 - 1) as usize];
        let quantity = random.between(1, 2);
        let sent_at = epoch_ms();
        // A key is sent again until it is answered, for at most 30 s.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = send(
                http.post(format!("{orders}/api/v1/orders"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", &key)
                    .json(&json!({ "lines": [{ "book_id": book, "quantity": quantity }] })),
            )
            .await;
            if record_order(&seen, &result, &key, index, sent_at) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for (what, url) in [
            ("GET /api/v1/users/me", format!("{users}/api/v1/users/me")),
            (
                "GET /api/v1/books",
                format!("{catalog}/api/v1/books?limit=5&sort=price_asc"),
            ),
        ] {
            let result = send(http.get(url).bearer_auth(&token)).await;
            seen.lock().unwrap().answer(what, &result);
        }
        tokio::time::sleep(ORDER_EVERY).await;
    }
}

/// Records the answer to an attempt at order `key`; whether the key is settled (answered).
fn record_order(
    seen: &Mutex<Seen>,
    result: &Result<(StatusCode, Option<String>, String), String>,
    key: &str,
    owner: usize,
    sent_at: f64,
) -> bool {
    let mut seen = seen.lock().unwrap();
    seen.answer("POST /api/v1/orders", result);
    match result {
        Ok((status, _, body)) if status.is_success() => {
            let id = serde_json::from_str::<Value>(body).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let ids = seen.keys.entry(key.to_owned()).or_default();
            ids.push(id.clone());
            if ids.len() == 1 {
                seen.accepted.push((id, owner, sent_at, key.to_owned()));
            }
            true
        }
        Ok((status, _, body))
            if status.is_client_error() && *status != StatusCode::TOO_MANY_REQUESTS =>
        {
            panic!("customer {owner}: order {key} refused: {status} {body}")
        }
        _ => {
            seen.keys.entry(key.to_owned()).or_default();
            false
        }
    }
}

/// Counts the rows of `table` not yet published.
async fn unpublished(db: &sea_orm::DatabaseConnection, table: &str) -> i64 {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table} WHERE published_at IS NULL"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn soak(backend: Backend) {
    let Some(broker) = servers(backend).await else {
        return;
    };
    let seconds = setting("BOOKSTORE_CHAOS_SECONDS", DEFAULT_SECONDS);
    let fault_every = Duration::from_millis(setting(
        "BOOKSTORE_CHAOS_FAULT_EVERY_MS",
        DEFAULT_FAULT_EVERY_MS,
    ));
    let seed = setting(
        "BOOKSTORE_CHAOS_SEED",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            .into(),
    );
    eprintln!(
        "chaos on {backend:?}: {seconds} s of faults, one every {fault_every:?}, seed {seed} \
         (BOOKSTORE_CHAOS_SEED={seed} replays the same faults)"
    );
    // Retries that outlast any one fault, as production's do (1 s, 5 s, 30 s, 2 min): a message
    // dead-lettered here would be an order left pending until someone redrives it.
    let settings = [
        ("BOOKSTORE_RETRY_DELAYS_MS", "500,1000,2000,4000"),
        ("BOOKSTORE_RETRY_MAX_ATTEMPTS", "12"),
    ];
    let mut cluster = Cluster::start_on(broker, backend, &settings).await;
    let gateway = cluster.spawn_gateway("gateway").await;

    // Books with a known stock, and customers with a socket each.
    let (_, page) = cluster
        .get(
            "catalog",
            &format!("/api/v1/books?limit={BOOKS}&sort=price_asc"),
            None,
        )
        .await;
    let books: Vec<String> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|book| book["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(books.len(), BOOKS);
    for book in &books {
        let (status, body) = cluster
            .request(
                reqwest::Method::PUT,
                cluster.url("inventory", &format!("/api/v1/inventory/{book}")),
                Some(&cluster.admin),
                Some(json!({ "available": INITIAL_STOCK })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let mut tokens = Vec::new();
    for index in 0..CUSTOMERS {
        tokens.push(
            cluster
                .customer(&format!("chaos{index}@shop.example"))
                .await,
        );
    }
    let names: Vec<String> = (0..CUSTOMERS)
        .map(|index| format!("customer-{index}"))
        .collect();
    let sockets: Vec<(&str, Option<&str>)> = names
        .iter()
        .zip(&tokens)
        .map(|(name, token)| (name.as_str(), Some(token.as_str())))
        .collect();
    let mut clients = Clients::connect_reconnecting(&gateway, &sockets).await;
    for name in &names {
        clients.connected(name).await;
    }

    // The load.
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut load = tokio::task::JoinSet::new();
    for (index, token) in tokens.iter().enumerate() {
        load.spawn(customer(
            index,
            token.clone(),
            cluster.urls["orders"].clone(),
            cluster.urls["users"].clone(),
            cluster.urls["catalog"].clone(),
            books.clone(),
            seen.clone(),
            stopped.clone(),
        ));
    }

    // The faults, one after the other.
    let mut random = Random(seed);
    let started = Instant::now();
    let mut timeline = Vec::new();
    let mut note = |line: String| {
        let line = format!("{:>6.1} s  {line}", started.elapsed().as_secs_f64());
        eprintln!("{line}");
        timeline.push(line);
    };
    while started.elapsed() < Duration::from_secs(seconds) {
        let period_start = Instant::now();
        clients.collect(Duration::ZERO).await;
        let hold = Duration::from_millis(random.between(1500, 4000));
        match random.between(0, 3) {
            0 | 1 => {
                let name = COMPONENTS[random.between(0, COMPONENTS.len() as u64 - 1) as usize];
                note(format!(
                    "kill {name} (SIGKILL), start it again after {hold:?}"
                ));
                cluster.kill(name).await;
                tokio::time::sleep(hold).await;
                cluster.restart(name).await;
                note(format!("{name} is ready again"));
            }
            2 => {
                note(format!("cut RabbitMQ for {hold:?}"));
                cluster.faults().amqp.set(FaultMode::Down);
                tokio::time::sleep(hold).await;
                cluster.faults().amqp.set(FaultMode::Forward);
                note("RabbitMQ back".into());
            }
            _ => {
                note(format!("cut the database for {hold:?}"));
                cluster.faults().database.set(FaultMode::Down);
                tokio::time::sleep(hold).await;
                cluster.faults().database.set(FaultMode::Forward);
                note("the database back".into());
            }
        }
        if let Some(rest) = fault_every.checked_sub(period_start.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    stop.send(true).unwrap();
    while let Some(result) = load.join_next().await {
        result.unwrap();
    }
    note("faults and load stopped; waiting for every order to settle".into());

    // Every accepted order final within the bound.
    let orders = cluster.settled(SETTLE_WITHIN).await;
    note(format!("{} orders settled", orders.len()));
    let seen = Arc::into_inner(seen).unwrap().into_inner().unwrap();
    let report = || {
        format!(
            "seed {seed}\ntimeline:\n{}\nanswers: {:?}",
            timeline.join("\n"),
            seen.answers
        )
    };
    let by_id: HashMap<&str, &Value> = orders
        .iter()
        .map(|order| (order["id"].as_str().unwrap(), order))
        .collect();
    for (id, _, _, key) in &seen.accepted {
        assert!(
            by_id.contains_key(id.as_str()),
            "accepted order {id} ({key}) is missing\n{}",
            report()
        );
    }

    // One order per key: every answer for a key named the same order, and the shop holds no
    // order beyond one per key sent.
    for (key, ids) in &seen.keys {
        assert!(
            ids.windows(2).all(|pair| pair[0] == pair[1]),
            "key {key} answered {ids:?}\n{}",
            report()
        );
    }
    assert!(
        orders.len() <= seen.keys.len(),
        "{} orders for {} keys\n{}",
        orders.len(),
        seen.keys.len(),
        report()
    );

    // Stock: what is left is what was there less what was sold, and never below zero.
    let mut sold: HashMap<&str, i64> = HashMap::new();
    for order in orders.iter().filter(|order| order["status"] == "completed") {
        for line in order["lines"].as_array().unwrap() {
            *sold.entry(line["book_id"].as_str().unwrap()).or_default() +=
                line["quantity"].as_i64().unwrap();
        }
    }
    for book in &books {
        let left = cluster.stock(book).await;
        let sold = sold.get(book.as_str()).copied().unwrap_or(0);
        assert!(left >= 0, "book {book}: stock {left}\n{}", report());
        assert_eq!(
            left,
            INITIAL_STOCK - sold,
            "book {book}: {sold} sold\n{}",
            report()
        );
    }

    // Outboxes drained (their relays may still be publishing the last events).
    let db = cluster.db.connect().await.unwrap();
    for table in [
        orders::OUTBOX_TABLE,
        inventory::OUTBOX_TABLE,
        catalog::summary::OUTBOX_TABLE,
    ] {
        let deadline = Instant::now() + Duration::from_secs(30);
        while unpublished(&db, table).await > 0 {
            assert!(
                Instant::now() < deadline,
                "{table} is not drained\n{}",
                report()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // No dead letters anywhere.
    for consumer in contracts::consumers::topology("").consumers {
        let count = cluster.dead_letters_of(&consumer.name).await;
        assert_eq!(count, 0, "{} has dead letters\n{}", consumer.name, report());
    }

    // No server error but 503 with Retry-After.
    assert!(
        seen.server_errors.is_empty(),
        "clients were answered server errors: {:?}\n{}",
        seen.server_errors,
        report()
    );

    // Every final status pushed to its owner's socket, or the socket told to read again.
    let deadline = Instant::now() + Duration::from_secs(15);
    let untold = loop {
        clients.collect(Duration::from_millis(200)).await;
        let untold: Vec<&String> = seen
            .accepted
            .iter()
            .filter(|(id, owner, sent_at, _)| {
                let status = &by_id[id.as_str()]["status"];
                let socket = &names[*owner];
                !clients.seen.iter().any(|line| {
                    line["socket"] == socket.as_str()
                        && ((line["event"] == "order_status_change"
                            && line["data"]["order_id"] == id.as_str()
                            && line["data"]["status"] == *status)
                            || (line["at"].as_f64().unwrap_or(0.0) >= *sent_at
                                && (line["event"] == "resync"
                                    || line["type"] == "connect"
                                    || line["type"] == "disconnect")))
                })
            })
            .map(|(id, ..)| id)
            .collect();
        if untold.is_empty() || Instant::now() > deadline {
            break untold.into_iter().cloned().collect::<Vec<_>>();
        }
    };
    assert!(
        untold.is_empty(),
        "final statuses never pushed nor signalled: {untold:?}\n{}",
        report()
    );

    let completed = orders
        .iter()
        .filter(|order| order["status"] == "completed")
        .count();
    let resyncs = clients
        .seen
        .iter()
        .filter(|line| line["event"] == "resync")
        .count();
    let reconnects = clients
        .seen
        .iter()
        .filter(|line| line["type"] == "connect")
        .count()
        - CUSTOMERS;
    eprintln!(
        "chaos on {backend:?} held: {} orders accepted ({completed} completed, the rest out of \
         stock), {} keys, {} faults, {resyncs} resync events, {reconnects} socket reconnections\n\
         answers: {:?}",
        seen.accepted.len(),
        seen.keys.len(),
        timeline
            .iter()
            .filter(|line| line.contains("kill") || line.contains("cut"))
            .count(),
        seen.answers
    );
    clients.stop().await;
    cluster.stop().await;
}
