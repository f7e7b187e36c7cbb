//! What each command does: the processes (`serve`) and the one-shot tasks (`admin`), with the
//! pieces they share: database connection, schema check, background tasks and the HTTP server.

mod admin;
pub mod components;
pub mod operator;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use contracts::consumers::NOTIFICATIONS;
use migration::{Migrator, MigratorTrait};
use platform::auth::{EndedSessionsListener, TokenVerifier};
use platform::config::{DatabaseArgs, ServeSettings};
use platform::http::HttpContext;
use platform::messaging::topology::ENDED_SESSIONS;
use platform::messaging::{Bus, Handler, Listener};
use platform::metrics::Metrics;
use platform::outbox::{Outbox, OutboxMetrics};
use platform::readiness::Gate;
use platform::shutdown::{ShutdownToken, ShutdownTrigger, shutdown_pair};
use sea_orm::DatabaseConnection;
use socketioxide::layer::SocketIoLayer;
use tokio::task::JoinSet;

pub use admin::{admin, dlq, migrate, openapi};
pub use operator::operator;
pub use serve::{all, catalog, inventory, notifications, orders, storefront, users, worker};

fn api_error(err: platform::ApiError) -> anyhow::Error {
    let mut message = err.to_string();
    for (field, problems) in &err.errors {
        message.push_str(&format!("; {field}: {}", problems.join(", ")));
    }
    anyhow::anyhow!(message)
}

async fn connect(
    args: &DatabaseArgs,
    default: Option<String>,
) -> anyhow::Result<DatabaseConnection> {
    let url = args.url(default)?;
    platform::db::connect(&url, args.max_connections()?).await
}

/// Split components never migrate; they refuse to start on a schema that is behind.
async fn require_current_schema(db: &DatabaseConnection) -> anyhow::Result<()> {
    let pending: Vec<String> = Migrator::get_pending_migrations_read_only(db)
        .await
        .context("cannot read the migration status")?
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    if pending.is_empty() {
        Ok(())
    } else {
        anyhow::bail!(
            "the database schema is behind ({} pending: {}); run `bookstore migrate up` first",
            pending.len(),
            pending.join(", ")
        )
    }
}

/// How often connection pools are sampled for `/metrics`.
const POOL_SAMPLE_INTERVAL: Duration = Duration::from_secs(5);

/// The background tasks of a process (consumers, relays, the notification gateway's
/// subscription) and the shutdown they share. SIGTERM or Ctrl-C triggers it.
pub struct Background {
    trigger: ShutdownTrigger,
    token: ShutdownToken,
    tasks: JoinSet<()>,
    realtime: Option<Realtime>,
}

/// The notification gateway as the HTTP server needs it: the Socket.IO layer in front of the
/// routes, and the gate that keeps the process unready while its subscription is down.
struct Realtime {
    layer: SocketIoLayer,
    live: Gate,
}

impl Background {
    /// Starts listening for SIGTERM and Ctrl-C, so it needs a Tokio runtime (and is not a
    /// `Default`).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        let (trigger, token) = shutdown_pair();
        let on_signal = trigger.clone();
        tokio::spawn(async move {
            platform::shutdown::shutdown_signal().await;
            on_signal.trigger();
        });
        Self {
            trigger,
            token,
            tasks: JoinSet::new(),
            realtime: None,
        }
    }

    pub fn token(&self) -> ShutdownToken {
        self.token.clone()
    }

    pub fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Runs a consumer until shutdown; a consumer that stops on its own is logged.
    pub fn consume(
        &mut self,
        bus: Arc<dyn Bus>,
        consumer: &'static str,
        handler: Arc<dyn Handler>,
    ) {
        let token = self.token();
        self.spawn(async move {
            if let Err(err) = bus.consume(consumer, handler, token).await {
                tracing::error!(consumer, error = %err, "Consumer stopped.");
            }
        });
    }

    /// Runs the notification gateway: Socket.IO on the process's port, fed by a subscription of
    /// its own to status changes; sockets are closed at shutdown.
    fn notifications(
        &mut self,
        bus: Arc<dyn Bus>,
        verifier: Arc<TokenVerifier>,
        metrics: &Metrics,
    ) {
        let (layer, gateway) = notifications::Gateway::new(verifier, metrics);
        let live = Gate::new("subscription");
        let (handler, gate, token) = (gateway.clone(), live.clone(), self.token());
        self.spawn(async move {
            let bindings = notifications::Gateway::bindings();
            if let Err(err) = bus
                .subscribe(NOTIFICATIONS, &bindings, Arc::new(handler), gate, token)
                .await
            {
                tracing::error!(error = %err, "Notification subscription stopped.");
            }
        });
        // Sockets are accepted as soon as the process listens, before its subscription's queue
        // is bound, and nothing published in between reaches them: once the subscription is
        // first live, whoever connected early is told to read their orders again.
        let (first_live, early, mut token) = (live.clone(), gateway.clone(), self.token());
        self.spawn(async move {
            tokio::select! {
                () = first_live.opened() => early.missed().await,
                () = token.cancelled() => {}
            }
        });
        let (sweeper, token) = (gateway.clone(), self.token());
        self.spawn(async move { sweeper.expire_sessions(token).await });
        let mut token = self.token();
        self.spawn(async move {
            token.cancelled().await;
            gateway.close().await;
        });
        self.realtime = Some(Realtime { layer, live });
    }

    /// Keeps `verifier` told of the sessions ended anywhere in the shop, through a subscription of
    /// this process's own. Not part of readiness: while the broker is down the process serves
    /// on, and learns the sessions ended meanwhile from the users service's next repetition
    /// once it is back (`users::endings`).
    fn ended_sessions(&mut self, bus: Arc<dyn Bus>, verifier: Arc<TokenVerifier>) {
        let (live, token) = (Gate::new("ended-sessions"), self.token());
        let listener = Arc::new(EndedSessionsListener::new(verifier));
        self.spawn(async move {
            if let Err(err) = bus
                .subscribe(
                    ENDED_SESSIONS,
                    &EndedSessionsListener::bindings(),
                    listener,
                    live,
                    token,
                )
                .await
            {
                tracing::error!(error = %err, "Subscription to ended sessions stopped.");
            }
        });
    }

    /// The process's metrics registry, with what every component reports: which build runs, and
    /// its database's connection pool (sampled every few seconds).
    pub fn metrics(&mut self, component: &str, database: Option<&DatabaseConnection>) -> Metrics {
        let metrics = Metrics::new();
        platform::metrics::build_info(&metrics, component, env!("BOOKSTORE_GIT_COMMIT"));
        if let Some(db) = database {
            let pool = platform::db::PoolMetrics::new(&metrics);
            let (db, token) = (db.clone(), self.token());
            self.spawn(pool.watch(db, POOL_SAMPLE_INTERVAL, token));
        }
        metrics
    }

    /// Publishes an outbox until shutdown, deleting events published more than `retention` ago.
    fn relay(
        &mut self,
        outbox: Outbox,
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        metrics: OutboxMetrics,
        retention: Duration,
    ) {
        let token = self.token();
        self.spawn(outbox.run_relay(db, bus, metrics, retention, token));
    }

    /// Serves HTTP until shutdown, then waits for the background tasks. One signal stops both:
    /// consumers finish the messages they hold while requests drain, and a call a consumer can no
    /// longer make is retried (after a restart, for the in-process bus: see `bookstore all`).
    async fn serve(
        mut self,
        serve: ServeSettings,
        api: axum::Router,
        metrics: Metrics,
        databases: Vec<DatabaseConnection>,
        banner: Option<String>,
    ) -> anyhow::Result<()> {
        let realtime = self.realtime.take();
        run_http(
            serve,
            api,
            metrics,
            databases,
            realtime,
            banner,
            self.token(),
        )
        .await?;
        self.stop().await;
        Ok(())
    }

    /// Triggers shutdown (if a signal has not) and waits for the tasks, at most 30 seconds.
    pub async fn stop(mut self) {
        self.trigger.trigger();
        let all = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(30), all)
            .await
            .is_err()
        {
            tracing::warn!("Background tasks did not finish within 30 s; stopping anyway.");
        }
    }
}

/// Serves the application until shutdown, then drains.
async fn run_http(
    serve: ServeSettings,
    api: axum::Router,
    metrics: Metrics,
    databases: Vec<DatabaseConnection>,
    realtime: Option<Realtime>,
    banner: Option<String>,
    mut shutdown: ShutdownToken,
) -> anyhow::Result<()> {
    let mut ctx = HttpContext::new(metrics, databases);
    ctx.cors_origins = serve.cors_origins.clone();
    ctx.request_timeout = serve.request_timeout;
    ctx.gates.extend(realtime.as_ref().map(|r| r.live.clone()));
    let app = platform::http::finish(api, &ctx);
    // Socket.IO sits in front of the REST middleware: its long-polls and upgrades must not be
    // cut by the request timeout, and it answers in its own protocol, not problem+json. It wraps
    // the whole application once: layered onto the router, every route (and every method of a
    // route) would get an engine, and a session opened through one would be unknown to another.
    let app = match realtime {
        Some(realtime) => axum::Router::new().fallback_service(
            tower::ServiceBuilder::new()
                .map_request(notifications::trim_upgrade_request)
                .layer(realtime.layer)
                .service(app),
        ),
        None => app,
    };
    let listener = tokio::net::TcpListener::bind(serve.listen)
        .await
        .with_context(|| format!("cannot listen on {} (BOOKSTORE_LISTEN)", serve.listen))?;
    tracing::info!(addr = %serve.listen, "Listening.");
    if let Some(banner) = banner {
        println!("{banner}");
    }
    platform::http::serve(
        listener,
        app,
        ctx.draining.clone(),
        serve.drain_delay,
        serve.connection_limits,
        async move { shutdown.cancelled().await },
    )
    .await?;
    tracing::info!("Stopped serving HTTP.");
    Ok(())
}
