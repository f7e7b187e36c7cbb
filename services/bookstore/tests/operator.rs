//! The `bookstore operator` process against a stateful stand-in API server: a whole life of an
//! installation (install, upgrade, a failed migration and the recovery from it, a rotated
//! Secret, the switch of the worker's autoscaler to KEDA), then leader election between
//! replicas (a clean hand-over on SIGTERM, a take-over when the leader dies). The test reads the
//! objects and the status the operator leaves, as `kubectl get` would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/apiserver.rs"]
mod apiserver;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use apiserver::{ApiServer, collection};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use operator::crd::Component;
use operator::leader::RETRY_EVERY;
use platform::testing::eventually;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_bookstore");
const NS: &str = "shop";
const LEASE: &str = "shop-operator";

struct Kinds {
    bookstores: String,
    jobs: String,
    deployments: String,
    hpas: String,
    scaled_objects: String,
    secrets: String,
    leases: String,
}

fn kinds() -> Kinds {
    Kinds {
        bookstores: collection("bookstore.dev/v1alpha1", NS, "bookstores"),
        jobs: collection("batch/v1", NS, "jobs"),
        deployments: collection("apps/v1", NS, "deployments"),
        hpas: collection("autoscaling/v2", NS, "horizontalpodautoscalers"),
        scaled_objects: collection("keda.sh/v1alpha1", NS, "scaledobjects"),
        secrets: collection("v1", NS, "secrets"),
        leases: collection("coordination.k8s.io/v1", NS, "leases"),
    }
}

/// One `bookstore operator` process, with its log in a file of its own.
struct Operator {
    child: Child,
    metrics: String,
    log: PathBuf,
}

impl Operator {
    async fn start(dir: &std::path::Path, kubeconfig: &std::path::Path, instance: &str) -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let log = dir.join(format!("{instance}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(BIN)
            .arg("operator")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env("KUBECONFIG", kubeconfig)
            .env("BOOKSTORE_LISTEN", format!("127.0.0.1:{port}"))
            .env("BOOKSTORE_OPERATOR_NAMESPACE", NS)
            .env("BOOKSTORE_OPERATOR_INSTANCE", instance)
            .env("BOOKSTORE_OPERATOR_LEASE", LEASE)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let operator = Self {
            child,
            metrics: format!("http://127.0.0.1:{port}/metrics"),
            log,
        };
        eventually(
            &format!("{instance} serves its metrics"),
            Duration::from_secs(20),
            async || operator.leading_now().await.is_some(),
        )
        .await;
        operator
    }

    /// `bookstore_operator_leader` as the process reports it; None while it does not answer.
    async fn leading_now(&self) -> Option<bool> {
        let answer = reqwest::Client::new()
            .get(&self.metrics)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        let text = answer.text().await.ok()?;
        let line = text
            .lines()
            .find(|l| l.starts_with("bookstore_operator_leader "))?;
        Some(line.ends_with(" 1"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// Waits until the standby `operator` has tried to take the Lease and found it taken (it says so
/// once, at the first try).
async fn standby_has_looked(operator: &Operator) {
    eventually(
        "the standby finds the Lease taken",
        Duration::from_secs(20),
        async || operator.log().contains("Another instance leads"),
    )
    .await;
}

/// How long a standby that found the Lease taken is watched for not taking it while its holder
/// renews it: nothing marks a try that changes nothing, so the wait is bounded, two more tries
/// ([`RETRY_EVERY`]) and a margin.
const STANDBY_KEEPS_WAITING: Duration = RETRY_EVERY
    .saturating_mul(2)
    .saturating_add(Duration::from_millis(500));

fn secret(name: &str, data: &[(&str, &str)]) -> Value {
    let data: serde_json::Map<String, Value> = data
        .iter()
        .map(|(key, value)| ((*key).to_owned(), json!(BASE64.encode(value))))
        .collect();
    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "type": "Opaque", "data": data})
}

fn image_of(deployment: &Value) -> String {
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn condition(bookstore: &Value, type_: &str) -> Option<String> {
    bookstore["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| c["status"].as_str().unwrap_or_default().to_owned())
}

/// The migration Job of `version`, once the operator made it.
fn migration_job(api: &ApiServer, version: &str) -> Option<String> {
    api.list(&kinds().jobs).into_iter().find_map(|job| {
        let name = job["metadata"]["name"].as_str()?.to_owned();
        let image = job["spec"]["template"]["spec"]["containers"][0]["image"].as_str()?;
        (name.starts_with("shop-migrate-") && image == format!("bookstore:{version}"))
            .then_some(name)
    })
}

/// Waits for the migration Job of `version` and lets it end as the Job controller would.
async fn finish_migration(api: &ApiServer, version: &str, succeeded: bool) {
    eventually(
        &format!("the migration Job of {version} is made"),
        Duration::from_secs(20),
        async || migration_job(api, version).is_some(),
    )
    .await;
    let job = migration_job(api, version).unwrap();
    api.update(&kinds().jobs, &job, |job| {
        job["status"] = if succeeded {
            json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
        } else {
            json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
        };
    });
}

fn bookstore(api: &ApiServer) -> Value {
    api.get(&kinds().bookstores, "shop").unwrap()
}

fn running(api: &ApiServer, version: &str) -> bool {
    let shop = bookstore(api);
    shop["status"]["currentVersion"] == version
        && condition(&shop, "Ready").as_deref() == Some("True")
        && shop["status"]["observedGeneration"] == shop["metadata"]["generation"]
}

fn lease_holder(api: &ApiServer) -> Option<String> {
    let lease = api.get(&kinds().leases, LEASE)?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
}

fn secrets_hash(api: &ApiServer, component: &str) -> String {
    let deployment = api
        .get(&kinds().deployments, &format!("shop-{component}"))
        .unwrap();
    deployment["spec"]["template"]["metadata"]["annotations"]["bookstore.dev/secrets-hash"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Every component, by the name its objects end with.
fn components() -> [&'static str; 7] {
    Component::ALL.map(Component::name)
}

#[tokio::test]
async fn an_installation_lives_through_upgrades_a_failed_migration_a_rotated_secret_and_the_keda_switch_and_replicas_hand_the_lease_over()
 {
    let api = ApiServer::start().await;
    let dir = std::env::temp_dir().join(format!(
        "bookstore-operator-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = dir.join("kubeconfig");
    std::fs::write(&kubeconfig, api.kubeconfig(NS)).unwrap();
    let k = kinds();

    for (name, data) in [
        ("shop-db", vec![("url", "postgres://shop@db/shop")]),
        ("shop-amqp", vec![("url", "amqp://shop@broker:5672/%2f")]),
        (
            "shop-jwt",
            vec![("private.pem", "private"), ("public.pem", "public")],
        ),
        (
            "shop-token",
            vec![("token", "a service token of at least 32 characters")],
        ),
    ] {
        api.put(&k.secrets, secret(name, &data));
    }
    api.put(
        &k.bookstores,
        json!({
            "apiVersion": "bookstore.dev/v1alpha1", "kind": "Bookstore",
            "metadata": {"name": "shop", "namespace": NS},
            "spec": {
                "image": "bookstore", "version": "1.0.0",
                "database": {"name": "shop-db"},
                "broker": {"secretRef": {"name": "shop-amqp"}},
                "jwt": {"secretName": "shop-jwt"},
                "serviceToken": {"name": "shop-token"},
                "worker": {"autoscaling": {"minReplicas": 2, "maxReplicas": 6}},
                "components": {
                    "orders": {"replicas": 3, "autoscaling": {"minReplicas": 2, "maxReplicas": 5}},
                    "catalog": {"replicas": 3},
                },
            },
        }),
    );

    let first = Operator::start(&dir, &kubeconfig, "operator-a").await;
    let context = || format!("operator-a's log:\n{}", first.log());

    // Install: the migration Job first, no Deployment until it succeeded.
    finish_migration(&api, "1.0.0", true).await;
    eventually(
        "1.0.0 runs and is Ready",
        Duration::from_secs(20),
        async || running(&api, "1.0.0"),
    )
    .await;
    for component in components() {
        let deployment = api
            .get(&k.deployments, &format!("shop-{component}"))
            .unwrap_or_else(|| panic!("no Deployment of {component}; {}", context()));
        assert_eq!(image_of(&deployment), "bookstore:1.0.0");
    }
    // Without KEDA the worker scales on CPU; orders has its own HPA. On a first install there
    // is no count to keep: the autoscalers own the replicas from the start.
    let shop = bookstore(&api);
    assert_eq!(shop["status"]["autoscaler"], "HorizontalPodAutoscaler");
    assert_eq!(shop["status"]["cpuAutoscaled"], json!(["orders"]));
    assert!(api.get(&k.hpas, "shop-worker").is_some());
    assert_eq!(
        api.get(&k.hpas, "shop-orders").unwrap()["spec"]["maxReplicas"],
        5
    );
    for scaled in ["shop-orders", "shop-worker"] {
        let deployment = api.get(&k.deployments, scaled).unwrap();
        assert!(deployment["spec"].get("replicas").is_none(), "{scaled}");
    }
    assert_eq!(
        api.get(&k.deployments, "shop-catalog").unwrap()["spec"]["replicas"],
        3
    );

    // Autoscaling turned on for a running component: its 3 replicas are handed over, not
    // dropped (the stand-in removes a field its manager's apply leaves out, as the API server
    // does).
    api.update(&k.bookstores, "shop", |shop| {
        shop["spec"]["components"]["catalog"]["autoscaling"] =
            json!({"minReplicas": 2, "maxReplicas": 6});
    });
    eventually(
        "the catalogue scales on CPU",
        Duration::from_secs(20),
        async || api.get(&k.hpas, "shop-catalog").is_some(),
    )
    .await;
    let catalog = api.get(&k.deployments, "shop-catalog").unwrap();
    assert_eq!(catalog["spec"]["replicas"], 3);
    let owners: Vec<&str> = catalog["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["fieldsV1"]["f:spec"]["f:replicas"].is_object())
        .map(|entry| entry["manager"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["bookstore-operator-replicas-handover"]);
    assert_eq!(lease_holder(&api).as_deref(), Some("operator-a"));

    // An upgrade whose migration fails: the components keep running 1.0.0.
    api.update(&k.bookstores, "shop", |shop| {
        shop["spec"]["version"] = json!("2.0.0")
    });
    finish_migration(&api, "2.0.0", false).await;
    eventually(
        "the failed migration shows",
        Duration::from_secs(20),
        async || condition(&bookstore(&api), "MigrationFailed").as_deref() == Some("True"),
    )
    .await;
    for component in components() {
        let deployment = api
            .get(&k.deployments, &format!("shop-{component}"))
            .unwrap();
        assert_eq!(image_of(&deployment), "bookstore:1.0.0", "{component}");
    }
    assert_eq!(bookstore(&api)["status"]["currentVersion"], "1.0.0");

    // The recovery: a fixed version migrates and rolls out.
    api.update(&k.bookstores, "shop", |shop| {
        shop["spec"]["version"] = json!("2.0.1")
    });
    finish_migration(&api, "2.0.1", true).await;
    eventually(
        "2.0.1 runs and is Ready",
        Duration::from_secs(20),
        async || {
            running(&api, "2.0.1")
                && components().iter().all(|c| {
                    image_of(&api.get(&k.deployments, &format!("shop-{c}")).unwrap())
                        == "bookstore:2.0.1"
                })
        },
    )
    .await;
    assert_eq!(
        condition(&bookstore(&api), "MigrationFailed").as_deref(),
        Some("False")
    );

    // A rotated Secret rolls the pods that read it, and only those.
    let before: Vec<String> = components().iter().map(|c| secrets_hash(&api, c)).collect();
    let changed = || -> Vec<&str> {
        components()
            .iter()
            .zip(&before)
            .filter(|(c, hash)| secrets_hash(&api, c) != **hash)
            .map(|(c, _)| *c)
            .collect()
    };
    api.put(
        &k.secrets,
        secret(
            "shop-token",
            &[("token", "another service token of at least 32 characters")],
        ),
    );
    let readers = ["catalog", "inventory", "orders", "worker"];
    eventually(
        "the components reading the token roll",
        Duration::from_secs(20),
        async || changed() == readers,
    )
    .await;

    // KEDA appears: the worker's HPA goes before its ScaledObject comes (the stand-in refuses a
    // ScaledObject for a Deployment an HPA scales, as KEDA's webhook does).
    api.serve_keda(true);
    api.update(&k.bookstores, "shop", |shop| {
        shop["spec"]["worker"]["autoscaling"]["maxReplicas"] = json!(8);
    });
    // The operator may first make the ScaledObject from the spec it had (KEDA appearing is a
    // change of its own): wait for the one of the new spec.
    eventually(
        "the worker scales on its queue, up to the new maximum",
        Duration::from_secs(20),
        async || {
            bookstore(&api)["status"]["autoscaler"] == "ScaledObject"
                && api
                    .get(&k.scaled_objects, "shop-worker")
                    .is_some_and(|scaled| scaled["spec"]["maxReplicaCount"] == 8)
        },
    )
    .await;
    assert!(api.get(&k.hpas, "shop-worker").is_none());
    assert!(api.get(&k.hpas, "shop-orders").is_some());
    assert_eq!(
        condition(&bookstore(&api), "Ready").as_deref(),
        Some("True")
    );

    // A second replica waits while the first leads.
    let second = Operator::start(&dir, &kubeconfig, "operator-b").await;
    standby_has_looked(&second).await;
    assert_eq!(first.leading_now().await, Some(true), "{}", context());
    assert_eq!(second.leading_now().await, Some(false), "{}", second.log());
    assert_eq!(lease_holder(&api).as_deref(), Some("operator-a"));

    // SIGTERM: the leader gives the Lease up, and the other takes over at once (not after the
    // Lease's 15 s) and reconciles.
    let stopped = Instant::now();
    first.signal("-TERM");
    eventually(
        "operator-b leads after operator-a's SIGTERM",
        Duration::from_secs(8),
        async || {
            lease_holder(&api).as_deref() == Some("operator-b")
                && second.leading_now().await == Some(true)
        },
    )
    .await;
    let mut first = first;
    let status = tokio::time::timeout(Duration::from_secs(15), first.child.wait())
        .await
        .expect("operator-a stops after SIGTERM")
        .unwrap();
    assert!(status.success(), "{}", first.log());
    assert!(
        first.log().contains("Released the Lease"),
        "{}",
        first.log()
    );
    assert!(stopped.elapsed() < Duration::from_secs(15));
    api.update(&k.bookstores, "shop", |shop| {
        shop["spec"]["components"]["orders"]["autoscaling"]["maxReplicas"] = json!(7);
    });
    eventually(
        "operator-b reconciles",
        Duration::from_secs(20),
        async || api.get(&k.hpas, "shop-orders").unwrap()["spec"]["maxReplicas"] == 7,
    )
    .await;

    // A leader that dies without a word (a lost node): the standby takes over once the Lease
    // expires.
    let third = Operator::start(&dir, &kubeconfig, "operator-c").await;
    standby_has_looked(&third).await;
    // It looks again every 2 s: a few more looks, and it still leaves the Lease to its holder.
    tokio::time::sleep(STANDBY_KEEPS_WAITING).await;
    assert_eq!(third.leading_now().await, Some(false), "{}", third.log());
    assert_eq!(lease_holder(&api).as_deref(), Some("operator-b"));
    second.signal("-KILL");
    let killed = Instant::now();
    eventually(
        "operator-c leads once operator-b's Lease expired",
        Duration::from_secs(25),
        async || {
            lease_holder(&api).as_deref() == Some("operator-c")
                && third.leading_now().await == Some(true)
        },
    )
    .await;
    // Not before the Lease's 15 s, counted from its last renewal (at most 2 s before the kill).
    assert!(
        killed.elapsed() >= Duration::from_secs(12),
        "taken over after {:?}",
        killed.elapsed()
    );
    let lease = api.get(&k.leases, LEASE).unwrap();
    assert_eq!(lease["spec"]["leaseTransitions"], 2);
    drop(third);
    let _ = std::fs::remove_dir_all(&dir);
}
