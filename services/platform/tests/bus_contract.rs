//! The message bus contract, run against both implementations: the in-process bus and RabbitMQ
//! (a namespace of its own per test on the broker at `BOOKSTORE_TEST_AMQP_URL`, default the local
//! one). Without a broker the RabbitMQ tests fail, or are skipped and say so under
//! `BOOKSTORE_SKIP_MISSING_BACKENDS=1`; they never run on the in-process bus.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use platform::messaging::memory::MemoryBus;
use platform::messaging::rabbitmq::RabbitBus;
use platform::messaging::topology::Topology;
use platform::messaging::{
    Bus, BusError, ConsumerSpec, Delivery, Envelope, Handler, Listener, MessagingMetrics, Outcome,
    RetryPolicy,
};
use platform::readiness::Gate;
use platform::shutdown::{ShutdownTrigger, shutdown_pair};
use platform::testing::{QUIET_PERIOD, eventually, skip_or_fail};

const ORDERS: &str = "orders-test";
const AUDIT: &str = "audit-test";

fn topology(namespace: String) -> Topology {
    let retry = RetryPolicy {
        delays: vec![Duration::from_millis(100), Duration::from_millis(300)],
        max_attempts: 3,
    };
    Topology {
        namespace,
        consumers: vec![
            ConsumerSpec {
                name: ORDERS.into(),
                bindings: vec!["order.placed".into()],
                retry: retry.clone(),
                concurrency: 4,
            },
            ConsumerSpec {
                name: AUDIT.into(),
                bindings: vec!["order.#".into()],
                retry,
                concurrency: 4,
            },
        ],
        renamed: Vec::new(),
    }
}

enum Kind {
    Memory,
    Rabbit,
}

struct Harness {
    bus: Arc<dyn Bus>,
    metrics: platform::metrics::Metrics,
    rabbit: Option<RabbitBus>,
    triggers: Vec<ShutdownTrigger>,
    consumers: Vec<tokio::task::JoinHandle<Result<(), BusError>>>,
}

fn amqp_url() -> String {
    std::env::var("BOOKSTORE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

/// Whether the broker answers, for a RabbitMQ test: when it does not, the test fails, or under
/// the opt-out it is skipped and this is false.
async fn rabbitmq_answers() -> bool {
    let url = url::Url::parse(&amqp_url()).unwrap();
    let addr = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5672));
    match tokio::net::TcpStream::connect(&addr).await {
        Ok(_) => true,
        Err(err) => {
            skip_or_fail(
                &format!("RabbitMQ at {addr} (BOOKSTORE_TEST_AMQP_URL; .ci/run starts it)"),
                err,
            );
            false
        }
    }
}

/// A bus of `kind` with the test topology in a namespace of its own. A RabbitMQ test checks
/// [`rabbitmq_answers`] first.
async fn harness(kind: Kind) -> Harness {
    let namespace = format!("test-{}.", uuid::Uuid::new_v4().simple());
    let rabbit = match kind {
        Kind::Memory => None,
        Kind::Rabbit => {
            let url = amqp_url();
            let bus = RabbitBus::new(&url, topology(namespace.clone()));
            if let Err(err) = bus.dead_letter_count(ORDERS).await {
                panic!("RabbitMQ does not take the test topology at {url}: {err}");
            }
            Some(bus)
        }
    };
    let metrics = platform::metrics::Metrics::new();
    let recorded = MessagingMetrics::new(&metrics);
    let bus: Arc<dyn Bus> = match &rabbit {
        Some(bus) => Arc::new(bus.clone().with_metrics(recorded)),
        None => Arc::new(MemoryBus::new(topology(namespace)).with_metrics(recorded)),
    };
    Harness {
        bus,
        metrics,
        rabbit,
        triggers: Vec::new(),
        consumers: Vec::new(),
    }
}

impl Harness {
    fn consume(&mut self, consumer: &str, handler: Arc<dyn Handler>) {
        let (trigger, token) = shutdown_pair();
        let bus = self.bus.clone();
        let consumer = consumer.to_owned();
        self.consumers.push(tokio::spawn(async move {
            bus.consume(&consumer, handler, token).await
        }));
        self.triggers.push(trigger);
    }

    /// Starts a subscription and returns its readiness gate.
    fn subscribe(&mut self, bindings: &[&str], handler: Arc<dyn Listener>) -> Gate {
        let (trigger, token) = shutdown_pair();
        let bus = self.bus.clone();
        let bindings: Vec<String> = bindings.iter().map(|b| (*b).to_owned()).collect();
        let live = Gate::new("subscription");
        let gate = live.clone();
        self.consumers.push(tokio::spawn(async move {
            bus.subscribe("live-test", &bindings, handler, gate, token)
                .await
        }));
        self.triggers.push(trigger);
        live
    }

    async fn stop(self) {
        for trigger in &self.triggers {
            trigger.trigger();
        }
        for consumer in self.consumers {
            tokio::time::timeout(Duration::from_secs(10), consumer)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
        }
        if let Some(rabbit) = self.rabbit {
            rabbit.delete_topology().await.unwrap();
        }
    }
}

/// Records deliveries and answers with a script.
struct Recorder {
    seen: Mutex<Vec<(Delivery, Instant)>>,
    /// The trace id each call ran in.
    traces: Mutex<Vec<Option<String>>>,
    script: Box<dyn Fn(&Delivery) -> Outcome + Send + Sync>,
    /// Times a subscription said it missed messages.
    missed: std::sync::atomic::AtomicUsize,
}

impl Recorder {
    fn new(script: impl Fn(&Delivery) -> Outcome + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            seen: Mutex::new(Vec::new()),
            traces: Mutex::new(Vec::new()),
            script: Box::new(script),
            missed: std::sync::atomic::AtomicUsize::new(0),
        })
    }

    fn seen(&self) -> Vec<(Delivery, Instant)> {
        self.seen.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn missed(&self) -> usize {
        self.missed.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn has(&self, text: &str) -> bool {
        self.seen().iter().any(|(d, _)| body(d) == text)
    }
}

#[async_trait::async_trait]
impl Listener for Recorder {
    async fn missed(&self) {
        self.missed
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        self.seen
            .lock()
            .unwrap()
            .push((delivery.clone(), Instant::now()));
        self.traces
            .lock()
            .unwrap()
            .push(platform::telemetry::current_trace_id());
        (self.script)(delivery)
    }
}

/// How long the contract gives a bus to deliver, retry or dead-letter: every step takes
/// milliseconds to a few hundred (the retry delays), on RabbitMQ as in process; the bound leaves
/// room for a loaded machine.
const WITHIN: Duration = Duration::from_secs(15);

fn message(kind: &str, body: &str) -> Envelope {
    let mut envelope = Envelope::new(kind, 1, &serde_json::json!({ "body": body })).unwrap();
    envelope.traceparent = Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into());
    envelope
}

fn body(delivery: &Delivery) -> String {
    delivery.envelope.decode::<serde_json::Value>().unwrap()["body"]
        .as_str()
        .unwrap()
        .to_owned()
}

macro_rules! bus_tests {
    ($($name:ident($kind:ident) $body:block)*) => {
        mod memory {
            use super::*;
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { let $kind = Kind::Memory; $body } )*
        }
        mod rabbitmq {
            use super::*;
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { if !rabbitmq_answers().await { return; } let $kind = Kind::Rabbit; $body } )*
        }
    };
}

bus_tests! {
    delivers_each_message_with_its_metadata_to_every_matching_consumer(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|_| Outcome::Ack);
        let audit = Recorder::new(|_| Outcome::Ack);
        h.consume(ORDERS, orders.clone());
        h.consume(AUDIT, audit.clone());
        let placed = message("order.placed", "one");
        h.bus.publish(&placed).await.unwrap();
        h.bus.publish(&message("order.status_changed", "two")).await.unwrap();
        eventually("both consumers have their messages", WITHIN, async || orders.count() == 1 && audit.count() == 2).await;
        let (delivery, _) = &orders.seen()[0];
        assert_eq!(delivery.envelope.id, placed.id);
        assert_eq!(delivery.envelope.kind, "order.placed");
        assert_eq!(delivery.envelope.schema_version, 1);
        assert_eq!(delivery.envelope.traceparent, placed.traceparent);
        assert_eq!(delivery.envelope.payload, placed.payload);
        // To the microsecond: latencies are measured from it.
        assert_eq!(delivery.envelope.occurred_at.timestamp_micros(), placed.occurred_at.timestamp_micros());
        assert_eq!(delivery.attempt, 1);
        assert!(delivery.first_failure_at.is_none());
        // The handler runs in the producer's trace.
        assert_eq!(orders.traces.lock().unwrap()[0].as_deref(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        h.stop().await;
    }

    a_message_reaches_only_the_consumers_that_subscribe_to_it(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|_| Outcome::Ack);
        let audit = Recorder::new(|_| Outcome::Ack);
        h.consume(ORDERS, orders.clone());
        h.consume(AUDIT, audit.clone());
        // Nobody subscribes to stock events here: publishing succeeds and nobody gets it.
        h.bus.publish(&message("stock.changed", "ignored")).await.unwrap();
        h.bus.publish(&message("order.cancelled", "audit only")).await.unwrap();
        eventually("the audit consumer has its message", WITHIN, async || audit.count() == 1).await;
        h.bus.publish(&message("order.placed", "both")).await.unwrap();
        eventually("both have the placed order", WITHIN, async || orders.count() == 1 && audit.count() == 2).await;
        assert!(orders.seen().iter().all(|(d, _)| body(d) == "both"));
        assert!(audit.seen().iter().all(|(d, _)| body(d) != "ignored"));
        h.stop().await;
    }

    retries_transient_failures_after_growing_delays(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|d| if d.attempt < 3 { Outcome::Retry(format!("inventory busy ({})", d.attempt)) } else { Outcome::Ack });
        h.consume(ORDERS, orders.clone());
        h.bus.publish(&message("order.placed", "retry me")).await.unwrap();
        eventually("the third attempt", WITHIN, async || orders.count() == 3).await;
        let seen = orders.seen();
        assert_eq!(seen.iter().map(|(d, _)| d.attempt).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(seen[1].1 - seen[0].1 >= Duration::from_millis(90), "first back-off too short");
        assert!(seen[2].1 - seen[1].1 >= Duration::from_millis(280), "second back-off too short");
        assert_eq!(seen[2].0.last_error.as_deref(), Some("inventory busy (2)"));
        assert!(seen[1].0.first_failure_at.is_some());
        assert_eq!(seen[1].0.first_failure_at, seen[2].0.first_failure_at);
        assert_eq!(seen[2].0.envelope.id, seen[0].0.envelope.id);
        assert_eq!(h.bus.dead_letter_count(ORDERS).await.unwrap(), 0);
        h.stop().await;
    }

    dead_letters_a_message_after_its_last_attempt_with_its_history(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|_| Outcome::Retry("inventory down".into()));
        h.consume(ORDERS, orders.clone());
        let sent = message("order.placed", "doomed");
        h.bus.publish(&sent).await.unwrap();
        let bus = h.bus.clone();
        eventually("the message is dead-lettered", WITHIN, async || bus.dead_letter_count(ORDERS).await.unwrap() == 1).await;
        assert_eq!(orders.count(), 3);
        let letters = h.bus.dead_letters(ORDERS, 10).await.unwrap();
        assert_eq!(letters.len(), 1);
        assert_eq!(letters[0].envelope.id, sent.id);
        assert_eq!(letters[0].envelope.payload, sent.payload);
        assert_eq!(letters[0].error, "inventory down");
        assert_eq!(letters[0].attempts, 3);
        assert!(letters[0].first_failure_at.is_some());
        // Listing leaves the letters in place (a broker counts returned messages a moment later).
        eventually("the listed letter is still there", WITHIN, async || bus.dead_letter_count(ORDERS).await.unwrap() == 1).await;
        h.stop().await;
    }

    dead_letters_a_permanent_failure_at_once_and_keeps_consuming(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|d| if body(d) == "poison" { Outcome::Reject("unreadable order".into()) } else { Outcome::Ack });
        h.consume(ORDERS, orders.clone());
        h.bus.publish(&message("order.placed", "poison")).await.unwrap();
        h.bus.publish(&message("order.placed", "good")).await.unwrap();
        let bus = h.bus.clone();
        eventually("poison dead-lettered and the good message handled", WITHIN, async || {
            bus.dead_letter_count(ORDERS).await.unwrap() == 1 && orders.seen().iter().any(|(d, _)| body(d) == "good")
        })
        .await;
        let letters = h.bus.dead_letters(ORDERS, 10).await.unwrap();
        assert_eq!(letters[0].attempts, 1);
        assert_eq!(letters[0].error, "unreadable order");
        h.stop().await;
    }

    a_panicking_handler_gets_the_message_again(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|d| if d.attempt == 1 { panic!("bug on first sight") } else { Outcome::Ack });
        h.consume(ORDERS, orders.clone());
        h.bus.publish(&message("order.placed", "fragile")).await.unwrap();
        eventually("the second attempt", WITHIN, async || orders.count() == 2).await;
        h.stop().await;
    }

    redrive_returns_dead_letters_to_their_consumer_and_purge_drops_them(kind) {
        let mut h = harness(kind).await;
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = healthy.clone();
        let orders = Recorder::new(move |_| {
            if flag.load(std::sync::atomic::Ordering::SeqCst) { Outcome::Ack } else { Outcome::Reject("not yet".into()) }
        });
        h.consume(ORDERS, orders.clone());
        for name in ["first", "second", "third"] {
            h.bus.publish(&message("order.placed", name)).await.unwrap();
        }
        let bus = h.bus.clone();
        eventually("three dead letters", WITHIN, async || bus.dead_letter_count(ORDERS).await.unwrap() == 3).await;
        healthy.store(true, std::sync::atomic::Ordering::SeqCst);

        assert_eq!(h.bus.redrive(ORDERS, 2).await.unwrap(), 2);
        eventually("the redriven messages are handled", WITHIN, async || orders.count() == 5).await;
        let redriven: Vec<_> = orders.seen().into_iter().skip(3).map(|(d, _)| d).collect();
        assert!(redriven.iter().all(|d| d.attempt == 1 && d.first_failure_at.is_none()), "redrive starts afresh");
        assert_eq!(h.bus.dead_letter_count(ORDERS).await.unwrap(), 1);

        assert_eq!(h.bus.purge_dead_letters(ORDERS).await.unwrap(), 1);
        assert_eq!(h.bus.dead_letter_count(ORDERS).await.unwrap(), 0);
        assert_eq!(h.bus.redrive(ORDERS, 10).await.unwrap(), 0);
        h.stop().await;
    }

    competing_consumers_handle_each_message_once(kind) {
        let mut h = harness(kind).await;
        let first = Recorder::new(|_| Outcome::Ack);
        let second = Recorder::new(|_| Outcome::Ack);
        h.consume(ORDERS, first.clone());
        h.consume(ORDERS, second.clone());
        for i in 0..40 {
            h.bus.publish(&message("order.placed", &i.to_string())).await.unwrap();
        }
        eventually("every message handled", WITHIN, async || first.count() + second.count() >= 40).await;
        // A second delivery of any of them would arrive within the quiet period.
        tokio::time::sleep(QUIET_PERIOD).await;
        let mut bodies: Vec<String> = first.seen().iter().chain(second.seen().iter()).map(|(d, _)| body(d)).collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), 40);
        assert_eq!(first.count() + second.count(), 40, "a message was handled twice");
        h.stop().await;
    }

    every_subscription_gets_its_own_copy_of_each_matching_message_in_order(kind) {
        let mut h = harness(kind).await;
        let durable = Recorder::new(|_| Outcome::Ack);
        h.consume(AUDIT, durable.clone());
        let (first, second) = (Recorder::new(|_| Outcome::Ack), Recorder::new(|_| Outcome::Ack));
        let gates = [h.subscribe(&["order.status_changed"], first.clone()), h.subscribe(&["order.status_changed"], second.clone())];
        eventually("both subscriptions are live", WITHIN, async || gates.iter().all(Gate::is_open)).await;
        h.bus.publish(&message("order.placed", "not for subscribers")).await.unwrap();
        for i in 0..20 {
            h.bus.publish(&message("order.status_changed", &i.to_string())).await.unwrap();
        }
        eventually("both subscriptions have every status change", WITHIN, async || first.count() == 20 && second.count() == 20).await;
        let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        for recorder in [&first, &second] {
            assert_eq!(recorder.seen().iter().map(|(d, _)| body(d)).collect::<Vec<_>>(), expected, "in publishing order, nothing else");
        }
        // Subscriptions take copies: the durable consumer still gets every message.
        eventually("the durable consumer has all 21", WITHIN, async || durable.count() == 21).await;
        h.stop().await;
    }

    a_subscription_drops_what_its_handler_refuses_and_goes_on(kind) {
        let mut h = harness(kind).await;
        let live = Recorder::new(|d| if body(d) == "bad" { Outcome::Retry("cannot push now".into()) } else { Outcome::Ack });
        let gate = h.subscribe(&["order.#"], live.clone());
        eventually("the subscription is live", WITHIN, async || gate.is_open()).await;
        h.bus.publish(&message("order.status_changed", "bad")).await.unwrap();
        h.bus.publish(&message("order.status_changed", "good")).await.unwrap();
        eventually("the good message arrives", WITHIN, async || live.seen().iter().any(|(d, _)| body(d) == "good")).await;
        // A retry of the refused one would arrive within the quiet period.
        tokio::time::sleep(QUIET_PERIOD).await;
        assert_eq!(live.count(), 2, "a refused message is not retried");
        h.stop().await;
    }

    a_stopped_subscription_closes_its_gate_and_receives_nothing_more(kind) {
        let mut h = harness(kind).await;
        let live = Recorder::new(|_| Outcome::Ack);
        let gate = h.subscribe(&["order.#"], live.clone());
        eventually("the subscription is live", WITHIN, async || gate.is_open()).await;
        h.triggers.pop().unwrap().trigger();
        let task = h.consumers.pop().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task).await.unwrap().unwrap().unwrap();
        assert!(!gate.is_open());
        h.bus.publish(&message("order.status_changed", "too late")).await.unwrap();
        // Were the subscription still there, the message would arrive within the quiet period.
        tokio::time::sleep(QUIET_PERIOD).await;
        assert_eq!(live.count(), 0);
        h.stop().await;
    }

    metrics_count_publishing_and_each_way_a_message_is_settled(kind) {
        let mut h = harness(kind).await;
        let orders = Recorder::new(|d| match body(d).as_str() {
            "flaky" if d.attempt == 1 => Outcome::Retry("busy".into()),
            "poison" => Outcome::Reject("unreadable".into()),
            _ => Outcome::Ack,
        });
        h.consume(ORDERS, orders.clone());
        for name in ["fine", "flaky", "poison"] {
            h.bus.publish(&message("order.placed", name)).await.unwrap();
        }
        let metrics = h.metrics.clone();
        let value = move |line: &str| platform::testing::metric_sum(&metrics.render(), line);
        let consumed = |outcome: &str| format!("messages_consumed_total{{outcome=\"{outcome}\",queue=\"{ORDERS}\"}}");
        eventually("every message settled", WITHIN, async || {
            value(&consumed("ack")) == 2.0 && value(&consumed("retry")) == 1.0 && value(&consumed("dead_letter")) == 1.0
        }).await;
        assert_eq!(value("messages_published_total{kind=\"order.placed\"}"), 3.0);
        assert_eq!(value(&format!("message_handler_duration_seconds_count{{queue=\"{ORDERS}\"}}")), 4.0);
        // Every delivery's age is measured from the event's time: the retried one waited its back-off.
        assert_eq!(value(&format!("message_age_seconds_count{{queue=\"{ORDERS}\"}}")), 4.0);
        assert!(value(&format!("message_age_seconds_sum{{queue=\"{ORDERS}\"}}")) > 0.0);
        assert_eq!(value(&format!("messages_in_flight{{queue=\"{ORDERS}\"}}")), 0.0);
        assert_eq!(value(&format!("consumer_concurrency{{queue=\"{ORDERS}\"}}")), 4.0);
        h.stop().await;
    }

    unknown_consumers_are_an_error(kind) {
        let h = harness(kind).await;
        assert!(matches!(h.bus.dead_letter_count("nobody").await, Err(BusError::UnknownConsumer(_))));
        h.stop().await;
    }
}

#[tokio::test]
async fn rabbitmq_dead_letters_a_malformed_message_and_keeps_consuming() {
    if !rabbitmq_answers().await {
        return;
    }
    let mut h = harness(Kind::Rabbit).await;
    let rabbit = h.rabbit.clone().unwrap();
    let orders = Recorder::new(|_| Outcome::Ack);
    h.consume(ORDERS, orders.clone());
    // No message id, no type, no schema version: not an envelope.
    rabbit
        .publish_unchecked(
            "order.placed",
            lapin::BasicProperties::default(),
            b"\xff\xfe garbage",
        )
        .await
        .unwrap();
    h.bus
        .publish(&message("order.placed", "good"))
        .await
        .unwrap();
    let bus = h.bus.clone();
    eventually(
        "garbage dead-lettered, good message handled",
        WITHIN,
        async || bus.dead_letter_count(ORDERS).await.unwrap() == 1 && orders.count() == 1,
    )
    .await;
    let letters = h.bus.dead_letters(ORDERS, 1).await.unwrap();
    assert!(
        letters[0].error.starts_with("malformed message"),
        "{}",
        letters[0].error
    );
    assert_eq!(letters[0].envelope.payload, b"\xff\xfe garbage");
    h.stop().await;
}

#[tokio::test]
async fn rabbitmq_publishing_without_a_broker_fails_fast_and_recovers_nothing_silently() {
    // Port 9 (discard) is closed on loopback: the bus reports the outage to its caller.
    let bus = RabbitBus::new(
        "amqp://guest:guest@127.0.0.1:9/%2f",
        topology("unreachable.".into()),
    );
    let err = bus
        .publish(&message("order.placed", "nowhere"))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Unavailable(_)), "{err}");
}

#[tokio::test]
async fn rabbitmq_consumers_and_publishers_recover_from_a_broker_outage() {
    use platform::testing::{FaultMode, FaultProxy};
    if !rabbitmq_answers().await {
        return;
    }
    let probe = harness(Kind::Rabbit).await;
    let namespace = probe.rabbit.as_ref().unwrap().topology().namespace.clone();
    probe.stop().await;
    let proxy = FaultProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    let url = format!("amqp://guest:guest@{}/%2f", proxy.addr);
    let bus = RabbitBus::new(&url, topology(namespace));
    let orders = Recorder::new(|_| Outcome::Ack);
    let (trigger, token) = shutdown_pair();
    let consumer = {
        let (bus, orders) = (bus.clone(), orders.clone());
        tokio::spawn(async move { bus.consume(ORDERS, orders, token).await })
    };
    bus.publish(&message("order.placed", "before"))
        .await
        .unwrap();
    eventually("the first message", WITHIN, async || orders.count() == 1).await;

    proxy.set(FaultMode::Down);
    let err = bus
        .publish(&message("order.placed", "during"))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Unavailable(_)), "{err}");

    proxy.set(FaultMode::Forward);
    // The publisher reconnects on its next call; the consumer reconnects by itself.
    let deadline = Instant::now() + Duration::from_secs(15);
    while bus
        .publish(&message("order.placed", "after"))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the publisher did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eventually(
        "the message published after the outage",
        WITHIN,
        async || orders.seen().iter().any(|(d, _)| body(d) == "after"),
    )
    .await;
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), consumer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    bus.delete_topology().await.unwrap();
}

#[tokio::test]
async fn rabbitmq_consumers_reconnect_promptly_after_each_of_many_short_outages() {
    use platform::testing::{FaultMode, FaultProxy};
    if !rabbitmq_answers().await {
        return;
    }
    let probe = harness(Kind::Rabbit).await;
    let namespace = probe.rabbit.as_ref().unwrap().topology().namespace.clone();
    probe.stop().await;
    let proxy = FaultProxy::start("127.0.0.1:5672".parse().unwrap()).await;
    let bus = RabbitBus::new(
        &format!("amqp://guest:guest@{}/%2f", proxy.addr),
        topology(namespace.clone()),
    );
    // The publisher goes straight to the broker: only the consumer lives through the outages.
    let publisher = RabbitBus::new("amqp://guest:guest@127.0.0.1:5672/%2f", topology(namespace));
    let orders = Recorder::new(|_| Outcome::Ack);
    let (trigger, token) = shutdown_pair();
    let consumer = {
        let (bus, orders) = (bus.clone(), orders.clone());
        tokio::spawn(async move { bus.consume(ORDERS, orders, token).await })
    };
    publisher
        .publish(&message("order.placed", "first"))
        .await
        .unwrap();
    eventually("the first message", WITHIN, async || orders.count() == 1).await;
    // Each outage is long enough for several failed attempts. Were the wait between attempts
    // kept from one outage to the next, it would grow to its ten-second ceiling by the third.
    for blip in 1..=5 {
        proxy.set(FaultMode::Down);
        tokio::time::sleep(Duration::from_millis(1200)).await;
        proxy.set(FaultMode::Forward);
        let restored = Instant::now();
        let text = format!("after blip {blip}");
        publisher
            .publish(&message("order.placed", &text))
            .await
            .unwrap();
        while !orders.seen().iter().any(|(d, _)| body(d) == text) {
            assert!(
                restored.elapsed() < Duration::from_secs(4),
                "after blip {blip} the consumer took more than 4 s to come back"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), consumer)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    publisher.delete_topology().await.unwrap();
}

/// A subscription on RabbitMQ through a fault proxy, with a publisher straight to the broker:
/// the bus behind the proxy, the proxy, the publisher, the recorder and the subscription's gate.
struct CutOffSubscription {
    proxy: platform::testing::FaultProxy,
    publisher: RabbitBus,
    live: Arc<Recorder>,
    gate: Gate,
    trigger: ShutdownTrigger,
    task: tokio::task::JoinHandle<Result<(), BusError>>,
}

impl CutOffSubscription {
    /// None when RabbitMQ does not answer and the test is skipped (see [`rabbitmq_answers`]).
    async fn start(expiry: Duration) -> Option<Self> {
        if !rabbitmq_answers().await {
            return None;
        }
        let probe = harness(Kind::Rabbit).await;
        let namespace = probe.rabbit.as_ref().unwrap().topology().namespace.clone();
        probe.stop().await;
        let proxy = platform::testing::FaultProxy::start("127.0.0.1:5672".parse().unwrap()).await;
        let bus = RabbitBus::new(
            &format!("amqp://guest:guest@{}/%2f", proxy.addr),
            topology(namespace.clone()),
        )
        .with_subscription_expiry(expiry);
        let publisher =
            RabbitBus::new("amqp://guest:guest@127.0.0.1:5672/%2f", topology(namespace));
        let live = Recorder::new(|_| Outcome::Ack);
        let (trigger, token) = shutdown_pair();
        let gate = Gate::new("subscription");
        let task = {
            let (bus, live, gate) = (bus.clone(), live.clone(), gate.clone());
            let bindings = vec!["order.#".to_owned()];
            tokio::spawn(async move {
                bus.subscribe("live-test", &bindings, live, gate, token)
                    .await
            })
        };
        eventually("the subscription is live", WITHIN, async || gate.is_open()).await;
        Some(Self {
            proxy,
            publisher,
            live,
            gate,
            trigger,
            task,
        })
    }

    async fn publish(&self, text: &str) {
        self.publisher
            .publish(&message("order.status_changed", text))
            .await
            .unwrap();
    }

    /// Cuts the subscription off the broker until its gate closes.
    async fn cut(&self) {
        self.proxy.set(platform::testing::FaultMode::Down);
        eventually("the subscription notices the cut", WITHIN, async || {
            !self.gate.is_open()
        })
        .await;
    }

    async fn restore(&self) {
        self.proxy.set(platform::testing::FaultMode::Forward);
        eventually("the subscription is back", WITHIN, async || {
            self.gate.is_open()
        })
        .await;
    }

    async fn stop(self) {
        self.trigger.trigger();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        self.publisher.delete_topology().await.unwrap();
    }
}

#[tokio::test]
async fn rabbitmq_a_subscription_receives_what_was_published_while_it_was_cut_off() {
    let Some(s) = CutOffSubscription::start(Duration::from_secs(60)).await else {
        return;
    };
    s.publish("before").await;
    eventually("the message before the cut", WITHIN, async || {
        s.live.has("before")
    })
    .await;
    s.cut().await;
    s.publish("during").await;
    s.restore().await;
    s.publish("after").await;
    eventually("the message published during the cut", WITHIN, async || {
        s.live.has("during")
    })
    .await;
    eventually("the message after the cut", WITHIN, async || {
        s.live.has("after")
    })
    .await;
    let received: Vec<String> = s.live.seen().iter().map(|(d, _)| body(d)).collect();
    // Delivery is at least once: an ack sent just before the cut can be lost with the
    // connection, and the broker then hands that message over again. Each arrives, in order,
    // at most twice.
    let mut first_arrivals: Vec<String> = Vec::new();
    for text in &received {
        if !first_arrivals.contains(text) {
            first_arrivals.push(text.clone());
        }
    }
    assert_eq!(
        first_arrivals,
        ["before", "during", "after"],
        "{received:?}"
    );
    assert!(received.len() <= 4, "{received:?}");
    assert_eq!(s.live.missed(), 0, "the queue waited: nothing was missed");
    s.stop().await;
}

#[tokio::test]
async fn rabbitmq_a_subscription_away_longer_than_its_expiry_is_told_it_missed_messages() {
    let Some(s) = CutOffSubscription::start(Duration::from_secs(1)).await else {
        return;
    };
    s.cut().await;
    s.publish("into the expiring queue").await;
    // The broker deletes a queue that has had no consumer for its expiry (1 s) on a timer of
    // its own; nothing outside the broker can watch for it, so the wait is a generous bound.
    tokio::time::sleep(Duration::from_secs(3)).await;
    s.restore().await;
    eventually("the listener is told of the gap", WITHIN, async || {
        s.live.missed() == 1
    })
    .await;
    s.publish("after").await;
    eventually("a message after the gap", WITHIN, async || {
        s.live.has("after")
    })
    .await;
    assert!(
        !s.live.has("into the expiring queue"),
        "the expired queue took that message with it"
    );
    s.stop().await;
}

/// The messages and consumers of `queue` on the broker at `url`, or `None` when it does not exist.
async fn queue_counts(url: &str, queue: &str) -> Option<(u32, u32)> {
    let connection = lapin::Connection::connect(url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let passive = lapin::options::QueueDeclareOptions {
        passive: true,
        ..Default::default()
    };
    let counts = channel
        .queue_declare(queue.into(), passive, lapin::types::FieldTable::default())
        .await
        .ok()
        .map(|queue| (queue.message_count(), queue.consumer_count()));
    let _ = connection.close(200, "checked".into()).await;
    counts
}

/// Consumes `consumer` on `bus` until the trigger is pulled.
fn consuming(
    bus: &RabbitBus,
    consumer: &'static str,
    handler: Arc<dyn Handler>,
) -> (
    ShutdownTrigger,
    tokio::task::JoinHandle<Result<(), BusError>>,
) {
    let (trigger, token) = shutdown_pair();
    let bus = bus.clone();
    let running = tokio::spawn(async move { bus.consume(consumer, handler, token).await });
    (trigger, running)
}

#[tokio::test]
async fn rabbitmq_a_renamed_consumer_takes_over_the_messages_of_its_old_queues() {
    const BEFORE: &str = "orders-before";
    if !rabbitmq_answers().await {
        return;
    }
    let url = amqp_url();
    let namespace = format!("test-{}.", uuid::Uuid::new_v4().simple());
    // The consumer under its old name, as an earlier version declared it: one message
    // dead-lettered, two waiting.
    let mut old = topology(namespace.clone());
    old.consumers.retain(|c| c.name == ORDERS);
    old.consumers[0].name = BEFORE.into();
    let before = RabbitBus::new(&url, old);
    let rejecting = Recorder::new(|_| Outcome::Reject("not wanted".into()));
    let (trigger, consumer) = consuming(&before, BEFORE, rejecting);
    before
        .publish(&message("order.placed", "dead"))
        .await
        .unwrap();
    eventually("the first message dead-lettered", WITHIN, async || {
        before.dead_letter_count(BEFORE).await.unwrap() == 1
    })
    .await;
    trigger.trigger();
    consumer.await.unwrap().unwrap();
    for text in ["one", "two"] {
        before
            .publish(&message("order.placed", text))
            .await
            .unwrap();
    }

    // The new version knows the consumer under its new name. While a process of the old one
    // still reads the old queue, starting the new consumer unbinds the old queue but moves
    // nothing.
    let mut renamed = topology(namespace.clone());
    renamed.renamed = vec![platform::messaging::topology::Renamed::new(BEFORE, ORDERS)];
    let old_main = format!("{namespace}{BEFORE}");
    let old_reader = lapin::Connection::connect(&url, lapin::ConnectionProperties::default())
        .await
        .unwrap();
    let reading = old_reader.create_channel().await.unwrap();
    let _unacked = reading
        .basic_consume(
            old_main.as_str().into(),
            "old-version".into(),
            lapin::options::BasicConsumeOptions::default(),
            lapin::types::FieldTable::default(),
        )
        .await
        .unwrap();
    let early = RabbitBus::new(&url, renamed.clone());
    let idle = Recorder::new(|_| Outcome::Ack);
    let (trigger, consumer) = consuming(&early, ORDERS, idle.clone());
    // The consumer subscribes after the move: once it is there, the move is over.
    let new_main = format!("{namespace}{ORDERS}");
    eventually("the new consumer is subscribed", WITHIN, async || {
        queue_counts(&url, &new_main)
            .await
            .is_some_and(|(_, consumers)| consumers > 0)
    })
    .await;
    assert_eq!(early.dead_letter_count(ORDERS).await.unwrap(), 0);
    assert!(
        queue_counts(&url, &format!("{old_main}.dead-letter"))
            .await
            .is_some()
    );
    // Unbound: a new event goes to the new queue only.
    early
        .publish(&message("order.placed", "three"))
        .await
        .unwrap();
    eventually("the new consumer has the new event", WITHIN, async || {
        idle.has("three")
    })
    .await;
    trigger.trigger();
    consumer.await.unwrap().unwrap();
    // The old reader stops: what it held goes back to the old queue, and the next start of
    // the new consumer moves everything.
    old_reader.close(200, "stopped".into()).await.unwrap();
    let after = RabbitBus::new(&url, renamed);
    let orders = Recorder::new(|_| Outcome::Ack);
    let (trigger, consumer) = consuming(&after, ORDERS, orders.clone());
    eventually(
        "the old messages handled under the new name",
        WITHIN,
        async || orders.count() == 2,
    )
    .await;
    for text in ["one", "two"] {
        assert!(orders.has(text), "{text} missing");
    }
    assert_eq!(after.dead_letter_count(ORDERS).await.unwrap(), 1);
    let letters = after.dead_letters(ORDERS, 10).await.unwrap();
    let dead: serde_json::Value = letters[0].envelope.decode().unwrap();
    assert_eq!(dead["body"], "dead");
    for queue in [old_main.clone(), format!("{old_main}.dead-letter")] {
        assert_eq!(
            queue_counts(&url, &queue).await,
            None,
            "{queue} is still there"
        );
    }
    // The event published after the unbinding went to the new queue alone: it is not moved in
    // again (the bound on a negative check).
    tokio::time::sleep(QUIET_PERIOD).await;
    assert_eq!(orders.count(), 2);
    trigger.trigger();
    consumer.await.unwrap().unwrap();
    after.delete_topology().await.unwrap();
}
