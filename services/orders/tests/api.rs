//! The orders service over HTTP against a real database: placing (catalogue prices, validation,
//! idempotency, the outbox), who sees and changes which order, the state machine, concurrency,
//! pagination and bad input. Every test runs on SQLite, PostgreSQL and MariaDB
//! (`platform::backend_tests!`). The catalogue is an in-memory map, except in the tests of
//! `HttpCatalog`, which talk HTTP to a small stand-in server or to a closed port.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use contracts::BookId;
use migration::MigratorTrait;
use orders::catalog::{BookFacts, Catalog, HttpCatalog};
use orders::entity::{order, order_line};
use orders::limits::OrderLimits;
use orders::orders::OrderView;
use orders::{OrdersState, router};
use platform::ApiError;
use platform::auth::{
    KeyPair, Role, SERVICE_TOKEN_HEADER, ServiceToken, TokenSigner, TokenVerifier,
};
use platform::money::Money;
use platform::testing::{Reply, TestDatabase, TestServer};
use reqwest::{Method, StatusCode, header};
use sea_orm::sea_query::{Alias, Order, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The catalogue the tests order from.

/// Books in the test catalogue.
const BOOKS: usize = 60;

fn book_id(n: usize) -> String {
    format!("00000000-0000-7000-8000-{n:012}")
}

fn book_title(n: usize) -> String {
    format!("Book number {n}")
}

/// Distinct prices, so a wrong copy shows.
fn book_price(n: usize) -> Money {
    Money::from_cents(999 + 100 * i64::try_from(n).unwrap()).unwrap()
}

/// The catalogue as a map of book id to its facts.
struct MapCatalog(HashMap<String, BookFacts>);

impl MapCatalog {
    fn sample() -> Self {
        Self(
            (0..BOOKS)
                .map(|n| {
                    (
                        book_id(n),
                        BookFacts {
                            title: book_title(n),
                            price: book_price(n),
                        },
                    )
                })
                .collect(),
        )
    }
}

#[async_trait]
impl Catalog for MapCatalog {
    async fn books(&self, ids: &[BookId]) -> Result<HashMap<BookId, BookFacts>, ApiError> {
        Ok(ids
            .iter()
            .filter_map(|id| {
                self.0
                    .get(id.as_str())
                    .map(|facts| (id.clone(), facts.clone()))
            })
            .collect())
    }
}

/// `{"lines": [...]}` for `(book number, quantity)` pairs.
fn lines(pairs: &[(usize, i64)]) -> Value {
    json!({
        "lines": pairs
            .iter()
            .map(|(n, quantity)| json!({ "book_id": book_id(*n), "quantity": quantity }))
            .collect::<Vec<_>>()
    })
}

// ---------------------------------------------------------------------------------------------
// The service under test and its answers.

struct Api {
    server: TestServer,
    conn: DatabaseConnection,
    http: reqwest::Client,
    /// Customers A and B, and an admin.
    alice: String,
    bob: String,
    admin: String,
    service_token: String,
    metrics: platform::metrics::Metrics,
}

const ALICE: &str = "11111111-1111-4111-8111-111111111111";
const BOB: &str = "22222222-2222-4222-8222-222222222222";
const ADMIN: &str = "33333333-3333-4333-8333-333333333333";

/// Serves the orders service on a migrated, empty database, ordering from the map catalogue.
async fn start(db: &TestDatabase) -> Api {
    start_with(db, Arc::new(MapCatalog::sample())).await
}

/// Limits so high that only the limit tests ever meet them.
const NO_LIMITS: OrderLimits = OrderLimits {
    units_per_book: 1_000_000,
    units: 1_000_000,
    pending_orders: 1_000_000,
    orders_per_minute: 1_000_000,
};

async fn start_with(db: &TestDatabase, catalog: Arc<dyn Catalog>) -> Api {
    start_limited(db, catalog, NO_LIMITS).await
}

async fn start_limited(db: &TestDatabase, catalog: Arc<dyn Catalog>, limits: OrderLimits) -> Api {
    let conn = db.connect().await.unwrap();
    migration::Migrator::up(&conn, None).await.unwrap();
    let keys = KeyPair::generate();
    let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
    let service_token = ServiceToken::generate();
    let metrics = platform::metrics::Metrics::new();
    let state = OrdersState::new(conn.clone(), verifier, service_token.clone(), catalog)
        .with_limits(limits)
        .with_metrics(&metrics);
    let (routes, _) = router(state).split_for_parts();
    let server = TestServer::start(routes, vec![conn.clone()]).await;
    let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
    Api {
        server,
        conn,
        http: reqwest::Client::new(),
        alice: signer.sign(ALICE, Role::Customer, "test-session").unwrap(),
        bob: signer.sign(BOB, Role::Customer, "test-session").unwrap(),
        admin: signer.sign(ADMIN, Role::Admin, "test-session").unwrap(),
        service_token: service_token.as_str().to_owned(),
        metrics,
    }
}

/// One row of `orders_outbox`.
#[derive(Debug)]
struct OutboxRow {
    kind: String,
    payload: Value,
    published: bool,
}

impl Api {
    /// Sends a request and reads the answer, which may be a server error.
    async fn send_allowing_5xx(&self, request: reqwest::RequestBuilder) -> Reply {
        Reply::read(request.send().await.unwrap()).await
    }

    /// Sends a request; whatever the request, the answer is never a server error.
    async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let reply = self.send_allowing_5xx(request).await;
        reply.assert_no_server_error();
        reply
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.server.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(self.request(Method::GET, path, Some(token)))
            .await
    }

    async fn post(&self, path: &str, token: &str, body: Option<&Value>) -> Reply {
        let mut request = self.request(Method::POST, path, Some(token));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    async fn place(&self, token: &str, body: &Value) -> Reply {
        self.post("/api/v1/orders", token, Some(body)).await
    }

    fn place_with_key_request(
        &self,
        token: &str,
        key: &str,
        body: &Value,
    ) -> reqwest::RequestBuilder {
        self.request(Method::POST, "/api/v1/orders", Some(token))
            .header("Idempotency-Key", key)
            .json(body)
    }

    async fn place_with_key(&self, token: &str, key: &str, body: &Value) -> Reply {
        self.send(self.place_with_key_request(token, key, body))
            .await
    }

    /// Places an order of `(book number, quantity)` lines, which must be accepted.
    async fn order(&self, token: &str, pairs: &[(usize, i64)]) -> OrderView {
        let reply = self.place(token, &lines(pairs)).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        reply.json::<OrderView>()
    }

    async fn cancel(&self, token: &str, id: &str) -> Reply {
        self.post(&format!("/api/v1/orders/{id}/cancel"), token, None)
            .await
    }

    fn service_status_request(&self, id: &str, body: &Value) -> reqwest::RequestBuilder {
        self.request(Method::POST, &format!("/api/v1/orders/{id}/status"), None)
            .header(SERVICE_TOKEN_HEADER, &self.service_token)
            .json(body)
    }

    /// The order worker sets a status (service token).
    async fn service_status(&self, id: &str, body: &Value) -> Reply {
        self.send(self.service_status_request(id, body)).await
    }

    /// The order worker sets the statuses of several orders at once; the answer's outcomes.
    async fn service_statuses(&self, changes: Value) -> Vec<Value> {
        let reply = self.send(self.service_statuses_request(&changes)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["results"].as_array().unwrap().clone()
    }

    fn service_statuses_request(&self, changes: &Value) -> reqwest::RequestBuilder {
        self.request(Method::POST, "/api/v1/orders/statuses", None)
            .header(SERVICE_TOKEN_HEADER, &self.service_token)
            .json(&json!({ "changes": changes }))
    }

    /// Someone with an access token sets a status.
    async fn user_status(&self, token: &str, id: &str, body: &Value) -> Reply {
        self.post(&format!("/api/v1/orders/{id}/status"), token, Some(body))
            .await
    }

    async fn orders_stored(&self) -> u64 {
        order::Entity::find().count(&self.conn).await.unwrap()
    }

    /// Every outbox row, oldest first.
    async fn outbox(&self) -> Vec<OutboxRow> {
        let select = Query::select()
            .columns(["kind", "payload", "published_at", "occurred_at", "id"].map(Alias::new))
            .from(Alias::new("orders_outbox"))
            .order_by(Alias::new("occurred_at"), Order::Asc)
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        self.conn
            .query_all(&select)
            .await
            .unwrap()
            .into_iter()
            .map(|row| OutboxRow {
                kind: row.try_get("", "kind").unwrap(),
                payload: serde_json::from_str(&row.try_get::<String>("", "payload").unwrap())
                    .unwrap(),
                published: row
                    .try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "published_at")
                    .unwrap()
                    .is_some(),
            })
            .collect()
    }

    /// The statuses announced for one order, in order.
    async fn announced(&self, order_id: &str) -> Vec<String> {
        self.outbox()
            .await
            .into_iter()
            .filter(|row| row.payload["order_id"] == order_id)
            .filter_map(|row| match row.kind.as_str() {
                // Placing announces the first status.
                "order.placed" => Some("pending".to_owned()),
                "order.status_changed" => Some(row.payload["status"].as_str().unwrap().to_owned()),
                _ => None,
            })
            .collect()
    }

    /// Stops the server and closes the pool so that the test database can be dropped.
    async fn finish(self) {
        drop(self.server);
        self.conn.close().await.unwrap();
    }
}

/// A stand-in for the catalogue service's look-up: it knows `book-1`; a look-up naming `broken`
/// answers 500, one naming `garbled` an unreadable body. It counts the look-ups it answers.
async fn fake_catalogue() -> (
    String,
    Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use axum::response::IntoResponse;
    let lookups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = lookups.clone();
    let lookup = move |axum::Json(body): axum::Json<Value>| {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let ids: Vec<&str> = body["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_str().unwrap())
                .collect();
            if ids.contains(&"broken") {
                return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            if ids.contains(&"garbled") {
                return "{ not json".into_response();
            }
            let books: Vec<Value> = ids
                .iter()
                .filter(|id| **id == "book-1")
                .map(|_| {
                    json!({
                        "id": "book-1",
                        "isbn": "9780000000002",
                        "title": "The Catalogue's Title",
                        "authors": ["Someone"],
                        "price": "12.50",
                        "available": 3,
                    })
                })
                .collect();
            axum::Json(json!({ "books": books })).into_response()
        }
    };
    let app = axum::Router::new().route("/api/v1/books/lookup", axum::routing::post(lookup));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, lookups, task)
}

platform::backend_tests! {
    // -----------------------------------------------------------------------------------------
    // Placing

    async fn metrics_count_new_orders_and_orders_leaving_pending_by_status(db) {
        let api = start(&db).await;
        let value = |line: &str| -> f64 {
            platform::testing::metric_sum(&api.metrics.render(), line)
        };
        let first = api.place_with_key(&api.alice, "same", &lines(&[(1, 1)])).await;
        assert_eq!(first.status, StatusCode::ACCEPTED);
        api.place_with_key(&api.alice, "same", &lines(&[(1, 1)])).await;
        let second = api.order(&api.bob, &[(2, 1)]).await;
        let third = api.order(&api.bob, &[(3, 1)]).await;
        assert_eq!(value("orders_placed_total"), 3.0, "a repeat is not a new order");
        let first = first.json::<OrderView>();
        api.service_status(&first.id, &json!({ "status": "completed" })).await;
        api.service_status(&second.id, &json!({ "status": "failed", "reason": "out_of_stock" })).await;
        api.cancel(&api.bob, &third.id).await;
        // Moving on from completed is not leaving pending.
        api.user_status(&api.admin, &first.id, &json!({ "status": "shipped" })).await;
        for status in ["completed", "failed", "cancelled"] {
            assert_eq!(value(&format!("orders_finalised_total{{status=\"{status}\"}}")), 1.0, "{status}");
        }
        assert_eq!(value("order_placed_to_final_seconds_count"), 3.0);
    }

    async fn placing_copies_title_and_price_from_the_catalogue(db) {
        let api = start(&db).await;
        let reply = api.place(&api.alice, &lines(&[(3, 2), (7, 1)])).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        assert!(reply.content_type.starts_with("application/json"));
        let order = reply.json::<OrderView>();
        assert_eq!(order.user_id, ALICE);
        assert_eq!(serde_json::to_value(order.status).unwrap(), "pending");
        assert_eq!(order.reason, None);
        assert_eq!(order.lines.len(), 2);
        for (line, (n, quantity)) in order.lines.iter().zip([(3, 2), (7, 1)]) {
            assert_eq!(line.book_id, book_id(n));
            assert_eq!(line.title, book_title(n));
            assert_eq!(line.unit_price, book_price(n));
            assert_eq!(line.quantity, quantity);
            assert_eq!(line.line_total.cents(), book_price(n).cents() * i64::from(quantity));
        }
        let total = book_price(3).cents() * 2 + book_price(7).cents();
        assert_eq!(order.total.cents(), total);
        assert_eq!(reply.body["total"], Money::from_cents(total).unwrap().to_string());
        assert_eq!(reply.body["lines"][0]["unit_price"], "12.99");
        assert_eq!(order.created_at, order.updated_at);
        // The answer has exactly the documented fields, and reading it back gives the same.
        let mut keys: Vec<_> = reply.body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["created_at", "id", "lines", "reason", "status", "total", "updated_at", "user_id"]);
        let again = api.get(&format!("/api/v1/orders/{}", order.id), &api.alice).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body, reply.body);
        // Admins may place orders too.
        let admins = api.order(&api.admin, &[(1, 1)]).await;
        assert_eq!(admins.user_id, ADMIN);
        api.finish().await;
    }

    async fn prices_and_titles_from_the_client_are_refused(db) {
        let api = start(&db).await;
        let attempts = [
            json!({ "lines": [{ "book_id": book_id(5), "quantity": 1, "unit_price": "0.01" }] }),
            json!({ "lines": [{ "book_id": book_id(5), "quantity": 1, "price": "0.01" }] }),
            json!({ "lines": [{ "book_id": book_id(5), "quantity": 1, "title": "Free book" }] }),
            json!({ "lines": [{ "book_id": book_id(5), "quantity": 1 }], "total": "0.01" }),
            json!({ "lines": [{ "book_id": book_id(5), "quantity": 1 }], "status": "completed" }),
            json!({ "lines": [{ "book_id": book_id(5), "quantity": 1 }], "user_id": BOB }),
        ];
        for body in &attempts {
            api.place(&api.alice, body).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        assert_eq!(api.orders_stored().await, 0);
        assert!(api.outbox().await.is_empty());
        // The same line without them is accepted at the catalogue's price, for the caller.
        let order = api.order(&api.alice, &[(5, 1)]).await;
        assert_eq!(order.user_id, ALICE);
        let stored = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(order.id.as_str()))
            .all(&api.conn)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].unit_price_cents, book_price(5).cents());
        assert_eq!(stored[0].title, book_title(5));
        api.finish().await;
    }

    async fn an_unknown_book_is_named_by_its_line(db) {
        let api = start(&db).await;
        let body = json!({ "lines": [
            { "book_id": book_id(1), "quantity": 1 },
            { "book_id": "00000000-0000-7000-8000-999999999999", "quantity": 1 },
            { "book_id": book_id(2), "quantity": 1 },
            { "book_id": "not-a-book", "quantity": 3 },
        ] });
        let reply = api.place(&api.alice, &body).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(reply.error_fields(), ["lines[1].book_id", "lines[3].book_id"]);
        assert_eq!(reply.body["errors"]["lines[1].book_id"][0], "no such book");
        assert_eq!(api.orders_stored().await, 0);
        assert!(api.outbox().await.is_empty());
        api.finish().await;
    }

    async fn bad_lines_are_refused_naming_each_problem(db) {
        let api = start(&db).await;
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (lines(&[(1, 0)]), vec!["lines[0].quantity"]),
            (lines(&[(1, 1), (2, 101)]), vec!["lines[1].quantity"]),
            (lines(&[(1, -3)]), vec!["lines[0].quantity"]),
            (lines(&[(1, 1), (2, 1), (1, 2)]), vec!["lines[2].book_id"]),
            (lines(&[]), vec!["lines"]),
            (lines(&(0..51).map(|n| (n, 1)).collect::<Vec<_>>()), vec!["lines"]),
            (json!({ "lines": [{ "book_id": "", "quantity": 1 }] }), vec!["lines[0].book_id"]),
            (json!({ "lines": [{ "book_id": "x".repeat(37), "quantity": 1 }] }), vec!["lines[0].book_id"]),
            (lines(&[(1, 0), (1, 1), (2, 500)]), vec!["lines[0].quantity", "lines[1].book_id", "lines[2].quantity"]),
        ];
        for (body, fields) in &cases {
            let reply = api.place(&api.alice, body).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(&reply.error_fields(), fields, "{body}");
        }
        // Wrong shapes are refused by the JSON reader, also as 422.
        for body in [
            json!({}),
            json!({ "lines": "all of them" }),
            json!({ "lines": [{ "book_id": book_id(1) }] }),
            json!({ "lines": [{ "book_id": book_id(1), "quantity": 1.5 }] }),
            json!({ "lines": [{ "book_id": book_id(1), "quantity": "2" }] }),
            json!({ "lines": [{ "book_id": 7, "quantity": 1 }] }),
            json!([]),
        ] {
            api.place(&api.alice, &body).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        assert_eq!(api.orders_stored().await, 0);
        // 50 lines and 100 units are the limits, not past them.
        let order = api.order(&api.alice, &(0..50).map(|n| (n, 100)).collect::<Vec<_>>()).await;
        assert_eq!(order.lines.len(), 50);
        assert_eq!(order.lines[49].quantity, 100);
        api.finish().await;
    }

    async fn placing_writes_order_placed_alone_to_the_outbox(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(4, 2), (9, 1)]).await;
        let rows = api.outbox().await;
        // `order.placed` also announces the first status: no `order.status_changed(pending)`.
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].kind, "order.placed");
        assert_eq!(rows[0].payload["order_id"], order.id);
        assert_eq!(rows[0].payload["user_id"], ALICE);
        assert_eq!(
            rows[0].payload["lines"],
            json!([{ "book_id": book_id(4), "quantity": 2 }, { "book_id": book_id(9), "quantity": 1 }])
        );
        let placed_at: chrono::DateTime<chrono::Utc> =
            serde_json::from_value(rows[0].payload["placed_at"].clone()).unwrap();
        assert_eq!(placed_at, order.created_at);
        assert!(rows.iter().all(|row| !row.published), "the relay publishes them, not placing");
        api.finish().await;
    }

    async fn pending_orders_can_be_announced_again_and_settled_ones_are_not(db) {
        let api = start(&db).await;
        let pending = api.order(&api.alice, &[(1, 1)]).await;
        let settled = api.order(&api.alice, &[(2, 1)]).await;
        api.service_status(&settled.id, &json!({ "status": "completed" })).await;
        let before = api.outbox().await.len();
        let outbox = platform::outbox::Outbox::new(orders::OUTBOX_TABLE);
        let again = orders::orders::republish_pending(&api.conn, &outbox).await.unwrap();
        assert_eq!(again, 1);
        let rows = api.outbox().await;
        assert_eq!(rows.len(), before + 1);
        let last = rows.last().unwrap();
        assert_eq!(last.kind, "order.placed");
        assert_eq!(last.payload["order_id"], pending.id);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Idempotency

    async fn the_same_idempotency_key_answers_the_same_order(db) {
        let api = start(&db).await;
        let body = lines(&[(1, 2), (2, 1)]);
        let first = api.place_with_key(&api.alice, "checkout-42", &body).await;
        assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
        let second = api.place_with_key(&api.alice, "checkout-42", &body).await;
        assert_eq!(second.status, StatusCode::ACCEPTED, "{}", second.body);
        assert_eq!(second.body, first.body);
        // The same lines in another order are the same request.
        let reordered = api.place_with_key(&api.alice, "checkout-42", &lines(&[(2, 1), (1, 2)])).await;
        assert_eq!(reordered.status, StatusCode::ACCEPTED);
        assert_eq!(reordered.json::<OrderView>().id, first.json::<OrderView>().id);
        assert_eq!(api.orders_stored().await, 1);
        assert_eq!(api.outbox().await.len(), 1, "a repeat announces nothing");
        // Keys are opaque: one differing only in case is another key, on every backend.
        let shouting = api.place_with_key(&api.alice, "CHECKOUT-42", &body).await;
        assert_ne!(shouting.json::<OrderView>().id, first.json::<OrderView>().id);
        // Another key, or none, is another order.
        let other = api.place_with_key(&api.alice, "checkout-43", &body).await;
        assert_ne!(other.json::<OrderView>().id, first.json::<OrderView>().id);
        let unkeyed = api.place(&api.alice, &body).await;
        assert_ne!(unkeyed.json::<OrderView>().id, first.json::<OrderView>().id);
        assert_eq!(api.orders_stored().await, 4);
        api.finish().await;
    }

    async fn concurrent_requests_with_one_key_place_one_order(db) {
        let api = start(&db).await;
        let body = lines(&[(6, 3)]);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let request = api.place_with_key_request(&api.alice, "double-click", &body);
            tasks.spawn(async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap())
            });
        }
        let mut ids = HashSet::new();
        while let Some(result) = tasks.join_next().await {
            let (status, body) = result.unwrap();
            assert_eq!(status, StatusCode::ACCEPTED, "{body}");
            ids.insert(body["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(ids.len(), 1, "{ids:?}");
        assert_eq!(api.orders_stored().await, 1);
        assert_eq!(api.outbox().await.len(), 1);
        api.finish().await;
    }

    async fn orders_placed_together_are_each_stored_whole_even_beside_a_repeated_key(db) {
        let api = start(&db).await;
        let mut tasks = tokio::task::JoinSet::new();
        for n in 0..30 {
            // Every third request repeats one key; the others are orders of their own.
            let request = if n % 3 == 0 {
                api.place_with_key_request(&api.bob, "same-key", &lines(&[(7, 1)]))
            } else {
                api.request(Method::POST, "/api/v1/orders", Some(&api.alice))
                    .json(&lines(&[(n, 1), (n + 1, 2)]))
            };
            tasks.spawn(async move { (n, Reply::read(request.send().await.unwrap()).await) });
        }
        let mut keyed = HashSet::new();
        let mut own = HashSet::new();
        for (n, reply) in tasks.join_all().await {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
            let id = reply.body["id"].as_str().unwrap().to_owned();
            if n % 3 == 0 {
                keyed.insert(id);
            } else {
                assert_eq!(reply.body["lines"].as_array().unwrap().len(), 2);
                assert_eq!(reply.body["lines"][1]["book_id"], book_id(n + 1));
                own.insert(id);
            }
        }
        assert_eq!(keyed.len(), 1, "{keyed:?}");
        assert_eq!(own.len(), 20);
        assert_eq!(api.orders_stored().await, 21);
        let lines_stored = order_line::Entity::find().count(&api.conn).await.unwrap();
        assert_eq!(lines_stored, 41);
        // Each stored order announced once.
        let outbox = api.outbox().await;
        assert_eq!(outbox.len(), 21);
        for id in keyed.iter().chain(&own) {
            assert_eq!(api.announced(id).await, ["pending"]);
        }
        api.finish().await;
    }

    async fn a_key_reused_with_different_lines_conflicts(db) {
        let api = start(&db).await;
        let first = api.place_with_key(&api.alice, "k-1", &lines(&[(1, 1)])).await;
        assert_eq!(first.status, StatusCode::ACCEPTED);
        for body in [lines(&[(1, 2)]), lines(&[(2, 1)]), lines(&[(1, 1), (2, 1)])] {
            api.place_with_key(&api.alice, "k-1", &body).await.assert_problem(StatusCode::CONFLICT, "conflict");
        }
        assert_eq!(api.orders_stored().await, 1);
        api.finish().await;
    }

    async fn idempotency_keys_belong_to_their_user(db) {
        let api = start(&db).await;
        let body = lines(&[(1, 1)]);
        let alices = api.place_with_key(&api.alice, "shared-key", &body).await;
        let bobs = api.place_with_key(&api.bob, "shared-key", &body).await;
        assert_eq!(alices.status, StatusCode::ACCEPTED);
        assert_eq!(bobs.status, StatusCode::ACCEPTED);
        assert_ne!(alices.json::<OrderView>().id, bobs.json::<OrderView>().id);
        assert_eq!(alices.json::<OrderView>().user_id, ALICE);
        assert_eq!(bobs.json::<OrderView>().user_id, BOB);
        // Bob's key with other lines is his own business, not a conflict with Alice's.
        let bobs_other = api.place_with_key(&api.bob, "other", &lines(&[(2, 1)])).await;
        assert_eq!(bobs_other.status, StatusCode::ACCEPTED);
        assert_eq!(api.orders_stored().await, 3);
        api.finish().await;
    }

    async fn bad_idempotency_keys_are_refused(db) {
        let api = start(&db).await;
        let body = lines(&[(1, 1)]);
        let long = "k".repeat(101);
        for key in ["", "has space", long.as_str()] {
            api.place_with_key(&api.alice, key, &body).await.assert_problem(StatusCode::BAD_REQUEST, "bad_request");
        }
        let non_ascii = api.request(Method::POST, "/api/v1/orders", Some(&api.alice))
            .header("Idempotency-Key", header::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())
            .json(&body);
        api.send(non_ascii).await.assert_problem(StatusCode::BAD_REQUEST, "bad_request");
        let twice = api.request(Method::POST, "/api/v1/orders", Some(&api.alice))
            .header("Idempotency-Key", "one")
            .header("Idempotency-Key", "two")
            .json(&body);
        api.send(twice).await.assert_problem(StatusCode::BAD_REQUEST, "bad_request");
        assert_eq!(api.orders_stored().await, 0);
        let longest = api.place_with_key(&api.alice, &"k".repeat(100), &body).await;
        assert_eq!(longest.status, StatusCode::ACCEPTED);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Who sees what

    async fn customers_never_see_or_touch_other_users_orders(db) {
        let api = start(&db).await;
        let bobs = api.order(&api.bob, &[(1, 1)]).await;
        let alices = api.order(&api.alice, &[(2, 1)]).await;
        let unknown = "00000000-0000-7000-8000-00000000dead";
        for id in [bobs.id.as_str(), unknown] {
            api.get(&format!("/api/v1/orders/{id}"), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.get(&format!("/api/v1/orders/{id}/status"), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.cancel(&api.alice, id).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        }
        // Bob's order is untouched and still his.
        let reply = api.get(&format!("/api/v1/orders/{}", bobs.id), &api.bob).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json::<OrderView>(), bobs);
        // Alice's list is her orders only, whatever she filters on.
        let list = api.get("/api/v1/orders", &api.alice).await;
        assert_eq!(list.status, StatusCode::OK);
        assert_eq!(list.body["total"], 1);
        assert_eq!(list.body["items"][0]["id"], alices.id);
        let snooping = api.get(&format!("/api/v1/orders?user_id={BOB}"), &api.alice).await;
        assert_eq!(snooping.status, StatusCode::OK);
        assert_eq!(snooping.body["total"], 0);
        assert_eq!(snooping.body["items"], json!([]));
        let own = api.get(&format!("/api/v1/orders?user_id={ALICE}&status=pending"), &api.alice).await;
        assert_eq!(own.body["total"], 1);
        api.finish().await;
    }

    async fn admins_see_every_order_and_filter_by_user_and_status(db) {
        let api = start(&db).await;
        let a1 = api.order(&api.alice, &[(1, 1)]).await;
        let a2 = api.order(&api.alice, &[(2, 1)]).await;
        let b1 = api.order(&api.bob, &[(3, 1)]).await;
        let completed = api.service_status(&a1.id, &json!({ "status": "completed" })).await;
        assert_eq!(completed.status, StatusCode::OK);
        for order in [&a1, &b1] {
            let reply = api.get(&format!("/api/v1/orders/{}", order.id), &api.admin).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.json::<OrderView>().id, order.id);
            let status = api.get(&format!("/api/v1/orders/{}/status", order.id), &api.admin).await;
            assert_eq!(status.status, StatusCode::OK);
        }
        let ids = |reply: &Reply| -> Vec<String> {
            reply.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect()
        };
        let all = api.get("/api/v1/orders", &api.admin).await;
        assert_eq!(all.body["total"], 3);
        assert_eq!(ids(&all), [b1.id.as_str(), a2.id.as_str(), a1.id.as_str()], "newest first");
        let alices = api.get(&format!("/api/v1/orders?user_id={ALICE}"), &api.admin).await;
        assert_eq!(ids(&alices), [a2.id.as_str(), a1.id.as_str()]);
        let pending = api.get("/api/v1/orders?status=pending", &api.admin).await;
        assert_eq!(ids(&pending), [b1.id.as_str(), a2.id.as_str()]);
        let alices_completed = api.get(&format!("/api/v1/orders?status=completed&user_id={ALICE}"), &api.admin).await;
        assert_eq!(ids(&alices_completed), [a1.id.as_str()]);
        let nobody = api.get("/api/v1/orders?user_id=nobody", &api.admin).await;
        assert_eq!(nobody.body["total"], 0);
        let bad = api.get("/api/v1/orders?status=lost", &api.admin).await;
        bad.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_eq!(bad.error_fields(), ["status"]);
        api.finish().await;
    }

    async fn the_status_endpoint_answers_just_the_status(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let reply = api.get(&format!("/api/v1/orders/{}/status", order.id), &api.alice).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            reply.body,
            json!({
                "id": order.id,
                "status": "pending",
                "reason": null,
                "updated_at": serde_json::to_value(order.updated_at).unwrap(),
            })
        );
        api.service_status(&order.id, &json!({ "status": "failed", "reason": "out_of_stock" })).await;
        let reply = api.get(&format!("/api/v1/orders/{}/status", order.id), &api.alice).await;
        assert_eq!(reply.body["status"], "failed");
        assert_eq!(reply.body["reason"], "out_of_stock");
        api.finish().await;
    }

    async fn pending_for_book_finds_the_callers_newest_pending_order(db) {
        let api = start(&db).await;
        let older = api.order(&api.alice, &[(1, 1)]).await;
        let newer = api.order(&api.alice, &[(2, 1), (1, 2)]).await;
        let bobs = api.order(&api.bob, &[(3, 1)]).await;
        let pending = |n: usize| format!("/api/v1/orders/pending?book_id={}", book_id(n));
        let reply = api.get(&pending(1), &api.alice).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json::<OrderView>(), newer);
        // Once the newer one is completed, the older one is the pending one; then none is.
        api.service_status(&newer.id, &json!({ "status": "completed" })).await;
        assert_eq!(api.get(&pending(1), &api.alice).await.json::<OrderView>().id, older.id);
        api.get(&pending(2), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.cancel(&api.alice, &older.id).await;
        api.get(&pending(1), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        // Another user's pending order is not the caller's, admin or not.
        api.get(&pending(3), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.get(&pending(3), &api.admin).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        assert_eq!(api.get(&pending(3), &api.bob).await.json::<OrderView>().id, bobs.id);
        api.get(&pending(0), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        // The book is required, and nothing else is accepted.
        for path in ["/api/v1/orders/pending", "/api/v1/orders/pending?book_id=", "/api/v1/orders/pending?book=1"] {
            api.get(path, &api.alice).await.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        }
        api.finish().await;
    }

    async fn bought_finds_the_callers_order_that_bought_a_book(db) {
        let api = start(&db).await;
        let bought = |n: usize| format!("/api/v1/orders/bought?book_id={}", book_id(n));
        let order = api.order(&api.alice, &[(1, 1), (2, 3)]).await;
        // Pending is not bought yet.
        api.get(&bought(1), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.service_status(&order.id, &json!({ "status": "completed" })).await;
        for n in [1, 2] {
            let reply = api.get(&bought(n), &api.alice).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.json::<OrderView>().id, order.id);
        }
        // Shipped and delivered orders still count.
        for status in ["shipped", "delivered"] {
            let reply = api.user_status(&api.admin, &order.id, &json!({ "status": status })).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(api.get(&bought(1), &api.alice).await.json::<OrderView>().id, order.id);
        }
        // Another book, another customer, an admin: not bought by them.
        api.get(&bought(3), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.get(&bought(1), &api.bob).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.get(&bought(1), &api.admin).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        // Failed and cancelled orders never bought anything.
        let failed = api.order(&api.bob, &[(1, 1)]).await;
        api.service_status(&failed.id, &json!({ "status": "failed", "reason": "out_of_stock" })).await;
        let cancelled = api.order(&api.bob, &[(1, 1)]).await;
        api.service_status(&cancelled.id, &json!({ "status": "completed" })).await;
        api.cancel(&api.admin, &cancelled.id).await;
        api.get(&bought(1), &api.bob).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
        for path in ["/api/v1/orders/bought", "/api/v1/orders/bought?book_id="] {
            api.get(path, &api.alice).await.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        }
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // The state machine

    async fn owners_cancel_their_pending_orders_once(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let reply = api.cancel(&api.alice, &order.id).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["status"], "cancelled");
        assert_eq!(reply.body["reason"], Value::Null);
        assert!(reply.json::<OrderView>().updated_at > order.updated_at);
        let again = api.cancel(&api.alice, &order.id).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body, reply.body, "repeating a cancel changes nothing");
        assert_eq!(api.announced(&order.id).await, ["pending", "cancelled"]);
        // A cancelled order cannot be completed afterwards (a late worker).
        api.service_status(&order.id, &json!({ "status": "completed" })).await.assert_problem(StatusCode::CONFLICT, "conflict");
        api.finish().await;
    }

    async fn only_admins_cancel_completed_orders(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        api.service_status(&order.id, &json!({ "status": "completed" })).await;
        let refused = api.cancel(&api.alice, &order.id).await;
        refused.assert_problem(StatusCode::CONFLICT, "conflict");
        assert!(refused.body["detail"].as_str().unwrap().contains("completed"), "{}", refused.body);
        let reply = api.cancel(&api.admin, &order.id).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["status"], "cancelled");
        // Admins cancel pending orders of anyone too, also through the status endpoint.
        let other = api.order(&api.bob, &[(2, 1)]).await;
        let reply = api.user_status(&api.admin, &other.id, &json!({ "status": "cancelled", "reason": "fraud check" })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["reason"], "fraud check");
        assert_eq!(api.announced(&order.id).await, ["pending", "completed", "cancelled"]);
        api.finish().await;
    }

    async fn the_worker_completes_or_fails_pending_orders(db) {
        let api = start(&db).await;
        let good = api.order(&api.alice, &[(1, 1)]).await;
        let bad = api.order(&api.alice, &[(2, 1)]).await;
        let reply = api.service_status(&good.id, &json!({ "status": "completed" })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["status"], "completed");
        assert_eq!(reply.json::<OrderView>().lines, good.lines);
        // A failure needs a reason of at most 64 characters; other statuses take none.
        for body in [
            json!({ "status": "failed" }),
            json!({ "status": "failed", "reason": "" }),
            json!({ "status": "failed", "reason": "x".repeat(65) }),
            json!({ "status": "completed", "reason": "because" }),
        ] {
            let reply = api.service_status(&bad.id, &body).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), ["reason"], "{body}");
        }
        for body in [json!({ "status": "lost" }), json!({ "status": "failed", "reason": "x", "extra": 1 }), json!({})] {
            api.service_status(&bad.id, &body).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        let reply = api.service_status(&bad.id, &json!({ "status": "failed", "reason": "out_of_stock" })).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["status"], "failed");
        assert_eq!(reply.body["reason"], "out_of_stock");
        let seen = api.get(&format!("/api/v1/orders/{}", bad.id), &api.alice).await;
        assert_eq!(seen.body, reply.body);
        assert_eq!(api.announced(&good.id).await, ["pending", "completed"]);
        assert_eq!(api.announced(&bad.id).await, ["pending", "failed"]);
        let failed = api.outbox().await.into_iter().find(|row| row.payload["status"] == "failed").unwrap();
        assert_eq!(failed.payload["reason"], "out_of_stock");
        assert_eq!(failed.payload["user_id"], ALICE);
        api.service_status("00000000-0000-7000-8000-00000000dead", &json!({ "status": "completed" }))
            .await
            .assert_problem(StatusCode::NOT_FOUND, "not_found");
        api.finish().await;
    }

    async fn the_worker_settles_many_orders_in_one_batch_each_on_its_own(db) {
        let api = start(&db).await;
        let good = api.order(&api.alice, &[(1, 1)]).await;
        let bad = api.order(&api.bob, &[(2, 1)]).await;
        let untouched = api.order(&api.alice, &[(3, 1)]).await;
        let cancelled = api.order(&api.alice, &[(4, 1)]).await;
        api.cancel(&api.alice, &cancelled.id).await;
        let results = api
            .service_statuses(json!([
                { "order_id": good.id, "status": "completed" },
                { "order_id": bad.id, "status": "failed", "reason": "out_of_stock" },
                { "order_id": untouched.id, "status": "completed", "reason": "because" },
                { "order_id": "00000000-0000-7000-8000-00000000dead", "status": "completed" },
                { "order_id": cancelled.id, "status": "completed" },
                { "order_id": good.id, "status": "completed" },
                { "order_id": untouched.id, "status": "shipped" },
            ]))
            .await;
        assert_eq!(results.len(), 7);
        assert_eq!(results[0]["order"]["status"], "completed");
        assert_eq!(results[0]["order"]["id"], good.id.as_str());
        assert_eq!(results[0]["problem"], Value::Null);
        assert_eq!(results[1]["order"]["status"], "failed");
        assert_eq!(results[1]["order"]["reason"], "out_of_stock");
        let problems: Vec<(Value, Value)> = results[2..5]
            .iter()
            .chain(&results[6..])
            .map(|r| (r["problem"]["status"].clone(), r["order"].clone()))
            .collect();
        assert_eq!(
            problems,
            [
                (json!(422), Value::Null),
                (json!(404), Value::Null),
                (json!(409), Value::Null),
                (json!(409), Value::Null),
            ]
        );
        // A change listed twice is made once; the repeat finds it made.
        assert_eq!(results[5]["order"], results[0]["order"]);
        assert_eq!(api.announced(&good.id).await, ["pending", "completed"]);
        assert_eq!(api.announced(&bad.id).await, ["pending", "failed"]);
        assert_eq!(api.announced(&untouched.id).await, ["pending"]);
        assert_eq!(api.announced(&cancelled.id).await, ["pending", "cancelled"]);
        let seen = api.get(&format!("/api/v1/orders/{}", bad.id), &api.bob).await;
        assert_eq!(seen.body["status"], "failed");
        assert_eq!(seen.body["updated_at"], results[1]["order"]["updated_at"]);
        api.finish().await;
    }

    async fn concurrent_batches_settle_each_order_once(db) {
        let api = start(&db).await;
        let mut ids = Vec::new();
        for n in 0..20 {
            ids.push(api.order(&api.alice, &[(n % BOOKS, 1)]).await.id);
        }
        let changes: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "order_id": id, "status": "completed" }))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for batch in 0..4 {
            // Each batch lists the orders in another order.
            let mut changes = changes.clone();
            changes.rotate_left(batch * 5);
            let request = api.service_statuses_request(&Value::Array(changes));
            tasks.spawn(async move { Reply::read(request.send().await.unwrap()).await });
        }
        for reply in tasks.join_all().await {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            for result in reply.body["results"].as_array().unwrap() {
                assert_eq!(result["order"]["status"], "completed", "{result}");
            }
        }
        for id in &ids {
            assert_eq!(api.announced(id).await, ["pending", "completed"]);
        }
        api.finish().await;
    }

    async fn a_batch_settles_every_order_no_one_else_changed_while_others_are_cancelled(db) {
        // Cancellations racing a batch can make its conditional writes lose. Each loss counts
        // against the order that changed, never against the rest of the batch, so an order
        // nobody else touched is always settled (the accounting itself is unit-tested in
        // `orders::tests`, where the races are not left to chance).
        let api = start(&db).await;
        let mut ids = Vec::new();
        for n in 0..60 {
            ids.push(api.order(&api.alice, &[(n % BOOKS, 1)]).await.id);
        }
        let changes: Vec<Value> = ids
            .iter()
            .map(|id| json!({ "order_id": id, "status": "completed" }))
            .collect();
        let settling = api.service_statuses_request(&Value::Array(changes));
        let mut cancelling = tokio::task::JoinSet::new();
        for id in ids.iter().skip(1).step_by(2) {
            let request = api.request(
                Method::POST,
                &format!("/api/v1/orders/{id}/cancel"),
                Some(&api.alice),
            );
            cancelling.spawn(async move { Reply::read(request.send().await.unwrap()).await });
        }
        let settled = Reply::read(settling.send().await.unwrap()).await;
        let cancels = cancelling.join_all().await;
        assert_eq!(settled.status, StatusCode::OK, "{}", settled.body);
        let results = settled.body["results"].as_array().unwrap();
        for (n, (id, result)) in ids.iter().zip(results).enumerate() {
            if n % 2 == 0 {
                assert_eq!(result["order"]["status"], "completed", "{id}: {result}");
            } else {
                // Either the cancellation or the settlement came first; nothing else.
                let outcome = (
                    result["order"]["status"].clone(),
                    result["problem"]["code"].clone(),
                );
                assert!(
                    outcome == (json!("completed"), Value::Null)
                        || outcome == (Value::Null, json!("conflict")),
                    "{id}: {result}"
                );
            }
        }
        for cancel in cancels {
            assert!(
                cancel.status == StatusCode::OK
                    || (cancel.status == StatusCode::CONFLICT && cancel.body["code"] == "conflict"),
                "{}: {}",
                cancel.status,
                cancel.body
            );
        }
        api.finish().await;
    }

    async fn a_customer_holds_at_most_the_units_of_a_book_and_in_all_that_the_limits_allow(db) {
        let limits = OrderLimits { units_per_book: 5, units: 8, ..NO_LIMITS };
        let api = start_limited(&db, Arc::new(MapCatalog::sample()), limits).await;
        let first = api.order(&api.alice, &[(1, 3)]).await;
        // 3 + 3 units of book 1: over the 5 of one book.
        let reply = api.place(&api.alice, &lines(&[(1, 3)])).await;
        reply.assert_problem(StatusCode::CONFLICT, "order_limit");
        assert!(reply.body["detail"].as_str().unwrap().contains("of one book"), "{}", reply.body);
        // Another customer is not held to alice's orders.
        api.order(&api.bob, &[(1, 5)]).await;
        let second = api.order(&api.alice, &[(1, 2), (2, 3)]).await;
        // 8 units held in all: one more of any book is over the 8.
        let reply = api.place(&api.alice, &lines(&[(3, 1)])).await;
        reply.assert_problem(StatusCode::CONFLICT, "order_limit");
        assert!(reply.body["detail"].as_str().unwrap().contains("over the 8"), "{}", reply.body);
        // A shipped order no longer holds its units; a cancelled one neither.
        for order in [&first, &second] {
            let completed = api.service_status(&order.id, &json!({ "status": "completed" })).await;
            assert_eq!(completed.status, StatusCode::OK, "{}", completed.body);
        }
        let shipped = api.user_status(&api.admin, &first.id, &json!({ "status": "shipped" })).await;
        assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
        assert_eq!(api.cancel(&api.admin, &second.id).await.status, StatusCode::OK);
        api.order(&api.alice, &[(1, 5)]).await;
        assert_eq!(api.orders_stored().await, 4);
        api.finish().await;
    }

    async fn a_customer_has_at_most_the_pending_orders_the_limit_allows(db) {
        let limits = OrderLimits { pending_orders: 2, ..NO_LIMITS };
        let api = start_limited(&db, Arc::new(MapCatalog::sample()), limits).await;
        let first = api.order(&api.alice, &[(1, 1)]).await;
        api.order(&api.alice, &[(2, 1)]).await;
        let reply = api.place(&api.alice, &lines(&[(3, 1)])).await;
        reply.assert_problem(StatusCode::CONFLICT, "order_limit");
        assert!(reply.body["detail"].as_str().unwrap().contains("pending"), "{}", reply.body);
        // A repeat of a placed order (same Idempotency-Key) is still answered.
        let repeat = api.send(api.place_with_key_request(&api.bob, "k-1", &lines(&[(1, 1)]))).await;
        assert_eq!(repeat.status, StatusCode::ACCEPTED);
        // Once one is processed, there is room again.
        api.service_status(&first.id, &json!({ "status": "completed" })).await;
        api.order(&api.alice, &[(3, 1)]).await;
        api.finish().await;
    }

    async fn a_customer_places_at_most_the_orders_a_minute_the_limit_allows(db) {
        let limits = OrderLimits { orders_per_minute: 3, ..NO_LIMITS };
        let api = start_limited(&db, Arc::new(MapCatalog::sample()), limits).await;
        for n in 0..3 {
            api.order(&api.alice, &[(n, 1)]).await;
        }
        let reply = api.place(&api.alice, &lines(&[(4, 1)])).await;
        reply.assert_problem(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        api.order(&api.bob, &[(4, 1)]).await;
        assert_eq!(api.orders_stored().await, 4);
        api.finish().await;
    }

    async fn only_services_settle_batches_of_1_to_100(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let body = json!({ "changes": [{ "order_id": order.id, "status": "completed" }] });
        for token in [&api.alice, &api.admin] {
            api.post("/api/v1/orders/statuses", token, Some(&body))
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        let wrong = api
            .request(Method::POST, "/api/v1/orders/statuses", None)
            .header(SERVICE_TOKEN_HEADER, "x".repeat(43))
            .json(&body);
        api.send(wrong).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        for count in [0, 101] {
            let changes: Vec<Value> = (0..count)
                .map(|_| json!({ "order_id": order.id, "status": "completed" }))
                .collect();
            api.send(api.service_statuses_request(&Value::Array(changes)))
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        assert_eq!(api.announced(&order.id).await, ["pending"]);
        api.finish().await;
    }

    async fn admins_ship_and_deliver_completed_orders(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        api.service_status(&order.id, &json!({ "status": "completed" })).await;
        let shipped = api.user_status(&api.admin, &order.id, &json!({ "status": "shipped" })).await;
        assert_eq!(shipped.status, StatusCode::OK, "{}", shipped.body);
        assert_eq!(shipped.body["status"], "shipped");
        let delivered = api.user_status(&api.admin, &order.id, &json!({ "status": "delivered" })).await;
        assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.body);
        assert_eq!(delivered.body["status"], "delivered");
        assert_eq!(api.announced(&order.id).await, ["pending", "completed", "shipped", "delivered"]);
        api.finish().await;
    }

    async fn customers_cannot_use_the_status_endpoint(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let path = format!("/api/v1/orders/{}/status", order.id);
        let body = json!({ "status": "completed" });
        api.user_status(&api.alice, &order.id, &body).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        api.user_status(&api.alice, &order.id, &json!({ "status": "cancelled" })).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        let anonymous = api.request(Method::POST, &path, None).json(&body);
        api.send(anonymous).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        let wrong_token = api.request(Method::POST, &path, None)
            .header(SERVICE_TOKEN_HEADER, "x".repeat(43))
            .json(&body);
        api.send(wrong_token).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        // A wrong service token is not rescued by an admin's access token next to it.
        let both = api.request(Method::POST, &path, Some(&api.admin))
            .header(SERVICE_TOKEN_HEADER, "guess")
            .json(&body);
        api.send(both).await.assert_problem(StatusCode::FORBIDDEN, "forbidden");
        assert_eq!(api.announced(&order.id).await, ["pending"]);
        api.finish().await;
    }

    async fn each_caller_makes_only_its_own_transitions(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        // Only the worker completes or fails; only admins ship.
        api.user_status(&api.admin, &order.id, &json!({ "status": "completed" })).await.assert_problem(StatusCode::CONFLICT, "conflict");
        api.user_status(&api.admin, &order.id, &json!({ "status": "failed", "reason": "no" })).await.assert_problem(StatusCode::CONFLICT, "conflict");
        api.service_status(&order.id, &json!({ "status": "cancelled" })).await.assert_problem(StatusCode::CONFLICT, "conflict");
        api.service_status(&order.id, &json!({ "status": "completed" })).await;
        let refused = api.service_status(&order.id, &json!({ "status": "shipped" })).await;
        refused.assert_problem(StatusCode::CONFLICT, "conflict");
        assert_eq!(refused.body["detail"], "only an admin can move an order from completed to shipped");
        assert_eq!(api.announced(&order.id).await, ["pending", "completed"]);
        api.finish().await;
    }

    async fn illegal_transitions_conflict(db) {
        let api = start(&db).await;
        let delivered = api.order(&api.alice, &[(1, 1)]).await;
        api.service_status(&delivered.id, &json!({ "status": "completed" })).await;
        api.user_status(&api.admin, &delivered.id, &json!({ "status": "shipped" })).await;
        api.user_status(&api.admin, &delivered.id, &json!({ "status": "delivered" })).await;
        let failed = api.order(&api.alice, &[(2, 1)]).await;
        api.service_status(&failed.id, &json!({ "status": "failed", "reason": "out_of_stock" })).await;
        let pending = api.order(&api.alice, &[(3, 1)]).await;
        let cases = [
            (&delivered.id, "pending", true),
            (&delivered.id, "cancelled", true),
            (&delivered.id, "shipped", true),
            (&failed.id, "completed", false),
            (&failed.id, "pending", true),
            (&failed.id, "cancelled", true),
            (&pending.id, "shipped", true),
            (&pending.id, "delivered", true),
        ];
        for (id, to, as_admin) in cases {
            let body = json!({ "status": to });
            let reply = if as_admin {
                api.user_status(&api.admin, id, &body).await
            } else {
                api.service_status(id, &body).await
            };
            reply.assert_problem(StatusCode::CONFLICT, "conflict");
            assert!(reply.body["detail"].as_str().unwrap().contains(&format!("to {to}")), "{}", reply.body);
        }
        api.cancel(&api.alice, &failed.id).await.assert_problem(StatusCode::CONFLICT, "conflict");
        api.cancel(&api.admin, &delivered.id).await.assert_problem(StatusCode::CONFLICT, "conflict");
        assert_eq!(api.announced(&delivered.id).await, ["pending", "completed", "shipped", "delivered"]);
        assert_eq!(api.announced(&failed.id).await, ["pending", "failed"]);
        assert_eq!(api.announced(&pending.id).await, ["pending"]);
        api.finish().await;
    }

    async fn repeating_a_transition_changes_and_announces_nothing(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let body = json!({ "status": "completed" });
        let first = api.service_status(&order.id, &body).await;
        assert_eq!(first.status, StatusCode::OK);
        let events = api.outbox().await.len();
        let second = api.service_status(&order.id, &body).await;
        assert_eq!(second.status, StatusCode::OK);
        assert_eq!(second.body, first.body, "same status, same updated_at");
        assert_eq!(api.outbox().await.len(), events);
        // The same goes for a failure repeated with another reason: the first one stands.
        let failed = api.order(&api.alice, &[(2, 1)]).await;
        api.service_status(&failed.id, &json!({ "status": "failed", "reason": "out_of_stock" })).await;
        let again = api.service_status(&failed.id, &json!({ "status": "failed", "reason": "other" })).await;
        assert_eq!(again.status, StatusCode::OK);
        assert_eq!(again.body["reason"], "out_of_stock");
        assert_eq!(api.announced(&failed.id).await, ["pending", "failed"]);
        api.finish().await;
    }

    async fn concurrent_transitions_of_one_order_have_one_winner(db) {
        let api = start(&db).await;
        for round in 0..5 {
            let order = api.order(&api.alice, &[(round, 1)]).await;
            let complete = api.service_status_request(&order.id, &json!({ "status": "completed" }));
            let fail = api.service_status_request(&order.id, &json!({ "status": "failed", "reason": "out_of_stock" }));
            let (a, b) = tokio::join!(
                tokio::spawn(async move { complete.send().await.unwrap().status() }),
                tokio::spawn(async move { fail.send().await.unwrap().status() }),
            );
            let mut statuses = [a.unwrap(), b.unwrap()];
            statuses.sort();
            assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT], "round {round}");
            let announced = api.announced(&order.id).await;
            assert_eq!(announced.len(), 2, "{announced:?}");
            let now = api.get(&format!("/api/v1/orders/{}", order.id), &api.alice).await;
            assert_eq!(now.body["status"], announced[1].as_str());
        }
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Lists

    async fn list_pages_are_stable_and_bounded(db) {
        let api = start(&db).await;
        let mut placed = Vec::new();
        for n in 0..23 {
            placed.push(api.order(&api.alice, &[(n, 1)]).await.id);
        }
        placed.reverse();
        let mut seen = Vec::new();
        let mut page = 1;
        loop {
            let reply = api.get(&format!("/api/v1/orders?limit=5&page={page}"), &api.alice).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["total"], 23);
            for item in reply.body["items"].as_array().unwrap() {
                seen.push(item["id"].as_str().unwrap().to_owned());
            }
            match reply.body["next_page"].as_u64() {
                Some(next) => page = next,
                None => break,
            }
        }
        assert_eq!(seen, placed, "every order once, newest first");
        let whole = api.get("/api/v1/orders?limit=100", &api.alice).await;
        assert_eq!(whole.body["items"].as_array().unwrap().len(), 23);
        let default = api.get("/api/v1/orders", &api.alice).await;
        assert_eq!(default.body["limit"], 20);
        assert_eq!(default.body["items"].as_array().unwrap().len(), 20);
        let past_the_end = api.get("/api/v1/orders?page=9", &api.alice).await;
        assert_eq!(past_the_end.body["items"], json!([]));
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=-1", "limit"),
            ("limit=ten", "limit"),
            ("page=0", "page"),
            ("page=10001", "page"),
        ] {
            let reply = api.get(&format!("/api/v1/orders?{query}"), &api.alice).await;
            reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
            assert_eq!(reply.error_fields(), [field], "{query}");
        }
        api.get("/api/v1/orders?sort=price", &api.alice).await.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Authentication and bad input

    async fn every_route_needs_a_token(db) {
        let api = start(&db).await;
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let id = &order.id;
        let routes = [
            (Method::POST, "/api/v1/orders".to_owned()),
            (Method::GET, "/api/v1/orders".to_owned()),
            (Method::GET, format!("/api/v1/orders/{id}")),
            (Method::GET, format!("/api/v1/orders/{id}/status")),
            (Method::GET, format!("/api/v1/orders/pending?book_id={}", book_id(1))),
            (Method::POST, format!("/api/v1/orders/{id}/cancel")),
            (Method::POST, format!("/api/v1/orders/{id}/status")),
        ];
        for (method, path) in &routes {
            let body = json!({ "lines": [{ "book_id": book_id(1), "quantity": 1 }], "status": "cancelled" });
            let anonymous = api.request(method.clone(), path, None).json(&body);
            api.send(anonymous).await.assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            let forged = api.request(method.clone(), path, Some("not.a.token")).json(&body);
            let reply = api.send(forged).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{method} {path}: {}", reply.body);
        }
        assert_eq!(api.orders_stored().await, 1);
        assert_eq!(api.announced(id).await, ["pending"]);
        api.finish().await;
    }

    async fn bad_requests_are_problems_never_server_errors(db) {
        let api = start(&db).await;
        let malformed = api.request(Method::POST, "/api/v1/orders", Some(&api.alice))
            .header(header::CONTENT_TYPE, "application/json")
            .body("{\"lines\": [");
        api.send(malformed).await.assert_problem(StatusCode::BAD_REQUEST, "malformed_json");
        let text = api.request(Method::POST, "/api/v1/orders", Some(&api.alice))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(lines(&[(1, 1)]).to_string());
        api.send(text).await.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        let no_type = api.request(Method::POST, "/api/v1/orders", Some(&api.alice)).body(lines(&[(1, 1)]).to_string());
        api.send(no_type).await.assert_problem(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
        let order = api.order(&api.alice, &[(1, 1)]).await;
        let status_path = format!("/api/v1/orders/{}/status", order.id);
        let malformed = api.request(Method::POST, &status_path, None)
            .header(SERVICE_TOKEN_HEADER, &api.service_token)
            .header(header::CONTENT_TYPE, "application/json")
            .body("status=completed");
        api.send(malformed).await.assert_problem(StatusCode::BAD_REQUEST, "malformed_json");
        // Ids that are no ids are simply not found.
        let long = "9".repeat(300);
        for id in ["x", "%00", "%E2%80%AE", long.as_str(), "..%2F..%2Fetc"] {
            api.get(&format!("/api/v1/orders/{id}"), &api.alice).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.get(&format!("/api/v1/orders/{id}/status"), &api.admin).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.cancel(&api.admin, id).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
            api.service_status(id, &json!({ "status": "completed" })).await.assert_problem(StatusCode::NOT_FOUND, "not_found");
            let pending = api.get(&format!("/api/v1/orders/pending?book_id={id}"), &api.alice).await;
            pending.assert_problem(StatusCode::NOT_FOUND, "not_found");
        }
        // An admin's filter by a user id that can be no id finds nothing (PostgreSQL once answered
        // 500 to a NUL byte).
        let none = api.get("/api/v1/orders?user_id=%00", &api.admin).await;
        assert_eq!(none.status, StatusCode::OK, "{}", none.body);
        assert_eq!(none.body["items"], json!([]));
        let weird = json!({ "lines": [{ "book_id": "\u{0}", "quantity": 1 }, { "book_id": "é\u{202e}", "quantity": 1 }] });
        let reply = api.place(&api.alice, &weird).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(reply.error_fields(), ["lines[0].book_id", "lines[1].book_id"]);
        let huge = json!({ "lines": [{ "book_id": book_id(1), "quantity": 1e30 }] });
        api.place(&api.alice, &huge).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        api.send(api.request(Method::DELETE, &format!("/api/v1/orders/{}", order.id), Some(&api.admin)))
            .await
            .assert_problem(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
        assert_eq!(api.orders_stored().await, 1);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // The catalogue over HTTP

    async fn an_unreachable_catalogue_is_a_503_and_writes_nothing(db) {
        // Port 9 (discard) is closed on the test machines: every connection is refused.
        let catalog = HttpCatalog::new("http://127.0.0.1:9").unwrap();
        let api = start_with(&db, Arc::new(catalog)).await;
        let request = api.place_with_key_request(&api.alice, "try-1", &lines(&[(1, 1)]));
        let reply = api.send_allowing_5xx(request).await;
        reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        assert!(reply.body["detail"].as_str().unwrap().contains("catalogue"), "{}", reply.body);
        assert!(!reply.body.to_string().contains("127.0.0.1"), "no internals: {}", reply.body);
        assert_eq!(api.orders_stored().await, 0);
        assert!(api.outbox().await.is_empty());
        // Validation that needs no catalogue still answers first.
        api.place(&api.alice, &lines(&[(1, 0)])).await.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        api.finish().await;
    }

    async fn http_catalog_reads_books_from_the_catalogue_api(db) {
        let (base, _, catalogue) = fake_catalogue().await;
        let api = start_with(&db, Arc::new(HttpCatalog::new(&base).unwrap())).await;
        let body = json!({ "lines": [{ "book_id": "book-1", "quantity": 2 }] });
        let reply = api.place(&api.alice, &body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        assert_eq!(reply.body["lines"][0]["title"], "The Catalogue's Title");
        assert_eq!(reply.body["lines"][0]["unit_price"], "12.50");
        assert_eq!(reply.body["total"], "25.00");
        let unknown = json!({ "lines": [{ "book_id": "book-1", "quantity": 1 }, { "book_id": "book-2", "quantity": 1 }] });
        let reply = api.place(&api.alice, &unknown).await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(reply.error_fields(), ["lines[1].book_id"]);
        for id in ["broken", "garbled"] {
            let body = json!({ "lines": [{ "book_id": id, "quantity": 1 }] });
            let reply = api.send_allowing_5xx(api.request(Method::POST, "/api/v1/orders", Some(&api.alice)).json(&body)).await;
            reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        }
        assert_eq!(api.orders_stored().await, 1);
        catalogue.abort();
        api.finish().await;
    }

    async fn orders_placed_together_share_catalogue_lookups(db) {
        let (base, lookups, catalogue) = fake_catalogue().await;
        let api = start_with(&db, Arc::new(HttpCatalog::new(&base).unwrap())).await;
        let body = json!({ "lines": [{ "book_id": "book-1", "quantity": 1 }] });
        let mut placing = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let request = api.request(Method::POST, "/api/v1/orders", Some(&api.alice)).json(&body);
            placing.spawn(async move { Reply::read(request.send().await.unwrap()).await });
        }
        for reply in placing.join_all().await {
            assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
            assert_eq!(reply.body["lines"][0]["unit_price"], "12.50");
        }
        assert_eq!(api.orders_stored().await, 40);
        let used = lookups.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..40).contains(&used), "40 orders placed at once took {used} look-ups");
        catalogue.abort();
        api.finish().await;
    }
}

/// The OpenAPI document has the routes of docs/pipeline.md, and nothing else.
#[test]
fn the_openapi_document_lists_every_route() {
    let keys = KeyPair::generate();
    let state = OrdersState::new(
        DatabaseConnection::default(),
        Arc::new(TokenVerifier::new(&keys.public()).unwrap()),
        ServiceToken::generate(),
        Arc::new(MapCatalog::sample()),
    );
    let doc = serde_json::to_value(router(state).into_openapi()).unwrap();
    let mut routes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    routes.sort();
    assert_eq!(
        routes,
        [
            "GET /api/v1/orders",
            "GET /api/v1/orders/bought",
            "GET /api/v1/orders/pending",
            "GET /api/v1/orders/{id}",
            "GET /api/v1/orders/{id}/status",
            "POST /api/v1/orders",
            "POST /api/v1/orders/statuses",
            "POST /api/v1/orders/{id}/cancel",
            "POST /api/v1/orders/{id}/status",
        ]
    );
    let place = &doc["paths"]["/api/v1/orders"]["post"];
    assert!(place["responses"]["202"].is_object());
    assert!(place["responses"]["503"].is_object());
}

/// A batch of status changes whose write transaction is chosen as a deadlock victim is written
/// again, once, instead of failing: the worker's settlements and the customers' cancellations
/// share orders' rows. PostgreSQL only, where the victim can be made certain: the other
/// transaction waits longer before it looks for a deadlock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_status_write_chosen_as_a_deadlock_victim_is_written_again() {
    platform::testing::run_on(platform::testing::Backend::Postgres, |db| async move {
        let api = start(&db).await;
        // Placed one after the other: the first has the smaller id and comes first in the
        // table, so the batch's update locks it first.
        let first = api.order(&api.alice, &[(1, 1)]).await;
        let second = api.order(&api.alice, &[(2, 1)]).await;
        assert!(first.id < second.id);

        let other = api.conn.begin().await.unwrap();
        other
            .execute_unprepared("SET LOCAL deadlock_timeout = '30s'")
            .await
            .unwrap();
        let touch = |id: &str| format!("UPDATE orders SET updated_at = updated_at WHERE id = '{id}'");
        other.execute_unprepared(&touch(&second.id)).await.unwrap();

        let settle = api.service_statuses_request(&json!([
            { "order_id": first.id, "status": "completed" },
            { "order_id": second.id, "status": "completed" },
        ]));
        let settling = tokio::spawn(async move { Reply::read(settle.send().await.unwrap()).await });
        // The batch holds the first order's row and waits for the second's.
        platform::testing::eventually("the batch waits for a row lock", Duration::from_secs(10), async || {
            let waiting = api
                .conn
                .query_one_raw(sea_orm::Statement::from_string(
                    sea_orm::DbBackend::Postgres,
                    "SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'",
                ))
                .await
                .unwrap()
                .unwrap();
            waiting.try_get::<i64>("", "n").unwrap() > 0
        })
        .await;
        // Now this transaction wants the first row: a deadlock, and the batch (which looks
        // for one after a second) is its victim. This update goes through once it is.
        other.execute_unprepared(&touch(&first.id)).await.unwrap();
        other.commit().await.unwrap();

        let reply = settling.await.unwrap();
        reply.assert_no_server_error();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        for (result, order) in reply.body["results"].as_array().unwrap().iter().zip([&first, &second]) {
            assert_eq!(result["order"]["id"], order.id.as_str(), "{result}");
            assert_eq!(result["order"]["status"], "completed", "{result}");
        }
        // Written once: one change event per order, nothing from the attempt that was undone.
        let changes = api
            .outbox()
            .await
            .into_iter()
            .filter(|row| row.kind == "order.status_changed")
            .count();
        assert_eq!(changes, 2);
        api.finish().await;
    })
    .await;
}
