//! Consuming: a consumer's sessions and a subscription's, reconnecting with back-off.

use std::sync::Arc;

use futures::StreamExt;
use lapin::Channel;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::rename::move_left_behind;
use super::settle::read_delivery;
use super::{RabbitBus, Reconnect, queue_counts, unavailable};
use crate::messaging::{BusError, ConsumerSpec, Handler, Listener, Settled};
use crate::readiness::Gate;
use crate::shutdown::ShutdownToken;

/// Messages a subscription holds unacknowledged; they are handled one at a time, in order.
const SUBSCRIPTION_PREFETCH: u16 = 64;

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

impl RabbitBus {
    /// Consumes for `consumer` until shutdown, one session after another with back-off between
    /// them ([`Bus::consume`](crate::messaging::Bus::consume)).
    pub(super) async fn run_consumer(
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

    /// One consumer session: runs until shutdown (Ok) or until the connection fails (Err).
    async fn consume_once(
        &self,
        spec: &ConsumerSpec,
        handler: &Arc<dyn Handler>,
        shutdown: &mut ShutdownToken,
        reconnect: &mut Reconnect,
    ) -> Result<(), BusError> {
        let connection = self.connection().await?;
        for left in self.0.topology.left_behind(&spec.name) {
            if let Err(err) = move_left_behind(&connection, &self.0.topology, &left).await {
                // Tried again when the consumer next starts; the old queues keep their messages.
                tracing::warn!(queue = %left.main, error = %err, "Could not move a renamed consumer's queues.");
            }
        }
        let channel = connection.create_channel().await.map_err(unavailable)?;
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

    /// Runs the subscription `name` until shutdown, one session after another with back-off
    /// between them ([`Bus::subscribe`](crate::messaging::Bus::subscribe)).
    pub(super) async fn run_subscription(
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
                    let outcome = crate::messaging::handle_in_trace(
                        handler.clone(),
                        delivery,
                        name,
                        &self.0.metrics,
                    )
                    .await;
                    crate::messaging::settle_subscribed(name, &envelope, &outcome, &self.0.metrics);
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

    /// Whether `queue` exists.
    async fn queue_exists(&self, queue: &str) -> Result<bool, BusError> {
        Ok(queue_counts(self.connection().await?.as_ref(), queue)
            .await?
            .is_some())
    }
}
