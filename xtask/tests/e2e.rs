//! `cargo xtask e2e`'s orchestration, run against stand-ins for docker, kind, kubectl and helm:
//! small shell scripts first on PATH that write their arguments to a log and answer as the real
//! tools do. The suite itself is replaced through `BOOKSTORE_E2E_SUITE_COMMAND` by a script that
//! records the addresses it was given. openssl is the real one.
//!
//! What a real cluster does is not checked here: that takes a machine with Docker and kind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const XTASK: &str = env!("CARGO_BIN_EXE_xtask");
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// Records `<tool> <args>` and fails when the line matches the glob in `$FAKE_FAIL`.
const PRELUDE: &str = r#"#!/bin/sh
line="$(basename "$0") $*"
printf '%s\n' "$line" >> "$FAKE_LOG"
case "$line" in
    $FAKE_FAIL) echo "$(basename "$0"): staged failure" >&2; exit 1 ;;
esac
"#;

const DOCKER: &str = r#"
case "$1" in
    buildx) echo "github.com/docker/buildx v0.17.1" ;;
    build) echo "Successfully built 0123456789ab" ;;
    image) echo 123456789 ;;
esac
"#;

const KIND: &str = r#"
case "$1 $2" in
    "create cluster") echo "Creating cluster ..."; echo "Set kubectl context" ;;
    "load docker-image") echo "Image loaded" ;;
    "delete cluster") echo "Deleting cluster ..." ;;
esac
"#;

const HELM: &str = r#"
echo "NAME: shop"
echo "STATUS: deployed"
"#;

const KUBECTL: &str = r#"
for arg in "$@"; do
    case "$arg" in
        wait) echo "condition met"; exit 0 ;;
        exec) cat > "$FAKE_DIR/exec-stdin"; echo "Created admin e2e-admin@shop.example"; exit 0 ;;
        port-forward)
            for last in "$@"; do :; done
            echo "Forwarding from 127.0.0.1:${last%%:*} -> 8080"
            exec sleep 300 ;;
        events) echo "LAST SEEN   TYPE      REASON    OBJECT          MESSAGE"
                echo "1m          Warning   BackOff   pod/shop-users  staged event"; exit 0 ;;
        describe) echo "Name: shop"; echo "Kind: Bookstore"; exit 0 ;;
        logs) echo "log line of $*"; exit 0 ;;
        jsonpath=*) printf 'bookstore/shop-users-7d9\nbookstore/shop-operator-5c4\n'; exit 0 ;;
    esac
done
echo "NAME   READY   STATUS"
"#;

/// The suite: records the variables it was run with; `$FAKE_SUITE_STATUS` is its exit status.
const SUITE: &str = r#"#!/bin/sh
env | grep '^BOOKSTORE_E2E_' | sort | sed 's/^/suite /' >> "$FAKE_LOG"
exit "${FAKE_SUITE_STATUS:-0}"
"#;

struct Fakes {
    dir: PathBuf,
}

impl Fakes {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("bookstore-xtask-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        for (tool, body) in [
            ("docker", DOCKER),
            ("kind", KIND),
            ("helm", HELM),
            ("kubectl", KUBECTL),
        ] {
            write_script(&dir.join("bin").join(tool), &format!("{PRELUDE}{body}"));
        }
        write_script(&dir.join("suite"), SUITE);
        std::fs::write(dir.join("log"), "").unwrap();
        Self { dir }
    }

    /// `cargo xtask e2e <args>` with the stand-ins first on PATH.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        Command::new(XTASK)
            .arg("e2e")
            .args(args)
            .env("PATH", path)
            .env("FAKE_LOG", self.dir.join("log"))
            .env("FAKE_DIR", &self.dir)
            .env("FAKE_FAIL", "")
            .env(
                "BOOKSTORE_E2E_SUITE_COMMAND",
                self.dir.join("suite").display().to_string(),
            )
            .env("CARGO_TARGET_DIR", self.dir.join("target"))
            .env_remove("BOOKSTORE_HELM")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("log"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn run_dir(&self, cluster: &str) -> PathBuf {
        self.dir.join("target/e2e").join(cluster)
    }
}

impl Drop for Fakes {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The index of the first line starting with `prefix` and containing every one of `parts`.
fn position(log: &[String], prefix: &str, parts: &[&str]) -> usize {
    log.iter()
        .position(|line| line.starts_with(prefix) && parts.iter().all(|p| line.contains(p)))
        .unwrap_or_else(|| panic!("no `{prefix}` with {parts:?} in\n{}", log.join("\n")))
}

fn count(log: &[String], prefix: &str) -> usize {
    log.iter().filter(|line| line.starts_with(prefix)).count()
}

#[test]
fn a_run_builds_loads_installs_waits_forwards_tests_and_deletes_the_cluster_in_order() {
    let fakes = Fakes::new("order");
    let output = fakes.run(&["--cluster-name", "e2e-order"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let log = fakes.log();
    let run_dir = fakes.run_dir("e2e-order");
    let kubeconfig = run_dir.join("kubeconfig").display().to_string();
    let image = format!("bookstore:{VERSION}");

    let build = position(
        &log,
        "docker build",
        &[
            &format!("--file {}", root().join("Dockerfile").display()),
            &format!("--tag {image}"),
        ],
    );
    let create = position(
        &log,
        "kind create cluster",
        &[
            "--name e2e-order",
            &format!("--config {}", run_dir.join("kind-config.yaml").display()),
            &format!("--kubeconfig {kubeconfig}"),
        ],
    );
    let load = position(
        &log,
        "kind load docker-image",
        &[&image, "--name e2e-order"],
    );
    let install = position(
        &log,
        "helm install shop",
        &[
            &root().join("charts/bookstore").display().to_string(),
            &format!("--kubeconfig {kubeconfig}"),
            "--namespace bookstore --create-namespace",
            "--set image.repository=bookstore",
            &format!("--set image.tag={VERSION}"),
            "--set postgresql.enabled=true",
            "--set rabbitmq.enabled=true",
            &format!(
                "--set-file jwt.privateKey={}",
                run_dir.join("jwt.pem").display()
            ),
            &format!(
                "--set-file jwt.publicKey={}",
                run_dir.join("jwt.pub.pem").display()
            ),
        ],
    );
    let operator = position(
        &log,
        "kubectl",
        &[
            "wait",
            "--for=condition=Available",
            "deployment/shop-operator",
        ],
    );
    let ready = position(
        &log,
        "kubectl",
        &[
            &format!("--kubeconfig {kubeconfig} --namespace bookstore wait"),
            "--for=condition=Ready bookstore/shop",
        ],
    );
    let deployments = position(
        &log,
        "kubectl",
        &["wait --for=condition=Available deployment --all"],
    );
    let admin = position(
        &log,
        "kubectl",
        &[
            "exec --stdin deployment/shop-users --",
            "bookstore admin create-user --email e2e-admin@shop.example --role admin",
        ],
    );
    let forwards: Vec<usize> = ["users", "catalog", "inventory", "orders", "notifications"]
        .iter()
        .map(|component| {
            position(
                &log,
                "kubectl",
                &[
                    "--namespace bookstore port-forward --address 127.0.0.1",
                    &format!("svc/shop-{component} "),
                ],
            )
        })
        .collect();
    let suite = position(&log, "suite BOOKSTORE_E2E_USERS_URL=", &[]);
    let delete = position(
        &log,
        "kind delete cluster",
        &["--name e2e-order", &kubeconfig],
    );
    let last_forward = *forwards.iter().max().unwrap();
    let first_forward = *forwards.iter().min().unwrap();
    assert!(
        build < create
            && create < load
            && load < install
            && install < operator
            && operator < ready
            && ready < deployments
            && deployments < admin
            && admin < first_forward
            && last_forward < suite
            && suite < delete,
        "out of order:\n{}",
        log.join("\n")
    );
    assert_eq!(delete, log.len() - 1, "deleting is the last step");
    assert_eq!(count(&log, "kind delete"), 1);

    // The suite got each forwarded port, and the admin whose password went to `create-user`.
    for component in ["users", "catalog", "inventory", "orders", "notifications"] {
        let forward = &log[position(&log, "kubectl", &[&format!("svc/shop-{component} ")])];
        let port = forward
            .rsplit(' ')
            .next()
            .unwrap()
            .strip_suffix(":http")
            .unwrap();
        let var = format!(
            "suite BOOKSTORE_E2E_{}_URL=http://127.0.0.1:{port}",
            component.to_uppercase()
        );
        assert!(log.contains(&var), "no {var} in\n{}", log.join("\n"));
    }
    assert!(log.contains(&"suite BOOKSTORE_E2E_ADMIN_EMAIL=e2e-admin@shop.example".to_owned()));
    let password = std::fs::read_to_string(fakes.dir.join("exec-stdin")).unwrap();
    assert!(password.len() >= 12, "{password:?}");
    assert!(
        log.contains(&format!("suite BOOKSTORE_E2E_ADMIN_PASSWORD={password}")),
        "{}",
        log.join("\n")
    );

    // The cluster is k8s/kind-config.yaml's, without the host ports; the keys are a real pair.
    let config = std::fs::read_to_string(run_dir.join("kind-config.yaml")).unwrap();
    assert!(config.contains("kind: Cluster") && config.contains("ingress-ready=true"));
    assert!(config.contains("role: control-plane"), "{config}");
    assert!(
        !config.contains("extraPortMappings") && !config.contains("hostPort"),
        "{config}"
    );
    let private = std::fs::read_to_string(run_dir.join("jwt.pem")).unwrap();
    let public = std::fs::read_to_string(run_dir.join("jwt.pub.pem")).unwrap();
    assert!(
        private.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{private}"
    );
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    assert!(!run_dir.join("failure").exists(), "no dump after a success");
    // No forward outlives the run.
    assert!(
        !String::from_utf8_lossy(
            &Command::new("ps")
                .args(["-eo", "args"])
                .output()
                .unwrap()
                .stdout
        )
        .contains(&format!("{}/bin/kubectl", fakes.dir.display())),
        "a port-forward is still running"
    );
}

#[test]
fn a_failing_suite_dumps_events_descriptions_and_logs_and_still_deletes_the_cluster() {
    let fakes = Fakes::new("suite-fails");
    let output = fakes.run(
        &["--cluster-name", "e2e-fails", "--skip-build"],
        &[("FAKE_SUITE_STATUS", "1")],
    );
    assert!(!output.status.success());
    let stderr = stderr(&output);
    let dump = fakes.run_dir("e2e-fails").join("failure");
    assert!(
        stderr.contains(&dump.display().to_string()),
        "the dump's path is printed: {stderr}"
    );
    assert!(stderr.contains("the end-to-end suite failed"), "{stderr}");
    let events = std::fs::read_to_string(dump.join("events.txt")).unwrap();
    assert!(events.contains("staged event"), "{events}");
    let describe = std::fs::read_to_string(dump.join("describe.txt")).unwrap();
    assert!(describe.contains("Kind: Bookstore"), "{describe}");
    for pod in ["shop-users-7d9", "shop-operator-5c4"] {
        let logs = std::fs::read_to_string(dump.join(format!("logs/bookstore_{pod}.log"))).unwrap();
        assert!(
            logs.contains(&format!("logs --namespace bookstore {pod}")),
            "{logs}"
        );
    }
    let log = fakes.log();
    assert_eq!(count(&log, "docker"), 0, "--skip-build builds nothing");
    let suite = position(&log, "suite BOOKSTORE_E2E_", &[]);
    let events_at = position(&log, "kubectl", &["get events --all-namespaces"]);
    let delete = position(&log, "kind delete cluster", &["--name e2e-fails"]);
    assert!(
        suite < events_at && events_at < delete,
        "{}",
        log.join("\n")
    );
    assert_eq!(delete, log.len() - 1);
}

#[test]
fn a_failing_install_stops_the_run_dumps_and_deletes_the_cluster() {
    let fakes = Fakes::new("install-fails");
    let output = fakes.run(
        &["--cluster-name", "e2e-install", "--skip-build"],
        &[("FAKE_FAIL", "helm install*")],
    );
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("helm install failed"),
        "{}",
        stderr(&output)
    );
    let log = fakes.log();
    assert_eq!(count(&log, "suite"), 0, "the suite does not run");
    assert!(
        !log.iter().any(|line| line.contains(" wait ")),
        "{}",
        log.join("\n")
    );
    assert!(
        fakes
            .run_dir("e2e-install")
            .join("failure/events.txt")
            .exists()
    );
    assert_eq!(
        position(&log, "kind delete cluster", &["--name e2e-install"]),
        log.len() - 1
    );
}

#[test]
fn keep_leaves_the_cluster_and_says_how_to_reach_it() {
    let fakes = Fakes::new("keep");
    let output = fakes.run(
        &["--cluster-name", "e2e-keep", "--skip-build", "--keep"],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let log = fakes.log();
    position(&log, "suite BOOKSTORE_E2E_", &[]);
    assert_eq!(count(&log, "kind delete"), 0, "{}", log.join("\n"));
    let kubeconfig = fakes.run_dir("e2e-keep").join("kubeconfig");
    assert!(
        stderr(&output).contains(&format!("kubectl --kubeconfig {}", kubeconfig.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_failing_cluster_creation_runs_nothing_else() {
    let fakes = Fakes::new("create-fails");
    let output = fakes.run(
        &["--cluster-name", "e2e-create", "--skip-build"],
        &[("FAKE_FAIL", "kind create*")],
    );
    assert!(!output.status.success());
    assert!(stderr(&output).contains("kind create cluster failed"));
    assert_eq!(fakes.log().len(), 1, "{:?}", fakes.log());
}

#[test]
fn missing_tools_are_named_with_how_to_get_them_before_anything_runs() {
    let fakes = Fakes::new("missing");
    // Only docker is there.
    let only = fakes.dir.join("only-docker");
    std::fs::create_dir_all(&only).unwrap();
    std::fs::copy(fakes.dir.join("bin/docker"), only.join("docker")).unwrap();
    let output = Command::new(XTASK)
        .args(["e2e", "--cluster-name", "e2e-missing"])
        .env("PATH", &only)
        .env("FAKE_LOG", fakes.dir.join("log"))
        .env("CARGO_TARGET_DIR", fakes.dir.join("target"))
        .env_remove("BOOKSTORE_HELM")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = stderr(&output);
    for (tool, hint) in [
        ("kind", "kind.sigs.k8s.io"),
        ("kubectl", "kubernetes.io/docs/tasks/tools"),
        ("helm", "BOOKSTORE_HELM=$(.ci/helm)"),
        ("openssl", "openssl"),
    ] {
        assert!(
            stderr.contains(&format!("  {tool}: ")) && stderr.contains(hint),
            "{tool}: {stderr}"
        );
    }
    assert!(!stderr.contains("  docker: "), "{stderr}");
    assert!(fakes.log().is_empty(), "nothing ran: {:?}", fakes.log());
}

#[test]
fn bad_options_are_refused() {
    for (args, message) in [
        (
            &["e2e", "--cluster-name", "Bad_Name"][..],
            "invalid cluster name",
        ),
        (
            &["e2e", "--cluster-name"][..],
            "--cluster-name needs a value",
        ),
        (&["e2e", "--frobnicate"][..], "unknown option --frobnicate"),
    ] {
        let output = Command::new(XTASK).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains(message),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}
