//! What each command does: start a process, migrate, or run an admin task.

use std::sync::Arc;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use platform::auth::TokenVerifier;
use platform::config::{ConfigError, DatabaseArgs, ServeSettings, secret};
use platform::http::HttpContext;
use platform::metrics::Metrics;
use sea_orm::DatabaseConnection;

use crate::cli::{
    self, AdminAction, AllArgs, BrokerArgs, CatalogArgs, DlqAction, MigrateAction, UsersArgs,
    WorkerArgs,
};
use crate::keys;
use crate::shop::{self, Services};
use platform::config::{positive, seconds};
use platform::messaging::Handler;
use platform::messaging::rabbitmq::RabbitBus;
use platform::messaging::topology::{ORDER_STATUS_WORKER, ORDER_WORKER};
use platform::messaging::{Bus, DeadLetter};
use platform::shutdown::{ShutdownToken, ShutdownTrigger, shutdown_pair};
use std::time::Duration;
use tokio::task::JoinSet;

/// The account `bookstore all` makes when no admin is configured.
const DEFAULT_ADMIN_EMAIL: &str = "admin@bookstore.local";
const ADMIN_PASSWORD_FILE: &str = "initial-admin-password";

/// `bookstore all`: every service in one process, embedded defaults, schema migrated, sample
/// catalogue loaded on first start.
pub async fn all(args: AllArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let default_url = format!("sqlite://{}/bookstore.db", args.data_dir.display());
    let db = connect(&args.database, Some(default_url)).await?;
    Migrator::up(&db, None)
        .await
        .context("cannot migrate the embedded database")?;
    let keys = match keys::configured(&args.keys)? {
        Some(keys) => keys,
        None => keys::in_data_dir(&args.data_dir)?,
    };
    let users_config = args.auth.users_config()?;
    let admin_login = ensure_admin(&db, &args.auth, &args.data_dir).await?;
    let seeded = catalog::seed::seed_if_empty(&db)
        .await
        .map_err(|err| anyhow::anyhow!("cannot load the sample catalogue: {err}"))?;
    if seeded > 0 {
        tracing::info!(books = seeded, "Loaded the sample catalogue.");
    }
    let users = users::UsersState::new(db.clone(), &keys, users_config)?;
    let verifier = Arc::new(TokenVerifier::new(&keys.public())?);
    let services = Services {
        users: Some(users),
        catalog: Some(catalog::CatalogState::new(db.clone(), verifier)),
    };
    let banner = format!(
        "Bookstore is running at http://{addr}\n  API docs:    http://{addr}/api/v1/docs\n  Admin login: {admin_login}",
        addr = serve.listen
    );
    let background = Background::new();
    run_http(
        serve,
        shop::api(services),
        Metrics::new(),
        vec![db],
        Some(banner),
        background.token(),
    )
    .await?;
    background.stop().await;
    Ok(())
}

/// `bookstore users`: the users service against an already migrated database.
pub async fn users(args: UsersArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let db = connect(&args.database, None).await?;
    require_current_schema(&db).await?;
    let keys = keys::configured(&args.keys)?.ok_or_else(|| {
        ConfigError::new(
            "BOOKSTORE_JWT_PRIVATE_KEY",
            "is required for the users service (or BOOKSTORE_JWT_PRIVATE_KEY_FILE)",
        )
    })?;
    if let Some(admin) = args.auth.admin()? {
        bootstrap(&db, &admin.email, &admin.password).await?;
    }
    let users = users::UsersState::new(db.clone(), &keys, args.auth.users_config()?)?;
    let services = Services {
        users: Some(users),
        ..Services::default()
    };
    let background = Background::new();
    run_http(
        serve,
        shop::api(services),
        Metrics::new(),
        vec![db],
        None,
        background.token(),
    )
    .await?;
    background.stop().await;
    Ok(())
}

/// `bookstore catalog`: the catalogue service against an already migrated database.
pub async fn catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let db = connect(&args.database, None).await?;
    require_current_schema(&db).await?;
    let public = platform::auth::PublicKey::from_pem(&args.verify.pem()?)
        .map_err(|err| ConfigError::new("BOOKSTORE_JWT_PUBLIC_KEY", err.to_string()))?;
    let verifier = Arc::new(TokenVerifier::new(&public)?);
    let services = Services {
        catalog: Some(catalog::CatalogState::new(db.clone(), verifier)),
        ..Services::default()
    };
    let background = Background::new();
    run_http(
        serve,
        shop::api(services),
        Metrics::new(),
        vec![db],
        None,
        background.token(),
    )
    .await?;
    background.stop().await;
    Ok(())
}

/// `bookstore migrate up|down|status`.
pub async fn migrate(action: MigrateAction, database: DatabaseArgs) -> anyhow::Result<()> {
    let db = connect(&database, None).await?;
    match action {
        MigrateAction::Up => {
            let pending = Migrator::get_pending_migrations(&db).await?;
            println!("{} migration(s) to apply.", pending.len());
            for migration in pending {
                println!("  applying {}", migration.name());
                Migrator::up(&db, Some(1))
                    .await
                    .with_context(|| format!("migration {} failed", migration.name()))?;
            }
            println!("Schema is up to date.");
        }
        MigrateAction::Down { steps } => {
            let applied = Migrator::get_applied_migrations(&db).await?;
            for migration in applied.iter().rev().take(steps as usize) {
                println!("  rolling back {}", migration.name());
                Migrator::down(&db, Some(1))
                    .await
                    .with_context(|| format!("rollback of {} failed", migration.name()))?;
            }
            println!(
                "Rolled back {} migration(s).",
                applied.len().min(steps as usize)
            );
        }
        MigrateAction::Status => {
            for migration in Migrator::get_migration_with_status(&db).await? {
                println!(
                    "{:<8} {}",
                    format!("{:?}", migration.status()).to_lowercase(),
                    migration.name()
                );
            }
        }
    }
    Ok(())
}

/// `bookstore admin ...`.
pub async fn admin(action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::CreateUser {
            email,
            password,
            password_file,
            role,
            display_name,
            database,
        } => {
            let role = cli::role(&role)?;
            let password = secret(
                "BOOKSTORE_NEW_USER_PASSWORD",
                password,
                password_file.as_ref(),
            )?
            .ok_or_else(|| ConfigError::new("--password", "is required (or --password-file)"))?;
            let db = connect(&database, None).await?;
            require_current_schema(&db).await?;
            let account = users::accounts::NewAccount::validate(
                &email,
                &password,
                display_name.as_deref(),
                role,
            )
            .map_err(api_error)?;
            let user = users::accounts::create(&db, account)
                .await
                .map_err(api_error)?;
            println!("Created {} {} ({}).", role.as_str(), user.email, user.id);
        }
        AdminAction::Seed { database } => {
            let db = connect(&database, None).await?;
            require_current_schema(&db).await?;
            let added = catalog::seed::seed_if_empty(&db).await.map_err(api_error)?;
            if added == 0 {
                println!("The catalogue is not empty; nothing loaded.");
            } else {
                println!("Loaded {added} books.");
            }
        }
    }
    Ok(())
}

/// `bookstore dlq list|redrive|purge`: the dead letters of the RabbitMQ consumers.
pub async fn dlq(action: DlqAction, broker: BrokerArgs) -> anyhow::Result<()> {
    let topology = broker.topology()?;
    let bus = RabbitBus::new(&broker.required_url()?, topology.clone());
    let known = |name: &str| -> anyhow::Result<()> {
        if topology.consumer(name).is_some() {
            return Ok(());
        }
        let names: Vec<&str> = topology.consumers.iter().map(|c| c.name.as_str()).collect();
        Err(ConfigError::new(
            "--consumer",
            format!("unknown consumer {name:?}; consumers: {}", names.join(", ")),
        )
        .into())
    };
    match action {
        DlqAction::List { consumer, limit } => {
            if let Some(name) = &consumer {
                known(name)?;
            }
            for spec in topology
                .consumers
                .iter()
                .filter(|c| consumer.as_ref().is_none_or(|name| &c.name == name))
            {
                let count = bus.dead_letter_count(&spec.name).await?;
                println!("{}: {count} dead letter(s)", spec.name);
                for letter in bus.dead_letters(&spec.name, limit).await? {
                    print_letter(&letter);
                }
            }
        }
        DlqAction::Redrive {
            consumer,
            limit,
            dry_run,
        } => {
            known(&consumer)?;
            let limit = limit.unwrap_or(usize::MAX);
            if dry_run {
                let letters = bus.dead_letters(&consumer, limit).await?;
                println!(
                    "Would redrive {} dead letter(s) of {consumer}:",
                    letters.len()
                );
                letters.iter().for_each(print_letter);
            } else {
                let moved = bus.redrive(&consumer, limit).await?;
                println!("Redrove {moved} dead letter(s) of {consumer}.");
            }
        }
        DlqAction::Purge { consumer, dry_run } => {
            known(&consumer)?;
            if dry_run {
                println!(
                    "Would purge {} dead letter(s) of {consumer}.",
                    bus.dead_letter_count(&consumer).await?
                );
            } else {
                println!(
                    "Purged {} dead letter(s) of {consumer}.",
                    bus.purge_dead_letters(&consumer).await?
                );
            }
        }
    }
    Ok(())
}

fn print_letter(letter: &DeadLetter) {
    let first_failure = letter
        .first_failure_at
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| "-".into());
    println!(
        "  {} {} attempts={} first_failure={} error={}",
        letter.envelope.id, letter.envelope.kind, letter.attempts, first_failure, letter.error
    );
}

/// `bookstore openapi`: the API description on standard output.
pub fn openapi() -> anyhow::Result<()> {
    let mut document = shop::openapi_document()?;
    // The committed copy (docs/openapi.json) says where it comes from.
    document.extensions = Some(
        utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add(
                "x-generated",
                "by `cargo xtask codegen` from the code; do not edit",
            )
            .build(),
    );
    println!("{}", document.to_pretty_json()?);
    Ok(())
}

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

async fn bootstrap(db: &DatabaseConnection, email: &str, password: &str) -> anyhow::Result<()> {
    match users::accounts::bootstrap_admin(db, email, password)
        .await
        .map_err(api_error)?
    {
        users::accounts::Bootstrap::Created => {
            tracing::info!(email, "Created the first admin account.")
        }
        users::accounts::Bootstrap::AlreadyExists => {
            tracing::debug!(email, "Admin account already exists.")
        }
        users::accounts::Bootstrap::ExistsWithoutAdminRole => anyhow::bail!(
            "BOOKSTORE_ADMIN_EMAIL {email} belongs to an account without the admin role; \
             promote it through PATCH /api/v1/users/{{id}} as another admin, or choose another email"
        ),
    }
    Ok(())
}

/// Makes sure `bookstore all` has an admin, and says how to log in as one.
async fn ensure_admin(
    db: &DatabaseConnection,
    auth: &cli::AuthArgs,
    data_dir: &std::path::Path,
) -> anyhow::Result<String> {
    if let Some(admin) = auth.admin()? {
        bootstrap(db, &admin.email, &admin.password).await?;
        return Ok(format!(
            "{} (password from BOOKSTORE_ADMIN_PASSWORD)",
            admin.email
        ));
    }
    let password_file = data_dir.join(ADMIN_PASSWORD_FILE);
    if users::accounts::any_admin(db).await.map_err(api_error)? {
        return Ok(if password_file.exists() {
            format!(
                "{DEFAULT_ADMIN_EMAIL} / password in {}",
                password_file.display()
            )
        } else {
            "an admin account exists (create more with `bookstore admin create-user --role admin`)"
                .into()
        });
    }
    let password = random_password();
    bootstrap(db, DEFAULT_ADMIN_EMAIL, &password).await?;
    let _ = std::fs::remove_file(&password_file);
    keys::write_private(&password_file, &format!("{password}\n"))?;
    Ok(format!(
        "{DEFAULT_ADMIN_EMAIL} / {password}  (also saved in {})",
        password_file.display()
    ))
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The background tasks of a process (consumers, relays) and the shutdown they share. SIGTERM or
/// Ctrl-C triggers it; the HTTP server drains first, then the tasks finish what they hold.
struct Background {
    trigger: ShutdownTrigger,
    token: ShutdownToken,
    tasks: JoinSet<()>,
}

impl Background {
    fn new() -> Self {
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
        }
    }

    fn token(&self) -> ShutdownToken {
        self.token.clone()
    }

    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// Runs a consumer until shutdown; a consumer that stops on its own is logged.
    fn consume(&mut self, bus: Arc<dyn Bus>, consumer: &'static str, handler: Arc<dyn Handler>) {
        let token = self.token();
        self.spawn(async move {
            if let Err(err) = bus.consume(consumer, handler, token).await {
                tracing::error!(consumer, error = %err, "Consumer stopped.");
            }
        });
    }

    /// Triggers shutdown (if a signal has not) and waits for the tasks, at most 30 seconds.
    async fn stop(mut self) {
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
    banner: Option<String>,
    mut shutdown: ShutdownToken,
) -> anyhow::Result<()> {
    let mut ctx = HttpContext::new(metrics, databases);
    ctx.cors_origins = serve.cors_origins.clone();
    ctx.request_timeout = serve.request_timeout;
    let app = platform::http::finish(api, &ctx);
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
        async move { shutdown.cancelled().await },
    )
    .await?;
    tracing::info!("Stopped serving HTTP.");
    Ok(())
}

/// `bookstore worker`: the order worker against RabbitMQ, with health and metrics endpoints.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let config = worker::WorkerConfig {
        inventory_url: cli::service_url("BOOKSTORE_INVENTORY_URL", &args.inventory_url)?,
        orders_url: cli::service_url("BOOKSTORE_ORDERS_URL", &args.orders_url)?,
        service_token: args.service_token.required()?,
        request_timeout: seconds(
            "BOOKSTORE_WORKER_CALL_TIMEOUT_SECONDS",
            &args.tuning.worker_call_timeout_seconds,
            1,
        )?,
    };
    let concurrency = positive(
        "BOOKSTORE_WORKER_CONCURRENCY",
        &args.tuning.worker_concurrency,
    )?;
    let mut topology = args.broker.topology()?;
    for consumer in &mut topology.consumers {
        consumer.concurrency = concurrency as usize;
    }
    let bus: Arc<dyn Bus> = Arc::new(RabbitBus::new(&args.broker.required_url()?, topology));
    let metrics = Metrics::new();
    let mut background = Background::new();
    start_worker(&mut background, bus.clone(), config, &metrics)?;
    let watched = vec![ORDER_WORKER.to_owned(), ORDER_STATUS_WORKER.to_owned()];
    let (watch_metrics, token) = (metrics.clone(), background.token());
    background.spawn(async move {
        platform::messaging::watch_dead_letters(
            bus,
            watched,
            &watch_metrics,
            Duration::from_secs(15),
            token,
        )
        .await;
    });
    run_http(
        serve,
        axum::Router::new(),
        metrics,
        Vec::new(),
        None,
        background.token(),
    )
    .await?;
    background.stop().await;
    Ok(())
}

/// The worker's consumers, on whichever bus the process has.
fn start_worker(
    background: &mut Background,
    bus: Arc<dyn Bus>,
    config: worker::WorkerConfig,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let worker_metrics = worker::WorkerMetrics::new(metrics);
    let placed = Arc::new(worker::OrderPlacedHandler::new(
        config.clone(),
        worker_metrics.clone(),
    )?);
    let status = Arc::new(worker::OrderStatusHandler::new(config, worker_metrics)?);
    background.consume(bus.clone(), ORDER_WORKER, placed);
    background.consume(bus, ORDER_STATUS_WORKER, status);
    Ok(())
}
