//! The desired objects of a Bookstore: pure functions from the custom resource (and what the
//! reconciler decided: which image the components run, what scales the worker) to the
//! Kubernetes objects the operator applies. Nothing here talks to the API server.

use std::collections::{BTreeMap, BTreeSet};

use contracts::consumers::ORDER_PLACED_WORKER;
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec, MetricSpec,
    MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapEnvSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, LocalObjectReference,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    ResourceRequirements, SeccompProfile, SecretKeySelector, SecretVolumeSource, SecurityContext,
    Service, ServicePort, ServiceSpec, TopologySpreadConstraint, Volume, VolumeMount,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::crd::{Bookstore, Component, PodOptions};

/// The port every component serves HTTP, health and metrics on.
pub const HTTP_PORT: i32 = 8080;
/// Non-root user and group of every container (the image's `nonroot` user).
pub const RUN_AS: i64 = 65532;
/// Pod annotation carrying a hash of the ConfigMap, so a configuration change rolls the pods.
pub const CONFIG_HASH_ANNOTATION: &str = "bookstore.dev/config-hash";
/// The pod template's annotation with [`TemplateHashes::secrets`].
pub const SECRETS_HASH_ANNOTATION: &str = "bookstore.dev/secrets-hash";
/// Where secrets are mounted, one folder per Secret reference.
const SECRETS_DIR: &str = "/var/run/secrets/bookstore";
/// The data directory (uploads) of the catalogue and the worker.
const DATA_DIR: &str = "/var/lib/bookstore";
/// Seconds `/readyz` reports draining before the listener closes, so Services stop sending
/// traffic to a terminating pod before it stops accepting.
const DRAIN_SECONDS: &str = "5";

/// Hashes of what a component's pods read at start, kept as annotations of the pod template so
/// that a change rolls the pods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TemplateHashes {
    /// Of the ConfigMap's data.
    pub config: String,
    /// Of the data of the Secrets the pods read ([`secret_names`]).
    pub secrets: String,
}

/// `<bookstore>-<suffix>`.
pub fn object_name(bookstore: &Bookstore, suffix: &str) -> String {
    format!("{}-{suffix}", bookstore.name_any())
}

/// The labels that select one component's pods.
pub fn selector_labels(bookstore: &Bookstore, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "bookstore".to_owned()),
        (
            "app.kubernetes.io/instance".to_owned(),
            bookstore.name_any(),
        ),
        (
            "app.kubernetes.io/component".to_owned(),
            component.to_owned(),
        ),
    ])
}

fn labels(bookstore: &Bookstore, component: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(bookstore, component);
    labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        "bookstore-operator".to_owned(),
    );
    labels.insert(
        "app.kubernetes.io/part-of".to_owned(),
        "bookstore".to_owned(),
    );
    labels
}

fn metadata(
    bookstore: &Bookstore,
    owner: &OwnerReference,
    name: String,
    component: &str,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: bookstore.namespace(),
        labels: Some(labels(bookstore, component)),
        owner_references: Some(vec![owner.clone()]),
        ..ObjectMeta::default()
    }
}

fn service_url(bookstore: &Bookstore, component: Component) -> String {
    format!(
        "http://{}:{HTTP_PORT}",
        object_name(bookstore, component.name())
    )
}

/// The settings every component reads from its environment, none of them secret.
pub fn config_map(bookstore: &Bookstore, owner: &OwnerReference) -> ConfigMap {
    let spec = &bookstore.spec;
    let mut data = BTreeMap::from([
        (
            "BOOKSTORE_LISTEN".to_owned(),
            format!("0.0.0.0:{HTTP_PORT}"),
        ),
        ("BOOKSTORE_LOG_FORMAT".to_owned(), "json".to_owned()),
        (
            "BOOKSTORE_DRAIN_SECONDS".to_owned(),
            DRAIN_SECONDS.to_owned(),
        ),
        ("BOOKSTORE_DATA_DIR".to_owned(), DATA_DIR.to_owned()),
        (
            "BOOKSTORE_AMQP_NAMESPACE".to_owned(),
            spec.broker.namespace.clone(),
        ),
        (
            "BOOKSTORE_CATALOG_URL".to_owned(),
            service_url(bookstore, Component::Catalog),
        ),
        (
            "BOOKSTORE_INVENTORY_URL".to_owned(),
            service_url(bookstore, Component::Inventory),
        ),
        (
            "BOOKSTORE_ORDERS_URL".to_owned(),
            service_url(bookstore, Component::Orders),
        ),
        ("RUST_LOG".to_owned(), spec.log.clone()),
    ]);
    if let Some(base_url) = spec.openai.as_ref().and_then(|o| o.base_url.clone()) {
        data.insert("OPENAI_BASE_URL".to_owned(), base_url);
    }
    if let Some(model) = spec.openai.as_ref().and_then(|o| o.model.clone()) {
        data.insert("BOOKSTORE_SUMMARY_MODEL".to_owned(), model);
    }
    let s3 = spec
        .storage
        .as_ref()
        .and_then(|storage| storage.s3.as_ref());
    let object_store = match s3 {
        Some(s3) => s3.url.clone(),
        None => format!("{DATA_DIR}/objects"),
    };
    data.insert("BOOKSTORE_OBJECT_STORE_URL".to_owned(), object_store);
    if let Some(endpoint) = s3.and_then(|s3| s3.endpoint.clone()) {
        data.insert("BOOKSTORE_S3_ENDPOINT".to_owned(), endpoint);
    }
    if let Some(region) = s3.and_then(|s3| s3.region.clone()) {
        data.insert("BOOKSTORE_S3_REGION".to_owned(), region);
    }
    data.extend(settings_env(bookstore));
    ConfigMap {
        metadata: metadata(bookstore, owner, object_name(bookstore, "config"), "config"),
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// The variables of `spec.settings`; a setting left out keeps the program's default.
fn settings_env(bookstore: &Bookstore) -> BTreeMap<String, String> {
    let settings = &bookstore.spec.settings;
    let mut env = BTreeMap::new();
    let mut set = |name: &str, value: String| env.insert(name.to_owned(), value);
    if settings.trust_forwarded_for {
        set("BOOKSTORE_TRUST_FORWARDED_FOR", "true".to_owned());
    }
    if !settings.cors_origins.is_empty() {
        set("BOOKSTORE_CORS_ORIGINS", settings.cors_origins.join(","));
    }
    if let Some(tracing) = &settings.tracing {
        set("OTEL_EXPORTER_OTLP_ENDPOINT", tracing.otlp_endpoint.clone());
        if let Some(ratio) = tracing.sampling_ratio {
            set("OTEL_TRACES_SAMPLER", "parentbased_traceidratio".to_owned());
            set("OTEL_TRACES_SAMPLER_ARG", ratio.to_string());
        }
    }
    if let Some(retry) = &settings.retry {
        if !retry.delays_ms.is_empty() {
            let delays: Vec<String> = retry.delays_ms.iter().map(i64::to_string).collect();
            set("BOOKSTORE_RETRY_DELAYS_MS", delays.join(","));
        }
        if let Some(attempts) = retry.max_attempts {
            set("BOOKSTORE_RETRY_MAX_ATTEMPTS", attempts.to_string());
        }
    }
    if let Some(concurrency) = settings.worker_concurrency {
        set("BOOKSTORE_WORKER_CONCURRENCY", concurrency.to_string());
    }
    if let Some(connections) = settings.database_max_connections {
        set("DATABASE_MAX_CONNECTIONS", connections.to_string());
    }
    env
}

/// A short, stable digest of any serialisable value (names of Jobs, the config hash).
pub fn digest(value: &impl serde::Serialize) -> String {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .take(5)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn service(bookstore: &Bookstore, owner: &OwnerReference, component: Component) -> Service {
    let name = component.name();
    Service {
        metadata: metadata(bookstore, owner, object_name(bookstore, name), name),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector_labels(bookstore, name)),
            ports: Some(vec![ServicePort {
                name: Some("http".to_owned()),
                port: HTTP_PORT,
                target_port: Some(IntOrString::String("http".to_owned())),
                protocol: Some("TCP".to_owned()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// At most one pod of a component down through voluntary disruptions (node drains), which never
/// blocks a drain, even with one replica.
pub fn pod_disruption_budget(
    bookstore: &Bookstore,
    owner: &OwnerReference,
    component: Component,
) -> PodDisruptionBudget {
    let name = component.name();
    PodDisruptionBudget {
        metadata: metadata(bookstore, owner, object_name(bookstore, name), name),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector {
                match_labels: Some(selector_labels(bookstore, name)),
                ..LabelSelector::default()
            }),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

/// Which secrets a process needs, by component.
#[derive(Debug, Default, Clone, Copy)]
struct Needs {
    database: bool,
    private_key: bool,
    public_key: bool,
    service_token: bool,
    broker: bool,
    storage: bool,
    openai: bool,
    admin: bool,
}

fn needs(component: Option<Component>) -> Needs {
    let Some(component) = component else {
        // The Jobs (migration, sample catalogue): only the database.
        return Needs {
            database: true,
            ..Needs::default()
        };
    };
    match component {
        // The users service announces ended sessions on the bus.
        // It also creates the first admin.
        Component::Users => Needs {
            database: true,
            private_key: true,
            broker: true,
            admin: true,
            ..Needs::default()
        },
        // The catalogue keeps the uploads, and checks the worker's service token when it reads
        // a document and stores its summary.
        Component::Catalog => Needs {
            database: true,
            public_key: true,
            service_token: true,
            broker: true,
            storage: true,
            ..Needs::default()
        },
        Component::Inventory | Component::Orders => Needs {
            database: true,
            public_key: true,
            service_token: true,
            broker: true,
            ..Needs::default()
        },
        // The worker writes the summaries (it reads documents through the catalogue).
        Component::Worker => Needs {
            service_token: true,
            broker: true,
            openai: true,
            ..Needs::default()
        },
        Component::Notifications => Needs {
            public_key: true,
            broker: true,
            ..Needs::default()
        },
        // Static files only: no database, key, broker or secret.
        Component::Storefront => Needs::default(),
    }
}

/// A Secret's one key mounted as a file, and the `*_FILE` variable that points at it.
fn secret_file(
    volume: &str,
    secret: &str,
    key: &str,
    file: &str,
    var: &str,
) -> (Volume, VolumeMount, EnvVar) {
    let dir = format!("{SECRETS_DIR}/{volume}");
    (
        Volume {
            name: volume.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(secret.to_owned()),
                items: Some(vec![KeyToPath {
                    key: key.to_owned(),
                    path: file.to_owned(),
                    ..KeyToPath::default()
                }]),
                // Readable by the pod's group (fsGroup) only.
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
        VolumeMount {
            name: volume.to_owned(),
            mount_path: dir.clone(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
        EnvVar {
            name: var.to_owned(),
            value: Some(format!("{dir}/{file}")),
            ..EnvVar::default()
        },
    )
}

/// The pod of a component (or of a Job, `component` none) running `args`, placed as `options`
/// (its [`pod_options`]) say.
fn pod_spec(
    bookstore: &Bookstore,
    component: Option<Component>,
    image: &str,
    args: &[&str],
    options: &PodOptions,
) -> PodSpec {
    let spec = &bookstore.spec;
    let needs = needs(component);
    let mut volumes = vec![Volume {
        // The root file system is read-only; temporary files go here.
        name: "tmp".to_owned(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Volume::default()
    }];
    let mut mounts = vec![VolumeMount {
        name: "tmp".to_owned(),
        mount_path: "/tmp".to_owned(),
        ..VolumeMount::default()
    }];
    let mut env = Vec::new();
    let mut secrets = Vec::new();
    if needs.database {
        secrets.push(secret_file(
            "database",
            &spec.database.name,
            spec.database.key_or("url"),
            "url",
            "DATABASE_URL_FILE",
        ));
    }
    if needs.broker {
        let broker = &spec.broker.secret_ref;
        secrets.push(secret_file(
            "broker",
            &broker.name,
            broker.key_or("url"),
            "url",
            "AMQP_URL_FILE",
        ));
    }
    if needs.private_key {
        // Only the users service signs tokens, so only its pods see the private key.
        secrets.push(secret_file(
            "jwt-private",
            &spec.jwt.secret_name,
            &spec.jwt.private_key_key,
            "private.pem",
            "BOOKSTORE_JWT_PRIVATE_KEY_FILE",
        ));
    }
    if needs.public_key {
        secrets.push(secret_file(
            "jwt-public",
            &spec.jwt.secret_name,
            &spec.jwt.public_key_key,
            "public.pem",
            "BOOKSTORE_JWT_PUBLIC_KEY_FILE",
        ));
    }
    if needs.service_token {
        let token = &spec.service_token;
        secrets.push(secret_file(
            "service-token",
            &token.name,
            token.key_or("token"),
            "token",
            "BOOKSTORE_SERVICE_TOKEN_FILE",
        ));
    }
    if let Some(admin) = spec.admin.as_ref().filter(|_| needs.admin) {
        let password = &admin.password_secret_ref;
        secrets.push(secret_file(
            "admin",
            &password.name,
            password.key_or("password"),
            "password",
            "BOOKSTORE_ADMIN_PASSWORD_FILE",
        ));
        env.push(EnvVar {
            name: "BOOKSTORE_ADMIN_EMAIL".to_owned(),
            value: Some(admin.email.clone()),
            ..EnvVar::default()
        });
    }
    let s3_credentials = spec
        .storage
        .as_ref()
        .and_then(|storage| storage.s3.as_ref())
        .and_then(|s3| s3.credentials_secret.as_deref());
    if needs.storage
        && let Some(secret) = s3_credentials
    {
        secrets.push(secret_file(
            "s3",
            secret,
            "secret-access-key",
            "secret-access-key",
            "BOOKSTORE_S3_SECRET_ACCESS_KEY_FILE",
        ));
        env.push(EnvVar {
            name: "BOOKSTORE_S3_ACCESS_KEY_ID".to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secret.to_owned(),
                    key: "access-key-id".to_owned(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
    }
    for (volume, mount, var) in secrets {
        volumes.push(volume);
        mounts.push(mount);
        env.push(var);
    }
    if needs.openai
        && let Some(openai) = &spec.openai
    {
        env.push(EnvVar {
            name: "OPENAI_API_KEY".to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: openai.secret_ref.name.clone(),
                    key: openai.secret_ref.key_or("api-key").to_owned(),
                    optional: Some(false),
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
    }
    if needs.storage {
        let claim = spec
            .storage
            .as_ref()
            .and_then(|storage| storage.persistent_volume_claim.clone());
        volumes.push(Volume {
            name: "data".to_owned(),
            empty_dir: claim.is_none().then(EmptyDirVolumeSource::default),
            persistent_volume_claim: claim.map(|claim_name| PersistentVolumeClaimVolumeSource {
                claim_name,
                read_only: Some(false),
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: "data".to_owned(),
            mount_path: DATA_DIR.to_owned(),
            ..VolumeMount::default()
        });
    }
    let own = component.map(|c| c.spec(&spec.components));
    let resources = own
        .and_then(|own| own.resources.clone())
        .unwrap_or_else(default_resources);
    // The operator's variables, then the Bookstore's, then the component's: a later one of the
    // same name replaces an earlier one (an apply refuses a name twice).
    let extra = spec.env.iter().chain(own.map_or(&[][..], |own| &own.env));
    let env = merged_env(env, extra);
    let mut env_from = vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: object_name(bookstore, "config"),
            optional: Some(false),
        }),
        ..EnvFromSource::default()
    }];
    env_from.extend(spec.env_from.iter().cloned());
    env_from.extend(own.map_or(&[][..], |own| &own.env_from).iter().cloned());
    let serves = component.is_some();
    let probe = |path: &str, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".to_owned()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    let container = Container {
        name: "bookstore".to_owned(),
        image: Some(image.to_owned()),
        image_pull_policy: spec.image_pull_policy.clone(),
        args: Some(args.iter().map(|a| (*a).to_owned()).collect()),
        ports: serves.then(|| {
            vec![ContainerPort {
                name: Some("http".to_owned()),
                container_port: HTTP_PORT,
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            }]
        }),
        env_from: Some(env_from),
        env: Some(env),
        resources: Some(resources),
        // A slow start (a cold database pool) gets a minute before liveness counts.
        startup_probe: serves.then(|| probe("/healthz", 2, 30)),
        liveness_probe: serves.then(|| probe("/healthz", 10, 3)),
        readiness_probe: serves.then(|| probe("/readyz", 5, 2)),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            privileged: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                add: None,
            }),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    PodSpec {
        containers: vec![container],
        volumes: Some(volumes),
        // The components never call the Kubernetes API.
        automount_service_account_token: Some(false),
        service_account_name: options.service_account_name.clone(),
        node_selector: (!options.node_selector.is_empty()).then(|| options.node_selector.clone()),
        affinity: options.affinity.clone(),
        tolerations: (!options.tolerations.is_empty()).then(|| options.tolerations.clone()),
        enable_service_links: Some(false),
        image_pull_secrets: (!spec.image_pull_secrets.is_empty()).then(|| {
            spec.image_pull_secrets
                .iter()
                .map(|name| LocalObjectReference { name: name.clone() })
                .collect()
        }),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".to_owned(),
                localhost_profile: None,
            }),
            ..PodSecurityContext::default()
        }),
        ..PodSpec::default()
    }
}

/// Where and how the pods of `component` (the Jobs': none) run: the Bookstore's `pod`, with
/// the component's own fields over it.
fn pod_options(bookstore: &Bookstore, component: Option<Component>) -> PodOptions {
    let spec = &bookstore.spec;
    match component {
        Some(component) => spec.pod.overlaid(&component.spec(&spec.components).pod),
        None => spec.pod.clone(),
    }
}

/// `base` with each of `extra` added, or put in place of the variable of the same name.
fn merged_env<'a>(base: Vec<EnvVar>, extra: impl Iterator<Item = &'a EnvVar>) -> Vec<EnvVar> {
    let mut env = base;
    for var in extra {
        match env.iter_mut().find(|existing| existing.name == var.name) {
            Some(existing) => *existing = var.clone(),
            None => env.push(var.clone()),
        }
    }
    env
}

/// Requests and limits of a component that sets none.
pub fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity("100m".to_owned())),
            ("memory".to_owned(), Quantity("128Mi".to_owned())),
        ])),
        limits: Some(BTreeMap::from([(
            "memory".to_owned(),
            Quantity("512Mi".to_owned()),
        )])),
        ..ResourceRequirements::default()
    }
}

/// The Secrets the pods of `component` read: mounted as files, or through `envFrom` and `env`.
/// A change to any of them rolls the component.
pub fn secret_names(bookstore: &Bookstore, component: Component) -> BTreeSet<String> {
    let options = pod_options(bookstore, Some(component));
    let pod = pod_spec(bookstore, Some(component), "", &[], &options);
    let mounted = pod
        .volumes
        .iter()
        .flatten()
        .filter_map(|volume| volume.secret.as_ref()?.secret_name.clone());
    let containers = pod.containers.iter();
    let from_env = containers.clone().flat_map(|container| {
        container.env.iter().flatten().filter_map(|var| {
            Some(
                var.value_from
                    .as_ref()?
                    .secret_key_ref
                    .as_ref()?
                    .name
                    .clone(),
            )
        })
    });
    let from_env_from = containers.flat_map(|container| {
        container
            .env_from
            .iter()
            .flatten()
            .filter_map(|source| Some(source.secret_ref.as_ref()?.name.clone()))
    });
    mounted.chain(from_env).chain(from_env_from).collect()
}

/// Whether any component of `bookstore` reads the Secret `name`.
pub fn reads_secret(bookstore: &Bookstore, name: &str) -> bool {
    Component::ALL
        .iter()
        .any(|component| secret_names(bookstore, *component).contains(name))
}

/// The Deployment of a component running `image`. Its replicas are left to its autoscaler
/// when it has one.
pub fn deployment(
    bookstore: &Bookstore,
    owner: &OwnerReference,
    component: Component,
    image: &str,
    hashes: &TemplateHashes,
) -> Deployment {
    let name = component.name();
    let selector = selector_labels(bookstore, name);
    // An autoscaler owns the replicas of a component it scales; the apply leaves them out.
    let replicas = match component.cpu_autoscaling(&bookstore.spec) {
        Some(_) => None,
        None => Some(component.spec(&bookstore.spec.components).replicas),
    };
    let version = image
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or_default();
    let mut pod_labels = labels(bookstore, name);
    pod_labels.insert("app.kubernetes.io/version".to_owned(), version.to_owned());
    // Spread the pods over nodes, then zones, counting only this rollout's pods; never refuse to
    // schedule over it (small clusters).
    let spread = |key: &str| TopologySpreadConstraint {
        max_skew: 1,
        topology_key: key.to_owned(),
        when_unsatisfiable: "ScheduleAnyway".to_owned(),
        label_selector: Some(LabelSelector {
            match_labels: Some(selector.clone()),
            ..LabelSelector::default()
        }),
        match_label_keys: Some(vec!["pod-template-hash".to_owned()]),
        ..TopologySpreadConstraint::default()
    };
    let options = pod_options(bookstore, Some(component));
    let mut pod = pod_spec(bookstore, Some(component), image, &[name], &options);
    pod.topology_spread_constraints = Some(if options.topology_spread_constraints.is_empty() {
        vec![
            spread("kubernetes.io/hostname"),
            spread("topology.kubernetes.io/zone"),
        ]
    } else {
        options.topology_spread_constraints
    });
    let mut annotations = options.pod_annotations;
    annotations.insert(CONFIG_HASH_ANNOTATION.to_owned(), hashes.config.clone());
    annotations.insert(SECRETS_HASH_ANNOTATION.to_owned(), hashes.secrets.clone());
    // Drain (5 s) plus the 30 s the process gives requests and messages in flight.
    pod.termination_grace_period_seconds = Some(45);
    Deployment {
        metadata: metadata(bookstore, owner, object_name(bookstore, name), name),
        spec: DeploymentSpec {
            replicas,
            revision_history_limit: Some(5),
            selector: LabelSelector {
                match_labels: Some(selector),
                ..LabelSelector::default()
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(IntOrString::String("25%".to_owned())),
                    max_unavailable: Some(IntOrString::Int(0)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

/// The Job that runs `bookstore migrate up` of `image`.
pub fn migration_job(bookstore: &Bookstore, owner: &OwnerReference, image: &str) -> Job {
    job(
        bookstore,
        owner,
        image,
        "migrate",
        "migration",
        &["migrate", "up"],
    )
}

/// The Job that loads the sample catalogue with `image` (`bookstore admin seed`, which leaves
/// a catalogue that has books alone).
pub fn sample_catalogue_job(bookstore: &Bookstore, owner: &OwnerReference, image: &str) -> Job {
    job(
        bookstore,
        owner,
        image,
        "seed",
        "sample-catalogue",
        &["admin", "seed"],
    )
}

/// A Job of the installation, `<bookstore>-<purpose>-<digest>` labelled as `component`,
/// running `args` once with the database. Its name carries a digest of its spec: a Job's pod
/// template cannot change, so a new version (or a new rendering) is a new Job.
fn job(
    bookstore: &Bookstore,
    owner: &OwnerReference,
    image: &str,
    purpose: &str,
    component: &str,
    args: &[&str],
) -> Job {
    let version = image
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or_default();
    let mut pod_labels = labels(bookstore, component);
    pod_labels.insert("app.kubernetes.io/version".to_owned(), version.to_owned());
    let options = pod_options(bookstore, None);
    let mut pod = pod_spec(bookstore, None, image, args, &options);
    pod.restart_policy = Some("Never".to_owned());
    let spec = JobSpec {
        // Two more tries for a database that was briefly unreachable; a real failure fails
        // three times the same way.
        backoff_limit: Some(2),
        active_deadline_seconds: Some(1800),
        // A finished Job is kept a day for its logs. The operator records a success in the
        // Bookstore's status, so it never reruns a removed successful Job; a removed failed one
        // is tried again.
        ttl_seconds_after_finished: Some(86_400),
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(pod_labels),
                annotations: (!options.pod_annotations.is_empty())
                    .then_some(options.pod_annotations),
                ..ObjectMeta::default()
            }),
            spec: Some(pod),
        },
        ..JobSpec::default()
    };
    let name = object_name(bookstore, &format!("{purpose}-{}", digest(&spec)));
    Job {
        metadata: metadata(bookstore, owner, name, component),
        spec: Some(spec),
        ..Job::default()
    }
}

/// The HorizontalPodAutoscaler of a component that scales on CPU (the worker's only without KEDA).
pub fn horizontal_pod_autoscaler(
    bookstore: &Bookstore,
    owner: &OwnerReference,
    component: Component,
) -> Option<HorizontalPodAutoscaler> {
    let autoscaling = component.cpu_autoscaling(&bookstore.spec)?;
    let name = component.name();
    Some(HorizontalPodAutoscaler {
        metadata: metadata(bookstore, owner, object_name(bookstore, name), name),
        spec: HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_owned()),
                kind: "Deployment".to_owned(),
                name: object_name(bookstore, name),
            },
            min_replicas: Some(autoscaling.min_replicas),
            max_replicas: autoscaling.max_replicas,
            metrics: Some(vec![MetricSpec {
                type_: "Resource".to_owned(),
                resource: Some(ResourceMetricSource {
                    name: "cpu".to_owned(),
                    target: MetricTarget {
                        type_: "Utilization".to_owned(),
                        average_utilization: Some(autoscaling.target_cpu_utilization),
                        ..MetricTarget::default()
                    },
                }),
                ..MetricSpec::default()
            }]),
            ..HorizontalPodAutoscalerSpec::default()
        },
        ..HorizontalPodAutoscaler::default()
    })
}

/// API version of KEDA's custom resources.
pub const KEDA_API_VERSION: &str = "keda.sh/v1alpha1";

/// KEDA's TriggerAuthentication handing the broker URL to its RabbitMQ scaler.
pub fn keda_trigger_authentication(bookstore: &Bookstore, owner: &OwnerReference) -> Value {
    let broker = &bookstore.spec.broker.secret_ref;
    let name = Component::Worker.name();
    json!({
        "apiVersion": KEDA_API_VERSION,
        "kind": "TriggerAuthentication",
        "metadata": metadata(bookstore, owner, object_name(bookstore, "worker-broker"), name),
        "spec": {
            "secretTargetRef": [{
                "parameter": "host",
                "name": broker.name,
                "key": broker.key_or("url"),
            }],
        },
    })
}

/// KEDA's ScaledObject scaling the worker on the depth of the order queue, and on CPU.
pub fn keda_scaled_object(bookstore: &Bookstore, owner: &OwnerReference) -> Option<Value> {
    let autoscaling = bookstore.spec.worker.autoscaling.as_ref()?;
    let keda = &autoscaling.keda;
    let name = Component::Worker.name();
    let queue =
        contracts::consumers::topology(&bookstore.spec.broker.namespace).queue(ORDER_PLACED_WORKER);
    Some(json!({
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": metadata(bookstore, owner, object_name(bookstore, name), name),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": object_name(bookstore, name),
            },
            "minReplicaCount": autoscaling.cpu.min_replicas,
            "maxReplicaCount": autoscaling.cpu.max_replicas,
            "pollingInterval": keda.polling_interval_seconds,
            "cooldownPeriod": keda.cooldown_period_seconds,
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "amqp",
                        "mode": "QueueLength",
                        "value": keda.queue_length.to_string(),
                        "queueName": queue,
                    },
                    "authenticationRef": {"name": object_name(bookstore, "worker-broker")},
                },
                {
                    "type": "cpu",
                    "metricType": "Utilization",
                    "metadata": {"value": autoscaling.cpu.target_cpu_utilization.to_string()},
                },
            ],
        },
    }))
}
