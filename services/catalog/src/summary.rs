//! Book summaries as the catalogue keeps them: each book's summary state, the request that asks
//! the worker for one (an event in the catalogue's outbox, written in the transaction that makes
//! the state `pending`), and the outcome the worker stores. The types here are also the body the
//! worker sends (`PUT /api/v1/books/{id}/summary`).

use chrono::{DateTime, Utc};
use contracts::events::{BookSummaryReady, BookSummaryRequested, Event};
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DeriveActiveEnum, EntityTrait, EnumIter, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::entity::book;

/// The outbox table of the catalogue.
pub const OUTBOX_TABLE: &str = "catalog_outbox";

/// The longest summary stored, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4000;

/// The longest failure reason stored, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Where a book's summary stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(sea_orm::sea_query::StringLen::N(16))",
    rename_all = "lowercase"
)]
pub enum SummaryStatus {
    /// No document, or never asked for.
    None,
    /// Asked for; the worker has not settled it yet.
    Pending,
    Ready,
    Failed,
}

impl SummaryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }
}

/// What wrote a summary.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "lowercase")]
#[sea_orm(
    rs_type = "String",
    db_type = "String(sea_orm::sea_query::StringLen::N(16))",
    rename_all = "lowercase"
)]
pub enum SummaryMethod {
    /// The built-in summariser: sentences of the document, ranked.
    Extractive,
    /// A language model through an OpenAI-compatible API.
    Model,
}

impl SummaryMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Extractive => "extractive",
            Self::Model => "model",
        }
    }
}

/// A book's summary as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SummaryView {
    pub status: SummaryStatus,
    /// The summary, plain text (never markup), when ready.
    pub text: Option<String>,
    pub method: Option<SummaryMethod>,
    /// The model that wrote it, when a model did.
    pub model: Option<String>,
    /// Why it failed, when it did.
    pub reason: Option<String>,
    /// The SHA-256 of the document it is (or will be) made from.
    pub document_sha256: Option<String>,
    /// When the state last changed.
    pub updated_at: Option<DateTime<Utc>>,
}

impl SummaryView {
    pub fn of(book: &book::Model) -> Result<Self, ApiError> {
        Ok(Self {
            status: book.summary_status,
            text: book.summary_text.clone(),
            method: book.summary_method,
            model: book.summary_model.clone(),
            reason: book.summary_reason.clone(),
            document_sha256: book.summary_sha256.clone(),
            updated_at: book.summary_at,
        })
    }
}

/// How a summary attempt ended, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "status", rename_all = "lowercase", deny_unknown_fields)]
pub enum SummaryResult {
    Ready {
        /// Plain text, 1 to 4000 characters, not only spaces.
        #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
        text: String,
        method: SummaryMethod,
        /// The model, when `method` is `model`.
        model: Option<String>,
    },
    Failed {
        /// Why, for the admins: 1 to 500 characters, not only spaces.
        #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
        reason: String,
    },
}

/// The body of `PUT /api/v1/books/{id}/summary`: the outcome for one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SummaryOutcome {
    /// The document the summary was made from; an outcome for a document since replaced is
    /// refused (409).
    pub document_sha256: String,
    pub result: SummaryResult,
}

/// A book's summary columns as one state.
struct SummaryState<'a> {
    status: SummaryStatus,
    text: Option<&'a str>,
    method: Option<SummaryMethod>,
    model: Option<&'a str>,
    reason: Option<&'a str>,
    /// The document the state is about.
    sha256: Option<&'a str>,
}

impl SummaryState<'_> {
    /// Writes the state into `book_id`'s row at `at`, if the book has the document
    /// `document` (any document when `None`); answers whether a row was written.
    async fn write(
        &self,
        txn: &impl ConnectionTrait,
        book_id: &str,
        document: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, ApiError> {
        let mut update = book::Entity::update_many()
            .col_expr(
                book::Column::SummaryStatus,
                Expr::value(self.status.as_str()),
            )
            .col_expr(book::Column::SummaryText, Expr::value(self.text))
            .col_expr(
                book::Column::SummaryMethod,
                Expr::value(self.method.map(SummaryMethod::as_str)),
            )
            .col_expr(book::Column::SummaryModel, Expr::value(self.model))
            .col_expr(book::Column::SummaryReason, Expr::value(self.reason))
            .col_expr(book::Column::SummarySha256, Expr::value(self.sha256))
            .col_expr(book::Column::SummaryAt, Expr::value(at))
            .filter(book::Column::Id.eq(book_id));
        if let Some(document) = document {
            update = update.filter(book::Column::DocumentSha256.eq(document));
        }
        Ok(update.exec(txn).await?.rows_affected > 0)
    }
}

/// Marks `book`'s summary `pending` for document `sha256` and writes the request into the
/// outbox, inside the caller's transaction. Hand the envelope to [`Outbox::committed`] after
/// the commit.
pub async fn request(
    txn: &impl ConnectionTrait,
    outbox: &Outbox,
    book_id: &str,
    sha256: &str,
) -> Result<Envelope, ApiError> {
    let now = Utc::now();
    let pending = SummaryState {
        status: SummaryStatus::Pending,
        text: None,
        method: None,
        model: None,
        reason: None,
        sha256: Some(sha256),
    };
    pending.write(txn, book_id, None, now).await?;
    let envelope = BookSummaryRequested {
        book_id: book_id.into(),
        document_sha256: sha256.to_owned(),
        requested_at: now,
    }
    .envelope()
    .map_err(ApiError::internal)?;
    outbox.add(txn, &envelope).await?;
    Ok(envelope)
}

/// Forgets `book`'s summary (its document is gone), inside the caller's transaction.
pub async fn clear(txn: &impl ConnectionTrait, book_id: &str) -> Result<(), ApiError> {
    let none = SummaryState {
        status: SummaryStatus::None,
        text: None,
        method: None,
        model: None,
        reason: None,
        sha256: None,
    };
    none.write(txn, book_id, None, Utc::now()).await?;
    Ok(())
}

impl SummaryOutcome {
    /// Checks the outcome's own rules.
    pub fn validate(&self) -> Result<(), ApiError> {
        let mut errors = platform::error::FieldErrors::new();
        match &self.result {
            SummaryResult::Ready {
                text,
                method,
                model,
            } => {
                let length = text.chars().count();
                if text.trim().is_empty() || length > MAX_SUMMARY_CHARS {
                    errors.add(
                        "result.text",
                        format!("must have 1 to {MAX_SUMMARY_CHARS} characters"),
                    );
                }
                if (*method == SummaryMethod::Model) != model.is_some() {
                    errors.add(
                        "result.model",
                        "is given exactly when the method is `model`",
                    );
                }
            }
            SummaryResult::Failed { reason } => {
                if reason.trim().is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                    errors.add(
                        "result.reason",
                        format!("must have 1 to {MAX_REASON_CHARS} characters"),
                    );
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(errors))
        }
    }
}

/// Stores the worker's outcome for `book`, if the book still has the document it was made from,
/// and writes `book.summary_ready` into the outbox, inside the caller's transaction. Hand the
/// envelope to [`Outbox::committed`] after the commit.
pub async fn settle(
    txn: &impl ConnectionTrait,
    outbox: &Outbox,
    book: &book::Model,
    outcome: &SummaryOutcome,
) -> Result<Envelope, ApiError> {
    let now = Utc::now();
    let state = match &outcome.result {
        SummaryResult::Ready {
            text,
            method,
            model,
        } => SummaryState {
            status: SummaryStatus::Ready,
            text: Some(text),
            method: Some(*method),
            model: model.as_deref(),
            reason: None,
            sha256: Some(&outcome.document_sha256),
        },
        SummaryResult::Failed { reason } => SummaryState {
            status: SummaryStatus::Failed,
            text: None,
            method: None,
            model: None,
            reason: Some(reason),
            sha256: Some(&outcome.document_sha256),
        },
    };
    // The document may have been replaced since it was read: then nothing is written.
    if !state
        .write(txn, &book.id, Some(&outcome.document_sha256), now)
        .await?
    {
        return Err(ApiError::conflict(
            ErrorCode::Conflict,
            "the book's document has changed since this summary was asked for",
        ));
    }
    let envelope = BookSummaryReady {
        book_id: book.id.clone().into(),
        status: state.status.as_str().to_owned(),
        method: state.method.map(|method| method.as_str().to_owned()),
        reason: state.reason.map(str::to_owned),
        at: now,
    }
    .envelope()
    .map_err(ApiError::internal)?;
    outbox.add(txn, &envelope).await?;
    Ok(envelope)
}
