//! Stock and reservations: the rules of inventory and their storage. Every change of a book's
//! `available` count writes `stock.changed` to `inventory_outbox` in the same transaction, and
//! stock only ever goes down through a conditional update (`available = available - q WHERE
//! available >= q`), so concurrent orders can never oversell it or drive it negative.

use chrono::Utc;
use contracts::events::{Event, StockChanged, StockLevel};
use platform::ApiError;
use platform::db::{Failure, IDS_PER_LOOKUP};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use sea_orm::{
    DatabaseTransaction, DbErr, EntityTrait, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

use crate::entity::stock;

mod levels;
mod reservations;
mod seed;

pub use levels::{StockView, adjust, get, set};
pub use reservations::{
    Answer, BatchAnswer, BatchOutcome, Line, LineRequest, MAX_BATCH, ReservationBatch,
    ReservationRequest, ReservationStatus, ReservationView, ValidReservation, release, reserve_all,
    stored_view, validate,
};
pub use seed::seed;

/// The most units a book may have (and the largest single adjustment).
pub const MAX_AVAILABLE: i64 = 1_000_000_000;
/// The most units of a book one order line may ask for.
pub const MAX_QUANTITY: i64 = 1000;
/// The most lines one reservation may have.
pub const MAX_LINES: usize = 50;
/// Ids are opaque, but they are stored in 36-character columns (a UUID in text form).
pub const MAX_ID_LENGTH: usize = platform::db::MAX_ID;

pub use contracts::inventory::OUT_OF_STOCK;

pub use platform::db::check_id;

fn check_available(field: &str, available: i64, errors: &mut FieldErrors) {
    if !(0..=MAX_AVAILABLE).contains(&available) {
        errors.add(
            field,
            format!("must be a whole number from 0 to {MAX_AVAILABLE}"),
        );
    }
}

/// The units of a book as this transaction sees them (after its own change).
async fn current(txn: &DatabaseTransaction, book_id: &str) -> Result<i64, Failure> {
    stock::Entity::find_by_id(book_id.to_owned())
        .one(txn)
        .await?
        .map(|row| row.available)
        .ok_or_else(|| {
            Failure::Api(ApiError::internal(anyhow::anyhow!(
                "stock row of book {book_id} vanished inside its transaction"
            )))
        })
}

/// Writes `stock.changed` with the new counts, in the transaction that changed them, and returns
/// it for the relay once committed: one event for the whole transaction (one per
/// `IDS_PER_LOOKUP` books, so that a consumer can apply each in one statement), none when no
/// count changed. Each book is listed once.
async fn record(
    txn: &DatabaseTransaction,
    outbox: &Outbox,
    levels: Vec<StockLevel>,
) -> Result<Vec<Envelope>, Failure> {
    // Its time is taken here, after the rows were changed and while the transaction holds
    // their locks, so successive changes of one book carry increasing times and the catalogue
    // can keep the newest.
    let at = Utc::now();
    let events = levels
        .chunks(IDS_PER_LOOKUP)
        .map(|books| {
            StockChanged {
                books: books.to_vec(),
                at,
            }
            .envelope()
            .map_err(ApiError::internal)
        })
        .collect::<Result<Vec<_>, _>>()?;
    outbox.add_all(txn, &events).await?;
    Ok(events)
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once (waiting for
/// it if need be): a transaction that reads first and writes later could otherwise fail at once
/// with "database is locked" when another writer got in between.
async fn begin_write<C>(db: &C) -> Result<DatabaseTransaction, DbErr>
where
    C: TransactionTrait<Transaction = DatabaseTransaction>,
{
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
