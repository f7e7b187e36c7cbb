//! Messaging: the envelope every message travels in, the consumer contract (at-least-once
//! delivery, retries with back-off through delay tiers, a dead-letter queue per consumer), and
//! the bus trait with its two implementations: RabbitMQ and an in-process bus for
//! `bookstore all`.

mod event;
pub mod memory;
pub mod rabbitmq;
pub mod topology;

pub use event::Event;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::readiness::Gate;
use crate::shutdown::ShutdownToken;

/// A message with the metadata every consumer relies on.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Unique per message; consumers use it to ignore duplicates.
    pub id: String,
    /// What happened, e.g. `order.placed`; also the routing key.
    pub kind: String,
    /// Version of the payload's schema, so consumers can read old and new shapes.
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    /// W3C trace context of the code that produced the message.
    pub traceparent: Option<String>,
    /// The payload, JSON.
    pub payload: Vec<u8>,
}

impl Envelope {
    /// A new message of `kind` carrying `payload`, in the current trace.
    pub fn new<T: Serialize>(
        kind: &str,
        schema_version: u32,
        payload: &T,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_owned(),
            schema_version,
            occurred_at: Utc::now(),
            traceparent: crate::telemetry::current_traceparent(),
            payload: serde_json::to_vec(payload)?,
        })
    }

    /// Reads the payload as `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.payload)
    }
}

/// A message handed to a consumer, with its delivery history.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub envelope: Envelope,
    /// 1 on the first delivery, then one more per retry.
    pub attempt: u32,
    /// When the message first failed, if it has.
    pub first_failure_at: Option<DateTime<Utc>>,
    /// The error of the previous attempt, if any.
    pub last_error: Option<String>,
}

/// What a handler decided about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done (including business outcomes such as "out of stock"): remove the message.
    Ack,
    /// A transient failure: try again later, after the next back-off delay.
    Retry(String),
    /// A permanent failure (the message can never succeed): straight to the dead-letter queue.
    Reject(String),
}

/// Processes messages of one consumer. Must be idempotent: delivery is at least once.
#[async_trait::async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, delivery: &Delivery) -> Outcome;
}

/// Processes the messages of a subscription, and is told when some may have been missed.
#[async_trait::async_trait]
pub trait Listener: Handler {
    /// Messages published while the subscription was away may never arrive: its queue was gone
    /// when it came back (it outlived its expiry, or the broker restarted). Called once the new
    /// queue is bound, so that everything published from then on arrives; what the listener
    /// derives from the messages should be read afresh from their source.
    async fn missed(&self);
}

/// Back-off for transient failures: attempt `n` failing waits `delays[n-1]` (the last delay
/// repeats), and a message failing `max_attempts` times goes to the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub delays: Vec<Duration>,
    pub max_attempts: u32,
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let index = (attempt.max(1) as usize - 1).min(self.delays.len().saturating_sub(1));
        self.delays
            .get(index)
            .copied()
            .unwrap_or(Duration::from_secs(1))
    }

    /// The distinct delays, each of which is one delay tier (queue) on RabbitMQ.
    pub fn tiers(&self) -> Vec<Duration> {
        let mut tiers = self.delays.clone();
        tiers.sort();
        tiers.dedup();
        tiers
    }
}

impl Default for RetryPolicy {
    /// 1 s, 5 s, 30 s, 2 min, then 2 min again, for 8 attempts in all (about 9 minutes).
    fn default() -> Self {
        Self {
            delays: [1, 5, 30, 120].map(Duration::from_secs).to_vec(),
            max_attempts: 8,
        }
    }
}

/// One consumer: its queue name, the message kinds it subscribes to, and how it retries.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    /// Queue name, also used for its retry and dead-letter queues.
    pub name: String,
    /// Routing-key patterns (`order.placed`, `stock.*`, `order.#`).
    pub bindings: Vec<String>,
    pub retry: RetryPolicy,
    /// Messages handled at once by one process.
    pub concurrency: usize,
}

/// A message that reached the dead-letter queue, with why and when.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    pub envelope: Envelope,
    pub error: String,
    pub attempts: u32,
    pub first_failure_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("message broker unavailable: {0}")]
    Unavailable(String),
    #[error("the broker refused the message: {0}")]
    Refused(String),
    #[error("unknown consumer {0:?}")]
    UnknownConsumer(String),
}

/// A message bus with at-least-once delivery, retries and dead letters.
#[async_trait::async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes and returns once the bus has taken responsibility for the message (publisher
    /// confirm on RabbitMQ).
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError>;

    /// Publishes several messages, in order, and returns how many from the start were taken (all,
    /// unless one failed: those after it are not sent). Implementations may pipeline them.
    async fn publish_all(&self, envelopes: &[Envelope]) -> Result<usize, BusError> {
        for (sent, envelope) in envelopes.iter().enumerate() {
            if let Err(err) = self.publish(envelope).await {
                return if sent == 0 { Err(err) } else { Ok(sent) };
            }
        }
        Ok(envelopes.len())
    }

    /// Consumes for the topology's consumer `consumer` until `shutdown`, then lets in-flight
    /// messages finish. Survives broker outages by reconnecting with back-off.
    async fn consume(
        &self,
        consumer: &str,
        handler: Arc<dyn Handler>,
        shutdown: ShutdownToken,
    ) -> Result<(), BusError>;

    /// Receives every message matching `bindings` published while it runs, through a queue of
    /// its own: each caller (each replica of a process) gets its own copy, which is how live
    /// notifications reach every gateway. No retries and no dead letters: a message its
    /// handler does not ack is dropped. The queue outlives a lost connection for a while (on
    /// RabbitMQ, the bus's subscription expiry), so what is published during a broker blip
    /// arrives once the subscription is back, and a message in flight at the cut may arrive
    /// twice (deduplicate by envelope id). When the queue was gone by then, `listener.missed()`
    /// says so. Nothing published before the subscription first starts is received. `live`
    /// is open while messages can arrive. Reconnects with back-off until `shutdown`, and
    /// deletes its queue then.
    async fn subscribe(
        &self,
        name: &str,
        bindings: &[String],
        listener: Arc<dyn Listener>,
        live: Gate,
        shutdown: ShutdownToken,
    ) -> Result<(), BusError>;

    /// Up to `limit` dead letters of a consumer, oldest first, left in place.
    async fn dead_letters(&self, consumer: &str, limit: usize)
    -> Result<Vec<DeadLetter>, BusError>;

    /// How many dead letters a consumer has.
    async fn dead_letter_count(&self, consumer: &str) -> Result<u64, BusError>;

    /// Moves up to `limit` dead letters back to the consumer's queue as fresh deliveries.
    async fn redrive(&self, consumer: &str, limit: usize) -> Result<usize, BusError>;

    /// Deletes every dead letter of a consumer.
    async fn purge_dead_letters(&self, consumer: &str) -> Result<u64, BusError>;
}

/// What the bus did, by message kind and by queue (a consumer's or a subscription's name).
#[derive(Clone)]
pub struct MessagingMetrics {
    published: IntCounterVec,
    publish_failures: IntCounterVec,
    consumed: IntCounterVec,
    handler_duration: HistogramVec,
    age: HistogramVec,
    in_flight: IntGaugeVec,
    concurrency: IntGaugeVec,
    gaps: IntCounterVec,
}

/// How a consumed message was settled, as `messages_consumed_total` counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Ack,
    Retry,
    DeadLetter,
    /// A subscription's handler did not accept it; subscriptions do not retry.
    Dropped,
}

impl Settled {
    fn label(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Retry => "retry",
            Self::DeadLetter => "dead_letter",
            Self::Dropped => "dropped",
        }
    }
}

impl MessagingMetrics {
    /// The metrics, registered in the process's registry.
    pub fn new(registry: &crate::metrics::Metrics) -> Self {
        let metrics = Self::unregistered();
        registry.register(Box::new(metrics.published.clone()));
        registry.register(Box::new(metrics.publish_failures.clone()));
        registry.register(Box::new(metrics.consumed.clone()));
        registry.register(Box::new(metrics.handler_duration.clone()));
        registry.register(Box::new(metrics.age.clone()));
        registry.register(Box::new(metrics.in_flight.clone()));
        registry.register(Box::new(metrics.concurrency.clone()));
        registry.register(Box::new(metrics.gaps.clone()));
        metrics
    }

    /// The same metrics, counted but exported nowhere (tools, tests).
    pub fn unregistered() -> Self {
        use crate::metrics::defined;
        Self {
            published: defined(IntCounterVec::new(
                Opts::new(
                    "messages_published_total",
                    "Messages the broker took (confirmed), by kind.",
                ),
                &["kind"],
            )),
            publish_failures: defined(IntCounterVec::new(
                Opts::new(
                    "messages_publish_failures_total",
                    "Messages that could not be published, by kind.",
                ),
                &["kind"],
            )),
            consumed: defined(IntCounterVec::new(
                Opts::new(
                    "messages_consumed_total",
                    "Messages handled, by queue and how they were settled (ack, retry, dead_letter, dropped).",
                ),
                &["queue", "outcome"],
            )),
            handler_duration: defined(HistogramVec::new(
                HistogramOpts::new(
                    "message_handler_duration_seconds",
                    "Time a handler took over one message, by queue.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ]),
                &["queue"],
            )),
            age: defined(HistogramVec::new(
                HistogramOpts::new(
                    "message_age_seconds",
                    "Time from an event's occurrence (its envelope's time, on the producer's clock) to a handler starting on it, by queue: the outbox, the relay and the broker together.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0,
                ]),
                &["queue"],
            )),
            in_flight: defined(IntGaugeVec::new(
                Opts::new(
                    "messages_in_flight",
                    "Messages being handled now, by queue.",
                ),
                &["queue"],
            )),
            gaps: defined(IntCounterVec::new(
                Opts::new(
                    "subscription_gaps_total",
                    "Times a subscription came back to find its queue gone, so that messages published meanwhile were missed, by subscription.",
                ),
                &["queue"],
            )),
            concurrency: defined(IntGaugeVec::new(
                Opts::new(
                    "consumer_concurrency",
                    "Messages one process may handle at once, by queue.",
                ),
                &["queue"],
            )),
        }
    }

    pub(crate) fn published(&self, kind: &str, count: usize) {
        self.published
            .with_label_values(&[kind])
            .inc_by(count as u64);
    }

    pub(crate) fn publish_failed(&self, kind: &str) {
        self.publish_failures.with_label_values(&[kind]).inc();
    }

    pub(crate) fn settled(&self, queue: &str, settled: Settled) {
        self.consumed
            .with_label_values(&[queue, settled.label()])
            .inc();
    }

    pub(crate) fn missed(&self, subscription: &str) {
        self.gaps.with_label_values(&[subscription]).inc();
    }

    pub(crate) fn consuming(&self, queue: &str, concurrency: usize) {
        self.concurrency
            .with_label_values(&[queue])
            .set(i64::try_from(concurrency).unwrap_or(i64::MAX));
    }
}

/// Runs a handler on one delivery inside the trace of the message's producer (so its logs and
/// outgoing calls carry the same trace id), in a span naming the message, timed and counted as
/// in flight for `queue`. A panic counts as a transient failure, as a crashed consumer would on
/// a broker: the message comes again.
pub(crate) async fn handle_in_trace(
    handler: Arc<dyn Handler>,
    delivery: Delivery,
    queue: &str,
    metrics: &MessagingMetrics,
) -> Outcome {
    let age = (chrono::Utc::now() - delivery.envelope.occurred_at)
        .to_std()
        .unwrap_or_default();
    metrics
        .age
        .with_label_values(&[queue])
        .observe(age.as_secs_f64());
    let in_flight = metrics.in_flight.with_label_values(&[queue]);
    in_flight.inc();
    let timer = metrics
        .handler_duration
        .with_label_values(&[queue])
        .start_timer();
    let outcome = run_in_trace(handler, delivery).await;
    timer.observe_duration();
    in_flight.dec();
    outcome
}

async fn run_in_trace(handler: Arc<dyn Handler>, delivery: Delivery) -> Outcome {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "message",
        kind = %delivery.envelope.kind,
        message_id = %delivery.envelope.id,
        attempt = delivery.attempt,
        trace_id = tracing::field::Empty,
        otel.name = %format!("{} process", delivery.envelope.kind),
        otel.kind = "consumer",
        messaging.operation.type = "process",
        messaging.message.id = %delivery.envelope.id,
    );
    // The producer's span (the request that wrote the event) is this span's parent.
    let trace_id =
        crate::telemetry::continue_trace(&span, delivery.envelope.traceparent.as_deref());
    span.record("trace_id", trace_id.as_str());
    let run = async move { handler.handle(&delivery).await }.instrument(span);
    match tokio::spawn(crate::telemetry::with_trace_id(trace_id, run)).await {
        Ok(outcome) => outcome,
        Err(err) => Outcome::Retry(format!("handler panicked: {err}")),
    }
}

/// Counts a subscription's message, and logs it when its handler did not ack it: subscriptions
/// have no retries, so the message is dropped.
pub(crate) fn settle_subscribed(
    subscription: &str,
    envelope: &Envelope,
    outcome: &Outcome,
    metrics: &MessagingMetrics,
) {
    match outcome {
        Outcome::Ack => metrics.settled(subscription, Settled::Ack),
        Outcome::Retry(error) | Outcome::Reject(error) => {
            metrics.settled(subscription, Settled::Dropped);
            tracing::warn!(subscription, message_id = %envelope.id, kind = %envelope.kind, error = %error, "Subscription dropped a message its handler did not accept.");
        }
    }
}

/// Publishes each consumer's dead-letter count as `dead_letter_messages{consumer}` every
/// `interval`, until shutdown.
pub async fn watch_dead_letters(
    bus: Arc<dyn Bus>,
    consumers: Vec<String>,
    metrics: &crate::metrics::Metrics,
    interval: Duration,
    mut shutdown: ShutdownToken,
) {
    let gauge = crate::metrics::defined(IntGaugeVec::new(
        Opts::new(
            "dead_letter_messages",
            "Messages in each consumer's dead-letter queue.",
        ),
        &["consumer"],
    ));
    metrics.register(Box::new(gauge.clone()));
    loop {
        for consumer in &consumers {
            match bus.dead_letter_count(consumer).await {
                Ok(count) => gauge
                    .with_label_values(&[consumer.as_str()])
                    .set(i64::try_from(count).unwrap_or(i64::MAX)),
                Err(err) => {
                    tracing::debug!(consumer, error = %err, "Cannot count dead letters now.")
                }
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Whether an AMQP topic pattern (`*` one word, `#` zero or more) matches a routing key.
pub fn topic_matches(pattern: &str, key: &str) -> bool {
    fn go(pattern: &[&str], key: &[&str]) -> bool {
        match (pattern.first(), key.first()) {
            (None, None) => true,
            (Some(&"#"), _) => {
                go(&pattern[1..], key) || (!key.is_empty() && go(pattern, &key[1..]))
            }
            (Some(&"*"), Some(_)) => go(&pattern[1..], &key[1..]),
            (Some(p), Some(k)) if p == k => go(&pattern[1..], &key[1..]),
            _ => false,
        }
    }
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = key.split('.').collect();
    go(&pattern, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns() {
        assert!(topic_matches("order.placed", "order.placed"));
        assert!(!topic_matches("order.placed", "order.status_changed"));
        assert!(topic_matches("order.*", "order.placed"));
        assert!(!topic_matches("order.*", "order.placed.v2"));
        assert!(topic_matches("order.#", "order.placed.v2"));
        assert!(topic_matches("order.#", "order"));
        assert!(topic_matches("#", "stock.changed"));
        assert!(!topic_matches("stock.*", "order.placed"));
    }

    #[test]
    fn retry_delays_grow_then_repeat() {
        let policy = RetryPolicy {
            delays: [1, 5, 30].map(Duration::from_secs).to_vec(),
            max_attempts: 6,
        };
        assert_eq!(policy.delay_after(1), Duration::from_secs(1));
        assert_eq!(policy.delay_after(2), Duration::from_secs(5));
        assert_eq!(policy.delay_after(3), Duration::from_secs(30));
        assert_eq!(policy.delay_after(5), Duration::from_secs(30));
        assert_eq!(policy.tiers().len(), 3);
    }
}
