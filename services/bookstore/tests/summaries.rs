//! Book summaries end to end through `bookstore all`: with no model configured, the built-in
//! extractive summariser; with a real small language model (SmolLM2-135M-Instruct served by
//! llama.cpp's OpenAI-compatible `llama-server`), a summary written by the model through
//! `async-openai`.
//!
//! The model test needs `BOOKSTORE_TEST_LLAMA_SERVER` (the `llama-server` binary) and
//! `BOOKSTORE_TEST_MODEL_FILE` (the GGUF file); `.ci/run` builds and installs both once, outside
//! the clone. Without them it fails, or is skipped and says so under
//! `BOOKSTORE_SKIP_MISSING_BACKENDS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use platform::testing::{file_form, free_port, skip_or_fail};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
const ADMIN_EMAIL: &str = "admin@shop.example";
const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// A public-domain text (see tests/data/README.md).
const BOOK: &str = include_str!("data/the-time-machine-opening.txt");

struct Shop {
    child: Child,
    base: String,
    http: reqwest::Client,
    _data: PathBuf,
}

/// `bookstore all` on a fresh data directory with `settings`.
async fn start_shop(settings: &[(&str, String)]) -> Shop {
    let data = std::env::temp_dir().join(format!(
        "bookstore-summaries-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(BIN)
        .arg("all")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("BOOKSTORE_DATA_DIR", &data)
        .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{port}"))
        .env("BOOKSTORE_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("BOOKSTORE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("BOOKSTORE_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn,worker=info")
        .envs(settings.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    wait_healthy(
        &mut child,
        &format!("{base}/readyz"),
        Duration::from_secs(60),
    )
    .await;
    Shop {
        child,
        base,
        http,
        _data: data,
    }
}

/// Waits until `url` answers 200, failing when `child` exits first or `within` passes.
async fn wait_healthy(child: &mut Child, url: &str, within: Duration) {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process behind {url} exited with {status}");
        }
        if let Ok(response) = http.get(url).send().await
            && response.status() == StatusCode::OK
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer 200 in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Shop {
    async fn admin_token(&self) -> String {
        let session: Value = self
            .http
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        session["access_token"].as_str().unwrap().to_owned()
    }

    async fn first_book(&self) -> String {
        let page: Value = self
            .http
            .get(format!("{}/api/v1/books?limit=1", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        page["items"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Uploads `text` as the book's document and waits until its summary is settled.
    async fn summarise(&self, book: &str, text: &str, within: Duration) -> Value {
        let token = self.admin_token().await;
        let (content_type, body) = file_form("file", "book.txt", "text/plain", text.as_bytes());
        let uploaded = self
            .http
            .put(format!("{}/api/v1/books/{book}/document", self.base))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), StatusCode::OK);
        let deadline = Instant::now() + within;
        loop {
            let view: Value = self
                .http
                .get(format!("{}/api/v1/books/{book}", self.base))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if view["summary"]["status"] != "pending" {
                return view["summary"].clone();
            }
            assert!(Instant::now() < deadline, "the summary is still pending");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_model_the_built_in_summariser_answers_with_sentences_of_the_book() {
    let shop = start_shop(&[]).await;
    let book = shop.first_book().await;
    let summary = shop.summarise(&book, BOOK, Duration::from_secs(30)).await;
    assert_eq!(summary["status"], "ready", "{summary}");
    assert_eq!(summary["method"], "extractive");
    assert!(summary["model"].is_null());
    let text = summary["text"].as_str().unwrap();
    assert!(!text.is_empty() && text.chars().count() <= 1200, "{text}");
    // Its sentences are the book's own.
    for sentence in text.split(". ").filter(|s| s.len() > 20) {
        let start: String = sentence.chars().take(40).collect();
        assert!(BOOK.contains(&start), "{start:?} is not in the book");
    }
    drop(shop.child);
}

/// The llama.cpp server and the model file. When they are not installed the test fails, or
/// under the opt-out it is skipped (and says so) and this is `None`.
fn local_model() -> Option<(PathBuf, PathBuf)> {
    let server = std::env::var_os("BOOKSTORE_TEST_LLAMA_SERVER").map(PathBuf::from);
    let model = std::env::var_os("BOOKSTORE_TEST_MODEL_FILE").map(PathBuf::from);
    match (server, model) {
        (Some(server), Some(model)) if server.is_file() && model.is_file() => Some((server, model)),
        (server, model) => {
            skip_or_fail(
                "the local model: llama.cpp's server and SmolLM2's model file \
                 (BOOKSTORE_TEST_LLAMA_SERVER, BOOKSTORE_TEST_MODEL_FILE; .ci/run installs both)",
                format!(
                    "BOOKSTORE_TEST_LLAMA_SERVER={server:?}, BOOKSTORE_TEST_MODEL_FILE={model:?}"
                ),
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_local_model_summarises_an_uploaded_book_through_the_openai_api() {
    let Some((server, model)) = local_model() else {
        return;
    };
    let port = free_port();
    // `--no-repack` keeps llama.cpp off its AMX kernels, which crash on virtual machines whose
    // CPU announces AMX without the kernel enabling it; the model is small enough not to care.
    let mut llama = Command::new(&server)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "-c",
            "4096",
            "-t",
            "2",
            "--no-repack",
            "-m",
        ])
        .arg(&model)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base_url = format!("http://127.0.0.1:{port}");
    wait_healthy(
        &mut llama,
        &format!("{base_url}/health"),
        Duration::from_secs(120),
    )
    .await;
    let shop = start_shop(&[
        ("OPENAI_BASE_URL", format!("{base_url}/v1")),
        ("OPENAI_API_KEY", "not-needed-by-llama-server".to_owned()),
        (
            "BOOKSTORE_SUMMARY_MODEL",
            "SmolLM2-135M-Instruct".to_owned(),
        ),
        ("BOOKSTORE_SUMMARY_CHUNK_TOKENS", "700".to_owned()),
        ("BOOKSTORE_SUMMARY_MAX_OUTPUT_TOKENS", "150".to_owned()),
    ])
    .await;
    let book = shop.first_book().await;
    let summary = shop.summarise(&book, BOOK, Duration::from_secs(240)).await;
    assert_eq!(summary["status"], "ready", "{summary}");
    assert_eq!(summary["method"], "model");
    assert_eq!(summary["model"], "SmolLM2-135M-Instruct");
    let text = summary["text"].as_str().unwrap();
    assert!(
        !text.trim().is_empty() && text.chars().count() <= 4000,
        "{text:?}"
    );
    eprintln!("The model's summary: {text}");
    drop(shop.child);
    drop(llama);
}
