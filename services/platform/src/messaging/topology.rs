//! The message topology as code: the exchanges, and every consumer with its queue, bindings,
//! retry tiers and dead-letter queue. Both buses are built from it, and the broker definitions
//! shipped for Kubernetes are generated from it.

use std::time::Duration;

use super::{ConsumerSpec, RetryPolicy};
use crate::events::Event;

/// Names are prefixed by a namespace so that several shops (or test runs) can share a broker.
#[derive(Debug, Clone)]
pub struct Topology {
    pub namespace: String,
    pub consumers: Vec<ConsumerSpec>,
}

/// Redeliveries after which RabbitMQ itself dead-letters a message that keeps crashing its
/// consumer (a poison message never acknowledged); retries we schedule do not count.
pub const DELIVERY_LIMIT: u32 = 10;

/// The consumer that turns placed orders into reservations and final statuses.
pub const ORDER_WORKER: &str = "worker.order-placed";
/// The consumer that returns the stock of cancelled orders.
pub const ORDER_STATUS_WORKER: &str = "worker.order-status";
/// The catalogue's availability read model, fed by inventory.
pub const CATALOG_STOCK: &str = "catalog.stock-changed";

/// The notification gateway's subscription to status changes; each replica has its own queue.
pub const NOTIFICATIONS: &str = "notifications";

impl Topology {
    /// The bookstore's durable consumers.
    pub fn standard(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            consumers: vec![
                ConsumerSpec::new(ORDER_WORKER, &[crate::events::OrderPlaced::KIND]),
                ConsumerSpec::new(
                    ORDER_STATUS_WORKER,
                    &[crate::events::OrderStatusChanged::KIND],
                ),
                ConsumerSpec::new(CATALOG_STOCK, &[crate::events::StockChanged::KIND]),
            ],
        }
    }

    /// The topic exchange domain events are published to.
    pub fn events_exchange(&self) -> String {
        format!("{}bookstore.events", self.namespace)
    }

    /// The exchange dead letters are published to, routed by consumer name.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}bookstore.dead-letter", self.namespace)
    }

    pub fn queue(&self, consumer: &str) -> String {
        format!("{}{consumer}", self.namespace)
    }

    /// A new name for one replica's subscription queue, unique across processes and restarts.
    pub fn replica_queue(&self, subscription: &str) -> String {
        format!(
            "{}{subscription}.replica-{}",
            self.namespace,
            uuid::Uuid::new_v4().simple()
        )
    }

    pub fn dead_letter_queue(&self, consumer: &str) -> String {
        format!("{}{consumer}.dead-letter", self.namespace)
    }

    /// The delay queue of one back-off tier; its messages return to the consumer's queue when
    /// their time is up.
    pub fn retry_queue(&self, consumer: &str, delay: Duration) -> String {
        format!("{}{consumer}.retry.{}ms", self.namespace, delay.as_millis())
    }

    pub fn consumer(&self, name: &str) -> Option<&ConsumerSpec> {
        self.consumers.iter().find(|c| c.name == name)
    }

    /// Every consumer that would receive a message of `kind`.
    pub fn subscribers<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a ConsumerSpec> + 'a {
        self.consumers.iter().filter(move |c| {
            c.bindings
                .iter()
                .any(|pattern| super::topic_matches(pattern, kind))
        })
    }
}

impl ConsumerSpec {
    pub fn new(name: &str, bindings: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            bindings: bindings.iter().map(|b| (*b).to_owned()).collect(),
            retry: RetryPolicy::default(),
            concurrency: 16,
        }
    }
}
