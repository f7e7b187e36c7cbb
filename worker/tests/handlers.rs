//! The worker's handlers against stub inventory and orders services: what each answer of theirs
//! makes of a message (ack, retry or dead letter) and which calls follow.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use contracts::Line;
use contracts::events::{Event, OrderCancelled, OrderPlaced, OrderStatusChanged};
use contracts::orders::OrderStatus;
use platform::ErrorCode;
use platform::auth::ServiceToken;
use platform::messaging::{Delivery, Envelope, Handler, Outcome};
use worker::{OrderCancelledHandler, OrderPlacedHandler, WorkerConfig, WorkerMetrics};

/// What the stub services answer, and the calls they received.
#[derive(Clone)]
struct Stub {
    reservation: Arc<Mutex<(StatusCode, &'static str)>>,
    settle: Arc<Mutex<StatusCode>>,
    /// Each change answered as contended: a per-order 503 `unavailable` in a 200 answer.
    contended: Arc<Mutex<bool>>,
    delay: Arc<Mutex<Duration>>,
    calls: Arc<Mutex<Vec<String>>>,
}

/// Inventory's batch of reservations: one call recorded per request, with how many orders it
/// carried; every order answered with the configured status, except that an order whose id
/// ends in `-short` is always rejected (so answers can be told apart within a batch).
async fn reserve(
    State(stub): State<Stub>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let reservations = body["reservations"].as_array().unwrap().clone();
    stub.calls.lock().unwrap().push(format!(
        "reserve token={}{}",
        headers.contains_key("x-service-token"),
        if reservations.len() > 1 {
            format!(" orders={}", reservations.len())
        } else {
            String::new()
        }
    ));
    let delay = *stub.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let (status, reservation) = *stub.reservation.lock().unwrap();
    let results: Vec<serde_json::Value> = reservations
        .iter()
        .map(|r| {
            let order_id = r["order_id"].as_str().unwrap();
            let answer = if order_id.ends_with("-short") {
                "rejected"
            } else {
                reservation
            };
            serde_json::json!({
                "reservation": {"order_id": order_id, "status": answer, "reason": null, "lines": []},
                "problem": null,
            })
        })
        .collect();
    (
        status,
        serde_json::json!({ "results": results }).to_string(),
    )
}

async fn release(State(stub): State<Stub>, Path(id): Path<String>) -> StatusCode {
    stub.calls.lock().unwrap().push(format!("release {id}"));
    StatusCode::OK
}

/// The orders service's batch of status changes: one call recorded per order. The configured
/// status is the whole answer's when it is a server error, else each order's (as a problem,
/// with the code of that status, when it is not 200).
async fn settle(State(stub): State<Stub>, body: String) -> (StatusCode, String) {
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    let status = *stub.settle.lock().unwrap();
    let contended = *stub.contended.lock().unwrap();
    let mut results = Vec::new();
    for change in body["changes"].as_array().unwrap() {
        let id = change["order_id"].as_str().unwrap();
        stub.calls.lock().unwrap().push(format!(
            "settle {id} {} {}",
            change["status"].as_str().unwrap(),
            change["reason"]
        ));
        results.push(if contended {
            serde_json::json!({"order": null, "problem": problem(ErrorCode::Unavailable)})
        } else if status == StatusCode::OK {
            serde_json::json!({
                "order": {
                    "id": id,
                    "status": change["status"],
                    "reason": change["reason"],
                    "updated_at": chrono::Utc::now(),
                },
                "problem": null,
            })
        } else {
            serde_json::json!({"order": null, "problem": problem(ErrorCode::for_status(status))})
        });
    }
    if status.is_server_error() {
        return (status, String::new());
    }
    (
        StatusCode::OK,
        serde_json::json!({ "results": results }).to_string(),
    )
}

/// A problem as the services answer it.
fn problem(code: ErrorCode) -> serde_json::Value {
    serde_json::to_value(platform::ApiError::new(code, "stub").to_problem(None)).unwrap()
}

async fn start() -> (Stub, WorkerConfig) {
    let stub = Stub {
        reservation: Arc::new(Mutex::new((StatusCode::OK, "reserved"))),
        settle: Arc::new(Mutex::new(StatusCode::OK)),
        contended: Arc::new(Mutex::new(false)),
        delay: Arc::new(Mutex::new(Duration::ZERO)),
        calls: Arc::new(Mutex::new(Vec::new())),
    };
    let app = Router::new()
        .route("/api/v1/inventory/reservations/batch", post(reserve))
        .route("/api/v1/inventory/reservations/{id}/release", post(release))
        .route("/api/v1/orders/statuses", post(settle))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let config = WorkerConfig {
        inventory_url: base.clone(),
        orders_url: base,
        service_token: ServiceToken::generate(),
        request_timeout: Duration::from_millis(300),
    };
    (stub, config)
}

fn placed() -> Delivery {
    placed_order("o-1")
}

fn placed_order(order_id: &str) -> Delivery {
    let order = OrderPlaced {
        order_id: order_id.into(),
        user_id: "u-1".into(),
        lines: vec![Line {
            book_id: "b-1".into(),
            quantity: 2,
        }],
        placed_at: chrono::Utc::now(),
    };
    Delivery {
        envelope: order.envelope().unwrap(),
        attempt: 1,
        first_failure_at: None,
        last_error: None,
    }
}

fn placed_handler(config: WorkerConfig) -> OrderPlacedHandler {
    OrderPlacedHandler::new(
        config,
        WorkerMetrics::new(&platform::metrics::Metrics::new()),
    )
    .unwrap()
}

fn calls(stub: &Stub) -> Vec<String> {
    stub.calls.lock().unwrap().clone()
}

#[tokio::test]
async fn a_reserved_order_is_completed() {
    let (stub, config) = start().await;
    assert_eq!(placed_handler(config).handle(&placed()).await, Outcome::Ack);
    assert_eq!(
        calls(&stub),
        ["reserve token=true", "settle o-1 completed null"]
    );
}

#[tokio::test]
async fn an_order_short_of_stock_fails_with_out_of_stock_and_is_acknowledged() {
    let (stub, config) = start().await;
    *stub.reservation.lock().unwrap() = (StatusCode::OK, "rejected");
    assert_eq!(placed_handler(config).handle(&placed()).await, Outcome::Ack);
    assert_eq!(
        calls(&stub),
        ["reserve token=true", r#"settle o-1 failed "out_of_stock""#]
    );
}

#[tokio::test]
async fn an_order_cancelled_while_reserving_gets_its_stock_back() {
    let (stub, config) = start().await;
    *stub.settle.lock().unwrap() = StatusCode::CONFLICT;
    assert_eq!(placed_handler(config).handle(&placed()).await, Outcome::Ack);
    assert_eq!(
        calls(&stub),
        [
            "reserve token=true",
            "settle o-1 completed null",
            "release o-1"
        ]
    );
}

#[tokio::test]
async fn a_contended_settlement_is_retried_and_keeps_its_stock() {
    // Contention is transient: the order is still pending and its stock still reserved, so the
    // message comes back later. Releasing and acknowledging would strand the order as pending.
    let (stub, config) = start().await;
    *stub.contended.lock().unwrap() = true;
    let handler = placed_handler(config);
    assert!(
        matches!(handler.handle(&placed()).await, Outcome::Retry(e) if e.contains("unavailable"))
    );
    assert_eq!(
        calls(&stub),
        ["reserve token=true", "settle o-1 completed null"]
    );
    // The redelivery finds the reservation still there and settles the order.
    *stub.contended.lock().unwrap() = false;
    assert_eq!(handler.handle(&placed()).await, Outcome::Ack);
    assert!(!calls(&stub).iter().any(|call| call.starts_with("release")));
}

#[tokio::test]
async fn an_order_released_before_reservation_is_left_alone() {
    let (stub, config) = start().await;
    *stub.reservation.lock().unwrap() = (StatusCode::OK, "released");
    assert_eq!(placed_handler(config).handle(&placed()).await, Outcome::Ack);
    assert_eq!(calls(&stub), ["reserve token=true"]);
}

#[tokio::test]
async fn unavailable_or_slow_inventory_is_retried() {
    let (stub, config) = start().await;
    let handler = placed_handler(config.clone());
    *stub.reservation.lock().unwrap() = (StatusCode::SERVICE_UNAVAILABLE, "reserved");
    assert!(matches!(handler.handle(&placed()).await, Outcome::Retry(e) if e.contains("503")));
    *stub.reservation.lock().unwrap() = (StatusCode::TOO_MANY_REQUESTS, "reserved");
    assert!(matches!(handler.handle(&placed()).await, Outcome::Retry(_)));
    *stub.reservation.lock().unwrap() = (StatusCode::OK, "reserved");
    *stub.delay.lock().unwrap() = Duration::from_secs(2);
    assert!(
        matches!(handler.handle(&placed()).await, Outcome::Retry(_)),
        "a timeout is transient"
    );
    let unreachable = WorkerConfig {
        inventory_url: "http://127.0.0.1:9".into(),
        ..config
    };
    assert!(
        matches!(
            placed_handler(unreachable).handle(&placed()).await,
            Outcome::Retry(_)
        ),
        "a refused connection is transient"
    );
}

#[tokio::test]
async fn an_order_the_orders_service_refuses_is_dead_lettered() {
    let (stub, config) = start().await;
    *stub.settle.lock().unwrap() = StatusCode::NOT_FOUND;
    assert!(
        matches!(placed_handler(config).handle(&placed()).await, Outcome::Reject(e) if e.contains("o-1: 404"))
    );
}

#[tokio::test]
async fn an_unavailable_orders_service_is_retried() {
    let (stub, config) = start().await;
    *stub.settle.lock().unwrap() = StatusCode::SERVICE_UNAVAILABLE;
    assert!(
        matches!(placed_handler(config).handle(&placed()).await, Outcome::Retry(e) if e.contains("503"))
    );
}

#[tokio::test]
async fn messages_handled_at_once_share_requests_and_each_gets_its_own_answer() {
    let (stub, config) = start().await;
    // Slow answers let the messages that arrive meanwhile gather into the next request.
    *stub.delay.lock().unwrap() = Duration::from_millis(50);
    let handler = Arc::new(placed_handler(config));
    let mut handling = tokio::task::JoinSet::new();
    for i in 0..12 {
        let handler = handler.clone();
        let id = if i % 3 == 0 {
            format!("o-{i}-short")
        } else {
            format!("o-{i}")
        };
        handling.spawn(async move { handler.handle(&placed_order(&id)).await });
    }
    for outcome in handling.join_all().await {
        assert_eq!(outcome, Outcome::Ack);
    }
    let calls = calls(&stub);
    let requests = calls.iter().filter(|c| c.starts_with("reserve")).count();
    assert!(
        requests < 12,
        "12 messages went out in {requests} reservation requests: {calls:?}"
    );
    let mut settled: Vec<&str> = calls
        .iter()
        .filter(|c| c.starts_with("settle"))
        .map(String::as_str)
        .collect();
    settled.sort_unstable();
    let mut expected: Vec<String> = (0..12)
        .map(|i| {
            if i % 3 == 0 {
                format!(r#"settle o-{i}-short failed "out_of_stock""#)
            } else {
                format!("settle o-{i} completed null")
            }
        })
        .collect();
    expected.sort_unstable();
    assert_eq!(settled, expected);
}

#[tokio::test]
async fn a_refused_request_is_dead_lettered() {
    let (stub, config) = start().await;
    *stub.reservation.lock().unwrap() = (StatusCode::UNPROCESSABLE_ENTITY, "reserved");
    assert!(
        matches!(placed_handler(config).handle(&placed()).await, Outcome::Reject(e) if e.contains("422"))
    );
}

#[tokio::test]
async fn malformed_or_unknown_messages_are_dead_lettered_without_calls() {
    let (stub, config) = start().await;
    let handler = placed_handler(config);
    let mut garbage = placed();
    garbage.envelope.payload = b"{not json".to_vec();
    assert!(matches!(handler.handle(&garbage).await, Outcome::Reject(_)));
    let mut future_version = placed();
    future_version.envelope.schema_version = 99;
    assert!(
        matches!(handler.handle(&future_version).await, Outcome::Reject(e) if e.contains("v99"))
    );
    let wrong_kind = Delivery {
        envelope: Envelope::new("stock.changed", 1, &serde_json::json!({})).unwrap(),
        ..placed()
    };
    assert!(matches!(
        handler.handle(&wrong_kind).await,
        Outcome::Reject(_)
    ));
    assert!(calls(&stub).is_empty());
}

#[tokio::test]
async fn a_cancelled_order_releases_its_stock_and_status_changes_are_refused() {
    let (stub, config) = start().await;
    let handler = OrderCancelledHandler::new(
        config,
        WorkerMetrics::new(&platform::metrics::Metrics::new()),
    )
    .unwrap();
    // Not this consumer's kind: dead-lettered, nothing called.
    for status in [
        OrderStatus::Pending,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let change = OrderStatusChanged {
            order_id: "o-7".into(),
            user_id: "u-1".into(),
            status,
            reason: None,
            at: chrono::Utc::now(),
        };
        let delivery = Delivery {
            envelope: change.envelope().unwrap(),
            ..placed()
        };
        assert!(matches!(
            handler.handle(&delivery).await,
            Outcome::Reject(_)
        ));
    }
    assert!(calls(&stub).is_empty());
    let cancelled = OrderCancelled {
        order_id: "o-7".into(),
        user_id: "u-1".into(),
        reason: None,
        at: chrono::Utc::now(),
    };
    let delivery = Delivery {
        envelope: cancelled.envelope().unwrap(),
        ..placed()
    };
    assert_eq!(handler.handle(&delivery).await, Outcome::Ack);
    assert_eq!(calls(&stub), ["release o-7"]);
}
