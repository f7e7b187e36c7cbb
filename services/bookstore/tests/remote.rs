//! The black-box suite over HTTP only: a shop that already runs, at the base URLs of
//! `BOOKSTORE_E2E_USERS_URL`, `BOOKSTORE_E2E_CATALOG_URL`, `BOOKSTORE_E2E_INVENTORY_URL`,
//! `BOOKSTORE_E2E_ORDERS_URL` and `BOOKSTORE_E2E_NOTIFICATIONS_URL`, with an admin account
//! (`BOOKSTORE_E2E_ADMIN_EMAIL`, `BOOKSTORE_E2E_ADMIN_PASSWORD`). `cargo xtask e2e` runs it
//! through port-forwards to the chart on kind.
//!
//! Without those variables each test starts the split components as local processes
//! (`support/cluster.rs`, which needs PostgreSQL and RabbitMQ on loopback) and runs the same
//! requests against them, so the suite itself is exercised by `cargo test`.
//!
//! Every test makes its own accounts and its own book, so tests run side by side, and again
//! against the same shop.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cluster::{Cluster, broker, log_in, place_order, register, send};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const COMPONENTS: [&str; 5] = ["users", "catalog", "inventory", "orders", "notifications"];
const PASSWORD: &str = "a long e2e passphrase";
/// How long an order may stay pending: a cluster on a laptop is slower than local processes.
const SETTLE: Duration = Duration::from_secs(90);

/// The shop under test: its components' base URLs and an admin's access token.
struct Shop {
    http: reqwest::Client,
    urls: HashMap<&'static str, String>,
    admin: String,
    /// The local processes, when no URLs were given.
    local: Option<Cluster>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn url_var(component: &str) -> String {
    format!("BOOKSTORE_E2E_{}_URL", component.to_uppercase())
}

impl Shop {
    /// The shop of the variables, or the local processes (`None` when their broker is missing
    /// and real backends are not required). Half a configuration is an error, not a fallback.
    async fn connect() -> Option<Self> {
        let mut names: Vec<String> = COMPONENTS.iter().map(|c| url_var(c)).collect();
        names.push("BOOKSTORE_E2E_ADMIN_EMAIL".into());
        names.push("BOOKSTORE_E2E_ADMIN_PASSWORD".into());
        let given: Vec<&String> = names.iter().filter(|n| var(n).is_some()).collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        if !given.is_empty() {
            let missing: Vec<&String> = names.iter().filter(|n| var(n).is_none()).collect();
            assert!(
                missing.is_empty(),
                "the suite against a running shop needs {missing:?} too"
            );
            let urls: HashMap<&'static str, String> = COMPONENTS
                .iter()
                .map(|c| {
                    (
                        *c,
                        var(&url_var(c)).unwrap().trim_end_matches('/').to_owned(),
                    )
                })
                .collect();
            let admin = log_in(
                &http,
                &urls["users"],
                &var("BOOKSTORE_E2E_ADMIN_EMAIL").unwrap(),
                &var("BOOKSTORE_E2E_ADMIN_PASSWORD").unwrap(),
            )
            .await;
            return Some(Self {
                http,
                urls,
                admin,
                local: None,
            });
        }
        let mut local = Cluster::start(broker().await?).await;
        local.spawn_gateway("notifications").await;
        let urls = COMPONENTS
            .iter()
            .map(|c| (*c, local.urls[c].clone()))
            .collect();
        Some(Self {
            http,
            urls,
            admin: local.admin.clone(),
            local: Some(local),
        })
    }

    async fn finish(self) {
        if let Some(local) = self.local {
            local.stop().await;
        }
    }

    async fn call(
        &self,
        method: Method,
        component: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        send(
            &self.http,
            method,
            format!("{}{path}", self.urls[component]),
            token,
            body,
        )
        .await
    }

    /// A new customer with an address of its own; returns the email and an access token.
    async fn customer(&self, name: &str) -> (String, String) {
        let email = format!("{name}-{}@shop.example", uuid::Uuid::new_v4().simple());
        let token = register(&self.http, &self.urls["users"], &email, PASSWORD).await;
        (email, token)
    }

    /// A new book, added by the admin, with `stock` units.
    async fn book(&self, stock: i64) -> String {
        let (status, book) = self
            .call(
                Method::POST,
                "catalog",
                "/api/v1/books",
                Some(&self.admin),
                Some(json!({
                    "isbn": unique_isbn(),
                    "title": "The End-to-End Test",
                    "authors": ["A. Tester"],
                    "publisher": "Loopback Press",
                    "format": "paperback",
                    "genre": "Mystery",
                    "price": "12.50",
                    "description": "A book made by the end-to-end suite.",
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{book}");
        let id = book["id"].as_str().unwrap().to_owned();
        let (status, body) = self.set_stock(&self.admin, &id, stock).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        id
    }

    async fn set_stock(&self, token: &str, book: &str, available: i64) -> (StatusCode, Value) {
        self.call(
            Method::PUT,
            "inventory",
            &format!("/api/v1/inventory/{book}"),
            Some(token),
            Some(json!({ "available": available })),
        )
        .await
    }

    async fn stock(&self, book: &str) -> i64 {
        let (status, body) = self
            .call(
                Method::GET,
                "inventory",
                &format!("/api/v1/inventory/{book}"),
                None,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["available"].as_i64().unwrap()
    }

    async fn place(
        &self,
        token: &str,
        book: &str,
        quantity: u32,
        key: Option<&str>,
    ) -> (StatusCode, Value) {
        place_order(&self.http, &self.urls["orders"], token, book, quantity, key).await
    }

    /// The order once it is no longer pending.
    async fn settled(&self, token: &str, id: &str) -> Value {
        let deadline = Instant::now() + SETTLE;
        loop {
            let (status, order) = self
                .call(
                    Method::GET,
                    "orders",
                    &format!("/api/v1/orders/{id}"),
                    Some(token),
                    None,
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{order}");
            if order["status"] != "pending" {
                return order;
            }
            assert!(
                Instant::now() < deadline,
                "order {id} still pending after {SETTLE:?}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A valid ISBN-13 that no other test uses.
fn unique_isbn() -> String {
    let random = uuid::Uuid::new_v4().as_u128();
    let digits: String = format!("978{:09}", random % 1_000_000_000);
    let sum: u32 = digits
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

#[test]
fn the_isbns_are_valid_and_distinct() {
    // 978-0-14-044913-6 (Crime and Punishment) by the same rule.
    let known = "978014044913";
    let sum: u32 = known
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    assert_eq!((10 - sum % 10) % 10, 6);
    let (a, b) = (unique_isbn(), unique_isbn());
    assert_eq!(a.len(), 13);
    assert!(a.starts_with("978") && a.chars().all(|c| c.is_ascii_digit()));
    assert_ne!(a, b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_component_is_ready_and_customers_register_and_log_in() {
    let Some(shop) = Shop::connect().await else {
        return;
    };
    for component in COMPONENTS {
        for probe in ["/healthz", "/readyz"] {
            let (status, body) = shop.call(Method::GET, component, probe, None, None).await;
            assert_eq!(status, StatusCode::OK, "{component}{probe}: {body}");
        }
    }
    let (email, registered) = shop.customer("signup").await;
    let token = log_in(&shop.http, &shop.urls["users"], &email, PASSWORD).await;
    for token in [&registered, &token] {
        let (status, me) = shop
            .call(Method::GET, "users", "/api/v1/users/me", Some(token), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["email"], email.as_str());
        assert_eq!(me["role"], "customer");
    }
    let (status, _) = shop
        .call(
            Method::POST,
            "users",
            "/api/v1/auth/login",
            None,
            Some(json!({ "email": email, "password": "not the passphrase" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = shop
        .call(Method::GET, "users", "/api/v1/users/me", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    shop.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_completes_and_takes_its_units_and_one_beyond_the_stock_fails() {
    let Some(shop) = Shop::connect().await else {
        return;
    };
    let book = shop.book(3).await;
    let (_, token) = shop.customer("buyer").await;
    let (status, placed) = shop.place(&token, &book, 2, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{placed}");
    assert_eq!(placed["status"], "pending");
    let order = shop.settled(&token, placed["id"].as_str().unwrap()).await;
    assert_eq!(order["status"], "completed", "{order}");
    assert_eq!(shop.stock(&book).await, 1);

    let (status, placed) = shop.place(&token, &book, 2, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{placed}");
    let order = shop.settled(&token, placed["id"].as_str().unwrap()).await;
    assert_eq!(order["status"], "failed", "{order}");
    assert_eq!(order["reason"], "out_of_stock", "{order}");
    assert_eq!(shop.stock(&book).await, 1, "a failed order takes nothing");
    shop.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_idempotency_key_places_one_order() {
    let Some(shop) = Shop::connect().await else {
        return;
    };
    let book = shop.book(10).await;
    let (_, token) = shop.customer("twice").await;
    let (first_status, first) = shop.place(&token, &book, 2, Some("e2e-same-key")).await;
    let (second_status, second) = shop.place(&token, &book, 2, Some("e2e-same-key")).await;
    assert_eq!(first_status, StatusCode::ACCEPTED, "{first}");
    assert_eq!(second_status, StatusCode::ACCEPTED, "{second}");
    assert_eq!(first["id"], second["id"]);
    let order = shop.settled(&token, first["id"].as_str().unwrap()).await;
    assert_eq!(order["status"], "completed", "{order}");
    let (status, list) = shop
        .call(Method::GET, "orders", "/api/v1/orders", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(shop.stock(&book).await, 8, "the units were taken once");
    shop.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_order_is_not_found_and_customers_cannot_set_stock() {
    let Some(shop) = Shop::connect().await else {
        return;
    };
    let book = shop.book(5).await;
    let (_, alice) = shop.customer("alice").await;
    let (_, bob) = shop.customer("bob").await;
    let (status, placed) = shop.place(&bob, &book, 1, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{placed}");
    let id = placed["id"].as_str().unwrap().to_owned();
    assert_eq!(shop.settled(&bob, &id).await["status"], "completed");

    for path in [
        format!("/api/v1/orders/{id}"),
        format!("/api/v1/orders/{id}/status"),
    ] {
        let (status, body) = shop
            .call(Method::GET, "orders", &path, Some(&alice), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = shop
        .call(
            Method::POST,
            "orders",
            &format!("/api/v1/orders/{id}/cancel"),
            Some(&alice),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, list) = shop
        .call(Method::GET, "orders", "/api/v1/orders", Some(&alice), None)
        .await;
    assert_eq!(list["total"], 0, "{list}");

    let (status, body) = shop.set_stock(&alice, &book, 1000).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = shop
        .call(
            Method::PUT,
            "inventory",
            &format!("/api/v1/inventory/{book}"),
            None,
            Some(json!({ "available": 1000 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(shop.stock(&book).await, 4);
    shop.finish().await;
}
