//! The reconcile loop: `reconcile` applies a Bookstore's desired objects with server-side
//! apply, gates each new version on its migration Job, picks the worker's autoscaler, and
//! writes the status; `error_policy` backs off per object; `run` wires the controller.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Error;
use crate::crd::{Autoscaler, Bookstore, BookstoreStatus, Component};
use crate::metrics::Metrics;
use crate::resources::{self, KEDA_API_VERSION};
use crate::status::{self, Migration, Observed, Rollout};

/// The field manager of every apply, and the name events are reported under.
pub const MANAGER: &str = "bookstore-operator";
/// The field manager that keeps the worker's replica count while an autoscaler takes it over.
pub const REPLICAS_HANDOVER: &str = "bookstore-operator-replicas-handover";

/// Longest wait between retries of a Bookstore whose reconciliation keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// How soon to look again while a migration or rollout is under way (the watches on owned
/// objects usually trigger sooner).
const WHILE_PROGRESSING: Duration = Duration::from_secs(30);
/// How often a settled Bookstore is reconciled anyway, to repair drift nobody announced.
const WHEN_SETTLED: Duration = Duration::from_secs(300);

/// What every reconciliation shares.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// Consecutive failures per Bookstore, for the back-off of `error_policy`.
    failures: Mutex<HashMap<ObjectRef<Bookstore>, u32>>,
}

impl Context {
    pub fn new(client: Client, metrics: Metrics, instance: Option<String>) -> Self {
        let reporter = Reporter {
            controller: MANAGER.to_owned(),
            instance,
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef<Bookstore>, u32>> {
        // A panic while holding the lock leaves a plain map behind; keep using it.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Reconciles one Bookstore: see the module documentation and docs/operator.md.
#[tracing::instrument(skip_all, fields(bookstore = %bookstore.name_any(), namespace = ?bookstore.namespace()))]
pub async fn reconcile(bookstore: Arc<Bookstore>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile_started();
    if bookstore.meta().deletion_timestamp.is_some() {
        // Every object the operator made has the Bookstore as its controlling owner, so the
        // garbage collector removes them; there is nothing outside the cluster to clean up
        // (the database and the broker outlive an installation on purpose), hence no finalizer.
        return Ok(Action::await_change());
    }
    match Reconciler::new(&bookstore, &ctx)?.run().await {
        Ok(action) => {
            ctx.failures()
                .remove(&ObjectRef::from_obj(bookstore.as_ref()));
            Ok(action)
        }
        Err(error) => {
            report_failure(&bookstore, &ctx, &error).await;
            Err(error)
        }
    }
}

/// Shows a failed pass where people and alerts look: the `ReconcileFailed` condition (for the
/// generation it tried), `observedGeneration`, and a Warning event when the failure is new.
/// Best effort: with the API server unreachable neither can be written, and the log and
/// `bookstore_operator_reconcile_errors_total` say it instead.
async fn report_failure(bookstore: &Bookstore, ctx: &Context, error: &Error) {
    let (Some(namespace), name) = (bookstore.namespace(), bookstore.name_any()) else {
        return;
    };
    let previous = bookstore.status.clone().unwrap_or_default();
    let message = error.to_string();
    let conditions = status::failed_pass(
        &previous.conditions,
        bookstore.metadata.generation,
        error.reason(),
        &message,
        Time(Timestamp::now()),
    );
    ctx.metrics.conditions(&namespace, &name, &conditions);
    let repeated = previous
        .conditions
        .iter()
        .any(|c| c.type_ == status::RECONCILE_FAILED && c.status == "True" && c.message == message);
    let status = BookstoreStatus {
        observed_generation: bookstore.metadata.generation,
        conditions,
        ..previous
    };
    let api: Api<Bookstore> = Api::namespaced(ctx.client.clone(), &namespace);
    if let Err(err) = write_status(&api, bookstore, &status).await {
        tracing::warn!(error = %err, "Cannot record the failed reconciliation in the status.");
    }
    if repeated {
        return;
    }
    let event = Event {
        type_: EventType::Warning,
        reason: status::RECONCILE_FAILED.to_owned(),
        note: Some(message),
        action: "Reconcile".to_owned(),
        secondary: None,
    };
    if let Err(err) = ctx
        .recorder
        .publish(&event, &bookstore.object_ref(&()))
        .await
    {
        tracing::warn!(error = %err, "Cannot publish the event of a failed reconciliation.");
    }
}

/// Writes a Bookstore's whole status (server-side apply: the fields left out would be dropped).
async fn write_status(
    api: &Api<Bookstore>,
    bookstore: &Bookstore,
    status: &BookstoreStatus,
) -> Result<(), Error> {
    let body = json!({
        "apiVersion": Bookstore::api_version(&()),
        "kind": Bookstore::kind(&()),
        "status": status,
    });
    api.patch_status(
        &bookstore.name_any(),
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map_err(Error::Kube)?;
    Ok(())
}

/// Retries a failed reconciliation after 5 s, doubling per consecutive failure up to 5 min.
pub fn error_policy(bookstore: Arc<Bookstore>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.reconcile_failed(error);
    let failures = {
        let mut failures = ctx.failures();
        let count = failures
            .entry(ObjectRef::from_obj(bookstore.as_ref()))
            .or_insert(0);
        *count = count.saturating_add(1);
        *count
    };
    let delay = backoff(failures);
    tracing::warn!(bookstore = %bookstore.name_any(), error = %error, failures, retry_in_s = delay.as_secs(), "Reconciliation failed.");
    Action::requeue(delay)
}

/// The wait after `failures` consecutive failures.
pub fn backoff(failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(16);
    (Duration::from_secs(5) * 2u32.pow(exponent)).min(MAX_BACKOFF)
}

/// One reconciliation of one Bookstore.
struct Reconciler<'a> {
    bookstore: &'a Bookstore,
    ctx: &'a Context,
    namespace: String,
    owner: k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference,
    previous: BookstoreStatus,
    events: Vec<Event>,
}

fn keda_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("keda.sh", "v1alpha1", kind), plural)
}

impl<'a> Reconciler<'a> {
    fn new(bookstore: &'a Bookstore, ctx: &'a Context) -> Result<Self, Error> {
        let namespace = bookstore.namespace().ok_or(Error::NotNamespaced)?;
        let owner = bookstore
            .controller_owner_ref(&())
            .ok_or(Error::NotNamespaced)?;
        Ok(Self {
            bookstore,
            ctx,
            namespace,
            owner,
            previous: bookstore.status.clone().unwrap_or_default(),
            events: Vec::new(),
        })
    }

    fn api<K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>>(
        &self,
    ) -> Api<K> {
        Api::namespaced(self.ctx.client.clone(), &self.namespace)
    }

    fn keda_api(&self, kind: &str, plural: &str) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.ctx.client.clone(),
            &self.namespace,
            &keda_resource(kind, plural),
        )
    }

    fn event(&mut self, type_: EventType, reason: &str, note: String) {
        self.events.push(Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: "Reconcile".to_owned(),
            secondary: None,
        });
    }

    async fn run(mut self) -> Result<Action, Error> {
        let bookstore = self.bookstore;
        let owner = self.owner.clone();
        let target = bookstore.target_image();
        let autoscaler = self.autoscaler().await?;

        // What any version can share: configuration, Services, disruption budgets.
        let config = resources::config_map(bookstore, &owner);
        let config_hash = resources::digest(&config.data);
        apply(&self.api::<ConfigMap>(), &config).await?;
        for component in Component::ALL {
            apply(
                &self.api::<Service>(),
                &resources::service(bookstore, &owner, component),
            )
            .await?;
            apply(
                &self.api::<PodDisruptionBudget>(),
                &resources::pod_disruption_budget(bookstore, &owner, component),
            )
            .await?;
        }

        // A new version runs its migration first; until it succeeds, the Deployments keep the
        // image they run (none on a first install).
        let migration = if self.previous.current_image.as_deref() == Some(target.as_str()) {
            Migration::Done
        } else {
            let job = apply(
                &self.api::<Job>(),
                &resources::migration_job(bookstore, &owner, &target),
            )
            .await?;
            Migration::of_job(&job)
        };
        self.migration_events(&migration);
        let (image, current_version) = if migration.is_done() {
            (Some(target.clone()), Some(bookstore.spec.version.clone()))
        } else {
            (
                self.previous.current_image.clone(),
                self.previous.current_version.clone(),
            )
        };
        let mut rollouts = Vec::new();
        let mut scaled_by = self.previous.autoscaler;
        let mut cpu_autoscaled = self.previous.cpu_autoscaled.clone();
        if let Some(image) = &image {
            let secrets = self.secret_digests().await?;
            // First, so that no HPA resizes a Deployment the operator sizes again.
            self.delete_unwanted_component_autoscalers().await?;
            for component in Component::ALL {
                if self.newly_autoscaled(component, autoscaler)
                    && self.owns_replicas(component).await?
                {
                    self.hand_over_replicas(component).await?;
                }
                let hashes = resources::TemplateHashes {
                    config: config_hash.clone(),
                    secrets: resources::digest(
                        &resources::secret_names(bookstore, component)
                            .iter()
                            .map(|name| (name, secrets.get(name)))
                            .collect::<BTreeMap<_, _>>(),
                    ),
                };
                let deployment =
                    resources::deployment(bookstore, &owner, component, image, &hashes);
                let applied = apply(&self.api::<Deployment>(), &deployment).await?;
                rollouts.push((component.name(), Rollout::of_deployment(&applied)));
            }
            self.apply_autoscaler(autoscaler).await?;
            scaled_by = autoscaler;
            cpu_autoscaled = self.apply_component_autoscalers().await?;
        }
        let sample_catalogue_job = match (&image, &self.previous.sample_catalogue_job) {
            (Some(image), None) if bookstore.spec.sample_catalogue => {
                Some(self.load_sample_catalogue(image).await?)
            }
            (_, previous) => previous.clone(),
        };

        let conditions = status::conditions(
            &Observed {
                generation: bookstore.metadata.generation,
                version: &bookstore.spec.version,
                migration: &migration,
                rollouts: &rollouts,
            },
            &self.previous.conditions,
            Time(Timestamp::now()),
        );
        self.condition_events(&conditions);
        let settled = status::is_true(&conditions, status::READY);
        let status = BookstoreStatus {
            observed_generation: bookstore.metadata.generation,
            conditions,
            current_version,
            current_image: image,
            autoscaler: scaled_by,
            cpu_autoscaled,
            sample_catalogue_job,
        };
        self.ctx
            .metrics
            .conditions(&self.namespace, &bookstore.name_any(), &status.conditions);
        write_status(&self.api(), bookstore, &status).await?;

        // Events are for people reading `kubectl describe`; losing one must not fail the pass.
        let reference = bookstore.object_ref(&());
        for event in &self.events {
            if let Err(err) = self.ctx.recorder.publish(event, &reference).await {
                tracing::warn!(error = %err, reason = %event.reason, "Cannot publish an event.");
            }
        }
        Ok(Action::requeue(if settled {
            WHEN_SETTLED
        } else {
            WHILE_PROGRESSING
        }))
    }

    /// What scales the worker: nothing without `worker.autoscaling`; KEDA when asked for and
    /// its API is served; otherwise a HorizontalPodAutoscaler on CPU.
    async fn autoscaler(&mut self) -> Result<Option<Autoscaler>, Error> {
        let Some(autoscaling) = &self.bookstore.spec.worker.autoscaling else {
            return Ok(None);
        };
        if !autoscaling.keda.enabled {
            return Ok(Some(Autoscaler::HorizontalPodAutoscaler));
        }
        if keda_installed(&self.ctx.client).await? {
            return Ok(Some(Autoscaler::ScaledObject));
        }
        if self.previous.autoscaler != Some(Autoscaler::HorizontalPodAutoscaler) {
            self.event(
                EventType::Warning,
                "KedaNotInstalled",
                format!("{KEDA_API_VERSION} ScaledObjects are not served by this cluster; scaling the worker on CPU instead"),
            );
        }
        Ok(Some(Autoscaler::HorizontalPodAutoscaler))
    }

    /// Starts the Job that loads the sample catalogue into the migrated schema (once: the
    /// status keeps its name; the command itself leaves a catalogue with books alone).
    async fn load_sample_catalogue(&mut self, image: &str) -> Result<String, Error> {
        let job = resources::sample_catalogue_job(self.bookstore, &self.owner, image);
        let applied = apply(&self.api::<Job>(), &job).await?;
        let name = applied.name_any();
        self.event(
            EventType::Normal,
            "SampleCatalogueLoading",
            format!("the Job {name} loads the sample catalogue if the catalogue is empty"),
        );
        Ok(name)
    }

    /// Whether an autoscaler takes `component`'s replicas over in this pass: the worker's
    /// (of whatever kind) or a component's HPA, where none did before.
    fn newly_autoscaled(&self, component: Component, worker: Option<Autoscaler>) -> bool {
        match component {
            Component::Worker => worker.is_some() && self.previous.autoscaler.is_none(),
            _ => {
                component.cpu_autoscaling(&self.bookstore.spec).is_some()
                    && !self.was_cpu_autoscaled(component)
            }
        }
    }

    /// Whether the last pass applied an HPA for `component` (not the worker).
    fn was_cpu_autoscaled(&self, component: Component) -> bool {
        self.previous
            .cpu_autoscaled
            .iter()
            .any(|c| c == component.name())
    }

    /// Whether `component`'s Deployment exists and the operator's apply still owns its
    /// `spec.replicas`: then leaving the field out would remove it. A Deployment about to be
    /// made has no count to keep (and a server-side apply of the count alone would try to make
    /// it, without a template); one whose count was handed over already, or that the autoscaler
    /// set, is not the operator's any more.
    async fn owns_replicas(&self, component: Component) -> Result<bool, Error> {
        let name = resources::object_name(self.bookstore, component.name());
        let api: Api<Deployment> = self.api();
        let Some(live) = api.get_opt(&name).await.map_err(Error::Kube)? else {
            return Ok(false);
        };
        let managed = live.metadata.managed_fields.unwrap_or_default();
        Ok(managed.iter().any(|entry| {
            entry.manager.as_deref() == Some(MANAGER)
                && entry
                    .fields_v1
                    .as_ref()
                    .is_some_and(|fields| fields.0["f:spec"]["f:replicas"].is_object())
        }))
    }

    /// Gives a component's replica count to a field manager of its own before the operator's
    /// apply leaves it out for an autoscaler: a server-side apply that drops a field its manager
    /// owned removes it, and the Deployment would fall to one replica until the autoscaler
    /// scaled it up again. The count stays as configured until the autoscaler sets its own
    /// (Kubernetes' documented way to hand a field over).
    async fn hand_over_replicas(&self, component: Component) -> Result<(), Error> {
        let name = resources::object_name(self.bookstore, component.name());
        let replicas = component.spec(&self.bookstore.spec.components).replicas;
        let body = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas},
        });
        let api: Api<Deployment> = self.api();
        api.patch(
            &name,
            &PatchParams::apply(REPLICAS_HANDOVER).force(),
            &Patch::Apply(&body),
        )
        .await
        .map_err(Error::Kube)?;
        Ok(())
    }

    /// Reads the Secrets the components read, for the hashes that roll their pods when one
    /// changes: the digest of each one's data, none for a Secret that does not exist (yet).
    async fn secret_digests(&self) -> Result<BTreeMap<String, String>, Error> {
        let names: BTreeSet<String> = Component::ALL
            .iter()
            .flat_map(|component| resources::secret_names(self.bookstore, *component))
            .collect();
        let api: Api<Secret> = self.api();
        let mut digests = BTreeMap::new();
        for name in names {
            if let Some(secret) = api.get_opt(&name).await.map_err(Error::Kube)? {
                digests.insert(name, resources::digest(&secret.data));
            }
        }
        Ok(digests)
    }

    /// Deletes the HorizontalPodAutoscaler of each component (other than the worker) that had
    /// one and asks for none any more.
    async fn delete_unwanted_component_autoscalers(&self) -> Result<(), Error> {
        let api = self.api::<HorizontalPodAutoscaler>();
        for component in Component::ALL {
            if component != Component::Worker
                && self.was_cpu_autoscaled(component)
                && component.cpu_autoscaling(&self.bookstore.spec).is_none()
            {
                delete(
                    &api,
                    &resources::object_name(self.bookstore, component.name()),
                )
                .await?;
            }
        }
        Ok(())
    }

    /// Applies the HorizontalPodAutoscaler of each component (other than the worker) that asks
    /// for one; returns those components.
    async fn apply_component_autoscalers(&self) -> Result<Vec<String>, Error> {
        let api = self.api::<HorizontalPodAutoscaler>();
        let mut scaled = Vec::new();
        for component in Component::ALL {
            if component == Component::Worker {
                continue;
            }
            if let Some(hpa) =
                resources::horizontal_pod_autoscaler(self.bookstore, &self.owner, component)
            {
                apply(&api, &hpa).await?;
                scaled.push(component.name().to_owned());
            }
        }
        Ok(scaled)
    }

    /// Deletes the worker's autoscaler it replaces, then applies the new one. In that order:
    /// KEDA's admission webhook refuses a ScaledObject whose target already has an HPA.
    async fn apply_autoscaler(&self, autoscaler: Option<Autoscaler>) -> Result<(), Error> {
        let bookstore = self.bookstore;
        // Only the kind recorded as applied last is deleted, so a steady state costs no
        // requests; a delete of something already gone is fine.
        let worker = resources::object_name(bookstore, Component::Worker.name());
        match self.previous.autoscaler {
            Some(previous) if Some(previous) != autoscaler => match previous {
                Autoscaler::HorizontalPodAutoscaler => {
                    delete(&self.api::<HorizontalPodAutoscaler>(), &worker).await?;
                }
                Autoscaler::ScaledObject => {
                    delete(&self.keda_api("ScaledObject", "scaledobjects"), &worker).await?;
                    delete(
                        &self.keda_api("TriggerAuthentication", "triggerauthentications"),
                        &resources::object_name(bookstore, "worker-broker"),
                    )
                    .await?;
                }
            },
            _ => {}
        }
        match autoscaler {
            Some(Autoscaler::HorizontalPodAutoscaler) => {
                if let Some(hpa) =
                    resources::horizontal_pod_autoscaler(bookstore, &self.owner, Component::Worker)
                {
                    apply(&self.api::<HorizontalPodAutoscaler>(), &hpa).await?;
                }
            }
            Some(Autoscaler::ScaledObject) => {
                let authentication = resources::keda_trigger_authentication(bookstore, &self.owner);
                apply_value(
                    &self.keda_api("TriggerAuthentication", "triggerauthentications"),
                    &authentication,
                )
                .await?;
                if let Some(scaled) = resources::keda_scaled_object(bookstore, &self.owner) {
                    apply_value(&self.keda_api("ScaledObject", "scaledobjects"), &scaled).await?;
                }
            }
            None => {}
        }
        Ok(())
    }

    fn migration_events(&mut self, migration: &Migration) {
        let version = self.bookstore.spec.version.clone();
        let was_running = self
            .previous
            .conditions
            .iter()
            .any(|c| c.type_ == status::PROGRESSING && c.reason == "MigrationRunning");
        match migration {
            Migration::Running { job } if !was_running => self.event(
                EventType::Normal,
                "MigrationStarted",
                format!("running the migration Job {job} of version {version}"),
            ),
            Migration::Succeeded => self.event(
                EventType::Normal,
                "MigrationSucceeded",
                format!("version {version} migrated; rolling out"),
            ),
            _ => {}
        }
    }

    /// Warning events when a failure appears, a Normal one when the installation becomes Ready.
    fn condition_events(
        &mut self,
        conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    ) {
        for condition in conditions {
            let was_true = status::is_true(&self.previous.conditions, &condition.type_);
            if condition.status != "True" || was_true {
                continue;
            }
            let type_ = match condition.type_.as_str() {
                status::MIGRATION_FAILED | status::DEGRADED => EventType::Warning,
                status::READY => EventType::Normal,
                _ => continue,
            };
            let (reason, message) = (condition.type_.clone(), condition.message.clone());
            self.event(type_, &reason, message);
        }
    }
}

/// Whether the cluster serves KEDA's ScaledObjects (its CRD is installed), by API discovery,
/// which every authenticated client may read.
pub async fn keda_installed(client: &Client) -> Result<bool, Error> {
    match client.list_api_group_resources(KEDA_API_VERSION).await {
        Ok(list) => Ok(list.resources.iter().any(|r| r.name == "scaledobjects")),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(false),
        Err(err) => Err(Error::Kube(err)),
    }
}

/// Server-side apply of one object, as its only manager (`force`): returns the object as the
/// API server stored it, status included.
async fn apply<K>(api: &Api<K>, object: &K) -> Result<K, Error>
where
    K: Resource + Serialize + DeserializeOwned + Clone + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    server_side_apply(api, &name, object).await
}

/// [`apply`] for an object of a kind known only at run time (KEDA's), given as JSON.
async fn apply_value(
    api: &Api<DynamicObject>,
    object: &serde_json::Value,
) -> Result<DynamicObject, Error> {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    server_side_apply(api, name, object).await
}

async fn server_side_apply<K, P>(api: &Api<K>, name: &str, object: &P) -> Result<K, Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
    P: Serialize + std::fmt::Debug,
{
    api.patch(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(object),
    )
    .await
    .map_err(Error::Kube)
}

async fn delete<K>(api: &Api<K>, name: &str) -> Result<(), Error>
where
    K: Resource + DeserializeOwned + Clone + std::fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        Err(err) => Err(Error::Kube(err)),
    }
}

/// Runs the controller until `shutdown` completes: watches Bookstores (in `namespace`, or every
/// namespace) and the objects they own, so a change to either triggers a reconciliation.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let (bookstores, owned) = match namespace {
        Some(ns) => (
            Api::<Bookstore>::namespaced(client.clone(), ns),
            Some(ns.to_owned()),
        ),
        None => (Api::<Bookstore>::all(client.clone()), None),
    };
    fn owned_api<K>(client: &Client, ns: &Option<String>) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
    {
        match ns {
            Some(ns) => Api::namespaced(client.clone(), ns),
            None => Api::all(client.clone()),
        }
    }
    // Only the operator's objects are watched, which keeps the caches small.
    let managed =
        watcher::Config::default().labels("app.kubernetes.io/managed-by=bookstore-operator");
    let controller = Controller::new(bookstores, watcher::Config::default());
    let store = controller.store();
    controller
        .owns(owned_api::<Deployment>(&client, &owned), managed.clone())
        .owns(owned_api::<Job>(&client, &owned), managed.clone())
        .owns(owned_api::<Service>(&client, &owned), managed.clone())
        .owns(owned_api::<ConfigMap>(&client, &owned), managed.clone())
        .owns(
            owned_api::<PodDisruptionBudget>(&client, &owned),
            managed.clone(),
        )
        .owns(
            owned_api::<HorizontalPodAutoscaler>(&client, &owned),
            managed,
        )
        // A changed Secret rolls the pods that read it (their template carries its hash), so a
        // change triggers the Bookstores that use it. Helm's release records are left out.
        .watches(
            owned_api::<Secret>(&client, &owned),
            watcher::Config::default().fields("type!=helm.sh/release.v1"),
            move |secret: Secret| {
                let name = secret.name_any();
                store
                    .state()
                    .into_iter()
                    .filter(|bookstore| {
                        bookstore.namespace() == secret.namespace()
                            && resources::reads_secret(bookstore, &name)
                    })
                    .map(|bookstore| ObjectRef::from_obj(bookstore.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(bookstore = %object.name, "Reconciled."),
                Err(err) => tracing::debug!(error = %err, "Reconciliation not done."),
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(4), Duration::from_secs(40));
        assert_eq!(backoff(7), Duration::from_secs(300));
        assert_eq!(backoff(u32::MAX), Duration::from_secs(300));
    }
}
