//! `/api/v1/books`: listing with filters and facets, detail (both through the response
//! cache), look-up by ids, and the admin's changes.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use contracts::catalog::Lookup;
use platform::ApiError;
use platform::auth::AdminUser;
use platform::error::{Problem, check_list_length};
use platform::extract::{Json, Query};
use platform::pagination::{Page, PageRequest};
use sea_orm::{ModelTrait, PaginatorTrait, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::CatalogState;
use crate::books::{self, BookInput, BookView};
use crate::cache::{CachedJson, PageKey};
use crate::entity::book;
use crate::search::{GenreCount, ListQuery, Search};

pub fn routes() -> OpenApiRouter<CatalogState> {
    OpenApiRouter::new()
        .routes(routes!(list_books, create_book))
        .routes(routes!(get_book, update_book, delete_book))
        .routes(routes!(lookup_books))
}

/// The books a look-up found.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LookupAnswer {
    /// The books of the ids that name one, in no particular order.
    pub books: Vec<BookView>,
}

/// A page of books with the genre facets of the whole result.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BookList {
    #[serde(flatten)]
    pub page: Page<BookView>,
    pub facets: Facets,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Facets {
    /// Matching books per genre, ignoring the genre filter.
    pub genres: Vec<GenreCount>,
}

/// Lists books with filters, sort and pagination. The answer carries a strong `ETag`
/// (`If-None-Match` gets `304`) and comes gzip- or brotli-compressed when the client accepts it.
#[utoipa::path(
    get, path = "/api/v1/books", tag = "books",
    params(ListQuery),
    responses(
        (status = 200, body = BookList),
        (status = 304, description = "Not modified: `If-None-Match` names the current page"),
        (status = 400, description = "Invalid parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn list_books(
    State(state): State<CatalogState>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let search = query.validate()?;
    let key = PageKey::List(search.clone());
    if let Some(page) = state.cache.get(&key) {
        return Ok(page.respond(&headers));
    }
    let version = state.cache.version(&key);
    let page = read_list(&state, &search).await?;
    let page = state.cache.insert(key, version, encode(&page)?);
    Ok(page.respond(&headers))
}

async fn read_list(state: &CatalogState, search: &Search) -> Result<BookList, ApiError> {
    let rows = search
        .ordered()
        .offset(search.page.offset())
        .limit(search.page.limit)
        .all(&state.db)
        .await?;
    let total = match total_from_page(search.page, rows.len()) {
        Some(total) => total,
        None => search.filtered().count(&state.db).await?,
    };
    let items = rows
        .into_iter()
        .map(BookView::try_from)
        .collect::<Result<_, _>>()?;
    let genres = search.genre_facets().all(&state.db).await?;
    Ok(BookList {
        page: Page::new(items, search.page, total),
        facets: Facets { genres },
    })
}

/// The number of matches, when a page of `found` rows tells it: a page with room to spare is
/// the last one (a count would only repeat the page's query). An empty page past the first says
/// nothing: the results may end anywhere before it.
fn total_from_page(page: PageRequest, found: usize) -> Option<u64> {
    let found = u64::try_from(found).ok()?;
    let last = found < page.limit && (found > 0 || page.offset() == 0);
    last.then(|| page.offset() + found)
}

/// A response body as the cache keeps it.
fn encode(body: &impl Serialize) -> Result<CachedJson, ApiError> {
    Ok(CachedJson::new(
        serde_json::to_vec(body).map_err(ApiError::internal)?,
    ))
}

async fn find(state: &CatalogState, id: &str) -> Result<book::Model, ApiError> {
    books::find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("book"))
}

/// One book, with a strong `ETag` and compression as for the list.
#[utoipa::path(
    get, path = "/api/v1/books/{id}", tag = "books",
    params(("id" = String, Path, description = "Book id")),
    responses(
        (status = 200, body = BookView),
        (status = 304, description = "Not modified: `If-None-Match` names the current book"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn get_book(
    State(state): State<CatalogState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let key = PageKey::Book(id.clone());
    if let Some(book) = state.cache.get(&key) {
        return Ok(book.respond(&headers));
    }
    let version = state.cache.version(&key);
    let book = BookView::try_from(find(&state, &id).await?)?;
    let book = state.cache.insert(key, version, encode(&book)?);
    Ok(book.respond(&headers))
}

/// Several books at once, by id (what the orders service reads when orders are placed); ids of
/// no book are left out of the answer.
#[utoipa::path(
    post, path = "/api/v1/books/lookup", tag = "books",
    request_body = Lookup,
    responses(
        (status = 200, body = LookupAnswer),
        (status = 422, description = "No ids, or more than 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(ids = lookup.ids.len()))]
async fn lookup_books(
    State(state): State<CatalogState>,
    Json(lookup): Json<Lookup>,
) -> Result<Json<LookupAnswer>, ApiError> {
    check_list_length("ids", lookup.ids.len(), books::MAX_LOOKUP)?;
    let books = books::find_many(&state.db, &lookup.ids)
        .await?
        .into_iter()
        .map(BookView::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Json(LookupAnswer { books }))
}

/// Adds a book (admin only).
#[utoipa::path(
    post, path = "/api/v1/books", tag = "books", security(("bearer" = [])),
    request_body = BookInput,
    responses(
        (status = 201, body = BookView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "ISBN already in the catalogue", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all)]
async fn create_book(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Json(input): Json<BookInput>,
) -> Result<Response, ApiError> {
    let fields = input.validate(true)?;
    let created = books::insert(&state.db, fields, 0).await?;
    state.cache.book_changed(&created.id);
    tracing::info!(book_id = %created.id, "Book added.");
    Ok((StatusCode::CREATED, Json(BookView::try_from(created)?)).into_response())
}

/// Changes some fields of a book (admin only).
#[utoipa::path(
    patch, path = "/api/v1/books/{id}", tag = "books", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    request_body = BookInput,
    responses(
        (status = 200, body = BookView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn update_book(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    Json(input): Json<BookInput>,
) -> Result<Json<BookView>, ApiError> {
    let fields = input.validate(false)?;
    let existing = find(&state, &id).await?;
    let updated = books::update(&state.db, existing, fields).await?;
    state.cache.book_changed(&id);
    Ok(Json(updated.try_into()?))
}

/// Removes a book (admin only).
#[utoipa::path(
    delete, path = "/api/v1/books/{id}", tag = "books", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn delete_book(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    find(&state, &id).await?.delete(&state.db).await?;
    state.cache.book_changed(&id);
    crate::files::delete_book_files(&state.files.storage, &id).await;
    tracing::info!("Book deleted.");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_with_room_to_spare_gives_the_total() {
        let page = |page, limit| PageRequest { page, limit };
        assert_eq!(total_from_page(page(1, 100), 60), Some(60));
        assert_eq!(total_from_page(page(1, 100), 0), Some(0));
        assert_eq!(total_from_page(page(3, 20), 7), Some(47));
        // A full page may have more after it; an empty later page may follow fewer matches.
        assert_eq!(total_from_page(page(1, 20), 20), None);
        assert_eq!(total_from_page(page(4, 20), 0), None);
    }
}
