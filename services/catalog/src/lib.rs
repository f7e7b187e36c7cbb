//! The catalogue service: books, their search and filters, their cover and document, and the
//! sample catalogue.

mod api;
pub mod availability;
pub mod books;
pub mod cache;
pub mod cover;
pub mod document;
pub mod entity;
pub mod files;
pub mod isbn;
pub mod purchases;
pub mod search;
pub mod seed;
pub mod storage;
pub mod summary;
mod summary_api;

use std::sync::Arc;

use axum::extract::FromRef;
use cache::{CacheMetrics, CacheSettings, PageCache};
use files::Files;
use platform::auth::{ServiceToken, TokenVerifier};
use platform::outbox::Outbox;
use sea_orm::DatabaseConnection;
use utoipa_axum::router::OpenApiRouter;

/// Everything the catalogue handlers share.
#[derive(Clone)]
pub struct CatalogState {
    pub db: DatabaseConnection,
    verifier: Arc<TokenVerifier>,
    /// What the worker presents when it reads a document and stores its summary.
    service_token: ServiceToken,
    files: Files,
    outbox: Outbox,
    cache: PageCache,
}

impl CatalogState {
    pub fn new(
        db: DatabaseConnection,
        verifier: Arc<TokenVerifier>,
        service_token: ServiceToken,
        files: Files,
    ) -> Self {
        Self {
            db,
            verifier,
            service_token,
            files,
            outbox: Outbox::new(summary::OUTBOX_TABLE),
            cache: PageCache::new(CacheSettings::default(), CacheMetrics::unregistered()),
        }
    }

    /// The same state with a response cache of these settings, counting into `registry`.
    pub fn with_cache(
        self,
        settings: CacheSettings,
        registry: &platform::metrics::Metrics,
    ) -> Self {
        Self {
            cache: PageCache::new(settings, CacheMetrics::new(registry)),
            ..self
        }
    }

    /// The response cache, which the process's stock consumer also invalidates.
    pub fn cache(&self) -> &PageCache {
        &self.cache
    }

    /// The outbox that summary requests and settled summaries are written to. The process runs
    /// its relay.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }
}

impl FromRef<CatalogState> for ServiceToken {
    fn from_ref(state: &CatalogState) -> Self {
        state.service_token.clone()
    }
}

impl FromRef<CatalogState> for Arc<TokenVerifier> {
    fn from_ref(state: &CatalogState) -> Self {
        state.verifier.clone()
    }
}

/// The routes of the catalogue service: `/api/v1/books/*`.
pub fn router(state: CatalogState) -> OpenApiRouter {
    api::routes()
        .merge(files::routes())
        .merge(summary_api::routes())
        .with_state(state)
}
