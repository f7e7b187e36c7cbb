//! Stock levels: reading, setting and adjusting the units available of a book.

use chrono::Utc;
use contracts::events::StockLevel;
use platform::db::{Failure, retrying};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use platform::{ApiError, ErrorCode};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{MAX_AVAILABLE, begin_write, check_available, check_id, current, record};
use crate::entity::stock;

/// A book's stock as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StockView {
    pub book_id: String,
    /// Units available to order; 0 for a book inventory has never heard of.
    pub available: i64,
}

fn check_book_id(book_id: &str) -> Result<(), ApiError> {
    let mut errors = FieldErrors::new();
    errors.check("book_id", check_id(book_id));
    errors.into_validation()
}

/// The units available of a book; 0 for a book inventory has never heard of.
pub async fn get(db: &impl ConnectionTrait, book_id: &str) -> Result<StockView, ApiError> {
    check_book_id(book_id)?;
    let available = stock::Entity::find_by_id(book_id.to_owned())
        .one(db)
        .await?
        .map_or(0, |row| row.available);
    Ok(StockView {
        book_id: book_id.to_owned(),
        available,
    })
}

/// Sets the units available of a book (0 to 1,000,000,000).
pub async fn set<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    available: i64,
) -> Result<StockView, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let mut errors = FieldErrors::new();
    errors.check("book_id", check_id(book_id));
    check_available("available", available, &mut errors);
    errors.into_validation()?;
    let (view, events) = retrying(|| set_once(db, outbox, book_id, available)).await?;
    outbox.committed(events);
    Ok(view)
}

async fn set_once<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    available: i64,
) -> Result<(StockView, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    stock::Entity::insert(stock::ActiveModel {
        book_id: Set(book_id.to_owned()),
        available: Set(available),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(stock::Column::BookId)
            .update_columns([stock::Column::Available, stock::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await?;
    let events = record(&txn, outbox, vec![StockLevel::new(book_id, available)]).await?;
    txn.commit().await?;
    let view = StockView {
        book_id: book_id.to_owned(),
        available,
    };
    Ok((view, events))
}

/// Adds `delta` units to a book (removes them when negative). A result below zero, or above
/// the maximum, is a 409 and changes nothing.
pub async fn adjust<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    delta: i64,
) -> Result<StockView, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let mut errors = FieldErrors::new();
    errors.check("book_id", check_id(book_id));
    // Bounding the delta first keeps every sum below in range: no i64 overflow is possible.
    if delta == 0 || !(-MAX_AVAILABLE..=MAX_AVAILABLE).contains(&delta) {
        errors.add(
            "delta",
            format!(
                "must be a whole number from -{MAX_AVAILABLE} to {MAX_AVAILABLE}, other than 0"
            ),
        );
    }
    errors.into_validation()?;
    let (view, events) = retrying(|| adjust_once(db, outbox, book_id, delta)).await?;
    outbox.committed(events);
    Ok(view)
}

async fn adjust_once<C>(
    db: &C,
    outbox: &Outbox,
    book_id: &str,
    delta: i64,
) -> Result<(StockView, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    if delta > 0 {
        // A book never heard of has 0 units: give it its row so the update below applies.
        stock::Entity::insert(stock::ActiveModel {
            book_id: Set(book_id.to_owned()),
            available: Set(0),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(stock::Column::BookId)
                .do_nothing_on([stock::Column::BookId])
                .to_owned(),
        )
        .exec_without_returning(&txn)
        .await?;
    }
    // The bound is checked by the same statement that changes the row, so a concurrent
    // change cannot slip in between a check and the write.
    let mut update = stock::Entity::update_many()
        .col_expr(
            stock::Column::Available,
            Expr::col(stock::Column::Available).add(delta),
        )
        .col_expr(stock::Column::UpdatedAt, Expr::value(now))
        .filter(stock::Column::BookId.eq(book_id));
    update = if delta > 0 {
        update.filter(stock::Column::Available.lte(MAX_AVAILABLE - delta))
    } else {
        update.filter(stock::Column::Available.gte(-delta))
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        let detail = if delta > 0 {
            format!("the book would have more than {MAX_AVAILABLE} units")
        } else {
            "the book has fewer units than that: stock cannot go below zero".to_owned()
        };
        return Err(Failure::Api(ApiError::conflict(
            ErrorCode::Conflict,
            detail,
        )));
    }
    let available = current(&txn, book_id).await?;
    let events = record(&txn, outbox, vec![StockLevel::new(book_id, available)]).await?;
    txn.commit().await?;
    let view = StockView {
        book_id: book_id.to_owned(),
        available,
    };
    Ok((view, events))
}
