//! Each component built one way: `start_<component>` takes the component's own settings and
//! what it depends on ([`Wiring`]: its database, the bus, the token verifier, the service token,
//! the process's metrics), starts its background tasks (outbox relay, consumers, repetitions)
//! and returns the state its routes are served from. `bookstore all` starts every component on
//! one wiring (SQLite and the in-process bus); each split command starts one on its own.

use std::sync::Arc;
use std::time::Duration;

use contracts::consumers::{
    CATALOG_STOCK, ORDER_CANCELLED_WORKER, ORDER_PLACED_WORKER, SUMMARY_WORKER,
};
use platform::auth::{ServiceToken, TokenVerifier};
use platform::messaging::Bus;
use platform::metrics::Metrics;
use platform::outbox::{Outbox, OutboxMetrics};
use sea_orm::DatabaseConnection;

use super::Background;

/// What a component is built on.
pub struct Wiring {
    pub db: DatabaseConnection,
    pub bus: Arc<dyn Bus>,
    pub verifier: Arc<TokenVerifier>,
    pub service_token: ServiceToken,
    pub metrics: Metrics,
    /// How long published outbox events are kept.
    pub retention: Duration,
    /// The relays' metrics, registered once in `metrics` and shared by every relay of the
    /// process (each labelled by its outbox).
    outbox_metrics: OutboxMetrics,
}

impl Wiring {
    pub fn new(
        db: DatabaseConnection,
        bus: Arc<dyn Bus>,
        verifier: Arc<TokenVerifier>,
        service_token: ServiceToken,
        metrics: Metrics,
        retention: Duration,
    ) -> Self {
        let outbox_metrics = OutboxMetrics::new(&metrics);
        Self {
            db,
            bus,
            verifier,
            service_token,
            metrics,
            retention,
            outbox_metrics,
        }
    }

    /// Publishes `outbox` until shutdown.
    fn relay(&self, background: &mut Background, outbox: &Outbox) {
        background.relay(
            outbox.clone(),
            self.db.clone(),
            self.bus.clone(),
            self.outbox_metrics.clone(),
            self.retention,
        );
    }
}

/// The users service, and the repetition of the sessions it ended.
pub fn start_users(
    background: &mut Background,
    wiring: &Wiring,
    keys: &platform::auth::KeyPair,
    config: users::UsersConfig,
) -> anyhow::Result<users::UsersState> {
    let users = users::UsersState::new(
        wiring.db.clone(),
        keys,
        wiring.verifier.clone(),
        wiring.bus.clone(),
        config,
    )?;
    background.spawn(users.endings().repeat(
        wiring.db.clone(),
        users::endings::REPEAT_EVERY,
        background.token(),
    ));
    Ok(users)
}

/// The catalogue, its availability read model (the consumer of `stock.changed`) and its relay.
pub fn start_catalog(
    background: &mut Background,
    wiring: &Wiring,
    files: catalog::files::Files,
    cache: catalog::cache::CacheSettings,
) -> catalog::CatalogState {
    let catalog = catalog::CatalogState::new(
        wiring.db.clone(),
        wiring.verifier.clone(),
        wiring.service_token.clone(),
        files,
    )
    .with_cache(cache, &wiring.metrics);
    background.consume(
        wiring.bus.clone(),
        CATALOG_STOCK,
        Arc::new(catalog::availability::StockChangedHandler::new(
            wiring.db.clone(),
            catalog.cache().clone(),
        )),
    );
    wiring.relay(background, catalog.outbox());
    catalog
}

/// Inventory and its relay.
pub fn start_inventory(background: &mut Background, wiring: &Wiring) -> inventory::InventoryState {
    let inventory = inventory::InventoryState::new(
        wiring.db.clone(),
        wiring.verifier.clone(),
        wiring.service_token.clone(),
    )
    .with_metrics(&wiring.metrics);
    wiring.relay(background, inventory.outbox());
    inventory
}

/// The orders service, reading books through `catalog`, and its relay.
pub fn start_orders(
    background: &mut Background,
    wiring: &Wiring,
    catalog: Arc<dyn orders::catalog::Catalog>,
    limits: orders::limits::OrderLimits,
) -> orders::OrdersState {
    let orders = orders::OrdersState::new(
        wiring.db.clone(),
        wiring.verifier.clone(),
        wiring.service_token.clone(),
        catalog,
    )
    .with_limits(limits)
    .with_metrics(&wiring.metrics);
    wiring.relay(background, orders.outbox());
    orders
}

/// The worker's consumers, on whichever bus the process has.
pub fn start_worker(
    background: &mut Background,
    bus: Arc<dyn Bus>,
    config: worker::WorkerConfig,
    summaries: worker::summaries::SummaryConfig,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    let worker_metrics = worker::WorkerMetrics::new(metrics);
    let placed = Arc::new(worker::OrderPlacedHandler::new(
        config.clone(),
        worker_metrics.clone(),
    )?);
    let cancelled = Arc::new(worker::OrderCancelledHandler::new(config, worker_metrics)?);
    let summary = Arc::new(worker::summaries::SummaryHandler::new(
        summaries,
        worker::summaries::metrics::SummaryMetrics::new(metrics),
    )?);
    background.consume(bus.clone(), ORDER_PLACED_WORKER, placed);
    background.consume(bus.clone(), ORDER_CANCELLED_WORKER, cancelled);
    background.consume(bus, SUMMARY_WORKER, summary);
    Ok(())
}
