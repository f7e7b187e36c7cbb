//! The reconciler against a mocked API server (`tower_test::mock::pair` under `kube::Client`):
//! each test runs one reconciliation and asserts every request it made, in order (method and
//! path), and the fields of their bodies that carry the behaviour. The fake answers like the API
//! server: an apply returns the object with the status the scenario gives it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::controller::Action;
use operator::controller::{Context, error_policy, reconcile};
use operator::crd::Bookstore;
use operator::metrics::Metrics;
use serde_json::{Value, json};

const NS: &str = "shop-ns";
const UID: &str = "6a3c1f0e-5b1d-4c1e-9c55-0b8a4b1f2d10";

/// How the migration Job the fake returns is doing.
#[derive(Clone, Copy, PartialEq)]
enum JobState {
    Running,
    Succeeded,
    Failed,
}

/// The cluster the fake pretends to be.
#[derive(Clone)]
struct Cluster {
    job: JobState,
    keda_installed: bool,
    /// Deployments come back with every replica updated and available.
    deployments_available: bool,
    /// Every request answers 500 (the API server in trouble).
    broken: bool,
    /// Applies to paths containing this answer 422, as the API server answers an object it
    /// finds invalid.
    invalid: Option<&'static str>,
    /// The worker has an HPA (until it is deleted): KEDA's admission webhook refuses a
    /// ScaledObject for it meanwhile.
    worker_hpa: Arc<std::sync::atomic::AtomicBool>,
    /// The service token Secret's `token`, base64 as the API server gives it; none: the Secret
    /// does not exist (yet).
    service_token: Option<&'static str>,
    /// The Deployments exist, their replicas set by the operator's apply (a read of one says
    /// so in its managed fields); otherwise a read answers 404, as before the first rollout.
    deployments_exist: bool,
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            job: JobState::Running,
            keda_installed: false,
            deployments_available: true,
            broken: false,
            invalid: None,
            worker_hpa: Arc::default(),
            service_token: Some("dG9rZW4tb25l"),
            deployments_exist: true,
        }
    }
}

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    body: Value,
}

impl Recorded {
    fn line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// Runs one reconciliation of `bookstore` against the fake cluster and returns its result
/// with every request made.
async fn reconcile_once(
    bookstore: Bookstore,
    cluster: Cluster,
) -> (Result<Action, operator::Error>, Vec<Recorded>, Arc<Context>) {
    let stored = serde_json::to_value(&bookstore).unwrap();
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let recorded = Arc::new(Mutex::new(Vec::new()));
    let log = recorded.clone();
    let server = tokio::spawn(async move {
        while let Some((request, send)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = http_body_util::BodyExt::collect(body)
                .await
                .unwrap()
                .to_bytes();
            let body: Value = if bytes.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&bytes).unwrap()
            };
            let request = Recorded {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                query: parts.uri.query().unwrap_or_default().to_owned(),
                body,
            };
            let (status, answer) = answer(&cluster, &stored, &request);
            log.lock().unwrap().push(request);
            send.send_response(
                Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&answer).unwrap()))
                    .unwrap(),
            );
        }
    });
    let client = kube::Client::new(service, NS);
    let ctx = Arc::new(Context::new(
        client,
        Metrics::new(platform::metrics::Metrics::new()),
        Some("operator-0".into()),
    ));
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        reconcile(Arc::new(bookstore), ctx.clone()),
    )
    .await
    .expect("the reconciliation finishes");
    // Every request was answered before the reconciliation returned.
    server.abort();
    let requests = recorded.lock().unwrap().clone();
    (result, requests, ctx)
}

/// What the API server would answer.
fn answer(cluster: &Cluster, bookstore: &Value, request: &Recorded) -> (StatusCode, Value) {
    if cluster.broken {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "etcd is unhappy", "reason": "InternalError", "code": 500}),
        );
    }
    if request.method == "GET" && request.path == "/apis/keda.sh/v1alpha1" {
        return if cluster.keda_installed {
            (
                StatusCode::OK,
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "keda.sh/v1alpha1", "resources": [
                    {"name": "scaledobjects", "singularName": "scaledobject", "namespaced": true, "kind": "ScaledObject", "verbs": ["get", "patch"]},
                    {"name": "triggerauthentications", "singularName": "triggerauthentication", "namespaced": true, "kind": "TriggerAuthentication", "verbs": ["get", "patch"]},
                ]}),
            )
        } else {
            not_found()
        };
    }
    if request.method == "GET" && request.path.contains("/secrets/") {
        let name = request.path.rsplit('/').next().unwrap();
        let data = match (name, cluster.service_token) {
            ("shop-token", Some(token)) => json!({"token": token}),
            ("shop-token", None) => return not_found(),
            _ => json!({"key": "c2FtZQ=="}),
        };
        return (
            StatusCode::OK,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "data": data}),
        );
    }
    if request.method == "GET" && request.path.contains("/deployments/") {
        if !cluster.deployments_exist {
            return not_found();
        }
        let name = request.path.rsplit('/').next().unwrap();
        return (
            StatusCode::OK,
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS,
                "managedFields": [{"manager": "bookstore-operator", "operation": "Apply", "apiVersion": "apps/v1",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}, "f:template": {}}}}]}}),
        );
    }
    if let Some(fragment) = cluster.invalid
        && request.path.contains(fragment)
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "Deployment.apps \"shop-users\" is invalid: spec.template.spec.containers[0].resources.requests: Invalid value: \"-1\": must be greater than or equal to 0", "reason": "Invalid", "code": 422}),
        );
    }
    let hpa = cluster.worker_hpa.load(std::sync::atomic::Ordering::SeqCst);
    if request.method == "DELETE"
        && request
            .path
            .ends_with("/horizontalpodautoscalers/shop-worker")
    {
        cluster
            .worker_hpa
            .store(false, std::sync::atomic::Ordering::SeqCst);
    }
    if hpa && request.path.ends_with("/scaledobjects/shop-worker") && request.method == "PATCH" {
        return (
            StatusCode::BAD_REQUEST,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "admission webhook \"vscaledobject.kb.io\" denied the request: the workload 'shop-worker' of type 'apps/v1.Deployment' is already managed by the hpa 'shop-worker'", "reason": "BadRequest", "code": 400}),
        );
    }
    if request.method == "DELETE" {
        return (
            StatusCode::OK,
            json!({"kind": "Status", "apiVersion": "v1", "status": "Success"}),
        );
    }
    let mut object = request.body.clone();
    object["metadata"]["uid"] = json!("11111111-2222-3333-4444-555555555555");
    object["metadata"]["resourceVersion"] = json!("7");
    if request.path.contains("/jobs/") {
        object["status"] = match cluster.job {
            JobState::Running => json!({"active": 1}),
            JobState::Succeeded => {
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]})
            }
            JobState::Failed => {
                json!({"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]})
            }
        };
    }
    if request.path.contains("/deployments/") {
        // The API server defaults replicas to 1 (the autoscaler's choice stands in for it).
        let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
        object["metadata"]["generation"] = json!(1);
        object["status"] = if cluster.deployments_available {
            json!({"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas})
        } else {
            json!({"observedGeneration": 1, "replicas": replicas, "updatedReplicas": 0, "availableReplicas": 0})
        };
    }
    if request.path.ends_with("/status") {
        // The status subresource answers with the whole object.
        let mut whole = bookstore.clone();
        whole["status"] = request.body["status"].clone();
        object = whole;
    }
    let status = if request.method == "POST" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, object)
}

fn not_found() -> (StatusCode, Value) {
    (
        StatusCode::NOT_FOUND,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404}),
    )
}

/// A Bookstore as the API server would hand it to the controller.
fn bookstore(spec: Value, status: Option<Value>) -> Bookstore {
    let mut object = json!({
        "apiVersion": "bookstore.dev/v1alpha1",
        "kind": "Bookstore",
        "metadata": {"name": "shop", "namespace": NS, "uid": UID, "generation": 4},
        "spec": spec,
    });
    if let Some(status) = status {
        object["status"] = status;
    }
    serde_json::from_value(object).unwrap()
}

fn spec(version: &str) -> Value {
    json!({
        "image": "registry.example/bookstore",
        "version": version,
        "database": {"name": "shop-db"},
        "broker": {"secretRef": {"name": "shop-amqp"}},
        "jwt": {"secretName": "shop-jwt"},
        "serviceToken": {"name": "shop-token"},
    })
}

/// The status after version `version` has been rolled out.
fn running(version: &str, autoscaler: Option<&str>) -> Value {
    let mut status = json!({
        "observedGeneration": 3,
        "currentVersion": version,
        "currentImage": format!("registry.example/bookstore:{version}"),
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "AllComponentsAvailable", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 3},
        ],
    });
    if let Some(autoscaler) = autoscaler {
        status["autoscaler"] = json!(autoscaler);
    }
    status
}

const COMPONENTS: [&str; 7] = [
    "users",
    "catalog",
    "inventory",
    "orders",
    "worker",
    "notifications",
    "storefront",
];

/// The requests every pass starts with: the ConfigMap, then each component's Service and
/// PodDisruptionBudget.
fn shared_requests() -> Vec<String> {
    let mut lines = vec![format!(
        "PATCH /api/v1/namespaces/{NS}/configmaps/shop-config"
    )];
    for component in COMPONENTS {
        lines.push(format!(
            "PATCH /api/v1/namespaces/{NS}/services/shop-{component}"
        ));
        lines.push(format!(
            "PATCH /apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/shop-{component}"
        ));
    }
    lines
}

/// The Secrets the components read, which each pass that applies Deployments reads for their
/// hashes (sorted by name).
const SECRETS: [&str; 4] = ["shop-amqp", "shop-db", "shop-jwt", "shop-token"];

fn deployment_requests() -> Vec<String> {
    deployment_requests_scaling(&[], &[])
}

/// The replica counts of `handed_over` are handed to a manager of their own before their
/// Deployments are applied without them.
fn deployment_requests_handing_over(handed_over: &[&str]) -> Vec<String> {
    deployment_requests_scaling(handed_over, handed_over)
}

/// The Secrets read, then each component's Deployment applied; before that, the Deployment of
/// each component newly autoscaled (`checked`) is read, and the replicas of those in
/// `handed_over` are handed to a manager of their own.
fn deployment_requests_scaling(checked: &[&str], handed_over: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = SECRETS
        .iter()
        .map(|s| format!("GET /api/v1/namespaces/{NS}/secrets/{s}"))
        .collect();
    for c in COMPONENTS {
        let path = format!("/apis/apps/v1/namespaces/{NS}/deployments/shop-{c}");
        if checked.contains(&c) {
            lines.push(format!("GET {path}"));
        }
        if handed_over.contains(&c) {
            lines.push(format!("PATCH {path}"));
        }
        lines.push(format!("PATCH {path}"));
    }
    lines
}

const STATUS: &str = "PATCH /apis/bookstore.dev/v1alpha1/namespaces/shop-ns/bookstores/shop/status";
const EVENT: &str = "POST /apis/events.k8s.io/v1/namespaces/shop-ns/events";

fn lines(requests: &[Recorded]) -> Vec<String> {
    requests.iter().map(Recorded::line).collect()
}

fn job_request(requests: &[Recorded]) -> String {
    requests
        .iter()
        .find(|r| r.path.contains("/jobs/"))
        .map(Recorded::line)
        .expect("a migration Job was applied")
}

/// The bodies sent to paths containing `fragment` (reads have none).
fn bodies<'a>(requests: &'a [Recorded], fragment: &str) -> Vec<&'a Value> {
    requests
        .iter()
        .filter(|r| r.path.contains(fragment) && r.method != "GET")
        .map(|r| &r.body)
        .collect()
}

fn image_of(deployment: &Value) -> &str {
    deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap()
}

fn condition<'a>(status_body: &'a Value, type_: &str) -> &'a Value {
    status_body["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition"))
}

fn status_body(requests: &[Recorded]) -> &Value {
    &requests
        .iter()
        .find(|r| r.line() == STATUS)
        .expect("the status was written")
        .body
}

fn events(requests: &[Recorded]) -> Vec<(String, String)> {
    requests
        .iter()
        .filter(|r| r.line() == EVENT)
        .map(|r| {
            (
                r.body["type"].as_str().unwrap().to_owned(),
                r.body["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn first_install_applies_the_shared_objects_and_the_migration_job_but_no_deployment_yet() {
    let (result, requests, _) =
        reconcile_once(bookstore(spec("1.0.0"), None), Cluster::default()).await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));

    let mut expected = shared_requests();
    expected.push(job_request(&requests));
    expected.extend([STATUS.to_owned(), EVENT.to_owned()]);
    assert_eq!(lines(&requests), expected);
    assert!(job_request(&requests).starts_with(&format!(
        "PATCH /apis/batch/v1/namespaces/{NS}/jobs/shop-migrate-"
    )));

    // Every write is a forced server-side apply by the operator's field manager, and every
    // object is owned by the Bookstore, so the garbage collector removes it with the Bookstore.
    for request in requests.iter().filter(|r| r.method == "PATCH") {
        assert!(
            request.query.contains("fieldManager=bookstore-operator"),
            "{}",
            request.query
        );
        assert!(request.query.contains("force=true"), "{}", request.query);
        if request.line() != STATUS {
            let owner = &request.body["metadata"]["ownerReferences"][0];
            assert_eq!(owner["uid"], UID, "{}", request.path);
            assert_eq!(owner["kind"], "Bookstore");
            assert_eq!(owner["controller"], true);
        }
    }

    let job = bodies(&requests, "/jobs/")[0];
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], "registry.example/bookstore:1.0.0");
    assert_eq!(container["args"], json!(["migrate", "up"]));
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");

    let status = status_body(&requests);
    assert_eq!(status["status"]["observedGeneration"], 4);
    assert!(status["status"].get("currentImage").is_none());
    assert_eq!(condition(status, "Ready")["status"], "False");
    assert_eq!(condition(status, "Ready")["reason"], "MigrationRunning");
    assert_eq!(condition(status, "Progressing")["status"], "True");
    assert_eq!(condition(status, "MigrationFailed")["status"], "False");
    assert_eq!(condition(status, "Degraded")["status"], "False");
    assert_eq!(
        events(&requests),
        [("Normal".to_owned(), "MigrationStarted".to_owned())]
    );
}

#[tokio::test]
async fn first_install_rolls_out_every_component_once_the_migration_succeeded() {
    let cluster = Cluster {
        job: JobState::Succeeded,
        ..Cluster::default()
    };
    let (result, requests, _) = reconcile_once(bookstore(spec("1.0.0"), None), cluster).await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(300)));

    let mut expected = shared_requests();
    expected.push(job_request(&requests));
    expected.extend(deployment_requests());
    expected.extend([STATUS.to_owned(), EVENT.to_owned(), EVENT.to_owned()]);
    assert_eq!(lines(&requests), expected);

    for (deployment, component) in bodies(&requests, "/deployments/")
        .into_iter()
        .zip(COMPONENTS)
    {
        assert_eq!(image_of(deployment), "registry.example/bookstore:1.0.0");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["containers"][0]["args"],
            json!([component])
        );
        assert_eq!(deployment["spec"]["replicas"], 1);
    }
    let status = status_body(&requests);
    assert_eq!(status["status"]["currentVersion"], "1.0.0");
    assert_eq!(
        status["status"]["currentImage"],
        "registry.example/bookstore:1.0.0"
    );
    assert_eq!(condition(status, "Ready")["status"], "True");
    assert_eq!(
        condition(status, "Progressing")["reason"],
        "RolloutComplete"
    );
    assert_eq!(
        events(&requests),
        [
            ("Normal".to_owned(), "MigrationSucceeded".to_owned()),
            ("Normal".to_owned(), "Ready".to_owned()),
        ]
    );
}

#[tokio::test]
async fn the_sample_catalogue_is_loaded_by_one_job_once_the_schema_is_migrated() {
    let mut with_sample = spec("1.0.0");
    with_sample["sampleCatalogue"] = json!(true);

    // Not before the migration has succeeded: the Job needs the schema.
    let (_, requests, _) =
        reconcile_once(bookstore(with_sample.clone(), None), Cluster::default()).await;
    assert!(bodies(&requests, "/jobs/shop-seed-").is_empty());
    assert!(status_body(&requests)["status"]["sampleCatalogueJob"].is_null());

    let cluster = Cluster {
        job: JobState::Succeeded,
        ..Cluster::default()
    };
    let (result, requests, _) =
        reconcile_once(bookstore(with_sample.clone(), None), cluster.clone()).await;
    result.unwrap();
    let seeds = bodies(&requests, "/jobs/shop-seed-");
    assert_eq!(seeds.len(), 1);
    assert_eq!(
        seeds[0]["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["admin", "seed"])
    );
    assert_eq!(
        seeds[0]["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/bookstore:1.0.0"
    );
    let job = seeds[0]["metadata"]["name"].as_str().unwrap().to_owned();
    let status = status_body(&requests)["status"].clone();
    assert_eq!(status["sampleCatalogueJob"], json!(job));
    assert!(
        events(&requests).contains(&("Normal".to_owned(), "SampleCatalogueLoading".to_owned()))
    );

    // Once recorded, never again: not on the next pass, not on an upgrade.
    let mut later = running("1.0.0", None);
    later["sampleCatalogueJob"] = json!(job);
    let mut upgraded = with_sample.clone();
    upgraded["version"] = json!("1.1.0");
    for spec in [with_sample, upgraded] {
        let (result, requests, _) =
            reconcile_once(bookstore(spec, Some(later.clone())), cluster.clone()).await;
        result.unwrap();
        assert!(bodies(&requests, "/jobs/shop-seed-").is_empty());
        assert_eq!(
            status_body(&requests)["status"]["sampleCatalogueJob"],
            json!(job)
        );
    }
    // Without the setting, no Job.
    let cluster = Cluster {
        job: JobState::Succeeded,
        ..Cluster::default()
    };
    let (_, requests, _) = reconcile_once(bookstore(spec("1.0.0"), None), cluster).await;
    assert!(bodies(&requests, "/jobs/shop-seed-").is_empty());
}

#[tokio::test]
async fn an_upgrade_keeps_the_running_version_until_its_migration_job_succeeds() {
    let upgrade = bookstore(spec("1.1.0"), Some(running("1.0.0", None)));
    let (result, requests, _) = reconcile_once(upgrade.clone(), Cluster::default()).await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));

    let mut expected = shared_requests();
    expected.push(job_request(&requests));
    expected.extend(deployment_requests());
    expected.extend([STATUS.to_owned(), EVENT.to_owned()]);
    assert_eq!(lines(&requests), expected);
    let job = bodies(&requests, "/jobs/")[0];
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/bookstore:1.1.0"
    );
    // The Deployments are applied unchanged: same image, same version label.
    for deployment in bodies(&requests, "/deployments/") {
        assert_eq!(image_of(deployment), "registry.example/bookstore:1.0.0");
        assert_eq!(
            deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"],
            "1.0.0"
        );
    }
    let status = status_body(&requests);
    assert_eq!(status["status"]["currentVersion"], "1.0.0");
    assert_eq!(condition(status, "Ready")["reason"], "MigrationRunning");
    assert_eq!(
        condition(status, "Progressing")["reason"],
        "MigrationRunning"
    );

    // Once the Job has succeeded, the same Bookstore rolls the new version.
    let cluster = Cluster {
        job: JobState::Succeeded,
        ..Cluster::default()
    };
    let (result, requests, _) = reconcile_once(upgrade, cluster).await;
    result.unwrap();
    for deployment in bodies(&requests, "/deployments/") {
        assert_eq!(image_of(deployment), "registry.example/bookstore:1.1.0");
    }
    assert_eq!(status_body(&requests)["status"]["currentVersion"], "1.1.0");
}

#[tokio::test]
async fn a_failed_migration_sets_migration_failed_and_does_not_roll() {
    let cluster = Cluster {
        job: JobState::Failed,
        ..Cluster::default()
    };
    let upgrade = bookstore(spec("1.1.0"), Some(running("1.0.0", None)));
    let (result, requests, _) = reconcile_once(upgrade, cluster).await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));

    let mut expected = shared_requests();
    expected.push(job_request(&requests));
    expected.extend(deployment_requests());
    expected.extend([STATUS.to_owned(), EVENT.to_owned()]);
    assert_eq!(lines(&requests), expected);
    for deployment in bodies(&requests, "/deployments/") {
        assert_eq!(image_of(deployment), "registry.example/bookstore:1.0.0");
    }
    let status = status_body(&requests);
    assert_eq!(status["status"]["currentVersion"], "1.0.0");
    let failed = condition(status, "MigrationFailed");
    assert_eq!(failed["status"], "True");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("backoff limit"),
        "{failed}"
    );
    assert_eq!(condition(status, "Ready")["status"], "False");
    assert_eq!(condition(status, "Progressing")["status"], "False");
    assert_eq!(
        events(&requests),
        [("Warning".to_owned(), "MigrationFailed".to_owned())]
    );
    let event = requests.iter().find(|r| r.line() == EVENT).unwrap();
    assert_eq!(event.body["regarding"]["kind"], "Bookstore");
    assert_eq!(event.body["regarding"]["uid"], UID);
}

#[tokio::test]
async fn a_scaling_change_patches_replicas_without_a_migration() {
    let mut scaled = spec("1.0.0");
    scaled["components"] = json!({"orders": {"replicas": 3}, "catalog": {"replicas": 0}});
    let (result, requests, _) = reconcile_once(
        bookstore(scaled, Some(running("1.0.0", None))),
        Cluster::default(),
    )
    .await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(300)));

    // Nothing to migrate and nothing to announce: the version is current, and Ready stays True.
    let mut expected = shared_requests();
    expected.extend(deployment_requests());
    expected.push(STATUS.to_owned());
    assert_eq!(lines(&requests), expected);
    let replicas: Vec<i64> = bodies(&requests, "/deployments/")
        .iter()
        .map(|d| d["spec"]["replicas"].as_i64().unwrap())
        .collect();
    assert_eq!(replicas, [1, 0, 1, 3, 1, 1, 1]);
}

#[tokio::test]
async fn worker_autoscaling_applies_a_cpu_hpa_and_leaves_the_worker_replicas_to_it() {
    let mut autoscaled = spec("1.0.0");
    autoscaled["worker"] =
        json!({"autoscaling": {"minReplicas": 2, "maxReplicas": 8, "keda": {"enabled": false}}});
    let (result, requests, _) = reconcile_once(
        bookstore(autoscaled, Some(running("1.0.0", None))),
        Cluster::default(),
    )
    .await;
    result.unwrap();

    // The replica count is handed to a manager of its own first, so that the operator's apply
    // without it does not drop the worker to one replica.
    let mut expected = shared_requests();
    expected.extend(deployment_requests_handing_over(&["worker"]));
    expected.push(format!(
        "PATCH /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-worker"
    ));
    expected.push(STATUS.to_owned());
    assert_eq!(lines(&requests), expected);
    // After a read showing the operator's apply owns the count.
    let workers: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.path.ends_with("/deployments/shop-worker") && r.method == "PATCH")
        .collect();
    assert!(
        workers[0]
            .query
            .contains("fieldManager=bookstore-operator-replicas-handover"),
        "{}",
        workers[0].query
    );
    assert_eq!(workers[0].body["spec"], json!({"replicas": 1}));
    assert!(
        !workers[1].query.contains("handover"),
        "{}",
        workers[1].query
    );
    assert!(
        workers[1].body["spec"].get("replicas").is_none(),
        "{}",
        workers[1].body
    );
    let hpa = bodies(&requests, "/horizontalpodautoscalers/")[0];
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 8);
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "shop-worker");
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["name"], "cpu");
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        70
    );
    assert_eq!(
        status_body(&requests)["status"]["autoscaler"],
        "HorizontalPodAutoscaler"
    );
}

#[tokio::test]
async fn keda_replaces_the_hpa_when_its_api_is_served() {
    let mut keda = spec("1.0.0");
    keda["broker"]["namespace"] = json!("prod.");
    keda["worker"] =
        json!({"autoscaling": {"minReplicas": 1, "maxReplicas": 20, "keda": {"queueLength": 25}}});
    let cluster = Cluster {
        keda_installed: true,
        worker_hpa: Arc::new(true.into()),
        ..Cluster::default()
    };
    let status = running("1.0.0", Some("HorizontalPodAutoscaler"));
    let (result, requests, _) = reconcile_once(bookstore(keda, Some(status)), cluster).await;
    result.unwrap();

    // The HPA goes first: KEDA's webhook refuses a ScaledObject for a Deployment with one.
    let mut expected = vec!["GET /apis/keda.sh/v1alpha1".to_owned()];
    expected.extend(shared_requests());
    expected.extend(deployment_requests());
    expected.extend([
        format!("DELETE /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-worker"),
        format!(
            "PATCH /apis/keda.sh/v1alpha1/namespaces/{NS}/triggerauthentications/shop-worker-broker"
        ),
        format!("PATCH /apis/keda.sh/v1alpha1/namespaces/{NS}/scaledobjects/shop-worker"),
        STATUS.to_owned(),
    ]);
    assert_eq!(lines(&requests), expected);
    let scaled = bodies(&requests, "/scaledobjects/")[0];
    assert_eq!(scaled["spec"]["scaleTargetRef"]["name"], "shop-worker");
    assert_eq!(scaled["spec"]["maxReplicaCount"], 20);
    let trigger = &scaled["spec"]["triggers"][0];
    assert_eq!(trigger["type"], "rabbitmq");
    assert_eq!(trigger["metadata"]["mode"], "QueueLength");
    assert_eq!(trigger["metadata"]["value"], "25");
    assert_eq!(trigger["metadata"]["queueName"], "prod.worker.order-placed");
    let authentication = bodies(&requests, "/triggerauthentications/")[0];
    assert_eq!(
        authentication["spec"]["secretTargetRef"][0],
        json!({"parameter": "host", "name": "shop-amqp", "key": "url"})
    );
    assert_eq!(
        status_body(&requests)["status"]["autoscaler"],
        "ScaledObject"
    );
}

#[tokio::test]
async fn without_keda_installed_the_worker_scales_on_cpu_and_a_warning_says_why() {
    let mut keda = spec("1.0.0");
    keda["worker"] = json!({"autoscaling": {"maxReplicas": 4, "keda": {}}});
    let (result, requests, _) = reconcile_once(
        bookstore(keda, Some(running("1.0.0", None))),
        Cluster::default(),
    )
    .await;
    result.unwrap();

    // Autoscaling turned on: the replica count is handed over first.
    let mut expected = vec!["GET /apis/keda.sh/v1alpha1".to_owned()];
    expected.extend(shared_requests());
    expected.extend(deployment_requests_handing_over(&["worker"]));
    expected.extend([
        format!("PATCH /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-worker"),
        STATUS.to_owned(),
        EVENT.to_owned(),
    ]);
    assert_eq!(lines(&requests), expected);
    assert_eq!(
        events(&requests),
        [("Warning".to_owned(), "KedaNotInstalled".to_owned())]
    );
}

#[tokio::test]
async fn turning_autoscaling_off_deletes_the_scaled_object_and_restores_fixed_replicas() {
    let mut fixed = spec("1.0.0");
    fixed["components"] = json!({"worker": {"replicas": 4}});
    let status = running("1.0.0", Some("ScaledObject"));
    let (result, requests, _) =
        reconcile_once(bookstore(fixed, Some(status)), Cluster::default()).await;
    result.unwrap();

    let mut expected = shared_requests();
    expected.extend(deployment_requests());
    expected.extend([
        format!("DELETE /apis/keda.sh/v1alpha1/namespaces/{NS}/scaledobjects/shop-worker"),
        format!("DELETE /apis/keda.sh/v1alpha1/namespaces/{NS}/triggerauthentications/shop-worker-broker"),
        STATUS.to_owned(),
    ]);
    assert_eq!(lines(&requests), expected);
    assert_eq!(
        bodies(&requests, "/deployments/shop-worker")[0]["spec"]["replicas"],
        4
    );
    assert!(status_body(&requests)["status"].get("autoscaler").is_none());
}

#[tokio::test]
async fn a_bookstore_being_deleted_is_left_to_the_garbage_collector() {
    let mut deleted = bookstore(spec("1.0.0"), Some(running("1.0.0", None)));
    deleted.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap(),
        ));
    let (result, requests, _) = reconcile_once(deleted, Cluster::default()).await;
    assert_eq!(result.unwrap(), Action::await_change());
    // No apply (which would recreate children being collected), no delete, no status write.
    assert!(requests.is_empty(), "{:?}", lines(&requests));
    // And no finalizer is ever added: the operator never writes the Bookstore itself.
}

#[tokio::test]
async fn a_rollout_in_progress_is_progressing_and_a_stuck_one_degraded() {
    let cluster = Cluster {
        deployments_available: false,
        ..Cluster::default()
    };
    let (result, requests, _) = reconcile_once(
        bookstore(spec("1.0.0"), Some(running("1.0.0", None))),
        cluster,
    )
    .await;
    assert_eq!(result.unwrap(), Action::requeue(Duration::from_secs(30)));
    let status = status_body(&requests);
    assert_eq!(condition(status, "Ready")["status"], "False");
    assert_eq!(
        condition(status, "Ready")["reason"],
        "ComponentsNotAvailable"
    );
    assert_eq!(condition(status, "Progressing")["reason"], "RollingOut");
    assert_eq!(condition(status, "Degraded")["status"], "False");
}

#[tokio::test]
async fn api_errors_fail_the_pass_and_back_off_exponentially() {
    let cluster = Cluster {
        broken: true,
        ..Cluster::default()
    };
    let store = Arc::new(bookstore(spec("1.0.0"), None));
    let (result, requests, ctx) = reconcile_once((*store).clone(), cluster).await;
    let error = result.unwrap_err();
    assert_eq!(error.metric_label(), "api");
    // The first failing request ends the pass; the failure is then tried on the status and as
    // an event, which fail too and are left to the log.
    assert_eq!(
        lines(&requests),
        [
            format!("PATCH /api/v1/namespaces/{NS}/configmaps/shop-config"),
            STATUS.to_owned(),
            EVENT.to_owned(),
        ]
    );
    assert_eq!(
        error_policy(store.clone(), &error, ctx.clone()),
        Action::requeue(Duration::from_secs(5))
    );
    assert_eq!(
        error_policy(store.clone(), &error, ctx.clone()),
        Action::requeue(Duration::from_secs(10))
    );
    let metrics = ctx.metrics.registry.render();
    assert!(
        metrics.contains("bookstore_operator_reconcile_errors_total{error=\"api\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("bookstore_operator_reconciliations_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_object_the_api_server_refuses_shows_in_the_status_an_event_and_a_metric() {
    let cluster = Cluster {
        invalid: Some("/deployments/shop-users"),
        ..Cluster::default()
    };
    let status = running("1.0.0", None);
    let (result, requests, ctx) = reconcile_once(
        bookstore(spec("1.0.0"), Some(status.clone())),
        cluster.clone(),
    )
    .await;
    let error = result.unwrap_err();
    assert_eq!(error.reason(), "ObjectInvalid");
    let written = status_body(&requests);
    // The generation tried is observed, whatever came of it.
    assert_eq!(written["status"]["observedGeneration"], 4);
    let failed = condition(written, "ReconcileFailed");
    assert_eq!(failed["status"], "True");
    assert_eq!(failed["reason"], "ObjectInvalid");
    assert!(
        failed["message"]
            .as_str()
            .unwrap()
            .contains("must be greater than or equal to 0"),
        "{failed}"
    );
    assert_eq!(failed["observedGeneration"], 4);
    // What the last good pass recorded stays (a server-side apply drops the fields left out).
    assert_eq!(written["status"]["currentImage"], status["currentImage"]);
    assert_eq!(condition(written, "Ready")["status"], "True");
    assert_eq!(
        events(&requests),
        [("Warning".to_owned(), "ReconcileFailed".to_owned())]
    );
    let metrics = ctx.metrics.registry.render();
    assert!(
        metrics.contains(
            "bookstore_operator_condition{bookstore=\"shop\",bookstore_namespace=\"shop-ns\",condition=\"ReconcileFailed\"} 1"
        ),
        "{metrics}"
    );

    // The same failure again: the condition stays, and no second event.
    let (result, requests, _) = reconcile_once(
        bookstore(spec("1.0.0"), Some(written["status"].clone())),
        cluster,
    )
    .await;
    assert!(result.is_err());
    assert!(events(&requests).is_empty());
    assert_eq!(
        condition(status_body(&requests), "ReconcileFailed")["status"],
        "True"
    );

    // Fixed: the next pass clears it.
    let (result, requests, ctx) = reconcile_once(
        bookstore(spec("1.0.0"), Some(written["status"].clone())),
        Cluster::default(),
    )
    .await;
    result.unwrap();
    let cleared = condition(status_body(&requests), "ReconcileFailed");
    assert_eq!(cleared["status"], "False");
    assert_eq!(cleared["reason"], "Reconciled");
    let metrics = ctx.metrics.registry.render();
    assert!(
        metrics.contains(
            "bookstore_operator_condition{bookstore=\"shop\",bookstore_namespace=\"shop-ns\",condition=\"ReconcileFailed\"} 0"
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn with_keda_served_the_worker_scales_on_its_queue_by_default() {
    let mut autoscaled = spec("1.0.0");
    autoscaled["worker"] = json!({"autoscaling": {"maxReplicas": 6}});
    let cluster = Cluster {
        keda_installed: true,
        ..Cluster::default()
    };
    let (result, requests, _) =
        reconcile_once(bookstore(autoscaled, Some(running("1.0.0", None))), cluster).await;
    result.unwrap();
    let mut expected = vec!["GET /apis/keda.sh/v1alpha1".to_owned()];
    expected.extend(shared_requests());
    expected.extend(deployment_requests_handing_over(&["worker"]));
    expected.extend([
        format!(
            "PATCH /apis/keda.sh/v1alpha1/namespaces/{NS}/triggerauthentications/shop-worker-broker"
        ),
        format!("PATCH /apis/keda.sh/v1alpha1/namespaces/{NS}/scaledobjects/shop-worker"),
        STATUS.to_owned(),
    ]);
    assert_eq!(lines(&requests), expected);
    let scaled = bodies(&requests, "/scaledobjects/")[0];
    assert_eq!(scaled["spec"]["triggers"][0]["metadata"]["value"], "50");
    assert_eq!(
        status_body(&requests)["status"]["autoscaler"],
        "ScaledObject"
    );
}

#[tokio::test]
async fn a_component_that_scales_on_cpu_gets_its_hpa_once_its_replicas_are_handed_over() {
    let mut autoscaled = spec("1.0.0");
    autoscaled["components"] = json!({"orders": {"replicas": 3, "autoscaling": {"minReplicas": 2, "maxReplicas": 9, "targetCpuUtilization": 60}}});
    let (result, requests, _) = reconcile_once(
        bookstore(autoscaled, Some(running("1.0.0", None))),
        Cluster::default(),
    )
    .await;
    result.unwrap();

    let mut expected = shared_requests();
    expected.extend(deployment_requests_handing_over(&["orders"]));
    expected.push(format!(
        "PATCH /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-orders"
    ));
    expected.push(STATUS.to_owned());
    assert_eq!(lines(&requests), expected);
    let orders = bodies(&requests, "/deployments/shop-orders");
    assert_eq!(orders[0]["spec"], json!({"replicas": 3}), "the hand-over");
    assert!(
        orders[1]["spec"].get("replicas").is_none(),
        "the HPA owns them"
    );
    let hpa = bodies(&requests, "/horizontalpodautoscalers/shop-orders")[0];
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "shop-orders");
    assert_eq!(hpa["spec"]["minReplicas"], 2);
    assert_eq!(hpa["spec"]["maxReplicas"], 9);
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        60
    );
    assert_eq!(
        status_body(&requests)["status"]["cpuAutoscaled"],
        json!(["orders"])
    );
    // Other components keep their fixed replicas.
    assert_eq!(
        bodies(&requests, "/deployments/shop-catalog")[0]["spec"]["replicas"],
        1
    );
}

#[tokio::test]
async fn turning_a_components_autoscaling_off_deletes_its_hpa_and_restores_its_replicas() {
    let mut fixed = spec("1.0.0");
    fixed["components"] = json!({"orders": {"replicas": 4}});
    let mut status = running("1.0.0", None);
    status["cpuAutoscaled"] = json!(["orders"]);
    let (result, requests, _) =
        reconcile_once(bookstore(fixed, Some(status)), Cluster::default()).await;
    result.unwrap();

    // The HPA goes first, so that it cannot resize the Deployment once more.
    let mut expected = shared_requests();
    let mut deployments = deployment_requests();
    deployments.insert(
        SECRETS.len(),
        format!("DELETE /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-orders"),
    );
    expected.extend(deployments);
    expected.push(STATUS.to_owned());
    assert_eq!(lines(&requests), expected);
    assert_eq!(
        bodies(&requests, "/deployments/shop-orders")[0]["spec"]["replicas"],
        4
    );
    assert!(
        status_body(&requests)["status"]
            .get("cpuAutoscaled")
            .is_none()
    );
}

#[tokio::test]
async fn a_changed_secret_rolls_exactly_the_components_that_read_it() {
    let secrets_hash = |requests: &[Recorded], component: &str| -> String {
        bodies(requests, &format!("/deployments/shop-{component}"))[0]["spec"]["template"]
            ["metadata"]["annotations"]["bookstore.dev/secrets-hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let pass = |service_token| async move {
        let cluster = Cluster {
            service_token,
            ..Cluster::default()
        };
        let shop = bookstore(spec("1.0.0"), Some(running("1.0.0", None)));
        let (result, requests, _) = reconcile_once(shop, cluster).await;
        result.unwrap();
        requests
    };
    let before = pass(Some("dG9rZW4tb25l")).await;
    let again = pass(Some("dG9rZW4tb25l")).await;
    let after = pass(Some("dG9rZW4tdHdv")).await;
    // A Secret not made yet: the pass goes on (the pods wait for it), and creating it later
    // rolls them, as its hash changes.
    let missing = pass(None).await;
    for component in COMPONENTS {
        // The same Secrets give the same hash: a steady state rolls nothing.
        assert_eq!(
            secrets_hash(&before, component),
            secrets_hash(&again, component)
        );
    }
    for component in ["catalog", "inventory", "orders", "worker"] {
        assert_ne!(
            secrets_hash(&before, component),
            secrets_hash(&after, component),
            "{component} reads the service token"
        );
        assert_ne!(
            secrets_hash(&before, component),
            secrets_hash(&missing, component),
            "{component} reads the service token"
        );
    }
    for component in ["users", "notifications", "storefront"] {
        assert_eq!(
            secrets_hash(&before, component),
            secrets_hash(&after, component),
            "{component} does not read the service token"
        );
    }
}

#[tokio::test]
async fn a_first_rollout_with_autoscaling_hands_nothing_over_and_leaves_the_replicas_to_the_autoscalers()
 {
    // A server-side apply of the count alone would try to make a Deployment without a
    // template, which the API server refuses: nothing is handed over to a Deployment that is not
    // there yet.
    let mut autoscaled = spec("1.0.0");
    autoscaled["worker"] = json!({"autoscaling": {"maxReplicas": 4, "keda": {"enabled": false}}});
    autoscaled["components"] =
        json!({"orders": {"replicas": 3, "autoscaling": {"minReplicas": 2, "maxReplicas": 9}}});
    let cluster = Cluster {
        job: JobState::Succeeded,
        deployments_exist: false,
        ..Cluster::default()
    };
    let (result, requests, _) = reconcile_once(bookstore(autoscaled, None), cluster).await;
    result.unwrap();

    let mut expected = shared_requests();
    expected.push(job_request(&requests));
    expected.extend(deployment_requests_scaling(&["orders", "worker"], &[]));
    expected.extend([
        format!("PATCH /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-worker"),
        format!("PATCH /apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers/shop-orders"),
        STATUS.to_owned(),
    ]);
    assert_eq!(
        lines(&requests)[..expected.len()],
        expected[..],
        "{:#?}",
        lines(&requests)
    );
    for component in ["orders", "worker"] {
        let applied = bodies(&requests, &format!("/deployments/shop-{component}"));
        assert_eq!(applied.len(), 1, "{component}: one apply, no hand-over");
        assert!(applied[0]["spec"].get("replicas").is_none(), "{component}");
        assert!(applied[0]["spec"]["template"].is_object());
    }
}
