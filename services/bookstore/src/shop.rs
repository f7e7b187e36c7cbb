//! Assembles the HTTP application of a process from the services it runs, with the OpenAPI
//! document and its docs UI.

use axum::Router;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
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
    let (router, openapi) = documented(services);
    router.merge(api_docs(openapi))
}

/// `openapi` at `/api/v1/openapi.json` and the docs UI showing it at `/api/v1/docs`.
pub fn api_docs(openapi: utoipa::openapi::OpenApi) -> Router {
    SwaggerUi::new("/api/v1/docs")
        .url("/api/v1/openapi.json", openapi)
        .into()
}

/// The routes of the given services and their OpenAPI document, with the answers the shared
/// middleware and extractors give on every operation of a kind.
fn documented(services: Services) -> (Router, utoipa::openapi::OpenApi) {
    let (router, mut openapi) = routes(services).split_for_parts();
    CommonResponses.modify(&mut openapi);
    (router, openapi)
}

/// Adds to each operation the problem answers it can give whatever its handler does, where the
/// operation does not describe them itself: the JSON extractor's 400, 413, 415 and 422 on
/// operations with a body, 401 on operations that need a token (and 403 on those that need the
/// service token), 400 on operations with query parameters, 500, and 504 from the request
/// timeout.
struct CommonResponses;

impl CommonResponses {
    fn problem(description: &str) -> RefOr<utoipa::openapi::Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    platform::error::PROBLEM_JSON,
                    Content::new(Some(Ref::from_schema_name("Problem"))),
                )
                .build(),
        )
    }
}

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let schemes: Vec<String> = operation
                    .security
                    .iter()
                    .flatten()
                    .filter_map(|requirement| serde_json::to_value(requirement).ok())
                    .filter_map(|value| {
                        value
                            .as_object()
                            .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    })
                    .flatten()
                    .collect();
                let has_query = operation.parameters.iter().flatten().any(|parameter| {
                    matches!(parameter, RefOr::T(p) if p.parameter_in == ParameterIn::Query)
                });
                let mut common = Vec::new();
                if operation.request_body.is_some() {
                    common.extend([
                        ("400", "Malformed JSON, or another bad request"),
                        ("413", "Body larger than the route's limit"),
                        ("415", "Body not sent as application/json"),
                        (
                            "422",
                            "Body of the wrong shape, or values that break a rule",
                        ),
                    ]);
                }
                if has_query {
                    common.push(("400", "Unknown query parameter, or a bad value"));
                }
                if schemes.iter().any(|s| s == "bearer") {
                    common.push(("401", "No valid access token"));
                }
                if schemes.iter().any(|s| s == "service_token") {
                    common.extend([
                        ("401", "No service token"),
                        ("403", "A wrong service token"),
                    ]);
                }
                common.extend([
                    ("500", "Unexpected server error (opaque, with a trace id)"),
                    ("504", "The request took longer than the request timeout"),
                ]);
                for (status, description) in common {
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| Self::problem(description));
                }
            }
        }
    }
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
            verifier.clone(),
            std::sync::Arc::new(platform::messaging::memory::MemoryBus::new(
                contracts::consumers::topology(""),
            )),
            users::UsersConfig::default(),
        )?),
        catalog: Some(catalog::CatalogState::new(
            db.clone(),
            verifier.clone(),
            token.clone(),
            catalog::files::Files::new(
                catalog::storage::Storage::open(&catalog::storage::StorageLocation::Folder(
                    std::env::temp_dir(),
                ))?,
                std::sync::Arc::new(crate::adapters::LocalPurchases::new(db.clone())),
            ),
        )),
        inventory: Some(inventory::InventoryState::new(
            db.clone(),
            verifier.clone(),
            token.clone(),
        )),
        orders: Some(orders::OrdersState::new(db, verifier, token, catalog_port)),
    };
    Ok(documented(services).1)
}
