//! The `books` table. `*_key` and `search_text` columns are lower-cased copies for filtering
//! and sorting the same way on every database.

use sea_orm::entity::prelude::*;

use crate::summary::{SummaryMethod, SummaryStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "books")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub isbn: String,
    pub title: String,
    pub title_key: String,
    /// JSON array of author names.
    pub authors: String,
    pub authors_key: String,
    pub search_text: String,
    pub publisher: String,
    pub format: String,
    pub genre: String,
    pub genre_key: String,
    pub price_cents: i64,
    pub description: String,
    pub cover_key: Option<String>,
    pub document_key: Option<String>,
    /// `pdf`, `epub` or `text`, with the document.
    pub document_kind: Option<String>,
    pub document_bytes: Option<i64>,
    /// Lower-case hex SHA-256 of the document's bytes.
    pub document_sha256: Option<String>,
    /// `none`, `pending`, `ready` or `failed`.
    pub summary_status: SummaryStatus,
    pub summary_text: Option<String>,
    /// `extractive` or `model`, when ready.
    pub summary_method: Option<SummaryMethod>,
    /// The model that wrote the summary, when one did.
    pub summary_model: Option<String>,
    /// Why the summary failed, when it did.
    pub summary_reason: Option<String>,
    /// The document the summary (or the pending request) is for.
    pub summary_sha256: Option<String>,
    /// When the summary state last changed.
    pub summary_at: Option<DateTimeUtc>,
    /// Units available to order, as last reported by inventory.
    pub available: i32,
    /// When `available` was last set from an inventory event.
    pub available_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
