//! Assembles the HTTP application of a process from the services it runs, with the OpenAPI
//! document and its docs UI.

use axum::Router;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Bookstore API",
        description = "Accounts, catalogue, orders and inventory of the bookstore. Errors are RFC 9457 problem+json.",
    ),
    components(schemas(platform::error::Problem)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                Http::builder()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The services one process runs.
#[derive(Default)]
pub struct Services {
    pub users: Option<users::UsersState>,
    pub catalog: Option<catalog::CatalogState>,
    pub inventory: Option<inventory::InventoryState>,
    pub orders: Option<orders::OrdersState>,
}

/// The process's API routes plus `/api/v1/openapi.json` and the docs UI at `/api/v1/docs`.
pub fn api(services: Services) -> Router {
    let (router, openapi) = routes(services).split_for_parts();
    router.merge(SwaggerUi::new("/api/v1/docs").url("/api/v1/openapi.json", openapi))
}

/// The documented routes of the given services.
pub fn routes(services: Services) -> OpenApiRouter {
    let mut router = OpenApiRouter::with_openapi(ApiDoc::openapi());
    if let Some(state) = services.users {
        router = router.merge(users::router(state));
    }
    if let Some(state) = services.catalog {
        router = router.merge(catalog::router(state));
    }
    if let Some(state) = services.inventory {
        router = router.merge(inventory::router(state));
    }
    if let Some(state) = services.orders {
        router = router.merge(orders::router(state));
    }
    router
}

/// The OpenAPI document of every service, as `bookstore all` serves it. Building it needs no
/// database or real key: only the routes and their types are read.
pub fn openapi_document() -> anyhow::Result<utoipa::openapi::OpenApi> {
    let keys = platform::auth::KeyPair::generate();
    let db = sea_orm::DatabaseConnection::default();
    let verifier = std::sync::Arc::new(platform::auth::TokenVerifier::new(&keys.public())?);
    let token = platform::auth::ServiceToken::generate();
    let catalog_port = std::sync::Arc::new(crate::adapters::LocalCatalog::new(db.clone()));
    let services = Services {
        users: Some(users::UsersState::new(
            db.clone(),
            &keys,
            users::UsersConfig::default(),
        )?),
        catalog: Some(catalog::CatalogState::new(db.clone(), verifier.clone())),
        inventory: Some(inventory::InventoryState::new(
            db.clone(),
            verifier.clone(),
            token.clone(),
        )),
        orders: Some(orders::OrdersState::new(db, verifier, token, catalog_port)),
    };
    Ok(routes(services).into_openapi())
}
