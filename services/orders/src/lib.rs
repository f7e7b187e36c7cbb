//! The orders service: placing, reading and cancelling orders; the order state machine.

mod api;
pub mod catalog;
pub mod entity;
pub mod limits;
mod metrics;
pub mod orders;
pub mod status;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::auth::{ServiceToken, TokenVerifier};
use platform::outbox::Outbox;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

use crate::catalog::Catalog;
use crate::limits::{Limiter, OrderLimits};
pub use crate::metrics::OrdersMetrics;
use crate::orders::OrderWriter;
pub use contracts::orders::MAX_STATUS_BATCH;

/// The outbox table of the orders service.
pub const OUTBOX_TABLE: &str = "orders_outbox";

/// Everything the orders handlers share.
#[derive(Clone)]
pub struct OrdersState {
    pub db: DatabaseConnection,
    verifier: Arc<TokenVerifier>,
    service_token: ServiceToken,
    catalog: Arc<dyn Catalog>,
    outbox: Outbox,
    writer: OrderWriter,
    limiter: Limiter,
    metrics: OrdersMetrics,
}

impl OrdersState {
    pub fn new(
        db: DatabaseConnection,
        verifier: Arc<TokenVerifier>,
        service_token: ServiceToken,
        catalog: Arc<dyn Catalog>,
    ) -> Self {
        let outbox = Outbox::new(OUTBOX_TABLE);
        Self {
            writer: OrderWriter::new(db.clone(), outbox.clone()),
            db,
            verifier,
            service_token,
            catalog,
            outbox,
            limiter: Limiter::new(OrderLimits::default()),
            metrics: OrdersMetrics::unregistered(),
        }
    }

    /// This state, holding each customer to `limits` (the defaults otherwise).
    pub fn with_limits(mut self, limits: OrderLimits) -> Self {
        self.limiter = Limiter::new(limits);
        self
    }

    /// This state, recording orders placed and settled in the process's registry.
    pub fn with_metrics(mut self, registry: &platform::metrics::Metrics) -> Self {
        self.metrics = OrdersMetrics::new(registry);
        self
    }

    /// The orders outbox: the process runs its relay (`Outbox::run_relay`) on a clone, so that
    /// the handlers' wake-ups reach it.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}

impl FromRef<OrdersState> for Arc<TokenVerifier> {
    fn from_ref(state: &OrdersState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<OrdersState> for ServiceToken {
    fn from_ref(state: &OrdersState) -> Self {
        state.service_token.clone()
    }
}

/// The routes of the orders service: `/api/v1/orders/*`.
pub fn router(state: OrdersState) -> OpenApiRouter {
    api::routes().with_state(state)
}
