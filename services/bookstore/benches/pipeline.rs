//! `cargo xtask bench pipeline`: the order pipeline of the split shop (release build, PostgreSQL,
//! RabbitMQ, two workers, no fault proxies between them) under a light load, a steady load of 200
//! orders a second and then at full speed, next to what the same PostgreSQL commits under pgbench
//! in the same run.
//!
//! Placed-to-final latency is the difference between an order's `created_at` and the
//! `updated_at` of its final status, both written by the orders service, so client-side polling
//! does not blur it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/cluster.rs"]
mod cluster;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use cluster::Cluster;
use reqwest::StatusCode;
use serde_json::Value;

const LIGHT_RATE: u64 = 10;
const LIGHT_SECONDS: u64 = 5;
/// The steady phase's rate unless `BOOKSTORE_BENCH_STEADY_RATE` says otherwise: on a machine
/// that cannot sustain it, that phase measures only the growing queue, and a lower rate shows
/// the latency the pipeline gives below its saturation point.
const STEADY_RATE: u64 = 200;
const STEADY_SECONDS: u64 = 20;
const BURST_CLIENTS: usize = 64;
const BURST_SECONDS: u64 = 15;
const PGBENCH_SECONDS: &str = "15";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Placed-to-final latencies (ms) of `orders`, sorted, and the span from the first placement to
/// the last final status.
fn latencies(orders: &[Value]) -> (Vec<f64>, Duration) {
    let time =
        |o: &Value, field: &str| o[field].as_str().unwrap().parse::<DateTime<Utc>>().unwrap();
    let mut ms: Vec<f64> = orders
        .iter()
        .map(|o| {
            (time(o, "updated_at") - time(o, "created_at"))
                .num_microseconds()
                .unwrap() as f64
                / 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let first = orders.iter().map(|o| time(o, "created_at")).min().unwrap();
    let last = orders.iter().map(|o| time(o, "updated_at")).max().unwrap();
    (ms, (last - first).to_std().unwrap_or_default())
}

/// The orders of `all` whose ids are not in `seen`, which now holds them too: a phase's orders
/// out of every order the shop has.
fn new_orders(seen: &mut HashSet<String>, all: Vec<Value>) -> Vec<Value> {
    all.into_iter()
        .filter(|o| seen.insert(o["id"].as_str().unwrap().to_owned()))
        .collect()
}

/// The workers' running totals for `order.placed`: seconds messages waited before a handler
/// started on them (from the order's commit: outbox, relay and broker), seconds the handlers
/// took (reserving and settling), and how many messages those cover.
struct WorkerTotals {
    waited: f64,
    handling: f64,
    messages: f64,
}

impl WorkerTotals {
    async fn read(cluster: &Cluster) -> Self {
        let series = |name: &str| format!("{name}{{queue=\"worker.order-placed\"}}");
        Self {
            waited: cluster
                .workers_metric(&series("message_age_seconds_sum"))
                .await,
            handling: cluster
                .workers_metric(&series("message_handler_duration_seconds_sum"))
                .await,
            messages: cluster
                .workers_metric(&series("message_handler_duration_seconds_count"))
                .await,
        }
    }

    /// Mean wait and mean handling (ms) of the messages handled since `before`.
    fn means_since(&self, before: &Self) -> (f64, f64) {
        let messages = self.messages - before.messages;
        (
            1000.0 * (self.waited - before.waited) / messages,
            1000.0 * (self.handling - before.handling) / messages,
        )
    }
}

/// The machine's CPU time so far, from `/proc/stat`: (working, all) clock ticks summed over its
/// cores, and how many cores it has. Working leaves out idle, I/O wait and time stolen by the
/// hypervisor; `None` where there is no `/proc/stat`.
fn cpu_ticks() -> Option<(u64, u64, usize)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|t| t.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is counted in user already)
    let all: u64 = ticks.iter().take(8).sum();
    let not_working = ticks.get(3)? + ticks.get(4)? + ticks.get(7).unwrap_or(&0);
    let cores = stat
        .lines()
        .filter(|line| line.starts_with("cpu") && !line.starts_with("cpu "))
        .count();
    Some((all - not_working, all, cores))
}

/// The share of the machine's cores that worked between two [`cpu_ticks`] readings `took`
/// apart, and the core-milliseconds that work came to per order.
fn cpu_per_order(
    before: Option<(u64, u64, usize)>,
    after: Option<(u64, u64, usize)>,
    orders: usize,
    took: Duration,
) -> Option<(f64, f64)> {
    let ((working0, all0, _), (working1, all1, cores)) = (before?, after?);
    let share = (working1 - working0) as f64 / (all1 - all0).max(1) as f64;
    let core_ms = share * cores as f64 * took.as_secs_f64() * 1000.0;
    Some((share, core_ms / orders.max(1) as f64))
}

/// Places orders at `rate` a second for `seconds`; returns how many were accepted.
async fn steady(
    cluster: &Arc<Cluster>,
    tokens: &[String],
    books: &[String],
    rate: u64,
    seconds: u64,
) -> (usize, Duration) {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..(rate * seconds) as usize {
        tick.tick().await;
        let (cluster, token, book) = (
            cluster.clone(),
            tokens[n % tokens.len()].clone(),
            books[n % books.len()].clone(),
        );
        tasks.spawn(async move { cluster.place(&token, &book, 1, None).await.0 });
    }
    let mut accepted = 0;
    while let Some(status) = tasks.join_next().await {
        if status.unwrap() == StatusCode::ACCEPTED {
            accepted += 1;
        }
    }
    (accepted, started.elapsed())
}

/// `BURST_CLIENTS` clients placing orders back to back for `BURST_SECONDS`.
async fn burst(cluster: &Arc<Cluster>, tokens: &[String], books: &[String]) -> (usize, Duration) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(BURST_SECONDS);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..BURST_CLIENTS {
        let (cluster, token, books) = (
            cluster.clone(),
            tokens[n % tokens.len()].clone(),
            books.to_vec(),
        );
        tasks.spawn(async move {
            let mut accepted = 0;
            while Instant::now() < deadline {
                let book = &books[(n + accepted) % books.len()];
                if cluster.place(&token, book, 1, None).await.0 == StatusCode::ACCEPTED {
                    accepted += 1;
                }
            }
            accepted
        });
    }
    let mut accepted = 0;
    while let Some(count) = tasks.join_next().await {
        accepted += count.unwrap();
    }
    (accepted, started.elapsed())
}

/// pgbench's simple-update transactions per second on the same server, on a scratch database.
fn pgbench() -> f64 {
    let name = format!(
        "bookstore_pgbench_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let psql = |sql: &str| {
        let status = std::process::Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-qc", sql])
            .status()
            .unwrap();
        assert!(status.success(), "psql {sql}");
    };
    psql(&format!("CREATE DATABASE {name}"));
    let init = std::process::Command::new("pgbench")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-i",
            "-q",
            "-s",
            "10",
            &name,
        ])
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let run = std::process::Command::new("pgbench")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-N",
            "-c",
            "8",
            "-j",
            "2",
            "-T",
            PGBENCH_SECONDS,
            &name,
        ])
        .output()
        .unwrap();
    psql(&format!("DROP DATABASE {name}"));
    let out = String::from_utf8_lossy(&run.stdout);
    let tps = out
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|n| n.parse().ok());
    tps.unwrap_or_else(|| panic!("no tps in pgbench output: {out}"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is expected.
    let steady_rate: u64 = match std::env::var("BOOKSTORE_BENCH_STEADY_RATE") {
        Ok(rate) => rate
            .parse()
            .ok()
            .filter(|&r| r > 0)
            .expect("BOOKSTORE_BENCH_STEADY_RATE must be a whole number of orders a second"),
        Err(_) => STEADY_RATE,
    };
    let broker = cluster::broker()
        .await
        .expect("the pipeline benchmark needs RabbitMQ");
    eprintln!("starting the split shop (release build)...");
    let cluster = Arc::new(Cluster::start_direct(broker).await);
    // Orders spread over 20 books, as shoppers' would be, rather than all on one stock row.
    let (_, page) = cluster.get("catalog", "/api/v1/books?limit=20", None).await;
    let mut books = Vec::new();
    for item in page["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap().to_owned();
        let url = cluster.url("inventory", &format!("/api/v1/inventory/{id}"));
        let (status, _) = cluster
            .request(
                reqwest::Method::PUT,
                url,
                Some(&cluster.admin),
                Some(serde_json::json!({ "available": 1_000_000_000 })),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        books.push(id);
    }
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(cluster.customer(&format!("bench{i}@shop.example")).await);
    }

    // The floor: an order's path with the shop nearly idle.
    eprintln!("light load: {LIGHT_RATE} orders/s for {LIGHT_SECONDS} s...");
    steady(&cluster, &tokens, &books, LIGHT_RATE, LIGHT_SECONDS).await;
    let mut seen = HashSet::new();
    let light_orders = new_orders(&mut seen, cluster.settled(Duration::from_secs(60)).await);
    let (light_ms, _) = latencies(&light_orders);

    eprintln!("steady load: {steady_rate} orders/s for {STEADY_SECONDS} s...");
    let totals_before = WorkerTotals::read(&cluster).await;
    let cpu_before = cpu_ticks();
    let (steady_accepted, steady_took) =
        steady(&cluster, &tokens, &books, steady_rate, STEADY_SECONDS).await;
    let steady_cpu = cpu_per_order(cpu_before, cpu_ticks(), steady_accepted, steady_took);
    let steady_orders = new_orders(&mut seen, cluster.settled(Duration::from_secs(300)).await);
    let (steady_ms, _) = latencies(&steady_orders);
    let (mean_wait_ms, mean_handling_ms) = WorkerTotals::read(&cluster)
        .await
        .means_since(&totals_before);

    eprintln!("full speed: {BURST_CLIENTS} clients for {BURST_SECONDS} s...");
    let (burst_accepted, burst_took) = burst(&cluster, &tokens, &books).await;
    let burst_orders = new_orders(&mut seen, cluster.settled(Duration::from_secs(600)).await);
    let (burst_ms, burst_span) = latencies(&burst_orders);
    let retry = "worker_messages_handled_total{consumer=\"worker.order-placed\",outcome=\"retry\"}";
    let retries = cluster.workers_metric(retry).await;
    if retries > 0.0 {
        eprintln!("worker log (last lines):\n{}", cluster.log("worker-a"));
    }
    let completed = burst_orders
        .iter()
        .filter(|o| o["status"] == "completed")
        .count();
    let completed_rate = completed as f64 / burst_span.as_secs_f64();
    Arc::into_inner(cluster).unwrap().stop().await;

    eprintln!("pgbench -N on the same server for {PGBENCH_SECONDS} s...");
    let tps = pgbench();

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| light load ({LIGHT_RATE} orders/s): placed-to-final p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&light_ms, 0.5),
        percentile(&light_ms, 0.99)
    );
    println!(
        "| steady load: orders accepted / offered | {steady_accepted} / {} in {:.1} s ({:.0} orders/s) |",
        steady_rate * STEADY_SECONDS,
        steady_took.as_secs_f64(),
        steady_accepted as f64 / steady_took.as_secs_f64()
    );
    println!(
        "| steady load: placed-to-final p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&steady_ms, 0.5),
        percentile(&steady_ms, 0.99)
    );
    println!(
        "| steady load: mean wait of `order.placed` before the worker / mean handling | {mean_wait_ms:.1} ms / {mean_handling_ms:.1} ms |"
    );
    let steady_cpu = steady_cpu.map_or_else(
        || "not measured (no /proc/stat)".to_owned(),
        |(busy, per_order)| format!("{:.0}% / {per_order:.1} ms", 100.0 * busy),
    );
    println!("| steady load: machine's cores working / core time per order | {steady_cpu} |");
    println!(
        "| full speed: orders placed | {burst_accepted} in {:.1} s ({:.0} orders/s) |",
        burst_took.as_secs_f64(),
        burst_accepted as f64 / burst_took.as_secs_f64()
    );
    println!("| full speed: completed orders per second | {completed_rate:.0} |");
    println!(
        "| full speed: placed-to-final p50 / p99 | {:.1} ms / {:.1} ms |",
        percentile(&burst_ms, 0.5),
        percentile(&burst_ms, 0.99)
    );
    println!("| messages retried by the workers (both phases) | {retries} |");
    println!("| pgbench simple-update (-N, 8 clients) | {tps:.0} tps |");
    println!(
        "| completed-order rate / pgbench tps | {:.1}% |",
        100.0 * completed_rate / tps
    );
}
