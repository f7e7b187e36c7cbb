//! Books: the API's view of a book, validation of new and changed books, and their storage.

use chrono::{DateTime, Utc};
use contracts::BookId;
use platform::error::{ConflictCode, FieldErrors};
use platform::money::Money;
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::document::{CheckedDocument, DocumentKind};
use crate::entity::book;
use crate::isbn::Isbn;
use crate::storage::{self, CoverSize};
use crate::summary::SummaryView;

/// How a book is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Hardcover,
    Paperback,
    Ebook,
    Audiobook,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hardcover => "hardcover",
            Self::Paperback => "paperback",
            Self::Ebook => "ebook",
            Self::Audiobook => "audiobook",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// Case-insensitive, so the sample data's "eBook" and "Hardcover" read as well.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "hardcover" => Ok(Self::Hardcover),
            "paperback" => Ok(Self::Paperback),
            "ebook" => Ok(Self::Ebook),
            "audiobook" => Ok(Self::Audiobook),
            _ => Err("must be one of hardcover, paperback, ebook, audiobook".into()),
        }
    }
}

/// A book as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BookView {
    pub id: String,
    pub isbn: String,
    pub title: String,
    pub authors: Vec<String>,
    pub publisher: String,
    pub format: Format,
    pub genre: String,
    pub price: Money,
    pub description: String,
    /// The cover for the book's page (600 px wide at most), when there is one. The URL changes
    /// whenever the cover does, so its answer may be cached for good.
    pub cover_url: Option<String>,
    /// The same cover for lists and grids (300 px wide at most).
    pub cover_thumbnail_url: Option<String>,
    /// Where the book's document is downloaded (by admins and the customers who bought the
    /// book), when there is one.
    pub document_url: Option<String>,
    /// What the document is, when there is one.
    pub document_kind: Option<DocumentKind>,
    /// The document's size in bytes, when there is one.
    pub document_bytes: Option<i64>,
    /// The document's SHA-256 (lower-case hex), when there is one.
    pub document_sha256: Option<String>,
    /// The summary of the document.
    pub summary: SummaryView,
    /// Units available to order.
    pub available: i32,
    pub in_stock: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<book::Model> for BookView {
    type Error = ApiError;

    fn try_from(model: book::Model) -> Result<Self, ApiError> {
        let authors = serde_json::from_str(&model.authors).map_err(ApiError::internal)?;
        let format = model
            .format
            .parse()
            .map_err(|err: String| ApiError::internal(anyhow::anyhow!(err)))?;
        let price = Money::from_cents(model.price_cents).map_err(ApiError::internal)?;
        let cover_url = |size: &str| {
            model.cover_key.as_deref().map(|key| {
                format!(
                    "/api/v1/books/{}/cover?size={size}&v={}",
                    model.id,
                    storage::version_of(key)
                )
            })
        };
        let document_kind = match (&model.document_key, &model.document_kind) {
            (Some(_), Some(kind)) => Some(DocumentKind::parse(kind).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("unknown document kind {kind:?}"))
            })?),
            _ => None,
        };
        let summary = SummaryView::of(&model)?;
        Ok(Self {
            cover_url: cover_url(CoverSize::Large.as_str()),
            cover_thumbnail_url: cover_url(CoverSize::Small.as_str()),
            document_url: model
                .document_key
                .as_ref()
                .map(|_| format!("/api/v1/books/{}/document", model.id)),
            document_kind,
            document_bytes: model.document_key.as_ref().and(model.document_bytes),
            document_sha256: model
                .document_key
                .as_ref()
                .and(model.document_sha256.clone()),
            summary,
            id: model.id,
            isbn: model.isbn,
            title: model.title,
            authors,
            publisher: model.publisher,
            format,
            genre: model.genre,
            price,
            description: model.description,
            available: model.available,
            in_stock: model.available > 0,
            created_at: model.created_at,
            updated_at: model.updated_at,
        })
    }
}

/// The fields of a book as a client sends them: on `POST` every field but `description` is
/// required (and not `null`); a `PATCH` changes the fields given and leaves `null` ones as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookInput {
    /// An ISBN-10 or ISBN-13 with a valid check digit, hyphens and spaces allowed.
    #[schema(pattern = r"^[- ]*(?:[0-9][- ]*){9}(?:[0-9Xx]|(?:[0-9][- ]*){3}[0-9])[- ]*$")]
    pub isbn: Option<String>,
    /// 1 to 300 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: Option<String>,
    /// 1 to 20 names, each 1 to 100 characters, not only spaces, no control characters.
    #[schema(min_items = 1, max_items = 20, inline, value_type = Option<Vec<AuthorName>>)]
    pub authors: Option<Vec<String>>,
    /// 1 to 200 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub publisher: Option<String>,
    #[schema(inline, value_type = Option<Format>)]
    pub format: Option<String>,
    /// 1 to 64 characters, not only spaces, no control characters.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub genre: Option<String>,
    /// Decimal string with at most two places, from 0.00 to 1000000.00, e.g. "24.90".
    #[schema(value_type = Option<Money>)]
    pub price: Option<String>,
    /// At most 20000 characters; line breaks and tabs are the only control characters allowed.
    #[schema(
        max_length = 20000,
        pattern = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$"
    )]
    pub description: Option<String>,
}

/// One author's name in [`BookInput`].
#[derive(ToSchema)]
#[schema(
    min_length = 1,
    max_length = 100,
    pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
)]
#[allow(dead_code)]
struct AuthorName(String);

/// Validated book fields; in an update, `None` means "leave as is".
#[derive(Debug, Default)]
pub struct BookFields {
    pub isbn: Option<Isbn>,
    pub title: Option<String>,
    pub authors: Option<Vec<String>>,
    pub publisher: Option<String>,
    pub format: Option<Format>,
    pub genre: Option<String>,
    pub price: Option<Money>,
    pub description: Option<String>,
}

/// The longest title, in characters (the OpenAPI document states these limits too; a test in
/// the binary's crate holds the two together).
pub const MAX_TITLE: usize = 300;
/// The longest author's name.
pub const MAX_AUTHOR: usize = 100;
/// The most authors of one book.
pub const MAX_AUTHORS: usize = 20;
/// The longest publisher's name.
pub const MAX_PUBLISHER: usize = 200;
/// The longest genre.
pub const MAX_GENRE: usize = 64;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 20_000;

fn text(value: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        Err("must not be empty".into())
    } else if value.chars().count() > max || value.to_lowercase().chars().count() > max {
        // The lower-cased copy (`*_key` columns) has the same size limit, and lower-casing can
        // lengthen a text ('İ' becomes two characters).
        Err(format!("must be at most {max} characters"))
    } else if value.chars().any(|c| c.is_control()) {
        Err("must not contain control characters".into())
    } else {
        Ok(value.to_owned())
    }
}

fn authors(values: &[String]) -> Result<Vec<String>, String> {
    if values.is_empty() || values.len() > MAX_AUTHORS {
        return Err(format!("must list 1 to {MAX_AUTHORS} authors"));
    }
    values.iter().map(|name| text(name, MAX_AUTHOR)).collect()
}

impl BookInput {
    /// Validates every given field; with `require_all`, missing required fields are errors too.
    pub fn validate(&self, require_all: bool) -> Result<BookFields, ApiError> {
        let mut errors = FieldErrors::new();
        let mut required = |name: &str, present: bool| {
            if require_all && !present {
                errors.add(name, "is required");
            }
        };
        required("isbn", self.isbn.is_some());
        required("title", self.title.is_some());
        required("authors", self.authors.is_some());
        required("publisher", self.publisher.is_some());
        required("format", self.format.is_some());
        required("genre", self.genre.is_some());
        required("price", self.price.is_some());
        let fields = BookFields {
            isbn: self
                .isbn
                .as_deref()
                .and_then(|v| errors.check("isbn", Isbn::parse(v))),
            title: self
                .title
                .as_deref()
                .and_then(|v| errors.check("title", text(v, MAX_TITLE))),
            authors: self
                .authors
                .as_deref()
                .and_then(|v| errors.check("authors", authors(v))),
            publisher: self
                .publisher
                .as_deref()
                .and_then(|v| errors.check("publisher", text(v, MAX_PUBLISHER))),
            format: self
                .format
                .as_deref()
                .and_then(|v| errors.check("format", v.parse::<Format>())),
            genre: self
                .genre
                .as_deref()
                .and_then(|v| errors.check("genre", text(v, MAX_GENRE))),
            price: self
                .price
                .as_deref()
                .and_then(|v| errors.check("price", v.parse::<Money>())),
            description: match self.description.as_deref() {
                Some(v) if v.chars().count() > MAX_DESCRIPTION => {
                    errors.add(
                        "description",
                        format!("must be at most {MAX_DESCRIPTION} characters"),
                    );
                    None
                }
                Some(v)
                    if v.chars()
                        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
                {
                    errors.add(
                        "description",
                        "must not contain control characters other than line breaks and tabs",
                    );
                    None
                }
                Some(v) => Some(v.trim().to_owned()),
                None => None,
            },
        };
        errors.into_validation()?;
        Ok(fields)
    }
}

/// Applies validated fields to a row, keeping the derived search columns in step.
pub fn apply(model: &mut book::ActiveModel, fields: BookFields) -> Result<(), ApiError> {
    if let Some(isbn) = fields.isbn {
        model.isbn = Set(isbn.as_str().to_owned());
    }
    if let Some(title) = fields.title {
        model.title_key = Set(title.to_lowercase());
        model.title = Set(title);
    }
    if let Some(authors) = fields.authors {
        model.authors_key = Set(authors.join("; ").to_lowercase());
        model.authors = Set(serde_json::to_string(&authors).map_err(ApiError::internal)?);
    }
    if let Some(publisher) = fields.publisher {
        model.publisher = Set(publisher);
    }
    if let Some(format) = fields.format {
        model.format = Set(format.as_str().to_owned());
    }
    if let Some(genre) = fields.genre {
        model.genre_key = Set(genre.to_lowercase());
        model.genre = Set(genre);
    }
    if let Some(price) = fields.price {
        model.price_cents = Set(price.cents());
    }
    if let Some(description) = fields.description {
        model.description = Set(description);
    }
    let search_text = format!(
        "{} {} {}",
        model
            .title_key
            .try_as_ref()
            .map(String::as_str)
            .unwrap_or_default(),
        model
            .authors_key
            .try_as_ref()
            .map(String::as_str)
            .unwrap_or_default(),
        model
            .isbn
            .try_as_ref()
            .map(String::as_str)
            .unwrap_or_default(),
    );
    model.search_text = Set(search_text);
    model.updated_at = Set(Utc::now());
    Ok(())
}

/// One book by id.
pub async fn find(db: &impl ConnectionTrait, id: &str) -> Result<Option<book::Model>, ApiError> {
    if !platform::db::plausible_id(id) {
        return Ok(None);
    }
    Ok(book::Entity::find_by_id(id.to_owned()).one(db).await?)
}

pub use contracts::catalog::MAX_LOOKUP;

/// The books with these ids, in no particular order; ids of no book are left out.
pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[BookId],
) -> Result<Vec<book::Model>, ApiError> {
    let ids: Vec<&str> = ids
        .iter()
        .map(BookId::as_str)
        .filter(|id| platform::db::plausible_id(id))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(book::Entity::find()
        .filter(book::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// A book with this ISBN is already in the catalogue.
pub const ISBN_TAKEN: ConflictCode = ConflictCode {
    code: "isbn_taken",
    title: "ISBN already in the catalogue",
};

fn isbn_taken() -> ApiError {
    ApiError::conflict(
        ErrorCode::ServiceConflict(ISBN_TAKEN),
        "a book with this ISBN is already in the catalogue",
    )
}

/// Inserts a new book (all fields validated); a duplicate ISBN is a 409.
pub async fn insert(
    db: &impl ConnectionTrait,
    fields: BookFields,
    available: i32,
) -> Result<book::Model, ApiError> {
    let now = Utc::now();
    let mut model = book::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        description: Set(String::new()),
        cover_key: Set(None),
        document_key: Set(None),
        document_kind: Set(None),
        document_bytes: Set(None),
        document_sha256: Set(None),
        summary_status: Set(crate::summary::SummaryStatus::None),
        summary_text: Set(None),
        summary_method: Set(None),
        summary_model: Set(None),
        summary_reason: Set(None),
        summary_sha256: Set(None),
        summary_at: Set(None),
        available: Set(available),
        available_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    };
    apply(&mut model, fields)?;
    model.insert(db).await.map_err(|err| {
        if platform::db::is_unique_violation(&err) {
            isbn_taken()
        } else {
            ApiError::internal(err)
        }
    })
}

/// Saves changed fields of an existing book; an ISBN taken by another book is a 409.
pub async fn update(
    db: &impl ConnectionTrait,
    existing: book::Model,
    fields: BookFields,
) -> Result<book::Model, ApiError> {
    let mut model: book::ActiveModel = existing.into();
    apply(&mut model, fields)?;
    model.update(db).await.map_err(|err| {
        if platform::db::is_unique_violation(&err) {
            isbn_taken()
        } else {
            ApiError::internal(err)
        }
    })
}

/// One of the files a book may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileSlot {
    Cover,
    Document,
}

impl FileSlot {
    /// The key the book's row holds for this file.
    pub fn key(self, book: &book::Model) -> Option<&str> {
        match self {
            Self::Cover => book.cover_key.as_deref(),
            Self::Document => book.document_key.as_deref(),
        }
    }

    fn key_column(self) -> book::Column {
        match self {
            Self::Cover => book::Column::CoverKey,
            Self::Document => book::Column::DocumentKey,
        }
    }
}

/// A stored file for a book to point at.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub key: String,
    /// What was learnt of a document while it was checked (`None` for a cover).
    pub document: Option<CheckedDocument>,
}

/// Points `book`'s `slot` at `new` (or at nothing) if it still holds `expected`: a
/// compare-and-swap, so that of two uploads racing for one book each learns whether it won and
/// which file it replaced. Answers the updated book, or `None` when the slot changed meanwhile
/// (or the book is gone).
pub async fn swap_file(
    db: &impl ConnectionTrait,
    book: &book::Model,
    slot: FileSlot,
    expected: Option<&str>,
    new: Option<&StoredFile>,
) -> Result<Option<book::Model>, ApiError> {
    let column = slot.key_column();
    let now = Utc::now();
    let mut update = book::Entity::update_many()
        .col_expr(column, Expr::value(new.map(|file| file.key.clone())))
        .col_expr(book::Column::UpdatedAt, Expr::value(now))
        .filter(book::Column::Id.eq(book.id.as_str()))
        .filter(match expected {
            Some(key) => column.eq(key),
            None => column.is_null(),
        });
    if slot == FileSlot::Document {
        let document = new.and_then(|file| file.document.as_ref());
        update = update
            .col_expr(
                book::Column::DocumentKind,
                Expr::value(document.map(|doc| doc.kind.as_str())),
            )
            .col_expr(
                book::Column::DocumentBytes,
                Expr::value(document.map(|doc| i64::try_from(doc.bytes).unwrap_or(i64::MAX))),
            )
            .col_expr(
                book::Column::DocumentSha256,
                Expr::value(document.map(|doc| doc.sha256.clone())),
            );
    }
    if update.exec(db).await?.rows_affected == 0 {
        return Ok(None);
    }
    find(db, &book.id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isbn_taken_is_in_the_error_catalogue() {
        assert!(ISBN_TAKEN.is_listed_in(include_str!("../../../docs/errors.md")));
    }
}
