//! The objects the operator applies, for several Bookstore specs, checked without a cluster:
//! against the Kubernetes OpenAPI schemas of the oldest and newest supported versions with
//! `kubernetes-validate --strict` (installed by `.ci/kubernetes-validate`), and in Rust for what
//! a schema cannot demand: probes, resources, security context, spreading, secret isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use operator::crd::{Autoscaler, Bookstore, Component};
use operator::resources::{self, TemplateHashes};
use serde_json::{Value, json};

/// Kubernetes versions the manifests must be valid for: the oldest supported and the newest the
/// validator knows.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.29.0", "1.37.0"];

fn bookstore(spec: Value) -> Bookstore {
    serde_json::from_value(json!({
        "apiVersion": "bookstore.dev/v1alpha1",
        "kind": "Bookstore",
        "metadata": {"name": "shop", "namespace": "shop", "uid": "0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"},
        "spec": spec,
    }))
    .unwrap()
}

fn minimal() -> Value {
    json!({
        "image": "registry.example/bookstore",
        "version": "1.0.0",
        "database": {"name": "db"},
        "broker": {"secretRef": {"name": "amqp"}},
        "jwt": {"secretName": "jwt"},
        "serviceToken": {"name": "token"},
    })
}

fn production(keda: bool) -> Value {
    let resources = json!({"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "2", "memory": "1Gi"}});
    let mut spec = json!({
        "image": "registry.example/shop/bookstore",
        "version": "2.3.1",
        "imagePullPolicy": "IfNotPresent",
        "imagePullSecrets": ["registry-credentials"],
        "components": {
            "users": {"replicas": 2, "resources": resources},
            "catalog": {"replicas": 3, "resources": resources},
            "inventory": {"replicas": 2},
            "orders": {"replicas": 3, "resources": resources, "autoscaling": {"minReplicas": 2, "maxReplicas": 12}},
            "worker": {"resources": resources},
            "notifications": {"replicas": 2},
            "storefront": {
                "nodeSelector": {"pool": "edge"},
                "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
                "podAnnotations": {"mesh.example/inject": "false"},
                "env": [{"name": "RUST_LOG", "value": "debug"}],
            },
        },
        "settings": {
            "trustForwardedFor": true,
            "corsOrigins": ["https://shop.example.com", "https://admin.example.com"],
            "tracing": {"otlpEndpoint": "http://otel-collector.observability:4318", "samplingRatio": 0.25},
            "retry": {"delaysMs": [500, 2000, 10000], "maxAttempts": 5},
            "workerConcurrency": 32,
            "databaseMaxConnections": 20,
        },
        "env": [{"name": "HTTPS_PROXY", "value": "http://proxy.internal:3128"}],
        "envFrom": [{"secretRef": {"name": "shop-extra"}}],
        "pod": {
            "podAnnotations": {"logs.example/format": "json"},
            "nodeSelector": {"pool": "shop"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]}]}}},
            "serviceAccountName": "shop",
        },
        "admin": {"email": "admin@shop.example", "passwordSecretRef": {"name": "shop-admin"}},
        "sampleCatalogue": true,
        "database": {"name": "postgres-app", "key": "uri"},
        "broker": {"secretRef": {"name": "rabbitmq-app", "key": "amqp-url"}, "namespace": "prod."},
        "jwt": {"secretName": "access-tokens", "privateKeyKey": "ed25519.pem", "publicKeyKey": "ed25519.pub"},
        "serviceToken": {"name": "internal", "key": "service-token"},
        "worker": {"autoscaling": {"minReplicas": 2, "maxReplicas": 30, "targetCpuUtilization": 60}},
        "storage": {"s3": {"url": "s3://shop-uploads/prod", "endpoint": "http://minio.storage:9000", "credentialsSecret": "uploads-s3"}},
        "openai": {"secretRef": {"name": "openai"}, "baseUrl": "http://openai-compatible.internal:8000/v1", "model": "llama-3.1-8b-instruct"},
        "log": "info,orders=debug",
    });
    if keda {
        spec["worker"]["autoscaling"]["keda"] = json!({"queueLength": 40});
    }
    spec
}

fn autoscaling_off() -> Value {
    let mut spec = minimal();
    spec["components"] = json!({"worker": {"replicas": 3}, "notifications": {"replicas": 0}});
    spec
}

/// Every built-in object the operator applies for `bookstore` once its migration is done.
fn built_in_objects(bookstore: &Bookstore, autoscaler: Option<Autoscaler>) -> Vec<Value> {
    let owner = owner(bookstore);
    let config = resources::config_map(bookstore, &owner);
    let hash = resources::digest(&config.data);
    let mut objects = vec![serde_json::to_value(&config).unwrap()];
    for component in Component::ALL {
        objects
            .push(serde_json::to_value(resources::service(bookstore, &owner, component)).unwrap());
        objects.push(
            serde_json::to_value(resources::pod_disruption_budget(
                bookstore, &owner, component,
            ))
            .unwrap(),
        );
        objects.push(
            serde_json::to_value(resources::deployment(
                bookstore,
                &owner,
                component,
                &bookstore.target_image(),
                &hashes(&hash),
            ))
            .unwrap(),
        );
        if component != Component::Worker
            && let Some(hpa) = resources::horizontal_pod_autoscaler(bookstore, &owner, component)
        {
            objects.push(serde_json::to_value(hpa).unwrap());
        }
    }
    objects.push(
        serde_json::to_value(resources::migration_job(
            bookstore,
            &owner,
            &bookstore.target_image(),
        ))
        .unwrap(),
    );
    if bookstore.spec.sample_catalogue {
        objects.push(
            serde_json::to_value(resources::sample_catalogue_job(
                bookstore,
                &owner,
                &bookstore.target_image(),
            ))
            .unwrap(),
        );
    }
    if autoscaler == Some(Autoscaler::HorizontalPodAutoscaler) {
        let hpa = resources::horizontal_pod_autoscaler(bookstore, &owner, Component::Worker);
        objects.push(serde_json::to_value(hpa.unwrap()).unwrap());
    }
    objects
}

/// The ConfigMap's variables for `spec`.
fn config(spec: Value) -> BTreeMap<String, String> {
    let bookstore = bookstore(spec);
    resources::config_map(&bookstore, &owner(&bookstore))
        .data
        .unwrap()
}

fn owner(bookstore: &Bookstore) -> OwnerReference {
    bookstore.controller_owner_ref(&()).unwrap()
}

fn hashes(config: &str) -> TemplateHashes {
    TemplateHashes {
        config: config.to_owned(),
        secrets: "secrets".to_owned(),
    }
}

fn scratch_dir() -> PathBuf {
    // Under the target directory, which cargo keeps for integration tests' scratch files.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("operator-manifests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.ci/kubernetes-validate")
}

/// Writes `documents` as one YAML stream and validates it strictly for every supported
/// version; every document must be reported as passed.
fn assert_valid(name: &str, documents: &[String]) {
    assert!(!documents.is_empty(), "nothing to validate for {name}");
    let path = scratch_dir().join(format!("{name}.yaml"));
    std::fs::write(&path, documents.join("---\n")).unwrap();
    for version in KUBERNETES_VERSIONS {
        let output = Command::new(validator())
            .args(["--strict", "--kubernetes-version", version])
            .arg(&path)
            .output()
            .expect("run .ci/kubernetes-validate");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{name} is invalid for Kubernetes {version}:\n{stdout}\n{stderr}"
        );
        let passed = stdout.lines().filter(|l| l.contains(" passed ")).count();
        assert_eq!(
            passed,
            documents.len(),
            "{name}: not every document was validated for {version}:\n{stdout}\n{stderr}"
        );
        assert!(
            !stdout.contains("WARN") && !stderr.contains("WARN"),
            "{stdout}\n{stderr}"
        );
    }
}

fn yaml(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| serde_yaml::to_string(o).unwrap())
        .collect()
}

#[test]
fn desired_objects_of_several_specs_validate_against_the_kubernetes_schemas() {
    let cases = [
        ("minimal", bookstore(minimal()), None),
        (
            "production-hpa",
            bookstore(production(false)),
            Some(Autoscaler::HorizontalPodAutoscaler),
        ),
        (
            "production-keda",
            bookstore(production(true)),
            Some(Autoscaler::ScaledObject),
        ),
        ("autoscaling-off", bookstore(autoscaling_off()), None),
    ];
    for (name, bookstore, autoscaler) in cases {
        let objects = built_in_objects(&bookstore, autoscaler);
        // 1 ConfigMap, 7 x (Service, PDB, Deployment), the migration Job, the sample
        // catalogue's Job when asked for, the worker's HPA when there is one, and one for each
        // component that scales on CPU.
        let component_hpas = Component::ALL
            .iter()
            .filter(|c| **c != Component::Worker)
            .filter(|c| c.cpu_autoscaling(&bookstore.spec).is_some())
            .count();
        let expected = 23
            + usize::from(bookstore.spec.sample_catalogue)
            + usize::from(autoscaler == Some(Autoscaler::HorizontalPodAutoscaler))
            + component_hpas;
        assert_eq!(objects.len(), expected, "{name}");
        assert_valid(name, &yaml(&objects));
    }
}

#[test]
fn the_generated_crd_and_cluster_role_validate_against_the_kubernetes_schemas() {
    assert_valid(
        "generated",
        &[
            operator::crd::crd_yaml().unwrap(),
            operator::rbac::cluster_role_yaml().unwrap(),
        ],
    );
}

/// The validator itself must reject what is wrong, or the tests above prove nothing.
#[test]
fn the_validator_rejects_unknown_fields_and_empty_input() {
    let dir = scratch_dir();
    let unknown = dir.join("unknown-field.yaml");
    std::fs::write(
        &unknown,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  portz: []\n",
    )
    .unwrap();
    let empty = dir.join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    for path in [&unknown, &empty] {
        let status = Command::new(validator())
            .arg("--strict")
            .arg(path)
            .status()
            .unwrap();
        assert!(!status.success(), "{} passed", path.display());
    }
    let none = Command::new(validator()).arg("--strict").status().unwrap();
    assert!(!none.success());
}

fn pod(deployment: &Deployment) -> &PodSpec {
    deployment.spec.template.spec.as_ref().unwrap()
}

fn assert_hardened(pod: &PodSpec, what: &str) {
    let pod_security = pod.security_context.as_ref().unwrap();
    assert_eq!(pod_security.run_as_non_root, Some(true), "{what}");
    assert_eq!(
        pod_security.seccomp_profile.as_ref().unwrap().type_,
        "RuntimeDefault",
        "{what}"
    );
    assert_eq!(pod.automount_service_account_token, Some(false), "{what}");
    for container in &pod.containers {
        let security = container.security_context.as_ref().unwrap();
        assert_eq!(security.run_as_non_root, Some(true), "{what}");
        assert_eq!(security.read_only_root_filesystem, Some(true), "{what}");
        assert_eq!(security.allow_privilege_escalation, Some(false), "{what}");
        assert_eq!(
            security.capabilities.as_ref().unwrap().drop,
            Some(vec!["ALL".to_owned()]),
            "{what}"
        );
        assert_eq!(
            security.seccomp_profile.as_ref().unwrap().type_,
            "RuntimeDefault",
            "{what}"
        );
        let resources = container.resources.as_ref().unwrap();
        let requests = resources.requests.as_ref().unwrap();
        assert!(
            requests.contains_key("cpu") && requests.contains_key("memory"),
            "{what}"
        );
        assert!(
            resources.limits.as_ref().unwrap().contains_key("memory"),
            "{what}"
        );
        // Every *_FILE variable points into a mounted volume.
        let mounts = container.volume_mounts.clone().unwrap_or_default();
        for var in container.env.clone().unwrap_or_default() {
            if var.name.ends_with("_FILE") {
                let path = var.value.unwrap();
                assert!(
                    mounts
                        .iter()
                        .any(|m| path.starts_with(&format!("{}/", m.mount_path))),
                    "{what}: {} is not mounted",
                    var.name
                );
            }
        }
    }
}

#[test]
fn every_component_has_probes_resources_hardening_and_spreading() {
    for spec in [minimal(), production(true), autoscaling_off()] {
        let bookstore = bookstore(spec);
        let owner = owner(&bookstore);
        for component in Component::ALL {
            let deployment = resources::deployment(
                &bookstore,
                &owner,
                component,
                &bookstore.target_image(),
                &hashes("hash"),
            );
            let what = component.name();
            let pod = pod(&deployment);
            assert_hardened(pod, what);
            let container = &pod.containers[0];
            let path = |probe: &Option<k8s_openapi::api::core::v1::Probe>| {
                probe
                    .as_ref()
                    .unwrap()
                    .http_get
                    .as_ref()
                    .unwrap()
                    .path
                    .clone()
                    .unwrap()
            };
            assert_eq!(path(&container.liveness_probe), "/healthz", "{what}");
            assert_eq!(path(&container.readiness_probe), "/readyz", "{what}");
            assert_eq!(path(&container.startup_probe), "/healthz", "{what}");
            let spread = pod.topology_spread_constraints.as_ref().unwrap();
            let keys: Vec<&str> = spread.iter().map(|c| c.topology_key.as_str()).collect();
            assert_eq!(
                keys,
                ["kubernetes.io/hostname", "topology.kubernetes.io/zone"]
            );
            // The selector of the Deployment, its Service and its PDB pick the same pods.
            let selector = deployment.spec.selector.match_labels.clone().unwrap();
            let service = resources::service(&bookstore, &owner, component);
            assert_eq!(service.spec.unwrap().selector.unwrap(), selector);
            let pdb = resources::pod_disruption_budget(&bookstore, &owner, component);
            assert_eq!(
                pdb.spec.unwrap().selector.unwrap().match_labels.unwrap(),
                selector
            );
            let template_labels = deployment
                .spec
                .template
                .metadata
                .as_ref()
                .unwrap()
                .labels
                .clone()
                .unwrap();
            assert!(
                selector
                    .iter()
                    .all(|(k, v)| template_labels.get(k) == Some(v))
            );
        }
        let job = resources::migration_job(&bookstore, &owner, &bookstore.target_image());
        let job_pod = job.spec.as_ref().unwrap().template.spec.as_ref().unwrap();
        let deployment_like = Deployment {
            spec: k8s_openapi::api::apps::v1::DeploymentSpec {
                template: job.spec.as_ref().unwrap().template.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_hardened(pod(&deployment_like), "migration");
        assert_eq!(
            job_pod.containers[0].args,
            Some(vec!["migrate".to_owned(), "up".to_owned()])
        );
    }
}

#[test]
fn only_the_users_service_sees_the_signing_key_and_only_what_each_component_needs_is_mounted() {
    let bookstore = bookstore(production(true));
    let owner = owner(&bookstore);
    let vars = |component: Component| -> Vec<String> {
        let deployment = resources::deployment(&bookstore, &owner, component, "i:1", &hashes("h"));
        pod(&deployment).containers[0]
            .env
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|v| v.name)
            .collect()
    };
    // Every component also gets the Bookstore's own `env` (HTTPS_PROXY in this spec).
    assert_eq!(
        vars(Component::Users),
        [
            "BOOKSTORE_ADMIN_EMAIL",
            "DATABASE_URL_FILE",
            "AMQP_URL_FILE",
            "BOOKSTORE_JWT_PRIVATE_KEY_FILE",
            "BOOKSTORE_ADMIN_PASSWORD_FILE",
            "HTTPS_PROXY"
        ]
    );
    for component in [
        Component::Catalog,
        Component::Inventory,
        Component::Orders,
        Component::Notifications,
    ] {
        let vars = vars(component);
        assert!(
            vars.contains(&"BOOKSTORE_JWT_PUBLIC_KEY_FILE".to_owned()),
            "{vars:?}"
        );
        assert!(
            !vars.contains(&"BOOKSTORE_JWT_PRIVATE_KEY_FILE".to_owned()),
            "{vars:?}"
        );
    }
    assert_eq!(
        vars(Component::Worker),
        [
            "AMQP_URL_FILE",
            "BOOKSTORE_SERVICE_TOKEN_FILE",
            "OPENAI_API_KEY",
            "HTTPS_PROXY"
        ]
    );
    // The worker's replicas belong to KEDA; everyone else's are fixed.
    let worker = resources::deployment(&bookstore, &owner, Component::Worker, "i:1", &hashes("h"));
    assert_eq!(worker.spec.replicas, None);
    let catalog =
        resources::deployment(&bookstore, &owner, Component::Catalog, "i:1", &hashes("h"));
    assert_eq!(catalog.spec.replicas, Some(3));
}

#[test]
fn uploads_go_to_the_configured_bucket_or_else_the_data_directory() {
    let in_bucket = config(production(false));
    assert_eq!(
        in_bucket["BOOKSTORE_OBJECT_STORE_URL"],
        "s3://shop-uploads/prod"
    );
    assert_eq!(
        in_bucket["BOOKSTORE_S3_ENDPOINT"],
        "http://minio.storage:9000"
    );
    assert!(!in_bucket.contains_key("BOOKSTORE_S3_REGION"));
    assert_eq!(
        in_bucket["BOOKSTORE_SUMMARY_MODEL"],
        "llama-3.1-8b-instruct"
    );
    // The catalogue reads the key id from the Secret and the secret key from a file of it.
    let shop = bookstore(production(false));
    let shop_owner = owner(&shop);
    let catalog =
        resources::deployment(&shop, &shop_owner, Component::Catalog, "i:1", &hashes("h"));
    let catalog_pod = pod(&catalog);
    let env = catalog_pod.containers[0].env.clone().unwrap();
    let key_id = env
        .iter()
        .find(|v| v.name == "BOOKSTORE_S3_ACCESS_KEY_ID")
        .unwrap();
    let from = key_id
        .value_from
        .as_ref()
        .unwrap()
        .secret_key_ref
        .as_ref()
        .unwrap();
    assert_eq!(
        (from.name.as_str(), from.key.as_str()),
        ("uploads-s3", "access-key-id")
    );
    let secret_file = env
        .iter()
        .find(|v| v.name == "BOOKSTORE_S3_SECRET_ACCESS_KEY_FILE")
        .unwrap();
    assert!(
        secret_file
            .value
            .as_ref()
            .unwrap()
            .ends_with("/s3/secret-access-key")
    );
    let volume = catalog_pod
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "s3")
        .unwrap();
    assert_eq!(
        volume.secret.as_ref().unwrap().secret_name.as_deref(),
        Some("uploads-s3")
    );
    // Only the catalogue sees the store's secret.
    for component in [
        Component::Users,
        Component::Inventory,
        Component::Orders,
        Component::Worker,
    ] {
        let deployment = resources::deployment(&shop, &shop_owner, component, "i:1", &hashes("h"));
        let env = pod_env_names(&deployment);
        assert!(
            !env.iter().any(|name| name.starts_with("BOOKSTORE_S3")),
            "{component:?}: {env:?}"
        );
    }
    // Without a bucket, a folder of the data directory (an emptyDir, or the claim).
    let in_folder = config(minimal());
    assert_eq!(
        in_folder["BOOKSTORE_OBJECT_STORE_URL"],
        "/var/lib/bookstore/objects"
    );
    assert!(!in_folder.contains_key("BOOKSTORE_S3_ENDPOINT"));
    let mut with_claim = minimal();
    with_claim["storage"] = json!({"persistentVolumeClaim": "uploads"});
    let bookstore = bookstore(with_claim);
    let catalog = resources::deployment(
        &bookstore,
        &owner(&bookstore),
        Component::Catalog,
        "i:1",
        &hashes("h"),
    );
    let data = pod(&catalog)
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "data")
        .unwrap();
    assert_eq!(
        data.persistent_volume_claim.as_ref().unwrap().claim_name,
        "uploads"
    );
    assert!(data.empty_dir.is_none());
}

fn pod_env_names(deployment: &Deployment) -> Vec<String> {
    pod(deployment).containers[0]
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

#[test]
fn the_keda_objects_scale_the_worker_on_its_queue_with_the_broker_secret() {
    let bookstore = bookstore(production(true));
    let owner = owner(&bookstore);
    let scaled = resources::keda_scaled_object(&bookstore, &owner).unwrap();
    assert_eq!(scaled["apiVersion"], "keda.sh/v1alpha1");
    assert_eq!(
        scaled["metadata"]["ownerReferences"][0]["kind"],
        "Bookstore"
    );
    assert_eq!(scaled["spec"]["minReplicaCount"], 2);
    assert_eq!(scaled["spec"]["maxReplicaCount"], 30);
    assert_eq!(
        scaled["spec"]["triggers"][0]["metadata"]["queueName"],
        "prod.worker.order-placed"
    );
    assert_eq!(scaled["spec"]["triggers"][0]["metadata"]["value"], "40");
    assert_eq!(scaled["spec"]["triggers"][1]["type"], "cpu");
    assert_eq!(scaled["spec"]["triggers"][1]["metadata"]["value"], "60");
    let authentication = resources::keda_trigger_authentication(&bookstore, &owner);
    assert_eq!(
        authentication["spec"]["secretTargetRef"][0],
        json!({"parameter": "host", "name": "rabbitmq-app", "key": "amqp-url"})
    );
    assert!(resources::keda_scaled_object(&crate::bookstore(minimal()), &owner).is_none());
}

#[test]
fn a_configuration_change_rolls_the_pods_and_a_new_version_gets_a_new_job() {
    let first = bookstore(minimal());
    let mut spec = minimal();
    spec["log"] = json!("debug");
    let relogged = bookstore(spec);
    let owner = owner(&first);
    let hash = |b: &Bookstore| resources::digest(&resources::config_map(b, &owner).data);
    assert_ne!(hash(&first), hash(&relogged));
    let mut spec = minimal();
    spec["version"] = json!("1.0.1");
    let upgraded = bookstore(spec);
    let job_name = |b: &Bookstore| {
        resources::migration_job(b, &owner, &b.target_image())
            .metadata
            .name
            .unwrap()
    };
    assert_ne!(job_name(&first), job_name(&upgraded));
    assert_eq!(job_name(&first), job_name(&bookstore(minimal())));
    assert!(job_name(&first).len() <= 63);
}

#[test]
fn settings_become_the_variables_they_name_and_unset_ones_keep_the_programs_defaults() {
    let set = config(production(false));
    for (name, value) in [
        ("BOOKSTORE_TRUST_FORWARDED_FOR", "true"),
        (
            "BOOKSTORE_CORS_ORIGINS",
            "https://shop.example.com,https://admin.example.com",
        ),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://otel-collector.observability:4318",
        ),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ("BOOKSTORE_RETRY_DELAYS_MS", "500,2000,10000"),
        ("BOOKSTORE_RETRY_MAX_ATTEMPTS", "5"),
        ("BOOKSTORE_WORKER_CONCURRENCY", "32"),
        ("DATABASE_MAX_CONNECTIONS", "20"),
    ] {
        assert_eq!(set.get(name).map(String::as_str), Some(value), "{name}");
    }
    let unset = config(minimal());
    for name in [
        "BOOKSTORE_TRUST_FORWARDED_FOR",
        "BOOKSTORE_CORS_ORIGINS",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_TRACES_SAMPLER",
        "BOOKSTORE_RETRY_DELAYS_MS",
        "BOOKSTORE_RETRY_MAX_ATTEMPTS",
        "BOOKSTORE_WORKER_CONCURRENCY",
        "DATABASE_MAX_CONNECTIONS",
    ] {
        assert!(!unset.contains_key(name), "{name} is set without a setting");
    }
    // A setting is configuration: changing it rolls the pods.
    let mut spec = minimal();
    spec["settings"] = json!({"trustForwardedFor": true});
    let first = bookstore(minimal());
    let owner = owner(&first);
    assert_ne!(
        resources::digest(&resources::config_map(&first, &owner).data),
        resources::digest(&resources::config_map(&bookstore(spec), &owner).data)
    );
}

#[test]
fn extra_variables_come_after_the_operators_and_replace_a_name_they_repeat() {
    let mut spec = minimal();
    spec["env"] = json!([
        {"name": "HTTPS_PROXY", "value": "http://proxy:3128"},
        {"name": "AMQP_URL_FILE", "value": "/elsewhere/url"},
        {"name": "SHARED", "value": "from the bookstore"},
    ]);
    spec["envFrom"] = json!([{"configMapRef": {"name": "extra"}}]);
    spec["components"] = json!({"orders": {
        "env": [{"name": "SHARED", "value": "from orders"}, {"name": "ORDERS_ONLY", "value": "1"}],
        "envFrom": [{"secretRef": {"name": "orders-extra"}}],
    }});
    let bookstore = bookstore(spec);
    let orders = resources::deployment(
        &bookstore,
        &owner(&bookstore),
        Component::Orders,
        "i:1",
        &hashes("h"),
    );
    let container = &pod(&orders).containers[0];
    let env: Vec<(String, String)> = container
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|v| (v.name, v.value.unwrap_or_default()))
        .collect();
    let value = |name: &str| {
        let matching: Vec<&String> = env
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "{name} appears {} times: {env:?}",
            matching.len()
        );
        matching[0].clone()
    };
    assert_eq!(value("AMQP_URL_FILE"), "/elsewhere/url");
    assert_eq!(value("SHARED"), "from orders");
    assert_eq!(value("ORDERS_ONLY"), "1");
    assert_eq!(value("HTTPS_PROXY"), "http://proxy:3128");
    assert_eq!(
        env[0].0, "DATABASE_URL_FILE",
        "the operator's variables come first"
    );
    let sources: Vec<String> = container
        .env_from
        .clone()
        .unwrap()
        .into_iter()
        .map(|source| {
            source
                .config_map_ref
                .map(|r| format!("configmap/{}", r.name))
                .or(source.secret_ref.map(|r| format!("secret/{}", r.name)))
                .unwrap()
        })
        .collect();
    assert_eq!(
        sources,
        [
            "configmap/shop-config",
            "configmap/extra",
            "secret/orders-extra"
        ]
    );
    // Another component gets the Bookstore's variables, not orders'.
    let users = resources::deployment(
        &bookstore,
        &owner(&bookstore),
        Component::Users,
        "i:1",
        &hashes("h"),
    );
    let names = pod_env_names(&users);
    assert!(names.contains(&"SHARED".to_owned()));
    assert!(!names.contains(&"ORDERS_ONLY".to_owned()));
}

#[test]
fn pods_run_where_the_bookstore_says_unless_their_component_says_otherwise() {
    let bookstore = bookstore(production(false));
    let owner = owner(&bookstore);
    let deployment =
        |component| resources::deployment(&bookstore, &owner, component, "i:1", &hashes("h"));
    let orders = deployment(Component::Orders);
    let orders_pod = pod(&orders);
    assert_eq!(orders_pod.node_selector.as_ref().unwrap()["pool"], "shop");
    assert!(orders_pod.affinity.is_some());
    assert_eq!(orders_pod.service_account_name.as_deref(), Some("shop"));
    assert_eq!(orders_pod.automount_service_account_token, Some(false));
    assert!(orders_pod.tolerations.is_none());
    let annotations = |d: &Deployment| {
        d.spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .annotations
            .clone()
            .unwrap()
    };
    assert_eq!(annotations(&orders)["logs.example/format"], "json");
    assert!(annotations(&orders).contains_key(resources::CONFIG_HASH_ANNOTATION));

    let storefront = deployment(Component::Storefront);
    let storefront_pod = pod(&storefront);
    assert_eq!(
        storefront_pod.node_selector.as_ref().unwrap()["pool"],
        "edge"
    );
    assert_eq!(
        storefront_pod.tolerations.as_ref().unwrap()[0]
            .key
            .as_deref(),
        Some("edge")
    );
    assert!(
        storefront_pod.affinity.is_some(),
        "fields it does not set come from the Bookstore"
    );
    let storefront_annotations = annotations(&storefront);
    assert_eq!(storefront_annotations["mesh.example/inject"], "false");
    assert_eq!(storefront_annotations["logs.example/format"], "json");
    let rust_log: Vec<_> = storefront_pod.containers[0]
        .env
        .as_ref()
        .unwrap()
        .iter()
        .filter(|v| v.name == "RUST_LOG")
        .collect();
    assert_eq!(rust_log[0].value.as_deref(), Some("debug"));

    // Given constraints replace the default spreading.
    let mut spec = minimal();
    spec["components"] = json!({"catalog": {"topologySpreadConstraints": [
        {"maxSkew": 2, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule"}
    ]}});
    let spread = crate::bookstore(spec);
    let catalog = resources::deployment(&spread, &owner, Component::Catalog, "i:1", &hashes("h"));
    let constraints = pod(&catalog).topology_spread_constraints.clone().unwrap();
    assert_eq!(constraints.len(), 1);
    assert_eq!(constraints[0].max_skew, 2);
    let users = resources::deployment(&spread, &owner, Component::Users, "i:1", &hashes("h"));
    assert_eq!(
        pod(&users)
            .topology_spread_constraints
            .as_ref()
            .unwrap()
            .len(),
        2
    );

    // The Jobs run where the Bookstore says.
    for job in [
        resources::migration_job(&bookstore, &owner, "i:1"),
        resources::sample_catalogue_job(&bookstore, &owner, "i:1"),
    ] {
        let template = &job.spec.as_ref().unwrap().template;
        let job_pod = template.spec.as_ref().unwrap();
        assert_eq!(job_pod.node_selector.as_ref().unwrap()["pool"], "shop");
        assert_eq!(job_pod.service_account_name.as_deref(), Some("shop"));
        assert_eq!(
            template
                .metadata
                .as_ref()
                .unwrap()
                .annotations
                .as_ref()
                .unwrap()["logs.example/format"],
            "json"
        );
    }
}

#[test]
fn the_admin_password_reaches_the_users_service_alone_and_the_sample_catalogue_is_a_job() {
    let bookstore = bookstore(production(false));
    let owner = owner(&bookstore);
    for component in Component::ALL {
        let deployment = resources::deployment(&bookstore, &owner, component, "i:1", &hashes("h"));
        let names = pod_env_names(&deployment);
        let mounts_admin = pod(&deployment).volumes.as_ref().unwrap().iter().any(|v| {
            v.secret.as_ref().and_then(|s| s.secret_name.as_deref()) == Some("shop-admin")
        });
        let is_users = component == Component::Users;
        assert_eq!(
            names.contains(&"BOOKSTORE_ADMIN_EMAIL".to_owned()),
            is_users,
            "{component:?}"
        );
        assert_eq!(
            names.contains(&"BOOKSTORE_ADMIN_PASSWORD_FILE".to_owned()),
            is_users
        );
        assert_eq!(mounts_admin, is_users, "{component:?}");
    }
    let users = resources::deployment(&bookstore, &owner, Component::Users, "i:1", &hashes("h"));
    let admin_volume = pod(&users)
        .volumes
        .as_ref()
        .unwrap()
        .iter()
        .find(|v| v.name == "admin")
        .unwrap()
        .clone();
    assert_eq!(
        admin_volume.secret.unwrap().items.unwrap()[0].key,
        "password"
    );

    let job = resources::sample_catalogue_job(
        &bookstore,
        &owner,
        "registry.example/shop/bookstore:2.3.1",
    );
    let name = job.metadata.name.clone().unwrap();
    assert!(name.starts_with("shop-seed-"), "{name}");
    let job_pod = job.spec.as_ref().unwrap().template.spec.clone().unwrap();
    assert_eq!(
        job_pod.containers[0].args,
        Some(vec!["admin".to_owned(), "seed".to_owned()])
    );
    let env: Vec<String> = job_pod.containers[0]
        .env
        .clone()
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert!(env.contains(&"DATABASE_URL_FILE".to_owned()));
    assert!(!env.contains(&"BOOKSTORE_ADMIN_PASSWORD_FILE".to_owned()));
    assert_eq!(
        job.metadata.labels.unwrap()["app.kubernetes.io/component"],
        "sample-catalogue"
    );
}
