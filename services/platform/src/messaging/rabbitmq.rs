//! The RabbitMQ bus (lapin): one connection per process, re-established with back-off; a
//! confirm-mode channel for publishing and one channel per consumer; the topology declared on
//! every (re)connection. Retries go through per-tier delay queues, failures to the consumer's
//! dead-letter queue with their error, attempt count and first-failure time in headers.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions,
    BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, ExchangeDeclareOptions,
    ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions, QueueDeleteOptions,
    QueuePurgeOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

use super::topology::{ArgValue, ExchangeType, LeftBehind, Moved, Topology};
use super::{
    Bus, BusError, ConsumerSpec, DeadLetter, Delivery, Envelope, Handler, Listener,
    MessagingMetrics, Outcome, Settled,
};
use crate::readiness::Gate;
use crate::shutdown::ShutdownToken;

const H_SCHEMA_VERSION: &str = "schema-version";
const H_TRACEPARENT: &str = "traceparent";
/// The event's time to the microsecond (RFC 3339); the AMQP `timestamp` property has whole seconds.
const H_OCCURRED_AT: &str = "occurred-at";
const H_ATTEMPT: &str = "x-attempt";
const H_FIRST_FAILURE: &str = "x-first-failure-at";
const H_LAST_ERROR: &str = "x-last-error";
const H_ERROR: &str = "x-error";

/// Messages a subscription holds unacknowledged; they are handled one at a time, in order.
const SUBSCRIPTION_PREFETCH: u16 = 64;

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

/// What a subscription keeps from one session to the next.
struct Subscription {
    name: String,
    queue: String,
    bindings: Vec<String>,
    listener: Arc<dyn Listener>,
    live: Gate,
    /// Whether an earlier session declared the queue, so that finding it gone means a gap.
    declared: bool,
    reconnect: Reconnect,
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
        for left in self.0.topology.left_behind() {
            if let Err(err) = move_left_behind(&connection, &self.0.topology, &left).await {
                // Tried again on the next connection; the queues keep their messages meanwhile.
                tracing::warn!(queue = %left.main, error = %err, "Could not move a renamed consumer's queues.");
            }
        }
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

    /// Deletes every exchange and queue of the topology (test teardown, decommissioning).
    pub async fn delete_topology(&self) -> Result<(), BusError> {
        let channel = self.channel().await?;
        let declarations = self.0.topology.declarations();
        for queue in declarations.queues {
            channel
                .queue_delete(queue.name.into(), QueueDeleteOptions::default())
                .await
                .map_err(unavailable)?;
        }
        for exchange in declarations.exchanges {
            channel
                .exchange_delete(exchange.name.into(), ExchangeDeleteOptions::default())
                .await
                .map_err(unavailable)?;
        }
        let _ = channel.close(200, "topology deleted".into()).await;
        Ok(())
    }

    /// One consumer session: runs until shutdown (Ok) or until the connection fails (Err).
    async fn consume_once(
        &self,
        spec: &ConsumerSpec,
        handler: &Arc<dyn Handler>,
        shutdown: &mut ShutdownToken,
        reconnect: &mut Reconnect,
    ) -> Result<(), BusError> {
        let channel = self.channel().await?;
        let prefetch = u16::try_from(spec.concurrency.max(1)).unwrap_or(u16::MAX);
        self.0
            .metrics
            .consuming(&spec.name, spec.concurrency.max(1));
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let tag = format!("{}-{}", spec.name, uuid::Uuid::new_v4().simple());
        let mut consumer = channel
            .basic_consume(
                self.0.topology.queue(&spec.name).into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        reconnect.connected();
        let slots = Arc::new(Semaphore::new(spec.concurrency.max(1)));
        let mut in_flight = JoinSet::new();
        let result = loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                permit = slots.clone().acquire_owned() => permit.map_err(unavailable)?,
            };
            let next = tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                next = consumer.next() => next,
            };
            let delivery = match next {
                Some(Ok(delivery)) => delivery,
                Some(Err(err)) => break Err(unavailable(err)),
                None => {
                    break Err(BusError::Unavailable(
                        "the broker cancelled the consumer".into(),
                    ));
                }
            };
            let (bus, handler, spec) = (self.clone(), handler.clone(), spec.clone());
            in_flight.spawn(async move {
                bus.process(&spec, handler, delivery).await;
                drop(permit);
            });
            while in_flight.try_join_next().is_some() {}
        };
        if result.is_ok() {
            let _ = channel
                .basic_cancel(tag.as_str().into(), BasicCancelOptions::default())
                .await;
        }
        // Handlers already running finish and settle their messages; anything unacknowledged
        // when the channel closes goes back to the queue.
        while in_flight.join_next().await.is_some() {}
        let _ = channel.close(200, "consumer stopped".into()).await;
        result
    }

    /// One session of `subscription`: its queue declared and bound on the first session and
    /// found again on later ones (if it is gone, the listener is told that it missed messages,
    /// and a new one is declared). Consumed in order until shutdown (Ok, the queue deleted) or a
    /// lost connection (Err, the queue left to wait for the next session until it expires).
    async fn subscribe_once(
        &self,
        subscription: &mut Subscription,
        shutdown: &mut ShutdownToken,
    ) -> Result<(), BusError> {
        let Subscription {
            name,
            queue,
            bindings,
            listener,
            live,
            declared,
            reconnect,
        } = subscription;
        let (name, queue) = (name.as_str(), queue.as_str());
        let channel = self.channel().await?;
        let resumed = *declared && self.queue_exists(queue).await?;
        if !resumed {
            self.declare_subscription_queue(&channel, queue, bindings)
                .await?;
        }
        channel
            .basic_qos(SUBSCRIPTION_PREFETCH, BasicQosOptions::default())
            .await
            .map_err(unavailable)?;
        let mut consumer = channel
            .basic_consume(
                queue.into(),
                queue.into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        live.open();
        reconnect.connected();
        if *declared && !resumed {
            tracing::warn!(
                subscription = name,
                "The subscription's queue was gone when it came back: messages published meanwhile are missed."
            );
            self.0.metrics.missed(name);
            listener.missed().await;
        }
        *declared = true;
        let handler: Arc<dyn Handler> = listener.clone();
        let result = loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                next = consumer.next() => next,
            };
            let raw = match next {
                Some(Ok(raw)) => raw,
                Some(Err(err)) => break Err(unavailable(err)),
                None => {
                    break Err(BusError::Unavailable(
                        "the broker cancelled the subscription".into(),
                    ));
                }
            };
            match read_delivery(&raw) {
                Ok(delivery) => {
                    let envelope = delivery.envelope.clone();
                    let outcome =
                        super::handle_in_trace(handler.clone(), delivery, name, &self.0.metrics)
                            .await;
                    super::settle_subscribed(name, &envelope, &outcome, &self.0.metrics);
                }
                Err(err) => {
                    self.0.metrics.settled(name, Settled::Dropped);
                    tracing::warn!(subscription = name, error = %err, "Subscription dropped a malformed message.");
                }
            }
            if let Err(err) = raw.ack(BasicAckOptions::default()).await {
                break Err(unavailable(err));
            }
        };
        live.close();
        if result.is_ok() {
            // Stopped for good: nothing will come back for the queue.
            let _ = channel
                .queue_delete(queue.into(), QueueDeleteOptions::default())
                .await;
        }
        let _ = channel.close(200, "subscription stopped".into()).await;
        result
    }

    /// Declares a subscription's queue and binds it to the events exchange. Not exclusive and
    /// not auto-deleted, so that it outlives a lost connection; it expires once it has had no
    /// consumer for the bus's subscription expiry.
    async fn declare_subscription_queue(
        &self,
        channel: &Channel,
        queue: &str,
        bindings: &[String],
    ) -> Result<(), BusError> {
        let mut arguments = FieldTable::default();
        let expiry_ms = u64::try_from(self.0.subscription_expiry.as_millis()).unwrap_or(u64::MAX);
        arguments.insert(
            "x-expires".into(),
            AMQPValue::LongLongInt(i64::try_from(expiry_ms).unwrap_or(i64::MAX)),
        );
        channel
            .queue_declare(queue.into(), QueueDeclareOptions::default(), arguments)
            .await
            .map_err(unavailable)?;
        for binding in bindings {
            channel
                .queue_bind(
                    queue.into(),
                    self.0.topology.events_exchange().into(),
                    binding.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    /// Whether `queue` exists, asked on a channel of its own (the broker closes the channel of
    /// a passive declaration that finds nothing).
    async fn queue_exists(&self, queue: &str) -> Result<bool, BusError> {
        let channel = self.channel().await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..Default::default()
        };
        match channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
        {
            Ok(_) => {
                let _ = channel.close(200, "queue found".into()).await;
                Ok(true)
            }
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(unavailable(err)),
        }
    }

    /// Handles one delivery and settles it: ack, retry through a delay queue, or dead-letter.
    async fn process(
        &self,
        spec: &ConsumerSpec,
        handler: Arc<dyn Handler>,
        raw: lapin::message::Delivery,
    ) {
        let outcome = match read_delivery(&raw) {
            Ok(delivery) => {
                let attempt = delivery.attempt;
                let first_failure_at = delivery.first_failure_at;
                let outcome =
                    super::handle_in_trace(handler, delivery, &spec.name, &self.0.metrics).await;
                (outcome, attempt, first_failure_at)
            }
            Err(err) => (
                Outcome::Reject(format!("malformed message: {err}")),
                1,
                None,
            ),
        };
        let (outcome, attempt, first_failure_at) = outcome;
        let (settled, how) = match outcome {
            Outcome::Ack => (Ok(()), Settled::Ack),
            Outcome::Retry(error) if attempt < spec.retry.max_attempts => {
                let delay = spec.retry.delay_after(attempt);
                let queue = self.0.topology.retry_queue(&spec.name, delay);
                let mut headers = headers_of(&raw.properties);
                headers.insert(H_ATTEMPT.into(), AMQPValue::LongUInt(attempt + 1));
                headers.insert(
                    H_FIRST_FAILURE.into(),
                    string(&first_failure_at.unwrap_or_else(Utc::now).to_rfc3339()),
                );
                headers.insert(H_LAST_ERROR.into(), string(&truncate(&error)));
                let sent = self
                    .publish_raw(
                        "",
                        &queue,
                        raw.properties.clone().with_headers(headers),
                        &raw.data,
                    )
                    .await;
                (sent, Settled::Retry)
            }
            Outcome::Retry(error) | Outcome::Reject(error) => {
                tracing::warn!(consumer = %spec.name, message_id = ?raw.properties.message_id(), attempts = attempt, error = %error, "Message dead-lettered.");
                let mut headers = headers_of(&raw.properties);
                headers.insert(H_ATTEMPT.into(), AMQPValue::LongUInt(attempt));
                headers.insert(
                    H_FIRST_FAILURE.into(),
                    string(&first_failure_at.unwrap_or_else(Utc::now).to_rfc3339()),
                );
                headers.insert(H_ERROR.into(), string(&truncate(&error)));
                let exchange = self.0.topology.dead_letter_exchange();
                let sent = self
                    .publish_raw(
                        &exchange,
                        &spec.name,
                        raw.properties.clone().with_headers(headers),
                        &raw.data,
                    )
                    .await;
                (sent, Settled::DeadLetter)
            }
        };
        let result = match settled {
            Ok(()) => {
                self.0.metrics.settled(&spec.name, how);
                raw.ack(BasicAckOptions::default()).await
            }
            Err(err) => {
                // Could not hand the message on: give it back to the queue to be tried again.
                tracing::warn!(consumer = %spec.name, error = %err, "Could not settle a message; returning it to its queue.");
                raw.nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
            }
        };
        if let Err(err) = result {
            tracing::warn!(consumer = %spec.name, error = %err, "Acknowledgement failed; the broker will deliver the message again.");
        }
    }

    /// Takes up to `limit` messages from a queue, unacknowledged: the caller acks or returns them.
    async fn fetch(
        &self,
        channel: &Channel,
        queue: &str,
        limit: usize,
    ) -> Result<Vec<lapin::message::Delivery>, BusError> {
        let mut messages = Vec::new();
        while messages.len() < limit {
            match channel
                .basic_get(queue.into(), BasicGetOptions::default())
                .await
                .map_err(unavailable)?
            {
                Some(message) => messages.push(message.delivery),
                None => break,
            }
        }
        Ok(messages)
    }

    fn known(&self, consumer: &str) -> Result<(), BusError> {
        self.0
            .topology
            .consumer(consumer)
            .map(|_| ())
            .ok_or_else(|| BusError::UnknownConsumer(consumer.to_owned()))
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
        mut shutdown: ShutdownToken,
    ) -> Result<(), BusError> {
        let spec = self
            .0
            .topology
            .consumer(consumer)
            .cloned()
            .ok_or_else(|| BusError::UnknownConsumer(consumer.to_owned()))?;
        let mut reconnect = Reconnect::new();
        loop {
            match self
                .consume_once(&spec, &handler, &mut shutdown, &mut reconnect)
                .await
            {
                Ok(()) => return Ok(()),
                Err(err) => {
                    let wait = reconnect.failed();
                    tracing::warn!(consumer = %spec.name, error = %err, retry_in_ms = wait.as_millis() as u64, "Consumer lost the broker; reconnecting.");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    async fn subscribe(
        &self,
        name: &str,
        bindings: &[String],
        listener: Arc<dyn Listener>,
        live: Gate,
        mut shutdown: ShutdownToken,
    ) -> Result<(), BusError> {
        let mut subscription = Subscription {
            name: name.to_owned(),
            // One queue for the life of the subscription, found again after each reconnection.
            queue: self.0.topology.replica_queue(name),
            bindings: bindings.to_vec(),
            listener,
            live,
            declared: false,
            reconnect: Reconnect::new(),
        };
        loop {
            match self.subscribe_once(&mut subscription, &mut shutdown).await {
                Ok(()) => return Ok(()),
                Err(err) => {
                    let wait = subscription.reconnect.failed();
                    tracing::warn!(subscription = name, error = %err, retry_in_ms = wait.as_millis() as u64, "Subscription lost the broker; reconnecting.");
                    tokio::select! {
                        () = shutdown.cancelled() => return Ok(()),
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    }

    async fn dead_letters(
        &self,
        consumer: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let messages = self
            .fetch(
                &channel,
                &self.0.topology.dead_letter_queue(consumer),
                limit,
            )
            .await?;
        let letters = messages.iter().map(dead_letter_of).collect();
        if let Some(last) = messages.last() {
            let requeue = BasicNackOptions {
                multiple: true,
                requeue: true,
            };
            last.nack(requeue).await.map_err(unavailable)?;
        }
        let _ = channel.close(200, "listing done".into()).await;
        Ok(letters)
    }

    async fn dead_letter_count(&self, consumer: &str) -> Result<u64, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let queue = channel
            .queue_declare(
                self.0.topology.dead_letter_queue(consumer).into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "count done".into()).await;
        Ok(u64::from(queue.message_count()))
    }

    async fn redrive(&self, consumer: &str, limit: usize) -> Result<usize, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let messages = self
            .fetch(
                &channel,
                &self.0.topology.dead_letter_queue(consumer),
                limit,
            )
            .await?;
        let mut moved = 0;
        for message in &messages {
            // A fresh start: the failure history stays in the logs, not on the message.
            let mut headers = headers_of(&message.properties).inner().clone();
            for header in [
                H_ATTEMPT,
                H_FIRST_FAILURE,
                H_LAST_ERROR,
                H_ERROR,
                "x-death",
                "x-first-death-exchange",
                "x-first-death-queue",
                "x-first-death-reason",
                "x-last-death-exchange",
                "x-last-death-queue",
                "x-last-death-reason",
                "x-delivery-count",
            ] {
                headers.remove(&ShortString::from(header));
            }
            let properties = message
                .properties
                .clone()
                .with_headers(FieldTable::from(headers));
            self.publish_raw(
                "",
                &self.0.topology.queue(consumer),
                properties,
                &message.data,
            )
            .await?;
            message
                .ack(BasicAckOptions::default())
                .await
                .map_err(unavailable)?;
            moved += 1;
        }
        let _ = channel.close(200, "redrive done".into()).await;
        Ok(moved)
    }

    async fn purge_dead_letters(&self, consumer: &str) -> Result<u64, BusError> {
        self.known(consumer)?;
        let channel = self.channel().await?;
        let purged = channel
            .queue_purge(
                self.0.topology.dead_letter_queue(consumer).into(),
                QueuePurgeOptions::default(),
            )
            .await
            .map_err(unavailable)?;
        let _ = channel.close(200, "purge done".into()).await;
        Ok(u64::from(purged))
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

/// Declares the exchanges, queues and bindings of the topology (idempotent), exactly as
/// [`Topology::declarations`] lists them: the broker definitions are generated from the same list.
async fn declare(channel: &Channel, topology: &Topology) -> Result<(), BusError> {
    let declarations = topology.declarations();
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for exchange in &declarations.exchanges {
        let kind = match exchange.kind {
            ExchangeType::Topic => ExchangeKind::Topic,
            ExchangeType::Direct => ExchangeKind::Direct,
        };
        channel
            .exchange_declare(
                exchange.name.as_str().into(),
                kind,
                durable,
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
    let durable_queue = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    for queue in &declarations.queues {
        let mut args = FieldTable::default();
        for (key, value) in &queue.arguments {
            let value = match value {
                ArgValue::Str(text) => string(text),
                ArgValue::Int(number) => AMQPValue::LongUInt(*number),
            };
            args.insert((*key).into(), value);
        }
        channel
            .queue_declare(queue.name.as_str().into(), durable_queue, args)
            .await
            .map_err(unavailable)?;
    }
    for binding in &declarations.bindings {
        channel
            .queue_bind(
                binding.queue.as_str().into(),
                binding.exchange.as_str().into(),
                binding.routing_key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Moves a renamed consumer's queues to its successor's, unless a process of the earlier
/// version still consumes them (then they are left for a later connection). Each queue is
/// unbound so that nothing new arrives, each message it holds is republished to the destination
/// and confirmed before the original is acknowledged (never lost, at worst moved twice), and the
/// queue is deleted once it is empty.
async fn move_left_behind(
    connection: &Connection,
    topology: &Topology,
    left: &LeftBehind,
) -> Result<(), BusError> {
    match queue_counts(connection, &left.main).await? {
        None => return Ok(()),
        Some((_, consumers)) if consumers > 0 => {
            tracing::info!(queue = %left.main, consumers, "A renamed consumer's queue is still in use; it is moved once its readers have stopped.");
            return Ok(());
        }
        Some(_) => {}
    }
    for moved in &left.queues {
        move_queue(connection, topology, moved).await?;
    }
    Ok(())
}

/// The messages and consumers of `queue`, or `None` when it does not exist. A passive
/// declaration that finds nothing closes its channel, so it has one of its own.
async fn queue_counts(
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

/// Empties one queue into its destination and deletes it (quorum queues refuse a conditional
/// delete, so emptiness is checked just before; nothing can arrive any more once unbound).
async fn move_queue(
    connection: &Connection,
    topology: &Topology,
    moved: &Moved,
) -> Result<(), BusError> {
    if queue_counts(connection, &moved.queue).await?.is_none() {
        return Ok(());
    }
    let channel = connection.create_channel().await.map_err(unavailable)?;
    for routing_key in &moved.bindings {
        channel
            .queue_unbind(
                moved.queue.as_str().into(),
                topology.events_exchange().as_str().into(),
                routing_key.as_str().into(),
                FieldTable::default(),
            )
            .await
            .map_err(unavailable)?;
    }
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .map_err(unavailable)?;
    let mut count = 0_u64;
    while let Some(message) = channel
        .basic_get(moved.queue.as_str().into(), BasicGetOptions::default())
        .await
        .map_err(unavailable)?
    {
        let confirm = channel
            .basic_publish(
                "".into(),
                moved.destination.as_str().into(),
                BasicPublishOptions::default(),
                &message.data,
                message.properties.clone(),
            )
            .await
            .map_err(unavailable)?
            .await
            .map_err(unavailable)?;
        if !confirm.is_ack() {
            return Err(BusError::Refused(format!(
                "the broker did not confirm a message moved to {}",
                moved.destination
            )));
        }
        message
            .ack(BasicAckOptions::default())
            .await
            .map_err(unavailable)?;
        count += 1;
    }
    if queue_counts(connection, &moved.queue).await? == Some((0, 0)) {
        channel
            .queue_delete(moved.queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .map_err(unavailable)?;
    }
    let _ = channel.close(200, "renamed queue moved".into()).await;
    tracing::info!(queue = %moved.queue, destination = %moved.destination, moved = count, "Moved a renamed consumer's queue.");
    Ok(())
}

fn string(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value.to_owned()))
}

fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}

fn headers_of(properties: &BasicProperties) -> FieldTable {
    properties.headers().clone().unwrap_or_default()
}

fn header<'a>(headers: &'a FieldTable, name: &str) -> Option<&'a AMQPValue> {
    headers.inner().get(&ShortString::from(name))
}

fn header_string(headers: &FieldTable, name: &str) -> Option<String> {
    match header(headers, name)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

fn header_u32(headers: &FieldTable, name: &str) -> Option<u32> {
    match header(headers, name)? {
        AMQPValue::ShortShortUInt(n) => Some(u32::from(*n)),
        AMQPValue::ShortUInt(n) => Some(u32::from(*n)),
        AMQPValue::LongUInt(n) => Some(*n),
        AMQPValue::ShortShortInt(n) => u32::try_from(*n).ok(),
        AMQPValue::ShortInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongInt(n) => u32::try_from(*n).ok(),
        AMQPValue::LongLongInt(n) => u32::try_from(*n).ok(),
        _ => None,
    }
}

fn header_time(headers: &FieldTable, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&header_string(headers, name)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads an envelope and its delivery history from AMQP properties; a message without an id,
/// a type or a schema version is malformed.
fn read_delivery(raw: &lapin::message::Delivery) -> Result<Delivery, String> {
    let properties = &raw.properties;
    let headers = headers_of(properties);
    let id = properties
        .message_id()
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or("no message id")?;
    let kind = properties
        .kind()
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or("no message type")?;
    let schema_version = header_u32(&headers, H_SCHEMA_VERSION).ok_or("no schema version")?;
    let occurred_at = header_time(&headers, H_OCCURRED_AT)
        .or_else(|| {
            let secs = properties.timestamp().as_ref().copied()?;
            DateTime::from_timestamp(i64::try_from(secs).ok()?, 0)
        })
        .unwrap_or_else(Utc::now);
    Ok(Delivery {
        envelope: Envelope {
            id,
            kind,
            schema_version,
            occurred_at,
            traceparent: header_string(&headers, H_TRACEPARENT),
            payload: raw.data.clone(),
        },
        attempt: header_u32(&headers, H_ATTEMPT).unwrap_or(1).max(1),
        first_failure_at: header_time(&headers, H_FIRST_FAILURE),
        last_error: header_string(&headers, H_LAST_ERROR),
    })
}

/// A dead letter as listed: the envelope as far as it can be read, and why it is there. A
/// message the broker dead-lettered itself (delivery limit) has no `x-error` of ours.
fn dead_letter_of(raw: &lapin::message::Delivery) -> DeadLetter {
    let headers = headers_of(&raw.properties);
    let envelope = match read_delivery(raw) {
        Ok(delivery) => delivery.envelope,
        Err(_) => Envelope {
            id: raw
                .properties
                .message_id()
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            kind: raw
                .properties
                .kind()
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            schema_version: 0,
            occurred_at: Utc::now(),
            traceparent: None,
            payload: raw.data.clone(),
        },
    };
    DeadLetter {
        error: header_string(&headers, H_ERROR)
            .unwrap_or_else(|| "delivery limit exceeded: the consumer never settled it".into()),
        attempts: header_u32(&headers, H_ATTEMPT)
            .or_else(|| header_u32(&headers, "x-delivery-count"))
            .unwrap_or(1),
        first_failure_at: header_time(&headers, H_FIRST_FAILURE),
        envelope,
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
