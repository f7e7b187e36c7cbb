//! The catalogue's availability read model: `stock.changed` events from inventory set each
//! book's `available`, newest event wins, and the pages that show it are no longer served from
//! the response cache.

use contracts::events::{Event, StockChanged};
use platform::messaging::{Delivery, Handler, Outcome};
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter};

use crate::cache::PageCache;
use crate::entity::book;

/// Consumes `stock.changed` into the books table.
pub struct StockChangedHandler {
    db: DatabaseConnection,
    cache: PageCache,
}

impl StockChangedHandler {
    pub fn new(db: DatabaseConnection, cache: PageCache) -> Self {
        Self { db, cache }
    }
}

#[async_trait::async_trait]
impl Handler for StockChangedHandler {
    async fn handle(&self, delivery: &Delivery) -> Outcome {
        let change = match StockChanged::read(&delivery.envelope) {
            Ok(change) => change,
            Err(why) => return Outcome::Reject(why),
        };
        if change.books.is_empty() {
            return Outcome::Ack;
        }
        // Every book of the event in one statement: each gets its own count.
        let mut count_of = CaseStatement::new();
        for level in &change.books {
            let available =
                i32::try_from(level.available.clamp(0, i64::from(i32::MAX))).unwrap_or(i32::MAX);
            count_of = count_of.case(book::Column::Id.eq(level.book_id.as_str()), available);
        }
        // Only a newer event moves a count: redeliveries and late arrivals change nothing.
        let result = book::Entity::update_many()
            .col_expr(book::Column::Available, count_of.into())
            .col_expr(book::Column::AvailableAt, Expr::value(change.at))
            .filter(book::Column::Id.is_in(change.books.iter().map(|l| l.book_id.as_str())))
            .filter(
                Condition::any()
                    .add(book::Column::AvailableAt.is_null())
                    .add(book::Column::AvailableAt.lte(change.at)),
            )
            .exec(&self.db)
            .await;
        match result {
            Ok(_) => {
                for level in &change.books {
                    self.cache.book_changed(level.book_id.as_str());
                }
                Outcome::Ack
            }
            Err(err) => Outcome::Retry(format!("database: {err}")),
        }
    }
}
