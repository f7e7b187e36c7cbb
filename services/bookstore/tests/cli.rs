//! The `bookstore` binary as users run it: one command starts the shop, split components work
//! together, migrations and admin commands, and bad configuration stops start-up with one line.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use platform::auth::KeyPair;
use platform::messaging::rabbitmq::RabbitBus;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[path = "support/socketio.rs"]
mod socketio;

use socketio::Clients;

const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
const PASSWORD: &str = "correct horse battery";

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bookstore-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

use platform::testing::free_port;

/// The binary with a clean environment: only what a test sets reaches it.
fn bookstore(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BOOKSTORE_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

async fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().await.unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Polls `/readyz` until it answers 200, failing after a deadline.
async fn wait_ready(base: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let http = reqwest::Client::new();
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited early with {status}");
        }
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await
            && response.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} did not become ready");
}

async fn terminate(mut child: Child) -> std::process::ExitStatus {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .unwrap()
        .unwrap()
}

async fn post(url: &str, body: Value, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> Value {
    reqwest::Client::new()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Starts `bookstore` with no subcommand and returns the child and its banner lines.
async fn start_shop(data_dir: &Path, port: u16) -> (Child, Vec<String>) {
    let mut child = bookstore(&[])
        .env("BOOKSTORE_DATA_DIR", data_dir)
        .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("Admin login:");
            banner.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .unwrap();
    (child, banner)
}

#[tokio::test]
async fn one_command_runs_the_shop_with_the_sample_catalogue_and_an_admin_login() {
    let data_dir = temp_dir();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (mut child, banner) = start_shop(&data_dir, port).await;
    assert!(banner[0].contains(&base), "{banner:?}");
    wait_ready(&base, &mut child).await;

    let login_line = banner.iter().find(|l| l.contains("Admin login:")).unwrap();
    let credentials = login_line.split("Admin login:").nth(1).unwrap().trim();
    let mut parts = credentials.split_whitespace();
    let (email, _, password) = (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    );
    let saved = std::fs::read_to_string(data_dir.join("initial-admin-password")).unwrap();
    assert_eq!(saved.trim(), password);

    let (status, session) = post(
        &format!("{base}/api/v1/auth/login"),
        json!({ "email": email, "password": password }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["role"], "admin");
    assert_eq!(
        get(&format!("{base}/api/v1/books?limit=1")).await["total"],
        60
    );
    assert!(terminate(child).await.success());

    // A second start keeps the data: no second seeding, no new admin, the same key.
    let (mut child, banner) = start_shop(&data_dir, port).await;
    wait_ready(&base, &mut child).await;
    assert_eq!(
        get(&format!("{base}/api/v1/books?limit=1")).await["total"],
        60
    );
    assert!(
        banner.iter().any(|l| l.contains("password in")),
        "{banner:?}"
    );
    let (status, _) = post(
        &format!("{base}/api/v1/auth/login"),
        json!({ "email": email, "password": password }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(terminate(child).await.success());
    let _ = std::fs::remove_dir_all(data_dir);
}

#[tokio::test]
async fn the_one_command_shop_pushes_order_updates_over_socket_io_on_its_own_port() {
    let data_dir = temp_dir();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (mut child, _) = start_shop(&data_dir, port).await;
    wait_ready(&base, &mut child).await;
    let (status, session) = post(
        &format!("{base}/api/v1/auth/register"),
        json!({ "email": "reader@shop.example", "password": PASSWORD }),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{session}");
    let token = session["access_token"].as_str().unwrap();
    let mut clients = Clients::connect(&base, "websocket", &[("reader", Some(token))]).await;
    clients.connected("reader").await;
    let book = get(&format!("{base}/api/v1/books?limit=1")).await["items"][0]["id"].clone();
    let (status, order) = post(
        &format!("{base}/api/v1/orders"),
        json!({ "lines": [{ "book_id": book, "quantity": 1 }] }),
        Some(token),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    clients
        .wait_for("the order to complete", Duration::from_secs(30), |l| {
            l["data"]["order_id"] == order["id"] && l["data"]["status"] == "completed"
        })
        .await;
    let statuses: Vec<Value> = clients
        .status_events("reader")
        .into_iter()
        .map(|e| e["status"].clone())
        .collect();
    assert_eq!(statuses, ["pending", "completed"]);
    // Stopping the shop closes connected sockets instead of waiting for them.
    assert!(terminate(child).await.success());
    clients
        .wait_for("the socket to be closed", Duration::from_secs(10), |l| {
            l["type"] == "disconnect"
        })
        .await;
    clients.stop().await;
}

#[tokio::test]
async fn bad_configuration_stops_start_up_with_one_line_naming_the_variable() {
    let data_dir = temp_dir();
    for (var, value) in [
        ("BOOKSTORE_LISTEN", "not-an-address"),
        ("DATABASE_URL", "redis://127.0.0.1"),
        ("BOOKSTORE_SESSION_IDLE_SECONDS", "soon"),
        ("BOOKSTORE_AUTH_RATE_PER_CLIENT", "0"),
        ("BOOKSTORE_CORS_ORIGINS", "not a url"),
        ("BOOKSTORE_ADMIN_EMAIL", "admin@shop.example"),
        ("BOOKSTORE_OBJECT_STORE_URL", "gs://a-bucket"),
        ("BOOKSTORE_OBJECT_STORE_URL", "s3://"),
        ("BOOKSTORE_S3_ENDPOINT", "minio:9000"),
    ] {
        let (code, _, stderr) = run(bookstore(&["all"])
            .env("BOOKSTORE_DATA_DIR", &data_dir)
            .env(var, value))
        .await;
        assert_eq!(code, 2, "{var}={value}: {stderr}");
        let stderr = stderr.trim();
        assert_eq!(stderr.lines().count(), 1, "{var}: {stderr}");
        assert!(
            stderr.contains(var)
                || (var == "BOOKSTORE_ADMIN_EMAIL" && stderr.contains("BOOKSTORE_ADMIN_PASSWORD")),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(data_dir);
}

fn amqp_url() -> String {
    std::env::var("BOOKSTORE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

fn write_keys(dir: &Path) -> (PathBuf, PathBuf) {
    let keys = KeyPair::generate();
    let (private, public) = (dir.join("jwt.pem"), dir.join("jwt.pub.pem"));
    std::fs::write(&private, keys.to_pem().unwrap()).unwrap();
    std::fs::write(&public, keys.public().to_pem().unwrap()).unwrap();
    (private, public)
}

platform::backend_tests! {
    async fn split_components_share_one_token_and_never_migrate(db) {
        let dir = temp_dir();
        let (private, public) = write_keys(&dir);
        let url = db.url.clone();

        // Split components refuse an unmigrated database.
        let catalog_settings = [
            ("BOOKSTORE_JWT_PUBLIC_KEY_FILE", public.display().to_string()),
            ("BOOKSTORE_ORDERS_URL", "http://127.0.0.1:9".to_owned()),
            ("BOOKSTORE_SERVICE_TOKEN", platform::auth::ServiceToken::generate().as_str().to_owned()),
            ("BOOKSTORE_OBJECT_STORE_URL", dir.join("objects").display().to_string()),
        ];
        let (code, _, stderr) = run(bookstore(&["catalog"]).env("DATABASE_URL", &url).envs(catalog_settings.clone())).await;
        assert_ne!(code, 0);
        assert!(stderr.contains("bookstore migrate up"), "{stderr}");

        let (code, stdout, stderr) = run(bookstore(&["migrate", "up"]).env("DATABASE_URL", &url)).await;
        assert_eq!(code, 0, "{stderr}");
        let migrations = <migration::Migrator as migration::MigratorTrait>::migrations().len();
        assert!(stdout.contains(&format!("{migrations} migration(s) to apply")), "{stdout}");
        let (_, status, _) = run(bookstore(&["migrate", "status"]).env("DATABASE_URL", &url)).await;
        assert_eq!(status.lines().filter(|l| l.starts_with("applied")).count(), migrations, "{status}");

        let (code, stdout, stderr) = run(bookstore(&["admin", "seed"]).env("DATABASE_URL", &url)).await;
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("Loaded 60 books"), "{stdout}");
        let (code, _, stderr) = run(bookstore(&["admin", "create-user", "--email", "ops@shop.example", "--role", "admin"])
            .env("DATABASE_URL", &url)
            .env("BOOKSTORE_NEW_USER_PASSWORD", PASSWORD))
            .await;
        assert_eq!(code, 0, "{stderr}");

        let (users_port, catalog_port) = (free_port(), free_port());
        let namespace = format!("test-{}.", uuid::Uuid::new_v4().simple());
        let mut users = bookstore(&["users"])
            .env("DATABASE_URL", &url)
            .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{users_port}"))
            .env("BOOKSTORE_JWT_PRIVATE_KEY_FILE", &private)
            .env("AMQP_URL", amqp_url())
            .env("BOOKSTORE_AMQP_NAMESPACE", &namespace)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut catalog = bookstore(&["catalog"])
            .env("DATABASE_URL", &url)
            .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{catalog_port}"))
            .envs(catalog_settings)
            .env("AMQP_URL", amqp_url())
            .env("BOOKSTORE_AMQP_NAMESPACE", &namespace)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (users_base, catalog_base) = (format!("http://127.0.0.1:{users_port}"), format!("http://127.0.0.1:{catalog_port}"));
        wait_ready(&users_base, &mut users).await;
        wait_ready(&catalog_base, &mut catalog).await;

        let (_, customer) = post(&format!("{users_base}/api/v1/auth/register"), json!({ "email": "reader@shop.example", "password": PASSWORD }), None).await;
        let book = json!({ "isbn": "9780306406157", "title": "Split", "authors": ["A"], "publisher": "P", "format": "ebook", "genre": "Sci-Fi", "price": "1.00" });
        let (status, _) = post(&format!("{catalog_base}/api/v1/books"), book.clone(), customer["access_token"].as_str()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (_, admin) = post(&format!("{users_base}/api/v1/auth/login"), json!({ "email": "ops@shop.example", "password": PASSWORD }), None).await;
        let (status, created) = post(&format!("{catalog_base}/api/v1/books"), book, admin["access_token"].as_str()).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(get(&format!("{catalog_base}/api/v1/books?limit=1")).await["total"], 61);
        // Each component serves only its own prefix.
        let other = reqwest::get(format!("{catalog_base}/api/v1/users/me")).await.unwrap();
        assert_eq!(other.status(), StatusCode::NOT_FOUND);

        assert!(terminate(users).await.success());
        assert!(terminate(catalog).await.success());
        let _ = RabbitBus::new(&amqp_url(), contracts::consumers::topology(&namespace)).delete_topology().await;

        let (code, _, stderr) = run(bookstore(&["migrate", "down", "--steps", "1"]).env("DATABASE_URL", &url)).await;
        assert_eq!(code, 0, "{stderr}");
        let (_, status, _) = run(bookstore(&["migrate", "status"]).env("DATABASE_URL", &url)).await;
        // The newest migration, and only it, is pending again.
        let pending: Vec<&str> = status.lines().filter(|l| l.starts_with("pending")).collect();
        assert_eq!(pending, status.lines().last().into_iter().collect::<Vec<_>>(), "{status}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Behind the chart's Ingress each split component documents only its own routes, so the
/// storefront (which owns `/`) serves the whole API's document and its docs UI.
#[tokio::test]
async fn the_storefront_process_serves_the_whole_api_document_and_its_docs() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = bookstore(&["storefront"])
        .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(&base, &mut child).await;

    let served = get(&format!("{base}/api/v1/openapi.json")).await;
    let whole = serde_json::to_value(bookstore::shop::openapi_document().unwrap()).unwrap();
    assert_eq!(served["paths"], whole["paths"]);
    for path in ["/api/v1/books", "/api/v1/auth/login", "/api/v1/orders"] {
        assert!(
            served["paths"][path].is_object(),
            "{path} is not documented"
        );
    }
    let docs = reqwest::get(format!("{base}/api/v1/docs/")).await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    assert!(terminate(child).await.success());
}
