//! The processes: `bookstore all`, and each component on its own as deployed on Kubernetes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use contracts::consumers::{
    CATALOG_STOCK, ORDER_CANCELLED_WORKER, ORDER_PLACED_WORKER, SUMMARY_WORKER,
};
use migration::{Migrator, MigratorTrait};
use platform::auth::{PublicKey, ServiceToken, TokenVerifier};
use platform::config::{ConfigError, positive, seconds};
use platform::messaging::memory::MemoryBus;
use platform::messaging::rabbitmq::RabbitBus;
use platform::messaging::topology::Topology;
use platform::messaging::{Bus, MessagingMetrics};
use platform::metrics::Metrics;
use sea_orm::DatabaseConnection;

use super::admin::seed_sample;
use super::components::{
    Wiring, start_catalog, start_inventory, start_orders, start_users, start_worker,
};
use super::{Background, api_error, connect, require_current_schema};
use crate::adapters::{LocalCatalog, LocalPurchases};
use crate::cli::{
    self, AllArgs, BrokerArgs, CatalogArgs, InventoryArgs, NotificationsArgs, OrdersArgs,
    StorefrontArgs, UsersArgs, VerifyArgs, WorkerArgs, WorkerTuning,
};
use crate::keys;
use crate::shop::{self, Services};

/// The account `bookstore all` makes when no admin is configured.
const DEFAULT_ADMIN_EMAIL: &str = "admin@bookstore.local";
const ADMIN_PASSWORD_FILE: &str = "initial-admin-password";

/// `bookstore all`: every service, the worker, the relays and the catalogue's read model in one
/// process on the in-process bus, the schema migrated and the sample loaded on first start.
pub async fn all(args: AllArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let order_limits = args.order_limits.limits()?;
    let catalog_cache = args.catalog_cache.settings()?;
    let retention = args.outbox.retention()?;
    let storage = catalog::storage::Storage::open(
        &args
            .object_store
            .location(Some(args.data_dir.join("objects")))?,
    )?;
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
    let (worker_config, concurrency) = worker_settings(
        &args.tuning,
        local_url(serve.listen),
        local_url(serve.listen),
        ServiceToken::generate(),
    )?;
    let summariser = args.summaries.summariser()?;
    let verifier = Arc::new(TokenVerifier::new(&keys.public())?);

    let mut background = Background::new();
    let metrics = background.metrics("all", Some(&db));
    let bus: Arc<dyn Bus> = Arc::new(
        MemoryBus::new(with_concurrency(
            contracts::consumers::topology(""),
            concurrency,
        ))
        .with_metrics(MessagingMetrics::new(&metrics)),
    );
    let wiring = Wiring::new(
        db.clone(),
        bus.clone(),
        verifier.clone(),
        worker_config.service_token.clone(),
        metrics.clone(),
        retention,
    );
    let inventory = start_inventory(&mut background, &wiring);
    let seeded = seed_sample(&db, inventory.outbox()).await?;
    if seeded > 0 {
        tracing::info!(books = seeded, "Loaded the sample catalogue and its stock.");
    }
    let orders = start_orders(
        &mut background,
        &wiring,
        Arc::new(LocalCatalog::new(db.clone())),
        order_limits,
    );
    let again = orders::orders::republish_pending(&db, orders.outbox())
        .await
        .map_err(api_error)?;
    if again > 0 {
        tracing::info!(
            orders = again,
            "Announced the orders still pending from the last run again."
        );
    }
    let catalog = start_catalog(
        &mut background,
        &wiring,
        catalog::files::Files::new(storage, Arc::new(LocalPurchases::new(db.clone()))),
        catalog_cache,
    );
    let summaries = summary_settings(
        &worker_config,
        local_url(serve.listen),
        summariser,
        &contracts::consumers::topology(""),
    );
    start_worker(
        &mut background,
        bus.clone(),
        worker_config,
        summaries,
        &metrics,
    )?;
    background.notifications(bus.clone(), verifier.clone(), &metrics);
    background.ended_sessions(bus, verifier);
    let users = start_users(&mut background, &wiring, &keys, users_config)?;

    let services = Services {
        users: Some(users),
        catalog: Some(catalog),
        inventory: Some(inventory),
        orders: Some(orders),
    };
    let banner = format!(
        "Bookstore is running at http://{addr}\n  Shop:        http://{addr}/\n  API docs:    http://{addr}/api/v1/docs\n  Admin login: {admin_login}",
        addr = serve.listen
    );
    let app = shop::api(services).merge(storefront::router());
    background
        .serve(serve, app, metrics, vec![db], Some(banner))
        .await
}

/// `bookstore storefront`: the web shop's files, for deployments that route `/` to it, and the
/// whole API's document and docs UI (each split component documents only its own routes).
pub async fn storefront(args: StorefrontArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let mut background = Background::new();
    let metrics = background.metrics("storefront", None);
    let app = shop::api_docs(shop::openapi_document()?).merge(storefront::router());
    background
        .serve(serve, app, metrics, Vec::new(), None)
        .await
}

/// Where this process reaches itself: the listen address, with a wildcard host made loopback.
fn local_url(listen: SocketAddr) -> String {
    let host = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(host, listen.port()))
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
    let mut background = Background::new();
    let metrics = background.metrics("users", Some(&db));
    let bus = rabbit(&args.broker, args.broker.topology()?, &metrics)?;
    let verifier = Arc::new(TokenVerifier::new(&keys.public())?);
    background.ended_sessions(bus.clone(), verifier.clone());
    let wiring = Wiring::new(
        db.clone(),
        bus,
        verifier,
        // The users service calls no other service.
        ServiceToken::generate(),
        metrics.clone(),
        // Nor keeps an outbox: there is nothing to relay.
        Duration::ZERO,
    );
    let users = start_users(&mut background, &wiring, &keys, args.auth.users_config()?)?;
    let services = Services {
        users: Some(users),
        ..Services::default()
    };
    background
        .serve(serve, shop::api(services), metrics, vec![db], None)
        .await
}

/// `bookstore catalog`: the catalogue service and its availability read model.
pub async fn catalog(args: CatalogArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let retention = args.outbox.retention()?;
    let catalog_cache = args.catalog_cache.settings()?;
    let service_token = args.service_token.required()?;
    let storage = catalog::storage::Storage::open(&args.object_store.location(None)?)?;
    let orders_url = cli::service_url("BOOKSTORE_ORDERS_URL", &args.orders_url)?;
    let purchases = Arc::new(catalog::purchases::HttpPurchases::new(&url::Url::parse(
        &orders_url,
    )?)?);
    let db = connect(&args.database, None).await?;
    require_current_schema(&db).await?;
    let verifier = verifier(&args.verify)?;
    let mut background = Background::new();
    let metrics = background.metrics("catalog", Some(&db));
    let bus = rabbit(&args.broker, args.broker.topology()?, &metrics)?;
    background.ended_sessions(bus.clone(), verifier.clone());
    let wiring = Wiring::new(
        db.clone(),
        bus,
        verifier,
        service_token,
        metrics.clone(),
        retention,
    );
    let state = start_catalog(
        &mut background,
        &wiring,
        catalog::files::Files::new(storage, purchases),
        catalog_cache,
    );
    let services = Services {
        catalog: Some(state),
        ..Services::default()
    };
    background
        .serve(serve, shop::api(services), metrics, vec![db], None)
        .await
}

/// `bookstore inventory`: the inventory service and its outbox relay.
pub async fn inventory(args: InventoryArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let retention = args.outbox.retention()?;
    let db = connect(&args.database, None).await?;
    require_current_schema(&db).await?;
    let mut background = Background::new();
    let metrics = background.metrics("inventory", Some(&db));
    let verifier = verifier(&args.verify)?;
    let bus = rabbit(&args.broker, args.broker.topology()?, &metrics)?;
    background.ended_sessions(bus.clone(), verifier.clone());
    let wiring = Wiring::new(
        db.clone(),
        bus,
        verifier,
        args.service_token.required()?,
        metrics.clone(),
        retention,
    );
    let state = start_inventory(&mut background, &wiring);
    let services = Services {
        inventory: Some(state),
        ..Services::default()
    };
    background
        .serve(serve, shop::api(services), metrics, vec![db], None)
        .await
}

/// `bookstore orders`: the orders service and its outbox relay.
pub async fn orders(args: OrdersArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let order_limits = args.order_limits.limits()?;
    let retention = args.outbox.retention()?;
    let db = connect(&args.database, None).await?;
    require_current_schema(&db).await?;
    let catalog_url = cli::service_url("BOOKSTORE_CATALOG_URL", &args.catalog_url)?;
    let catalog_port = Arc::new(orders::catalog::HttpCatalog::new(&catalog_url)?);
    let mut background = Background::new();
    let metrics = background.metrics("orders", Some(&db));
    let verifier = verifier(&args.verify)?;
    let bus = rabbit(&args.broker, args.broker.topology()?, &metrics)?;
    background.ended_sessions(bus.clone(), verifier.clone());
    let wiring = Wiring::new(
        db.clone(),
        bus,
        verifier,
        args.service_token.required()?,
        metrics.clone(),
        retention,
    );
    let state = start_orders(&mut background, &wiring, catalog_port, order_limits);
    let services = Services {
        orders: Some(state),
        ..Services::default()
    };
    background
        .serve(serve, shop::api(services), metrics, vec![db], None)
        .await
}

/// `bookstore notifications`: the Socket.IO gateway, fed from RabbitMQ through a queue of its own.
pub async fn notifications(args: NotificationsArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let verifier = verifier(&args.verify)?;
    let mut background = Background::new();
    let metrics = background.metrics("notifications", None);
    let bus = rabbit(&args.broker, args.broker.topology()?, &metrics)?;
    background.ended_sessions(bus.clone(), verifier.clone());
    background.notifications(bus, verifier, &metrics);
    background
        .serve(serve, axum::Router::new(), metrics, Vec::new(), None)
        .await
}

/// `bookstore worker`: the order worker against RabbitMQ, with health and metrics endpoints.
pub async fn worker(args: WorkerArgs) -> anyhow::Result<()> {
    let serve = args.serve.validate()?;
    let inventory_url = cli::service_url("BOOKSTORE_INVENTORY_URL", &args.inventory_url)?;
    let orders_url = cli::service_url("BOOKSTORE_ORDERS_URL", &args.orders_url)?;
    let catalog_url = cli::service_url("BOOKSTORE_CATALOG_URL", &args.catalog_url)?;
    let (config, concurrency) = worker_settings(
        &args.tuning,
        inventory_url,
        orders_url,
        args.service_token.required()?,
    )?;
    let topology = with_concurrency(args.broker.topology()?, concurrency);
    let summaries = summary_settings(
        &config,
        catalog_url,
        args.summaries.summariser()?,
        &topology,
    );
    let mut background = Background::new();
    let metrics = background.metrics("worker", None);
    let bus = rabbit(&args.broker, topology, &metrics)?;
    start_worker(&mut background, bus.clone(), config, summaries, &metrics)?;
    let watched = vec![
        ORDER_PLACED_WORKER.to_owned(),
        ORDER_CANCELLED_WORKER.to_owned(),
        CATALOG_STOCK.to_owned(),
        SUMMARY_WORKER.to_owned(),
    ];
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
    background
        .serve(serve, axum::Router::new(), metrics, Vec::new(), None)
        .await
}

/// The RabbitMQ bus of a split component, recording into its metrics.
fn rabbit(
    broker: &BrokerArgs,
    topology: Topology,
    metrics: &Metrics,
) -> anyhow::Result<Arc<dyn Bus>> {
    Ok(Arc::new(
        RabbitBus::new(&broker.required_url()?, topology)
            .with_metrics(MessagingMetrics::new(metrics))
            .with_subscription_expiry(broker.subscription_expiry()?),
    ))
}

fn verifier(args: &VerifyArgs) -> anyhow::Result<Arc<TokenVerifier>> {
    let public = PublicKey::from_pem(&args.pem()?)
        .map_err(|err| ConfigError::new("BOOKSTORE_JWT_PUBLIC_KEY", err.to_string()))?;
    Ok(Arc::new(TokenVerifier::new(&public)?))
}

fn worker_settings(
    tuning: &WorkerTuning,
    inventory_url: String,
    orders_url: String,
    service_token: ServiceToken,
) -> anyhow::Result<(worker::WorkerConfig, usize)> {
    let config = worker::WorkerConfig {
        inventory_url,
        orders_url,
        service_token,
        request_timeout: seconds(
            "BOOKSTORE_WORKER_CALL_TIMEOUT_SECONDS",
            &tuning.worker_call_timeout_seconds,
            1,
        )?,
    };
    let concurrency = positive("BOOKSTORE_WORKER_CONCURRENCY", &tuning.worker_concurrency)?;
    Ok((config, concurrency as usize))
}

fn with_concurrency(mut topology: Topology, concurrency: usize) -> Topology {
    for consumer in &mut topology.consumers {
        consumer.concurrency = concurrency;
    }
    topology
}

/// The summary consumer's settings: the catalogue at `catalog_url`, called like the other
/// services, and the attempts its queue allows.
fn summary_settings(
    worker: &worker::WorkerConfig,
    catalog_url: String,
    summariser: worker::summaries::Summariser,
    topology: &Topology,
) -> worker::summaries::SummaryConfig {
    let max_attempts = topology
        .consumer(SUMMARY_WORKER)
        .map_or(1, |consumer| consumer.retry.max_attempts);
    worker::summaries::SummaryConfig {
        catalog_url,
        service_token: worker.service_token.clone(),
        call_timeout: worker.request_timeout,
        summariser,
        max_attempts,
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
