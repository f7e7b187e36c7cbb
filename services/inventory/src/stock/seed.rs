//! Seeding: stock for books inventory has no row for yet, never overwriting live stock.

use std::collections::HashSet;

use chrono::Utc;
use contracts::events::StockLevel;
use platform::ApiError;
use platform::db::{Failure, IDS_PER_LOOKUP, retrying};
use platform::error::FieldErrors;
use platform::messaging::Envelope;
use platform::outbox::Outbox;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use super::{begin_write, check_available, check_id, record};
use crate::entity::stock;

/// Gives each listed book its units unless inventory already has a row for it (so restarting
/// the shop never overwrites live stock); returns how many books it added.
pub async fn seed<C, S>(db: &C, outbox: &Outbox, stock: &[(S, i64)]) -> Result<usize, ApiError>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
    S: AsRef<str>,
{
    let mut errors = FieldErrors::new();
    for (i, (book_id, available)) in stock.iter().enumerate() {
        errors.check(&format!("[{i}].book_id"), check_id(book_id.as_ref()));
        check_available(&format!("[{i}].available"), *available, &mut errors);
    }
    errors.into_validation()?;
    let (added, events) = retrying(|| seed_once(db, outbox, stock)).await?;
    outbox.committed(events);
    Ok(added)
}

/// One attempt of [`seed`]: how many books it added, and the events announcing them.
async fn seed_once<C, S>(
    db: &C,
    outbox: &Outbox,
    stock: &[(S, i64)],
) -> Result<(usize, Vec<Envelope>), Failure>
where
    C: ConnectionTrait + TransactionTrait<Transaction = DatabaseTransaction>,
    S: AsRef<str>,
{
    let txn = begin_write(db).await?;
    let now = Utc::now();
    let ids: Vec<&str> = stock.iter().map(|(id, _)| id.as_ref()).collect();
    let mut known: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let rows = stock::Entity::find()
            .filter(stock::Column::BookId.is_in(chunk.iter().copied()))
            .all(&txn)
            .await?;
        known.extend(rows.into_iter().map(|row| row.book_id));
    }
    let mut levels = Vec::new();
    for (book_id, available) in stock {
        let book_id = book_id.as_ref();
        // `known` also catches a book listed twice: the first listing wins.
        if !known.insert(book_id.to_owned()) {
            continue;
        }
        let inserted = stock::Entity::insert(stock::ActiveModel {
            book_id: Set(book_id.to_owned()),
            available: Set(*available),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await;
        match inserted {
            Ok(_) => {}
            // Another process seeded the same book meanwhile: start over, skipping it.
            Err(err) if platform::db::is_unique_violation(&err) => {
                return Err(Failure::Retry(err));
            }
            Err(err) => return Err(err.into()),
        }
        levels.push(StockLevel::new(book_id, *available));
    }
    let added = levels.len();
    let events = record(&txn, outbox, levels).await?;
    txn.commit().await?;
    Ok((added, events))
}
