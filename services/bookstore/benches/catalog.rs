//! `cargo xtask bench catalog`: catalogue reads as a client sees them, next to the limit of the
//! machine. In one process tree: `bookstore all` (SQLite), `bookstore catalog` on PostgreSQL (in
//! the split shop), and nginx serving the same response bytes from files; one load generator
//! (wrk, 2 threads) against each in turn, interleaved over three rounds, medians reported.
//!
//! Scenarios, at 10 and 64 connections:
//! - `list`: a page of 100 books asked again and again (from the cache after the first);
//! - `detail`: one book's details, the same way;
//! - `304`: the page with `If-None-Match` naming it;
//! - `cold`: a page not seen before on every request (a new `max_price` each time), which reads
//!   the database and serialises every row (nginx has no such case).
//!
//! Needs wrk and nginx on the PATH (Debian: `apt-get install wrk nginx-light`), PostgreSQL and
//! RabbitMQ on loopback.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/cluster.rs"]
mod cluster;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use cluster::Cluster;
use platform::testing::free_port;
use tokio::process::{Child, Command};

const ROUNDS: usize = 3;
const SECONDS_PER_RUN: u32 = 8;
const CONNECTIONS: [u32; 2] = [10, 64];
const PAGE: &str = "/api/v1/books?limit=100";

/// One wrk run's figures.
#[derive(Debug, Clone, Copy)]
struct Figures {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// wrk's Lua script: requests for `path`, with `header` if given; `cold` makes every request a
/// page not asked for before.
fn script(dir: &Path, name: &str, path: &str, header: Option<(&str, &str)>, cold: bool) -> PathBuf {
    let header = header.map_or(String::new(), |(name, value)| {
        format!("wrk.headers[\"{name}\"] = '{value}'\n")
    });
    let request = if cold {
        // Each thread counts on its own from its own range (`base`, set in the thread's state
        // by `setup`): no two requests share a page. wrk's Lua is 5.1: no integer division.
        "counter = 0\n\
         setup = function(thread) thread:set(\"base\", math.random(1, 90000) * 1000) end\n\
         request = function()\n\
           counter = counter + 1\n\
           local cents = 100000 + base + counter\n\
           return wrk.format(\"GET\", string.format(\"PATH&max_price=%d.%02d\", math.floor(cents / 100), cents % 100))\n\
         end\n"
            .replace("PATH", path)
    } else {
        format!("wrk.path = '{path}'\n")
    };
    let file = dir.join(format!("{name}.lua"));
    let done = "done = function(summary, latency, requests)\n\
                io.write(string.format(\"RESULT %f %f %f %d %d\\n\", summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\n\
                end\n";
    std::fs::write(&file, format!("{header}{request}{done}")).unwrap();
    file
}

async fn wrk(base: &str, script: &Path, connections: u32) -> Figures {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{SECONDS_PER_RUN}s"),
            "-s",
            script.to_str().unwrap(),
            base,
        ])
        .output()
        .await
        .expect("wrk is needed: apt-get install wrk");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| {
            panic!(
                "wrk said: {stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let values: Vec<f64> = line.split(' ').map(|v| v.parse().unwrap()).collect();
    assert_eq!(values[3], 0.0, "non-2xx/3xx answers: {line}");
    assert_eq!(values[4], 0.0, "socket errors: {line}");
    Figures {
        requests_per_second: values[0],
        p50_ms: values[1],
        p99_ms: values[2],
    }
}

async fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while reqwest::get(format!("{base}/readyz"))
        .await
        .map(|r| !r.status().is_success())
        .unwrap_or(true)
    {
        assert!(Instant::now() < deadline, "{base} did not become ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `bookstore all` on a data directory of its own, and its base URL.
async fn start_all(dir: &Path) -> (Child, String) {
    let port = free_port();
    let child = Command::new(cluster::BIN)
        .arg("all")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BOOKSTORE_DATA_DIR", dir.join("all"))
        .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&base).await;
    (child, base)
}

/// A running nginx, stopped with its workers when dropped (killing the master alone would
/// leave the workers running).
struct Nginx {
    conf: PathBuf,
    _master: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::process::Command::new("nginx")
            .args(["-c", self.conf.to_str().unwrap(), "-s", "quit"])
            .stderr(Stdio::null())
            .status();
    }
}

/// nginx serving `files` (URL path → bytes) from `dir`, with ETags; its base URL.
async fn start_nginx(dir: &Path, files: &BTreeMap<&str, Vec<u8>>) -> (Nginx, String) {
    let root = dir.join("nginx");
    std::fs::create_dir_all(root.join("www")).unwrap();
    let mut locations = String::new();
    for (n, (path, bytes)) in files.iter().enumerate() {
        let file = root.join("www").join(format!("{n}.json"));
        std::fs::write(&file, bytes).unwrap();
        // nginx matches the path alone: the query string is not part of a location.
        let path = path.split('?').next().unwrap_or(path);
        locations.push_str(&format!(
            "location = {path} {{ default_type application/json; alias {}; }}\n",
            file.display()
        ));
    }
    let port = free_port();
    let conf = root.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2;\npid {root}/nginx.pid;\nerror_log {root}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{ access_log off; etag on; keepalive_requests 1000000;\n\
             client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;\n\
             server {{ listen 127.0.0.1:{port}; {locations} }} }}\n",
            root = root.display()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    let master = Command::new("nginx")
        .args(["-c", conf.to_str().unwrap(), "-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("nginx is needed: apt-get install nginx-light");
    let nginx = Nginx {
        conf,
        _master: master,
    };
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while reqwest::get(format!("{base}{PAGE}")).await.is_err() {
        assert!(Instant::now() < deadline, "nginx did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (nginx, base)
}

/// The body and ETag of `path` on `base`.
async fn fetch(base: &str, path: &str) -> (Vec<u8>, String) {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    assert!(response.status().is_success(), "{base}{path}");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (response.bytes().await.unwrap().to_vec(), etag)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[tokio::main]
async fn main() {
    let broker = cluster::broker()
        .await
        .expect("RabbitMQ is needed on loopback");
    let dir = std::env::temp_dir().join(format!("bookstore-bench-catalog-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    println!("starting bookstore all, the split shop on PostgreSQL and nginx ...");
    let (_all, all) = start_all(&dir).await;
    let cluster = Cluster::start_direct(broker).await;
    let split = cluster.url("catalog", "");
    let (page, _) = fetch(&all, PAGE).await;
    let first: serde_json::Value = serde_json::from_slice(&page).unwrap();
    let book_path = format!(
        "/api/v1/books/{}",
        first["items"][0]["id"].as_str().unwrap()
    );
    let (book, _) = fetch(&all, &book_path).await;
    let (_nginx, nginx) = start_nginx(
        &dir,
        &BTreeMap::from([(PAGE, page.clone()), (book_path.as_str(), book)]),
    )
    .await;

    // The split catalogue has its own ids: the same page and book by position.
    let (split_page, _) = fetch(&split, PAGE).await;
    let split_first: serde_json::Value = serde_json::from_slice(&split_page).unwrap();
    let split_book = format!(
        "/api/v1/books/{}",
        split_first["items"][0]["id"].as_str().unwrap()
    );
    println!(
        "a page of 100 books: {} bytes (all), {} bytes (PostgreSQL); a book: {book_path}",
        page.len(),
        split_page.len()
    );

    // (scenario, server) → the script to run.
    let mut runs: Vec<(&str, &str, String, PathBuf)> = Vec::new();
    for (server, base, detail) in [
        ("all", all.as_str(), book_path.as_str()),
        ("catalog-pg", split.as_str(), split_book.as_str()),
        ("nginx", nginx.as_str(), book_path.as_str()),
    ] {
        let (_, etag) = fetch(base, PAGE).await;
        let name = |scenario: &str| format!("{scenario}-{server}");
        runs.push((
            "list",
            server,
            base.to_owned(),
            script(&dir, &name("list"), PAGE, None, false),
        ));
        runs.push((
            "detail",
            server,
            base.to_owned(),
            script(&dir, &name("detail"), detail, None, false),
        ));
        runs.push((
            "304",
            server,
            base.to_owned(),
            script(
                &dir,
                &name("304"),
                PAGE,
                Some(("If-None-Match", &etag)),
                false,
            ),
        ));
        if server != "nginx" {
            runs.push((
                "cold",
                server,
                base.to_owned(),
                script(&dir, &name("cold"), PAGE, None, true),
            ));
        }
    }

    let mut results: BTreeMap<(String, String, u32), Vec<Figures>> = BTreeMap::new();
    for round in 1..=ROUNDS {
        for connections in CONNECTIONS {
            for (scenario, server, base, script) in &runs {
                let figures = wrk(base, script, connections).await;
                println!(
                    "round {round}: {scenario:<6} {server:<10} c={connections:<3} {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
                    figures.requests_per_second, figures.p50_ms, figures.p99_ms
                );
                results
                    .entry(((*scenario).to_owned(), (*server).to_owned(), connections))
                    .or_default()
                    .push(figures);
            }
        }
    }

    println!("\nmedians of {ROUNDS} rounds, {SECONDS_PER_RUN} s each, wrk -t2:\n");
    println!("| scenario | server | connections | req/s | p50 ms | p99 ms | of nginx |");
    println!("|---|---|---|---|---|---|---|");
    let medians = |key: &(String, String, u32)| {
        results.get(key).map(|runs| {
            let mut rps: Vec<f64> = runs.iter().map(|f| f.requests_per_second).collect();
            let mut p50: Vec<f64> = runs.iter().map(|f| f.p50_ms).collect();
            let mut p99: Vec<f64> = runs.iter().map(|f| f.p99_ms).collect();
            (median(&mut rps), median(&mut p50), median(&mut p99))
        })
    };
    for (scenario, server, connections) in results.keys() {
        let (rps, p50, p99) = medians(&(scenario.clone(), server.clone(), *connections)).unwrap();
        // Cold pages are compared with nginx serving the list page.
        let reference = if scenario == "cold" {
            "list"
        } else {
            scenario.as_str()
        };
        let ratio = medians(&(reference.to_owned(), "nginx".to_owned(), *connections))
            .map_or(String::from("–"), |(nginx, _, _)| {
                format!("{:.0}%", rps / nginx * 100.0)
            });
        println!(
            "| {scenario} | {server} | {connections} | {rps:.0} | {p50:.2} | {p99:.2} | {ratio} |"
        );
    }
    cluster.stop().await;
}
