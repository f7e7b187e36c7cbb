//! The in-process bus of `bookstore all`: the same contract as RabbitMQ (at-least-once within
//! the process, retries after the policy's delays, a dead-letter list per consumer) with no
//! broker. Messages live in memory; the outbox tables keep what must survive a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinSet;

use super::topology::Topology;
use super::{
    Bus, BusError, DeadLetter, Delivery, Envelope, Handler, Listener, MessagingMetrics, Outcome,
    Settled,
};
use crate::readiness::Gate;
use crate::shutdown::ShutdownToken;

/// An in-process bus over a topology.
#[derive(Clone)]
pub struct MemoryBus {
    topology: Arc<Topology>,
    queues: Arc<HashMap<String, Arc<Queue>>>,
    subscribers: Arc<Mutex<Vec<Subscriber>>>,
    metrics: MessagingMetrics,
}

/// A running subscription: what it is bound to and where its copies go.
struct Subscriber {
    bindings: Vec<String>,
    sender: mpsc::UnboundedSender<Envelope>,
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    ready: Notify,
}

#[derive(Default)]
struct QueueState {
    messages: VecDeque<Delivery>,
    dead: VecDeque<DeadLetter>,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, delivery: Delivery) {
        self.lock().messages.push_back(delivery);
        self.ready.notify_one();
    }

    async fn pop(&self) -> Delivery {
        loop {
            let notified = self.ready.notified();
            if let Some(delivery) = self.lock().messages.pop_front() {
                return delivery;
            }
            notified.await;
        }
    }
}

impl MemoryBus {
    pub fn new(topology: Topology) -> Self {
        let queues = topology
            .consumers
            .iter()
            .map(|c| (c.name.clone(), Arc::new(Queue::default())))
            .collect();
        Self {
            topology: Arc::new(topology),
            queues: Arc::new(queues),
            subscribers: Arc::default(),
            metrics: MessagingMetrics::unregistered(),
        }
    }

    /// This bus, recording what it does in `metrics`.
    pub fn with_metrics(mut self, metrics: MessagingMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    fn subscribers(&self) -> std::sync::MutexGuard<'_, Vec<Subscriber>> {
        self.subscribers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn queue(&self, consumer: &str) -> Result<Arc<Queue>, BusError> {
        self.queues
            .get(consumer)
            .cloned()
            .ok_or_else(|| BusError::UnknownConsumer(consumer.to_owned()))
    }
}

fn first_delivery(envelope: Envelope) -> Delivery {
    Delivery {
        envelope,
        attempt: 1,
        first_failure_at: None,
        last_error: None,
    }
}

#[async_trait::async_trait]
impl Bus for MemoryBus {
    async fn publish(&self, envelope: &Envelope) -> Result<(), BusError> {
        for consumer in self.topology.subscribers(&envelope.kind) {
            self.queue(&consumer.name)?
                .push(first_delivery(envelope.clone()));
        }
        self.metrics.published(&envelope.kind, 1);
        // Subscriptions that ended have dropped their receivers; forget them here.
        self.subscribers().retain(|subscriber| {
            let wanted = subscriber
                .bindings
                .iter()
                .any(|pattern| super::topic_matches(pattern, &envelope.kind));
            !subscriber.sender.is_closed()
                && (!wanted || subscriber.sender.send(envelope.clone()).is_ok())
        });
        Ok(())
    }

    async fn subscribe(
        &self,
        name: &str,
        bindings: &[String],
        listener: Arc<dyn Listener>,
        live: Gate,
        mut shutdown: ShutdownToken,
    ) -> Result<(), BusError> {
        // Unbounded and in process: a subscription here never misses a message.
        let handler: Arc<dyn Handler> = listener;
        let (sender, mut receiver) = mpsc::unbounded_channel();
        self.subscribers().push(Subscriber {
            bindings: bindings.to_vec(),
            sender,
        });
        live.open();
        loop {
            let envelope = tokio::select! {
                () = shutdown.cancelled() => break,
                envelope = receiver.recv() => match envelope {
                    Some(envelope) => envelope,
                    None => break,
                },
            };
            let outcome = super::handle_in_trace(
                handler.clone(),
                first_delivery(envelope.clone()),
                name,
                &self.metrics,
            )
            .await;
            super::settle_subscribed(name, &envelope, &outcome, &self.metrics);
        }
        live.close();
        Ok(())
    }

    async fn consume(
        &self,
        consumer: &str,
        handler: Arc<dyn Handler>,
        mut shutdown: ShutdownToken,
    ) -> Result<(), BusError> {
        let spec = self
            .topology
            .consumer(consumer)
            .cloned()
            .ok_or_else(|| BusError::UnknownConsumer(consumer.to_owned()))?;
        let queue = self.queue(consumer)?;
        self.metrics.consuming(consumer, spec.concurrency.max(1));
        let slots = Arc::new(Semaphore::new(spec.concurrency.max(1)));
        let mut in_flight = JoinSet::new();
        loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => break,
                permit = slots.clone().acquire_owned() => permit.map_err(|_| BusError::Unavailable("consumer closed".into()))?,
            };
            let delivery = tokio::select! {
                () = shutdown.cancelled() => break,
                delivery = queue.pop() => delivery,
            };
            let (handler, queue, spec, metrics) = (
                handler.clone(),
                queue.clone(),
                spec.clone(),
                self.metrics.clone(),
            );
            in_flight.spawn(async move {
                let outcome =
                    super::handle_in_trace(handler, delivery.clone(), &spec.name, &metrics).await;
                drop(permit);
                let settled = settle(&queue, delivery, outcome, &spec.retry).await;
                metrics.settled(&spec.name, settled);
            });
            while in_flight.try_join_next().is_some() {}
        }
        // Let handlers that started finish; their retries are scheduled as usual.
        while in_flight.join_next().await.is_some() {}
        Ok(())
    }

    async fn dead_letters(
        &self,
        consumer: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, BusError> {
        Ok(self
            .queue(consumer)?
            .lock()
            .dead
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn dead_letter_count(&self, consumer: &str) -> Result<u64, BusError> {
        Ok(self.queue(consumer)?.lock().dead.len() as u64)
    }

    async fn redrive(&self, consumer: &str, limit: usize) -> Result<usize, BusError> {
        let queue = self.queue(consumer)?;
        let moved: Vec<DeadLetter> = {
            let mut state = queue.lock();
            let n = limit.min(state.dead.len());
            state.dead.drain(..n).collect()
        };
        let count = moved.len();
        for dead in moved {
            queue.push(first_delivery(dead.envelope));
        }
        Ok(count)
    }

    async fn purge_dead_letters(&self, consumer: &str) -> Result<u64, BusError> {
        let queue = self.queue(consumer)?;
        let mut state = queue.lock();
        let count = state.dead.len() as u64;
        state.dead.clear();
        Ok(count)
    }
}

async fn settle(
    queue: &Arc<Queue>,
    delivery: Delivery,
    outcome: Outcome,
    retry: &super::RetryPolicy,
) -> Settled {
    let now = chrono::Utc::now();
    match outcome {
        Outcome::Ack => Settled::Ack,
        Outcome::Retry(error) if delivery.attempt < retry.max_attempts => {
            let delay = retry.delay_after(delivery.attempt);
            let next = Delivery {
                attempt: delivery.attempt + 1,
                first_failure_at: delivery.first_failure_at.or(Some(now)),
                last_error: Some(error),
                envelope: delivery.envelope,
            };
            let queue = queue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                queue.push(next);
            });
            Settled::Retry
        }
        Outcome::Retry(error) | Outcome::Reject(error) => {
            tracing::warn!(message_id = %delivery.envelope.id, kind = %delivery.envelope.kind, attempts = delivery.attempt, error = %error, "Message dead-lettered.");
            queue.lock().dead.push_back(DeadLetter {
                error,
                attempts: delivery.attempt,
                first_failure_at: delivery.first_failure_at.or(Some(now)),
                envelope: delivery.envelope,
            });
            Settled::DeadLetter
        }
    }
}
