//! The RabbitMQ bus (lapin): one connection per process, re-established with back-off; a
//! confirm-mode channel for publishing and one channel per consumer; the topology declared on
//! every (re)connection. Retries go through per-tier delay queues, failures to the consumer's
//! dead-letter queue with their error, attempt count and first-failure time in headers.

mod admin;
mod consume;
mod declare;
mod rename;
mod settle;

use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use tokio::sync::Mutex;

use super::topology::Topology;
use super::{Bus, BusError, DeadLetter, Envelope, Handler, Listener, MessagingMetrics};
use crate::readiness::Gate;
use crate::shutdown::ShutdownToken;
use declare::declare;

const H_SCHEMA_VERSION: &str = "schema-version";
const H_TRACEPARENT: &str = "traceparent";
/// The event's time to the microsecond (RFC 3339); the AMQP `timestamp` property has whole seconds.
const H_OCCURRED_AT: &str = "occurred-at";
const H_ATTEMPT: &str = "x-attempt";
const H_FIRST_FAILURE: &str = "x-first-failure-at";
const H_LAST_ERROR: &str = "x-last-error";
const H_ERROR: &str = "x-error";

/// How long a subscription's queue outlives its consumer by default: a subscription away for
/// longer (its process killed, or cut off from the broker) finds its queue gone and is told
/// that it missed messages. Long enough for broker blips and reconnection back-off, short
/// enough that the queue of a replica that never comes back does not pile up for long.
pub const SUBSCRIPTION_EXPIRY: Duration = Duration::from_secs(60);

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The wait before a consumer's or subscription's next reconnection attempt: it doubles with
/// each attempt that fails, up to [`MAX_BACKOFF`], and starts over once a session is set up, so a
/// blip after a long healthy run is retried at once rather than after the last outage's wait.
#[derive(Debug)]
struct Reconnect {
    next: Duration,
}

impl Reconnect {
    const FIRST: Duration = Duration::from_millis(200);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    /// A session is set up: the next outage starts from the first wait.
    fn connected(&mut self) {
        self.next = Self::FIRST;
    }

    /// A session failed or could not be set up: how long to wait before the next attempt.
    fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(MAX_BACKOFF);
        wait
    }
}

/// A bus on a RabbitMQ broker. Cloning shares the connection.
#[derive(Clone)]
pub struct RabbitBus(Arc<Inner>);

struct Inner {
    url: String,
    topology: Topology,
    connection: Mutex<Option<Arc<Connection>>>,
    publisher: Mutex<Option<Channel>>,
    metrics: MessagingMetrics,
    subscription_expiry: Duration,
}

fn unavailable(err: impl std::fmt::Display) -> BusError {
    BusError::Unavailable(err.to_string())
}

/// Whether the broker answered 404 NOT_FOUND (a queue or exchange that does not exist).
fn is_not_found(err: &lapin::Error) -> bool {
    matches!(err.kind(), lapin::ErrorKind::ProtocolError(amqp) if amqp.get_id() == 404)
}

impl RabbitBus {
    /// A bus for `url` (amqp://user:pass@host:port/vhost). Nothing is connected until first use,
    /// so a process can start while the broker is down.
    pub fn new(url: &str, topology: Topology) -> Self {
        let url = if url.contains("heartbeat=") {
            url.to_owned()
        } else {
            let separator = if url.contains('?') { '&' } else { '?' };
            // Heartbeats find dead connections (a NAT or proxy dropping idle ones) within a minute.
            format!("{url}{separator}heartbeat=30")
        };
        Self(Arc::new(Inner {
            url,
            topology,
            connection: Mutex::new(None),
            publisher: Mutex::new(None),
            metrics: MessagingMetrics::unregistered(),
            subscription_expiry: SUBSCRIPTION_EXPIRY,
        }))
    }

    /// A bus like this one (not connected yet) that records what it does in `metrics`.
    pub fn with_metrics(self, metrics: MessagingMetrics) -> Self {
        Self(Arc::new(Inner {
            url: self.0.url.clone(),
            topology: self.0.topology.clone(),
            connection: Mutex::new(None),
            publisher: Mutex::new(None),
            metrics,
            subscription_expiry: self.0.subscription_expiry,
        }))
    }

    /// A bus like this one (not connected yet) whose subscriptions' queues outlive a lost
    /// connection by `expiry` (at least a second).
    pub fn with_subscription_expiry(self, expiry: Duration) -> Self {
        Self(Arc::new(Inner {
            url: self.0.url.clone(),
            topology: self.0.topology.clone(),
            connection: Mutex::new(None),
            publisher: Mutex::new(None),
            metrics: self.0.metrics.clone(),
            subscription_expiry: expiry.max(Duration::from_secs(1)),
        }))
    }

    pub fn topology(&self) -> &Topology {
        &self.0.topology
    }

    /// The live connection, reconnecting (and redeclaring the topology) when it is gone.
    async fn connection(&self) -> Result<Arc<Connection>, BusError> {
        let mut slot = self.0.connection.lock().await;
        if let Some(connection) = slot.as_ref().filter(|c| c.status().connected()) {
            return Ok(connection.clone());
        }
        let properties = ConnectionProperties::default().with_connection_name("bookstore".into());
        let connection = Arc::new(
            Connection::connect(&self.0.url, properties)
                .await
                .map_err(unavailable)?,
        );
        let channel = connection.create_channel().await.map_err(unavailable)?;
        declare(&channel, &self.0.topology).await?;
        let _ = channel.close(200, "topology declared".into()).await;
        tracing::info!("Connected to the message broker.");
        *slot = Some(connection.clone());
        Ok(connection)
    }

    async fn channel(&self) -> Result<Channel, BusError> {
        self.connection()
            .await?
            .create_channel()
            .await
            .map_err(unavailable)
    }

    async fn publisher(&self) -> Result<Channel, BusError> {
        let mut slot = self.0.publisher.lock().await;
        if let Some(channel) = slot.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let channel = self.channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(unavailable)?;
        *slot = Some(channel.clone());
        Ok(channel)
    }

    /// Publishes and waits for the broker's confirm. Not `mandatory`: the topology declares every
    /// durable consumer's queue before anything is published, so a message no queue takes is one
    /// nobody needs (say, a status change while no notification gateway runs).
    async fn publish_raw(
        &self,
        exchange: &str,
        routing_key: &str,
        properties: BasicProperties,
        body: &[u8],
    ) -> Result<(), BusError> {
        let channel = self.publisher().await?;
        let confirm = channel
            .basic_publish(
                exchange.into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                body,
                properties,
            )
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        if confirm.is_ack() {
            Ok(())
        } else {
            Err(BusError::Refused(
                "the broker did not confirm the message".into(),
            ))
        }
    }

    /// Publishes a message exactly as given, bypassing the envelope (tests of malformed input).
    pub async fn publish_unchecked(
        &self,
        routing_key: &str,
        properties: BasicProperties,
        body: &[u8],
    ) -> Result<(), BusError> {
        self.publish_raw(
            &self.0.topology.events_exchange(),
            routing_key,
            properties,
            body,
        )
        .await
    }
}

#[async_trait::async_trait]
impl Bus for RabbitBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        let result = self
            .publish_raw(
                &self.0.topology.events_exchange(),
                &envelope.kind,
                properties_of(envelope),
                &envelope.payload,
            )
            .await;
        match &result {
            Ok(()) => self.0.metrics.published(&envelope.kind, 1),
            Err(_) => self.0.metrics.publish_failed(&envelope.kind),
        }
        result
    }

    /// Sends every message before waiting for the broker's confirms, so a batch costs about one
    /// round trip instead of one per message.
    async fn publish_all(&self, envelopes: &[Envelope]) -> Result<usize, BusError> {
        let channel = match self.publisher().await {
            Ok(channel) => channel,
            Err(err) => {
                if let Some(first) = envelopes.first() {
                    self.0.metrics.publish_failed(&first.kind);
                }
                return Err(err);
            }
        };
        let exchange = self.0.topology.events_exchange();
        let mut confirms = Vec::with_capacity(envelopes.len());
        let mut failure = None;
        for envelope in envelopes {
            let sent = channel
                .basic_publish(
                    exchange.as_str().into(),
                    envelope.kind.as_str().into(),
                    BasicPublishOptions::default(),
                    &envelope.payload,
                    properties_of(envelope),
                )
                .await;
            match sent {
                Ok(confirm) => confirms.push(confirm),
                Err(err) => {
                    failure = Some(unavailable(err));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        for confirm in confirms {
            match confirm.await {
                Ok(confirmation) if confirmation.is_ack() => confirmed += 1,
                Ok(_) => {
                    failure.get_or_insert(BusError::Refused(
                        "the broker did not confirm the message".into(),
                    ));
                    break;
                }
                Err(err) => {
                    failure.get_or_insert(unavailable(err));
                    break;
                }
            }
        }
        for envelope in &envelopes[..confirmed] {
            self.0.metrics.published(&envelope.kind, 1);
        }
        if failure.is_some()
            && let Some(envelope) = envelopes.get(confirmed)
        {
            self.0.metrics.publish_failed(&envelope.kind);
        }
        match failure {
            Some(err) if confirmed == 0 => Err(err),
            _ => Ok(confirmed),
        }
    }

    async fn consume(
        &self,
        consumer: &str,
        handler: Arc<dyn Handler>,
        shutdown: ShutdownToken,
    ) -> Result<(), BusError> {
        self.run_consumer(consumer, handler, shutdown).await
    }

    async fn subscribe(
        &self,
        name: &str,
        bindings: &[String],
        listener: Arc<dyn Listener>,
        live: Gate,
        shutdown: ShutdownToken,
    ) -> Result<(), BusError> {
        self.run_subscription(name, bindings, listener, live, shutdown)
            .await
    }

    async fn dead_letters(
        &self,
        consumer: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BusError> {
        self.list_dead_letters(consumer, limit).await
    }

    async fn dead_letter_count(&self, consumer: &str) -> Result<u64, BusError> {
        self.count_dead_letters(consumer).await
    }

    async fn redrive(&self, consumer: &str, limit: usize) -> Result<usize, BusError> {
        self.redrive_dead_letters(consumer, limit).await
    }

    async fn purge_dead_letters(&self, consumer: &str) -> Result<u64, BusError> {
        self.purge_dead_letter_queue(consumer).await
    }
}

/// The AMQP properties of an envelope: id, type, time, persistence, schema version and trace.
fn properties_of(envelope: &Envelope) -> BasicProperties {
    let mut headers = FieldTable::default();
    headers.insert(
        H_SCHEMA_VERSION.into(),
        AMQPValue::LongUInt(envelope.schema_version),
    );
    if let Some(traceparent) = &envelope.traceparent {
        headers.insert(H_TRACEPARENT.into(), string(traceparent));
    }
    headers.insert(
        H_OCCURRED_AT.into(),
        string(
            &envelope
                .occurred_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ),
    );
    BasicProperties::default()
        .with_message_id(envelope.id.as_str().into())
        .with_type(envelope.kind.as_str().into())
        .with_timestamp(u64::try_from(envelope.occurred_at.timestamp()).unwrap_or_default())
        .with_content_type("application/json".into())
        .with_delivery_mode(2)
        .with_headers(headers)
}

fn string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_owned()))
}

/// The messages and consumers of `queue`, or `None` when it does not exist. A passive
/// declaration that finds nothing closes its channel, so it has one of its own.
pub(super) async fn queue_counts(
    connection: &Connection,
    queue: &str,
) -> Result<Option<(u32, u32)>, BusError> {
    let channel = connection.create_channel().await.map_err(unavailable)?;
    let passive = QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    match channel
        .queue_declare(queue.into(), passive, FieldTable::default())
        .await
    {
        Ok(found) => {
            let _ = channel.close(200, "queue counted".into()).await;
            Ok(Some((found.message_count(), found.consumer_count())))
        }
        Err(err) if is_not_found(&err) => Ok(None),
        Err(err) => Err(unavailable(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconnection_wait_doubles_while_attempts_fail_and_starts_over_once_connected() {
        let mut reconnect = Reconnect::new();
        let waits: Vec<u128> = (0..8).map(|_| reconnect.failed().as_millis()).collect();
        assert_eq!(waits, [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]);
        // A session was set up: the next outage is retried after the first wait again, however
        // long the last one lasted.
        reconnect.connected();
        assert_eq!(reconnect.failed(), Reconnect::FIRST);
        assert_eq!(reconnect.failed(), Reconnect::FIRST * 2);
        reconnect.connected();
        assert_eq!(reconnect.failed(), Reconnect::FIRST);
    }
}
