//! `/api/v1/books/{id}/summary`: an admin asks for a book's summary again; the worker stores
//! the outcome.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use platform::auth::{AdminUser, ServiceCaller, service_token_openapi};
use platform::error::Problem;
use platform::extract::Json;
use platform::{ApiError, ErrorCode};
use sea_orm::TransactionTrait;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::CatalogState;
use crate::books::{self, BookView};
use crate::summary::{self, SummaryOutcome};

pub fn routes() -> OpenApiRouter<CatalogState> {
    OpenApiRouter::with_openapi(service_token_openapi())
        .routes(routes!(request_summary, store_summary))
}

async fn find(state: &CatalogState, id: &str) -> Result<crate::entity::book::Model, ApiError> {
    books::find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("book"))
}

/// Asks for a new summary of the book's document (admin only), for instance after a failure or
/// with another model configured. The summary becomes `pending`; the worker settles it.
#[utoipa::path(
    post, path = "/api/v1/books/{id}/summary", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    responses(
        (status = 202, description = "Asked for; the book with its summary pending", body = BookView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The book has no document", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn request_summary(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let book = find(&state, &id).await?;
    let Some(sha256) = book
        .document_sha256
        .as_deref()
        .filter(|_| book.document_key.is_some())
    else {
        return Err(ApiError::conflict(
            ErrorCode::Conflict,
            "the book has no document to summarise; upload one first",
        ));
    };
    let txn = state.db.begin().await?;
    let envelope = summary::request(&txn, &state.outbox, &book.id, sha256).await?;
    txn.commit().await?;
    state.cache.book_changed(&book.id);
    state.outbox.committed(vec![envelope]);
    tracing::info!("Summary asked for.");
    let book = find(&state, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(BookView::try_from(book)?)).into_response())
}

/// Stores the outcome of a summary (the worker, with the service token). Repeating it changes
/// nothing but the time; an outcome for a document that has since been replaced is a 409.
#[utoipa::path(
    put, path = "/api/v1/books/{id}/summary", tag = "files", security(("service_token" = [])),
    params(("id" = String, Path, description = "Book id")),
    request_body = SummaryOutcome,
    responses(
        (status = 200, description = "Stored; the book with its summary", body = BookView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The document has changed since", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn store_summary(
    State(state): State<CatalogState>,
    _service: ServiceCaller,
    Path(id): Path<String>,
    Json(outcome): Json<SummaryOutcome>,
) -> Result<Json<BookView>, ApiError> {
    outcome.validate()?;
    let book = find(&state, &id).await?;
    let txn = state.db.begin().await?;
    let envelope = summary::settle(&txn, &state.outbox, &book, &outcome).await?;
    txn.commit().await?;
    state.cache.book_changed(&book.id);
    state.outbox.committed(vec![envelope]);
    tracing::info!("Summary stored.");
    Ok(Json(find(&state, &id).await?.try_into()?))
}
