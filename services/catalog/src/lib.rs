//! The catalogue service: books, their search and filters, and the sample catalogue.

mod api;
pub mod availability;
pub mod books;
pub mod entity;
pub mod isbn;
pub mod search;
pub mod seed;

use std::sync::Arc;

use axum::extract::FromRef;
use platform::auth::TokenVerifier;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

/// Everything the catalogue handlers share.
#[derive(Clone)]
pub struct CatalogState {
    pub db: DatabaseConnection,
    verifier: Arc<TokenVerifier>,
}

impl CatalogState {
    pub fn new(db: DatabaseConnection, verifier: Arc<TokenVerifier>) -> Self {
        Self { db, verifier }
    }
}

impl FromRef<CatalogState> for Arc<TokenVerifier> {
    fn from_ref(state: &CatalogState) -> Self {
        state.verifier.clone()
    }
}

/// The routes of the catalogue service: `/api/v1/books/*`.
pub fn router(state: CatalogState) -> OpenApiRouter {
    api::routes().with_state(state)
}
