//! `cargo xtask bench notify`: a notification gateway (release build, its own process on
//! RabbitMQ, next to the split shop) holding 1,000 websocket clients of the official Socket.IO
//! client, one customer each, while every customer's order goes from placed to completed.
//!
//! Reports the push latency as the clients see it, from the status change's commit time (the
//! event's `at`, written by the orders service) to the client receiving it, and the gateway's
//! resident memory per idle socket (its RSS with the sockets connected, minus before, divided by
//! their number).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/cluster.rs"]
mod cluster;
#[path = "../tests/support/socketio.rs"]
mod socketio;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cluster::Cluster;
use platform::auth::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use socketio::Clients;

const SOCKETS: usize = 1000;
/// Orders placed per second: well inside what the pipeline sustains, so the latency measured is
/// the gateway's path (relay, broker, gateway, client), not a backlog of orders.
const ORDER_RATE: u64 = 100;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// Receipt minus status-change time, in ms, of every status event the clients got.
fn latencies(lines: &[Value], status: Option<&str>) -> Vec<f64> {
    let mut ms: Vec<f64> = lines
        .iter()
        .filter(|l| l["event"] == "order_status_change")
        .filter(|l| status.is_none_or(|s| l["data"]["status"] == s))
        .map(|l| {
            let changed = l["data"]["at"]
                .as_str()
                .unwrap()
                .parse::<DateTime<Utc>>()
                .unwrap();
            l["at"].as_f64().unwrap() - changed.timestamp_micros() as f64 / 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let broker = cluster::broker()
        .await
        .expect("the notification benchmark needs RabbitMQ");
    eprintln!("starting the split shop and a gateway (release build)...");
    let mut cluster = Cluster::start(broker).await;
    let gateway = cluster.spawn_gateway("gateway").await;
    let gateway_pid = cluster.processes["gateway"].id().unwrap();
    let book = cluster.book_with_stock(1_000_000_000).await;
    // Customers as the users service would sign them in; the orders service needs no more.
    let customers: Vec<(String, String)> = (0..SOCKETS)
        .map(|i| {
            let id = format!("bench-customer-{i:04}");
            let token = cluster.token(&id, Role::Customer, Duration::from_secs(3600));
            (id, token)
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_before = rss_kib(gateway_pid);

    eprintln!("connecting {SOCKETS} websocket clients...");
    let connecting = Instant::now();
    let sockets: Vec<Value> = customers
        .iter()
        .map(|(id, token)| json!({ "name": id, "token": token }))
        .collect();
    let mut clients =
        Clients::start(json!({ "url": gateway, "transport": "websocket", "sockets": sockets }))
            .await;
    for (id, _) in &customers {
        clients.connected(id).await;
    }
    let connect_took = connecting.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_after = rss_kib(gateway_pid);
    let per_socket = (idle_after.saturating_sub(idle_before)) as f64 / SOCKETS as f64;

    eprintln!("placing one order per customer, {ORDER_RATE} a second...");
    let cluster = Arc::new(cluster);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / ORDER_RATE));
    let mut placing = tokio::task::JoinSet::new();
    for (_, token) in &customers {
        tick.tick().await;
        let (cluster, token, book) = (cluster.clone(), token.clone(), book.clone());
        placing.spawn(async move { cluster.place(&token, &book, 1, None).await.0 });
    }
    while let Some(status) = placing.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::ACCEPTED);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let expected = 2 * SOCKETS;
    while clients
        .seen
        .iter()
        .filter(|l| l["event"] == "order_status_change")
        .count()
        < expected
    {
        assert!(Instant::now() < deadline, "not every status change arrived");
        clients.collect(Duration::from_millis(200)).await;
    }
    let busy = rss_kib(gateway_pid);
    let all = latencies(&clients.seen, None);
    let completed = latencies(&clients.seen, Some("completed"));
    let received = all.len();
    clients.stop().await;
    Arc::into_inner(cluster).unwrap().stop().await;

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| websocket clients connected | {SOCKETS} in {:.1} s |",
        connect_took.as_secs_f64()
    );
    println!(
        "| gateway RSS before / with {SOCKETS} idle sockets / after the events | {idle_before} KiB / {idle_after} KiB / {busy} KiB |"
    );
    println!("| gateway memory per idle socket | {per_socket:.1} KiB |");
    println!("| status changes received / expected | {received} / {expected} |");
    println!(
        "| status change to client, all events: p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&all, 0.5),
        percentile(&all, 0.99)
    );
    println!(
        "| status change to client, `completed` (set by the worker): p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&completed, 0.5),
        percentile(&completed, 0.99)
    );
}
