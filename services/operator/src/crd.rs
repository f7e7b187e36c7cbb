//! The `Bookstore` custom resource (`bookstore.dev/v1alpha1`): what an installation asks for,
//! its validation rules, and the status the operator reports.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvFromSource, EnvVar, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of the custom resource.
pub const GROUP: &str = "bookstore.dev";
/// Bookstore names are prefixes of every object the operator makes; the longest of those,
/// `<name>-migrate-<10 hex>`, must stay within the 63 characters of a label value.
pub const MAX_NAME_LENGTH: usize = 40;

/// One installation of the bookstore: which image and version run, how many of each component,
/// and where the secrets are. The operator turns it into Deployments, Services, a migration Job
/// per version, autoscaling for the worker and PodDisruptionBudgets.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "bookstore.dev",
    version = "v1alpha1",
    kind = "Bookstore",
    plural = "bookstores",
    shortname = "bks",
    namespaced,
    status = "BookstoreStatus",
    derive = "PartialEq",
    printcolumn(name = "Version", type_ = "string", json_path = ".spec.version", description = "The version asked for"),
    printcolumn(name = "Running", type_ = "string", json_path = ".status.currentVersion", description = "The version whose migration succeeded and which the Deployments run"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.size() <= 40").message("the name of a Bookstore has at most 40 characters (it prefixes every object the operator makes)")
)]
#[serde(rename_all = "camelCase")]
pub struct BookstoreSpec {
    /// Container image repository of the `bookstore` binary, without a tag (the tag is
    /// `version`), e.g. `bookstore` or `<registry>/<org>/bookstore`.
    #[schemars(length(min = 1, max = 512))]
    pub image: String,
    /// The application version, which is also the image tag. Changing it runs
    /// `bookstore migrate up` of the new version first; the components roll only once that
    /// Job has succeeded.
    #[schemars(
        length(min = 1, max = 128),
        regex(pattern = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    )]
    pub version: String,
    /// Image pull policy of every container (Always, IfNotPresent, Never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(Always|IfNotPresent|Never)$"))]
    pub image_pull_policy: Option<String>,
    /// Names of Secrets to pull the image with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_pull_secrets: Vec<String>,
    /// Replicas and resources per component.
    #[serde(default)]
    pub components: Components,
    /// The database URL (`postgres://...` or `mysql://...`), from a Secret.
    pub database: SecretKeyRef,
    /// The message broker.
    pub broker: BrokerSpec,
    /// The Ed25519 key pair of access tokens: the users service signs with the private key,
    /// the others verify with the public key.
    pub jwt: JwtSpec,
    /// The shared secret of service-to-service calls (at least 32 characters), from a Secret.
    pub service_token: SecretKeyRef,
    /// Autoscaling of the order worker.
    #[serde(default)]
    pub worker: WorkerSpec,
    /// Where uploads (covers, documents) are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// The OpenAI-compatible API of book summaries; without it the built-in extractive
    /// summariser writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openai: Option<OpenAiSpec>,
    /// `RUST_LOG` of every component, e.g. `info` or `info,orders=debug`.
    #[serde(default = "default_log")]
    #[schemars(length(min = 1, max = 1024))]
    pub log: String,
    /// The settings installations commonly change, for every component.
    #[serde(default)]
    pub settings: Settings,
    /// More environment variables of every component. A name the operator sets too (see
    /// `settings`) takes the value given here; a component's own `env` comes after this.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Sources of environment variables (ConfigMaps, Secrets) of every component; what `env`
    /// sets wins over them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Where and how every pod runs, the migration Jobs' included; a component's own fields
    /// replace these.
    #[serde(default)]
    pub pod: PodOptions,
    /// The first admin account, created by the users service when it starts and no account has
    /// the email yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminSpec>,
    /// Load the sample catalogue (60 books with stock) once the schema is migrated, if the
    /// catalogue is empty then.
    #[serde(default)]
    pub sample_catalogue: bool,
}

/// Settings of every component, each one environment variable (named in its description).
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Take the last `X-Forwarded-For` hop as the client's address
    /// (`BOOKSTORE_TRUST_FORWARDED_FOR`). Behind an Ingress every client otherwise shares the
    /// controller's address, so the per-client limits (log-ins, new orders) count all clients as
    /// one. Set it only when clients reach the pods through the proxy alone.
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Origins whose pages may call the API from a browser (`BOOKSTORE_CORS_ORIGINS`), e.g.
    /// `https://shop.example.com`; none: only pages of the API's own origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), inner(regex(pattern = r"^https?://[^/,]+$")))]
    pub cors_origins: Vec<String>,
    /// Export traces over OTLP/HTTP; without it, none leave the pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingSpec>,
    /// The retry tiers of failed messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// Orders a worker replica handles at once (`BOOKSTORE_WORKER_CONCURRENCY`, default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub worker_concurrency: Option<i32>,
    /// Database connections of each pod's pool (`DATABASE_MAX_CONNECTIONS`, default 10).
    /// Replicas times this must stay under the database's connection limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub database_max_connections: Option<i32>,
}

/// Where traces go, and how many.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TracingSpec {
    /// The collector's OTLP/HTTP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`), e.g.
    /// `http://otel-collector.observability:4318`.
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://"))]
    pub otlp_endpoint: String,
    /// The fraction of traces recorded, from 0 to 1 (default 1): a request that starts a trace
    /// is sampled with this probability, one that continues a trace follows its parent
    /// (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub sampling_ratio: Option<f64>,
}

/// How failed messages are tried again. Every process sharing a broker uses the same tiers.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetrySpec {
    /// Milliseconds before each further attempt; the last repeats
    /// (`BOOKSTORE_RETRY_DELAYS_MS`, default 1000, 5000, 30000, 120000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 16), inner(range(min = 1, max = 86_400_000)))]
    pub delays_ms: Vec<i64>,
    /// Attempts before a message goes to the dead-letter queue
    /// (`BOOKSTORE_RETRY_MAX_ATTEMPTS`, default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_attempts: Option<i32>,
}

/// The first admin account.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminSpec {
    /// The admin's email (`BOOKSTORE_ADMIN_EMAIL`).
    #[schemars(length(min = 3, max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+$"))]
    pub email: String,
    /// The password, from a Secret (key default `password`), mounted into the users service
    /// only. Change it after the first log-in: the account is created once, never updated.
    pub password_secret_ref: SecretKeyRef,
}

fn default_log() -> String {
    "info".into()
}

/// A key of a Secret in the Bookstore's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key in the Secret; each reference documents its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub key: Option<String>,
}

impl SecretKeyRef {
    pub fn key_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.key.as_deref().unwrap_or(default)
    }
}

/// The RabbitMQ broker.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerSpec {
    /// The AMQP URL (`amqp://user:password@host:5672/vhost`), from a Secret (key default `url`).
    pub secret_ref: SecretKeyRef,
    /// Prefix of every exchange and queue name, to share a broker between installations.
    #[serde(default)]
    #[schemars(length(max = 64), regex(pattern = r"^[A-Za-z0-9._-]*$"))]
    pub namespace: String,
}

/// The Secret holding the access-token key pair.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtSpec {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub secret_name: String,
    /// Key of the PKCS#8 PEM private key, mounted only into the users service.
    #[serde(default = "default_private_key")]
    #[schemars(length(min = 1, max = 253))]
    pub private_key_key: String,
    /// Key of the PEM public key.
    #[serde(default = "default_public_key")]
    #[schemars(length(min = 1, max = 253))]
    pub public_key_key: String,
}

fn default_private_key() -> String {
    "private.pem".into()
}

fn default_public_key() -> String {
    "public.pem".into()
}

/// Where uploads (covers and documents) are kept: a bucket of an S3-compatible store, or else the
/// data directory of the catalogue's pods.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// An S3-compatible bucket: what more than one catalogue replica needs, since each replica
    /// must see every upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Spec>,
    /// Without a bucket, an existing PersistentVolumeClaim mounted as the data directory of the
    /// catalogue and the worker (several replicas on several nodes need a ReadWriteMany
    /// volume). With neither, each pod gets an empty directory that goes with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub persistent_volume_claim: Option<String>,
}

/// A bucket of an S3-compatible store.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Spec {
    /// `s3://bucket` or `s3://bucket/prefix`.
    #[schemars(length(min = 6, max = 1024), regex(pattern = r"^s3://[^/]+"))]
    pub url: String,
    /// The store's address, for anything but AWS (e.g. `http://minio.storage:9000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://"))]
    pub endpoint: Option<String>,
    /// The bucket's region (default `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub region: Option<String>,
    /// A Secret with the keys `access-key-id` and `secret-access-key`; without it, requests
    /// are unsigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub credentials_secret: Option<String>,
}

/// The OpenAI-compatible API.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenAiSpec {
    /// The API key, from a Secret (key default `api-key`).
    pub secret_ref: SecretKeyRef,
    /// Base URL of a compatible server instead of OpenAI's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048), regex(pattern = r"^https?://"))]
    pub base_url: Option<String>,
    /// The model that writes summaries (default `gpt-4o-mini`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub model: Option<String>,
}

/// Replicas and resources of each component.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.worker) || !has(self.worker.autoscaling)").message("the worker scales with spec.worker.autoscaling (on the order queue through KEDA, or on CPU)"))]
pub struct Components {
    #[serde(default)]
    pub users: ComponentSpec,
    #[serde(default)]
    pub catalog: ComponentSpec,
    #[serde(default)]
    pub inventory: ComponentSpec,
    #[serde(default)]
    pub orders: ComponentSpec,
    /// Replicas are ignored while `worker.autoscaling` is set: the autoscaler owns them.
    #[serde(default)]
    pub worker: ComponentSpec,
    #[serde(default)]
    pub notifications: ComponentSpec,
    /// The web shop's files (`bookstore storefront`), which the Ingress serves at `/`.
    #[serde(default)]
    pub storefront: ComponentSpec,
}

/// One component's Deployment.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Pods of the component; 0 stops it.
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 1000))]
    pub replicas: i32,
    /// Requests and limits of its container (default: 100m CPU and 128Mi requested, 512Mi limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// More environment variables of this component, after the Bookstore's `env`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Sources of environment variables of this component, after the Bookstore's `envFrom`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_from: Vec<EnvFromSource>,
    /// Scale the component on CPU with a HorizontalPodAutoscaler, which then owns its replica
    /// count (`replicas` is only the count it starts from). The worker scales with
    /// `worker.autoscaling` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<CpuAutoscaling>,
    /// Where and how its pods run; each field given here replaces the Bookstore's `pod`
    /// field of the same name (annotations are merged).
    #[serde(flatten)]
    pub pod: PodOptions,
}

/// Bounds and target of a HorizontalPodAutoscaler on CPU.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas must not be greater than maxReplicas"))]
pub struct CpuAutoscaling {
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1000))]
    pub min_replicas: i32,
    #[schemars(range(min = 1, max = 1000))]
    pub max_replicas: i32,
    /// Average CPU use, in percent of the requested CPU, that the autoscaler aims at.
    #[serde(default = "default_cpu_target")]
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization: i32,
}

impl Default for ComponentSpec {
    fn default() -> Self {
        Self {
            replicas: one(),
            autoscaling: None,
            resources: None,
            env: Vec::new(),
            env_from: Vec::new(),
            pod: PodOptions::default(),
        }
    }
}

/// The schema of a large Kubernetes structure (an affinity, a spread constraint), which the API
/// server checks when the operator applies the pods that use it. Its full schema, repeated for
/// the Bookstore and each component, would take the CRD past the 256 KiB that a client-side
/// `kubectl apply` can keep in its annotation.
fn kubernetes_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// A list of [`kubernetes_object`]s.
fn kubernetes_objects(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
    })
}

/// `own` unless it is empty, else `base`.
fn own_or_base<T: Clone>(own: &[T], base: &[T]) -> Vec<T> {
    if own.is_empty() { base } else { own }.to_vec()
}

/// Where and how pods run.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodOptions {
    /// Annotations of the pods (e.g. for a service mesh or a log shipper).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,
    /// Nodes the pods may run on, by label.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
    /// Affinity rules of the pods (a Kubernetes `Affinity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "kubernetes_object")]
    pub affinity: Option<Affinity>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
    /// Spread constraints of a component's pods, instead of the default: over nodes, then
    /// zones, never refusing to schedule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "kubernetes_objects")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    /// The service account the pods run as (default: the namespace's `default`). The
    /// components never call the Kubernetes API, so its token is not mounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub service_account_name: Option<String>,
}

impl PodOptions {
    /// These options with each field that `over` sets taken from it; annotations are merged,
    /// `over`'s winning.
    pub fn overlaid(&self, over: &PodOptions) -> PodOptions {
        let mut pod_annotations = self.pod_annotations.clone();
        pod_annotations.extend(over.pod_annotations.clone());
        PodOptions {
            pod_annotations,
            node_selector: if over.node_selector.is_empty() {
                self.node_selector.clone()
            } else {
                over.node_selector.clone()
            },
            affinity: over.affinity.clone().or_else(|| self.affinity.clone()),
            tolerations: own_or_base(&over.tolerations, &self.tolerations),
            topology_spread_constraints: own_or_base(
                &over.topology_spread_constraints,
                &self.topology_spread_constraints,
            ),
            service_account_name: over
                .service_account_name
                .clone()
                .or_else(|| self.service_account_name.clone()),
        }
    }
}

fn one() -> i32 {
    1
}

/// The order worker.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSpec {
    /// Scale the worker automatically; without it, `components.worker.replicas` pods run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<WorkerAutoscaling>,
}

/// Bounds and targets of the worker's autoscaler: a KEDA ScaledObject on the depth of the order
/// queue when the cluster serves KEDA (unless `keda.enabled` is false), otherwise a
/// HorizontalPodAutoscaler on CPU. The worker does little computing of its own (it waits on the
/// services), so its CPU rarely shows how far behind it is; the queue does.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerAutoscaling {
    /// The bounds, and the CPU target of the HPA (or of the ScaledObject's CPU trigger).
    #[serde(flatten)]
    pub cpu: CpuAutoscaling,
    /// Scaling on the number of orders waiting in the queue, through KEDA.
    #[serde(default)]
    pub keda: KedaSpec,
}

fn default_cpu_target() -> i32 {
    70
}

/// Queue-depth scaling through KEDA's RabbitMQ scaler.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KedaSpec {
    /// Use KEDA when the cluster serves its ScaledObjects (the default); false: always a
    /// HorizontalPodAutoscaler on CPU.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Messages waiting in the order queue per worker replica that KEDA aims at.
    #[serde(default = "default_queue_length")]
    #[schemars(range(min = 1, max = 100000))]
    pub queue_length: i32,
    /// Seconds between two looks at the queue.
    #[serde(default = "default_polling_interval")]
    #[schemars(range(min = 1, max = 3600))]
    pub polling_interval_seconds: i32,
    /// Seconds to wait after the last activity before scaling down to the minimum.
    #[serde(default = "default_cooldown")]
    #[schemars(range(min = 0, max = 86400))]
    pub cooldown_period_seconds: i32,
}

impl Default for KedaSpec {
    fn default() -> Self {
        Self {
            enabled: true,
            queue_length: default_queue_length(),
            polling_interval_seconds: default_polling_interval(),
            cooldown_period_seconds: default_cooldown(),
        }
    }
}

fn yes() -> bool {
    true
}

fn default_queue_length() -> i32 {
    50
}

fn default_polling_interval() -> i32 {
    15
}

fn default_cooldown() -> i32 {
    300
}

/// What the operator observed and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookstoreStatus {
    /// The `metadata.generation` the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready, Progressing, MigrationFailed and Degraded.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The version whose migration succeeded and which the Deployments run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
    /// The image reference the Deployments run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_image: Option<String>,
    /// What scales the worker: HorizontalPodAutoscaler, ScaledObject, or nothing (absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler: Option<Autoscaler>,
    /// The other components a HorizontalPodAutoscaler scales, as last applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cpu_autoscaled: Vec<String>,
    /// The Job that loaded (or is loading) the sample catalogue, made once per installation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_catalogue_job: Option<String>,
}

/// The kind of object that scales the worker.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Autoscaler {
    HorizontalPodAutoscaler,
    ScaledObject,
}

/// The bookstore's components, each a Deployment and a Service running `bookstore <name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Component {
    Users,
    Catalog,
    Inventory,
    Orders,
    Worker,
    Notifications,
    Storefront,
}

impl Component {
    pub const ALL: [Component; 7] = [
        Self::Users,
        Self::Catalog,
        Self::Inventory,
        Self::Orders,
        Self::Worker,
        Self::Notifications,
        Self::Storefront,
    ];

    /// The subcommand of `bookstore`, also the suffix of its objects' names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Catalog => "catalog",
            Self::Inventory => "inventory",
            Self::Orders => "orders",
            Self::Worker => "worker",
            Self::Notifications => "notifications",
            Self::Storefront => "storefront",
        }
    }

    /// How the component scales on CPU, if it does: its own `autoscaling`, or the worker's
    /// bounds (whose autoscaler may also be KEDA's).
    pub fn cpu_autoscaling(self, spec: &BookstoreSpec) -> Option<CpuAutoscaling> {
        match self {
            Self::Worker => spec.worker.autoscaling.as_ref().map(|a| a.cpu.clone()),
            _ => self.spec(&spec.components).autoscaling.clone(),
        }
    }

    pub fn spec(self, components: &Components) -> &ComponentSpec {
        match self {
            Self::Users => &components.users,
            Self::Catalog => &components.catalog,
            Self::Inventory => &components.inventory,
            Self::Orders => &components.orders,
            Self::Worker => &components.worker,
            Self::Notifications => &components.notifications,
            Self::Storefront => &components.storefront,
        }
    }
}

impl Bookstore {
    /// The image reference of the version asked for.
    pub fn target_image(&self) -> String {
        format!("{}:{}", self.spec.image, self.spec.version)
    }
}

/// The CustomResourceDefinition as YAML, with the header of a generated file.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    let body = serde_yaml::to_string(&Bookstore::crd())?;
    Ok(format!(
        "# Generated from services/operator/src/crd.rs by `cargo xtask codegen`; do not edit.\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> serde_json::Value {
        let crd = serde_json::to_value(Bookstore::crd()).unwrap();
        crd["spec"]["versions"][0].clone()
    }

    #[test]
    fn the_crd_is_namespaced_v1alpha1_with_a_status_subresource_and_printer_columns() {
        let crd = serde_json::to_value(Bookstore::crd()).unwrap();
        assert_eq!(crd["metadata"]["name"], "bookstores.bookstore.dev");
        assert_eq!(crd["spec"]["scope"], "Namespaced");
        let version = schema();
        assert_eq!(version["name"], "v1alpha1");
        assert!(version["subresources"]["status"].is_object());
        let columns: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(columns, ["Version", "Running", "Ready", "Age"]);
    }

    #[test]
    fn the_schema_validates_replicas_image_and_autoscaling_bounds() {
        let spec = &schema()["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["properties"]["image"]["minLength"], 1);
        let replicas =
            &spec["properties"]["components"]["properties"]["worker"]["properties"]["replicas"];
        assert_eq!(replicas["minimum"].as_f64(), Some(0.0));
        let autoscaling = &spec["properties"]["worker"]["properties"]["autoscaling"];
        assert_eq!(
            autoscaling["x-kubernetes-validations"][0]["rule"],
            "self.minReplicas <= self.maxReplicas"
        );
        let required: Vec<&str> = spec["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        for field in [
            "image",
            "version",
            "database",
            "broker",
            "jwt",
            "serviceToken",
        ] {
            assert!(required.contains(&field), "{field} is not required");
        }
        let root = &schema()["schema"]["openAPIV3Schema"];
        assert!(
            root["x-kubernetes-validations"][0]["rule"]
                .as_str()
                .unwrap()
                .contains(&MAX_NAME_LENGTH.to_string())
        );
    }

    #[test]
    fn the_crd_fits_the_annotation_a_client_side_apply_keeps() {
        // `kubectl apply` (and GitOps tools applying client-side) store the whole object in an
        // annotation of at most 256 KiB.
        let bytes = serde_json::to_vec(&Bookstore::crd()).unwrap().len();
        assert!(bytes < 200 * 1024, "the CRD has {bytes} bytes");
    }

    #[test]
    fn a_minimal_spec_gets_defaults() {
        let spec: BookstoreSpec = serde_json::from_value(serde_json::json!({
            "image": "bookstore",
            "version": "1.0.0",
            "database": {"name": "db"},
            "broker": {"secretRef": {"name": "amqp"}},
            "jwt": {"secretName": "jwt"},
            "serviceToken": {"name": "token"},
        }))
        .unwrap();
        assert_eq!(spec.components.orders.replicas, 1);
        assert_eq!(spec.jwt.private_key_key, "private.pem");
        assert_eq!(spec.log, "info");
        assert!(spec.worker.autoscaling.is_none());
    }
}
