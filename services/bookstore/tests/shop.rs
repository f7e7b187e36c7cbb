//! `bookstore all` as one application: users and catalogue on one port, one token for every
//! service, the OpenAPI document, and no 5xx for any bad input.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use bookstore::commands::Background;
use bookstore::commands::components::{
    Wiring, start_catalog, start_inventory, start_orders, start_users,
};
use bookstore::shop::{self, Services};
use migration::{Migrator, MigratorTrait};
use platform::auth::{KeyPair, TokenVerifier};
use platform::testing::{TestDatabase, TestServer};
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

struct Shop {
    server: TestServer,
    db: DatabaseConnection,
    http: reqwest::Client,
    /// The components' relays and consumers.
    background: Background,
}

async fn spawn(db: &TestDatabase) -> Shop {
    let conn = db.connect().await.unwrap();
    Migrator::up(&conn, None).await.unwrap();
    catalog::seed::seed_if_empty(&conn).await.unwrap();
    let keys = KeyPair::generate();
    let config = users::UsersConfig {
        rate_per_client: 100_000,
        rate_per_account: 100_000,
        ..Default::default()
    };
    let verifier = Arc::new(TokenVerifier::new(&keys.public()).unwrap());
    // The components as `bookstore all` builds them, on the in-process bus.
    let mut background = Background::new();
    let metrics = background.metrics("test", Some(&conn));
    let wiring = Wiring::new(
        conn.clone(),
        Arc::new(platform::messaging::memory::MemoryBus::new(
            contracts::consumers::topology(""),
        )),
        verifier,
        platform::auth::ServiceToken::generate(),
        metrics,
        std::time::Duration::from_secs(3600),
    );
    let files = catalog::files::Files::new(
        catalog::storage::Storage::open(&catalog::storage::StorageLocation::Folder(
            std::env::temp_dir().join(format!("bookstore-shop-{}", uuid::Uuid::new_v4().simple())),
        ))
        .unwrap(),
        Arc::new(bookstore::adapters::LocalPurchases::new(conn.clone())),
    );
    let services = Services {
        users: Some(start_users(&mut background, &wiring, &keys, config).unwrap()),
        catalog: Some(start_catalog(
            &mut background,
            &wiring,
            files,
            catalog::cache::CacheSettings::default(),
        )),
        inventory: Some(start_inventory(&mut background, &wiring)),
        orders: Some(start_orders(
            &mut background,
            &wiring,
            Arc::new(bookstore::adapters::LocalCatalog::new(conn.clone())),
            orders::limits::OrderLimits::default(),
        )),
    };
    let server = TestServer::start(shop::api(services), vec![conn.clone()]).await;
    Shop {
        server,
        db: conn,
        http: reqwest::Client::new(),
        background,
    }
}

impl Shop {
    async fn json(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn customer(&self, email: &str) -> String {
        let (status, body) = self
            .json(
                self.http
                    .post(self.server.url("/api/v1/auth/register"))
                    .json(&json!({ "email": email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn admin(&self) -> String {
        users::accounts::bootstrap_admin(&self.db, "root@shop.example", PASSWORD)
            .await
            .unwrap();
        let (_, body) = self
            .json(
                self.http
                    .post(self.server.url("/api/v1/auth/login"))
                    .json(&json!({ "email": "root@shop.example", "password": PASSWORD })),
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn close(self) {
        drop(self.server);
        self.background.stop().await;
        self.db.close().await.unwrap();
    }
}

fn new_book(isbn: &str) -> Value {
    json!({
        "isbn": isbn, "title": "A Test of Time", "authors": ["Ada Tester"], "publisher": "Test House",
        "format": "paperback", "genre": "Sci-Fi", "price": "12.50"
    })
}

/// Every operation the API documents, as (method, path template).
const OPERATIONS: [(&str, &str); 37] = [
    ("get", "/api/v1/auth/jwks.json"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/register"),
    ("get", "/api/v1/books"),
    ("post", "/api/v1/books"),
    ("get", "/api/v1/books/{id}"),
    ("delete", "/api/v1/books/{id}"),
    ("patch", "/api/v1/books/{id}"),
    ("post", "/api/v1/books/lookup"),
    ("get", "/api/v1/books/{id}/cover"),
    ("put", "/api/v1/books/{id}/cover"),
    ("delete", "/api/v1/books/{id}/cover"),
    ("get", "/api/v1/books/{id}/document"),
    ("put", "/api/v1/books/{id}/document"),
    ("delete", "/api/v1/books/{id}/document"),
    ("post", "/api/v1/books/{id}/summary"),
    ("put", "/api/v1/books/{id}/summary"),
    ("post", "/api/v1/inventory/reservations/batch"),
    ("post", "/api/v1/inventory/reservations/{order_id}/release"),
    ("get", "/api/v1/inventory/{book_id}"),
    ("put", "/api/v1/inventory/{book_id}"),
    ("post", "/api/v1/inventory/{book_id}/adjust"),
    ("get", "/api/v1/orders"),
    ("post", "/api/v1/orders"),
    ("get", "/api/v1/orders/pending"),
    ("get", "/api/v1/orders/bought"),
    ("get", "/api/v1/orders/{id}"),
    ("post", "/api/v1/orders/{id}/cancel"),
    ("get", "/api/v1/orders/{id}/status"),
    ("post", "/api/v1/orders/{id}/status"),
    ("post", "/api/v1/orders/statuses"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/users/me"),
    ("patch", "/api/v1/users/me"),
    ("patch", "/api/v1/users/{id}"),
];

/// A path template with every `{parameter}` replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                value
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

platform::backend_tests! {
    async fn a_customer_token_from_users_is_honoured_by_the_catalogue(db) {
        let shop = spawn(&db).await;
        let customer = shop.customer("reader@shop.example").await;
        let (status, me) = shop.json(shop.http.get(shop.server.url("/api/v1/users/me")).bearer_auth(&customer)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["role"], "customer");
        // The catalogue verifies the token (403, not 401) and refuses the customer the admin route.
        let (status, body) = shop
            .json(shop.http.post(shop.server.url("/api/v1/books")).bearer_auth(&customer).json(&new_book("9780306406157")))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["code"], "forbidden");
        let (status, _) = shop.json(shop.http.get(shop.server.url("/api/v1/users")).bearer_auth(&customer)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        shop.close().await;
    }

    async fn an_admin_token_from_users_manages_the_catalogue(db) {
        let shop = spawn(&db).await;
        let admin = shop.admin().await;
        let (status, book) = shop
            .json(shop.http.post(shop.server.url("/api/v1/books")).bearer_auth(&admin).json(&new_book("9780306406157")))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{book}");
        let (_, list) = shop.json(shop.http.get(shop.server.url("/api/v1/books?limit=1"))).await;
        assert_eq!(list["total"], 61);
        let (status, _) = shop
            .json(shop.http.delete(shop.server.url(&format!("/api/v1/books/{}", book["id"].as_str().unwrap()))).bearer_auth(&admin))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        shop.close().await;
    }

    async fn bad_input_never_yields_a_server_error(db) {
        let shop = spawn(&db).await;
        let admin = shop.admin().await;
        let huge = "9".repeat(400);
        let bodies: Vec<(&str, String)> = vec![
            ("application/json", "{".into()),
            ("application/json", "[]".into()),
            ("application/json", "null".into()),
            ("application/json", "\"\"".into()),
            ("application/json", "{}".into()),
            ("application/json", json!({ "email": "", "password": "", "title": "", "price": "", "isbn": "" }).to_string()),
            ("application/json", format!("{{\"price\": {huge}, \"authors\": {huge}, \"email\": {huge}, \"active\": {huge}}}")),
            ("application/json", json!({ "price": 1e308, "title": 12, "role": ["admin"], "active": "yes" }).to_string()),
            ("application/json", json!({ "title": "📚 Ünïcødé ∑ \u{0} \u{202e}", "email": "ü@ü.ü", "display_name": "\u{7}" }).to_string()),
            ("text/plain", "hello".into()),
            ("application/x-www-form-urlencoded", "email=a&password=b".into()),
        ];
        let ids = ["x", "%00", "..%2F..%2Fetc%2Fpasswd", &"9".repeat(300), "01a20898-0000-7000-8000-000000000000"];
        for (method, template) in OPERATIONS {
            for id in ids {
                let path = fill(template, id);
                for query in ["", "?limit=999999999999999999999&page=-1", "?sort=%FF&q=%00", "?min_price=1e999&in_stock=2"] {
                    for (content_type, body) in &bodies {
                        let url = shop.server.url(&format!("{path}{query}"));
                        let request = shop
                            .http
                            .request(method.parse().unwrap(), url)
                            .bearer_auth(&admin)
                            .header("content-type", *content_type)
                            .body(body.clone());
                        let response = request.send().await.unwrap();
                        let status = response.status();
                        assert!(status.as_u16() < 500, "{method} {path}{query} with {content_type} gave {status}: {}", response.text().await.unwrap());
                        if status.is_client_error() {
                            assert_eq!(response.headers()["content-type"], "application/problem+json", "{method} {path}{query}");
                        }
                    }
                    if !template.contains('{') { break; }
                }
                if !template.contains('{') { break; }
            }
        }
        shop.close().await;
    }
}

/// Sends only the head of a request announcing `length` body bytes and reads the answer, which
/// must come before the body is sent.
async fn answer_to_announced_body(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    length: usize,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: shop\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&answer[..read]).into_owned()
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413_before_being_read() {
    let db = TestDatabase::create(platform::testing::Backend::Sqlite)
        .await
        .unwrap();
    let shop = spawn(&db).await;
    let admin = shop.admin().await;
    for (method, path) in [
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/books"),
        ("PATCH", "/api/v1/users/me"),
    ] {
        let answer =
            answer_to_announced_body(shop.server.addr, method, path, &admin, 50 * 1024 * 1024)
                .await;
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "{method} {path}: {answer}"
        );
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(answer.contains("payload_too_large"), "{answer}");
    }
    shop.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_covers_every_route() {
    let db = TestDatabase::create(platform::testing::Backend::Sqlite)
        .await
        .unwrap();
    let shop = spawn(&db).await;
    let (status, doc) = shop
        .json(shop.http.get(shop.server.url("/api/v1/openapi.json")))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    documented.sort();
    let mut expected: Vec<(String, String)> = OPERATIONS
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);
    // Each documented operation is served (the fallback would answer "no such endpoint").
    for (method, path) in OPERATIONS {
        let response = shop
            .http
            .request(method.parse().unwrap(), shop.server.url(&fill(path, "x")))
            .send()
            .await
            .unwrap();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(
            body["detail"], "no such endpoint",
            "{method} {path} is documented but not routed"
        );
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    let docs = shop
        .http
        .get(shop.server.url("/api/v1/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    shop.close().await;
    db.drop_database().await;
}
