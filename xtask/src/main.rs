//! Repository automation, run as `cargo xtask <task>`. Tasks shell out to cargo, docker and the
//! `bookstore` binary instead of linking the workspace, so this crate builds in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

mod e2e;

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  codegen [--check]   regenerate the files made from code (docs/openapi.json, the chart's
                      CRD, operator ClusterRole and RabbitMQ definitions, the storefront's
                      API client); with --check,
                      fail when a committed file is stale instead
  images [options]    build the image bookstore:<version> and bookstore:dev (Dockerfile)
      --prebuilt PATH       package this bookstore binary instead of compiling in the image
      --rust-image IMAGE    the build stage's base (default: the Dockerfile's RUST_IMAGE)
      --runtime-image IMAGE the runtime base (default: the Dockerfile's RUNTIME_IMAGE)
      --tag NAME            repository name of the tags (default: bookstore)
  e2e --local         the end-to-end suites (tests/e2e.rs, tests/remote.rs) against the split
                      components started as local processes (needs PostgreSQL and RabbitMQ on
                      loopback)
  e2e [options]       the chart on a new kind cluster (k8s/kind-config.yaml): build and load
                      the image, helm install with PostgreSQL and RabbitMQ in the cluster, wait
                      for the Bookstore to be Ready, run services/bookstore/tests/remote.rs
                      through port-forwards, dump events and logs on failure, delete the
                      cluster (needs docker, kind, kubectl, helm or BOOKSTORE_HELM, openssl)
      --keep                leave the cluster running
      --cluster-name NAME   the cluster's name (default: bookstore-e2e-<number>)
      --skip-build          use the image bookstore:<version> already in Docker
  chaos [options]     the fault soak (services/bookstore/tests/chaos.rs): the split shop on
                      PostgreSQL, then MariaDB, under steady orders while a component is
                      killed or the broker or database is cut every few seconds; then its
                      invariants (needs PostgreSQL, MariaDB and RabbitMQ)
      --seconds N           seconds of faults per database (default: 300; `cargo test`: 45)
      --seed N              replay the faults of an earlier run (it prints its seed)
      --fault-every-ms N    time between the starts of two faults (default: 4000)
      --database NAME       only postgres or only mariadb
  bench pipeline      the order pipeline benchmark (release build), next to pgbench
  bench notify        1,000 Socket.IO clients: push latency and gateway memory per socket
  bench storefront    Lighthouse scores and the first page's JavaScript of the web shop
                      against `bookstore all` (release build; needs Node.js and Chromium)
  bench catalog       catalogue reads from `bookstore all`, `bookstore catalog` on PostgreSQL
                      and nginx serving the same bytes, with wrk (release build; needs wrk
                      and nginx, PostgreSQL and RabbitMQ)
  bench auth          the cost of checking an access token, with and without ended sessions
                      to look through (release build)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["codegen"] => codegen(false),
        ["codegen", "--check"] => codegen(true),
        ["e2e", "--local"] => cargo(
            &[
                "test",
                "--package",
                "bookstore",
                "--test",
                "e2e",
                "--test",
                "remote",
            ],
            &[("BOOKSTORE_REQUIRE_REAL_BACKENDS", "1")],
        ),
        ["bench", "pipeline"] => cargo(
            &["bench", "--package", "bookstore", "--bench", "pipeline"],
            &[],
        ),
        ["e2e", options @ ..] => e2e::run(options),
        ["chaos", options @ ..] => chaos(options),
        ["images", options @ ..] => images(options),
        ["bench", "notify"] => cargo(
            &["bench", "--package", "bookstore", "--bench", "notify"],
            &[],
        ),
        ["bench", "storefront"] => bench_storefront(),
        ["bench", "catalog"] => cargo(
            &["bench", "--package", "bookstore", "--bench", "catalog"],
            &[],
        ),
        ["bench", "auth"] => cargo(
            &["bench", "--package", "platform", "--bench", "token_check"],
            &[],
        ),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask bench storefront`: a release build of the binary, the benchmark's own packages
/// (Lighthouse, kept out of the app's), then `services/storefront/bench/run.mjs`.
fn bench_storefront() -> anyhow::Result<()> {
    cargo(&["build", "--release", "--package", "bookstore"], &[])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let bin = target.join("release/bookstore");
    let bench = root().join("services/storefront/bench");
    let install = Command::new("npm")
        .current_dir(&bench)
        .args(["ci", "--no-audit", "--no-fund", "--prefer-offline"])
        .status()
        .context("cannot run npm")?;
    if !install.success() {
        bail!("npm ci failed in {}", bench.display());
    }
    let run = Command::new("node")
        .current_dir(&bench)
        .arg("run.mjs")
        .arg(&bin)
        .status()
        .context("cannot run node")?;
    if !run.success() {
        bail!("the storefront benchmark failed");
    }
    Ok(())
}

/// `cargo xtask chaos`: the fault soak of `cargo test`, for longer, with its settings passed
/// through the environment.
fn chaos(options: &[&str]) -> anyhow::Result<()> {
    let mut env = vec![
        ("BOOKSTORE_REQUIRE_REAL_BACKENDS", "1".to_owned()),
        ("BOOKSTORE_CHAOS_SECONDS", "300".to_owned()),
    ];
    let mut filter = None;
    let mut options = options.iter();
    while let Some(option) = options.next() {
        let mut value = || {
            options
                .next()
                .map(|value| (*value).to_owned())
                .with_context(|| format!("{option} needs a value\n\n{USAGE}"))
        };
        match *option {
            "--seconds" => env.push(("BOOKSTORE_CHAOS_SECONDS", value()?)),
            "--seed" => env.push(("BOOKSTORE_CHAOS_SEED", value()?)),
            "--fault-every-ms" => env.push(("BOOKSTORE_CHAOS_FAULT_EVERY_MS", value()?)),
            "--database" => match value()?.as_str() {
                name @ ("postgres" | "mariadb") => filter = Some(name.to_owned()),
                other => bail!("--database {other}: postgres or mariadb"),
            },
            other => bail!("unknown option {other}\n\n{USAGE}"),
        }
    }
    let mut args = vec![
        "test",
        "--workspace",
        "--test",
        "chaos",
        "--",
        "--nocapture",
    ];
    if let Some(filter) = &filter {
        args.push(filter);
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    cargo(&args, &env)
}

/// Runs cargo in the repository with `args`, passing its output through.
fn cargo(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(args)
        .envs(env.iter().copied())
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!("cargo {} failed", args.join(" "));
    }
    Ok(())
}

fn root() -> PathBuf {
    // xtask/ sits at the repository root. `cargo xtask` (cargo run) gives the directory of the
    // checkout it runs in; the one compiled in is only a fallback, since a target directory
    // shared by two checkouts can run a binary built in the other one.
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// A file generated from code, and the command that prints its contents.
struct Generated {
    path: &'static str,
    bookstore_args: &'static [&'static str],
}

const GENERATED: [Generated; 4] = [
    Generated {
        path: "docs/openapi.json",
        bookstore_args: &["openapi"],
    },
    Generated {
        path: "charts/bookstore/crds/bookstore.yaml",
        bookstore_args: &["operator", "crd"],
    },
    Generated {
        path: "charts/bookstore/files/operator-clusterrole.yaml",
        bookstore_args: &["operator", "rbac"],
    },
    Generated {
        path: "charts/bookstore/files/rabbitmq-definitions.json",
        bookstore_args: &["operator", "rabbitmq-definitions"],
    },
];

fn codegen(check: bool) -> anyhow::Result<()> {
    let root = root();
    let mut stale = Vec::new();
    for file in GENERATED {
        eprintln!("generating {}", file.path);
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args(["run", "--quiet", "--package", "bookstore", "--"])
            .args(file.bookstore_args)
            .env("RUST_LOG", "error")
            .output()
            .context("cannot run cargo")?;
        if !output.status.success() {
            bail!(
                "`bookstore {}` failed:\n{}",
                file.bookstore_args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let path = root.join(file.path);
        let current = std::fs::read(&path).unwrap_or_default();
        if current == output.stdout {
            continue;
        }
        if check {
            stale.push(file.path);
        } else {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(&path, &output.stdout)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("updated {}", file.path);
        }
    }
    // The storefront's API client is generated from docs/openapi.json, so it comes after it.
    eprintln!("generating {STOREFRONT_CLIENT}");
    let script = if check { "codegen:check" } else { "codegen" };
    let output = Command::new("npm")
        .current_dir(root.join("services/storefront"))
        .args(["run", "--silent", script])
        .output()
        .context("cannot run npm (the storefront needs Node.js and npm)")?;
    if !output.status.success() {
        if check {
            stale.push(STOREFRONT_CLIENT);
        } else {
            bail!(
                "`npm run codegen` failed in services/storefront:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    if !stale.is_empty() {
        bail!(
            "{} out of date; run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        );
    }
    Ok(())
}

/// The storefront's typed API client, generated from docs/openapi.json by its npm script.
const STOREFRONT_CLIENT: &str = "services/storefront/src/api/schema.d.ts";

/// `cargo xtask images`: the options and what they choose.
#[derive(Debug, Default)]
struct ImageOptions {
    prebuilt: Option<PathBuf>,
    rust_image: Option<String>,
    runtime_image: Option<String>,
    repository: Option<String>,
}

impl ImageOptions {
    fn parse(args: &[&str]) -> anyhow::Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(&flag) = args.next() {
            let mut value = || {
                args.next()
                    .map(|v| (*v).to_owned())
                    .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))
            };
            match flag {
                "--prebuilt" => options.prebuilt = Some(PathBuf::from(value()?)),
                "--rust-image" => options.rust_image = Some(value()?),
                "--runtime-image" => options.runtime_image = Some(value()?),
                "--tag" => options.repository = Some(value()?),
                other => bail!("unknown option {other}\n\n{USAGE}"),
            }
        }
        Ok(options)
    }
}

/// Builds the image from the repository's Dockerfile: from source, or around a binary built
/// outside (`--prebuilt`), in a build context that holds only that binary.
fn images(args: &[&str]) -> anyhow::Result<()> {
    let options = ImageOptions::parse(args)?;
    let root = root();
    let version = env!("CARGO_PKG_VERSION");
    let repository = options.repository.as_deref().unwrap_or("bookstore");
    let tags = [
        format!("{repository}:{version}"),
        format!("{repository}:dev"),
    ];
    let commit = git_commit(&root);
    // Labels the build stages' images so a prebuilt build can remove exactly its own.
    let build_id = format!(
        "xtask-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );

    let mut build = Command::new("docker");
    build
        .arg("build")
        .arg("--file")
        .arg(root.join("Dockerfile"));
    for tag in &tags {
        build.args(["--tag", tag]);
    }
    build
        .args(["--build-arg", &format!("VERSION={version}")])
        .args(["--build-arg", &format!("BOOKSTORE_GIT_COMMIT={commit}")]);
    if let Some(image) = &options.rust_image {
        build.args(["--build-arg", &format!("RUST_IMAGE={image}")]);
    }
    if let Some(image) = &options.runtime_image {
        build.args(["--build-arg", &format!("RUNTIME_IMAGE={image}")]);
    }
    if std::env::var_os("DOCKER_BUILDKIT").is_none() && !buildx_available() {
        eprintln!(
            "note: the docker buildx plugin is missing; using the legacy builder (DOCKER_BUILDKIT=0)"
        );
        build.env("DOCKER_BUILDKIT", "0");
    }

    // Keeps the temporary context alive until the build is over.
    let _context = match &options.prebuilt {
        Some(binary) => {
            let context = TempDir::new("bookstore-image")?;
            let dist = context.0.join("dist");
            std::fs::create_dir_all(&dist)
                .with_context(|| format!("cannot create {}", dist.display()))?;
            std::fs::copy(binary, dist.join("bookstore"))
                .with_context(|| format!("cannot copy the binary {}", binary.display()))?;
            eprintln!(
                "==> building {} around the prebuilt binary {} (commit {commit})",
                tags.join(", "),
                binary.display()
            );
            build
                .args(["--build-arg", "BINARY=prebuilt"])
                .args(["--build-arg", &format!("BUILD_ID={build_id}")])
                .arg(&context.0);
            Some(context)
        }
        None => {
            eprintln!(
                "==> building {} from source (commit {commit})",
                tags.join(", ")
            );
            build.arg(&root);
            None
        }
    };
    let status = build
        .status()
        .context("cannot run docker: is it installed?")?;
    if options.prebuilt.is_some() {
        // The legacy builder keeps the build stages' images as cache; around a prebuilt binary
        // they are only copies of it.
        let _ = Command::new("docker")
            .args(["image", "prune", "--force"])
            .args(["--filter", &format!("label=bookstore.build-id={build_id}")])
            .stdout(std::process::Stdio::null())
            .status();
    }
    if !status.success() {
        bail!("docker build failed");
    }

    let size = Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Size}}", &tags[0]])
        .output()
        .context("cannot run docker")?;
    let bytes: u64 = String::from_utf8_lossy(&size.stdout)
        .trim()
        .parse()
        .unwrap_or_default();
    eprintln!(
        "==> built {} ({:.1} MB)",
        tags.join(", "),
        bytes as f64 / 1_000_000.0
    );
    Ok(())
}

/// The commit recorded in the binary and the image's labels: HEAD, or "unknown" outside git.
fn git_commit(root: &Path) -> String {
    Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn buildx_available() -> bool {
    Command::new("docker")
        .args(["buildx", "version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
