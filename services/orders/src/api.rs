//! `/api/v1/orders`: placing, listing, reading and polling orders, the pending-for-book and
//! bought-book look-ups, cancelling, and the status endpoint of the order worker (and of admins
//! for shipping).
//! Another user's order is always answered as not found, so ids cannot be probed.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use platform::ApiError;
use platform::auth::{
    AdminUser, AuthUser, ServiceCaller, ServiceOrUser, ServiceToken, TokenVerifier,
    service_token_openapi,
};
use platform::error::{FieldErrors, Problem, check_list_length};
use platform::extract::{Json, Query};
use platform::pagination::{Page, PageParams};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use contracts::orders::{MAX_STATUS_BATCH, StatusBatch, StatusBatchAnswer, StatusOutcome};

use crate::OrdersState;
use crate::orders::{
    self, ListFilter, OrderView, PlaceOrder, StatusChange, StatusView, StoredOrder,
    check_idempotency_key,
};
use crate::status::{Actor, OrderStatus};

pub fn routes() -> OpenApiRouter<OrdersState> {
    OpenApiRouter::with_openapi(service_token_openapi())
        .routes(routes!(place_order, list_orders))
        .routes(routes!(pending_order))
        .routes(routes!(bought_order))
        .routes(routes!(get_order))
        .routes(routes!(get_status, set_status))
        .routes(routes!(set_statuses))
        .routes(routes!(cancel_order))
}

/// The header carrying a client's idempotency key.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The order `id` as `caller` may see it: their own, or any for an admin. Everything else is
/// 404, exactly like an order that does not exist.
async fn visible(
    state: &OrdersState,
    caller: &AuthUser,
    id: &str,
) -> Result<StoredOrder, ApiError> {
    match orders::find(&state.db, id).await? {
        Some(order) if caller.is_admin() || order.row.user_id == caller.id => Ok(order),
        _ => Err(ApiError::not_found("order")),
    }
}

/// Places an order. Titles and prices are copied from the catalogue; the answer is `202`: the
/// order is `pending` until the order worker has reserved its stock.
#[utoipa::path(
    post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(
        ("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 100, pattern = r"^[!-~]{1,100}$",
         description = "1 to 100 visible ASCII characters. The same key from the same user answers the same order."),
    ),
    request_body = PlaceOrder,
    responses(
        (status = 202, description = "Placed (or placed before with this key)", body = OrderView),
        (status = 400, description = "Malformed JSON or bad Idempotency-Key", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Idempotency-Key reused with different lines (`conflict`), or a limit of what one customer may hold or have pending reached (`order_limit`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many new orders from this customer; Retry-After says when to try again", body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid lines, per line", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The catalogue cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
async fn place_order(
    State(state): State<OrdersState>,
    caller: AuthUser,
    headers: HeaderMap,
    Json(request): Json<PlaceOrder>,
) -> Result<Response, ApiError> {
    let mut keys = headers.get_all(IDEMPOTENCY_KEY).iter();
    let key = match (keys.next(), keys.next()) {
        (None, _) => None,
        (Some(value), None) => Some(check_idempotency_key(value.as_bytes())?),
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                platform::ErrorCode::BadRequest,
                "send at most one Idempotency-Key header",
            ));
        }
    };
    let placed = orders::place(
        &state.db,
        &state.writer,
        state.catalog.as_ref(),
        &state.limiter,
        &caller.id,
        key.as_deref(),
        &request,
    )
    .await?;
    if placed.new {
        state.metrics.placed();
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(OrderView::try_from(placed.order)?),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListOrdersQuery {
    /// Only this user's orders (admin; a customer only ever sees their own).
    user_id: Option<String>,
    /// Only orders with this status.
    #[param(value_type = Option<OrderStatus>)]
    status: Option<String>,
    /// Page number, 1 to 10000 (default 1).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 10000)]
    page: Option<String>,
    /// Items per page, 1 to 100 (default 20).
    #[param(value_type = Option<u64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
}

/// Orders, newest first: the caller's own, or everyone's for an admin.
#[utoipa::path(
    get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])),
    params(ListOrdersQuery),
    responses(
        (status = 200, body = Page<OrderView>),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
async fn list_orders(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Query(query): Query<ListOrdersQuery>,
) -> Result<Json<Page<OrderView>>, ApiError> {
    let mut errors = FieldErrors::new();
    let page = PageParams {
        page: query.page.clone(),
        limit: query.limit.clone(),
    }
    .validate(&mut errors);
    let status = query
        .status
        .as_deref()
        .and_then(|s| errors.check("status", s.parse::<OrderStatus>()));
    errors.into_invalid_parameters()?;
    let user_id = if caller.is_admin() {
        query.user_id
    } else {
        // A customer's list is their own orders; asking for someone else's gives nothing.
        match query.user_id {
            Some(other) if other != caller.id => return Ok(Json(Page::new(Vec::new(), page, 0))),
            _ => Some(caller.id.clone()),
        }
    };
    let (items, total) = orders::list(&state.db, &ListFilter { user_id, status }, page).await?;
    let items = items
        .into_iter()
        .map(OrderView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(Page::new(items, page, total)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BookQuery {
    /// The book the order must contain.
    #[param(value_type = String, min_length = 1)]
    book_id: Option<String>,
}

impl BookQuery {
    fn book_id(self) -> Result<String, ApiError> {
        self.book_id.filter(|id| !id.is_empty()).ok_or_else(|| {
            let mut errors = FieldErrors::new();
            errors.add("book_id", "is required");
            ApiError::invalid_parameters(errors)
        })
    }
}

/// The caller's newest pending order containing a book: what a book page shows while the
/// purchase is being processed.
#[utoipa::path(
    get, path = "/api/v1/orders/pending", tag = "orders", security(("bearer" = [])),
    params(BookQuery),
    responses(
        (status = 200, body = OrderView),
        (status = 400, description = "Missing book_id", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No pending order with that book", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
async fn pending_order(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Query(query): Query<BookQuery>,
) -> Result<Json<OrderView>, ApiError> {
    let book_id = query.book_id()?;
    let order = orders::newest_with_book(&state.db, &caller.id, &book_id, &[OrderStatus::Pending])
        .await?
        .ok_or_else(|| ApiError::not_found("pending order with this book"))?;
    Ok(Json(order.try_into()?))
}

/// The caller's newest order that bought a book (completed, shipped or delivered): the proof of
/// purchase the catalogue asks for before it hands out a book's document.
#[utoipa::path(
    get, path = "/api/v1/orders/bought", tag = "orders", security(("bearer" = [])),
    params(BookQuery),
    responses(
        (status = 200, body = OrderView),
        (status = 400, description = "Missing book_id", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The caller has not bought that book", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
async fn bought_order(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Query(query): Query<BookQuery>,
) -> Result<Json<OrderView>, ApiError> {
    let book_id = query.book_id()?;
    let order = orders::newest_with_book(&state.db, &caller.id, &book_id, &OrderStatus::BOUGHT)
        .await?
        .ok_or_else(|| ApiError::not_found("bought order with this book"))?;
    Ok(Json(order.try_into()?))
}

/// One order.
#[utoipa::path(
    get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = OrderView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order, or another user's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
async fn get_order(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    Ok(Json(visible(&state, &caller, &id).await?.try_into()?))
}

/// An order's status alone, for cheap polling.
#[utoipa::path(
    get, path = "/api/v1/orders/{id}/status", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, body = StatusView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order, or another user's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
async fn get_status(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<StatusView>, ApiError> {
    Ok(Json(visible(&state, &caller, &id).await?.status_view()))
}

/// Cancels an order: its owner while it is pending, an admin while it is pending or completed.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    params(("id" = String, Path, description = "Order id")),
    responses(
        (status = 200, description = "Cancelled (or already cancelled)", body = OrderView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such order, or another user's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The order can no longer be cancelled by the caller", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The order kept changing while it was being cancelled; try again (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
async fn cancel_order(
    State(state): State<OrdersState>,
    caller: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    visible(&state, &caller, &id).await?;
    let actor = if caller.is_admin() {
        Actor::Admin
    } else {
        Actor::Owner
    };
    let outcome = orders::transition(
        &state.db,
        &state.outbox,
        &id,
        OrderStatus::Cancelled,
        None,
        actor,
    )
    .await?;
    state.metrics.transitioned(&outcome);
    Ok(Json(
        orders::stored(&state.db, outcome.row).await?.try_into()?,
    ))
}

/// A new status for an order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    pub status: OrderStatus,
    /// Required with `failed` (e.g. `out_of_stock`), optional with `cancelled`, else absent: 1
    /// to 64 characters, not only spaces, no control characters.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub reason: Option<String>,
}

/// Who may call the status endpoint: a bookstore service (the order worker), or an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCaller {
    Service,
    Admin(AuthUser),
}

impl<S> FromRequestParts<S> for StatusCaller
where
    Arc<TokenVerifier>: FromRef<S>,
    ServiceToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    /// A request carrying the service token is judged by it alone (a wrong one is 403, never a
    /// fall-back to the access token); anything else must be an admin's access token.
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match ServiceOrUser::from_request_parts(parts, state).await? {
            ServiceOrUser::Service => Ok(Self::Service),
            ServiceOrUser::User(user) => Ok(Self::Admin(AdminUser::require(user)?.0)),
        }
    }
}

/// Sets an order's status: `completed` or `failed` by the order worker (service token);
/// `shipped`, `delivered` and `cancelled` by an admin. Setting the status the order already
/// has changes nothing and announces nothing.
#[utoipa::path(
    post, path = "/api/v1/orders/{id}/status", tag = "orders", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Order id"),
        ("x-service-token" = Option<String>, Header, description = "The service token of bookstore services (instead of an admin's access token)"),
    ),
    request_body = SetStatus,
    responses(
        (status = 200, description = "The order with its new (or unchanged) status", body = OrderView),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither the service token nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not a transition this caller may make from the current status", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The order kept changing while its status was being set; try again (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(order_id = %id))]
async fn set_status(
    State(state): State<OrdersState>,
    caller: StatusCaller,
    Path(id): Path<String>,
    Json(request): Json<SetStatus>,
) -> Result<Json<OrderView>, ApiError> {
    let actor = match caller {
        StatusCaller::Service => Actor::Service,
        StatusCaller::Admin(_) => Actor::Admin,
    };
    let outcome = orders::transition(
        &state.db,
        &state.outbox,
        &id,
        request.status,
        request.reason,
        actor,
    )
    .await?;
    state.metrics.transitioned(&outcome);
    Ok(Json(
        orders::stored(&state.db, outcome.row).await?.try_into()?,
    ))
}

/// Sets the status of several orders in one go (bookstore services only): each change exactly
/// as `POST /api/v1/orders/{id}/status` with the service token would make it, written together.
#[utoipa::path(
    post, path = "/api/v1/orders/statuses", tag = "orders", security(("service_token" = [])),
    request_body = StatusBatch,
    responses(
        (status = 200, description = "One outcome per change, in the order sent", body = StatusBatchAnswer),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No changes, or more than 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn set_statuses(
    State(state): State<OrdersState>,
    _service: ServiceCaller,
    Json(batch): Json<StatusBatch>,
) -> Result<Json<StatusBatchAnswer>, ApiError> {
    check_list_length("changes", batch.changes.len(), MAX_STATUS_BATCH)?;
    let changes: Vec<StatusChange> = batch
        .changes
        .into_iter()
        .map(|change| StatusChange {
            order_id: change.order_id.into_string(),
            to: change.status,
            reason: change.reason,
        })
        .collect();
    let answers =
        orders::transition_all(&state.db, &state.outbox, &changes, Actor::Service).await?;
    let mut results = Vec::with_capacity(answers.len());
    for answer in answers {
        results.push(match answer {
            Ok(outcome) => {
                state.metrics.transitioned(&outcome);
                StatusOutcome {
                    order: Some(orders::status_view(&outcome.row)),
                    problem: None,
                }
            }
            Err(err) => StatusOutcome {
                order: None,
                problem: Some(err.to_problem(None)),
            },
        });
    }
    Ok(Json(StatusBatchAnswer { results }))
}
