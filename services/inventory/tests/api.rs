//! The inventory service over HTTP against a real database: stock, who may change it, the
//! reservation rules of docs/pipeline.md (all or nothing, idempotent, never oversold, releases),
//! the `stock.changed` events in the outbox, and bad input. Every test runs on SQLite,
//! PostgreSQL and MariaDB (`platform::backend_tests!`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use contracts::events::StockChanged;
use migration::MigratorTrait;
use platform::auth::{KeyPair, Role, ServiceToken, TokenSigner, TokenVerifier};
use platform::testing::{Reply, TestDatabase, TestServer};
use reqwest::{Method, StatusCode, header};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{Value, json};

/// The reservation answers of these tests.
trait ReservationReply {
    fn reservation(&self) -> &Value;
}

impl ReservationReply for Reply {
    /// Asserts a 200 reservation answer and returns it.
    #[track_caller]
    fn reservation(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        let keys: Vec<&str> = self
            .body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["lines", "order_id", "reason", "status"]);
        &self.body
    }
}

/// A request's answer, read whatever it is; never a server error.
async fn read(request: reqwest::RequestBuilder) -> Reply {
    let reply = Reply::read(request.send().await.unwrap()).await;
    reply.assert_no_server_error();
    reply
}

struct Api {
    server: TestServer,
    conn: DatabaseConnection,
    http: reqwest::Client,
    admin: String,
    customer: String,
    service: ServiceToken,
    metrics: platform::metrics::Metrics,
}

/// Serves inventory on a migrated, empty database.
async fn start(db: &TestDatabase) -> Api {
    let conn = db.connect().await.unwrap();
    migration::Migrator::up(&conn, None).await.unwrap();
    let keys = KeyPair::generate();
    let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
    let service = ServiceToken::generate();
    let metrics = platform::metrics::Metrics::new();
    let state = inventory::InventoryState::new(conn.clone(), verifier, service.clone())
        .with_metrics(&metrics);
    let (router, _) = inventory::router(state).split_for_parts();
    let server = TestServer::start(router, vec![conn.clone()]).await;
    let signer = TokenSigner::new(&keys, Duration::from_secs(900)).unwrap();
    Api {
        server,
        conn,
        http: reqwest::Client::new(),
        admin: signer.sign("admin-1", Role::Admin, "test-session").unwrap(),
        customer: signer
            .sign("customer-1", Role::Customer, "test-session")
            .unwrap(),
        service,
        metrics,
    }
}

fn stock_path(book_id: &str) -> String {
    format!("/api/v1/inventory/{book_id}")
}

fn adjust_path(book_id: &str) -> String {
    format!("/api/v1/inventory/{book_id}/adjust")
}

const BATCH: &str = "/api/v1/inventory/reservations/batch";

fn release_path(order_id: &str) -> String {
    format!("/api/v1/inventory/reservations/{order_id}/release")
}

/// A batch of the one reservation `body`.
fn batch_of(body: &Value) -> Value {
    json!({ "reservations": [body] })
}

/// The answer to a batch of one as if it were an answer of its own: its reservation with 200, or
/// its problem with the problem's status. A batch refused as a whole is answered as it was.
fn only_outcome(reply: Reply) -> Reply {
    if reply.status != StatusCode::OK {
        return reply;
    }
    let results = reply.body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{}", reply.body);
    let outcome = &results[0];
    if Value::is_null(&outcome["problem"]) {
        Reply {
            status: StatusCode::OK,
            content_type: reply.content_type,
            body: outcome["reservation"].clone(),
        }
    } else {
        let status = outcome["problem"]["status"].as_u64().unwrap();
        Reply {
            status: StatusCode::from_u16(u16::try_from(status).unwrap()).unwrap(),
            content_type: "application/problem+json".into(),
            body: outcome["problem"].clone(),
        }
    }
}

/// A reservation body for `order_id` with `(book_id, quantity)` lines.
fn reservation(order_id: &str, lines: &[(&str, i64)]) -> Value {
    json!({
        "order_id": order_id,
        "lines": lines
            .iter()
            .map(|(book_id, quantity)| json!({"book_id": book_id, "quantity": quantity}))
            .collect::<Vec<_>>(),
    })
}

impl Api {
    async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self.http.request(method, self.server.url(path));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request).await
    }

    /// A call from a bookstore service (with the service token).
    async fn service(&self, path: &str, body: Option<&Value>) -> Reply {
        let mut request = self
            .http
            .post(self.server.url(path))
            .header("x-service-token", self.service.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request).await
    }

    async fn available(&self, book_id: &str) -> i64 {
        let reply = self
            .send(Method::GET, &stock_path(book_id), None, None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["book_id"], book_id);
        reply.body["available"].as_i64().unwrap()
    }

    async fn set(&self, book_id: &str, available: i64) -> Reply {
        let body = json!({ "available": available });
        self.send(
            Method::PUT,
            &stock_path(book_id),
            Some(&self.admin),
            Some(&body),
        )
        .await
    }

    /// Sets a count, which must succeed.
    async fn stock(&self, book_id: &str, available: i64) {
        let reply = self.set(book_id, available).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    async fn adjust(&self, book_id: &str, delta: i64) -> Reply {
        let body = json!({ "delta": delta });
        self.send(
            Method::POST,
            &adjust_path(book_id),
            Some(&self.admin),
            Some(&body),
        )
        .await
    }

    async fn reserve(&self, order_id: &str, lines: &[(&str, i64)]) -> Reply {
        self.reserve_one(&reservation(order_id, lines)).await
    }

    /// Sends one reservation body as a batch of one; its outcome as a reply of its own.
    async fn reserve_one(&self, body: &Value) -> Reply {
        only_outcome(self.service(BATCH, Some(&batch_of(body))).await)
    }

    /// Sends reservation bodies as one batch; the answer must be a 200 with one outcome each.
    async fn reserve_batch(&self, reservations: Vec<Value>) -> Vec<Value> {
        let count = reservations.len();
        let reply = self
            .service(BATCH, Some(&json!({ "reservations": reservations })))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let results = reply.body["results"].as_array().unwrap().clone();
        assert_eq!(results.len(), count, "{}", reply.body);
        results
    }

    async fn release(&self, order_id: &str) -> Reply {
        self.service(&release_path(order_id), None).await
    }

    /// Every event in the outbox, oldest first: its kind and payload.
    async fn events(&self) -> Vec<(String, StockChanged)> {
        let select = Query::select()
            .columns([Alias::new("kind"), Alias::new("payload")])
            .from(Alias::new("inventory_outbox"))
            .order_by(Alias::new("occurred_at"), Order::Asc)
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        self.conn
            .query_all(&select)
            .await
            .unwrap()
            .into_iter()
            .map(|row| {
                let kind: String = row.try_get("", "kind").unwrap();
                let payload: String = row.try_get("", "payload").unwrap();
                (kind, serde_json::from_str(&payload).unwrap())
            })
            .collect()
    }

    /// Each event's books and their new counts, oldest first.
    async fn changes(&self) -> Vec<Vec<(String, i64)>> {
        self.events()
            .await
            .into_iter()
            .map(|(kind, event)| {
                assert_eq!(kind, "stock.changed");
                event
                    .books
                    .into_iter()
                    .map(|level| (level.book_id.into_string(), level.available))
                    .collect()
            })
            .collect()
    }

    /// The new counts `stock.changed` reported for `book_id`, oldest first.
    async fn reported(&self, book_id: &str) -> Vec<i64> {
        self.changes()
            .await
            .into_iter()
            .flatten()
            .filter(|(book, _)| book == book_id)
            .map(|(_, available)| available)
            .collect()
    }

    /// Stops the server and closes the pool so that the test database can be dropped.
    async fn finish(self) {
        drop(self.server);
        self.conn.close().await.unwrap();
    }
}

/// `n` reservations sent at once, each from its own task; their answers in order.
async fn reserve_concurrently(api: &Api, bodies: Vec<Value>) -> Vec<Reply> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let request = api
            .http
            .post(api.server.url(BATCH))
            .header("x-service-token", api.service.as_str())
            .json(&batch_of(&body));
        tasks.spawn(async move { (i, only_outcome(read(request).await)) });
    }
    let mut replies: Vec<(usize, Reply)> = tasks.join_all().await;
    replies.sort_by_key(|(i, _)| *i);
    replies.into_iter().map(|(_, reply)| reply).collect()
}

platform::backend_tests! {
    // -----------------------------------------------------------------------------------------
    // Stock

    async fn set_then_get_returns_the_count_and_unknown_books_have_0(db) {
        let api = start(&db).await;
        assert_eq!(api.available("book-1").await, 0);
        let reply = api.set("book-1", 12).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, json!({"book_id": "book-1", "available": 12}));
        assert_eq!(api.available("book-1").await, 12);
        api.stock("book-1", 0).await;
        assert_eq!(api.available("book-1").await, 0);
        api.stock("book-1", 1_000_000_000).await;
        assert_eq!(api.available("book-1").await, 1_000_000_000);
        assert_eq!(api.available("book-2").await, 0);
        api.finish().await;
    }

    async fn set_outside_0_to_a_billion_is_422_and_changes_nothing(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        for available in [-1, 1_000_000_001, i64::MAX, i64::MIN] {
            let reply = api.set("book-1", available).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), ["available"], "{available}");
        }
        assert_eq!(api.available("book-1").await, 5);
        assert_eq!(api.reported("book-1").await, [5]);
        api.finish().await;
    }

    async fn adjust_adds_and_removes_units(db) {
        let api = start(&db).await;
        let reply = api.adjust("book-1", 7).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, json!({"book_id": "book-1", "available": 7}));
        let reply = api.adjust("book-1", -3).await;
        assert_eq!(reply.body, json!({"book_id": "book-1", "available": 4}));
        let reply = api.adjust("book-1", -4).await;
        assert_eq!(reply.body, json!({"book_id": "book-1", "available": 0}));
        assert_eq!(api.available("book-1").await, 0);
        api.finish().await;
    }

    async fn adjust_below_zero_is_409_and_leaves_stock_unchanged(db) {
        let api = start(&db).await;
        api.stock("book-1", 3).await;
        for delta in [-4, -1_000_000_000] {
            api.adjust("book-1", delta)
                .await
                .assert_problem(StatusCode::CONFLICT, "conflict");
        }
        assert_eq!(api.available("book-1").await, 3);
        // A book never stocked has 0: taking from it is a conflict too, and creates nothing.
        api.adjust("book-2", -1)
            .await
            .assert_problem(StatusCode::CONFLICT, "conflict");
        assert_eq!(api.available("book-2").await, 0);
        assert_eq!(api.reported("book-1").await, [3]);
        assert!(api.reported("book-2").await.is_empty());
        api.finish().await;
    }

    async fn adjust_above_a_billion_is_409_and_huge_deltas_are_422(db) {
        let api = start(&db).await;
        api.stock("book-1", 1_000_000_000).await;
        api.adjust("book-1", 1)
            .await
            .assert_problem(StatusCode::CONFLICT, "conflict");
        api.stock("book-2", 999_999_999).await;
        assert_eq!(
            api.adjust("book-2", 1).await.body["available"],
            1_000_000_000
        );
        // Out-of-range deltas never reach the arithmetic (no overflow whatever the value).
        for delta in [0, 1_000_000_001, -1_000_000_001, i64::MAX, i64::MIN] {
            let reply = api.adjust("book-1", delta).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), ["delta"], "{delta}");
        }
        assert_eq!(api.available("book-1").await, 1_000_000_000);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Who may call what

    async fn customers_get_403_on_set_and_adjust(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        let set = json!({"available": 100});
        let adjust = json!({"delta": -5});
        for (method, path, body) in [
            (Method::PUT, stock_path("book-1"), &set),
            (Method::POST, adjust_path("book-1"), &adjust),
        ] {
            api.send(method, &path, Some(&api.customer), Some(body))
                .await
                .assert_problem(StatusCode::FORBIDDEN, "forbidden");
        }
        assert_eq!(api.available("book-1").await, 5);
        api.finish().await;
    }

    async fn set_and_adjust_without_a_token_are_401(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        let set = json!({"available": 100});
        let adjust = json!({"delta": -5});
        for (method, path, body) in [
            (Method::PUT, stock_path("book-1"), &set),
            (Method::POST, adjust_path("book-1"), &adjust),
        ] {
            api.send(method.clone(), &path, None, Some(body))
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            // The service token is not an admin's credential.
            let request = api
                .http
                .request(method.clone(), api.server.url(&path))
                .header("x-service-token", api.service.as_str())
                .json(body);
            read(request)
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            api.send(method, &path, Some("garbage"), Some(body))
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "invalid_token");
        }
        assert_eq!(api.available("book-1").await, 5);
        api.finish().await;
    }

    async fn reservations_without_the_service_token_are_401(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        let body = batch_of(&reservation("order-1", &[("book-1", 1)]));
        read(api.http.post(api.server.url(BATCH)).json(&body))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        read(api.http.post(api.server.url(&release_path("order-1"))))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        assert_eq!(api.available("book-1").await, 5);
        // Nothing was recorded either: the order can still be reserved.
        assert_eq!(
            api.reserve("order-1", &[("book-1", 1)]).await.reservation()["status"],
            "reserved"
        );
        api.finish().await;
    }

    async fn reservations_with_only_a_customer_or_admin_jwt_are_401(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        let body = batch_of(&reservation("order-1", &[("book-1", 1)]));
        for token in [&api.customer, &api.admin] {
            api.send(Method::POST, BATCH, Some(token), Some(&body))
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
            api.send(Method::POST, &release_path("order-1"), Some(token), None)
                .await
                .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        }
        assert_eq!(api.available("book-1").await, 5);
        api.finish().await;
    }

    async fn reservations_with_a_wrong_service_token_are_403(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        let body = batch_of(&reservation("order-1", &[("book-1", 1)]));
        let other = ServiceToken::generate();
        let almost = format!("{}x", &api.service.as_str()[1..]);
        for wrong in [other.as_str(), almost.as_str(), "", &api.customer] {
            let request = api
                .http
                .post(api.server.url(BATCH))
                .header("x-service-token", wrong)
                .json(&body);
            read(request)
                .await
                .assert_problem(StatusCode::FORBIDDEN, "forbidden");
            let request = api
                .http
                .post(api.server.url(&release_path("order-1")))
                .header("x-service-token", wrong);
            read(request)
                .await
                .assert_problem(StatusCode::FORBIDDEN, "forbidden");
        }
        assert_eq!(api.available("book-1").await, 5);
        api.finish().await;
    }

    async fn anyone_may_read_stock(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        for token in [None, Some(api.customer.as_str()), Some("garbage")] {
            let reply = api
                .send(Method::GET, &stock_path("book-1"), token, None)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            assert_eq!(reply.body["available"], 5);
        }
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Reservations

    async fn reserve_takes_every_line(db) {
        let api = start(&db).await;
        api.stock("book-a", 5).await;
        api.stock("book-b", 2).await;
        let reply = api
            .reserve("order-1", &[("book-b", 2), ("book-a", 3)])
            .await;
        assert_eq!(
            *reply.reservation(),
            json!({
                "order_id": "order-1",
                "status": "reserved",
                "reason": null,
                "lines": [
                    {"book_id": "book-a", "quantity": 3},
                    {"book_id": "book-b", "quantity": 2},
                ],
            })
        );
        assert_eq!(api.available("book-a").await, 2);
        assert_eq!(api.available("book-b").await, 0);
        api.finish().await;
    }

    async fn reserve_is_all_or_nothing(db) {
        let api = start(&db).await;
        api.stock("book-a", 5).await;
        api.stock("book-b", 1).await;
        // The first line fits, the second does not: nothing is taken.
        let reply = api
            .reserve("order-1", &[("book-a", 3), ("book-b", 2)])
            .await;
        let answer = reply.reservation();
        assert_eq!(answer["status"], "rejected");
        assert_eq!(answer["reason"], "out_of_stock");
        assert_eq!(answer["lines"].as_array().unwrap().len(), 2);
        assert_eq!(api.available("book-a").await, 5);
        assert_eq!(api.available("book-b").await, 1);
        assert_eq!(api.reported("book-a").await, [5]);
        // A book inventory has never stocked counts as none available.
        let reply = api
            .reserve("order-2", &[("book-a", 1), ("book-unknown", 1)])
            .await;
        assert_eq!(reply.reservation()["status"], "rejected");
        assert_eq!(api.available("book-a").await, 5);
        assert_eq!(api.available("book-unknown").await, 0);
        api.finish().await;
    }

    async fn reserve_merges_a_book_listed_twice(db) {
        let api = start(&db).await;
        api.stock("book-a", 7).await;
        let reply = api
            .reserve("order-1", &[("book-a", 3), ("book-a", 4)])
            .await;
        let answer = reply.reservation();
        assert_eq!(answer["status"], "reserved");
        assert_eq!(
            answer["lines"],
            json!([{"book_id": "book-a", "quantity": 7}])
        );
        assert_eq!(api.available("book-a").await, 0);
        // Merged, 4 + 4 is more than the 4 left: refused although each line alone would fit.
        api.stock("book-a", 4).await;
        let reply = api
            .reserve("order-2", &[("book-a", 4), ("book-a", 4)])
            .await;
        assert_eq!(reply.reservation()["status"], "rejected");
        assert_eq!(api.available("book-a").await, 4);
        api.finish().await;
    }

    async fn metrics_count_reservations_by_answer(db) {
        let api = start(&db).await;
        api.stock("book-a", 2).await;
        api.reserve("order-1", &[("book-a", 2)]).await;
        api.reserve("order-1", &[("book-a", 2)]).await;
        api.reserve("order-2", &[("book-a", 1)]).await;
        let value = |outcome: &str| -> f64 {
            let line = format!("stock_reservations_total{{outcome=\"{outcome}\"}}");
            platform::testing::metric_sum(&api.metrics.render(), &line)
        };
        assert_eq!((value("reserved"), value("repeated"), value("out_of_stock")), (1.0, 1.0, 1.0));
        api.finish().await;
    }

    async fn reserve_is_idempotent_by_order_id(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        api.stock("book-b", 10).await;
        let first = api.reserve("order-1", &[("book-a", 3)]).await;
        assert_eq!(first.reservation()["status"], "reserved");
        let again = api.reserve("order-1", &[("book-a", 3)]).await;
        assert_eq!(again.reservation(), first.reservation());
        assert_eq!(api.available("book-a").await, 7);
        // Other lines under the same order id: still the first answer, and nothing taken.
        let other = api
            .reserve("order-1", &[("book-b", 5), ("book-a", 1)])
            .await;
        assert_eq!(other.reservation(), first.reservation());
        assert_eq!(api.available("book-a").await, 7);
        assert_eq!(api.available("book-b").await, 10);
        assert_eq!(api.reported("book-a").await, [10, 7]);
        api.finish().await;
    }

    async fn a_rejected_order_stays_rejected_after_a_restock(db) {
        let api = start(&db).await;
        api.stock("book-a", 1).await;
        let first = api.reserve("order-1", &[("book-a", 2)]).await;
        assert_eq!(first.reservation()["status"], "rejected");
        api.stock("book-a", 100).await;
        let again = api.reserve("order-1", &[("book-a", 2)]).await;
        assert_eq!(again.reservation(), first.reservation());
        assert_eq!(api.available("book-a").await, 100);
        api.finish().await;
    }

    async fn concurrent_reservations_never_oversell(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        let bodies = (0..60)
            .map(|i| reservation(&format!("order-{i}"), &[("book-a", 1)]))
            .collect();
        let replies = reserve_concurrently(&api, bodies).await;
        let mut outcomes = BTreeMap::new();
        for reply in &replies {
            let status = reply.reservation()["status"].as_str().unwrap().to_owned();
            *outcomes.entry(status).or_insert(0) += 1;
        }
        assert_eq!(
            outcomes,
            BTreeMap::from([("rejected".to_owned(), 50), ("reserved".to_owned(), 10)])
        );
        assert_eq!(api.available("book-a").await, 0);
        // Every unit was taken exactly once: the counts reported went 10, then 9 down to 0,
        // each once (in whatever order the commits happened), never below zero.
        let mut reported = api.reported("book-a").await;
        assert_eq!(reported.remove(0), 10);
        reported.sort_unstable();
        assert_eq!(reported, (0..10).collect::<Vec<i64>>());
        api.finish().await;
    }

    async fn a_batch_decides_its_reservations_in_order_each_all_or_nothing(db) {
        let api = start(&db).await;
        api.stock("book-a", 3).await;
        api.stock("book-b", 1).await;
        api.reserve("order-0", &[("book-b", 1)]).await;
        api.stock("book-b", 1).await;
        let results = api
            .reserve_batch(vec![
                reservation("order-1", &[("book-a", 2)]),
                // One unit of book-a is left now: short.
                reservation("order-2", &[("book-a", 2)]),
                // book-c was never stocked, so book-a's unit is not taken either.
                reservation("order-4", &[("book-a", 1), ("book-c", 1)]),
                // Both lines fit.
                reservation("order-3", &[("book-a", 1), ("book-b", 1)]),
                reservation("order-1", &[("book-a", 2)]),
                reservation("order-0", &[("book-b", 1)]),
                reservation("order-5", &[("book-a", 0)]),
            ])
            .await;
        let statuses: Vec<Value> = results
            .iter()
            .map(|r| r["reservation"]["status"].clone())
            .collect();
        assert_eq!(
            Value::Array(statuses),
            json!(["reserved", "rejected", "rejected", "reserved", "reserved", "reserved", null])
        );
        assert_eq!(results[1]["reservation"]["reason"], "out_of_stock");
        assert_eq!(results[2]["reservation"]["reason"], "out_of_stock");
        // A repeat within the batch gets the first answer; an order reserved before gets its own.
        assert_eq!(results[4], results[0]);
        assert_eq!(results[0]["problem"], Value::Null);
        let problem = &results[6]["problem"];
        assert_eq!(problem["status"], 422, "{problem}");
        assert!(problem["errors"]["lines[0].quantity"].is_array(), "{problem}");
        assert_eq!(api.available("book-a").await, 0);
        assert_eq!(api.available("book-b").await, 0);
        // One event for the batch, listing each book it changed once, with its final count.
        assert_eq!(api.reported("book-a").await, [3, 0]);
        assert_eq!(api.reported("book-b").await, [1, 0, 1, 0]);
        assert_eq!(
            api.changes().await.last().unwrap(),
            &[("book-a".to_owned(), 0), ("book-b".to_owned(), 0)]
        );
        // The answers are stored: alone, each order gets the same answer again.
        let again = api.reserve("order-2", &[("book-a", 2)]).await;
        assert_eq!(*again.reservation(), results[1]["reservation"]);
        // The invalid one was not recorded.
        api.stock("book-a", 5).await;
        assert_eq!(
            api.reserve("order-5", &[("book-a", 1)]).await.reservation()["status"],
            "reserved"
        );
        api.finish().await;
    }

    async fn concurrent_batches_never_oversell_or_deadlock(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        api.stock("book-b", 10).await;
        // Six batches of ten orders at once, their lines in both books in differing orders.
        let mut tasks = tokio::task::JoinSet::new();
        for batch in 0..6 {
            let reservations: Vec<Value> = (0..10)
                .map(|i| {
                    let order = format!("order-{batch}-{i}");
                    if (batch + i) % 2 == 0 {
                        reservation(&order, &[("book-b", 1), ("book-a", 1)])
                    } else {
                        reservation(&order, &[("book-a", 1)])
                    }
                })
                .collect();
            let request = api
                .http
                .post(api.server.url(BATCH))
                .header("x-service-token", api.service.as_str())
                .json(&json!({ "reservations": reservations }));
            tasks.spawn(async move { read(request).await });
        }
        let mut reserved = 0;
        for reply in tasks.join_all().await {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            for result in reply.body["results"].as_array().unwrap() {
                if result["reservation"]["status"] == "reserved" {
                    reserved += 1;
                }
            }
        }
        let a = api.available("book-a").await;
        let b = api.available("book-b").await;
        assert_eq!(a, 0, "book-a is the one every order asks for");
        assert_eq!(reserved, 10);
        assert!((0..=10).contains(&b));
        api.finish().await;
    }

    async fn batches_need_the_service_token_and_1_to_100_reservations(db) {
        let api = start(&db).await;
        api.stock("book-1", 5).await;
        let body = json!({ "reservations": [reservation("order-1", &[("book-1", 1)])] });
        read(api.http.post(api.server.url(BATCH)).json(&body))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        api.send(Method::POST, BATCH, Some(&api.admin), Some(&body))
            .await
            .assert_problem(StatusCode::UNAUTHORIZED, "unauthenticated");
        for count in [0, 101] {
            let reservations: Vec<Value> = (0..count)
                .map(|i| reservation(&format!("order-{i}"), &[("book-1", 1)]))
                .collect();
            api.service(BATCH, Some(&json!({ "reservations": reservations })))
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        api.service(BATCH, Some(&json!({})))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        assert_eq!(api.available("book-1").await, 5);
        api.finish().await;
    }

    async fn concurrent_duplicates_of_one_order_take_stock_once(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        api.stock("book-b", 10).await;
        let body = reservation("order-1", &[("book-a", 2), ("book-b", 3)]);
        let replies = reserve_concurrently(&api, vec![body; 20]).await;
        for reply in &replies {
            assert_eq!(reply.reservation(), replies[0].reservation());
        }
        assert_eq!(replies[0].body["status"], "reserved");
        assert_eq!(api.available("book-a").await, 8);
        assert_eq!(api.available("book-b").await, 7);
        assert_eq!(api.reported("book-a").await, [10, 8]);
        assert_eq!(api.reported("book-b").await, [10, 7]);
        api.finish().await;
    }

    async fn concurrent_duplicates_of_a_rejected_order_agree(db) {
        let api = start(&db).await;
        api.stock("book-a", 1).await;
        let body = reservation("order-1", &[("book-a", 2)]);
        let replies = reserve_concurrently(&api, vec![body; 20]).await;
        for reply in &replies {
            assert_eq!(reply.reservation()["status"], "rejected");
        }
        assert_eq!(api.available("book-a").await, 1);
        api.finish().await;
    }

    async fn release_returns_units_once(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        api.stock("book-b", 10).await;
        api.reserve("order-1", &[("book-a", 4), ("book-b", 1)])
            .await;
        assert_eq!(api.available("book-a").await, 6);
        let reply = api.release("order-1").await;
        assert_eq!(
            *reply.reservation(),
            json!({
                "order_id": "order-1",
                "status": "released",
                "reason": null,
                "lines": [
                    {"book_id": "book-a", "quantity": 4},
                    {"book_id": "book-b", "quantity": 1},
                ],
            })
        );
        assert_eq!(api.available("book-a").await, 10);
        assert_eq!(api.available("book-b").await, 10);
        let again = api.release("order-1").await;
        assert_eq!(again.reservation(), reply.reservation());
        assert_eq!(api.available("book-a").await, 10);
        assert_eq!(api.available("book-b").await, 10);
        assert_eq!(api.reported("book-a").await, [10, 6, 10]);
        // A released order stays released: reserving it again takes nothing.
        let late = api.reserve("order-1", &[("book-a", 4)]).await;
        assert_eq!(late.reservation()["status"], "released");
        assert_eq!(api.available("book-a").await, 10);
        api.finish().await;
    }

    async fn concurrent_releases_return_units_once(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        api.reserve("order-1", &[("book-a", 4)]).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let request = api
                .http
                .post(api.server.url(&release_path("order-1")))
                .header("x-service-token", api.service.as_str());
            tasks.spawn(async move { read(request).await });
        }
        for reply in tasks.join_all().await {
            assert_eq!(reply.reservation()["status"], "released");
        }
        assert_eq!(api.available("book-a").await, 10);
        assert_eq!(api.reported("book-a").await, [10, 6, 10]);
        api.finish().await;
    }

    async fn releasing_a_rejected_reservation_changes_nothing(db) {
        let api = start(&db).await;
        api.stock("book-a", 1).await;
        let rejected = api.reserve("order-1", &[("book-a", 5)]).await;
        assert_eq!(rejected.reservation()["status"], "rejected");
        let reply = api.release("order-1").await;
        assert_eq!(reply.reservation(), rejected.reservation());
        assert_eq!(api.available("book-a").await, 1);
        assert_eq!(api.reported("book-a").await, [1]);
        api.finish().await;
    }

    async fn release_before_reserve_makes_the_late_reservation_take_nothing(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        let reply = api.release("order-1").await;
        assert_eq!(
            *reply.reservation(),
            json!({"order_id": "order-1", "status": "released", "reason": null, "lines": []})
        );
        assert_eq!(api.available("book-a").await, 10);
        let late = api.reserve("order-1", &[("book-a", 3)]).await;
        assert_eq!(late.reservation(), reply.reservation());
        assert_eq!(api.available("book-a").await, 10);
        // Releasing again is still a no-op, and gives back nothing that was never taken.
        assert_eq!(
            api.release("order-1").await.reservation(),
            reply.reservation()
        );
        assert_eq!(api.available("book-a").await, 10);
        assert_eq!(api.reported("book-a").await, [10]);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Events and the database's own guard

    async fn every_stock_change_writes_stock_changed_with_the_new_count(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        api.adjust("book-a", 5).await;
        api.adjust("book-a", -2).await;
        api.adjust("book-b", 4).await;
        api.reserve("order-1", &[("book-a", 3), ("book-b", 4)])
            .await;
        api.release("order-1").await;
        // One event per change, the reservation's and the release's listing both books.
        let expected: Vec<Vec<(&str, i64)>> = vec![
            vec![("book-a", 10)],
            vec![("book-a", 15)],
            vec![("book-a", 13)],
            vec![("book-b", 4)],
            vec![("book-a", 10), ("book-b", 0)],
            vec![("book-a", 13), ("book-b", 4)],
        ];
        assert_eq!(
            api.changes().await,
            expected
                .iter()
                .map(|books| books.iter().map(|(b, n)| ((*b).to_owned(), *n)).collect())
                .collect::<Vec<Vec<_>>>()
        );
        // Refused changes and answers that change nothing write no event.
        api.adjust("book-a", -100).await;
        api.reserve("order-2", &[("book-a", 1), ("book-b", 100)])
            .await;
        api.reserve("order-1", &[("book-a", 1)]).await;
        api.release("order-1").await;
        assert_eq!(api.events().await.len(), expected.len());
        // Each event has a unique id, schema version 2, and is waiting for the relay.
        let select = Query::select()
            .expr(Expr::col(Alias::new("id")).count_distinct())
            .from(Alias::new("inventory_outbox"))
            .and_where(Expr::col(Alias::new("schema_version")).eq(2))
            .and_where(Expr::col(Alias::new("published_at")).is_null())
            .to_owned();
        let row = api.conn.query_one(&select).await.unwrap().unwrap();
        assert_eq!(
            row.try_get_by_index::<i64>(0).unwrap(),
            expected.len() as i64
        );
        api.finish().await;
    }

    async fn the_database_refuses_negative_stock_even_bypassing_the_code(db) {
        let api = start(&db).await;
        api.stock("book-a", 3).await;
        let refused = api
            .conn
            .execute_unprepared("UPDATE stock SET available = -1 WHERE book_id = 'book-a'")
            .await;
        assert!(refused.is_err(), "the CHECK constraint let -1 in");
        let refused = api
            .conn
            .execute_unprepared(
                "UPDATE stock SET available = available - 4 WHERE book_id = 'book-a'",
            )
            .await;
        assert!(refused.is_err(), "the CHECK constraint let 3 - 4 in");
        assert_eq!(api.available("book-a").await, 3);
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Bad input is a 4xx, never a 5xx

    async fn invalid_reservations_are_422_naming_each_field(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        let long = "x".repeat(37);
        let too_many: Vec<Value> = (0..51)
            .map(|_| json!({"book_id": "book-a", "quantity": 1}))
            .collect();
        for (body, fields) in [
            (json!({}), vec!["lines", "order_id"]),
            (
                json!({"order_id": null, "lines": null}),
                vec!["lines", "order_id"],
            ),
            (
                json!({"order_id": "", "lines": []}),
                vec!["lines", "order_id"],
            ),
            (
                json!({"order_id": long, "lines": too_many}),
                vec!["lines", "order_id"],
            ),
            (
                json!({"order_id": "has space", "lines": [{"book_id": "book-a", "quantity": 1}]}),
                vec!["order_id"],
            ),
            (
                json!({"order_id": "o-1", "lines": [
                    {"book_id": "book-a", "quantity": 0},
                    {"book_id": "book-a", "quantity": 1001},
                    {"book_id": "", "quantity": -1},
                    {"quantity": 1},
                    {"book_id": "book-a"},
                    {"book_id": "nul\u{0}", "quantity": 1},
                ]}),
                vec![
                    "lines[0].quantity",
                    "lines[1].quantity",
                    "lines[2].book_id",
                    "lines[2].quantity",
                    "lines[3].book_id",
                    "lines[4].quantity",
                    "lines[5].book_id",
                ],
            ),
        ] {
            let reply = api.reserve_one(&body).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), fields, "{body}");
        }
        // Wrong shapes and unknown fields are refused too (without a per-field map).
        let line = |extra: (&str, Value)| {
            let mut line = json!({"book_id": "book-a", "quantity": 1});
            line[extra.0] = extra.1;
            json!({"order_id": "o-1", "lines": [line]})
        };
        let mut with_status = line(("quantity", json!(1)));
        with_status["status"] = json!("reserved");
        for body in [
            json!([]),
            json!("order"),
            json!({"order_id": 5, "lines": []}),
            line(("quantity", json!(1.5))),
            line(("quantity", json!(u64::MAX))),
            line(("quantity", json!("1"))),
            line(("price", json!("1.00"))),
            with_status,
        ] {
            api.reserve_one(&body)
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        // The limits themselves pass validation (and are then answered: none of these books
        // is stocked).
        let fifty: Vec<(String, i64)> = (0..50).map(|i| (format!("book-{i:02}"), 1000)).collect();
        let lines: Vec<(&str, i64)> = fifty.iter().map(|(id, q)| (id.as_str(), *q)).collect();
        let reply = api.reserve(&"o".repeat(36), &lines).await;
        assert_eq!(reply.reservation()["status"], "rejected");
        assert_eq!(api.available("book-a").await, 10);
        assert_eq!(api.reported("book-a").await, [10]);
        api.finish().await;
    }

    async fn invalid_stock_bodies_are_422_naming_the_field(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        for (method, path, body, field) in [
            (Method::PUT, stock_path("book-a"), json!({}), "available"),
            (
                Method::PUT,
                stock_path("book-a"),
                json!({"available": null}),
                "available",
            ),
            (Method::POST, adjust_path("book-a"), json!({}), "delta"),
        ] {
            let reply = api.send(method, &path, Some(&api.admin), Some(&body)).await;
            reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
            assert_eq!(reply.error_fields(), [field], "{body}");
        }
        for (method, path, body) in [
            (Method::PUT, stock_path("book-a"), json!({"available": "5"})),
            (Method::PUT, stock_path("book-a"), json!({"available": 5.5})),
            (
                Method::PUT,
                stock_path("book-a"),
                json!({"available": 5, "book_id": "book-b"}),
            ),
            (Method::POST, adjust_path("book-a"), json!({"delta": 1e30})),
            (Method::POST, adjust_path("book-a"), json!("five")),
        ] {
            api.send(method, &path, Some(&api.admin), Some(&body))
                .await
                .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
        }
        assert_eq!(api.available("book-a").await, 10);
        api.finish().await;
    }

    async fn malformed_json_is_400(db) {
        let api = start(&db).await;
        api.stock("book-a", 10).await;
        // Each breaks before its first complete key: a known key followed by bad syntax would be
        // refused by the shape check first (serde reads as it parses), which is a 422.
        for body in ["{", "{,}", "{\"unterminated", "nul", "", "["] {
            for (path, token) in [
                (BATCH.to_owned(), None),
                (stock_path("book-a"), Some(&api.admin)),
                (adjust_path("book-a"), Some(&api.admin)),
            ] {
                let method = if path == stock_path("book-a") {
                    Method::PUT
                } else {
                    Method::POST
                };
                let mut request = api
                    .http
                    .request(method, api.server.url(&path))
                    .header("x-service-token", api.service.as_str())
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                read(request)
                    .await
                    .assert_problem(StatusCode::BAD_REQUEST, "malformed_json");
            }
        }
        assert_eq!(api.available("book-a").await, 10);
        api.finish().await;
    }

    async fn odd_ids_in_the_path_are_400_not_server_errors(db) {
        let api = start(&db).await;
        let long = "x".repeat(37);
        for id in [
            long.as_str(),
            "nul%00byte",
            "tab%09",
            "has%20space",
            "%C3%28",
        ] {
            let reply = api.send(Method::GET, &stock_path(id), None, None).await;
            assert!(
                reply.status == StatusCode::BAD_REQUEST,
                "{id}: {} {}",
                reply.status,
                reply.body
            );
            let reply = api
                .send(
                    Method::PUT,
                    &stock_path(id),
                    Some(&api.admin),
                    Some(&json!({"available": 1})),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{id}: {}",
                reply.body
            );
            let reply = api
                .send(
                    Method::POST,
                    &adjust_path(id),
                    Some(&api.admin),
                    Some(&json!({"delta": 1})),
                )
                .await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{id}: {}",
                reply.body
            );
            let reply = api.release(id).await;
            assert_eq!(
                reply.status,
                StatusCode::BAD_REQUEST,
                "{id}: {}",
                reply.body
            );
        }
        let reply = api.send(Method::GET, &stock_path(&long), None, None).await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_eq!(reply.error_fields(), ["book_id"]);
        let reply = api.release(&long).await;
        reply.assert_problem(StatusCode::BAD_REQUEST, "invalid_parameter");
        assert_eq!(reply.error_fields(), ["order_id"]);
        assert!(api.events().await.is_empty());
        api.finish().await;
    }

    // -----------------------------------------------------------------------------------------
    // Seeding

    async fn seed_adds_missing_books_only(db) {
        let api = start(&db).await;
        api.stock("book-a", 3).await;
        let outbox = platform::outbox::Outbox::new("inventory_outbox");
        let added = inventory::stock::seed(
            &api.conn,
            &outbox,
            &[("book-a", 50), ("book-b", 7), ("book-c", 0), ("book-b", 9)],
        )
        .await
        .unwrap();
        assert_eq!(added, 2);
        assert_eq!(api.available("book-a").await, 3);
        assert_eq!(api.available("book-b").await, 7);
        assert_eq!(api.available("book-c").await, 0);
        assert_eq!(api.reported("book-b").await, [7]);
        assert_eq!(api.reported("book-c").await, [0]);
        // The seeding wrote one event for both books.
        assert_eq!(api.changes().await.len(), 2);
        // Seeding again (a restart) changes nothing.
        let again = inventory::stock::seed(&api.conn, &outbox, &[("book-b".to_owned(), 1)])
            .await
            .unwrap();
        assert_eq!(again, 0);
        assert_eq!(api.available("book-b").await, 7);
        api.finish().await;
    }
}

/// The OpenAPI document lists the six operations under `inventory`, and names the schemes
/// they require.
#[test]
fn openapi_documents_the_six_operations_and_their_security() {
    let keys = KeyPair::generate();
    let state = inventory::InventoryState::new(
        DatabaseConnection::default(),
        Arc::new(TokenVerifier::new(&keys.public()).unwrap()),
        ServiceToken::generate(),
    );
    let doc = serde_json::to_value(inventory::router(state).into_openapi()).unwrap();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert_eq!(operation["tags"], json!(["inventory"]), "{method} {path}");
            let security = operation["security"]
                .as_array()
                .map(|s| {
                    s[0].as_object()
                        .unwrap()
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            operations.push(format!("{} {path} {security:?}", method.to_uppercase()));
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        [
            "GET /api/v1/inventory/{book_id} []",
            "POST /api/v1/inventory/reservations/batch [\"service_token\"]",
            "POST /api/v1/inventory/reservations/{order_id}/release [\"service_token\"]",
            "POST /api/v1/inventory/{book_id}/adjust [\"bearer\"]",
            "PUT /api/v1/inventory/{book_id} [\"bearer\"]",
        ]
    );
    let scheme = &doc["components"]["securitySchemes"]["service_token"];
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "x-service-token");
}
