//! The worker: turns placed orders into stock reservations and final statuses, returns the
//! stock of cancelled orders, and writes books' summaries (`summaries`). It talks to inventory
//! and orders over HTTP with the service token, reserving and settling the orders its concurrent
//! handlers hold in batches (`platform::batch`), and classifies every failure as transient
//! (retried with back-off) or permanent (dead-lettered).

pub mod summaries;

use std::time::Duration;

use contracts::OrderId;
use contracts::consumers::{ORDER_CANCELLED_WORKER, ORDER_PLACED_WORKER};
use contracts::events::{Event, OrderCancelled, OrderPlaced};
use contracts::inventory::{
    BatchAnswer, BatchOutcome, OUT_OF_STOCK, ReservationBatch, ReservationRequest,
    ReservationStatus, ReservationView,
};
use contracts::orders::{
    MAX_STATUS_BATCH, OrderStatus, StatusBatch, StatusBatchAnswer, StatusChangeRequest,
    StatusOutcome,
};
use platform::auth::{SERVICE_TOKEN_HEADER, ServiceToken};
use platform::batch::{Batcher, Unanswered};
use platform::error::{ErrorCode, Problem};
use platform::messaging::{Delivery, Handler, Outcome};
use prometheus::{IntCounterVec, Opts};
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// A failed call: `Retry` for what may pass (timeouts, lost connections, 5xx, 408, 429, and a
/// per-order problem whose code is transient), `Reject` for what will not (any other answer the
/// call does not expect; the status call treats `conflict` as an answer: the order was
/// cancelled meanwhile).
#[derive(Debug, Clone)]
enum CallError {
    Retry(String),
    Reject(String),
}

impl From<Unanswered> for CallError {
    fn from(err: Unanswered) -> Self {
        Self::Retry(err.to_string())
    }
}

impl From<CallError> for Outcome {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Retry(message) => Outcome::Retry(message),
            CallError::Reject(message) => Outcome::Reject(message),
        }
    }
}

/// What a problem answered for one order of a batch makes of it: the worker goes by the
/// problem's `code`, never by its status number alone (a 409 `conflict` means the order cannot
/// take the status; contention is a 503 `unavailable`, to be tried again).
fn problem_error(problem: &Problem, url: &str, order_id: &OrderId) -> CallError {
    let described = format!(
        "POST {url}: order {order_id}: {} {} {}",
        problem.status,
        problem.code,
        problem.detail.as_deref().unwrap_or("")
    );
    match ErrorCode::parse(&problem.code) {
        Some(code) if code.is_transient() => CallError::Retry(described),
        _ => CallError::Reject(described),
    }
}

/// The status the worker gives an order.
struct Settlement {
    order_id: OrderId,
    status: OrderStatus,
    reason: Option<&'static str>,
}

/// Calls to inventory and orders, each failure already classified.
#[derive(Clone)]
struct Services {
    http: reqwest::Client,
    config: WorkerConfig,
}

impl Services {
    fn new(config: WorkerConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()?;
        Ok(Self { http, config })
    }

    /// POSTs `body`; a transport failure or an answer that may pass (5xx, 408, 429) is a
    /// `Retry`, any other answer is returned.
    async fn post(
        &self,
        url: &str,
        body: Option<&impl Serialize>,
    ) -> Result<(StatusCode, String), CallError> {
        let mut request = self
            .http
            .post(url)
            .header(SERVICE_TOKEN_HEADER, self.config.service_token.as_str());
        if let Some(body) = body {
            request = request.json(body);
        }
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

    /// POSTs a batch and reads its 200 answer; any other answer is a `Reject` of the batch.
    async fn post_batch<A: DeserializeOwned>(
        &self,
        url: &str,
        body: &impl Serialize,
    ) -> Result<A, CallError> {
        let (status, text) = self.post(url, Some(body)).await?;
        if status != StatusCode::OK {
            return Err(CallError::Reject(format!("POST {url}: {status}: {text}")));
        }
        serde_json::from_str(&text)
            .map_err(|err| CallError::Reject(format!("POST {url}: unreadable answer: {err}")))
    }

    /// Reserves the stock of several orders; each answer is the reservation's status.
    async fn reserve(
        &self,
        orders: Vec<OrderPlaced>,
    ) -> Result<Vec<Result<ReservationStatus, CallError>>, CallError> {
        let url = format!(
            "{}/api/v1/inventory/reservations/batch",
            self.config.inventory_url
        );
        let batch = ReservationBatch {
            reservations: Some(
                orders
                    .iter()
                    .map(|order| ReservationRequest::new(&order.order_id, &order.lines))
                    .collect(),
            ),
        };
        let answers: BatchAnswer = self.post_batch(&url, &batch).await?;
        Ok(orders
            .iter()
            .zip(answers.results)
            .map(|(order, outcome)| match outcome {
                BatchOutcome {
                    reservation: Some(ReservationView { status, .. }),
                    ..
                } => Ok(status),
                BatchOutcome {
                    problem: Some(problem),
                    ..
                } => Err(problem_error(&problem, &url, &order.order_id)),
                _ => Err(CallError::Reject(format!(
                    "POST {url}: order {}: neither a reservation nor a problem",
                    order.order_id
                ))),
            })
            .collect())
    }

    /// Gives several orders their final status. `Ok(false)` means the order can no longer take
    /// that status (`conflict`: it was cancelled meanwhile).
    async fn settle(
        &self,
        settlements: Vec<Settlement>,
    ) -> Result<Vec<Result<bool, CallError>>, CallError> {
        let url = format!("{}/api/v1/orders/statuses", self.config.orders_url);
        let batch = StatusBatch {
            changes: settlements
                .iter()
                .map(|s| StatusChangeRequest {
                    order_id: s.order_id.clone(),
                    status: s.status,
                    reason: s.reason.map(str::to_owned),
                })
                .collect(),
        };
        let answers: StatusBatchAnswer = self.post_batch(&url, &batch).await?;
        Ok(settlements
            .iter()
            .zip(answers.results)
            .map(|(settlement, outcome)| match outcome {
                StatusOutcome { order: Some(_), .. } => Ok(true),
                StatusOutcome {
                    problem: Some(problem),
                    ..
                } if problem.code == ErrorCode::Conflict.as_str() => Ok(false),
                StatusOutcome {
                    problem: Some(problem),
                    ..
                } => Err(problem_error(&problem, &url, &settlement.order_id)),
                _ => Err(CallError::Reject(format!(
                    "POST {url}: order {}: neither an order nor a problem",
                    settlement.order_id
                ))),
            })
            .collect())
    }

    async fn release(&self, order_id: &OrderId) -> Result<(), CallError> {
        let url = format!(
            "{}/api/v1/inventory/reservations/{order_id}/release",
            self.config.inventory_url
        );
        match self.post(&url, None::<&()>).await? {
            (StatusCode::OK, _) => Ok(()),
            (status, text) => Err(CallError::Reject(format!("POST {url}: {status}: {text}"))),
        }
    }
}

/// Reads an event of the expected kind and a schema version this worker understands.
fn read<E: Event>(delivery: &Delivery) -> Result<E, Outcome> {
    E::read(&delivery.envelope).map_err(Outcome::Reject)
}

/// `order.placed`: reserve the order's stock, then complete it, or fail it when stock is short.
/// The reservations and settlements of the messages handled at the same time go out in batches.
pub struct OrderPlacedHandler {
    services: Services,
    reservations: Batcher<OrderPlaced, ReservationStatus, CallError>,
    settlements: Batcher<Settlement, bool, CallError>,
    metrics: WorkerMetrics,
}

impl OrderPlacedHandler {
    /// Needs a Tokio runtime: it starts the tasks that send the batches.
    pub fn new(config: WorkerConfig, metrics: WorkerMetrics) -> Result<Self, reqwest::Error> {
        let services = Services::new(config)?;
        let reserving = services.clone();
        let settling = services.clone();
        Ok(Self {
            reservations: Batcher::start(
                "reservations",
                contracts::inventory::MAX_BATCH,
                move |orders| {
                    let services = reserving.clone();
                    async move { services.reserve(orders).await }
                },
            ),
            settlements: Batcher::start("settlements", MAX_STATUS_BATCH, move |settlements| {
                let services = settling.clone();
                async move { services.settle(settlements).await }
            }),
            services,
            metrics,
        })
    }

    async fn process(&self, order: OrderPlaced) -> Result<Outcome, CallError> {
        let order_id = order.order_id.clone();
        let reservation = self.reservations.call(order).await?;
        let (status, reason) = match reservation {
            ReservationStatus::Reserved => (OrderStatus::Completed, None),
            ReservationStatus::Rejected => (OrderStatus::Failed, Some(OUT_OF_STOCK)),
            // Released before we got here: the order was cancelled, nothing is left to do.
            ReservationStatus::Released => return Ok(Outcome::Ack),
        };
        let settled = self
            .settlements
            .call(Settlement {
                order_id: order_id.clone(),
                status,
                reason,
            })
            .await?;
        if !settled && status == OrderStatus::Completed {
            // The order was cancelled while we reserved: give the units back.
            self.services.release(&order_id).await?;
        }
        tracing::info!(order_id = %order_id, %status, settled, "Order processed.");
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
        self.metrics.record(ORDER_PLACED_WORKER, &outcome);
        outcome
    }
}

/// `order.cancelled`: return the stock of cancelled orders.
pub struct OrderCancelledHandler {
    services: Services,
    metrics: WorkerMetrics,
}

impl OrderCancelledHandler {
    pub fn new(config: WorkerConfig, metrics: WorkerMetrics) -> Result<Self, reqwest::Error> {
        Ok(Self {
            services: Services::new(config)?,
            metrics,
        })
    }
}

#[async_trait::async_trait]
impl Handler for OrderCancelledHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let outcome = match read::<OrderCancelled>(delivery) {
            Ok(cancelled) => match self.services.release(&cancelled.order_id).await {
                Ok(()) => Outcome::Ack,
                Err(err) => err.into(),
            },
            Err(outcome) => outcome,
        };
        self.metrics.record(ORDER_CANCELLED_WORKER, &outcome);
        outcome
    }
}
