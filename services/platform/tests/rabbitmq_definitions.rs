//! The broker definitions generated from the topology (what the Helm chart loads into RabbitMQ)
//! against the real broker: they load through the management API into a throwaway vhost, create
//! exactly the declared queues, and the bus then connects to that vhost and redeclares its
//! topology without a PRECONDITION_FAILED, so the two agree argument for argument; a message then
//! goes through the first retry tier and on to the dead-letter queue as the worker expects.
//!
//! Needs the management plugin (`rabbitmq-plugins enable rabbitmq_management`; `.ci/run` does
//! it). Without a reachable management API the test fails, or is skipped and says so under
//! `BOOKSTORE_SKIP_MISSING_BACKENDS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use contracts::consumers::ORDER_PLACED_WORKER;
use contracts::events::Event;
use platform::messaging::rabbitmq::RabbitBus;
use platform::messaging::{Bus, Delivery, Envelope, Handler, Outcome};
use serde_json::{Value, json};

/// Management API base URL (credentials in it).
fn management_url() -> String {
    std::env::var("BOOKSTORE_TEST_RABBITMQ_MANAGEMENT_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:15672".into())
}

fn amqp_base() -> String {
    std::env::var("BOOKSTORE_TEST_AMQP_BASE")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672".into())
}

struct Management {
    http: reqwest::Client,
    base: String,
}

impl Management {
    fn new() -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            base: management_url(),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth("guest", Some("guest"))
    }

    /// Whether the API answers; if not, what it said.
    async fn reachable(&self) -> Result<(), String> {
        match self
            .request(reqwest::Method::GET, "/api/overview")
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("/api/overview answers {}", response.status())),
            Err(err) => Err(err.to_string()),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let mut request = self.request(method.clone(), path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }
}

#[tokio::test]
async fn generated_definitions_load_into_rabbitmq_and_match_what_the_bus_declares() {
    let management = Management::new();
    if let Err(problem) = management.reachable().await {
        platform::testing::skip_or_fail(
            &format!(
                "RabbitMQ's management API at {} (BOOKSTORE_TEST_RABBITMQ_MANAGEMENT_URL; \
                 `rabbitmq-plugins enable rabbitmq_management`, which .ci/run does)",
                management_url()
            ),
            problem,
        );
        return;
    }
    let vhost = format!("bookstore-definitions-{}", uuid::Uuid::new_v4().simple());
    management
        .send(reqwest::Method::PUT, &format!("/api/vhosts/{vhost}"), None)
        .await;
    // The checks run to the end before the vhost goes, so a failure leaves nothing behind.
    let outcome = tokio::spawn(check_vhost(vhost.clone())).await;
    management
        .send(
            reqwest::Method::DELETE,
            &format!("/api/vhosts/{vhost}"),
            None,
        )
        .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic.into_panic());
    }
}

async fn check_vhost(vhost: String) {
    let management = Management::new();
    management
        .send(
            reqwest::Method::PUT,
            &format!("/api/permissions/{vhost}/guest"),
            Some(&json!({"configure": ".*", "write": ".*", "read": ".*"})),
        )
        .await;
    let topology = contracts::consumers::topology("");
    let definitions = topology.definitions();
    management
        .send(
            reqwest::Method::POST,
            &format!("/api/definitions/{vhost}"),
            Some(&definitions),
        )
        .await;

    // Every declared queue exists with exactly the declared arguments, and nothing else does.
    let listed = management
        .send(reqwest::Method::GET, &format!("/api/queues/{vhost}"), None)
        .await;
    let on_broker = arguments_by_queue(&listed);
    let declared = arguments_by_queue(&definitions["queues"]);
    assert!(!declared.is_empty());
    assert_eq!(on_broker, declared);
    let main = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == ORDER_PLACED_WORKER)
        .unwrap();
    assert_eq!(main["type"], "quorum");
    assert_eq!(main["durable"], true);

    let bindings = management
        .send(
            reqwest::Method::GET,
            &format!("/api/bindings/{vhost}"),
            None,
        )
        .await;
    for binding in definitions["bindings"].as_array().unwrap() {
        assert!(
            bindings
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["source"] == binding["source"]
                    && b["destination"] == binding["destination"]
                    && b["routing_key"] == binding["routing_key"]),
            "binding {binding} is missing"
        );
    }

    // The bus redeclares its topology on connecting; a queue declared with other arguments
    // would close the channel with PRECONDITION_FAILED and fail this publish.
    let url = format!("{}/{vhost}", amqp_base());
    let bus = RabbitBus::new(&url, topology.clone());
    let envelope = Envelope::new(
        contracts::events::OrderPlaced::KIND,
        1,
        &json!({"definitions": "test"}),
    )
    .unwrap();
    bus.publish(&envelope).await.unwrap();
    assert_eq!(bus.dead_letter_count(ORDER_PLACED_WORKER).await.unwrap(), 0);

    // The published event went where the definitions' binding routes it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let queue = management
            .send(
                reqwest::Method::GET,
                &format!("/api/queues/{vhost}/{ORDER_PLACED_WORKER}"),
                None,
            )
            .await;
        if queue["messages"].as_u64() == Some(1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the event never reached {ORDER_PLACED_WORKER}: {queue}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // A transient failure comes back through the first delay tier; a permanent one then lands in
    // the dead-letter queue with its history.
    let handler = std::sync::Arc::new(FailTwice::default());
    let (trigger, token) = platform::shutdown::shutdown_pair();
    let consumer = {
        let (bus, handler) = (bus.clone(), handler.clone());
        tokio::spawn(async move { bus.consume(ORDER_PLACED_WORKER, handler, token).await })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while bus.dead_letter_count(ORDER_PLACED_WORKER).await.unwrap() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message never reached the dead-letter queue; attempts: {:?}",
            handler.attempts.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    trigger.trigger();
    consumer.await.unwrap().unwrap();
    assert_eq!(*handler.attempts.lock().unwrap(), [1, 2]);
    let letters = bus.dead_letters(ORDER_PLACED_WORKER, 1).await.unwrap();
    assert_eq!(letters[0].envelope.id, envelope.id);
    assert_eq!(letters[0].attempts, 2);
    assert_eq!(letters[0].error, "permanent");
}

/// Each queue's arguments, by queue name, from a list of queues.
fn arguments_by_queue(queues: &Value) -> BTreeMap<String, Value> {
    queues
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["name"].as_str().unwrap().to_owned(),
                q["arguments"].clone(),
            )
        })
        .collect()
}

/// Fails the first attempt as transient and the second as permanent.
#[derive(Default)]
struct FailTwice {
    attempts: std::sync::Mutex<Vec<u32>>,
}

#[async_trait::async_trait]
impl Handler for FailTwice {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        self.attempts.lock().unwrap().push(delivery.attempt);
        if delivery.attempt == 1 {
            Outcome::Retry("transient".into())
        } else {
            Outcome::Reject("permanent".into())
        }
    }
}
