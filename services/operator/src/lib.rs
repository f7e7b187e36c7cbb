//! The Kubernetes operator of the bookstore (`bookstore operator`): reconciles the namespaced
//! `Bookstore` custom resource into the objects that run the shop. docs/operator.md explains
//! the reconcile loop and what it owns.

pub mod controller;
pub mod crd;
pub mod leader;
pub mod metrics;
pub mod rbac;
pub mod resources;
pub mod status;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kube::api::{Api, ListParams};
use platform::config::ServeSettings;
use platform::http::HttpContext;
use platform::readiness::Gate;
use platform::shutdown::{ShutdownToken, shutdown_pair};

pub use controller::{Context, error_policy, reconcile};
pub use crd::{Bookstore, BookstoreSpec, BookstoreStatus};

/// Why a reconciliation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API request failed: {0}")]
    Kube(#[source] kube::Error),
    #[error("the Bookstore has no namespace or uid; it was not read from the API server")]
    NotNamespaced,
}

impl Error {
    /// The reason of the `ReconcileFailed` condition: what kind of failure, in CamelCase.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Kube(kube::Error::Api(status)) if status.is_conflict() => "ApplyConflict",
            Self::Kube(kube::Error::Api(status)) if status.code == 422 => "ObjectInvalid",
            Self::Kube(kube::Error::Api(status)) if status.is_forbidden() => "Forbidden",
            Self::Kube(kube::Error::Api(_)) => "ApiError",
            Self::Kube(_) => "ApiUnreachable",
            Self::NotNamespaced => "NotNamespaced",
        }
    }

    /// A label of bounded cardinality for the error metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kube(kube::Error::Api(status)) if status.is_conflict() => "conflict",
            Self::Kube(kube::Error::Api(status)) if status.code == 422 => "invalid",
            Self::Kube(kube::Error::Api(status)) if status.is_forbidden() => "forbidden",
            Self::Kube(kube::Error::Api(_)) => "api",
            Self::Kube(_) => "connection",
            Self::NotNamespaced => "not_namespaced",
        }
    }
}

/// How often the operator checks that it can read Bookstores (the API server answers and its
/// role allows it), for `/readyz`.
const API_CHECK_EVERY: Duration = Duration::from_secs(10);
/// How long the controller may take to stop after SIGTERM. A reconciliation waiting on an API
/// server that does not answer would otherwise hold the process for the client's time-outs
/// (minutes); stopping in the middle of one is safe, since the next operator applies everything
/// again.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// How `bookstore operator` runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub serve: ServeSettings,
    /// Watch Bookstores of this namespace only (with a namespaced RoleBinding); all otherwise.
    pub namespace: Option<String>,
    /// Name of this operator instance in events (the pod name).
    pub instance: Option<String>,
    /// Reconcile only while holding this Lease, so that several replicas are safe; without it
    /// the process reconciles from the start, and must be the only one.
    pub lease: Option<leader::LeaseSettings>,
}

/// Runs the operator until SIGTERM or Ctrl-C: the controller (once it leads, with a Lease), and
/// the HTTP endpoints of its health and metrics. After SIGTERM it stops within [`STOP_WITHIN`]
/// plus the drain delay, whatever the API server does. It fails when it loses the Lease, so
/// that its pod restarts as a candidate with empty caches.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let client = kube::Client::try_default()
        .await
        .context("cannot reach the Kubernetes API (in-cluster service account or kubeconfig)")?;
    let listener = tokio::net::TcpListener::bind(settings.serve.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (BOOKSTORE_LISTEN)",
                settings.serve.listen
            )
        })?;
    let (trigger, token) = shutdown_pair();
    tokio::spawn(async move {
        platform::shutdown::shutdown_signal().await;
        trigger.trigger();
    });
    serve(client, &settings, listener, token).await
}

/// Keeps `gate` open while Bookstores can be listed (in `namespace`, or in all namespaces): the
/// API server answers and the operator's role allows it. Until shutdown.
async fn watch_api(
    client: kube::Client,
    namespace: Option<String>,
    gate: Gate,
    mut shutdown: ShutdownToken,
) {
    let bookstores: Api<Bookstore> = match &namespace {
        Some(ns) => Api::namespaced(client, ns),
        None => Api::all(client),
    };
    loop {
        let answer = tokio::time::timeout(
            API_CHECK_EVERY,
            bookstores.list_metadata(&ListParams::default().limit(1)),
        )
        .await;
        match answer {
            Ok(Ok(_)) => {
                if !gate.is_open() {
                    tracing::info!("The Kubernetes API answers.");
                }
                gate.open();
            }
            Ok(Err(err)) => {
                if gate.is_open() {
                    tracing::warn!(error = %err, "Cannot list Bookstores: not ready.");
                }
                gate.close();
            }
            Err(_) => {
                if gate.is_open() {
                    tracing::warn!("The Kubernetes API does not answer: not ready.");
                }
                gate.close();
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(API_CHECK_EVERY) => {}
        }
    }
}

/// Runs the controller until `shutdown`, and at most [`STOP_WITHIN`] longer.
async fn reconcile_until(ctx: Arc<Context>, namespace: Option<String>, shutdown: ShutdownToken) {
    let (mut controller_token, mut stop_token) = (shutdown.clone(), shutdown);
    let running = controller::run(ctx, namespace.as_deref(), async move {
        controller_token.cancelled().await;
    });
    let overdue = async move {
        stop_token.cancelled().await;
        tokio::time::sleep(STOP_WITHIN).await;
    };
    tokio::select! {
        () = running => {}
        () = overdue => tracing::warn!(within = ?STOP_WITHIN, "The controller did not stop in time; stopping without it."),
    }
}

/// The operator on `client`, serving health and metrics on `listener`, until `shutdown`.
pub async fn serve(
    client: kube::Client,
    settings: &Settings,
    listener: tokio::net::TcpListener,
    shutdown: ShutdownToken,
) -> anyhow::Result<()> {
    let registry = platform::metrics::Metrics::new();
    let ctx = Arc::new(Context::new(
        client,
        metrics::Metrics::new(registry.clone()),
        settings.instance.clone(),
    ));
    let mut http_ctx = HttpContext::new(registry, Vec::new());
    http_ctx.request_timeout = settings.serve.request_timeout;
    let api_reachable = Gate::new("kubernetes-api");
    http_ctx.gates.push(api_reachable.clone());
    tokio::spawn(watch_api(
        ctx.client.clone(),
        settings.namespace.clone(),
        api_reachable,
        shutdown.clone(),
    ));
    let app = platform::http::finish(axum::Router::new(), &http_ctx);
    tracing::info!(addr = ?listener.local_addr().ok(), namespace = ?settings.namespace, "Operator started.");
    let mut http_token = shutdown.clone();
    // The HTTP server also stops when the controller ends on its own (the Lease was lost).
    let (stop_serving, mut serving_token) = shutdown_pair();
    let server = platform::http::serve(
        listener,
        app,
        http_ctx.draining.clone(),
        settings.serve.drain_delay,
        settings.serve.connection_limits,
        async move {
            tokio::select! {
                () = http_token.cancelled() => {}
                () = serving_token.cancelled() => {}
            }
        },
    );
    let metrics = ctx.metrics.clone();
    let mut elector = settings
        .lease
        .clone()
        .map(|lease| leader::Elector::new(ctx.client.clone(), lease));
    let mut candidate_token = shutdown.clone();
    let namespace = settings.namespace.clone();
    let controller = async move {
        if let Some(elector) = &mut elector
            && !elector.acquire(&mut candidate_token).await
        {
            return Ok(());
        }
        metrics.leading(true);
        let reconciling = reconcile_until(ctx, namespace, shutdown);
        let outcome = match &mut elector {
            Some(elector) => {
                let lost = tokio::select! {
                    () = reconciling => None,
                    lost = elector.keep() => Some(lost),
                };
                match lost {
                    None => {
                        // Bounded, so that an unreachable API server cannot hold the stop.
                        let _ = tokio::time::timeout(leader::RETRY_EVERY, elector.release()).await;
                        Ok(())
                    }
                    Some(lost) => Err(lost),
                }
            }
            None => {
                reconciling.await;
                Ok(())
            }
        };
        metrics.leading(false);
        outcome
    };
    let controller = async move {
        let outcome = controller.await;
        stop_serving.trigger();
        outcome
    };
    let (served, led) = tokio::join!(server, controller);
    served.context("the health and metrics server failed")?;
    led?;
    tracing::info!("Operator stopped.");
    Ok(())
}
