//! `cargo xtask e2e`: the end-to-end suite against the chart on a throwaway kind cluster.
//!
//! Create a cluster from `k8s/kind-config.yaml`, build the image (`cargo xtask images`) and load
//! it into the node, install the chart with PostgreSQL and RabbitMQ in the cluster, wait through
//! the API server until the Bookstore is `Ready`, create an admin account, forward each
//! component's Service to 127.0.0.1 and run `services/bookstore/tests/remote.rs` against the
//! forwarded addresses. A failure leaves events, descriptions and pod logs under
//! `<target>/e2e/<cluster>/failure`. The cluster is deleted at the end unless `--keep`.
//!
//! Every tool is a command line (docker, kind, kubectl, helm, openssl), so the orchestration can
//! be checked with stand-ins for them (`xtask/tests/e2e.rs`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{USAGE, root};

/// The release, and so the Bookstore and the prefix of its objects.
const RELEASE: &str = "shop";
const NAMESPACE: &str = "bookstore";
const ADMIN_EMAIL: &str = "e2e-admin@shop.example";
/// The components the suite reaches, with the variable that carries each one's base URL.
const FORWARDED: [(&str, &str); 5] = [
    ("users", "BOOKSTORE_E2E_USERS_URL"),
    ("catalog", "BOOKSTORE_E2E_CATALOG_URL"),
    ("inventory", "BOOKSTORE_E2E_INVENTORY_URL"),
    ("orders", "BOOKSTORE_E2E_ORDERS_URL"),
    ("notifications", "BOOKSTORE_E2E_NOTIFICATIONS_URL"),
];
/// Replaces `cargo test --package bookstore --test remote` (run with `sh -c`, with the
/// suite's variables set).
const SUITE_COMMAND_VAR: &str = "BOOKSTORE_E2E_SUITE_COMMAND";
/// The helm binary to use instead of the one on PATH (e.g. `$(.ci/helm)`).
const HELM_VAR: &str = "BOOKSTORE_HELM";

/// The options of `cargo xtask e2e`.
#[derive(Debug, Default)]
struct Options {
    keep: bool,
    cluster_name: Option<String>,
    skip_build: bool,
}

impl Options {
    fn parse(args: &[&str]) -> anyhow::Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(&flag) = args.next() {
            match flag {
                "--keep" => options.keep = true,
                "--skip-build" => options.skip_build = true,
                "--cluster-name" => {
                    let name = args
                        .next()
                        .with_context(|| format!("--cluster-name needs a value\n\n{USAGE}"))?;
                    options.cluster_name = Some(valid_cluster_name(name)?);
                }
                other => bail!("unknown option {other}\n\n{USAGE}"),
            }
        }
        Ok(options)
    }
}

/// kind names become container and host names: lowercase letters, digits and dashes.
fn valid_cluster_name(name: &str) -> anyhow::Result<String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !ok {
        bail!("invalid cluster name {name:?}: 1 to 40 lowercase letters, digits and inner dashes");
    }
    Ok(name.to_owned())
}

/// The tools, where each was found.
struct Tools {
    kind: PathBuf,
    kubectl: PathBuf,
    helm: PathBuf,
    openssl: PathBuf,
}

/// Finds every tool, or names each missing one and how to get it.
fn tools(need_docker: bool) -> anyhow::Result<Tools> {
    let mut missing = Vec::new();
    let mut find = |name: &str, hint: &str| match find_executable(name) {
        Some(path) => path,
        None => {
            missing.push(format!("  {name}: {hint}"));
            PathBuf::new()
        }
    };
    if need_docker {
        find(
            "docker",
            "a Docker engine and its client (e.g. Debian's docker.io); it builds the image and runs kind's node",
        );
    }
    let kind = find(
        "kind",
        "https://kind.sigs.k8s.io/docs/user/quick-start/#installation (`go install sigs.k8s.io/kind@latest` or a release binary)",
    );
    let kubectl = find(
        "kubectl",
        "1.31 or later: https://kubernetes.io/docs/tasks/tools/",
    );
    let helm_override = std::env::var_os(HELM_VAR).map(PathBuf::from);
    let mut helm = match &helm_override {
        Some(path) => path.clone(),
        None => find(
            "helm",
            "3.14 or later, or 4: https://helm.sh/docs/intro/install/, or `export BOOKSTORE_HELM=$(.ci/helm)` (fetches one into ~/.cache)",
        ),
    };
    let openssl = find("openssl", "the OpenSSL command line (Debian: openssl)");
    if let Some(path) = helm_override
        && !is_executable(&path)
    {
        missing.push(format!(
            "  helm: {HELM_VAR}={} is not an executable file",
            path.display()
        ));
        helm = PathBuf::new();
    }
    if !missing.is_empty() {
        bail!(
            "cargo xtask e2e needs tools that are not on PATH:\n{}",
            missing.join("\n")
        );
    }
    Ok(Tools {
        kind,
        kubectl,
        helm,
        openssl,
    })
}

fn find_executable(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|path| is_executable(path))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `cargo xtask e2e [--keep] [--cluster-name NAME] [--skip-build]`.
pub fn run(args: &[&str]) -> anyhow::Result<()> {
    let options = Options::parse(args)?;
    let tools = tools(!options.skip_build)?;
    let cluster = options.cluster_name.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        format!("bookstore-e2e-{}", secs % 1_000_000)
    });
    let dir = target_dir().join("e2e").join(&cluster);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let version = env!("CARGO_PKG_VERSION");
    let image = format!("bookstore:{version}");

    if options.skip_build {
        step(&format!("--skip-build: using the image {image} as it is"));
    } else {
        step(&format!("building the image {image} (cargo xtask images)"));
        crate::images(&[])?;
    }

    let run = Run {
        tools,
        cluster: cluster.clone(),
        kubeconfig: dir.join("kubeconfig"),
        dir,
    };
    run.create_cluster()?;
    let outcome = run.deploy_and_test(&image, version);
    if let Err(err) = &outcome {
        eprintln!("error: {err:#}");
        match run.dump() {
            Ok(path) => eprintln!(
                "==> the cluster's events, objects and logs: {}",
                path.display()
            ),
            Err(dump_err) => eprintln!("warning: could not dump the cluster's state: {dump_err:#}"),
        }
    }
    if options.keep {
        eprintln!(
            "==> --keep: the cluster {cluster} stays. Use it with\n      kubectl --kubeconfig {kubeconfig} -n {NAMESPACE} get pods\n    and remove it with\n      kind delete cluster --name {cluster}",
            kubeconfig = run.kubeconfig.display()
        );
    } else {
        run.delete_cluster()?;
    }
    outcome.map_err(|_| anyhow::anyhow!("the end-to-end run on kind failed (see above)"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root().join(dir)
            }
        })
        .unwrap_or_else(|| root().join("target"))
}

fn step(message: &str) {
    eprintln!("==> {message}");
}

/// One run: its cluster, the kubeconfig that reaches only it, and its folder.
struct Run {
    tools: Tools,
    cluster: String,
    kubeconfig: PathBuf,
    dir: PathBuf,
}

impl Run {
    fn kind(&self) -> Command {
        let mut command = Command::new(&self.tools.kind);
        command.current_dir(root());
        command
    }

    fn kubectl(&self) -> Command {
        let mut command = Command::new(&self.tools.kubectl);
        command
            .current_dir(root())
            .arg("--kubeconfig")
            .arg(&self.kubeconfig);
        command
    }

    fn kubectl_ns(&self) -> Command {
        let mut command = self.kubectl();
        command.args(["--namespace", NAMESPACE]);
        command
    }

    /// The node of `k8s/kind-config.yaml` under this run's name. Its host port mappings are
    /// left out: the suite goes through port-forwards, so the run neither needs 127.0.0.1:8080
    /// nor collides with a `bookstore` cluster that has it.
    fn create_cluster(&self) -> anyhow::Result<()> {
        let source = root().join("k8s/kind-config.yaml");
        let config = std::fs::read_to_string(&source)
            .with_context(|| format!("cannot read {}", source.display()))?;
        let derived = self.dir.join("kind-config.yaml");
        std::fs::write(&derived, without_port_mappings(&config))
            .with_context(|| format!("cannot write {}", derived.display()))?;
        step(&format!(
            "creating the kind cluster {} from k8s/kind-config.yaml",
            self.cluster
        ));
        let mut command = self.kind();
        command
            .args(["create", "cluster", "--name", &self.cluster, "--config"])
            .arg(&derived)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--wait", "120s"]);
        check(&mut command, "kind create cluster")
    }

    fn delete_cluster(&self) -> anyhow::Result<()> {
        step(&format!("deleting the kind cluster {}", self.cluster));
        let mut command = self.kind();
        command
            .args(["delete", "cluster", "--name", &self.cluster, "--kubeconfig"])
            .arg(&self.kubeconfig);
        check(&mut command, "kind delete cluster")
    }

    fn deploy_and_test(&self, image: &str, version: &str) -> anyhow::Result<()> {
        step(&format!("loading {image} into the cluster's node"));
        let mut load = self.kind();
        load.args(["load", "docker-image", image, "--name", &self.cluster]);
        check(&mut load, "kind load docker-image")?;

        step("making the access-token key pair (openssl)");
        let (private, public) = (self.dir.join("jwt.pem"), self.dir.join("jwt.pub.pem"));
        let mut genkey = Command::new(&self.tools.openssl);
        genkey
            .args(["genpkey", "-algorithm", "ed25519", "-out"])
            .arg(&private);
        check(&mut genkey, "openssl genpkey")?;
        let mut pubkey = Command::new(&self.tools.openssl);
        pubkey
            .args(["pkey", "-in"])
            .arg(&private)
            .arg("-pubout")
            .arg("-out")
            .arg(&public);
        check(&mut pubkey, "openssl pkey")?;

        step("installing the chart (operator, Bookstore, PostgreSQL, RabbitMQ)");
        let mut install = Command::new(&self.tools.helm);
        install
            .current_dir(root())
            .arg("install")
            .arg(RELEASE)
            .arg(root().join("charts/bookstore"))
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["--namespace", NAMESPACE, "--create-namespace"])
            .args(["--set", "image.repository=bookstore"])
            .args(["--set", &format!("image.tag={version}")])
            .args(["--set", "image.pullPolicy=IfNotPresent"])
            .args(["--set", "postgresql.enabled=true"])
            .args(["--set", "rabbitmq.enabled=true"])
            .args(["--set", "postgresql.persistence.size=1Gi"])
            .args(["--set", "rabbitmq.persistence.size=1Gi"])
            .arg("--set-file")
            .arg(format!("jwt.privateKey={}", private.display()))
            .arg("--set-file")
            .arg(format!("jwt.publicKey={}", public.display()));
        check(&mut install, "helm install")?;

        self.wait(
            "the operator",
            &[
                "wait",
                "--for=condition=Available",
                &format!("deployment/{RELEASE}-operator"),
            ],
            Duration::from_secs(300),
        )?;
        self.wait(
            "PostgreSQL and RabbitMQ",
            &[
                "wait",
                "--for=condition=Ready",
                "pod",
                "--selector",
                "app.kubernetes.io/component in (postgresql,rabbitmq)",
            ],
            Duration::from_secs(600),
        )?;
        self.wait(
            "the Bookstore's Ready condition (migration Job, then every component)",
            &[
                "wait",
                "--for=condition=Ready",
                &format!("bookstore/{RELEASE}"),
            ],
            Duration::from_secs(600),
        )?;
        self.wait(
            "every Deployment",
            &["wait", "--for=condition=Available", "deployment", "--all"],
            Duration::from_secs(300),
        )?;

        step(&format!("creating the admin account {ADMIN_EMAIL}"));
        let password = format!("e2e-{}-{}", std::process::id(), unique_suffix());
        let mut create = self.kubectl_ns();
        create
            .args([
                "exec",
                "--stdin",
                &format!("deployment/{RELEASE}-users"),
                "--",
            ])
            .args(["bookstore", "admin", "create-user", "--email", ADMIN_EMAIL])
            .args(["--role", "admin", "--password-file", "/dev/stdin"]);
        check_with_input(
            &mut create,
            &password,
            "kubectl exec bookstore admin create-user",
        )?;

        let mut forwards = Vec::new();
        let mut env = vec![
            (
                "BOOKSTORE_E2E_ADMIN_EMAIL".to_owned(),
                ADMIN_EMAIL.to_owned(),
            ),
            ("BOOKSTORE_E2E_ADMIN_PASSWORD".to_owned(), password),
        ];
        for (component, var) in FORWARDED {
            let forward = self.port_forward(component)?;
            env.push((var.to_owned(), format!("http://127.0.0.1:{}", forward.port)));
            forwards.push(forward);
        }

        let result = run_suite(&env);
        drop(forwards);
        result
    }

    /// `kubectl wait` in rounds of 30 seconds, showing the pods between rounds, for at most
    /// `total`.
    fn wait(&self, what: &str, args: &[&str], total: Duration) -> anyhow::Result<()> {
        step(&format!(
            "waiting for {what} (at most {}s)",
            total.as_secs()
        ));
        let start = Instant::now();
        loop {
            let began = Instant::now();
            let round = total
                .saturating_sub(start.elapsed())
                .min(Duration::from_secs(30))
                .max(Duration::from_secs(1));
            let status = self
                .kubectl_ns()
                .args(args)
                .arg(format!("--timeout={}s", round.as_secs()))
                .status()
                .context("cannot run kubectl")?;
            if status.success() {
                return Ok(());
            }
            if start.elapsed() >= total {
                bail!(
                    "{what} not there after {}s (kubectl {})",
                    total.as_secs(),
                    args.join(" ")
                );
            }
            eprintln!(
                "    still waiting for {what} after {}s:",
                start.elapsed().as_secs()
            );
            let _ = self.kubectl_ns().args(["get", "pods"]).status();
            // `kubectl wait` fails at once while the objects do not exist yet.
            if began.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_secs(5));
            }
        }
    }

    /// Forwards a free port of 127.0.0.1 to the component's Service, and waits until kubectl
    /// says it listens.
    fn port_forward(&self, component: &str) -> anyhow::Result<Forward> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .context("no free port on 127.0.0.1")?;
        let service = format!("svc/{RELEASE}-{component}");
        step(&format!("forwarding 127.0.0.1:{port} to {service}"));
        let mut child = self
            .kubectl_ns()
            .args(["port-forward", "--address", "127.0.0.1", &service])
            .arg(format!("{port}:http"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run kubectl port-forward")?;
        let stdout = child.stdout.take().context("no output of kubectl")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Forwarding from") {
                    let _ = tx.send(());
                }
            }
        });
        let forward = Forward { child, port };
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(()) => Ok(forward),
            Err(_) => bail!("kubectl port-forward {service} did not start listening"),
        }
    }

    /// Events, objects, descriptions and every container's log, into `<dir>/failure`.
    fn dump(&self) -> anyhow::Result<PathBuf> {
        let dir = self.dir.join("failure");
        std::fs::create_dir_all(dir.join("logs"))
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let save = |file: &str, command: &mut Command| {
            let text = match command.output() {
                Ok(output) => format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ),
                Err(err) => format!("cannot run {command:?}: {err}\n"),
            };
            std::fs::write(dir.join(file), text)
        };
        save(
            "events.txt",
            self.kubectl()
                .args(["get", "events", "--all-namespaces"])
                .arg("--sort-by=.lastTimestamp"),
        )?;
        save(
            "objects.txt",
            self.kubectl()
                .args(["get", "all,bookstores,jobs,pvc,configmaps,secrets"])
                .args(["--all-namespaces", "--output", "wide"]),
        )?;
        save(
            "describe.txt",
            self.kubectl_ns().args([
                "describe",
                "bookstores,deployments,statefulsets,jobs,pods,pvc",
            ]),
        )?;
        let pods = self
            .kubectl()
            .args(["get", "pods", "--all-namespaces", "--output"])
            .arg("jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}")
            .output()
            .context("cannot run kubectl get pods")?;
        for pod in String::from_utf8_lossy(&pods.stdout).lines() {
            let Some((namespace, name)) = pod.trim().split_once('/') else {
                continue;
            };
            save(
                &format!("logs/{namespace}_{name}.log"),
                self.kubectl()
                    .args(["logs", "--namespace", namespace, name])
                    .args(["--all-containers", "--prefix", "--timestamps"]),
            )?;
            save(
                &format!("logs/{namespace}_{name}.previous.log"),
                self.kubectl()
                    .args(["logs", "--namespace", namespace, name])
                    .args(["--all-containers", "--prefix", "--previous"]),
            )?;
        }
        Ok(dir)
    }
}

/// A running `kubectl port-forward`, stopped when dropped.
struct Forward {
    child: Child,
    port: u16,
}

impl Drop for Forward {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `services/bookstore/tests/remote.rs` with the forwarded addresses, or the command of
/// `BOOKSTORE_E2E_SUITE_COMMAND`.
fn run_suite(env: &[(String, String)]) -> anyhow::Result<()> {
    let mut command = match std::env::var(SUITE_COMMAND_VAR) {
        Ok(script) if !script.trim().is_empty() => {
            step(&format!("running the suite: {script}"));
            let mut command = Command::new("sh");
            command.args(["-c", &script]);
            command
        }
        _ => {
            step("running the suite: cargo test --package bookstore --test remote");
            let mut command =
                Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            command.args(["test", "--package", "bookstore", "--test", "remote"]);
            command
        }
    };
    command
        .current_dir(root())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let status = command.status().context("cannot run the suite")?;
    if !status.success() {
        bail!("the end-to-end suite failed ({status})");
    }
    Ok(())
}

fn check(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn check_with_input(command: &mut Command, input: &str, what: &str) -> anyhow::Result<()> {
    let mut child = command
        .stdin(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .with_context(|| format!("cannot write to {what}"))?;
    }
    let status = child.wait().with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// The kind config without its `extraPortMappings` blocks.
fn without_port_mappings(config: &str) -> String {
    let mut out = String::new();
    let mut skipping: Option<usize> = None;
    for line in config.lines() {
        let indent = line.len() - line.trim_start().len();
        if let Some(level) = skipping {
            // The block's items sit deeper, or at its level when they start with "- ".
            if line.trim().is_empty()
                || indent > level
                || (indent == level && line.trim_start().starts_with("- "))
            {
                continue;
            }
            skipping = None;
        }
        if line.trim_start().starts_with("extraPortMappings:") {
            skipping = Some(indent);
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
