//! Repository automation, run as `cargo xtask <task>`. Tasks shell out to cargo and the
//! `bookstore` binary instead of linking the workspace, so this crate builds in seconds.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, bail};

const USAGE: &str = "\
usage: cargo xtask <task>

tasks:
  codegen [--check]   regenerate the files made from code (docs/openapi.json, the chart's
                      CRD, operator ClusterRole and RabbitMQ definitions); with --check,
                      fail when a committed file is stale instead
  e2e --local         the end-to-end suite against the split components started as local
                      processes (needs PostgreSQL and RabbitMQ on loopback)
  bench pipeline      the order pipeline benchmark (release build), next to pgbench
  bench notify        1,000 Socket.IO clients: push latency and gateway memory per socket";

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
            &["test", "--package", "bookstore", "--test", "e2e"],
            &[("BOOKSTORE_REQUIRE_REAL_BACKENDS", "1")],
        ),
        ["bench", "pipeline"] => cargo(
            &["bench", "--package", "bookstore", "--bench", "pipeline"],
            &[],
        ),
        ["bench", "notify"] => cargo(
            &["bench", "--package", "bookstore", "--bench", "notify"],
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
    // xtask/ sits at the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
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
    if !stale.is_empty() {
        bail!(
            "{} out of date; run `cargo xtask codegen` and commit the result",
            stale.join(", ")
        );
    }
    Ok(())
}
