//! The catalogue service: books, their search and filters, their cover and document, and the
//! sample catalogue.

mod api;
pub mod availability;
pub mod books;
pub mod cover;
pub mod document;
pub mod entity;
pub mod files;
pub mod isbn;
pub mod purchases;
pub mod search;
pub mod seed;
pub mod storage;

use std::sync::Arc;

use axum::extract::FromRef;
use files::Files;
use platform::auth::TokenVerifier;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

/// Everything the catalogue handlers share.
#[derive(Clone)]
pub struct CatalogState {
    pub db: DatabaseConnection,
    verifier: Arc<TokenVerifier>,
    files: Files,
}

impl CatalogState {
    pub fn new(db: DatabaseConnection, verifier: Arc<TokenVerifier>, files: Files) -> Self {
        Self {
            db,
            verifier,
            files,
        }
    }
}

impl FromRef<CatalogState> for Arc<TokenVerifier> {
    fn from_ref(state: &CatalogState) -> Self {
        state.verifier.clone()
    }
}

/// The routes of the catalogue service: `/api/v1/books/*`.
pub fn router(state: CatalogState) -> OpenApiRouter {
    api::routes().merge(files::routes()).with_state(state)
}
