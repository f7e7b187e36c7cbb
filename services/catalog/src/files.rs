//! `/api/v1/books/{id}/cover` and `/api/v1/books/{id}/document`: uploading, replacing, deleting
//! and serving a book's cover and document.
//!
//! An upload is checked while it streams and stored under a key of the server's making
//! ([`crate::storage`]); only then does the book point at it, and only then is the file it
//! replaces deleted. A refused or failed upload leaves nothing behind.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path as Key;
use object_store::{GetOptions, GetRange, ObjectStoreExt, PutPayload, WriteMultipart};
use platform::auth::{AdminUser, ServiceOrUser};
use platform::conditional::{self, RangeAnswer};
use platform::error::{FieldErrors, Problem};
use platform::extract::{Json, Query};
use platform::http::LARGEST_BODY_LIMIT;
use platform::{ApiError, ErrorCode};
use sea_orm::TransactionTrait;
use serde::Deserialize;
use tokio::sync::Semaphore;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::CatalogState;
use crate::books::{self, BookView, FileSlot, StoredFile};
use crate::cover::{self, CoverError, MAX_COVER_BYTES};
use crate::document::{
    self, DocumentCheck, DocumentError, DocumentKind, MAX_DOCUMENT_BYTES, SNIFF_BYTES,
};
use crate::entity::book;
use crate::purchases::{Buyer, Purchases};
use crate::storage::{self, CoverSize, Storage};
use crate::summary;

// The largest document must fit in the largest body the HTTP layer lets through.
const _: () = assert!(MAX_DOCUMENT_BYTES < LARGEST_BODY_LIMIT as u64);

/// The multipart field that carries the file.
const FILE_FIELD: &str = "file";

/// Part size of a document's multipart upload to the store (S3's minimum is 5 MiB), and how
/// many parts may be in flight: what one document upload holds in memory at most.
const PART_BYTES: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// How often a replacement retries when another upload for the same book wins the race.
const SWAP_ATTEMPTS: usize = 5;

/// What the file routes share.
#[derive(Clone)]
pub struct Files {
    pub storage: Storage,
    purchases: Arc<dyn Purchases>,
    /// Decoding an image takes a core and up to ~150 MiB; one per core at a time.
    decoders: Arc<Semaphore>,
}

impl Files {
    pub fn new(storage: Storage, purchases: Arc<dyn Purchases>) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            storage,
            purchases,
            decoders: Arc::new(Semaphore::new(cores)),
        }
    }
}

pub fn routes() -> OpenApiRouter<CatalogState> {
    OpenApiRouter::new()
        .routes(routes!(get_cover, put_cover, delete_cover))
        .routes(routes!(get_document, put_document, delete_document))
        .layer(DefaultBodyLimit::max(LARGEST_BODY_LIMIT))
}

// ---------------------------------------------------------------------------------------------
// Errors.

/// The store could not be used: a dependency that is down, for the client a 503.
fn storage_error(err: object_store::Error) -> ApiError {
    tracing::error!(error = %err, "The file store failed.");
    ApiError::unavailable("the file store cannot be reached; try again later", 5)
}

fn field_error(message: impl Into<String>) -> ApiError {
    let mut errors = FieldErrors::new();
    errors.add(FILE_FIELD, message);
    ApiError::validation(errors)
}

fn not_multipart(rejection: MultipartRejection) -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        format!(
            "the body must be multipart/form-data with the file in the field `{FILE_FIELD}` ({})",
            rejection.body_text()
        ),
    )
}

fn unreadable(err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, err.body_text())
    } else {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("the multipart body cannot be read: {}", err.body_text()),
        )
    }
}

fn cover_refused(err: CoverError) -> ApiError {
    match err {
        CoverError::NotAnImage => ApiError::new(ErrorCode::UnsupportedMediaType, err.to_string()),
        CoverError::Undecodable(..) | CoverError::TooLarge(..) => field_error(err.to_string()),
    }
}

fn document_refused(err: DocumentError) -> ApiError {
    match err {
        DocumentError::UnknownKind => {
            ApiError::new(ErrorCode::UnsupportedMediaType, err.to_string())
        }
        DocumentError::TooLarge => ApiError::new(ErrorCode::PayloadTooLarge, err.to_string()),
        DocumentError::Empty | DocumentError::NotText(_) => field_error(err.to_string()),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared steps.

async fn find(state: &CatalogState, id: &str) -> Result<book::Model, ApiError> {
    books::find(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("book"))
}

/// The form's file field; the file must come first, and its name, type and any other field are
/// ignored (the server judges the bytes and makes the key).
async fn file_field(multipart: &mut Multipart) -> Result<Field<'_>, ApiError> {
    match multipart.next_field().await.map_err(unreadable)? {
        Some(field) if field.name() == Some(FILE_FIELD) => Ok(field),
        Some(field) => Err(field_error(format!(
            "the form's first field must be `{FILE_FIELD}`, not `{}`",
            field.name().unwrap_or_default()
        ))),
        None => Err(field_error("is required")),
    }
}

/// Points the book's `slot` at `new` (or at nothing), then deletes the file it replaced. When
/// the book is gone meanwhile, `new` is deleted and the answer is 404.
async fn replace(
    state: &CatalogState,
    book_id: &str,
    slot: FileSlot,
    new: Option<StoredFile>,
) -> Result<book::Model, ApiError> {
    let files = &state.files;
    let new_key = new.as_ref().map(|file| file.key.clone());
    for _ in 0..SWAP_ATTEMPTS {
        let Some(current) = books::find(&state.db, book_id).await? else {
            if let Some(key) = &new_key {
                discard(&files.storage, slot, key).await;
            }
            return Err(ApiError::not_found("book"));
        };
        let old_key = slot.key(&current).map(str::to_owned);
        let txn = state.db.begin().await?;
        if books::swap_file(&txn, &current, slot, old_key.as_deref(), new.as_ref())
            .await?
            .is_none()
        {
            txn.rollback().await?;
            continue;
        }
        // A new document is summarised; a removed one takes its summary with it.
        let mut announced = Vec::new();
        if slot == FileSlot::Document {
            match new.as_ref().and_then(|file| file.document.as_ref()) {
                Some(document) => announced
                    .push(summary::request(&txn, &state.outbox, book_id, &document.sha256).await?),
                None => summary::clear(&txn, book_id).await?,
            }
        }
        txn.commit().await?;
        state.cache.book_changed(book_id);
        state.outbox.committed(announced);
        if let Some(old_key) = old_key {
            discard(&files.storage, slot, &old_key).await;
        }
        return find(state, book_id).await;
    }
    if let Some(key) = &new_key {
        discard(&files.storage, slot, key).await;
    }
    Err(ApiError::unavailable(
        "the book's files kept changing; try again",
        1,
    ))
}

/// Deletes a stored file that nothing points at any more. A failure is logged, not answered:
/// the book is already right, and an orphaned object costs only space.
async fn discard(storage: &Storage, slot: FileSlot, key: &str) {
    let key = Key::from(key);
    let deleted = match slot {
        FileSlot::Cover => storage.delete_all(&key).await,
        FileSlot::Document => storage.delete(&key).await,
    };
    if let Err(err) = deleted {
        tracing::warn!(error = %err, key = %key, "A replaced file could not be deleted.");
    }
}

// ---------------------------------------------------------------------------------------------
// Covers.

/// Which stored size of a cover, and the version the URL was made for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CoverQuery {
    /// `small` (300 px wide, for lists) or `large` (600 px, the default).
    #[param(inline)]
    size: Option<CoverSize>,
    /// The cover's version, as the book's `cover_url` carries it. With the current version the
    /// answer may be cached for a year; without it, it is revalidated every time.
    v: Option<String>,
}

/// A book's cover as JPEG. Public; cached for a year under the versioned URL of the book's
/// `cover_url`, and answered `304` to a matching `If-None-Match`.
#[utoipa::path(
    get, path = "/api/v1/books/{id}/cover", tag = "files",
    params(("id" = String, Path, description = "Book id"), CoverQuery),
    responses(
        (status = 200, description = "The cover", content_type = "image/jpeg"),
        (status = 304, description = "The client's copy is current"),
        (status = 404, description = "No such book, or it has no cover", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The file store cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn get_cover(
    State(state): State<CatalogState>,
    Path(id): Path<String>,
    Query(query): Query<CoverQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let book = find(&state, &id).await?;
    let cover_key = book
        .cover_key
        .ok_or_else(|| ApiError::not_found("cover of this book"))?;
    let size = query.size.unwrap_or(CoverSize::Large);
    let version = storage::version_of(&cover_key);
    let etag = format!("\"{version}-{}\"", size.as_str());
    let cache_control = if query.v.as_deref() == Some(version) {
        "public, max-age=31536000, immutable"
    } else {
        "public, no-cache"
    };
    let mut response = if conditional::none_match_hits(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let image = state
            .files
            .storage
            .store()
            .get(&storage::cover_file(&cover_key, size))
            .await
            .map_err(storage_error)?
            .bytes()
            .await
            .map_err(storage_error)?;
        ([(header::CONTENT_TYPE, "image/jpeg")], image).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, header_value(&etag)?);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    Ok(response)
}

/// Sets or replaces a book's cover (admin only): `multipart/form-data` with the image in the
/// field `file`. JPEG, PNG or WebP, judged by content, at most 5 MiB and 6000×6000 pixels; it is
/// decoded and stored re-encoded at two sizes, without its metadata.
#[utoipa::path(
    put, path = "/api/v1/books/{id}/cover", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    request_body(content = inline(FileUpload), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The book with its new cover", body = BookView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 5 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the file is not a JPEG, PNG or WebP image", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, or an image that cannot be decoded or is too large", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The file store cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn put_cover(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<BookView>, ApiError> {
    let book = find(&state, &id).await?;
    let mut multipart = multipart.map_err(not_multipart)?;
    let mut field = file_field(&mut multipart).await?;
    let mut upload = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
        if upload.len() + chunk.len() > MAX_COVER_BYTES {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "the cover is larger than {} MiB",
                    MAX_COVER_BYTES / 1024 / 1024
                ),
            ));
        }
        upload.extend_from_slice(&chunk);
    }
    if upload.is_empty() {
        return Err(field_error("the file is empty"));
    }
    let derived = {
        let _permit = state
            .files
            .decoders
            .acquire()
            .await
            .map_err(ApiError::internal)?;
        tokio::task::spawn_blocking(move || cover::derive(&upload))
            .await
            .map_err(ApiError::internal)?
            .map_err(cover_refused)?
    };
    let prefix = storage::cover_prefix(&book.id, &storage::new_version());
    for (size, jpeg) in derived.sizes {
        let stored = state
            .files
            .storage
            .store()
            .put(
                &storage::cover_file(prefix.as_ref(), size),
                PutPayload::from(jpeg),
            )
            .await;
        if let Err(err) = stored {
            discard(&state.files.storage, FileSlot::Cover, prefix.as_ref()).await;
            return Err(storage_error(err));
        }
    }
    let new = StoredFile {
        key: prefix.to_string(),
        document: None,
    };
    let updated = replace(&state, &book.id, FileSlot::Cover, Some(new)).await?;
    tracing::info!("Cover stored.");
    Ok(Json(updated.try_into()?))
}

/// Removes a book's cover (admin only).
#[utoipa::path(
    delete, path = "/api/v1/books/{id}/cover", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    responses(
        (status = 204, description = "The book has no cover (any more)"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn delete_cover(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let book = find(&state, &id).await?;
    replace(&state, &book.id, FileSlot::Cover, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------------------------------
// Documents.

/// A `multipart/form-data` upload.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct FileUpload {
    /// The file. Its name and declared type are ignored.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A book's document (admins, customers with a completed, shipped or delivered order for the
/// book, and the worker with the service token). Supports one `Range` (and `If-Range`), and `If-None-Match`; saved under a name made
/// from the book's title.
#[utoipa::path(
    get, path = "/api/v1/books/{id}/document", tag = "files", security(("bearer" = []), ("service_token" = [])),
    params(("id" = String, Path, description = "Book id")),
    responses(
        (status = 200, description = "The document (PDF, EPUB or UTF-8 text)", content_type = "application/octet-stream"),
        (status = 206, description = "The requested byte range", content_type = "application/octet-stream"),
        (status = 304, description = "The client's copy is current"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The caller has not bought the book", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such book, or it has no document", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The range starts past the end", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The file store or the orders service cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn get_document(
    State(state): State<CatalogState>,
    caller: ServiceOrUser,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let book = find(&state, &id).await?;
    // The worker (reading the document to summarise it) and admins may; a customer must have
    // bought the book.
    if let ServiceOrUser::User(caller) = &caller
        && !caller.is_admin()
    {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let buyer = Buyer {
            user_id: &caller.id,
            authorization,
        };
        if !state.files.purchases.has_bought(&buyer, &book.id).await? {
            return Err(ApiError::forbidden(
                "only customers who bought this book may download its document",
            ));
        }
    }
    let (Some(key), Some(kind), Some(size), Some(sha256)) = (
        book.document_key.as_deref(),
        book.document_kind.as_deref().and_then(DocumentKind::parse),
        book.document_bytes
            .and_then(|bytes| u64::try_from(bytes).ok()),
        book.document_sha256.as_deref(),
    ) else {
        return Err(ApiError::not_found("document of this book"));
    };
    let etag = format!("\"{sha256}\"");
    let (ascii_name, utf8_name) = document::download_name(&book.title, kind);
    let disposition =
        format!("attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{utf8_name}");
    let mut response = if conditional::none_match_hits(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let part = match conditional::range(&headers, &etag, size) {
            RangeAnswer::Whole => None,
            RangeAnswer::Part(range) => Some(range),
            RangeAnswer::Unsatisfiable => {
                let mut refused = ApiError::new(
                    ErrorCode::RangeNotSatisfiable,
                    format!("the document has {size} bytes"),
                )
                .into_response();
                refused.headers_mut().insert(
                    header::CONTENT_RANGE,
                    header_value(&format!("bytes */{size}"))?,
                );
                return Ok(refused);
            }
        };
        let options = GetOptions {
            range: part.clone().map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let found = state
            .files
            .storage
            .store()
            .get_opts(&Key::from(key), options)
            .await
            .map_err(storage_error)?;
        let body = Body::from_stream(found.into_stream().map_err(std::io::Error::other));
        let mut response = Response::new(body);
        let length = match part {
            Some(range) => {
                *response.status_mut() = StatusCode::PARTIAL_CONTENT;
                response.headers_mut().insert(
                    header::CONTENT_RANGE,
                    header_value(&format!("bytes {}-{}/{size}", range.start, range.end - 1))?,
                );
                range.end - range.start
            }
            None => size,
        };
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        response
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    headers.insert(header::CONTENT_DISPOSITION, header_value(&disposition)?);
    headers.insert(header::ETAG, header_value(&etag)?);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // A bought book is personal: no shared cache may keep it.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(response)
}

fn header_value(text: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(text).map_err(ApiError::internal)
}

/// Sets or replaces a book's document (admin only): `multipart/form-data` with the file in the
/// field `file`. A PDF, an EPUB or UTF-8 text, judged by content, at most 50 MiB. Streamed to
/// the store; memory stays bounded whatever the size.
#[utoipa::path(
    put, path = "/api/v1/books/{id}/document", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    request_body(content = inline(FileUpload), content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The book with its new document", body = BookView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than 50 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not multipart, or the file is not a PDF, an EPUB or text", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No file, an empty one, or text that is not UTF-8 throughout", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The file store cannot be reached", body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn put_document(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<BookView>, ApiError> {
    let book = find(&state, &id).await?;
    let mut multipart = multipart.map_err(not_multipart)?;
    let mut field = file_field(&mut multipart).await?;
    // Enough of the start to tell the kind, before anything is written.
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_bytes = 0;
    while head_bytes < SNIFF_BYTES {
        match field.chunk().await.map_err(unreadable)? {
            Some(chunk) => {
                head_bytes += chunk.len();
                head.push(chunk);
            }
            None => break,
        }
    }
    let start = head.concat();
    let mut check =
        DocumentCheck::start(&start[..start.len().min(SNIFF_BYTES)]).map_err(document_refused)?;
    let key = storage::document_key(&book.id, &storage::new_version());
    let upload = state
        .files
        .storage
        .store()
        .put_multipart(&key)
        .await
        .map_err(storage_error)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let streamed = stream_document(&mut field, head, &mut check, &mut writer).await;
    let checked = match streamed.and_then(|()| check.finish().map_err(document_refused)) {
        Ok(checked) => checked,
        Err(err) => {
            if let Err(abort) = writer.abort().await {
                tracing::warn!(error = %abort, "An abandoned document upload could not be aborted.");
            }
            return Err(err);
        }
    };
    writer.finish().await.map_err(storage_error)?;
    let new = StoredFile {
        key: key.to_string(),
        document: Some(checked.clone()),
    };
    let updated = replace(&state, &book.id, FileSlot::Document, Some(new)).await?;
    tracing::info!(
        kind = checked.kind.as_str(),
        bytes = checked.bytes,
        "Document stored."
    );
    Ok(Json(updated.try_into()?))
}

/// Feeds the head and then the rest of the field through the checks into the store.
async fn stream_document(
    field: &mut Field<'_>,
    head: Vec<Bytes>,
    check: &mut DocumentCheck,
    writer: &mut WriteMultipart,
) -> Result<(), ApiError> {
    let mut pending = head.into_iter();
    loop {
        let chunk = match pending.next() {
            Some(chunk) => chunk,
            None => match field.chunk().await.map_err(unreadable)? {
                Some(chunk) => chunk,
                None => return Ok(()),
            },
        };
        check.feed(&chunk).map_err(document_refused)?;
        writer
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(storage_error)?;
        writer.put(chunk);
    }
}

/// Removes a book's document (admin only).
#[utoipa::path(
    delete, path = "/api/v1/books/{id}/document", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, description = "Book id")),
    responses(
        (status = 204, description = "The book has no document (any more)"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[tracing::instrument(skip_all, fields(book_id = %id))]
async fn delete_document(
    State(state): State<CatalogState>,
    _admin: AdminUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let book = find(&state, &id).await?;
    replace(&state, &book.id, FileSlot::Document, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes every stored file of a book that is no longer in the catalogue.
pub async fn delete_book_files(storage: &Storage, book_id: &str) {
    if let Err(err) = storage.delete_all(&storage::book_prefix(book_id)).await {
        tracing::warn!(error = %err, book_id, "The files of a deleted book could not be deleted.");
    }
}
