//! The order worker: turns placed orders into stock reservations and final statuses, and
//! returns the stock of cancelled orders. It talks to inventory and orders over HTTP with the
//! service token, and classifies every failure as transient (retried with back-off) or
//! permanent (dead-lettered).

use std::time::Duration;

use platform::auth::{SERVICE_TOKEN_HEADER, ServiceToken};
use platform::events::{Event, LineRef, OrderCancelled, OrderPlaced, OrderStatusChanged};
use platform::messaging::{Delivery, Handler, Outcome};
use prometheus::{IntCounterVec, Opts};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

/// Where the worker finds the services it calls.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Base URL of the inventory service, e.g. `http://inventory:8080`.
    pub inventory_url: String,
    /// Base URL of the orders service.
    pub orders_url: String,
    pub service_token: ServiceToken,
    /// Longest a call to another service may take before it counts as a transient failure.
    pub request_timeout: Duration,
}

/// Outcomes of the worker's messages, for `/metrics`.
#[derive(Clone)]
pub struct WorkerMetrics {
    handled: IntCounterVec,
}

impl WorkerMetrics {
    pub fn new(metrics: &platform::metrics::Metrics) -> Self {
        let handled = platform::metrics::defined(IntCounterVec::new(
            Opts::new(
                "worker_messages_handled_total",
                "Messages handled by the worker, by consumer and outcome.",
            ),
            &["consumer", "outcome"],
        ));
        metrics.register(Box::new(handled.clone()));
        Self { handled }
    }

    fn record(&self, consumer: &str, outcome: &Outcome) {
        let label = match outcome {
            Outcome::Ack => "ack",
            Outcome::Retry(_) => "retry",
            Outcome::Reject(_) => "reject",
        };
        self.handled.with_label_values(&[consumer, label]).inc();
    }
}

/// Calls to inventory and orders, each failure already classified.
#[derive(Clone)]
struct Services {
    http: reqwest::Client,
    config: WorkerConfig,
}

/// A failed call: `Retry` for what may pass (timeouts, lost connections, 5xx, 408, 429),
/// `Reject` for what will not (any other answer the call does not expect; the status call
/// treats its 409 as an answer: the order was cancelled meanwhile).
enum CallError {
    Retry(String),
    Reject(String),
}

impl From<CallError> for Outcome {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Retry(message) => Outcome::Retry(message),
            CallError::Reject(message) => Outcome::Reject(message),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Reservation {
    status: String,
}

impl Services {
    fn new(config: WorkerConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()?;
        Ok(Self { http, config })
    }

    async fn post(
        &self,
        url: String,
        body: serde_json::Value,
    ) -> Result<(StatusCode, String), CallError> {
        let request = self
            .http
            .post(&url)
            .header(SERVICE_TOKEN_HEADER, self.config.service_token.as_str())
            .json(&body);
        let response = platform::telemetry::propagate(request)
            .send()
            .await
            .map_err(|err| CallError::Retry(format!("POST {url}: {err}")))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|err| CallError::Retry(format!("POST {url}: reading the answer: {err}")))?;
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            return Err(CallError::Retry(format!("POST {url}: {status}")));
        }
        Ok((status, text))
    }

    async fn reserve(&self, order: &OrderPlaced) -> Result<String, CallError> {
        let url = format!(
            "{}/api/v1/inventory/reservations",
            self.config.inventory_url
        );
        let (status, text) = self
            .post(
                url.clone(),
                json!({ "order_id": order.order_id, "lines": lines(&order.lines) }),
            )
            .await?;
        if status != StatusCode::OK {
            return Err(CallError::Reject(format!("POST {url}: {status}: {text}")));
        }
        let reservation: Reservation = serde_json::from_str(&text)
            .map_err(|err| CallError::Reject(format!("POST {url}: unreadable answer: {err}")))?;
        Ok(reservation.status)
    }

    async fn release(&self, order_id: &str) -> Result<(), CallError> {
        let url = format!(
            "{}/api/v1/inventory/reservations/{order_id}/release",
            self.config.inventory_url
        );
        match self.post(url.clone(), json!({})).await? {
            (StatusCode::OK, _) => Ok(()),
            (status, text) => Err(CallError::Reject(format!("POST {url}: {status}: {text}"))),
        }
    }

    /// Moves an order to `status`. `Ok(false)` means the order can no longer take that status
    /// (409: it was cancelled meanwhile).
    async fn settle(
        &self,
        order_id: &str,
        status: &str,
        reason: Option<&str>,
    ) -> Result<bool, CallError> {
        let url = format!("{}/api/v1/orders/{order_id}/status", self.config.orders_url);
        match self
            .post(url.clone(), json!({ "status": status, "reason": reason }))
            .await?
        {
            (StatusCode::OK, _) => Ok(true),
            (StatusCode::CONFLICT, _) => Ok(false),
            (status, text) => Err(CallError::Reject(format!("POST {url}: {status}: {text}"))),
        }
    }
}

fn lines(lines: &[LineRef]) -> serde_json::Value {
    serde_json::Value::Array(
        lines
            .iter()
            .map(|l| json!({ "book_id": l.book_id, "quantity": l.quantity }))
            .collect(),
    )
}

/// Reads an event of the expected kind and a schema version this worker understands.
fn read<E: Event>(delivery: &Delivery) -> Result<E, Outcome> {
    let envelope = &delivery.envelope;
    if envelope.kind != E::KIND || envelope.schema_version != E::VERSION {
        return Err(Outcome::Reject(format!(
            "expected {} v{}, got {} v{}",
            E::KIND,
            E::VERSION,
            envelope.kind,
            envelope.schema_version
        )));
    }
    envelope
        .decode()
        .map_err(|err| Outcome::Reject(format!("unreadable {} payload: {err}", E::KIND)))
}

/// `order.placed`: reserve the order's stock, then complete it, or fail it when stock is short.
pub struct OrderPlacedHandler {
    services: Services,
    metrics: WorkerMetrics,
}

impl OrderPlacedHandler {
    pub fn new(config: WorkerConfig, metrics: WorkerMetrics) -> Result<Self, reqwest::Error> {
        Ok(Self {
            services: Services::new(config)?,
            metrics,
        })
    }

    async fn process(&self, order: OrderPlaced) -> Result<Outcome, CallError> {
        let reservation = self.services.reserve(&order).await?;
        let (status, reason) = match reservation.as_str() {
            "reserved" => ("completed", None),
            "rejected" => ("failed", Some("out_of_stock")),
            // Released before we got here: the order was cancelled, nothing is left to do.
            "released" => return Ok(Outcome::Ack),
            other => {
                return Err(CallError::Reject(format!(
                    "unknown reservation status {other:?}"
                )));
            }
        };
        let settled = self
            .services
            .settle(&order.order_id, status, reason)
            .await?;
        if !settled && status == "completed" {
            // The order was cancelled while we reserved: give the units back.
            self.services.release(&order.order_id).await?;
        }
        tracing::info!(order_id = %order.order_id, status, settled, "Order processed.");
        Ok(Outcome::Ack)
    }
}

#[async_trait::async_trait]
impl Handler for OrderPlacedHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let outcome = match read::<OrderPlaced>(delivery) {
            Ok(order) => self.process(order).await.unwrap_or_else(Outcome::from),
            Err(outcome) => outcome,
        };
        self.metrics
            .record(platform::messaging::topology::ORDER_WORKER, &outcome);
        outcome
    }
}

/// `order.cancelled`: return the stock of cancelled orders.
pub struct OrderStatusHandler {
    services: Services,
    metrics: WorkerMetrics,
}

impl OrderStatusHandler {
    pub fn new(config: WorkerConfig, metrics: WorkerMetrics) -> Result<Self, reqwest::Error> {
        Ok(Self {
            services: Services::new(config)?,
            metrics,
        })
    }
}

#[async_trait::async_trait]
impl Handler for OrderStatusHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        // A queue declared by an earlier version may still be bound to every status change:
        // those are not this consumer's business.
        if delivery.envelope.kind == OrderStatusChanged::KIND {
            return Outcome::Ack;
        }
        let outcome = match read::<OrderCancelled>(delivery) {
            Ok(cancelled) => match self.services.release(&cancelled.order_id).await {
                Ok(()) => Outcome::Ack,
                Err(err) => err.into(),
            },
            Err(outcome) => outcome,
        };
        self.metrics
            .record(platform::messaging::topology::ORDER_STATUS_WORKER, &outcome);
        outcome
    }
}
