//! `/api/v1/inventory`: stock per book (anyone reads, admins change it) and the reservations
//! the order pipeline makes with the service token.

use axum::extract::{Path, State};
use platform::ApiError;
use platform::auth::{AdminUser, ServiceCaller, service_token_openapi};
use platform::error::{FieldErrors, Problem, check_list_length};
use platform::extract::Json;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::InventoryState;
use crate::stock::{self, BatchAnswer, BatchOutcome, ReservationBatch, ReservationView, StockView};

pub fn routes() -> OpenApiRouter<InventoryState> {
    OpenApiRouter::with_openapi(service_token_openapi())
        .routes(routes!(reserve_batch))
        .routes(routes!(release))
        .routes(routes!(get_stock, set_stock))
        .routes(routes!(adjust_stock))
}

/// The body of `PUT /api/v1/inventory/{book_id}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStock {
    /// Units available, 0 to 1,000,000,000.
    #[schema(
        required = true,
        nullable = false,
        minimum = 0,
        maximum = 1_000_000_000
    )]
    #[serde(default, deserialize_with = "platform::extract::optional_whole_number")]
    pub available: Option<i64>,
}

/// The body of `POST /api/v1/inventory/{book_id}/adjust`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustStock {
    /// Units to add (negative: to remove), not 0, at most 1,000,000,000 either way.
    #[schema(required = true, nullable = false, minimum = -1_000_000_000, maximum = 1_000_000_000)]
    #[serde(default, deserialize_with = "platform::extract::optional_whole_number")]
    pub delta: Option<i64>,
}

/// A required body field, or its "is required" error.
fn required<T: Copy>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        let mut errors = FieldErrors::new();
        errors.add(field, "is required");
        ApiError::validation(errors)
    })
}

/// Checks an id taken from the path: a bad one is a 400 naming the parameter.
fn path_id(name: &str, id: &str) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    errors.check(name, stock::check_id(id));
    errors.into_invalid_parameters()
}

/// Units available of a book (0 for a book inventory has never heard of).
#[utoipa::path(
    get, path = "/api/v1/inventory/{book_id}", tag = "inventory",
    params(("book_id" = String, Path, description = "Book id, 1 to 36 characters, no spaces or control characters", min_length = 1, max_length = 36, pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]{1,36}$")),
    responses(
        (status = 200, body = StockView),
        (status = 400, description = "Invalid book id", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %book_id))]
async fn get_stock(
    State(state): State<InventoryState>,
    Path(book_id): Path<String>,
) -> Result<Json<StockView>, ApiError> {
    path_id("book_id", &book_id)?;
    Ok(Json(stock::get(&state.db, &book_id).await?))
}

/// Sets the units available of a book (admin only).
#[utoipa::path(
    put, path = "/api/v1/inventory/{book_id}", tag = "inventory", security(("bearer" = [])),
    params(("book_id" = String, Path, description = "Book id, 1 to 36 characters, no spaces or control characters", min_length = 1, max_length = 36, pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]{1,36}$")),
    request_body = SetStock,
    responses(
        (status = 200, body = StockView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %book_id))]
async fn set_stock(
    State(state): State<InventoryState>,
    _admin: AdminUser,
    Path(book_id): Path<String>,
    Json(body): Json<SetStock>,
) -> Result<Json<StockView>, ApiError> {
    path_id("book_id", &book_id)?;
    let available = required("available", body.available)?;
    let view = stock::set(&state.db, &state.outbox, &book_id, available).await?;
    tracing::info!(available = view.available, "Stock set.");
    Ok(Json(view))
}

/// Adds or removes units of a book (admin only); going below zero is a 409.
#[utoipa::path(
    post, path = "/api/v1/inventory/{book_id}/adjust", tag = "inventory", security(("bearer" = [])),
    params(("book_id" = String, Path, description = "Book id, 1 to 36 characters, no spaces or control characters", min_length = 1, max_length = 36, pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]{1,36}$")),
    request_body = AdjustStock,
    responses(
        (status = 200, body = StockView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stock would go below zero or above the maximum", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %book_id))]
async fn adjust_stock(
    State(state): State<InventoryState>,
    _admin: AdminUser,
    Path(book_id): Path<String>,
    Json(body): Json<AdjustStock>,
) -> Result<Json<StockView>, ApiError> {
    path_id("book_id", &book_id)?;
    let delta = required("delta", body.delta)?;
    let view = stock::adjust(&state.db, &state.outbox, &book_id, delta).await?;
    tracing::info!(delta, available = view.available, "Stock adjusted.");
    Ok(Json(view))
}

/// Reserves the stock of several orders in one go (bookstore services only), each every line or
/// none, in the order sent. Keyed by order id: a repeat answers the first answer again and
/// changes nothing. A reservation that is not valid gets its problem in its place and the
/// others are still decided.
#[utoipa::path(
    post, path = "/api/v1/inventory/reservations/batch", tag = "inventory",
    security(("service_token" = [])),
    request_body = ReservationBatch,
    responses(
        (status = 200, description = "One outcome per reservation, in the order sent", body = BatchAnswer),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No reservations, or more than 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn reserve_batch(
    State(state): State<InventoryState>,
    _service: ServiceCaller,
    Json(body): Json<ReservationBatch>,
) -> Result<Json<BatchAnswer>, ApiError> {
    let requests = body.reservations.unwrap_or_default();
    check_list_length("reservations", requests.len(), stock::MAX_BATCH)?;
    // Each request is checked on its own: a bad one is answered with its problem, in its place.
    let mut valid = Vec::with_capacity(requests.len());
    let mut problems = Vec::with_capacity(requests.len());
    for request in &requests {
        match stock::validate(request) {
            Ok(reservation) => {
                valid.push(reservation);
                problems.push(None);
            }
            Err(err) => problems.push(Some(err.to_problem(None))),
        }
    }
    let mut answers = stock::reserve_all(&state.db, &state.outbox, &valid)
        .await?
        .into_iter();
    let mut results = Vec::with_capacity(problems.len());
    for problem in problems {
        let outcome = match problem {
            None => {
                let answer = answers.next().ok_or_else(|| {
                    ApiError::internal(anyhow::anyhow!("a reservation went unanswered"))
                })?;
                state.metrics.answered(&answer);
                BatchOutcome {
                    reservation: Some(answer.view),
                    problem: None,
                }
            }
            Some(problem) => BatchOutcome {
                reservation: None,
                problem: Some(problem),
            },
        };
        results.push(outcome);
    }
    tracing::info!(reservations = results.len(), "Reservation batch answered.");
    Ok(Json(BatchAnswer { results }))
}

/// Gives back the units of an order's reservation (bookstore services only). An order not seen
/// yet is recorded as released, so a later reservation for it takes nothing.
#[utoipa::path(
    post, path = "/api/v1/inventory/reservations/{order_id}/release", tag = "inventory",
    security(("service_token" = [])),
    params(("order_id" = String, Path, description = "Order id, 1 to 36 characters, no spaces or control characters", min_length = 1, max_length = 36, pattern = r"^[^\s\u0000-\u001F\u007F-\u009F]{1,36}$")),
    responses(
        (status = 200, description = "The reservation as it now stands", body = ReservationView),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(order_id = %order_id))]
async fn release(
    State(state): State<InventoryState>,
    _service: ServiceCaller,
    Path(order_id): Path<String>,
) -> Result<Json<ReservationView>, ApiError> {
    path_id("order_id", &order_id)?;
    let view = stock::release(&state.db, &state.outbox, &order_id).await?;
    tracing::info!(status = view.status.as_str(), "Release answered.");
    Ok(Json(view))
}
