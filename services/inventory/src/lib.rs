//! The inventory service: stock per book and the reservation of orders.

mod api;
pub mod entity;
pub mod stock;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::auth::{ServiceToken, TokenVerifier};
use platform::outbox::Outbox;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

/// The outbox table of the inventory service.
pub const OUTBOX_TABLE: &str = "inventory_outbox";

/// Everything the inventory handlers share.
#[derive(Clone)]
pub struct InventoryState {
    pub db: DatabaseConnection,
    verifier: Arc<TokenVerifier>,
    service_token: ServiceToken,
    outbox: Outbox,
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
        }
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
