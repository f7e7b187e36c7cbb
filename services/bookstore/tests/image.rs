//! The container image: the repository's Dockerfile builds with a real Docker engine around the
//! `bookstore` binary this test run built (`BINARY=prebuilt`, on the local base images of
//! `.ci/docker-base-images`, since no registry can be pulled from here), and the container runs
//! the shop as the non-root user on a read-only root file system, without capabilities, and
//! answers `/healthz` and `/readyz`.
//!
//! Needs a Docker engine (`docker info` answers; `.ci/run` starts one). Without one the test
//! fails, or is skipped and says so under `BOOKSTORE_SKIP_MISSING_BACKENDS=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
/// The base images `.ci/docker-base-images` makes.
const BUILD_BASE: &str = "bookstore-base-build:bookworm";
const RUNTIME_BASE: &str = "bookstore-base-runtime:bookworm";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .env("DOCKER_BUILDKIT", "0")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("cannot run docker {}: {err}", args.join(" ")))
}

/// Runs docker, failing the test with its output when it fails; returns stdout.
fn docker_ok(args: &[&str]) -> String {
    let output = docker(args);
    assert!(
        output.status.success(),
        "docker {} failed ({}):\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Whether a Docker engine answers. When none does the test fails, or under the opt-out it is
/// skipped (and says so) and this is false.
fn engine_answers() -> bool {
    let answer = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output();
    let problem = match answer {
        Ok(output) if output.status.success() => return true,
        Ok(output) => String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        Err(err) => format!("cannot run docker: {err}"),
    };
    platform::testing::skip_or_fail(
        "a Docker engine (Debian's docker.io, started with `dockerd --bridge=none \
         --iptables=false`, as .ci/run does)",
        format!("`docker info` fails: {problem}"),
    );
    false
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Removes what the test made, also when it fails half-way.
struct Cleanup {
    build_id: String,
    image: String,
    container: Option<String>,
    context: PathBuf,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(container) = &self.container {
            if std::thread::panicking() {
                let logs = docker(&["logs", "--tail", "50", container]);
                eprintln!(
                    "container logs:\n{}{}",
                    String::from_utf8_lossy(&logs.stdout),
                    String::from_utf8_lossy(&logs.stderr)
                );
            }
            // -v: the data folder's anonymous volume too.
            docker(&["rm", "--force", "--volumes", container]);
        }
        docker(&["image", "rm", "--force", &self.image]);
        // The legacy builder keeps each build stage's image as cache; with a fresh binary every
        // run they would only pile up. They carry this build's id.
        docker(&[
            "image",
            "prune",
            "--force",
            "--filter",
            &format!("label=bookstore.build-id={}", self.build_id),
        ]);
        let _ = std::fs::remove_dir_all(&self.context);
    }
}

/// A build context holding only the binary where the Dockerfile's prebuilt path expects it.
fn prebuilt_context() -> PathBuf {
    let context = std::env::temp_dir().join(unique("bookstore-image-context"));
    std::fs::create_dir_all(context.join("dist")).unwrap();
    std::fs::copy(BIN, context.join("dist/bookstore")).unwrap();
    context
}

/// Makes the local base images when missing (kept between runs).
fn ensure_base_images() {
    let script = repo().join(".ci/docker-base-images");
    let output = Command::new(&script)
        .arg(BIN)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", script.display()));
    assert!(
        output.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

use platform::testing::free_port;

fn container_running(container: &str) -> bool {
    docker_ok(&["inspect", "--format", "{{.State.Running}}", container]) == "true"
}

/// Polls `path` until it answers 200, failing when the container stops or after a deadline.
async fn wait_for_200(base: &str, path: &str, container: &str) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match http.get(format!("{base}{path}")).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => return,
            Ok(response) => last = format!("status {}", response.status()),
            Err(err) => last = err.to_string(),
        }
        assert!(
            container_running(container),
            "the container stopped before {path} answered 200"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{base}{path} did not answer 200 within 30 s (last: {last})");
}

fn image_config(image: &str) -> Value {
    serde_json::from_str(&docker_ok(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config}}",
        image,
    ]))
    .unwrap()
}

fn build_image(image: &str, build_id: &str, context: &Path) {
    let dockerfile = repo().join("Dockerfile");
    docker_ok(&[
        "build",
        "--quiet",
        "--file",
        dockerfile.to_str().unwrap(),
        "--tag",
        image,
        "--build-arg",
        "BINARY=prebuilt",
        "--build-arg",
        &format!("BUILD_ID={build_id}"),
        "--build-arg",
        &format!("RUST_IMAGE={BUILD_BASE}"),
        "--build-arg",
        &format!("RUNTIME_IMAGE={RUNTIME_BASE}"),
        "--build-arg",
        "VERSION=test",
        "--build-arg",
        "BOOKSTORE_GIT_COMMIT=0123456789ab",
        context.to_str().unwrap(),
    ]);
}

#[tokio::test]
async fn the_image_runs_the_shop_as_non_root_on_a_read_only_root() {
    if !engine_answers() {
        return;
    }
    let started = Instant::now();
    ensure_base_images();

    let mut cleanup = Cleanup {
        build_id: unique("image-test"),
        image: format!("{}:test", unique("bookstore-image-test")),
        container: None,
        context: prebuilt_context(),
    };
    build_image(&cleanup.image, &cleanup.build_id, &cleanup.context);
    let image = cleanup.image.clone();
    eprintln!("built {image} in {:.1?}", started.elapsed());

    // What the image is configured to run, and as whom.
    let config = image_config(&image);
    let user = config["User"].as_str().unwrap_or_default();
    let uid = user.split(':').next().unwrap_or_default();
    assert!(
        !uid.is_empty() && uid != "0" && uid != "root",
        "the image must run as a non-root user, not {user:?}"
    );
    assert_eq!(user, "65532:65532");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/bookstore"])
    );
    assert_eq!(config["Cmd"], serde_json::json!(["all"]));
    assert!(config["ExposedPorts"].get("8080/tcp").is_some(), "{config}");
    assert!(
        config["Volumes"].get("/var/lib/bookstore").is_some(),
        "{config}"
    );
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(env.contains(&"BOOKSTORE_LISTEN=0.0.0.0:8080"), "{env:?}");
    assert!(
        env.contains(&"BOOKSTORE_DATA_DIR=/var/lib/bookstore"),
        "{env:?}"
    );
    assert_eq!(config["Labels"]["org.opencontainers.image.version"], "test");
    assert_eq!(
        config["Labels"]["org.opencontainers.image.revision"],
        "0123456789ab"
    );

    // The shop, locked down as on Kubernetes. No bridge network exists: the host's loopback.
    // The data folder is the image's volume, which must be writable by the image's user.
    let port = free_port();
    let container = unique("bookstore-image-test");
    cleanup.container = Some(container.clone());
    docker_ok(&[
        "run",
        "--detach",
        "--name",
        &container,
        "--network",
        "host",
        "--read-only",
        "--user",
        "65532",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--env",
        &format!("BOOKSTORE_LISTEN=127.0.0.1:{port}"),
        "--env",
        "RUST_LOG=warn",
        &image,
        "all",
    ]);
    let base = format!("http://127.0.0.1:{port}");
    wait_for_200(&base, "/healthz", &container).await;
    wait_for_200(&base, "/readyz", &container).await;

    // The shop serves its API too, and every process in the container runs as the image's user.
    let books = reqwest::get(format!("{base}/api/v1/books")).await.unwrap();
    assert_eq!(books.status(), reqwest::StatusCode::OK);
    let processes = docker_ok(&["top", &container, "-o", "pid,uid,gid,args"]);
    let rows: Vec<Vec<&str>> = processes
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert!(
        !rows.is_empty(),
        "no process in the container:\n{processes}"
    );
    assert!(
        rows.iter()
            .all(|row| row.get(1..3) == Some(&["65532", "65532"][..])),
        "every process must run as 65532:65532:\n{processes}"
    );
    eprintln!(
        "the container answered in {:.1?} from the start",
        started.elapsed()
    );
}
