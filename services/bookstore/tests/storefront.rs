//! The web storefront end to end, in headless Chromium: the Playwright suite of
//! `services/storefront/e2e` against this build of `bookstore all`, and the purchase journey
//! against the split shop (PostgreSQL, RabbitMQ, `bookstore storefront`, the notification
//! gateway) behind a proxy that routes by path as the chart's Ingress does.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/cluster.rs"]
mod cluster;
#[path = "support/path_router.rs"]
mod path_router;

use std::path::{Path, PathBuf};
use std::process::Command;

use cluster::{ADMIN_EMAIL, BIN, Cluster, PASSWORD};
use path_router::PathRouter;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Whether the browser is there. When it is not the test fails, or under the opt-out it is
/// skipped (and says so) and this is false.
fn browser_available() -> bool {
    let browser = chromium();
    if browser.exists() {
        return true;
    }
    platform::testing::skip_or_fail(
        "Chromium (Debian's chromium, which .ci/run installs, or CHROMIUM_PATH)",
        format!("there is no {}", browser.display()),
    );
    false
}

/// Runs the Playwright suite (or the tests `args` select) with `env`, its traces and failure
/// screenshots in `test-results/<run>` (runs at the same time must not share the folder, which
/// Playwright empties when it starts), and fails with its output when a test fails.
fn playwright(run: &str, args: &[&str], env: &[(&str, String)]) {
    let app = repository().join("services/storefront");
    let output = Command::new(app.join("node_modules/.bin/playwright"))
        .arg("test")
        .arg("--output")
        .arg(app.join("test-results").join(run))
        .args(args)
        .current_dir(&app)
        .env("CHROMIUM_PATH", chromium())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap_or_else(|err| panic!("cannot run Playwright: {err}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "Playwright failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_storefront_journeys_pass_in_chromium_against_bookstore_all() {
    if !browser_available() {
        return;
    }
    playwright("all", &[], &[("BOOKSTORE_BIN", BIN.to_owned())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_buys_through_the_split_shop_behind_a_path_routing_proxy() {
    if !browser_available() {
        return;
    }
    let Some(broker) = cluster::broker().await else {
        return;
    };
    let mut cluster = Cluster::start(broker).await;
    cluster.spawn_gateway("notifications").await;
    let storefront = format!("http://127.0.0.1:{}", cluster::free_port());
    cluster.urls.insert("storefront", storefront);
    cluster.spawn("storefront", "storefront").await;
    let address = |service: &str| {
        cluster.urls[service]
            .trim_start_matches("http://")
            .parse()
            .unwrap()
    };
    // The chart's Ingress, prefix for prefix.
    let proxy = PathRouter::start(vec![
        ("/api/v1/auth".into(), address("users")),
        ("/api/v1/users".into(), address("users")),
        ("/api/v1/books".into(), address("catalog")),
        ("/api/v1/inventory".into(), address("inventory")),
        ("/api/v1/orders".into(), address("orders")),
        ("/socket.io".into(), address("notifications")),
        ("/".into(), address("storefront")),
    ])
    .await;
    let base = proxy.url();
    tokio::task::spawn_blocking(move || {
        playwright(
            "split",
            &["--grep", "@split"],
            &[
                ("E2E_BASE_URL", base.clone()),
                ("E2E_API_URL", base),
                ("E2E_ADMIN_EMAIL", ADMIN_EMAIL.to_owned()),
                ("E2E_ADMIN_PASSWORD", PASSWORD.to_owned()),
            ],
        );
    })
    .await
    .unwrap();
}
