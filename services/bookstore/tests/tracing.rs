//! Distributed tracing across the split shop: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, every
//! component exports its spans over OTLP/HTTP to an in-process collector stub here, and an
//! order's trace runs from the request that placed it, through RabbitMQ, into the worker and the
//! calls it makes, under one trace id: the one the client got in `x-trace-id`.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use cluster::{Cluster, broker};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One exported span: the service that sent it and its OTLP fields.
#[derive(Debug, Clone)]
struct Span {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    /// Attribute values as OTLP/JSON writes them (`{"stringValue": ...}`, `{"intValue": ...}`).
    attributes: BTreeMap<String, Value>,
}

fn text_of(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// An OTLP/HTTP (JSON) trace receiver that keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

impl Collector {
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let spans = collector.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            post(move |body: axum::Json<Value>| {
                let spans = spans.clone();
                async move {
                    spans.receive(&body.0);
                    axum::Json(json!({}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (collector, url)
    }

    fn receive(&self, request: &Value) {
        let mut spans = self.0.lock().unwrap();
        for resource in request["resourceSpans"].as_array().into_iter().flatten() {
            let service = resource["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or_default()
                .to_owned();
            for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
                for span in scope["spans"].as_array().into_iter().flatten() {
                    let text = |field: &str| span[field].as_str().unwrap_or_default().to_owned();
                    spans.push(Span {
                        service: service.clone(),
                        name: text("name"),
                        trace_id: text("traceId").to_ascii_lowercase(),
                        span_id: text("spanId").to_ascii_lowercase(),
                        parent_span_id: text("parentSpanId").to_ascii_lowercase(),
                        attributes: span["attributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|a| (text_of(&a["key"]), a["value"].clone()))
                            .collect(),
                    });
                }
            }
        }
    }

    fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().clone()
    }

    /// Waits for a span of `service` named `name` in trace `trace_id`.
    async fn wait_for(&self, service: &str, name: &str, trace_id: &str) -> Span {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(span) = self
                .spans()
                .into_iter()
                .find(|s| s.service == service && s.name == name && s.trace_id == trace_id)
            {
                return span;
            }
            assert!(
                Instant::now() < deadline,
                "no span {name:?} from {service} in trace {trace_id}; received: {:#?}",
                self.spans()
                    .iter()
                    .map(|s| format!("{} {} {}", s.service, s.name, s.trace_id))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_orders_trace_runs_from_its_request_through_the_broker_into_the_worker() {
    let Some(broker) = broker().await else { return };
    let (collector, endpoint) = Collector::start().await;
    let cluster = Cluster::start_with(
        broker,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    )
    .await;
    let customer = cluster.customer("traced@shop.example").await;
    let book = cluster.book_with_stock(3).await;
    let response = cluster
        .http
        .post(cluster.url("orders", "/api/v1/orders"))
        .bearer_auth(&customer)
        .json(&json!({ "lines": [{ "book_id": book, "quantity": 1 }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let trace_id = response.headers()["x-trace-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let order: Value = response.json().await.unwrap();
    cluster
        .wait_status(
            &customer,
            order["id"].as_str().unwrap(),
            "completed",
            Duration::from_secs(30),
        )
        .await;

    // The request, named by its route; the worker's handling of the message it published; the
    // worker's batch call to inventory (a batch continues the trace of its first message, and
    // this order went alone), which continued the trace from the call's header.
    let request = collector
        .wait_for("bookstore-orders", "POST /api/v1/orders", &trace_id)
        .await;
    let handling = collector
        .wait_for("bookstore-worker", "order.placed process", &trace_id)
        .await;
    let reservation = collector
        .wait_for(
            "bookstore-inventory",
            "POST /api/v1/inventory/reservations/batch",
            &trace_id,
        )
        .await;
    assert!(
        request.parent_span_id.is_empty(),
        "the request starts the trace"
    );
    // The server span's attributes (OTLP/JSON writes 64-bit integers as strings).
    for (name, value) in [
        ("http.request.method", json!({"stringValue": "POST"})),
        ("url.path", json!({"stringValue": "/api/v1/orders"})),
        ("http.route", json!({"stringValue": "/api/v1/orders"})),
        ("http.response.status_code", json!({"intValue": "202"})),
    ] {
        assert_eq!(request.attributes.get(name), Some(&value), "{name}");
    }
    // The worker's span hangs under a span of the orders service (the one that wrote the event).
    let spans = collector.spans();
    let parent = spans
        .iter()
        .find(|s| s.span_id == handling.parent_span_id)
        .unwrap_or_else(|| panic!("the worker span's parent was not exported: {handling:?}"));
    assert_eq!(parent.service, "bookstore-orders");
    assert_eq!(parent.trace_id, trace_id);
    // Inventory's span hangs under the worker's batch span, itself under the handling.
    let caller = spans
        .iter()
        .find(|s| s.span_id == reservation.parent_span_id)
        .unwrap_or_else(|| panic!("the reservation's parent was not exported: {reservation:?}"));
    assert_eq!(caller.service, "bookstore-worker");
    assert_eq!(caller.name, "batch");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_callers_traceparent_is_continued_and_5xx_bodies_carry_the_trace_id() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let customer = cluster.customer("caller@shop.example").await;
    let incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let response = cluster
        .http
        .get(cluster.url("orders", "/api/v1/orders"))
        .bearer_auth(&customer)
        .header("traceparent", incoming)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["x-trace-id"],
        "0af7651916cd43dd8448eb211c80319c"
    );
    // Orders answers 503 while the catalogue is down; the problem names the trace to look for.
    let mut cluster = cluster;
    cluster.kill("catalog").await;
    let book = "01a208d5-0bd1-75e7-b7f5-8145b90295ae";
    let (status, body) = cluster.place(&customer, book, 1, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let trace_id = body["trace_id"].as_str().unwrap_or_default();
    assert_eq!(trace_id.len(), 32, "{body}");
    assert!(
        cluster.log("orders").contains(trace_id),
        "the orders log names the trace"
    );
    cluster.stop().await;
}
