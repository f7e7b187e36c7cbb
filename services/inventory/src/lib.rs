//! The inventory service: stock per book and the reservation of orders.

mod api;
pub mod entity;
mod metrics;
pub mod stock;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::auth::{ServiceToken, TokenVerifier};
use platform::outbox::Outbox;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

pub use crate::metrics::InventoryMetrics;

/// The outbox table of the inventory service.
pub const OUTBOX_TABLE: &str = "inventory_outbox";

/// Everything the inventory handlers share.
#[derive(Clone)]
pub struct InventoryState {
    pub db: DatabaseConnection,
    verifier: Arc<TokenVerifier>,
    service_token: ServiceToken,
    outbox: Outbox,
    metrics: InventoryMetrics,
}

impl InventoryState {
    pub fn new(
        db: DatabaseConnection,
        verifier: Arc<TokenVerifier>,
        service_token: ServiceToken,
    ) -> Self {
        Self {
            db,
            verifier,
            service_token,
            outbox: Outbox::new(OUTBOX_TABLE),
            metrics: InventoryMetrics::unregistered(),
        }
    }

    /// This state, recording reservations in the process's registry.
    pub fn with_metrics(mut self, registry: &platform::metrics::Metrics) -> Self {
        self.metrics = InventoryMetrics::new(registry);
        self
    }

    /// The outbox that `stock.changed` events are written to. The process runs its relay
    /// (`Outbox::run_relay`) on a clone of this one, so that commits here wake that relay.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}

impl FromRef<InventoryState> for Arc<TokenVerifier> {
    fn from_ref(state: &InventoryState) -> Self {
        state.verifier.clone()
    }
}

impl FromRef<InventoryState> for ServiceToken {
    fn from_ref(state: &InventoryState) -> Self {
        state.service_token.clone()
    }
}

/// The routes of the inventory service: `/api/v1/inventory/*`.
pub fn router(state: InventoryState) -> OpenApiRouter {
    api::routes().with_state(state)
}
