//! The black-box end-to-end suite: the split components as separate processes (users, catalog,
//! inventory, orders and two workers) on PostgreSQL and RabbitMQ, driven only through their
//! HTTP APIs and the `bookstore` command line. Fault proxies stand between the components and
//! RabbitMQ, and between the workers and inventory, so outages are staged without touching the
//! shared servers. Each test gets its own database and broker namespace.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;

use std::time::{Duration, Instant};

use cluster::{Cluster, RETRY_MAX_ATTEMPTS, Until, broker};
use contracts::Line;
use contracts::consumers::ORDER_PLACED_WORKER;
use contracts::events::{Event, OrderPlaced};
use platform::messaging::Bus;
use platform::testing::{FaultMode, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_orders_for_ten_units_sell_exactly_ten() {
    let Some(broker) = broker().await else { return };
    let cluster = std::sync::Arc::new(Cluster::start(broker).await);
    let book = cluster.book_with_stock(10).await;
    let mut customers = Vec::new();
    for i in 0..5 {
        customers.push(cluster.customer(&format!("buyer{i}@shop.example")).await);
    }
    // Stock is sampled while orders are processed: it must never go below zero.
    let watcher = {
        let (cluster, book) = (cluster.clone(), book.clone());
        tokio::spawn(async move {
            let mut lowest = i64::MAX;
            for _ in 0..200 {
                lowest = lowest.min(cluster.stock(&book).await);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            lowest
        })
    };
    let mut placing = tokio::task::JoinSet::new();
    for n in 0..200 {
        let (cluster, token, book) = (cluster.clone(), customers[n % 5].clone(), book.clone());
        placing.spawn(async move {
            cluster
                .place(&token, &book, 1, Some(&format!("order-{n}")))
                .await
        });
    }
    while let Some(result) = placing.join_next().await {
        let (status, body) = result.unwrap();
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    let orders = cluster.settled(Duration::from_secs(90)).await;
    assert_eq!(orders.len(), 200);
    let completed = orders.iter().filter(|o| o["status"] == "completed").count();
    let failed: Vec<&Value> = orders.iter().filter(|o| o["status"] == "failed").collect();
    assert_eq!(completed, 10, "exactly the stock is sold");
    assert_eq!(failed.len(), 190);
    assert!(failed.iter().all(|o| o["reason"] == "out_of_stock"));
    assert_eq!(cluster.stock(&book).await, 0);
    assert!(watcher.await.unwrap() >= 0, "stock went below zero");
    // The catalogue's read model follows inventory.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, view) = cluster
            .get("catalog", &format!("/api/v1/books/{book}"), None)
            .await;
        if view["available"] == 0 && view["in_stock"] == false {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the catalogue still shows {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    std::sync::Arc::into_inner(cluster).unwrap().stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn workers_killed_mid_processing_lose_nothing_and_apply_nothing_twice() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(1000).await;
    let token = cluster.customer("crash@shop.example").await;
    let mut ids = Vec::new();
    for n in 0..80 {
        let (status, body) = cluster
            .place(&token, &book, 3, Some(&format!("k{n}")))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        ids.push(body["id"].as_str().unwrap().to_owned());
        if n == 40 {
            // Mid-stream, with messages in flight: both workers die without warning.
            cluster.kill("worker-a").await;
            cluster.kill("worker-b").await;
        }
    }
    cluster.spawn_worker("worker-a").await;
    let orders = cluster.settled(Duration::from_secs(60)).await;
    assert_eq!(orders.len(), 80);
    assert!(
        orders.iter().all(|o| o["status"] == "completed"),
        "{orders:?}"
    );
    assert_eq!(
        cluster.stock(&book).await,
        1000 - 80 * 3,
        "each order took its units exactly once"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orders_are_accepted_while_rabbitmq_is_down_and_processed_once_it_is_back() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(500).await;
    let token = cluster.customer("outage@shop.example").await;
    cluster.faults().amqp.set(FaultMode::Down);
    let outage = Instant::now();
    let mut placed = 0;
    while outage.elapsed() < Duration::from_secs(30) {
        let (status, body) = cluster.place(&token, &book, 1, None).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "the outbox holds orders while the broker is down: {body}"
        );
        placed += 1;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let still_pending = cluster
        .all_orders()
        .await
        .iter()
        .filter(|o| o["status"] == "pending")
        .count();
    assert_eq!(
        still_pending, placed,
        "nothing can be processed without the broker"
    );
    cluster.faults().amqp.set(FaultMode::Forward);
    let orders = cluster.settled(Duration::from_secs(60)).await;
    assert_eq!(orders.len(), placed, "none lost, none duplicated");
    assert!(orders.iter().all(|o| o["status"] == "completed"));
    assert_eq!(cluster.stock(&book).await, 500 - placed as i64);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_message_is_dead_lettered_and_the_worker_keeps_consuming() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let token = cluster.customer("poison@shop.example").await;
    let poison = cluster.publish_poison().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.dead_letters().await < 1 {
        assert!(
            Instant::now() < deadline,
            "the poison message did not reach the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listing = cluster
        .cli(&["dlq", "list", "--consumer", ORDER_PLACED_WORKER])
        .await;
    assert!(
        listing.contains(&poison.id) && listing.contains("unreadable order.placed payload"),
        "{listing}"
    );
    let (_, order) = cluster.place(&token, &book, 1, None).await;
    cluster
        .wait_status(
            &token,
            order["id"].as_str().unwrap(),
            "completed",
            Duration::from_secs(20),
        )
        .await;
    let purge_dry = cluster
        .cli(&[
            "dlq",
            "purge",
            "--consumer",
            ORDER_PLACED_WORKER,
            "--dry-run",
        ])
        .await;
    assert!(purge_dry.contains("Would purge 1"), "{purge_dry}");
    assert_eq!(cluster.dead_letters().await, 1);
    let purged = cluster
        .cli(&["dlq", "purge", "--consumer", ORDER_PLACED_WORKER])
        .await;
    assert!(purged.contains("Purged 1"), "{purged}");
    assert_eq!(cluster.dead_letters().await, 0);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inventory_failing_for_a_while_delays_orders_and_redrive_completes_exhausted_ones() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let token = cluster.customer("flaky@shop.example").await;

    // A short outage: retries with growing delays carry the order through.
    cluster.faults().inventory.set(FaultMode::Unavailable);
    let (_, short) = cluster.place(&token, &book, 1, None).await;
    let short = short["id"].as_str().unwrap().to_owned();
    let retried =
        "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"retry\"";
    // A worker meets a 503 and puts the order back to try again; meanwhile it stays pending.
    eventually(
        "a worker puts back the order inventory refused",
        Duration::from_secs(20),
        async || cluster.workers_metric(retried).await >= 1.0,
    )
    .await;
    assert_eq!(cluster.status_of(&token, &short).await, "pending");
    cluster.faults().inventory.set(FaultMode::Forward);
    cluster
        .wait_status(&token, &short, "completed", Duration::from_secs(20))
        .await;
    let retries = cluster.workers_metric(retried).await;
    assert!(retries >= 1.0, "the 503s were retried");

    // A long outage: the attempts run out and the message waits in the dead-letter queue.
    cluster.faults().inventory.set(FaultMode::Unavailable);
    let (_, long) = cluster.place(&token, &book, 1, None).await;
    let long = long["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.dead_letters().await < 1 {
        assert!(
            Instant::now() < deadline,
            "the exhausted message did not reach the dead-letter queue"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listing = cluster
        .cli(&["dlq", "list", "--consumer", ORDER_PLACED_WORKER])
        .await;
    assert!(
        listing.contains(&format!("attempts={RETRY_MAX_ATTEMPTS}")) && listing.contains("503"),
        "{listing}"
    );
    assert_eq!(cluster.status_of(&token, &long).await, "pending");

    cluster.faults().inventory.set(FaultMode::Forward);
    let dry = cluster
        .cli(&[
            "dlq",
            "redrive",
            "--consumer",
            ORDER_PLACED_WORKER,
            "--dry-run",
        ])
        .await;
    assert!(dry.contains("Would redrive 1"), "{dry}");
    assert_eq!(cluster.dead_letters().await, 1, "a dry run moves nothing");
    let redriven = cluster
        .cli(&["dlq", "redrive", "--consumer", ORDER_PLACED_WORKER])
        .await;
    assert!(redriven.contains("Redrove 1"), "{redriven}");
    cluster
        .wait_status(&token, &long, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(cluster.stock(&book).await, 8);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_requests_and_redelivered_events_change_nothing() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let token = cluster.customer("twice@shop.example").await;
    let (first_status, first) = cluster.place(&token, &book, 2, Some("same-key")).await;
    let (second_status, second) = cluster.place(&token, &book, 2, Some("same-key")).await;
    assert_eq!(
        (first_status, second_status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(first["id"], second["id"]);
    let id = first["id"].as_str().unwrap().to_owned();
    cluster
        .wait_status(&token, &id, "completed", Duration::from_secs(20))
        .await;
    assert_eq!(cluster.stock(&book).await, 8);

    // The same order.placed delivered again (a broker redelivery) finds the work done.
    let acked_before = cluster
        .workers_metric(
            "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"ack\"",
        )
        .await;
    let again = OrderPlaced {
        order_id: id.clone().into(),
        user_id: String::new().into(),
        lines: vec![Line {
            book_id: book.clone().into(),
            quantity: 2,
        }],
        placed_at: chrono::Utc::now(),
    };
    cluster
        .bus
        .publish(&again.envelope().unwrap())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let acked = cluster
            .workers_metric(
                "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"ack\"",
            )
            .await;
        if acked > acked_before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the redelivered event was not handled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cluster.stock(&book).await, 8, "stock was taken once");
    assert_eq!(cluster.status_of(&token, &id).await, "completed");
    assert_eq!(cluster.all_orders().await.len(), 1);
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn customers_reach_only_their_own_orders_and_never_internal_endpoints() {
    let Some(broker) = broker().await else { return };
    let cluster = Cluster::start(broker).await;
    let book = cluster.book_with_stock(10).await;
    let alice = cluster.customer("alice@shop.example").await;
    let bob = cluster.customer("bob@shop.example").await;
    let (_, order) = cluster.place(&bob, &book, 1, None).await;
    let bobs = order["id"].as_str().unwrap().to_owned();
    cluster
        .wait_status(&bob, &bobs, "completed", Duration::from_secs(20))
        .await;

    assert_eq!(
        cluster
            .get("orders", &format!("/api/v1/orders/{bobs}"), Some(&alice))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cluster
            .get(
                "orders",
                &format!("/api/v1/orders/{bobs}/status"),
                Some(&alice)
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        cluster
            .post(
                "orders",
                &format!("/api/v1/orders/{bobs}/cancel"),
                Some(&alice),
                json!({})
            )
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, list) = cluster.get("orders", "/api/v1/orders", Some(&alice)).await;
    assert_eq!(list["total"], 0);

    // Internal endpoints and stock changes are not for customers.
    let reserve = json!({ "reservations": [
        { "order_id": "forged", "lines": [{ "book_id": book, "quantity": 10 }] },
    ] });
    let (status, _) = cluster
        .post(
            "inventory",
            "/api/v1/inventory/reservations/batch",
            Some(&alice),
            reserve,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = cluster
        .post(
            "inventory",
            &format!("/api/v1/inventory/reservations/{bobs}/release"),
            None,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = cluster
        .request(
            reqwest::Method::PUT,
            cluster.url("inventory", &format!("/api/v1/inventory/{book}")),
            Some(&alice),
            Some(json!({ "available": 1000 })),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/status"),
            Some(&alice),
            json!({ "status": "completed" }),
        )
        .await;
    assert!(
        status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
        "{status}"
    );
    assert_eq!(cluster.stock(&book).await, 9);

    // Illegal transitions are refused; an admin's cancel gives the stock back.
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/cancel"),
            Some(&bob),
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a customer cannot cancel a completed order"
    );
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/status"),
            Some(&cluster.admin),
            json!({ "status": "delivered" }),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "delivered before shipped");
    let (status, _) = cluster
        .post(
            "orders",
            &format!("/api/v1/orders/{bobs}/cancel"),
            Some(&cluster.admin),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(20);
    while cluster.stock(&book).await != 10 {
        assert!(
            Instant::now() < deadline,
            "the cancelled order's stock did not come back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cluster.stop().await;
}

/// Uploads a book's cover or document to the catalogue component as the admin.
async fn upload(cluster: &Cluster, book: &str, what: &str, bytes: &[u8]) -> Value {
    let (content_type, body) =
        platform::testing::file_form("file", "upload.bin", "application/octet-stream", bytes);
    let response = reqwest::Client::new()
        .put(cluster.url("catalog", &format!("/api/v1/books/{book}/{what}")))
        .bearer_auth(&cluster.admin)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{what}: {}",
        cluster.log("catalog")
    );
    response.json().await.unwrap()
}

/// A GET of the catalogue's `path`: the status and the bytes.
async fn download(cluster: &Cluster, path: &str, token: Option<&str>) -> (StatusCode, Vec<u8>) {
    let mut request = reqwest::Client::new().get(cluster.url("catalog", path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uploads_live_in_s3_survive_a_restart_and_only_buyers_download_documents() {
    let Some(broker) = broker().await else { return };
    let Some(bucket) = platform::testing::TestBucket::create().await else {
        return;
    };
    let mut cluster = Cluster::start_with(
        broker,
        &[
            (
                "BOOKSTORE_OBJECT_STORE_URL",
                &format!("s3://{}/shop", bucket.name),
            ),
            ("BOOKSTORE_S3_ENDPOINT", &bucket.endpoint),
            ("BOOKSTORE_S3_ACCESS_KEY_ID", "testing"),
            ("BOOKSTORE_S3_SECRET_ACCESS_KEY", "testing"),
        ],
    )
    .await;
    let book = cluster.book_with_stock(5).await;
    let mut cover = Vec::new();
    image::RgbImage::from_pixel(400, 600, image::Rgb([120, 40, 40]))
        .write_to(
            &mut std::io::Cursor::new(&mut cover),
            image::ImageFormat::Png,
        )
        .unwrap();
    let with_cover = upload(&cluster, &book, "cover", &cover).await;
    let text = "It is a truth universally acknowledged, that a single man in possession of a good \
                fortune, must be in want of a wife.\n"
        .repeat(200);
    let with_document = upload(&cluster, &book, "document", text.as_bytes()).await;
    assert_eq!(with_document["document_kind"], "text");
    let cover_url = with_cover["cover_url"].as_str().unwrap().to_owned();
    let document_path = format!("/api/v1/books/{book}/document");
    // Everything is in the bucket, under its prefix.
    let keys = bucket.keys().await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(
        keys.iter()
            .all(|key| key.starts_with(&format!("shop/books/{book}/"))),
        "{keys:?}"
    );

    // The catalogue asks the orders service, with the customer's own token, who bought it.
    let buyer = cluster.customer("reader@shop.example").await;
    let browser = cluster.customer("browser@shop.example").await;
    // The workers cannot reach inventory for a moment, so the order is surely still pending when
    // the download is tried (the workers retry it 200 ms later).
    cluster.faults().inventory.set(FaultMode::Unavailable);
    let (status, order) = cluster.place(&buyer, &book, 1, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    let order_id = order["id"].as_str().unwrap();
    let pending = download(&cluster, &document_path, Some(&buyer)).await.0;
    cluster.faults().inventory.set(FaultMode::Forward);
    assert_eq!(pending, StatusCode::FORBIDDEN, "pending is not bought");
    cluster
        .wait_status(&buyer, order_id, "completed", Duration::from_secs(30))
        .await;
    let (status, bytes) = download(&cluster, &document_path, Some(&buyer)).await;
    assert_eq!(status, StatusCode::OK, "{}", cluster.log("catalog"));
    assert_eq!(bytes, text.as_bytes());
    assert_eq!(
        download(&cluster, &document_path, Some(&browser)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        download(&cluster, &document_path, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        download(&cluster, &document_path, Some(&cluster.admin))
            .await
            .0,
        StatusCode::OK
    );

    // A new catalogue process serves the same files from the bucket.
    cluster.kill("catalog").await;
    cluster.spawn("catalog", "catalog").await;
    let (status, jpeg) = download(&cluster, &cover_url, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(image::load_from_memory(&jpeg).unwrap().width(), 400);
    assert_eq!(
        download(&cluster, &document_path, Some(&buyer)).await,
        (StatusCode::OK, text.into_bytes())
    );

    // Deleting the book deletes its objects.
    let (status, _) = cluster
        .request(
            reqwest::Method::DELETE,
            cluster.url("catalog", &format!("/api/v1/books/{book}")),
            Some(&cluster.admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(bucket.keys().await.is_empty(), "{:?}", bucket.keys().await);
    cluster.stop().await;
}

/// Two catalogue replicas share the database and the `stock.changed` consumer (one queue: each
/// event reaches one of them). Each keeps its own response cache: a change the other replica made
/// or consumed shows within the cache's age (`BOOKSTORE_CATALOG_CACHE_MAX_AGE_SECONDS`, 2 s by
/// default), after the event's delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_catalogue_replicas_show_stock_and_edits_within_the_cache_age() {
    let Some(broker) = broker().await else { return };
    let mut cluster = Cluster::start(broker).await;
    let port = platform::testing::free_port();
    let replica_b = format!("http://127.0.0.1:{port}");
    cluster
        .launch(
            "catalog-b",
            &["catalog".to_owned()],
            vec![
                ("BOOKSTORE_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
                (
                    "BOOKSTORE_ORDERS_URL".to_owned(),
                    cluster.urls["orders"].clone(),
                ),
            ],
            &replica_b,
            Until::Ready,
        )
        .await;
    let replicas = [cluster.urls["catalog"].clone(), replica_b];
    let book = cluster.book_with_stock(5).await;
    let detail = format!("/api/v1/books/{book}");
    let read = |base: String, path: String| {
        let http = cluster.http.clone();
        async move {
            let response = http.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    // Both replicas hold the book's details and its list page.
    for base in &replicas {
        for _ in 0..2 {
            read(base.clone(), detail.clone()).await;
            read(base.clone(), "/api/v1/books?limit=100".to_owned()).await;
        }
    }
    let age = Duration::from_secs(2);
    // The event crosses RabbitMQ and one replica's consumer first.
    let delivery = Duration::from_secs(3);

    let set_at = Instant::now();
    let (status, body) = cluster
        .request(
            reqwest::Method::PUT,
            cluster.url("inventory", &format!("/api/v1/inventory/{book}")),
            Some(&cluster.admin),
            Some(json!({ "available": 42 })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for base in &replicas {
        loop {
            let shown = read(base.clone(), detail.clone()).await;
            let listed = read(base.clone(), "/api/v1/books?limit=100".to_owned()).await;
            let in_list = listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|b| b["id"] == book.as_str() && b["available"] == 42);
            if shown["available"] == 42 && in_list {
                break;
            }
            assert!(
                set_at.elapsed() < age + delivery,
                "{base} still showed the old stock {:?} after it was set",
                set_at.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // An admin's edit through replica A: at once on A, within the age on B.
    let edited_at = Instant::now();
    let (status, body) = cluster
        .request(
            reqwest::Method::PATCH,
            format!("{}{detail}", replicas[0]),
            Some(&cluster.admin),
            Some(json!({ "title": "Edited On Replica A" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        read(replicas[0].clone(), detail.clone()).await["title"],
        "Edited On Replica A"
    );
    while read(replicas[1].clone(), detail.clone()).await["title"] != "Edited On Replica A" {
        assert!(
            edited_at.elapsed() < age + Duration::from_millis(500),
            "replica B still showed the old title {:?} after the edit",
            edited_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cluster.stop().await;
}
