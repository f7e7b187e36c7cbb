//! The Kubernetes operator of the bookstore (`bookstore operator`): reconciles the namespaced
//! `Bookstore` custom resource into the objects that run the shop. docs/operator.md explains
//! the reconcile loop and what it owns.

pub mod controller;
pub mod crd;
pub mod metrics;
pub mod rbac;
pub mod resources;
pub mod status;

use std::sync::Arc;

use anyhow::Context as _;
use platform::config::ServeSettings;
use platform::http::HttpContext;
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

/// How `bookstore operator` runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub serve: ServeSettings,
    /// Watch Bookstores of this namespace only (with a namespaced RoleBinding); all otherwise.
    pub namespace: Option<String>,
    /// Name of this operator instance in events (the pod name).
    pub instance: Option<String>,
}

/// Runs the operator until SIGTERM or Ctrl-C: the controller, and the HTTP endpoints of its
/// health and metrics. It is deployed as a single replica with the `Recreate` strategy, so two
/// never reconcile at once (no leader election is needed).
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
    let app = platform::http::finish(axum::Router::new(), &http_ctx);
    tracing::info!(addr = ?listener.local_addr().ok(), namespace = ?settings.namespace, "Operator started.");
    let mut http_token = shutdown.clone();
    let server = platform::http::serve(
        listener,
        app,
        http_ctx.draining.clone(),
        settings.serve.drain_delay,
        settings.serve.connection_limits,
        async move { http_token.cancelled().await },
    );
    let mut controller_token = shutdown;
    let controller = controller::run(ctx, settings.namespace.as_deref(), async move {
        controller_token.cancelled().await;
    });
    let (served, ()) = tokio::join!(server, controller);
    served.context("the health and metrics server failed")?;
    tracing::info!("Operator stopped.");
    Ok(())
}
