//! The message topology as code: the exchanges, and every consumer with its queue, bindings,
//! retry tiers and dead-letter queue (the bookstore's consumers are `contracts::consumers`).
//! Both buses are built from it; [`Topology::declarations`] is what the RabbitMQ bus declares
//! and what the broker definitions shipped for Kubernetes ([`Topology::definitions`]) are
//! generated from.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ConsumerSpec, RetryPolicy};

/// Names are prefixed by a namespace so that several shops (or test runs) can share a broker.
#[derive(Debug, Clone)]
pub struct Topology {
    pub namespace: String,
    pub consumers: Vec<ConsumerSpec>,
    /// Consumers known before under another name, whose queues are moved to the new name.
    pub renamed: Vec<Renamed>,
}

/// A consumer renamed from `from` to `to` (same bindings and retry policy). On RabbitMQ, when
/// the consumer starts, the old name's main queue is unbound and its queues are emptied into the
/// new name's and deleted once nobody consumes them ([`Topology::left_behind`]); the in-process
/// bus keeps nothing between runs, so has nothing to move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub from: String,
    pub to: String,
}

impl Renamed {
    pub fn new(from: &str, to: &str) -> Self {
        Self {
            from: from.to_owned(),
            to: to.to_owned(),
        }
    }
}

/// The queues a renamed consumer left behind: its main queue, unbound from the events exchange
/// for `bindings` first so that nothing new arrives, and the queues to empty, in order. They
/// are moved only while nobody consumes `main`: a process of the earlier version still running
/// keeps reading them, and its retries still go through the old tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftBehind {
    pub main: String,
    pub bindings: Vec<String>,
    pub queues: Vec<Moved>,
}

/// A queue to empty into `destination`, then delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub queue: String,
    pub destination: String,
}

/// Redeliveries after which RabbitMQ itself dead-letters a message that keeps crashing its
/// consumer (a poison message never acknowledged); retries we schedule do not count.
pub const DELIVERY_LIMIT: u32 = 10;

/// Each process's subscription to ended sessions, whose access tokens it then refuses.
pub const ENDED_SESSIONS: &str = "ended-sessions";

impl Topology {
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

    /// Every exchange, queue and binding of the topology on RabbitMQ, in an order that can be
    /// declared one by one (exchanges, then queues, then bindings).
    pub fn declarations(&self) -> Declarations {
        let mut declarations = Declarations {
            exchanges: vec![
                ExchangeDeclaration {
                    name: self.events_exchange(),
                    kind: ExchangeType::Topic,
                },
                ExchangeDeclaration {
                    name: self.dead_letter_exchange(),
                    kind: ExchangeType::Direct,
                },
            ],
            queues: Vec::new(),
            bindings: Vec::new(),
        };
        for consumer in &self.consumers {
            let queue = self.queue(&consumer.name);
            // A quorum queue survives a broker node's loss; its delivery limit dead-letters a
            // message that keeps crashing consumers before they can settle it.
            declarations.queues.push(QueueDeclaration {
                name: queue.clone(),
                arguments: vec![
                    ("x-queue-type", ArgValue::Str("quorum".into())),
                    ("x-delivery-limit", ArgValue::Int(DELIVERY_LIMIT)),
                    (
                        "x-dead-letter-exchange",
                        ArgValue::Str(self.dead_letter_exchange()),
                    ),
                    (
                        "x-dead-letter-routing-key",
                        ArgValue::Str(consumer.name.clone()),
                    ),
                ],
            });
            for binding in &consumer.bindings {
                declarations.bindings.push(BindingDeclaration {
                    exchange: self.events_exchange(),
                    queue: queue.clone(),
                    routing_key: binding.clone(),
                });
            }
            for delay in consumer.retry.tiers() {
                // A delay tier: messages wait out the TTL, then dead-letter back to the main
                // queue through the default exchange.
                declarations.queues.push(QueueDeclaration {
                    name: self.retry_queue(&consumer.name, delay),
                    arguments: vec![
                        (
                            "x-message-ttl",
                            ArgValue::Int(u32::try_from(delay.as_millis()).unwrap_or(u32::MAX)),
                        ),
                        ("x-dead-letter-exchange", ArgValue::Str(String::new())),
                        ("x-dead-letter-routing-key", ArgValue::Str(queue.clone())),
                    ],
                });
            }
            let dead = self.dead_letter_queue(&consumer.name);
            declarations.queues.push(QueueDeclaration {
                name: dead.clone(),
                arguments: vec![("x-queue-type", ArgValue::Str("quorum".into()))],
            });
            declarations.bindings.push(BindingDeclaration {
                exchange: self.dead_letter_exchange(),
                queue: dead,
                routing_key: consumer.name.clone(),
            });
        }
        declarations
    }

    /// The declarations as RabbitMQ definitions (the JSON that the management API's
    /// `/api/definitions` accepts and `load_definitions` reads at boot), for the vhost `/`.
    /// Everything is durable; retries and dead-lettering are queue arguments, exactly as the
    /// bus declares them, so a bus connecting to a broker loaded with these definitions finds
    /// every queue equivalent to its own declaration.
    pub fn definitions(&self) -> Value {
        let declarations = self.declarations();
        let exchanges: Vec<Value> = declarations
            .exchanges
            .iter()
            .map(|exchange| {
                json!({
                    "name": exchange.name,
                    "vhost": "/",
                    "type": exchange.kind.as_str(),
                    "durable": true,
                    "auto_delete": false,
                    "internal": false,
                    "arguments": {},
                })
            })
            .collect();
        let queues: Vec<Value> = declarations
            .queues
            .iter()
            .map(|queue| {
                let arguments: serde_json::Map<String, Value> = queue
                    .arguments
                    .iter()
                    .map(|(key, value)| {
                        let value = match value {
                            ArgValue::Str(text) => Value::from(text.as_str()),
                            ArgValue::Int(number) => Value::from(*number),
                        };
                        ((*key).to_owned(), value)
                    })
                    .collect();
                json!({
                    "name": queue.name,
                    "vhost": "/",
                    "durable": true,
                    "auto_delete": false,
                    "arguments": arguments,
                })
            })
            .collect();
        let bindings: Vec<Value> = declarations
            .bindings
            .iter()
            .map(|binding| {
                json!({
                    "source": binding.exchange,
                    "vhost": "/",
                    "destination": binding.queue,
                    "destination_type": "queue",
                    "routing_key": binding.routing_key,
                    "arguments": {},
                })
            })
            .collect();
        json!({
            "exchanges": exchanges,
            "queues": queues,
            "bindings": bindings,
        })
    }

    /// The queues the earlier names of `consumer` left behind, each in the order they are to
    /// be moved: the retry tiers first (they dead-letter into the main queue, which must outlive
    /// them) to the new main queue (a message waiting out a retry delay is retried at once),
    /// then the main queue, then the dead-letter queue to the new dead-letter queue.
    pub fn left_behind(&self, consumer: &str) -> Vec<LeftBehind> {
        let Some(successor) = self.consumer(consumer) else {
            return Vec::new();
        };
        self.renamed
            .iter()
            .filter(|renamed| renamed.to == consumer)
            .map(|renamed| {
                let to_main = |queue: String| Moved {
                    queue,
                    destination: self.queue(consumer),
                };
                let queues = successor
                    .retry
                    .tiers()
                    .into_iter()
                    .map(|delay| to_main(self.retry_queue(&renamed.from, delay)))
                    .chain([
                        to_main(self.queue(&renamed.from)),
                        Moved {
                            queue: self.dead_letter_queue(&renamed.from),
                            destination: self.dead_letter_queue(consumer),
                        },
                    ])
                    .collect();
                LeftBehind {
                    main: self.queue(&renamed.from),
                    bindings: successor.bindings.clone(),
                    queues,
                }
            })
            .collect()
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

/// What the topology is made of on RabbitMQ: see [`Topology::declarations`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declarations {
    pub exchanges: Vec<ExchangeDeclaration>,
    pub queues: Vec<QueueDeclaration>,
    pub bindings: Vec<BindingDeclaration>,
}

/// A durable exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeDeclaration {
    pub name: String,
    pub kind: ExchangeType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeType {
    Topic,
    Direct,
}

impl ExchangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Topic => "topic",
            Self::Direct => "direct",
        }
    }
}

/// A durable queue and its `x-` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDeclaration {
    pub name: String,
    pub arguments: Vec<(&'static str, ArgValue)>,
}

/// A queue argument's value: a string, or a whole number (milliseconds, a count).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgValue {
    Str(String),
    Int(u32),
}

/// A queue bound to an exchange with a routing key (or topic pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingDeclaration {
    pub exchange: String,
    pub queue: String,
    pub routing_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER_WORKER: &str = "worker.order-placed";

    /// A topology of two consumers, as the bookstore's is made.
    fn sample(namespace: &str) -> Topology {
        Topology {
            namespace: namespace.to_owned(),
            consumers: vec![
                ConsumerSpec::new(ORDER_WORKER, &["order.placed"]),
                ConsumerSpec::new("catalog.stock-changed", &["stock.changed"]),
            ],
            renamed: vec![Renamed::new("worker.placed-orders", ORDER_WORKER)],
        }
    }

    #[test]
    fn a_renamed_consumer_leaves_its_queues_to_its_successor() {
        let topology = sample("ns.");
        assert!(topology.left_behind("catalog.stock-changed").is_empty());
        assert!(topology.left_behind("nobody").is_empty());
        let left = topology.left_behind(ORDER_WORKER);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].main, "ns.worker.placed-orders");
        assert_eq!(left[0].bindings, ["order.placed"]);
        let queues = &left[0].queues;
        let tiers = RetryPolicy::default().tiers().len();
        assert_eq!(queues.len(), tiers + 2);
        for tier in &queues[..tiers] {
            assert!(tier.queue.starts_with("ns.worker.placed-orders.retry."));
            assert_eq!(tier.destination, "ns.worker.order-placed");
        }
        assert_eq!(
            queues[tiers],
            Moved {
                queue: "ns.worker.placed-orders".into(),
                destination: "ns.worker.order-placed".into(),
            }
        );
        assert_eq!(
            queues[tiers + 1],
            Moved {
                queue: "ns.worker.placed-orders.dead-letter".into(),
                destination: "ns.worker.order-placed.dead-letter".into(),
            }
        );
        // Nothing of the old name is declared.
        let declarations = topology.declarations();
        assert!(
            declarations
                .queues
                .iter()
                .all(|q| !q.name.contains("placed-orders"))
        );
    }

    #[test]
    fn every_consumer_has_a_quorum_queue_delay_tiers_and_a_bound_dead_letter_queue() {
        let topology = sample("ns.");
        let declarations = topology.declarations();
        for consumer in &topology.consumers {
            let queue = declarations
                .queues
                .iter()
                .find(|q| q.name == format!("ns.{}", consumer.name))
                .unwrap();
            assert!(
                queue
                    .arguments
                    .contains(&("x-queue-type", ArgValue::Str("quorum".into())))
            );
            assert!(
                queue
                    .arguments
                    .contains(&("x-delivery-limit", ArgValue::Int(DELIVERY_LIMIT)))
            );
            for delay in consumer.retry.tiers() {
                let tier = declarations
                    .queues
                    .iter()
                    .find(|q| q.name == topology.retry_queue(&consumer.name, delay))
                    .unwrap();
                assert!(tier.arguments.contains(&(
                    "x-dead-letter-routing-key",
                    ArgValue::Str(queue.name.clone())
                )));
            }
            assert!(declarations.bindings.contains(&BindingDeclaration {
                exchange: "ns.bookstore.dead-letter".into(),
                queue: topology.dead_letter_queue(&consumer.name),
                routing_key: consumer.name.clone(),
            }));
        }
    }

    #[test]
    fn definitions_list_every_declaration_with_its_arguments() {
        let topology = sample("");
        let declarations = topology.declarations();
        let definitions = topology.definitions();
        let queues = definitions["queues"].as_array().unwrap();
        assert_eq!(queues.len(), declarations.queues.len());
        let main = queues.iter().find(|q| q["name"] == ORDER_WORKER).unwrap();
        assert_eq!(main["durable"], true);
        assert_eq!(main["arguments"]["x-queue-type"], "quorum");
        assert_eq!(main["arguments"]["x-delivery-limit"], DELIVERY_LIMIT);
        assert_eq!(
            main["arguments"]["x-dead-letter-exchange"],
            "bookstore.dead-letter"
        );
        let tier = queues
            .iter()
            .find(|q| q["name"] == "worker.order-placed.retry.5000ms")
            .unwrap();
        assert_eq!(tier["arguments"]["x-message-ttl"], 5000);
        assert_eq!(tier["arguments"]["x-dead-letter-exchange"], "");
        assert_eq!(
            definitions["exchanges"].as_array().unwrap().len(),
            declarations.exchanges.len()
        );
        assert_eq!(
            definitions["bindings"].as_array().unwrap().len(),
            declarations.bindings.len()
        );
        assert!(
            definitions["bindings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["source"] == "bookstore.events"
                    && b["destination"] == ORDER_WORKER
                    && b["routing_key"] == "order.placed")
        );
    }
}
