//! Real-time notifications end to end: the official Socket.IO client (Node.js) against
//! notification gateways running as processes of their own on RabbitMQ, next to the split shop.
//! Orders are placed over HTTP; what the clients receive is read back from the client process.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/socketio.rs"]
mod socketio;

use std::time::{Duration, Instant};

use cluster::{Cluster, Until, broker};
use contracts::events::{Event, OrderStatusChanged};
use platform::auth::{KeyPair, Role, TokenSigner};
use platform::messaging::Bus;
use platform::testing::FaultMode;
use reqwest::StatusCode;
use serde_json::Value;
use socketio::Clients;

const WAIT: Duration = Duration::from_secs(30);

/// Places an order of one unit and returns its id.
async fn order(cluster: &Cluster, token: &str, book: &str) -> String {
    let (status, body) = cluster.place(token, book, 1, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// Waits until socket `name` has the final status of `order_id`, and returns the statuses it
/// received for that order, in order.
async fn statuses_until_final(clients: &mut Clients, name: &str, order_id: &str) -> Vec<Value> {
    clients
        .wait_for(
            &format!("{name} to see order {order_id} settle"),
            WAIT,
            |l| {
                l["socket"] == name
                    && l["event"] == "order_status_change"
                    && l["data"]["order_id"] == order_id
                    && matches!(l["data"]["status"].as_str(), Some("completed" | "failed"))
            },
        )
        .await;
    clients
        .status_events(name)
        .into_iter()
        .filter(|e| e["order_id"] == order_id)
        .collect()
}

async fn wait_readiness(cluster: &Cluster, gateway: &str, expected: StatusCode) {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = cluster
            .http
            .get(cluster.url(gateway, "/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if status == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{gateway} readiness stayed {status}, expected {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_owner_receives_pending_then_final_on_websocket_and_polling_and_nobody_else_does() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let bob = cluster.customer("bob@shop.example").await;
    let admin = cluster.admin.clone();
    let mut websocket = Clients::connect(
        &gateway,
        "websocket",
        &[
            ("alice", Some(&alice)),
            ("bob", Some(&bob)),
            ("admin", Some(&admin)),
        ],
    )
    .await;
    let mut polling = Clients::connect(&gateway, "polling", &[("alice", Some(&alice))]).await;
    for name in ["alice", "bob", "admin"] {
        websocket.connected(name).await;
    }
    polling.connected("alice").await;
    assert_eq!(websocket.seen[0]["transport"], "websocket");
    assert_eq!(polling.seen[0]["transport"], "polling");

    let book = cluster.book_with_stock(5).await;
    let order_id = order(&cluster, &alice, &book).await;
    let alice_id = cluster.user_id(&alice).await;
    for clients in [&mut websocket, &mut polling] {
        let events = statuses_until_final(clients, "alice", &order_id).await;
        let statuses: Vec<&str> = events
            .iter()
            .map(|e| e["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["pending", "completed"]);
        for event in &events {
            assert_eq!(event["user_id"], alice_id.as_str());
            assert!(event["reason"].is_null());
            assert!(event["event_id"].as_str().is_some_and(|id| !id.is_empty()));
            assert!(event["at"].as_str().is_some());
        }
        assert_ne!(events[0]["event_id"], events[1]["event_id"]);
    }
    // Admins see every order's changes.
    statuses_until_final(&mut websocket, "admin", &order_id).await;
    // Another customer, connected all along, hears nothing about it.
    websocket.collect(Duration::from_millis(500)).await;
    assert!(
        websocket.status_events("bob").is_empty(),
        "bob received another customer's order: {:?}",
        websocket.status_events("bob")
    );
    assert_eq!(
        cluster
            .metric("gateway-a", "notifications_sockets_connected")
            .await,
        4.0
    );
    assert!(
        cluster
            .metric("gateway-a", "notifications_push_latency_seconds_count")
            .await
            >= 2.0
    );
    websocket.stop().await;
    polling.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_without_a_valid_access_token_are_refused() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let stranger = TokenSigner::new(&KeyPair::generate(), Duration::from_secs(600))
        .unwrap()
        .sign("someone", Role::Admin, "test-session")
        .unwrap();
    let mut clients = Clients::connect(
        &gateway,
        "websocket",
        &[
            ("anonymous", None),
            ("garbled", Some("not.a.token")),
            ("foreign-key", Some(&stranger)),
        ],
    )
    .await;
    for (name, message) in [
        ("anonymous", "an access token is required"),
        ("garbled", "invalid or expired"),
        ("foreign-key", "invalid or expired"),
    ] {
        let line = clients
            .wait_for(&format!("{name} to be answered"), WAIT, |l| {
                l["socket"] == name && (l["type"] == "connect" || l["type"] == "connect_error")
            })
            .await;
        assert_eq!(line["type"], "connect_error", "{name} got in: {line}");
        assert!(
            line["message"].as_str().unwrap().contains(message),
            "{line}"
        );
    }
    assert_eq!(
        cluster
            .metric("gateway-a", "notifications_connections_refused_total")
            .await,
        3.0
    );
    assert_eq!(
        cluster
            .metric("gateway-a", "notifications_sockets_connected")
            .await,
        0.0
    );
    clients.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_connected_to_each_of_two_gateways_receives_the_event_on_both() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let first = cluster.spawn_gateway("gateway-a").await;
    let second = cluster.spawn_gateway("gateway-b").await;
    let alice = cluster.customer("alice@shop.example").await;
    let mut on_first = Clients::connect(&first, "websocket", &[("alice", Some(&alice))]).await;
    let mut on_second = Clients::connect(&second, "websocket", &[("alice", Some(&alice))]).await;
    on_first.connected("alice").await;
    on_second.connected("alice").await;
    let book = cluster.book_with_stock(5).await;
    let order_id = order(&cluster, &alice, &book).await;
    for clients in [&mut on_first, &mut on_second] {
        let events = statuses_until_final(clients, "alice", &order_id).await;
        assert_eq!(
            events.len(),
            2,
            "pending and completed once each: {events:?}"
        );
    }
    on_first.stop().await;
    on_second.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_status_change_the_bus_delivers_twice_is_pushed_once() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let alice_id = cluster.user_id(&alice).await;
    let mut clients = Clients::connect(&gateway, "websocket", &[("alice", Some(&alice))]).await;
    clients.connected("alice").await;
    let change = OrderStatusChanged {
        order_id: "order-delivered-twice".into(),
        user_id: alice_id.into(),
        status: contracts::orders::OrderStatus::Completed,
        reason: None,
        at: chrono::Utc::now(),
    };
    let envelope = change.envelope().unwrap();
    // What an outbox relay does when it dies between the broker's confirm and marking the row.
    cluster.bus.publish(&envelope).await.unwrap();
    cluster.bus.publish(&envelope).await.unwrap();
    clients
        .wait_for("the status change", WAIT, |l| {
            l["data"]["order_id"] == "order-delivered-twice"
        })
        .await;
    let deadline = Instant::now() + WAIT;
    while cluster
        .metric("gateway-a", "notifications_duplicate_events_total")
        .await
        < 1.0
    {
        assert!(
            Instant::now() < deadline,
            "the second delivery never arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    clients.collect(Duration::from_millis(300)).await;
    let received: Vec<Value> = clients
        .status_events("alice")
        .into_iter()
        .filter(|e| e["event_id"] == envelope.id.as_str())
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    clients.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_socket_whose_token_expires_is_told_and_disconnected() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let alice_id = cluster.user_id(&alice).await;
    let short = cluster.token(&alice_id, Role::Customer, Duration::from_secs(2));
    let mut clients = Clients::connect(
        &gateway,
        "websocket",
        &[("short", Some(&short)), ("long", Some(&alice))],
    )
    .await;
    clients.connected("short").await;
    clients.connected("long").await;
    let told = clients
        .wait_for("the expiry notice", WAIT, |l| {
            l["socket"] == "short" && l["event"] == "session_expired"
        })
        .await;
    assert!(told["data"]["reason"].as_str().unwrap().contains("expired"));
    let gone = clients
        .wait_for("the disconnection", WAIT, |l| {
            l["socket"] == "short" && l["type"] == "disconnect"
        })
        .await;
    assert_eq!(gone["reason"], "io server disconnect");
    // The socket with a valid token stays.
    clients.collect(Duration::from_millis(1500)).await;
    assert!(
        !clients
            .seen
            .iter()
            .any(|l| l["socket"] == "long" && l["type"] == "disconnect")
    );
    clients.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn floods_and_garbage_frames_from_one_client_do_not_disturb_the_others() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let mallory = cluster.customer("mallory@shop.example").await;
    let mut flood = Clients::start(serde_json::json!({
        "url": gateway, "transport": "websocket", "abuse": "flood",
        "sockets": [{ "name": "flood", "token": mallory }],
    }))
    .await;
    let mut garbage = Clients::start(serde_json::json!({
        "url": gateway, "transport": "websocket", "abuse": "garbage", "sockets": [],
    }))
    .await;
    flood.connected("flood").await;
    garbage.connected("garbage").await;
    let mut victim = Clients::connect(&gateway, "websocket", &[("alice", Some(&alice))]).await;
    victim.connected("alice").await;
    // Let the abuse run for a while before the victim's order.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let book = cluster.book_with_stock(5).await;
    let order_id = order(&cluster, &alice, &book).await;
    let events = statuses_until_final(&mut victim, "alice", &order_id).await;
    assert_eq!(events.len(), 2, "{events:?}");
    let (status, _) = cluster.get("gateway-a", "/readyz", None).await;
    assert_eq!(status, StatusCode::OK);
    victim.collect(Duration::from_millis(200)).await;
    assert!(
        !victim.seen.iter().any(|l| l["type"] == "disconnect"),
        "the well-behaved client was disconnected: {:?}",
        victim.seen
    );
    flood.stop().await;
    garbage.stop().await;
    victim.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_without_the_broker_is_unready_and_delivers_again_once_it_is_back() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let mut clients = Clients::connect(&gateway, "websocket", &[("alice", Some(&alice))]).await;
    clients.connected("alice").await;
    wait_readiness(&cluster, "gateway-a", StatusCode::OK).await;
    cluster.faults().amqp.set(FaultMode::Down);
    wait_readiness(&cluster, "gateway-a", StatusCode::SERVICE_UNAVAILABLE).await;
    cluster.faults().amqp.set(FaultMode::Forward);
    wait_readiness(&cluster, "gateway-a", StatusCode::OK).await;
    // Connected sockets stayed; events flow through the new subscription.
    let book = cluster.book_with_stock(5).await;
    let order_id = order(&cluster, &alice, &book).await;
    statuses_until_final(&mut clients, "alice", &order_id).await;
    clients.stop().await;
    cluster.stop().await;
}

/// Waits until `name`'s socket is told to read its orders again, with a reason.
async fn told_to_resync(clients: &mut Clients, name: &str) {
    let told = clients
        .wait_for(&format!("{name} to be told to resync"), WAIT, |l| {
            l["socket"] == name && l["event"] == "resync"
        })
        .await;
    assert!(
        told["data"]["reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{told}"
    );
}

/// A status change for `user_id`, published straight to the broker (not through the proxy the
/// shop's processes use).
async fn publish_change(cluster: &Cluster, user_id: &str, order_id: &str) {
    let change = OrderStatusChanged {
        order_id: order_id.into(),
        user_id: user_id.into(),
        status: contracts::orders::OrderStatus::Completed,
        reason: None,
        at: chrono::Utc::now(),
    };
    cluster
        .bus
        .publish(&change.envelope().unwrap())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_status_change_published_while_a_gateway_is_cut_off_reaches_its_sockets_once_it_is_back()
{
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let alice_id = cluster.user_id(&alice).await;
    let mut clients = Clients::connect(&gateway, "websocket", &[("alice", Some(&alice))]).await;
    clients.connected("alice").await;
    wait_readiness(&cluster, "gateway-a", StatusCode::OK).await;
    cluster.faults().amqp.set(FaultMode::Down);
    wait_readiness(&cluster, "gateway-a", StatusCode::SERVICE_UNAVAILABLE).await;
    publish_change(&cluster, &alice_id, "order-during-the-cut").await;
    cluster.faults().amqp.set(FaultMode::Forward);
    clients
        .wait_for("the change published during the cut", WAIT, |l| {
            l["data"]["order_id"] == "order-during-the-cut"
        })
        .await;
    clients.collect(Duration::from_millis(300)).await;
    assert!(
        clients.events("alice", "resync").is_empty(),
        "nothing was missed, so nobody is told to resync"
    );
    clients.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_socket_connected_before_the_gateways_subscription_is_live_is_told_to_resync() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let alice = cluster.customer("alice@shop.example").await;
    // A gateway that starts while the broker is away listens, and takes sockets, before its
    // subscription exists: what is published meanwhile never reaches it.
    cluster.faults().amqp.set(FaultMode::Down);
    let gateway = cluster
        .spawn_gateway_until("gateway-a", Until::Listening)
        .await;
    let mut clients = Clients::connect(&gateway, "websocket", &[("alice", Some(&alice))]).await;
    clients.connected("alice").await;
    wait_readiness(&cluster, "gateway-a", StatusCode::SERVICE_UNAVAILABLE).await;
    cluster.faults().amqp.set(FaultMode::Forward);
    wait_readiness(&cluster, "gateway-a", StatusCode::OK).await;
    told_to_resync(&mut clients, "alice").await;
    // Live updates flow once it is.
    let book = cluster.book_with_stock(5).await;
    let order_id = order(&cluster, &alice, &book).await;
    statuses_until_final(&mut clients, "alice", &order_id).await;
    clients.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_gateway_away_for_longer_than_its_queue_waits_tells_every_socket_to_resync() {
    let Some(broker) = broker().await else { return };
    let mut cluster =
        Cluster::start_with(broker, &[("BOOKSTORE_SUBSCRIPTION_EXPIRY_SECONDS", "1")]).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let alice_id = cluster.user_id(&alice).await;
    let bob = cluster.customer("bob@shop.example").await;
    let mut clients = Clients::connect(
        &gateway,
        "websocket",
        &[("alice", Some(&alice)), ("bob", Some(&bob))],
    )
    .await;
    clients.connected("alice").await;
    clients.connected("bob").await;
    wait_readiness(&cluster, "gateway-a", StatusCode::OK).await;
    cluster.faults().amqp.set(FaultMode::Down);
    wait_readiness(&cluster, "gateway-a", StatusCode::SERVICE_UNAVAILABLE).await;
    publish_change(&cluster, &alice_id, "order-lost-with-the-queue").await;
    // The broker deletes the gateway's queue once it has had no consumer for a second, on a
    // timer of its own; the wait is a generous bound on that.
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.faults().amqp.set(FaultMode::Forward);
    for name in ["alice", "bob"] {
        told_to_resync(&mut clients, name).await;
    }
    assert_eq!(
        cluster
            .metric(
                "gateway-a",
                "subscription_gaps_total{queue=\"notifications\"}"
            )
            .await,
        1.0
    );
    // Live updates flow again through the new queue.
    let book = cluster.book_with_stock(5).await;
    let order_id = order(&cluster, &alice, &book).await;
    statuses_until_final(&mut clients, "alice", &order_id).await;
    clients.stop().await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admins_hear_when_a_books_summary_is_ready_and_customers_do_not() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let alice = cluster.customer("alice@shop.example").await;
    let admin = cluster.admin.clone();
    let mut clients = Clients::connect(
        &gateway,
        "websocket",
        &[("alice", Some(&alice)), ("admin", Some(&admin))],
    )
    .await;
    clients.connected("alice").await;
    clients.connected("admin").await;

    // The document goes to the catalogue; its relay announces the request, a worker summarises
    // it (the built-in summariser: no model is configured here) and the catalogue announces
    // the summary.
    let book = cluster.book_with_stock(1).await;
    let text = "The lighthouse keeper kept a careful log of every ship that passed the rocks. \
                One stormy night a ship without lights drifted towards the shore. \
                The keeper rowed out alone and guided its crew to the harbour.";
    let (content_type, body) =
        platform::testing::file_form("file", "story.txt", "text/plain", text.as_bytes());
    let uploaded = reqwest::Client::new()
        .put(cluster.url("catalog", &format!("/api/v1/books/{book}/document")))
        .bearer_auth(&admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), StatusCode::OK);
    let heard = clients
        .wait_for("the admin to hear of the summary", WAIT, |line| {
            line["socket"] == "admin"
                && line["type"] == "event"
                && line["event"] == "book.summary_ready"
        })
        .await;
    let data = &heard["data"];
    assert_eq!(data["book_id"], book.as_str());
    assert_eq!(data["status"], "ready");
    assert_eq!(data["method"], "extractive");
    assert!(data["event_id"].as_str().is_some_and(|id| !id.is_empty()));
    let (_, view) = cluster
        .get("catalog", &format!("/api/v1/books/{book}"), None)
        .await;
    assert_eq!(view["summary"]["status"], "ready", "{view}");
    assert!(
        view["summary"]["text"]
            .as_str()
            .unwrap()
            .contains("lighthouse keeper")
    );
    clients.collect(Duration::from_millis(500)).await;
    assert!(
        !clients
            .seen
            .iter()
            .any(|line| line["socket"] == "alice" && line["event"] == "book.summary_ready"),
        "a customer heard of a summary"
    );
    clients.stop().await;
    cluster.stop().await;
}

/// How soon every component refuses the access tokens of a session ended in the users service:
/// the announcement crosses RabbitMQ in milliseconds; this bound leaves room for a loaded
/// machine. Sockets are looked at once a second on top of that.
const ENDED_SESSION_BOUND: Duration = Duration::from_secs(3);

/// Waits until `check` (a request's status) is 401, within `ENDED_SESSION_BOUND`, and returns
/// how long that took.
async fn refused_within_bound<F, Fut>(what: &str, started: Instant, check: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    loop {
        let status = check().await;
        if status == StatusCode::UNAUTHORIZED {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < ENDED_SESSION_BOUND,
            "{what} still answered {status} {:?} after the session ended",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_demoted_admin_and_a_deactivated_customer_are_refused_everywhere_within_seconds() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway-a").await;
    let book = cluster.book_with_stock(50).await;

    // Olga is made an admin and logs in as one; Bob is a customer with an order.
    let olga = cluster.customer("olga@shop.example").await;
    let olga_id = cluster.user_id(&olga).await;
    let patch_user = |id: String, body: Value| {
        let (cluster, admin) = (&cluster, cluster.admin.clone());
        async move {
            cluster
                .request(
                    reqwest::Method::PATCH,
                    cluster.url("users", &format!("/api/v1/users/{id}")),
                    Some(&admin),
                    Some(body),
                )
                .await
        }
    };
    let (status, body) = patch_user(olga_id.clone(), serde_json::json!({ "role": "admin" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let olga = cluster.login("olga@shop.example").await;
    let bob = cluster.customer("bob@shop.example").await;
    let bob_id = cluster.user_id(&bob).await;
    order(&cluster, &bob, &book).await;

    let set_stock = |token: String| {
        let (cluster, book) = (&cluster, book.clone());
        async move {
            cluster
                .request(
                    reqwest::Method::PUT,
                    cluster.url("inventory", &format!("/api/v1/inventory/{book}")),
                    Some(&token),
                    Some(serde_json::json!({ "available": 40 })),
                )
                .await
                .0
        }
    };
    let list_orders = |token: String| {
        let cluster = &cluster;
        async move {
            cluster
                .get("orders", "/api/v1/orders", Some(&token))
                .await
                .0
        }
    };
    assert_eq!(set_stock(olga.clone()).await, StatusCode::OK);
    assert_eq!(list_orders(olga.clone()).await, StatusCode::OK);
    assert_eq!(list_orders(bob.clone()).await, StatusCode::OK);
    let mut clients = Clients::connect(
        &gateway,
        "websocket",
        &[
            ("olga", Some(&olga)),
            ("bob", Some(&bob)),
            ("ops", Some(&cluster.admin.clone())),
        ],
    )
    .await;
    for name in ["olga", "bob", "ops"] {
        clients.connected(name).await;
    }

    // Demotion: inventory and orders refuse her admin token, the gateway closes her socket.
    let started = Instant::now();
    let (status, body) = patch_user(olga_id, serde_json::json!({ "role": "customer" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let inventory = refused_within_bound("inventory", started, || set_stock(olga.clone())).await;
    let orders = refused_within_bound("orders", started, || list_orders(olga.clone())).await;
    let told = clients
        .wait_for(
            "olga's socket to be told",
            ENDED_SESSION_BOUND + Duration::from_secs(2),
            |l| l["socket"] == "olga" && l["event"] == "session_expired",
        )
        .await;
    assert!(
        told["data"]["reason"]
            .as_str()
            .unwrap()
            .contains("session ended"),
        "{told}"
    );
    clients
        .wait_for("olga's socket to close", Duration::from_secs(5), |l| {
            l["socket"] == "olga" && l["type"] == "disconnect"
        })
        .await;
    println!(
        "demoted admin refused by inventory after {inventory:?}, by orders after {orders:?}, socket closed after {:?}",
        started.elapsed()
    );

    // Deactivation: the same for a customer's order list and socket.
    let started = Instant::now();
    let (status, body) = patch_user(bob_id, serde_json::json!({ "active": false })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let orders = refused_within_bound("orders", started, || list_orders(bob.clone())).await;
    clients
        .wait_for(
            "bob's socket to close",
            ENDED_SESSION_BOUND + Duration::from_secs(2),
            |l| l["socket"] == "bob" && l["type"] == "disconnect",
        )
        .await;
    println!(
        "deactivated customer refused by orders after {orders:?}, socket closed after {:?}",
        started.elapsed()
    );

    // A gateway started after both endings learns them from the users service's repetition:
    // within its period, neither token connects there.
    let late = cluster.spawn_gateway("gateway-b").await;
    let deadline = Instant::now() + users::endings::REPEAT_EVERY + ENDED_SESSION_BOUND;
    loop {
        let mut attempt = Clients::connect(&late, "websocket", &[("olga", Some(&olga))]).await;
        let line = attempt
            .wait_for("olga's connection attempt", Duration::from_secs(20), |l| {
                l["socket"] == "olga" && (l["type"] == "connect" || l["type"] == "connect_error")
            })
            .await;
        attempt.stop().await;
        if line["type"] == "connect_error" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the late gateway still accepted an ended session's token"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The admin who made the changes is untouched everywhere.
    clients.collect(Duration::from_millis(1500)).await;
    assert!(
        !clients
            .seen
            .iter()
            .any(|l| l["socket"] == "ops" && l["type"] == "disconnect")
    );
    let (status, _) = cluster
        .get("orders", "/api/v1/orders", Some(&cluster.admin))
        .await;
    assert_eq!(status, StatusCode::OK);
    clients.stop().await;
    cluster.stop().await;
}
