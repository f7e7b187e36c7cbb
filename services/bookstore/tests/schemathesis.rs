//! The OpenAPI document against the running shop: schemathesis generates requests for every
//! operation of `bookstore all`'s `/api/v1/openapi.json` (valid ones from the schemas' limits,
//! and invalid ones that break them) as an anonymous client, as a customer and as an admin, and
//! fails on any 5xx, status code the operation does not document, answer whose body breaks its
//! schema, wrong content type or missing documented header, and on any dropped connection.
//!
//! The run is seeded ([`SEED`]) and bounded ([`MAX_EXAMPLES`] cases per operation and phase,
//! [`RUN_LIMIT`] per role), so a failure reproduces with the command line it prints. It needs
//! `BOOKSTORE_TEST_SCHEMATHESIS`, the `schemathesis` program, which `.ci/run` installs (pinned)
//! into its tools environment. Without it the test fails, or is skipped and says so under
//! `BOOKSTORE_SKIP_MISSING_BACKENDS=1`.

// Helpers of a test binary may unwrap too: a panic is how a test reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use platform::testing::{free_port, skip_or_fail};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
const ADMIN_EMAIL: &str = "admin@shop.example";
const ADMIN_PASSWORD: &str = "correct horse battery staple";
const CUSTOMER_EMAIL: &str = "reader@shop.example";
const CUSTOMER_PASSWORD: &str = "a long and unguessable phrase";

/// The seed of every run: the same seed against the same build makes the same requests.
const SEED: &str = "20260421";
/// Test cases per operation in each generating phase.
const MAX_EXAMPLES: &str = "12";
/// The longest one role's run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(240);
/// The checks every answer must pass. The others schemathesis has are left out on purpose:
/// `negative_data_rejection` and `positive_data_acceptance` judge whether a request should have
/// been refused, which depends on the shop's state (a well-formed order for a book that does not
/// exist is refused, and rightly), and the authorisation checks need resources shared between
/// roles that a generated run does not set up; the role checks have their own tests.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance";

/// The `schemathesis` program. When it is not installed the test fails, or under the opt-out it
/// is skipped (and says so) and this is `None`.
fn schemathesis() -> Option<PathBuf> {
    let program = std::env::var_os("BOOKSTORE_TEST_SCHEMATHESIS").map(PathBuf::from);
    match program {
        Some(path) if path.is_file() => Some(path),
        other => {
            skip_or_fail(
                "schemathesis (BOOKSTORE_TEST_SCHEMATHESIS, the program `.ci/run` installs)",
                format!("BOOKSTORE_TEST_SCHEMATHESIS={other:?} is no file"),
            );
            None
        }
    }
}

/// `bookstore all` on a fresh data directory, its log in a file there.
struct Shop {
    child: Child,
    base: String,
    data: PathBuf,
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

impl Shop {
    fn start() -> Self {
        let data = std::env::temp_dir().join(format!(
            "bookstore-schemathesis-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&data).unwrap();
        let port = free_port();
        let log = std::fs::File::create(data.join("bookstore.log")).unwrap();
        let child = Command::new(BIN)
            .arg("all")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("BOOKSTORE_DATA_DIR", &data)
            .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{port}"))
            .env("BOOKSTORE_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("BOOKSTORE_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // Tokens outlive the three runs, however slow the machine.
            .env("BOOKSTORE_ACCESS_TOKEN_TTL_SECONDS", "3600")
            .env("BOOKSTORE_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut shop = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data,
        };
        shop.wait_ready(Duration::from_secs(60));
        shop
    }

    fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("bookstore all exited with {status}:\n{}", self.log());
            }
            if status_of(&format!("{}/readyz", self.base)) == Some(200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "bookstore all was not ready in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The last lines of the shop's log.
    fn log(&self) -> String {
        let text = std::fs::read_to_string(self.data.join("bookstore.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// The access token of a session `path` (sign-up or login) opens with `body`.
    fn token(&self, path: &str, body: &Value) -> String {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = format!("{}{path}", self.base);
        let (status, answer) = runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(&url)
                .json(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            (status, response.json::<Value>().await.unwrap_or_default())
        });
        assert!(status.is_success(), "{url}: {status} {answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    }
}

/// The status of a GET, or none when the server does not answer.
fn status_of(url: &str) -> Option<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    runtime.block_on(async {
        reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()
            .map(|r| r.status().as_u16())
    })
}

/// The command line of one role's run (the token is added by the caller, not printed).
fn arguments(base: &str) -> Vec<String> {
    [
        "run",
        &format!("{base}/api/v1/openapi.json"),
        "--url",
        base,
        "--checks",
        CHECKS,
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "1",
        "--request-timeout",
        "20",
        // Examples found in one run are not replayed in the next: each run is its seed alone.
        "--generation-database",
        "none",
        "--no-color",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Runs schemathesis as `role` (with `token` as the bearer token, if any) and returns whether it
/// passed, with its output.
fn run(program: &Path, shop: &Shop, role: &str, token: Option<&str>) -> (bool, String) {
    let work = shop.data.join(format!("schemathesis-{role}"));
    std::fs::create_dir_all(&work).unwrap();
    let mut command = Command::new(program);
    command.args(arguments(&shop.base));
    if let Some(token) = token {
        command.args(["--header", &format!("Authorization: Bearer {token}")]);
    }
    let started = Instant::now();
    let mut child = command
        .current_dir(&work)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot run {}: {err}", program.display()));
    // Read both pipes on their own threads, so a full pipe never blocks the run.
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    eprintln!(
        "schemathesis as {role}: {:?} in {:.0?}",
        status,
        started.elapsed()
    );
    match status {
        Some(status) if status.success() => {
            // Its summary: what was tested, and the warnings about what it could not reach.
            let lines: Vec<&str> = output.lines().collect();
            eprintln!("{}", lines[lines.len().saturating_sub(20)..].join("\n"));
            (true, output)
        }
        Some(status) => (false, format!("exited with {status}\n{output}")),
        None => (
            false,
            format!("did not finish within {RUN_LIMIT:?} and was stopped\n{output}"),
        ),
    }
}

#[test]
fn every_operation_answers_as_the_openapi_document_says_for_anonymous_customers_and_admins() {
    let Some(program) = schemathesis() else {
        return;
    };
    let shop = Shop::start();
    // Every token first: the runs probe sign-up and login, whose rate limits would refuse a
    // session asked for after them.
    let customer = shop.token(
        "/api/v1/auth/register",
        &json!({"email": CUSTOMER_EMAIL, "password": CUSTOMER_PASSWORD}),
    );
    let admin = shop.token(
        "/api/v1/auth/login",
        &json!({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
    );
    let mut failures = Vec::new();
    for (role, token) in [
        ("anonymous", None),
        ("customer", Some(customer.as_str())),
        ("admin", Some(admin.as_str())),
    ] {
        let (passed, output) = run(&program, &shop, role, token);
        if !passed {
            let header = if token.is_some() {
                format!(" --header 'Authorization: Bearer <a {role}'s token>'")
            } else {
                String::new()
            };
            failures.push(format!(
                "=== schemathesis as {role} failed ===\n{output}\n\
                 (reproduce against a fresh shop: {} {}{header})",
                program.display(),
                arguments(&shop.base).join(" ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n=== the shop's log (last lines) ===\n{}",
        failures.join("\n\n"),
        shop.log()
    );
}
